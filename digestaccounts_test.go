package proxyauth

import (
	"maps"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"
)

// provisionError provisions and validates h and returns the first error.
func provisionError(t *testing.T, h *ProxyAuth) error {
	t.Helper()
	if h.Name == "" {
		h.Name = t.Name()
	}
	err := h.Provision(testContext(t, t.TempDir()))
	if err == nil {
		err = h.Validate()
	}
	_ = h.Cleanup()
	return err
}

func htdigestFile(t *testing.T, name, realm string, users map[string]string, algos ...digestAlgorithm) string {
	t.Helper()
	var lines []string
	for _, user := range slices.Sorted(maps.Keys(users)) {
		lines = append(lines, htdigestLines(user, realm, algos, []byte(users[user]))...)
	}
	return writeFile(t, name, strings.Join(lines, "\n")+"\n")
}

func offered(h *ProxyAuth) []string {
	var names []string
	for _, s := range h.schemes {
		if d, ok := s.(*digestScheme); ok {
			for _, a := range d.algos {
				names = append(names, a.String())
			}
		}
	}
	return names
}

func TestDigestAlgorithmsOffered(t *testing.T) {
	all := htdigestFile(t, "all", "lab", map[string]string{"alice": "a", "bob": "b"}, digestSHA256, digestSHA512_256, digestMD5)
	md5Only := htdigestFile(t, "md5", "lab", map[string]string{"carol": "c"}, digestMD5)
	for _, tc := range []struct {
		name  string
		files []string
		algos []string
		want  string
	}{
		{"auto, every algorithm", []string{all}, nil, "SHA-256 SHA-512-256 MD5"},
		{"auto, what every account has", []string{all, md5Only}, nil, "MD5"},
		{"listed, in the order given", []string{all}, []string{"md5", "SHA-256"}, "MD5 SHA-256"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newTestHandler(t, &ProxyAuth{Realm: "lab", HTDigest: tc.files, Schemes: digestOnly(tc.algos...)})
			if got := strings.Join(offered(h), " "); got != tc.want {
				t.Errorf("offered %q, want %q", got, tc.want)
			}
		})
	}
}

func TestDigestProvisioningErrors(t *testing.T) {
	bcrypt := bcryptHash(t, "pw")
	sha := htdigestFile(t, "sha.htdigest", "lab", map[string]string{"alice": "a"}, digestSHA256)
	sha2 := htdigestFile(t, "sha2.htdigest", "lab", map[string]string{"alice": "other"}, digestSHA256)
	md5 := htdigestFile(t, "md5.htdigest", "lab", map[string]string{"carol": "c"}, digestMD5)
	otherRealm := htdigestFile(t, "realm.htdigest", "elsewhere", map[string]string{"dave": "d"}, digestMD5)
	htpasswd := writeFile(t, "users.htpasswd", "bob:"+bcrypt+"\n")

	for _, tc := range []struct {
		name string
		h    ProxyAuth
		want []string
	}{
		{"bcrypt-only account offered SHA-256",
			ProxyAuth{Realm: "lab", HTDigest: []string{sha}, HTPasswd: []string{htpasswd}, Schemes: digestOnly("SHA-256")},
			[]string{`account "bob"`, htpasswd + ":1", "no SHA-256 H(A1)", "only a password hash"}},
		{"MD5-only line offered SHA-256",
			ProxyAuth{Realm: "lab", HTDigest: []string{sha, md5}, Schemes: digestOnly("SHA-256", "MD5")},
			[]string{`account "carol"`, md5 + ":1", "no SHA-256 H(A1)", "other algorithms"}},
		{"SHA-256-only line offered MD5",
			ProxyAuth{Realm: "lab", HTDigest: []string{sha}, Schemes: digestOnly("MD5")},
			[]string{`account "alice"`, "no MD5 H(A1)"}},
		{"no algorithm every account has",
			ProxyAuth{Realm: "lab", HTDigest: []string{sha, md5}, Schemes: digestOnly()},
			[]string{"no Digest algorithm can be answered by every account", `SHA-256: account "carol"`, `MD5: account "alice"`}},
		{"inline bcrypt account, auto",
			ProxyAuth{Realm: "lab", Accounts: []Account{{Username: "eve", Password: bcrypt}}, Schemes: digestOnly()},
			[]string{`account "eve" (account 1) has none`}},
		{"realm of an entry",
			ProxyAuth{Realm: "lab", HTDigest: []string{otherRealm}},
			[]string{otherRealm + `:1: realm "elsewhere" of user "dave" is not the configured realm "lab"`}},
		{"two H(A1) of one kind",
			ProxyAuth{Realm: "lab", HTDigest: []string{sha, sha2}},
			[]string{sha2 + `:1: user "alice" already has a SHA-256 H(A1) at ` + sha + ":1"}},
		{"missing file", ProxyAuth{Realm: "lab", HTDigest: []string{"/nonexistent.htdigest"}}, []string{"reading htdigest file", "/nonexistent.htdigest"}},
		{"unknown scheme", ProxyAuth{Realm: "lab", HTDigest: []string{sha}, Schemes: []SchemeConfig{{Scheme: "ntlm"}}}, []string{`unknown scheme "ntlm"`}},
		{"scheme twice", ProxyAuth{Realm: "lab", HTDigest: []string{sha}, Schemes: []SchemeConfig{{Scheme: "basic"}, {Scheme: "basic"}}}, []string{"basic is listed twice"}},
		{"basic with algorithms", ProxyAuth{Realm: "lab", HTDigest: []string{sha}, Schemes: []SchemeConfig{{Scheme: "basic", Algorithms: []string{"MD5"}}}}, []string{"basic takes no algorithms"}},
		{"unknown algorithm", ProxyAuth{Realm: "lab", HTDigest: []string{sha}, Schemes: digestOnly("SHA-1")}, []string{`unknown algorithm "SHA-1"`}},
		{"algorithm twice", ProxyAuth{Realm: "lab", HTDigest: []string{sha}, Schemes: digestOnly("SHA-256", "sha-256")}, []string{"SHA-256 listed twice"}},
		{"short nonce lifetime", ProxyAuth{Realm: "lab", HTDigest: []string{sha}, Schemes: digestOnly(), NonceLifetime: 5e8}, []string{"nonce_lifetime must be at least 1s"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := provisionError(t, &tc.h)
			for _, want := range tc.want {
				if err == nil || !strings.Contains(err.Error(), want) {
					t.Errorf("error %v, want one containing %q", err, want)
				}
			}
		})
	}
}

// TestAccountsMerge: a user's password hash and H(A1) values from
// different files make one account, and each scheme finds what it needs.
func TestAccountsMerge(t *testing.T) {
	htpasswd := writeFile(t, "users.htpasswd", "alice:"+bcryptHash(t, "alice-pw")+"\n")
	sha := htdigestFile(t, "sha.htdigest", "lab", map[string]string{"alice": "alice-pw", "bob": "bob-pw"}, digestSHA256)
	md5 := htdigestFile(t, "md5.htdigest", "lab", map[string]string{"alice": "alice-pw", "bob": "bob-pw"}, digestMD5)
	h := newTestHandler(t, &ProxyAuth{Realm: "lab", HTPasswd: []string{htpasswd}, HTDigest: []string{sha, md5},
		Schemes: []SchemeConfig{{Scheme: schemeDigest}, {Scheme: schemeBasic}}})
	set := h.accounts.current()
	if set.len() != 2 || strings.Join(offered(h), " ") != "SHA-256 MD5" {
		t.Fatalf("%d accounts, offered %v", set.len(), offered(h))
	}
	if a, _ := set.lookup("alice"); a.algo != hashBcrypt || set.where(a) != htpasswd+":1" {
		t.Errorf("alice: %+v at %s", a, set.where(a))
	}
	if b, _ := set.lookup("bob"); b.hash != "" || set.where(b) != sha+":2" {
		t.Errorf("bob: %+v at %s", b, set.where(b))
	}

	for _, user := range []string{"alice", "bob"} {
		for _, alg := range []string{"SHA-256", "MD5"} {
			c := &digestClient{user: user, password: user + "-pw", ch: firstChallenge(t, h)}
			c.ch.alg = alg
			if v, _, _ := attempt(t, h, "GET", "http://example.invalid/", c.authorization("GET", "/")); v.outcome != outcomeAuthenticated {
				t.Errorf("%s Digest %s: %v", user, alg, v.outcome)
			}
		}
	}
}

func TestBasicAgainstHA1(t *testing.T) {
	counter := countBcrypt(t)
	sha := htdigestFile(t, "sha.htdigest", "lab", map[string]string{"alice": "alice-pw"}, digestSHA512_256)
	md5 := htdigestFile(t, "md5.htdigest", "lab", map[string]string{"carol": "carol-pw"}, digestMD5)
	bobHash := bcryptHash(t, "bob-pw")

	for _, tc := range []struct {
		name                  string
		h                     ProxyAuth
		user, password        string
		want                  outcome
		wantBcryptComparisons int64
	}{
		{"H(A1) only, right password", ProxyAuth{HTDigest: []string{sha}}, "alice", "alice-pw", outcomeAuthenticated, 0},
		{"H(A1) only, wrong password", ProxyAuth{HTDigest: []string{sha}}, "alice", "alice-PW", outcomeWrongPassword, 0},
		{"MD5 H(A1)", ProxyAuth{HTDigest: []string{md5}}, "carol", "carol-pw", outcomeAuthenticated, 0},
		{"unknown user among H(A1) accounts", ProxyAuth{HTDigest: []string{sha}}, "mallory", "alice-pw", outcomeUnknownUser, 0},
		{"H(A1) beside bcrypt accounts", ProxyAuth{HTDigest: []string{sha}, Accounts: []Account{{Username: "bob", Password: bobHash}}}, "alice", "alice-pw", outcomeAuthenticated, 0},
		{"unknown user beside bcrypt accounts pays bcrypt", ProxyAuth{HTDigest: []string{sha}, Accounts: []Account{{Username: "bob", Password: bobHash}}}, "mallory", "x", outcomeUnknownUser, 1},
		{"password hash wins over H(A1)", ProxyAuth{HTDigest: []string{sha}, Accounts: []Account{{Username: "alice", Password: bobHash}}}, "alice", "bob-pw", outcomeAuthenticated, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.h.Realm = "lab"
			h := newTestHandler(t, &tc.h)
			before := counter.calls.Load()
			v, _, status := attempt(t, h, "GET", "http://example.invalid/", basicCredentials(tc.user, tc.password))
			if v.outcome != tc.want || (status == 200) != (tc.want == outcomeAuthenticated) {
				t.Errorf("%v, status %d; want %v", v.outcome, status, tc.want)
			}
			if n := counter.calls.Load() - before; n != tc.wantBcryptComparisons {
				t.Errorf("%d bcrypt comparisons, want %d", n, tc.wantBcryptComparisons)
			}
		})
	}
}

// TestHTDigestFilesReload: htdigest files reload like htpasswd files, and
// a version that a scheme cannot use (an account without the offered
// algorithm, another realm) keeps the last good set in force, with the
// problem shown on the file that caused it.
func TestHTDigestFilesReload(t *testing.T) {
	line := func(user, password string, algos ...digestAlgorithm) string {
		return strings.Join(htdigestLines(user, "lab", algos, []byte(password)), "\n") + "\n"
	}
	digestFile := writeFile(t, "users.htdigest", line("alice", "a", digestSHA256))
	passwdFile := writeFile(t, "users.htpasswd", "")
	h := newTestHandler(t, &ProxyAuth{Realm: "lab", HTDigest: []string{digestFile}, HTPasswd: []string{passwdFile},
		Schemes: []SchemeConfig{{Scheme: schemeDigest, Algorithms: []string{"SHA-256"}}, {Scheme: schemeBasic}}, WatchInterval: -1})
	signIn := func(user, password string) outcome {
		c := &digestClient{user: user, password: password, ch: firstChallenge(t, h)}
		v, _, _ := attempt(t, h, "GET", "http://example.invalid/", c.authorization("GET", "/"))
		return v.outcome
	}

	write(t, digestFile, line("alice", "a", digestSHA256)+line("bob", "b", digestSHA256))
	h.sources.reload(true)
	if got := users(h); got != "alice,bob" || signIn("bob", "b") != outcomeAuthenticated || lastError(t, h, digestFile) != "" {
		t.Fatalf("after adding bob: users %s, error %q", got, lastError(t, h, digestFile))
	}
	for _, s := range h.sources.statuses() {
		if s.Path == digestFile && (s.Kind != "htdigest" || s.Accounts != 2) {
			t.Errorf("status %+v", s)
		}
	}

	for _, tc := range []struct {
		name, file, content, want string
	}{
		{"an account without the offered algorithm", digestFile,
			line("alice", "a", digestSHA256) + line("carol", "c", digestMD5), `digest SHA-256: account "carol" (` + digestFile + ":2)"},
		{"another realm", digestFile,
			line("alice", "a", digestSHA256) + "dave:elsewhere:SHA-256:" + strings.Repeat("0", 64) + "\n", digestFile + `:2: realm "elsewhere"`},
		{"a password-only account in another file", passwdFile,
			"erin:" + bcryptHash(t, "e") + "\n", `digest SHA-256: account "erin" (` + passwdFile + ":1)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := h.accounts.current()
			old, _ := os.ReadFile(tc.file)
			write(t, tc.file, tc.content)
			h.sources.reload(true)
			if h.accounts.current() != before {
				t.Errorf("the set changed to %s", users(h))
			}
			if got := lastError(t, h, tc.file); !strings.Contains(got, tc.want) {
				t.Errorf("last_error %q, want %q", got, tc.want)
			}
			if signIn("alice", "a") != outcomeAuthenticated {
				t.Error("the last good set does not serve")
			}
			write(t, tc.file, string(old))
			h.sources.reload(true)
			if got := lastError(t, h, tc.file); got != "" {
				t.Errorf("after the fix: %q", got)
			}
		})
	}
}

// TestRealmChangeReadsHTDigestAgain: a config reload that changes the realm
// does not take over the old set, whose H(A1) values are for the old realm.
// TestHTDigestSourcesCountUsers: a user has a line per algorithm, and may
// have lines in several files; each file counts the users it has lines
// for, once each.
func TestHTDigestSourcesCountUsers(t *testing.T) {
	lines := func(user string, algos ...digestAlgorithm) string {
		return strings.Join(htdigestLines(user, "lab", algos, []byte(user+"-pw")), "\n") + "\n"
	}
	both := writeFile(t, "both.htdigest", lines("alice", digestMD5, digestSHA256)+lines("bob", digestMD5, digestSHA256)+lines("carol", digestSHA256))
	more := writeFile(t, "more.htdigest", lines("alice", digestSHA512_256))
	h := newTestHandler(t, &ProxyAuth{Realm: "lab", HTDigest: []string{both, more}, WatchInterval: -1})
	counts := map[string]int{}
	for _, s := range h.sources.statuses() {
		counts[s.Path] = s.Accounts
	}
	if counts[both] != 3 || counts[more] != 1 || h.accounts.current().len() != 3 {
		t.Errorf("accounts by file %v, in all %d; want 3 in %s, 1 in %s, 3 in all", counts, h.accounts.current().len(), both, more)
	}
}

func TestRealmChangeReadsHTDigestAgain(t *testing.T) {
	file := htdigestFile(t, "users.htdigest", "lab", map[string]string{"alice": "a"}, digestSHA256)
	provision := func(realm string) error {
		h := &ProxyAuth{Name: t.Name(), Realm: realm, HTDigest: []string{file}, WatchInterval: caddy.Duration(time.Hour)}
		err := h.Provision(testContext(t, t.TempDir()))
		t.Cleanup(func() { _ = h.Cleanup() })
		return err
	}
	if err := provision("lab"); err != nil {
		t.Fatal(err)
	}
	if err := provision("other"); err == nil || !strings.Contains(err.Error(), `realm "lab" of user "alice" is not the configured realm "other"`) {
		t.Errorf("realm change: %v", err)
	}
}
