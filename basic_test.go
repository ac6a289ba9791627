package proxyauth

import (
	"encoding/base64"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestParseBasicCredentials(t *testing.T) {
	b64 := func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
	for _, tc := range []struct {
		name, token            string
		wantUser, wantPassword string
		wantMalformed          bool
	}{
		{"plain", b64("alice:secret"), "alice", "secret", false},
		{"colons in password", b64("alice:a:b::c"), "alice", "a:b::c", false},
		{"empty password", b64("alice:"), "alice", "", false},
		{"UTF-8", b64("jürgen:pässwörd✓"), "jürgen", "pässwörd✓", false},
		{"long password", b64("alice:" + strings.Repeat("x", 500)), "alice", strings.Repeat("x", 500), false},
		{"no colon", b64("alice"), "", "", true},
		{"empty user", b64(":secret"), "", "", true},
		{"empty token", "", "", "", true},
		{"unpadded", strings.TrimRight(b64("alice:secret1"), "="), "", "", true},
		{"URL alphabet", base64.URLEncoding.EncodeToString([]byte("a:\xfb\xff")), "", "", true},
		{"space inside", b64("alice:") + " " + b64("x"), "", "", true},
		{"CR in password", b64("alice:sec\rret"), "", "", true},
		{"LF in user", b64("ali\nce:secret"), "", "", true},
		{"NUL", b64("alice:\x00"), "", "", true},
		{"DEL", b64("alice:\x7f"), "", "", true},
		{"tab", b64("alice:a\tb"), "", "", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			user, password, reason := parseBasicCredentials(tc.token)
			if (reason != "") != tc.wantMalformed {
				t.Fatalf("reason %q, want malformed=%v", reason, tc.wantMalformed)
			}
			if user != tc.wantUser || string(password) != tc.wantPassword {
				t.Errorf("got %q/%q, want %q/%q", user, password, tc.wantUser, tc.wantPassword)
			}
		})
	}
}

func TestSplitAuthScheme(t *testing.T) {
	for _, tc := range []struct {
		field, name, rest string
		ok                bool
	}{
		{"Basic abc", "Basic", "abc", true},
		{"basic    abc", "basic", "abc", true},
		{"Basic \t abc def", "Basic", "abc def", true},
		{"Basic", "", "", false},
		{"Basic ", "", "", false},
		{" Basic abc", "", "", false},
		{"", "", "", false},
	} {
		name, rest, ok := splitAuthScheme(tc.field)
		if name != tc.name || rest != tc.rest || ok != tc.ok {
			t.Errorf("splitAuthScheme(%q) = %q, %q, %v; want %q, %q, %v", tc.field, name, rest, ok, tc.name, tc.rest, tc.ok)
		}
	}
}

func TestQuoteString(t *testing.T) {
	for in, want := range map[string]string{
		"proxy":             `"proxy"`,
		`say "hi"`:          `"say \"hi\""`,
		`back\slash`:        `"back\\slash"`,
		"":                  `""`,
		"Prøxy für alle ✓ ": `"Prøxy für alle ✓ "`,
	} {
		if got := quoteString(in); got != want {
			t.Errorf("quoteString(%q) = %s, want %s", in, got, want)
		}
	}
}

func TestSanitizeForLog(t *testing.T) {
	for in, want := range map[string]string{
		"alice":                  "alice",
		"jürgen":                 "jürgen",
		"evil\nINFO forged line": "evil\uFFFDINFO forged line",
		"bad\xffutf8":            "bad\uFFFDutf8",
		strings.Repeat("a", 100): strings.Repeat("a", maxLoggedNameLength-len("…")) + "…",
	} {
		got := sanitizeForLog(in)
		if got != want {
			t.Errorf("sanitizeForLog(%q) = %q, want %q", in, got, want)
		}
		if len(got) > maxLoggedNameLength || !utf8.ValidString(got) {
			t.Errorf("sanitizeForLog(%q) = %q: too long or invalid UTF-8", in, got)
		}
	}
}

// FuzzParseBasicCredentials feeds arbitrary tokens to the Basic parser: it
// must never panic, and what it accepts must be what was encoded.
func FuzzParseBasicCredentials(f *testing.F) {
	for _, seed := range []string{"YWxpY2U6c2VjcmV0", "", "=", "YWxpY2U", "w7w6w7w=", "Og==", strings.Repeat("QUFB", 100)} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, token string) {
		user, password, reason := parseBasicCredentials(token)
		if reason != "" {
			if user != "" || password != nil {
				t.Fatalf("malformed token %q still gave %q/%q", token, user, password)
			}
			return
		}
		if user == "" || strings.Contains(user, ":") || hasControlChar([]byte(user)) || hasControlChar(password) {
			t.Fatalf("accepted bad credentials %q/%q from %q", user, password, token)
		}
		decoded, err := base64.StdEncoding.DecodeString(token)
		if err != nil || string(decoded) != user+":"+string(password) {
			t.Fatalf("token %q decoded to %q/%q", token, user, password)
		}
	})
}
