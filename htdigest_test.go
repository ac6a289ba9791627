package proxyauth

import (
	"fmt"
	"strings"
	"testing"
)

const (
	md5Hex    = "f4cd3da8fb68ffb489a4b3b9107a314b" // user:Realm1:pass
	sha256Hex = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
)

func TestParseHTDigest(t *testing.T) {
	data := "# written by htdigest\r\n" +
		"user:Realm1:" + md5Hex + "\r\n" +
		"\n   \n" +
		"alice:Realm1:SHA-256:" + strings.ToUpper(sha256Hex) + "\n" +
		"alice:Realm1:sha-512-256:" + sha256Hex + "  \n" +
		"bob:Realm1:MD5:" + md5Hex + "\n" +
		"carol:proxy:8080:" + md5Hex + "\n" + // a realm with a colon
		"dave:a:b:SHA-256:" + sha256Hex + "\n"
	var got []string
	err := parseHTDigest("users", data, func(line int, e htdigestEntry) error {
		got = append(got, fmt.Sprintf("%d %s|%s|%s|%s", line, e.user, e.realm, e.algo, e.ha1))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"2 user|Realm1|MD5|" + md5Hex,
		"5 alice|Realm1|SHA-256|" + sha256Hex, // lower-cased
		"6 alice|Realm1|SHA-512-256|" + sha256Hex,
		"7 bob|Realm1|MD5|" + md5Hex,
		"8 carol|proxy:8080|MD5|" + md5Hex,
		"9 dave|a:b|SHA-256|" + sha256Hex,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestParseHTDigestErrors(t *testing.T) {
	for _, tc := range []struct{ data, want string }{
		{"\nuser\n", "/etc/users:2: want user:realm:hash"},
		{"user:Realm1\n", "/etc/users:1: want user:realm:hash"},
		{"user:Realm1:abc\n", `/etc/users:1: the MD5 H(A1) of user "user" must be 32 hex digits`},
		{"user:Realm1:SHA-256:" + md5Hex + "\n", `/etc/users:1: the SHA-256 H(A1) of user "user" must be 64 hex digits`},
		{"user:Realm1:" + strings.Replace(md5Hex, "f", "g", 1) + "\n", "must be 32 hex digits"},
		{"user:Realm1:SHA-1:" + md5Hex + "x\n", "must be 32 hex digits"}, // SHA-1 is no algorithm here: part of the realm
	} {
		err := parseHTDigest("/etc/users", tc.data, func(int, htdigestEntry) error { return nil })
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: error %v, want %q", tc.data, err, tc.want)
		}
		if err != nil && strings.Contains(err.Error(), md5Hex) {
			t.Errorf("error quotes the hash: %v", err)
		}
	}
	err := parseHTDigest("/etc/users", "\n\nuser:R:"+md5Hex, func(int, htdigestEntry) error { return fmt.Errorf("refused") })
	if err == nil || err.Error() != "/etc/users:3: refused" {
		t.Errorf("error from add: %v", err)
	}
}

// FuzzParseHTDigestLine: no panic, and an accepted line is what it says.
func FuzzParseHTDigestLine(f *testing.F) {
	for _, seed := range []string{
		"user:Realm1:" + md5Hex,
		"alice:Realm1:SHA-256:" + sha256Hex,
		"a:b:c:SHA-512-256:" + sha256Hex,
		"::", ":::", "user:realm:MD5:", "ü:\xff:" + md5Hex,
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, line string) {
		e, err := parseHTDigestLine(line)
		if err != nil {
			return
		}
		if len(e.ha1) != e.algo.hexLen() || strings.ToLower(e.ha1) != e.ha1 {
			t.Fatalf("accepted H(A1) %q for %s", e.ha1, e.algo)
		}
		if !strings.HasPrefix(line, e.user+":"+e.realm+":") || strings.Contains(e.user, ":") {
			t.Fatalf("line %q split into user %q realm %q", line, e.user, e.realm)
		}
	})
}
