package proxyauth

// Integration tests of Digest: a real Caddy on loopback, driven by curl,
// Python's urllib and raw sockets, with MD5 accounts written by Apache's
// htdigest.

import (
	"bufio"
	"crypto/tls"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const digestRealm = "Digest Lab"

// apacheHTDigest runs Apache's htdigest to add user to a new file.
func apacheHTDigest(t *testing.T, realm, user, password string) string {
	t.Helper()
	bin := requireTool(t, "htdigest", "apache2-utils")
	path := filepath.Join(t.TempDir(), "apache.htdigest")
	cmd := exec.Command(bin, "-c", path, realm, user)
	cmd.Stdin = strings.NewReader(password + "\n" + password + "\n") // asked twice
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("htdigest: %v: %s", err, out)
	}
	data, err := os.ReadFile(path)
	if err != nil || !strings.HasPrefix(string(data), user+":"+realm+":") || len(strings.TrimSpace(string(data))) != len(user+realm)+2+32 {
		t.Fatalf("htdigest wrote %q (%v)", data, err)
	}
	return path
}

// digestAccounts writes the accounts most tests use: alice with SHA-256,
// SHA-512-256 and MD5 lines and a UTF-8 user with SHA-256 and MD5, as
// `caddy hash-digest` prints them, and md5user with the MD5 line Apache's
// htdigest writes.
func digestAccounts(t *testing.T) (sha, apache string) {
	t.Helper()
	lines := htdigestLines("alice", digestRealm, []digestAlgorithm{digestSHA256, digestSHA512_256, digestMD5}, []byte("alice-secret"))
	lines = append(lines, htdigestLines("jürgen", digestRealm, []digestAlgorithm{digestSHA256, digestMD5}, []byte("pä:ss wört"))...)
	sha = writeFile(t, "users.htdigest", strings.Join(lines, "\n")+"\n")
	return sha, apacheHTDigest(t, digestRealm, "md5user", "md5-secret")
}

// startDigestCaddy loads site into the in-process Caddy with its storage in
// a fresh directory, which it returns.
func startDigestCaddy(t *testing.T, site string) string {
	t.Helper()
	dir := t.TempDir()
	startCaddyWithGlobals(t, "\tstorage file_system "+dir, site)
	return dir
}

// respondSite is a proxy_auth block in front of a respond handler, so
// tests see the response headers proxy_auth sets (dev_forward_proxy
// replaces them with the origin's).
func respondSite(block string) string {
	return fmt.Sprintf("http://:%d {\n\tbind 127.0.0.1\n\troute {\n\t\tproxy_auth {\n%s\n\t\t}\n\t\trespond \"user={http.auth.user.id}\"\n\t}\n}\n", testProxyPort, block)
}

func TestDigestCurl(t *testing.T) {
	curl := requireTool(t, "curl", "curl")
	sha, apache := digestAccounts(t)
	plain := newOrigin(t, false)
	tlsOrigin := newOrigin(t, true)
	caFile := writeFile(t, "origin.pem", pemOf(tlsOrigin))

	for _, cfg := range []struct {
		name, block string
		user, pass  string
	}{
		// SHA-256 first (then SHA-512-256 and MD5), and Basic after it.
		{"SHA-256 account", "\t\trealm `" + digestRealm + "`\n\t\thtdigest " + sha + "\n\t\tdigest\n\t\tbasic", "alice", "alice-secret"},
		{"UTF-8 SHA-256 account", "\t\trealm `" + digestRealm + "`\n\t\thtdigest " + sha + "\n\t\tdigest SHA-256\n\t\tbasic", "jürgen", "pä:ss wört"},
		// An MD5-only account from Apache's htdigest: MD5 is all there is.
		{"MD5-only account", "\t\trealm `" + digestRealm + "`\n\t\thtdigest " + apache + "\n\t\tdigest\n\t\tbasic", "md5user", "md5-secret"},
	} {
		t.Run(cfg.name, func(t *testing.T) {
			startDigestCaddy(t, proxySite(cfg.block))
			cred := cfg.user + ":" + cfg.pass
			for _, tc := range []struct {
				name     string
				args     []string
				target   string
				wantCode string
			}{
				{"--proxy-digest", []string{"--proxy-digest", "--proxy-user", cred}, plain.URL + "/a/b?q=1", "200"},
				{"--proxy-anyauth", []string{"--proxy-anyauth", "--proxy-user", cred}, plain.URL + "/any", "200"},
				{"-p --proxy-digest", []string{"-p", "--proxy-digest", "--proxy-user", cred}, tlsOrigin.URL + "/tunnel", "200"},
				{"-p --proxy-anyauth", []string{"-p", "--proxy-anyauth", "--proxy-user", cred}, tlsOrigin.URL + "/tunnel", "200"},
				{"wrong password", []string{"--proxy-digest", "--proxy-user", cfg.user + ":nope"}, plain.URL + "/", "407"},
				{"-p wrong password", []string{"-p", "--proxy-digest", "--proxy-user", cfg.user + ":nope"}, tlsOrigin.URL + "/", "407"},
			} {
				t.Run(tc.name, func(t *testing.T) {
					args := append([]string{"-sS", "-v", "-o", "/dev/null", "-w", "%{http_code} %{http_connect}",
						"-x", "http://" + testProxyAddr, "--cacert", caFile, "--max-time", "10"}, tc.args...)
					cmd := exec.Command(curl, append(args, tc.target)...)
					var stderr strings.Builder
					cmd.Stderr = &stderr
					out, _ := cmd.Output() // curl exits non-zero on a refused tunnel
					fields := strings.Fields(string(out))
					if len(fields) != 2 {
						t.Fatalf("curl printed %q: %s", out, stderr.String())
					}
					code := fields[0]
					if tc.args[0] == "-p" {
						code = fields[1] // the answer to CONNECT
					}
					if code != tc.wantCode {
						t.Errorf("status %s (%s), want %s\n%s", code, out, tc.wantCode, stderr.String())
					}
					// With Basic offered too, curl must still have chosen Digest.
					if !strings.Contains(stderr.String(), "Proxy auth using Digest with user '"+cfg.user+"'") {
						t.Errorf("curl did not use Digest:\n%s", stderr.String())
					}
				})
			}
		})
	}
	plain.assertNeverSawProxyAuthorization(t)
	tlsOrigin.assertNeverSawProxyAuthorization(t)
}

// TestDigestCurlSHA512256 records a client limit the docs warn about:
// curl before 8.8 computes "SHA-512-256" with SHA-256, so a proxy that
// offers SHA-512-256 first locks it out; later curl answers it right.
func TestDigestCurlSHA512256(t *testing.T) {
	curl := requireTool(t, "curl", "curl")
	lines := htdigestLines("alice", digestRealm, []digestAlgorithm{digestSHA512_256, digestSHA256}, []byte("alice-secret"))
	file := writeFile(t, "alice.htdigest", strings.Join(lines, "\n"))
	startDigestCaddy(t, respondSite("\t\t\trealm `"+digestRealm+"`\n\t\t\thtdigest "+file+"\n\t\t\tdigest SHA-512-256 SHA-256"))
	out, _ := exec.Command(curl, "-sS", "-o", "/dev/null", "-w", "%{http_code}", "-x", "http://"+testProxyAddr,
		"--proxy-digest", "--proxy-user", "alice:alice-secret", "--max-time", "10", "http://example.invalid/").Output()

	version, _ := exec.Command(curl, "--version").Output()
	var major, minor int
	if _, err := fmt.Sscanf(string(version), "curl %d.%d", &major, &minor); err != nil {
		t.Fatalf("curl --version: %q", version)
	}
	want := "200"
	if major < 8 || major == 8 && minor < 8 {
		want = "407"
	}
	if string(out) != want {
		t.Errorf("curl %d.%d through SHA-512-256 first: %s, want %s (docs/digest.md says so)", major, minor, out, want)
	}
}

func TestDigestPython(t *testing.T) {
	python := requireTool(t, "python3", "python3")
	_, apache := digestAccounts(t)
	plain := newOrigin(t, false)
	script := writeFile(t, "digest_client.py", `import json, sys, urllib.request
proxy, target, realm, user, password = sys.argv[1:]
auth = urllib.request.ProxyDigestAuthHandler()
auth.add_password(realm, target, user, password)
opener = urllib.request.build_opener(urllib.request.ProxyHandler({"http": proxy}), auth)
for path in ("/first?x=1", "/second"):
    try:
        with opener.open(target + path, timeout=10) as r:
            print(r.status, json.load(r)["uri"])
    except Exception as e:
        print("error", type(e).__name__, e)
`)
	run := func() string {
		out, err := exec.Command(python, script, "http://"+testProxyAddr, plain.URL, digestRealm, "md5user", "md5-secret").CombinedOutput()
		if err != nil {
			t.Fatalf("python: %v: %s", err, out)
		}
		return string(out)
	}

	// Digest first: Python reads only the first Proxy-Authenticate field.
	startDigestCaddy(t, proxySite("\t\trealm `"+digestRealm+"`\n\t\thtdigest "+apache+"\n\t\tdigest MD5\n\t\tbasic"))
	if got := run(); got != "200 /first?x=1\n200 /second\n" {
		t.Errorf("urllib through Digest MD5:\n%s", got)
	}
	plain.assertNeverSawProxyAuthorization(t)

	// Basic first: urllib's Digest handler gives up on the first field.
	startDigestCaddy(t, proxySite("\t\trealm `"+digestRealm+"`\n\t\thtdigest "+apache+"\n\t\tbasic\n\t\tdigest MD5"))
	if got := run(); !strings.HasPrefix(got, "error HTTPError HTTP Error 407") {
		t.Errorf("urllib with Basic offered first: %s", got)
	}
}

func TestDigestOnTheWire(t *testing.T) {
	sha, _ := digestAccounts(t)
	dir := startDigestCaddy(t, respondSite("\t\t\trealm `"+digestRealm+"`\n\t\t\tname wire\n\t\t\thtdigest "+sha+"\n\t\t\tdigest SHA-256 MD5\n\t\t\tbasic"))

	conn, br := dialProxy(t)
	get := func(target, cred string) (*http.Response, string) {
		t.Helper()
		req := "GET " + target + " HTTP/1.1\r\nHost: example.invalid\r\n"
		if cred != "" {
			req += "Proxy-Authorization: " + cred + "\r\n"
		}
		return rawExchange(t, conn, br, req+"\r\n")
	}

	// The challenges, exactly, in order: Digest per algorithm, then Basic.
	resp, _ := get("http://example.invalid/page", "")
	fields := resp.Header.Values("Proxy-Authenticate")
	chs := digestChallenges(t, resp.Header)
	if resp.StatusCode != 407 || len(fields) != 3 || len(chs) != 2 {
		t.Fatalf("status %d, Proxy-Authenticate %q", resp.StatusCode, fields)
	}
	quotedRealm := `"` + digestRealm + `"`
	for i, alg := range []string{"SHA-256", "MD5"} {
		want := "Digest realm=" + quotedRealm + `, qop="auth", algorithm=` + alg + `, nonce="` + chs[0].nonce + `", opaque="` + chs[0].opaque + `", charset=UTF-8, userhash=true`
		if fields[i] != want {
			t.Errorf("field %d:\n got %s\nwant %s", i, fields[i], want)
		}
	}
	if fields[2] != "Basic realm="+quotedRealm+`, charset="UTF-8"` {
		t.Errorf("field 2: %s", fields[2])
	}
	ch := chs[0]

	type step struct {
		name      string
		client    digestClient
		target    string // request-target; uri defaults to its path
		uri       string
		edit      func(string) string // applied to the credentials
		wantCode  int
		wantBody  string
		wantStale bool
	}
	alice := digestClient{user: "alice", password: "alice-secret", ch: ch}
	md5 := alice
	md5.ch.alg = "MD5"
	steps := []step{
		{name: "SHA-256", client: alice, wantCode: 200, wantBody: "user=alice"},
		{name: "MD5, quoted tokens (as Python sends them)", client: func() digestClient { c := md5; c.quoteTokens = true; return c }(), wantCode: 200, wantBody: "user=alice"},
		{name: "MD5, no algorithm parameter", client: func() digestClient { c := md5; c.noAlgorithm = true; return c }(), wantCode: 200, wantBody: "user=alice"},
		{name: "userhash", client: func() digestClient { c := alice; c.userhash = true; return c }(), wantCode: 200, wantBody: "user=alice"},
		{name: "username* (RFC 8187)", client: digestClient{user: "jürgen", password: "pä:ss wört", ch: ch, usernameStar: true}, wantCode: 200, wantBody: "user=jürgen"},
		{name: "UTF-8 username in quotes", client: digestClient{user: "jürgen", password: "pä:ss wört", ch: ch}, wantCode: 200, wantBody: "user=jürgen"},
		{name: "absolute uri", client: alice, uri: "http://example.invalid/page", wantCode: 200, wantBody: "user=alice"},
		{name: "uri of another resource", client: alice, uri: "/elsewhere", wantCode: 400},
		{name: "unknown algorithm", client: func() digestClient { c := alice; c.ch.alg = "SHA-1"; return c }(), wantCode: 407},
		{name: "algorithm not offered", client: func() digestClient { c := alice; c.ch.alg = "SHA-512-256"; return c }(), wantCode: 407},
		{name: "auth-int", client: func() digestClient { c := alice; c.qop = "auth-int"; return c }(), wantCode: 407},
		{name: "no qop, nc and cnonce", client: alice, edit: func(s string) string {
			for _, p := range []string{", qop=auth", ", nc=00000001", `, cnonce="test-cnonce"`} {
				s = strings.Replace(s, p, "", 1)
			}
			return s
		}, wantCode: 407},
		{name: "username and username*", client: func() digestClient { c := alice; c.extra = "username*=UTF-8''alice"; return c }(), wantCode: 407},
		{name: "wrong password", client: func() digestClient { c := alice; c.password = "nope"; return c }(), wantCode: 407},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			// A fresh nonce for each step, on the same connection.
			resp, _ := get("http://example.invalid/page", "")
			c := s.client
			c.ch.nonce = digestChallenges(t, resp.Header)[0].nonce
			uri := s.uri
			if uri == "" {
				uri = "/page"
			}
			cred := c.authorization("GET", uri)
			if s.edit != nil {
				cred = s.edit(cred)
			}
			resp, body := get("http://example.invalid/page", cred)
			if resp.StatusCode != s.wantCode || s.wantBody != "" && body != s.wantBody {
				t.Fatalf("status %d body %q, want %d %q", resp.StatusCode, body, s.wantCode, s.wantBody)
			}
			switch resp.StatusCode {
			case 200:
				want := `rspauth="` + c.rspauth(uri) + `", qop=auth, cnonce="test-cnonce", nc=00000001`
				if got := resp.Header.Get("Proxy-Authentication-Info"); got != want {
					t.Errorf("Proxy-Authentication-Info\n got %s\nwant %s", got, want)
				}
			case 407:
				if got := digestChallenges(t, resp.Header); len(got) != 2 || got[0].stale {
					t.Errorf("challenges %q", resp.Header.Values("Proxy-Authenticate"))
				}
			case 400:
				if v := resp.Header.Values("Proxy-Authenticate"); len(v) != 0 {
					t.Errorf("400 with challenges %q", v)
				}
			}
		})
	}

	// Replay: the same credentials twice. The second gets a new nonce
	// with stale=true, and the client succeeds with it at once.
	resp, _ = get("http://example.invalid/page", "")
	c := alice
	c.ch.nonce = digestChallenges(t, resp.Header)[0].nonce
	cred := c.authorization("GET", "/page")
	if resp, _ := get("http://example.invalid/page", cred); resp.StatusCode != 200 {
		t.Fatalf("first use: %d", resp.StatusCode)
	}
	resp, _ = get("http://example.invalid/page", cred)
	if got := digestChallenges(t, resp.Header); resp.StatusCode != 407 || len(got) != 2 || !got[0].stale || !got[1].stale {
		t.Fatalf("replay: %d %q", resp.StatusCode, resp.Header.Values("Proxy-Authenticate"))
	}
	if !strings.Contains(strings.Join(resp.Header.Values("Proxy-Authenticate"), "\n"), "Basic") || strings.Contains(resp.Header.Values("Proxy-Authenticate")[2], "stale") {
		t.Errorf("Basic challenge after a replay: %q", resp.Header.Values("Proxy-Authenticate"))
	}
	c.ch.nonce, c.nc = digestChallenges(t, resp.Header)[0].nonce, 0
	if resp, _ := get("http://example.invalid/page", c.authorization("GET", "/page")); resp.StatusCode != 200 {
		t.Fatalf("after stale: %d", resp.StatusCode)
	}

	// An expired nonce, made with the key from Caddy's storage: stale.
	expired := nonceFromStorage(t, dir, "wire", time.Now().Add(-defaultNonceLifetime-time.Minute))
	c.ch.nonce, c.nc = expired, 0
	resp, _ = get("http://example.invalid/page", c.authorization("GET", "/page"))
	if got := digestChallenges(t, resp.Header); resp.StatusCode != 407 || !got[0].stale || got[0].nonce == expired {
		t.Errorf("expired nonce: %d %q", resp.StatusCode, resp.Header.Values("Proxy-Authenticate"))
	}
	// The same, with the wrong password: not stale, new credentials needed.
	c.password, c.nc = "nope", 0
	resp, _ = get("http://example.invalid/page", c.authorization("GET", "/page"))
	if got := digestChallenges(t, resp.Header); resp.StatusCode != 407 || got[0].stale {
		t.Errorf("expired nonce, wrong password: %d %q", resp.StatusCode, resp.Header.Values("Proxy-Authenticate"))
	}
}

// nonceFromStorage makes a nonce issued at `at` with the handler's key as
// stored under dir, as another instance sharing the storage would.
func nonceFromStorage(t *testing.T, dir, handlerName string, at time.Time) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(nonceKeyStorageKey(handlerName))))
	if err != nil || len(data) != nonceKeySize {
		t.Fatalf("nonce key in storage: %v (%d bytes)", err, len(data))
	}
	n := newNonceState()
	n.setKey([nonceKeySize]byte(data))
	n.now = func() time.Time { return at }
	return n.issue()
}

// TestDigestConnectTunnel: Digest credentials for CONNECT name the
// authority, and the tunnel they open carries TLS to the origin.
func TestDigestConnectTunnel(t *testing.T) {
	sha, _ := digestAccounts(t)
	startDigestCaddy(t, proxySite("\t\trealm `"+digestRealm+"`\n\t\thtdigest "+sha+"\n\t\tdigest SHA-256"))
	tlsOrigin := newOrigin(t, true)
	target := tlsOrigin.Listener.Addr().String()

	conn, br := dialProxy(t)
	connect := "CONNECT " + target + " HTTP/1.1\r\nHost: " + target + "\r\n"
	resp, _ := rawExchange(t, conn, br, connect+"\r\n")
	chs := digestChallenges(t, resp.Header)
	if resp.StatusCode != 407 || len(chs) != 1 {
		t.Fatalf("status %d, challenges %q", resp.StatusCode, resp.Header.Values("Proxy-Authenticate"))
	}
	c := digestClient{user: "alice", password: "alice-secret", ch: chs[0]}

	// Credentials for another authority: 400.
	resp, _ = rawExchange(t, conn, br, connect+"Proxy-Authorization: "+c.authorization("CONNECT", "127.0.0.1:1")+"\r\n\r\n")
	if resp.StatusCode != 400 {
		t.Fatalf("CONNECT with another authority's uri: %d", resp.StatusCode)
	}
	conn, br = dialProxy(t)
	resp, _ = rawExchange(t, conn, br, connect+"Proxy-Authorization: "+c.authorization("CONNECT", target)+"\r\n\r\n")
	if resp.StatusCode != 200 {
		t.Fatalf("CONNECT: %d", resp.StatusCode)
	}
	tlsConn := tls.Client(&bufferedConn{Conn: conn, r: br}, &tls.Config{RootCAs: tlsOrigin.certPool(), ServerName: "127.0.0.1"})
	resp, body := rawExchange(t, tlsConn, bufio.NewReader(tlsConn), "GET /through HTTP/1.1\r\nHost: "+target+"\r\n\r\n")
	if resp.StatusCode != 200 || !strings.Contains(body, `"uri":"/through"`) {
		t.Fatalf("through the tunnel: %d %q", resp.StatusCode, body)
	}
	tlsOrigin.assertNeverSawProxyAuthorization(t)
}

// TestDigestNonceSurvivesReload: a config reload (POST /load) keeps the
// nonce key and the record of used counts.
func TestDigestNonceSurvivesReload(t *testing.T) {
	sha, _ := digestAccounts(t)
	block := "\t\t\trealm `" + digestRealm + "`\n\t\t\tname reload\n\t\t\thtdigest " + sha + "\n\t\t\tdigest SHA-256"
	dir := startDigestCaddy(t, respondSite(block))

	conn, br := dialProxy(t)
	resp, _ := rawExchange(t, conn, br, "GET http://example.invalid/ HTTP/1.1\r\nHost: example.invalid\r\n\r\n")
	c := digestClient{user: "alice", password: "alice-secret", ch: digestChallenges(t, resp.Header)[0]}
	used := c.authorization("GET", "/")
	send := func(cred string) int { return proxyStatus(t, "http://example.invalid", cred) }
	if got := send(used); got != 200 {
		t.Fatalf("before the reload: %d", got)
	}

	// A changed config: same handler name, another account added.
	more := writeFile(t, "more.htdigest", strings.Join(htdigestLines("bob", digestRealm, []digestAlgorithm{digestSHA256}, []byte("b")), "\n"))
	startCaddyWithGlobals(t, "\tstorage file_system "+dir, respondSite(block+"\n\t\t\thtdigest "+more))
	if got := send(c.authorization("GET", "/")); got != 200 {
		t.Errorf("nonce from before the reload: %d", got)
	}
	if got := send(used); got != 407 {
		t.Errorf("replay across the reload: %d", got)
	}
}

// TestBasicWithHTDigestFile: one htdigest file serves Basic too.
func TestBasicWithHTDigestFile(t *testing.T) {
	curl := requireTool(t, "curl", "curl")
	_, apache := digestAccounts(t)
	startDigestCaddy(t, respondSite("\t\t\trealm `"+digestRealm+"`\n\t\t\thtdigest "+apache))
	for pass, want := range map[string]string{"md5-secret": "200", "md5-Secret": "407"} {
		out, _ := exec.Command(curl, "-sS", "-o", "/dev/null", "-w", "%{http_code}", "-x", "http://"+testProxyAddr,
			"--proxy-basic", "--proxy-user", "md5user:"+pass, "--max-time", "10", "http://example.invalid/").Output()
		if string(out) != want {
			t.Errorf("Basic with %q: %s, want %s", pass, out, want)
		}
	}
}
