package proxyauth

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.uber.org/zap"

	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
)

// FuzzDigestCredentials sends arbitrary Digest credentials through the
// scheme and the handler's refusal: nothing panics, every refusal is 407
// or 400, and a request is only let through when its response is the
// right one for the account's password, the method and the uri, which
// this test computes on its own.
func FuzzDigestCredentials(f *testing.F) {
	file := filepath.Join(f.TempDir(), "users.htdigest")
	lines := htdigestLines("alice", "fuzz", []digestAlgorithm{digestSHA256, digestMD5}, []byte("alice-pw"))
	if err := os.WriteFile(file, []byte(strings.Join(lines, "\n")), 0o600); err != nil {
		f.Fatal(err)
	}
	h := newTestHandler(f, &ProxyAuth{Name: "fuzz-digest", Realm: "fuzz", HTDigest: []string{file},
		Schemes: []SchemeConfig{{Scheme: schemeDigest}, {Scheme: schemeBasic}}})
	h.useLogger(zap.NewNop())
	var digest scheme
	for _, s := range h.schemes {
		if s.name() == "Digest" {
			digest = s
		}
	}

	r := httptest.NewRequest(http.MethodGet, "http://example.invalid/x?y=1", nil)
	w := httptest.NewRecorder()
	_ = h.refuse(w, r, verdict{outcome: outcomeMissing}, nil)
	var ch challenge
	for _, v := range w.Header().Values("Proxy-Authenticate") {
		if rest, ok := strings.CutPrefix(v, "Digest "); ok {
			p, _ := parseChallengeParams(rest)
			ch = challenge{realm: p["realm"], nonce: p["nonce"], opaque: p["opaque"], alg: p["algorithm"]}
			break
		}
	}
	for _, mod := range []func(*digestClient){
		nil,
		func(c *digestClient) { c.ch.alg = "MD5"; c.quoteTokens = true },
		func(c *digestClient) { c.userhash = true },
		func(c *digestClient) { c.usernameStar = true },
		func(c *digestClient) { c.password = "wrong" },
		func(c *digestClient) { c.qop = "auth-int" },
		func(c *digestClient) { c.extra = `username*=UTF-8''alice` },
	} {
		c := &digestClient{user: "alice", password: "alice-pw", ch: ch}
		if mod != nil {
			mod(c)
		}
		f.Add(strings.TrimPrefix(c.authorization("GET", "/x?y=1"), "Digest "))
	}
	f.Add(`username="alice", realm="fuzz", nonce="abc", uri="/x?y=1", qop=auth, nc=00000001, cnonce="c", response="00"`)

	f.Fuzz(func(t *testing.T, params string) {
		r := httptest.NewRequest(http.MethodGet, "http://example.invalid/x?y=1", nil)
		w := httptest.NewRecorder()
		v := digest.authenticate(r, params, h.accounts.current())
		if v.outcome == outcomeAuthenticated {
			if !rightDigestAnswer(params) {
				t.Fatalf("let through with a wrong answer: %q", params)
			}
			return
		}
		var he caddyhttp.HandlerError
		if err := h.refuse(w, r, v, nil); !errors.As(err, &he) || he.StatusCode != http.StatusProxyAuthRequired && he.StatusCode != http.StatusBadRequest {
			t.Fatalf("%v: refused with %v for %q", v.outcome, err, params)
		}
	})
}

// rightDigestAnswer recomputes the response of accepted credentials for
// alice's password, as a client would.
func rightDigestAnswer(params string) bool {
	p, reason := parseDigestParams(params)
	if reason != "" {
		return false
	}
	alg := p.get(paramAlgorithm)
	if !p.has(paramAlgorithm) {
		alg = "MD5"
	}
	if _, ok := parseDigestAlgorithm(alg); !ok {
		return false
	}
	uri := p.get(paramURI)
	if uri != "/x?y=1" && !strings.EqualFold(strings.TrimSuffix(strings.SplitN(uri, "/x", 2)[0], ":80"), "http://example.invalid") {
		return false
	}
	ha1 := hexHash(alg, "alice:fuzz:alice-pw")
	ha2 := hexHash(alg, "GET:"+uri)
	want := hexHash(alg, ha1+":"+p.get(paramNonce)+":"+p.get(paramNC)+":"+p.get(paramCnonce)+":"+p.get(paramQop)+":"+ha2)
	return strings.EqualFold(want, p.get(paramResponse))
}
