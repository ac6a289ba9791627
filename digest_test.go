package proxyauth

import (
	"context"
	"encoding/hex"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
)

// Published and curl-computed vectors. curl's were computed by curl 7.88.1
// for the challenge realm="Realm1", nonce="abc123", qop="auth".
var digestVectors = []struct {
	name                               string
	algo                               digestAlgorithm
	user, realm, password, method, uri string
	nonce, nc, cnonce, want            string
}{
	{"curl MD5 CONNECT", digestMD5, "user", "Realm1", "pass", "CONNECT", "example.invalid:443",
		"abc123", "00000001", "ZmQyMzRhZTE5YTJmYjhlYjE5OTE1NjgwYjI0N2ViMTU=", "1545a8702af68758eb52d660dafc2bb9"},
	{"curl MD5 GET", digestMD5, "user", "Realm1", "pass", "GET", "/a/b?q=1",
		"abc123", "00000001", "M2RmMmM1YmE1NzJhMGExMDIzNzYyOGUxZTg1NmVlNTc=", "28199520e7ae14cca6f5709f9a7c0f99"},
	{"RFC 7616 §3.9.1 SHA-256", digestSHA256, "Mufasa", "http-auth@example.org", "Circle of Life", "GET", "/dir/index.html",
		"7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v", "00000001", "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ",
		"753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1"},
	{"RFC 7616 §3.9.1 MD5", digestMD5, "Mufasa", "http-auth@example.org", "Circle of Life", "GET", "/dir/index.html",
		"7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v", "00000001", "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ",
		"8ca523f5e9506fed4657c9700eebdbec"},
	// §3.9.2 as corrected by erratum 4897: the uri is /doe.json, and the
	// printed response and userhash were made with a draft SHA-512/256.
	{"RFC 7616 §3.9.2 SHA-512-256", digestSHA512_256, "Jäsøn Doe", "api@example.org", "Secret, or not?", "GET", "/doe.json",
		"5TsQWLVdgBdmrQ0XsxbDODV+57QdFR34I9HAbC/RVvkK", "00000001", "NTg6RKcb9boFIAS3KrFK9BGeh+iDa/sm6jUMp2wds69v",
		"3798d4131c277846293534c3edc11bd8a5e4cdcbff78b05db9d95eeb1cec68a5"},
}

func TestDigestResponseVectors(t *testing.T) {
	for _, v := range digestVectors {
		ha1 := string(v.algo.appendHA1(nil, v.user, v.realm, []byte(v.password)))
		sum := digestResponse(v.algo, ha1, v.method, v.uri, v.nonce, v.nc, v.cnonce, "auth")
		if got := hex.EncodeToString(sum[:v.algo.size()]); got != v.want {
			t.Errorf("%s: response %s, want %s", v.name, got, v.want)
		}
	}
	// RFC 7616 §3.9.2: the hashed user name (erratum 4897).
	sum := digestSHA512_256.sumOf("Jäsøn Doe", "api@example.org")
	if got := hex.EncodeToString(sum[:]); got != "793263caabb707a56211940d90411ea4a575adeccb7e360aeb624ed06ece9b0b" {
		t.Errorf("userhash %s", got)
	}
}

// digestHandler provisions a handler whose accounts come from htdigest
// lines for the given users and passwords under each algorithm.
func digestHandler(t *testing.T, realm string, schemes []SchemeConfig, users map[string]string, algos ...digestAlgorithm) *ProxyAuth {
	t.Helper()
	var lines []string
	for user, password := range users {
		lines = append(lines, htdigestLines(user, realm, algos, []byte(password))...)
	}
	file := writeFile(t, "users.htdigest", strings.Join(lines, "\n")+"\n")
	return newTestHandler(t, &ProxyAuth{Realm: realm, HTDigest: []string{file}, Schemes: schemes})
}

func digestOnly(algos ...string) []SchemeConfig {
	return []SchemeConfig{{Scheme: schemeDigest, Algorithms: algos}}
}

// attempt runs the handler's decision on one request: the verdict, and the
// response headers and status the client would get.
func attempt(t *testing.T, h *ProxyAuth, method, target, credentials string) (verdict, http.Header, int) {
	t.Helper()
	r := httptest.NewRequest(method, target, nil)
	if credentials != "" {
		r.Header.Set("Proxy-Authorization", credentials)
	}
	ctx := context.WithValue(r.Context(), caddy.ReplacerCtxKey, caddy.NewReplacer())
	ctx = context.WithValue(ctx, caddyhttp.VarsCtxKey, map[string]any{caddyhttp.ClientIPVarKey: "192.0.2.1"})
	r = r.WithContext(ctx)
	// What ServeHTTP does, step by step, so the verdict is visible; without
	// the failure limits, which tests of the limits cover.
	w := httptest.NewRecorder()
	v := h.authenticate(r)
	if v.outcome == outcomeAuthenticated {
		admit(w, v)
		return v, w.Header(), http.StatusOK
	}
	var he caddyhttp.HandlerError
	if err := h.refuse(w, r, v, nil); !errors.As(err, &he) {
		t.Fatalf("refused without a status: %v", err)
	}
	return v, w.Header(), he.StatusCode
}

// firstChallenge asks for a challenge and returns the first Digest one.
func firstChallenge(t *testing.T, h *ProxyAuth) challenge {
	t.Helper()
	_, hdr, status := attempt(t, h, "GET", "http://example.invalid/", "")
	chs := digestChallenges(t, hdr)
	if status != http.StatusProxyAuthRequired || len(chs) == 0 {
		t.Fatalf("status %d, challenges %q", status, hdr.Values("Proxy-Authenticate"))
	}
	return chs[0]
}

// TestDigestVectorsThroughTheHandler sends the vectors as the clients sent
// them. Their nonces are not ours, so the right answer is stale=true, which
// the handler only gives when the response was right for the password.
func TestDigestVectorsThroughTheHandler(t *testing.T) {
	for _, v := range digestVectors {
		t.Run(v.name, func(t *testing.T) {
			target := "http://example.invalid" + v.uri
			if v.method == "CONNECT" {
				target = v.uri
			}
			cred := `Digest username="` + v.user + `", realm="` + v.realm + `", nonce="` + v.nonce + `", uri="` + v.uri +
				`", cnonce="` + v.cnonce + `", nc=` + v.nc + `, qop=auth, response="` + v.want + `", algorithm=` + v.algo.String()
			if strings.ContainsFunc(v.user, func(r rune) bool { return r > 0x7f }) {
				cred = strings.Replace(cred, `username="`+v.user+`"`, "username*=UTF-8''"+percentEncode(v.user), 1)
			}
			for _, tc := range []struct {
				password string
				want     outcome
			}{
				{v.password, outcomeStale},
				{v.password + "x", outcomeWrongPassword},
			} {
				h := digestHandler(t, v.realm, digestOnly(v.algo.String()), map[string]string{v.user: tc.password}, v.algo)
				got, hdr, status := attempt(t, h, v.method, target, cred)
				chs := digestChallenges(t, hdr)
				if got.outcome != tc.want || status != http.StatusProxyAuthRequired || len(chs) != 1 || chs[0].stale != (tc.want == outcomeStale) {
					t.Errorf("password %q: %v (%s), status %d, challenges %q", tc.password, got.outcome, got.reason, status, hdr.Values("Proxy-Authenticate"))
				}
			}
		})
	}
}

func TestDigestChallengeShape(t *testing.T) {
	schemes := []SchemeConfig{{Scheme: schemeDigest, Algorithms: []string{"sha-256", "MD5"}}, {Scheme: schemeBasic}}
	h := digestHandler(t, `A "quoted" realm`, schemes, map[string]string{"alice": "pw"}, digestSHA256, digestMD5)
	_, hdr, _ := attempt(t, h, "GET", "http://example.invalid/", "")
	got := hdr.Values("Proxy-Authenticate")
	if len(got) != 3 {
		t.Fatalf("challenges %q", got)
	}
	chs := digestChallenges(t, hdr)
	nonce, opaque := chs[0].nonce, chs[0].opaque
	want := []string{
		`Digest realm="A \"quoted\" realm", qop="auth", algorithm=SHA-256, nonce="` + nonce + `", opaque="` + opaque + `", charset=UTF-8, userhash=true`,
		`Digest realm="A \"quoted\" realm", qop="auth", algorithm=MD5, nonce="` + nonce + `", opaque="` + opaque + `", charset=UTF-8, userhash=true`,
		`Basic realm="A \"quoted\" realm", charset="UTF-8"`,
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("challenge %d:\n got %s\nwant %s", i, got[i], want[i])
		}
	}
	if len(nonce) != nonceTextSize || strings.ContainsAny(nonce, `"\`) || opaque == "" {
		t.Errorf("nonce %q opaque %q", nonce, opaque)
	}
	_, hdr2, _ := attempt(t, h, "GET", "http://example.invalid/", "")
	if again := digestChallenges(t, hdr2)[0]; again.nonce == nonce || again.opaque != opaque {
		t.Errorf("second 407: nonce %q (first %q), opaque %q (first %q)", again.nonce, nonce, again.opaque, opaque)
	}
}

func TestDigestNonceLifecycle(t *testing.T) {
	h := digestHandler(t, "lab", digestOnly(), map[string]string{"alice": "pw"}, digestSHA256)
	nonces := h.state.nonces
	start := time.Now()
	nonces.now = func() time.Time { return start }
	lifetime := defaultNonceLifetime

	c := &digestClient{user: "alice", password: "pw", ch: firstChallenge(t, h)}
	const uri = "/page?x=1"
	target := "http://example.invalid" + uri
	ok := func(cred, what string) http.Header {
		t.Helper()
		v, hdr, status := attempt(t, h, "GET", target, cred)
		if status != http.StatusOK || v.outcome != outcomeAuthenticated || v.user != "alice" {
			t.Fatalf("%s: %v (%s), status %d", what, v.outcome, v.reason, status)
		}
		return hdr
	}
	refused := func(cred, what string, want outcome) challenge {
		t.Helper()
		v, hdr, status := attempt(t, h, "GET", target, cred)
		chs := digestChallenges(t, hdr)
		if v.outcome != want || status != http.StatusProxyAuthRequired || len(chs) != 1 || !chs[0].stale {
			t.Fatalf("%s: %v (%s), status %d, challenges %q", what, v.outcome, v.reason, status, hdr.Values("Proxy-Authenticate"))
		}
		return chs[0]
	}

	first := c.authorization("GET", uri)
	hdr := ok(first, "first use")
	wantInfo := `rspauth="` + c.rspauth(uri) + `", qop=auth, cnonce="test-cnonce", nc=00000001`
	if got := hdr.Get("Proxy-Authentication-Info"); got != wantInfo {
		t.Errorf("Proxy-Authentication-Info\n got %s\nwant %s", got, wantInfo)
	}
	refused(first, "replay of nc 1", outcomeReplayed)

	// Parallel connections sharing the nonce: counts arrive out of order.
	c.nc = 2
	third := c.authorization("GET", uri) // nc 3
	c.nc = 1
	second := c.authorization("GET", uri) // nc 2
	ok(third, "nc 3")
	ok(second, "nc 2 after 3")
	refused(second, "nc 2 again", outcomeReplayed)
	c.nc = 99
	ok(c.authorization("GET", uri), "nc 100")
	c.nc = 9
	refused(c.authorization("GET", uri), "nc 10, more than the window behind 100", outcomeReplayed)

	// Near the end of its life, the nonce comes with its successor.
	nonces.now = func() time.Time { return start.Add(lifetime * 9 / 10) }
	c.nc = 200
	info := ok(c.authorization("GET", uri), "late use").Get("Proxy-Authentication-Info")
	_, next, found := strings.Cut(info, `nextnonce="`)
	if !found {
		t.Fatalf("no nextnonce in %q", info)
	}
	next = strings.TrimSuffix(next, `"`)
	successor := &digestClient{user: "alice", password: "pw", ch: c.ch}
	successor.ch.nonce = next
	ok(successor.authorization("GET", uri), "nextnonce")

	// Past its lifetime the nonce is stale; the fresh one works at once.
	nonces.now = func() time.Time { return start.Add(lifetime + 2*time.Second) }
	fresh := refused(c.authorization("GET", uri), "expired nonce", outcomeStale)
	c.ch, c.nc = fresh, 0
	ok(c.authorization("GET", uri), "after stale")

	// A nonce issued too far in the future (clock skew beyond a minute).
	nonces.now = func() time.Time { return start.Add(-2 * time.Minute) }
	refused(c.authorization("GET", uri), "nonce from the future", outcomeStale)
}

func TestDigestRefusals(t *testing.T) {
	h := digestHandler(t, "lab", digestOnly("SHA-256", "MD5"), map[string]string{"alice": "pw"}, digestSHA256, digestMD5)
	ch := firstChallenge(t, h)
	const target = "http://example.invalid/page"
	client := func(mod func(*digestClient)) string {
		// A fresh nonce each time, so that no case is a replay of another.
		c := &digestClient{user: "alice", password: "pw", ch: firstChallenge(t, h)}
		if mod != nil {
			mod(c)
		}
		return c.authorization("GET", "/page")
	}
	for _, tc := range []struct {
		name   string
		cred   string
		want   outcome
		status int
		reason string
	}{
		{"control: valid", client(nil), outcomeAuthenticated, 200, ""},
		{"quoted algorithm, qop and nc", client(func(c *digestClient) { c.quoteTokens = true }), outcomeAuthenticated, 200, ""},
		{"userhash", client(func(c *digestClient) { c.userhash = true }), outcomeAuthenticated, 200, ""},
		{"userhash under MD5", client(func(c *digestClient) { c.userhash = true; c.ch.alg = "MD5" }), outcomeAuthenticated, 200, ""},
		{"username*", client(func(c *digestClient) { c.usernameStar = true }), outcomeAuthenticated, 200, ""},
		{"no algorithm means MD5", client(func(c *digestClient) { c.ch.alg = "MD5"; c.noAlgorithm = true }), outcomeAuthenticated, 200, ""},
		{"unknown parameter", client(func(c *digestClient) { c.extra = `foo="bar"` }), outcomeAuthenticated, 200, ""},

		{"uri of another resource", strings.Replace(client(nil), `uri="/page"`, `uri="/other"`, 1), outcomeURIMismatch, 400, ""},
		{"unknown algorithm", client(func(c *digestClient) { c.ch.alg = "SHA-1" }), outcomeMalformed, 407, "unknown Digest algorithm"},
		{"algorithm not offered", client(func(c *digestClient) { c.ch.alg = "SHA-512-256" }), outcomeMalformed, 407, "SHA-512-256 not offered"},
		{"MD5-sess", client(func(c *digestClient) { c.ch.alg = "MD5-sess" }), outcomeMalformed, 407, "unknown Digest algorithm"},
		{"auth-int", client(func(c *digestClient) { c.qop = "auth-int" }), outcomeMalformed, 407, "auth-int"},
		{"no qop (RFC 2069)", `Digest username="alice", realm="lab", nonce="` + ch.nonce + `", uri="/page", response="` + strings.Repeat("0", 64) + `", algorithm=SHA-256`, outcomeMalformed, 407, "without qop"},
		{"no cnonce", strings.Replace(client(nil), `cnonce="test-cnonce", `, "", 1), outcomeMalformed, 407, "lack cnonce"},
		{"both username forms", client(func(c *digestClient) { c.extra = "username*=UTF-8''alice" }), outcomeMalformed, 407, "both username and username*"},
		{"username* with userhash", client(func(c *digestClient) { c.usernameStar = true; c.extra = "userhash=true" }), outcomeMalformed, 407, "userhash"},
		{"other realm", strings.Replace(client(nil), `realm="lab"`, `realm="lab2"`, 1), outcomeMalformed, 407, "realm"},
		{"nc not 8 digits", strings.Replace(client(nil), "nc=00000001", "nc=1", 1), outcomeMalformed, 407, "nc is not 8 hex digits"},
		{"response too short", strings.Replace(client(nil), `", opaque=`, `0", opaque=`, 1), outcomeMalformed, 407, "response is not a SHA-256 digest"},
		{"SHA-256 length under MD5", withResponse(client(func(c *digestClient) { c.ch.alg = "MD5" }), strings.Repeat("0", 64)), outcomeMalformed, 407, "response is not a MD5 digest"},
		{"response not hex", withResponse(client(nil), strings.Repeat("g", 64)), outcomeMalformed, 407, "response is not a SHA-256 digest"},
		{"wrong password", client(func(c *digestClient) { c.password = "PW" }), outcomeWrongPassword, 407, ""},
		{"unknown user", client(func(c *digestClient) { c.user = "mallory" }), outcomeUnknownUser, 407, ""},
		{"unknown hashed user", client(func(c *digestClient) { c.user = "mallory"; c.userhash = true }), outcomeUnknownUser, 407, ""},
		{"tampered nonce", client(func(c *digestClient) { c.ch.nonce = c.ch.nonce[:20] + flip(c.ch.nonce[20]) + c.ch.nonce[21:] }), outcomeStale, 407, "not issued"},
		{"made-up nonce", client(func(c *digestClient) { c.ch.nonce = "abc123" }), outcomeStale, 407, "not issued"},
		{"wrong password with a made-up nonce", client(func(c *digestClient) { c.ch.nonce = "abc123"; c.password = "x" }), outcomeWrongPassword, 407, ""},
		{"other opaque", client(func(c *digestClient) { c.ch.opaque = "other" }), outcomeStale, 407, "opaque"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v, hdr, status := attempt(t, h, "GET", target, tc.cred)
			if v.outcome != tc.want || status != tc.status || !strings.Contains(v.reason, tc.reason) {
				t.Errorf("%v (%q), status %d; want %v (%q), %d", v.outcome, v.reason, status, tc.want, tc.reason, tc.status)
			}
			if status == http.StatusBadRequest && hdr.Get("Proxy-Authenticate") != "" {
				t.Error("a 400 carries a challenge")
			}
			if status == http.StatusProxyAuthRequired {
				chs := digestChallenges(t, hdr)
				if len(chs) != 2 || chs[0].stale != (tc.want == outcomeStale) {
					t.Errorf("challenges %q", hdr.Values("Proxy-Authenticate"))
				}
			}
		})
	}
}

// withResponse replaces the response of Digest credentials.
func withResponse(cred, response string) string {
	start := strings.Index(cred, `response="`) + len(`response="`)
	end := start + strings.IndexByte(cred[start:], '"')
	return cred[:start] + response + cred[end:]
}

// flip changes one base64url character into another.
func flip(c byte) string {
	if c == 'A' {
		return "B"
	}
	return "A"
}

func TestDigestURIMatches(t *testing.T) {
	for _, tc := range []struct {
		uri, method, target, host string
		want                      bool
	}{
		{"example.invalid:443", "CONNECT", "example.invalid:443", "", true},
		{"Example.Invalid:443", "CONNECT", "example.invalid:443", "", true},
		{"example.invalid:8443", "CONNECT", "example.invalid:443", "", false},
		{"/", "CONNECT", "example.invalid:443", "", false},
		{"http://example.invalid/a?b", "GET", "http://example.invalid/a?b", "", true},
		{"/a?b", "GET", "http://example.invalid/a?b", "", true},
		{"/a", "GET", "http://example.invalid/a?b", "", false},
		{"/", "GET", "http://example.invalid", "", true},
		{"/?q", "GET", "http://example.invalid?q", "", true},
		{"HTTP://EXAMPLE.invalid:80/a", "GET", "http://example.invalid/a", "", true},
		{"http://example.invalid/A", "GET", "http://example.invalid/a", "", false},
		{"http://other.invalid/a", "GET", "http://example.invalid/a", "", false},
		{"https://example.invalid/a", "GET", "http://example.invalid/a", "", false},
		{"example.invalid:443", "GET", "http://example.invalid/a", "", false},
		{"/a", "GET", "/a", "example.invalid", true}, // HTTP/2: origin-form
		{"http://example.invalid/a", "GET", "/a", "example.invalid", true},
		{"http://other.invalid/a", "GET", "/a", "example.invalid", false},
	} {
		if got := digestURIMatches(tc.uri, tc.method, tc.target, tc.host); got != tc.want {
			t.Errorf("uri %q for %s %s (Host %s): %v, want %v", tc.uri, tc.method, tc.target, tc.host, got, tc.want)
		}
	}
}

// TestDigestParallelCountsOfOneNonce: parallel connections sharing one
// nonce send their counts in any order; each count works once.
func TestDigestParallelCountsOfOneNonce(t *testing.T) {
	h := digestHandler(t, "lab", digestOnly("SHA-256"), map[string]string{"alice": "pw"}, digestSHA256)
	c := &digestClient{user: "alice", password: "pw", ch: firstChallenge(t, h)}
	const n = 48
	creds := make([]string, n)
	for i := range creds {
		creds[i] = c.authorization("GET", "/")
	}
	results := make(chan outcome, 2*n)
	var wg sync.WaitGroup
	for i := range 2 * n { // every count twice, from different goroutines
		wg.Go(func() {
			r := httptest.NewRequest("GET", "http://example.invalid/", nil)
			r.Header.Set("Proxy-Authorization", creds[(n-1-i/2+i%2*7)%n])
			results <- h.authenticate(r).outcome
		})
	}
	wg.Wait()
	close(results)
	counts := map[outcome]int{}
	for o := range results {
		counts[o]++
	}
	if counts[outcomeAuthenticated] != n || counts[outcomeReplayed] != n {
		t.Errorf("outcomes %v, want %d authenticated and %d replayed", counts, n, n)
	}
}
