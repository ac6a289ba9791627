package benchclient

import (
	"reflect"
	"strings"
	"testing"
)

func TestParseChallenges(t *testing.T) {
	tests := []struct {
		name   string
		fields []string
		want   []Challenge
	}{
		{
			name:   "Basic",
			fields: []string{`Basic realm="proxy", charset="UTF-8"`},
			want:   []Challenge{{Scheme: "Basic", Params: map[string]string{"realm": "proxy", "charset": "UTF-8"}}},
		},
		{
			name:   "two challenges on one line, Digest params unquoted and quoted",
			fields: []string{`Digest realm="r", qop="auth, auth-int", algorithm=SHA-256, nonce="n1", Basic realm="b"`},
			want: []Challenge{
				{Scheme: "Digest", Params: map[string]string{"realm": "r", "qop": "auth, auth-int", "algorithm": "SHA-256", "nonce": "n1"}},
				{Scheme: "Basic", Params: map[string]string{"realm": "b"}},
			},
		},
		{
			name:   "repeated field lines",
			fields: []string{`Digest realm="r", nonce="a"`, `Basic realm="b"`},
			want: []Challenge{
				{Scheme: "Digest", Params: map[string]string{"realm": "r", "nonce": "a"}},
				{Scheme: "Basic", Params: map[string]string{"realm": "b"}},
			},
		},
		{
			name:   "quoted-pair, parameter names in any case, spaces around =",
			fields: []string{`Basic REALM = "say \"hi\" \\ bye"`},
			want:   []Challenge{{Scheme: "Basic", Params: map[string]string{"realm": `say "hi" \ bye`}}},
		},
		{
			name:   "token68, then a scheme alone, then empty list elements",
			fields: []string{`Negotiate abc+/==, , NTLM,, Basic realm=x`},
			want: []Challenge{
				{Scheme: "Negotiate", Token68: "abc+/=="},
				{Scheme: "NTLM"},
				{Scheme: "Basic", Params: map[string]string{"realm": "x"}},
			},
		},
		{
			name:   "a comma inside a quoted value does not split",
			fields: []string{`Digest realm="a, b=c", nonce="x"`},
			want:   []Challenge{{Scheme: "Digest", Params: map[string]string{"realm": "a, b=c", "nonce": "x"}}},
		},
		{
			name:   "empty field",
			fields: []string{""},
			want:   nil,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseChallenges(tt.fields)
			if err != nil {
				t.Fatalf("ParseChallenges(%q): %v", tt.fields, err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("ParseChallenges(%q)\n got %#v\nwant %#v", tt.fields, got, tt.want)
			}
		})
	}
}

func TestParseChallengesRejects(t *testing.T) {
	tests := map[string]string{
		`Basic realm="open`:           "unterminated",
		`Basic realm="a\`:             "unterminated",
		`Digest nonce="a", nonce="b"`: "repeated",
		`Basic a=b c=d`:               "unexpected",
		`Basic realm="a" junk`:        "unexpected",
		`=x`:                          "auth-scheme",
		"Basic realm=\"a\x01b\"":      "control character",
	}
	for field, wantErr := range tests {
		_, err := ParseChallenges([]string{field})
		if err == nil {
			t.Errorf("ParseChallenges(%q) = nil error, want one mentioning %q", field, wantErr)
			continue
		}
		if !strings.Contains(err.Error(), wantErr) {
			t.Errorf("ParseChallenges(%q) error %q, want it to mention %q", field, err, wantErr)
		}
	}
}

func FuzzParseChallenges(f *testing.F) {
	for _, seed := range []string{
		`Basic realm="proxy", charset="UTF-8"`,
		`Digest realm="r", qop="auth, auth-int", algorithm=SHA-256, nonce="n", opaque="o", stale=true, Basic realm="b"`,
		`Negotiate abc==, NTLM`,
		`Basic realm="a\"b"`,
		`, ,`,
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, field string) {
		cs, err := ParseChallenges([]string{field})
		if err != nil {
			return
		}
		for _, c := range cs {
			if c.Scheme == "" {
				t.Fatalf("ParseChallenges(%q) gave a challenge without a scheme: %#v", field, cs)
			}
			if c.Token68 != "" && c.Params != nil {
				t.Fatalf("ParseChallenges(%q) gave both a token68 and params: %#v", field, c)
			}
		}
	})
}
