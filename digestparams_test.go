package proxyauth

import (
	"strings"
	"testing"
)

func TestParseDigestParams(t *testing.T) {
	for _, tc := range []struct {
		name, input string
		want        map[digestParam]string
	}{
		{"curl", `username="user", realm="Realm1", nonce="abc123", uri="example.invalid:443", cnonce="ZmQy", nc=00000001, qop=auth, response="1545", algorithm=MD5`,
			map[digestParam]string{paramUsername: "user", paramRealm: "Realm1", paramNonce: "abc123", paramURI: "example.invalid:443", paramCnonce: "ZmQy", paramNC: "00000001", paramQop: "auth", paramResponse: "1545", paramAlgorithm: "MD5"}},
		{"Python quotes algorithm", `username="u", algorithm="MD5", qop=auth, nc=00000002`,
			map[digestParam]string{paramUsername: "u", paramAlgorithm: "MD5", paramQop: "auth", paramNC: "00000002"}},
		{"quoted qop and nc", `qop="auth", nc="00000001"`, map[digestParam]string{paramQop: "auth", paramNC: "00000001"}},
		{"names in any case", `USERNAME="u", Realm="r", NoNcE="n"`, map[digestParam]string{paramUsername: "u", paramRealm: "r", paramNonce: "n"}},
		{"escapes", `username="a\"b\\c\d", realm="x"`, map[digestParam]string{paramUsername: `a"b\cd`, paramRealm: "x"}},
		{"whitespace around = and commas", "username = \"u\" ,\trealm=\t\"r\"  ,nc=1", map[digestParam]string{paramUsername: "u", paramRealm: "r", paramNC: "1"}},
		{"empty list elements", `, ,username="u",,, realm="r",`, map[digestParam]string{paramUsername: "u", paramRealm: "r"}},
		{"empty quoted value", `opaque=""`, map[digestParam]string{paramOpaque: ""}},
		{"unknown parameters ignored", `foo=bar, username="u", baz="q, x"`, map[digestParam]string{paramUsername: "u"}},
		{"UTF-8 in a quoted-string", `username="jürgen"`, map[digestParam]string{paramUsername: "jürgen"}},
		{"username*", `username*=UTF-8''J%C3%A4s%C3%B8n%20Doe`, map[digestParam]string{paramUsernameStar: "UTF-8''J%C3%A4s%C3%B8n%20Doe"}},
		{"comma inside quotes", `cnonce="a,b", uri="/x?a=1,2"`, map[digestParam]string{paramCnonce: "a,b", paramURI: "/x?a=1,2"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, reason := parseDigestParams(tc.input)
			if reason != "" {
				t.Fatalf("refused: %s", reason)
			}
			for name := range numDigestParams {
				want, sent := tc.want[name]
				if p.has(name) != sent || p.get(name) != want {
					t.Errorf("%s: got %q (present %v), want %q (present %v)", digestParamNames[name], p.get(name), p.has(name), want, sent)
				}
			}
		})
	}
}

func TestParseDigestParamsRefuses(t *testing.T) {
	for _, tc := range []struct{ name, input, reason string }{
		{"duplicate", `username="a", username="b"`, "duplicate Digest parameter username"},
		{"duplicate in another case", `nc=00000001, NC=00000002`, "duplicate Digest parameter nc"},
		{"duplicate unknown", `foo=1, Foo=2`, "duplicate Digest parameter"},
		{"unterminated quote", `username="abc`, "malformed quoted-string"},
		{"backslash at the end", `username="abc\`, "malformed quoted-string"},
		{"CR in quotes", "username=\"a\rb\"", "malformed quoted-string"},
		{"NUL in quotes", "username=\"a\x00b\"", "malformed quoted-string"},
		{"escaped control character", "username=\"a\\\x01\"", "malformed quoted-string"},
		{"no =", `username`, "without a value"},
		{"no name", `="x"`, "without a name"},
		{"empty unquoted value", `username=, realm="r"`, "empty or malformed value"},
		{"unquoted value with a slash", `uri=/path`, "empty or malformed value"},
		{"junk after a token", `nc=0001/2`, "junk after"},
		{"missing comma", `username="a" realm="b"`, "junk after"},
		{"token68 form", `dXNlcjpwYXNz`, "without a value"},
		{"too many", manyDistinct(maxDigestParams + 1), "too many"},
		{"too long", `cnonce="` + strings.Repeat("a", maxCredentialsLength) + `"`, "too long"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, reason := parseDigestParams(tc.input)
			if !strings.Contains(reason, tc.reason) {
				t.Errorf("reason %q, want one containing %q", reason, tc.reason)
			}
		})
	}
	// The most parameters allowed are accepted.
	if _, reason := parseDigestParams(manyDistinct(maxDigestParams)); reason != "" {
		t.Errorf("%d distinct parameters refused: %s", maxDigestParams, reason)
	}
}

func manyDistinct(n int) string {
	var parts []string
	for i := range n {
		parts = append(parts, "p"+strings.Repeat("x", i)+"=1")
	}
	return strings.Join(parts, ", ")
}

func TestDecodeExtValue(t *testing.T) {
	for _, tc := range []struct {
		in, want string
		ok       bool
	}{
		{"UTF-8''J%C3%A4s%C3%B8n%20Doe", "Jäsøn Doe", true}, // RFC 7616 §3.9.2
		{"utf-8'en'alice", "alice", true},
		{"UTF-8'de-DE'j%c3%bcrgen", "jürgen", true},
		{"ISO-8859-1''j%FCrgen", "jürgen", true},
		{"UTF-8''%E2%82%AC%20rates", "€ rates", true},
		{"UTF-8''", "", true},
		{"UTF-8''%FF", "", false},      // not UTF-8
		{"UTF-8''%C3", "", false},      // truncated sequence
		{"UTF-8''%4", "", false},       // truncated escape
		{"UTF-8''%zz", "", false},      // not hex
		{"UTF-8''a b", "", false},      // space must be encoded
		{"UTF-8''a'b", "", false},      // quote must be encoded
		{"UTF-8''a*b", "", false},      // star must be encoded
		{"US-ASCII''alice", "", false}, // unsupported charset
		{"UTF-8'alice", "", false},     // one quote only
		{"alice", "", false},
		{"UTF-8'e n'alice", "", false}, // bad language tag
	} {
		got, ok := decodeExtValue(tc.in)
		if ok != tc.ok || got != tc.want {
			t.Errorf("decodeExtValue(%q) = %q, %v; want %q, %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
}

// FuzzParseDigestParams: the parser never panics, accepts nothing longer
// than the bound, and what it accepts survives a round trip through the
// canonical form (every value quoted and escaped).
func FuzzParseDigestParams(f *testing.F) {
	for _, seed := range []string{
		`username="user", realm="Realm1", nonce="abc123", uri="example.invalid:443", cnonce="ZmQy", nc=00000001, qop=auth, response="1545a8702af68758eb52d660dafc2bb9", algorithm=MD5`,
		`username*=UTF-8''J%C3%A4s%C3%B8n%20Doe, userhash=false, opaque="x"`,
		`username="a\"b\\c", ,, realm="r"`,
		`qop="auth", nc="00000001", algorithm="SHA-256"`,
		`foo=bar, FOO=baz`,
		"username=\"\xff\xfe\"",
		`="`, `a=`, `a="\`, ``,
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, reason := parseDigestParams(s)
		if reason != "" {
			return
		}
		if len(s) > maxCredentialsLength {
			t.Fatalf("accepted %d bytes", len(s))
		}
		var parts []string
		for name := range numDigestParams {
			if p.has(name) {
				parts = append(parts, digestParamNames[name]+"="+quoteString(p.get(name)))
			}
		}
		again, reason := parseDigestParams(strings.Join(parts, ", "))
		if reason != "" {
			t.Fatalf("canonical form %q refused: %s", strings.Join(parts, ", "), reason)
		}
		if again != p {
			t.Fatalf("round trip changed the values: %+v vs %+v", p, again)
		}
		if p.has(paramUsernameStar) {
			decodeExtValue(p.get(paramUsernameStar)) // must not panic
		}
	})
}
