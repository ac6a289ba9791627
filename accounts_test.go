package proxyauth

import (
	"encoding/base64"
	"fmt"
	"strings"
	"testing"
)

func TestParseHTPasswd(t *testing.T) {
	type entry struct {
		line       int
		user, hash string
	}
	data := "# comment\r\nalice:$2y$05$abc\r\n\n   \nbob:{SHA}xyz:extra field\n#carol:hidden\ndave:$apr1$s$h  \n"
	var got []entry
	err := parseHTPasswd("users", data, func(line int, user, hash string) error {
		got = append(got, entry{line, user, hash})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []entry{{2, "alice", "$2y$05$abc"}, {5, "bob", "{SHA}xyz"}, {7, "dave", "$apr1$s$h"}}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("got %v, want %v", got, want)
	}

	err = parseHTPasswd("/etc/users", "alice:x\nno-colon-here\n", func(int, string, string) error { return nil })
	if err == nil || err.Error() != "/etc/users:2: no colon between user name and password hash" {
		t.Errorf("error = %v", err)
	}
	err = parseHTPasswd("/etc/users", "\nalice:x\n", func(int, string, string) error { return fmt.Errorf("bad hash") })
	if err == nil || err.Error() != "/etc/users:2: bad hash" {
		t.Errorf("error = %v", err)
	}
}

func TestIdentifyHash(t *testing.T) {
	bcryptOK := bcryptHash(t, "x")
	argonOK := "$argon2id$v=19$m=47104,t=1,p=1$P2nzckEdTZ3bxCiBCkRTyA$xQL3Z32eo5jKl7u5tcIsnEKObYiyNZQQf5/4sAau6Pg"
	for _, tc := range []struct {
		name, hash string
		want       hashAlgo
		errPart    string
	}{
		{"bcrypt", bcryptOK, hashBcrypt, ""},
		{"bcrypt $2y$", "$2y$" + bcryptOK[4:], hashBcrypt, ""},
		{"bcrypt truncated", bcryptOK[:40], hashNone, "malformed bcrypt"},
		{"bcrypt $2x$", "$2x$" + bcryptOK[4:], hashNone, "unrecognised"},
		{"bcrypt too long", bcryptOK + "x", hashNone, "malformed bcrypt"},
		{"bcrypt bad character", bcryptOK[:59] + "!", hashNone, "invalid character at position 60"},
		{"bcrypt cost too high", "$2y$32$" + bcryptOK[7:], hashNone, "cost 32 out of range"},
		{"bcrypt cost not a number", "$2y$1x$" + bcryptOK[7:], hashNone, "no cost"},
		{"argon2id", argonOK, hashArgon2id, ""},
		{"argon2id zero threads", strings.Replace(argonOK, "p=1", "p=0", 1), hashArgon2id, "parallelism"},
		{"argon2id zero time", strings.Replace(argonOK, "t=1", "t=0", 1), hashArgon2id, "time parameter"},
		{"argon2id huge memory", strings.Replace(argonOK, "m=47104", "m=4294967295", 1), hashArgon2id, "memory parameter"},
		{"argon2id broken", "$argon2id$v=19$m=1$x", hashArgon2id, "malformed argon2id"},
		{"DES crypt", "xQbAdQ5cFDvC.", hashNone, "DES"},
		{"plaintext", "secret", hashNone, "unrecognised"},
		{"empty", "", hashNone, "empty"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			algo, err := identifyHash(tc.hash)
			if tc.errPart == "" {
				if err != nil || algo != tc.want {
					t.Fatalf("got %v, %v; want %v", algo, err, tc.want)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.errPart) {
				t.Fatalf("error %v, want one mentioning %q", err, tc.errPart)
			}
			if len(tc.hash) > 8 && strings.Contains(err.Error(), tc.hash) {
				t.Errorf("error quotes the hash: %v", err)
			}
		})
	}
}

func TestCostClass(t *testing.T) {
	for _, tc := range []struct {
		algo       hashAlgo
		hash, want string
	}{
		{hashBcrypt, "$2y$10$abcdefghijklmnopqrstuvwxyz", "bcrypt 10"},
		{hashBcrypt, "$2a$10$abcdefghijklmnopqrstuvwxyz", "bcrypt 10"}, // caddy hash-password's variant, same cost
		{hashArgon2id, "$argon2id$v=19$m=47104,t=1,p=1$salt$key", "$argon2id$v=19$m=47104,t=1,p=1"},
		{hashSHACrypt, "$5$rounds=9000$salt$digest", "$5$rounds=9000"},
		{hashSHACrypt, "$6$salt$digest", "$6"},
		{hashMD5Crypt, "$apr1$salt$digest", "$apr1"},
		{hashSHA1, "{SHA}abc=", "{SHA}"},
	} {
		if got := costClass(tc.algo, tc.hash); got != tc.want {
			t.Errorf("costClass(%q) = %q, want %q", tc.hash, got, tc.want)
		}
	}
}

func TestDecoyIsTheCommonestCost(t *testing.T) {
	b := newAccountSetBuilder()
	src := b.source("file")
	cheap := htpasswdLine(t, "-m", "x", "x")
	_, cheapHash, _ := strings.Cut(cheap, ":")
	must(t, b.addPassword("a", cheapHash, src, 1))
	for i := range 3 {
		must(t, b.addPassword(fmt.Sprintf("user%d", i), bcryptHash(t, "pw"), src, i+2))
	}
	set := b.finish()
	if set.decoy.algo != hashBcrypt {
		t.Errorf("decoy is %v, want a bcrypt hash like most accounts", set.decoy.algo)
	}
}

func TestAccountErrors(t *testing.T) {
	b := newAccountSetBuilder()
	inline := b.source(inlineSource)
	file := b.source("/etc/users")
	hash := bcryptHash(t, "pw")
	must(t, b.addPassword("alice", hash, inline, 1))
	for _, tc := range []struct{ user, want string }{
		{"alice", `user "alice" is already defined at account 1`},
		{"a:b", "contains a colon"},
		{"a\tb", "control character"},
		{"a\u0085b", "control character"},
		{"a\xffb", "not valid UTF-8"},
		{"", "empty user name"},
	} {
		err := b.addPassword(tc.user, hash, file, 7)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("addPassword(%q): %v, want %q", tc.user, err, tc.want)
		}
	}
}

func TestInlineHashAcceptsOldBase64Form(t *testing.T) {
	hash := bcryptHash(t, "pw")
	wrapped := base64.StdEncoding.EncodeToString([]byte(hash))
	if got := inlineHash(wrapped); got != hash {
		t.Errorf("inlineHash(base64) = %q, want %q", got, hash)
	}
	if got := inlineHash(hash); got != hash {
		t.Errorf("inlineHash(hash) = %q", got)
	}
	if got := inlineHash("c2VjcmV0"); got != "c2VjcmV0" { // base64 of a plaintext password stays rejected
		t.Errorf("inlineHash(base64 plaintext) = %q", got)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// FuzzParseHTPasswd feeds arbitrary file content to the htpasswd parser and
// the account builder: no panics, and every accepted line is a valid account.
func FuzzParseHTPasswd(f *testing.F) {
	f.Add("alice:$2y$05$TKgZ7Al3PLTTUg8ViPOzlO4lCAU3UfG68BWbiPLu46jGnrqEP9QtO\n")
	f.Add("# c\r\nbob:{SHA}UWuXg/ylF+7L0dBk2i0WUxCxl1k=\r\n")
	f.Add("u:$apr1$owdhOOy7$HKGkXD1wkajxrnGY/F/.E1\nu:$5$Q15Nve.xoca3Jo7N$YsNLfkmL9GUX.n9RGFuun2GXntJtGy2nfXf5cUynA32\n")
	f.Add(":\n::\n\x00:\xff\n")
	f.Fuzz(func(t *testing.T, data string) {
		b := newAccountSetBuilder()
		src := b.source("fuzz")
		lines := 0
		_ = parseHTPasswd("fuzz", data, func(line int, user, hash string) error {
			if line <= lines {
				t.Fatalf("line numbers not increasing: %d after %d", line, lines)
			}
			lines = line
			if strings.ContainsAny(user, ":\n") || strings.ContainsAny(hash, ":\n") {
				t.Fatalf("line %d split wrongly: %q %q", line, user, hash)
			}
			return b.addPassword(user, hash, src, line)
		})
		for name, a := range b.finish().byName {
			if checkUsername(name) != nil {
				t.Fatalf("accepted bad user name %q", name)
			}
			if _, err := identifyHash(a.hash); err != nil {
				t.Fatalf("accepted bad hash for %q: %v", name, err)
			}
		}
	})
}

func TestHTDigestSourceCountsUsersNotLines(t *testing.T) {
	var lines []string
	for _, user := range []string{"ann", "ben"} {
		lines = append(lines, htdigestLines(user, "r", []digestAlgorithm{digestSHA256, digestMD5}, []byte("pw"))...)
	}
	b := newAccountSetBuilder()
	b.set.digest.realm = "r"
	n, err := htdigestKind.parse(b, b.source("users.htdigest"), "users.htdigest", strings.Join(lines, "\n")+"\n")
	if err != nil || n != 2 {
		t.Errorf("4 lines for 2 users: counted %d accounts, %v", n, err)
	}
}

func TestCostClassesAreCounted(t *testing.T) {
	same := buildSet(t, map[string]string{"a": bcryptHash(t, "x"), "b": bcryptHash(t, "y")})
	_, apr1, _ := strings.Cut(htpasswdLine(t, "-m", "c", "z"), ":")
	mixed := buildSet(t, map[string]string{"a": bcryptHash(t, "x"), "c": apr1})
	if same.costClasses != 1 || mixed.costClasses != 2 {
		t.Errorf("cost classes: %d for one kind of hash, %d for two", same.costClasses, mixed.costClasses)
	}
}
