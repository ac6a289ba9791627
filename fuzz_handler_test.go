package proxyauth

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"go.uber.org/zap"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
)

// fuzzPasswords are the accounts of the fuzzed handlers, in plaintext.
// {SHA} hashes keep each iteration fast; the path through the handler is
// the same for every hash format.
var fuzzPasswords = map[string]string{"alice": "alice-pw", "jürgen": "pä:ss"}

// fuzzSHA1 holds precomputed {SHA} hashes of fuzzPasswords.
var fuzzSHA1 = map[string]string{
	"alice":  "{SHA}" + "g2YDYHBhl9R/ddqtGep+ipAO4aU=",
	"jürgen": "{SHA}" + "bGkQtTTkOUsshX+8+f+zizTHrUw=",
}

func fuzzHandler(t testing.TB, name string, h *ProxyAuth) *ProxyAuth {
	h.Name = name
	for user := range fuzzPasswords {
		h.Accounts = append(h.Accounts, Account{Username: user, Password: fuzzSHA1[user]})
	}
	h = newTestHandler(t, h)
	// Log lines would cost more than the handler.
	h.useLogger(zap.NewNop())
	h.limits.logger = h.logger
	return h
}

// validFuzzCredentials reports whether fields are exactly one
// Proxy-Authorization field with the right Basic credentials.
func validFuzzCredentials(fields []string) bool {
	if len(fields) != 1 || len(fields[0]) > maxCredentialsLength {
		return false
	}
	name, token, ok := splitAuthScheme(fields[0])
	if !ok || !strings.EqualFold(name, "Basic") {
		return false
	}
	user, password, reason := parseBasicCredentials(token)
	want, known := fuzzPasswords[user]
	return reason == "" && known && string(password) == want
}

// FuzzProxyAuthorization sends arbitrary Proxy-Authorization fields, from
// arbitrary client addresses, for arbitrary targets, through the whole
// handler: once plain, once with every limit on and probe resistance.
// Nothing may panic; only the right credentials are passed on as a proxy
// request; the next handler never sees Proxy-Authorization; a refused
// request under probe resistance reaches the next handler only as a
// request for the site itself; every refusal is one of the documented
// statuses.
func FuzzProxyAuthorization(f *testing.F) {
	seeds := []string{
		basicCredentials("alice", "alice-pw"),
		basicCredentials("alice", "wrong"),
		basicCredentials("jürgen", "pä:ss"),
		"basic " + strings.TrimPrefix(basicCredentials("alice", "alice-pw"), "Basic "),
		"Basic", "Basic ", "Basic !!!", "Basic YWxpY2U=", "Bearer x", "Digest username=\"alice\", nc=00000001",
		"Basic " + strings.Repeat("QUFB", 3000), "\x00\xff", "Basic\t\tYWxpY2U6YWxpY2UtcHc=",
	}
	for i, s := range seeds {
		f.Add(byte(i), i%3 == 0, "origin.example:443", s, "")
	}
	f.Add(byte(7), false, "secret.test", basicCredentials("alice", "alice-pw"), "")
	f.Add(byte(8), false, "site.test", "", "")
	f.Add(byte(9), false, "origin.example", basicCredentials("alice", "alice-pw"), basicCredentials("alice", "alice-pw"))

	plain := fuzzHandler(f, "fuzz-plain", &ProxyAuth{AddressLimit: &FailureLimit{Disabled: true}, UserLimit: &FailureLimit{Disabled: true}})
	guarded := fuzzHandler(f, "fuzz-guarded", &ProxyAuth{
		AddressLimit:    &FailureLimit{Failures: 3, Window: caddy.Duration(60e9)},
		UserLimit:       &FailureLimit{Failures: 5, Window: caddy.Duration(60e9)},
		LimitTableSize:  minLimitTableSize,
		MaxIPsPerUser:   2,
		Hosts:           []string{"site.test"},
		ProbeResistance: &ProbeResistance{SecretHost: "secret.test"},
	})

	f.Fuzz(func(t *testing.T, ip byte, connect bool, host, first, second string) {
		fields := []string{first}
		if second != "" {
			fields = append(fields, second)
		}
		if first == "" && second == "" {
			fields = nil
		}
		valid := validFuzzCredentials(fields)
		for _, h := range []*ProxyAuth{plain, guarded} {
			r := fuzzRequest(connect, host, fmt.Sprintf("198.51.100.%d", ip), fields)
			wasConnect, wasHost := r.Method == http.MethodConnect, r.Host
			var seen *http.Request
			err := h.ServeHTTP(&discardWriter{header: make(http.Header)}, r, caddyhttp.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) error {
				seen = r
				return nil
			}))
			if seen != nil && seen.Header[proxyAuthorization] != nil {
				t.Fatalf("%s: the next handler saw Proxy-Authorization", h.Name)
			}
			disguised := seen != nil && (seen.Method != http.MethodConnect && seen.URL.Host == "" && seen.URL.Scheme == "" && seen.Host == "site.test")
			switch {
			case h == plain && seen != nil && !valid:
				t.Fatalf("plain: %q passed on without valid credentials", fields)
			case h == plain && seen == nil && valid:
				t.Fatalf("plain: valid credentials refused: %v", err)
			case h == guarded && seen != nil && !valid && !disguised:
				t.Fatalf("guarded: refused request reached next as %s %s Host %q", seen.Method, seen.URL, seen.Host)
			case h == guarded && seen != nil && wasConnect && !valid:
				t.Fatal("guarded: an unauthenticated CONNECT reached next")
			}
			if err != nil {
				var he caddyhttp.HandlerError
				if !errors.As(err, &he) {
					t.Fatalf("%s: error is not a Caddy handler error: %v", h.Name, err)
				}
				allowed := map[int]bool{http.StatusProxyAuthRequired: true}
				if h == guarded {
					allowed = map[int]bool{407: true, 429: true, 503: true, 403: true, 404: wasConnect && hostIs(wasHost, "secret.test")}
				}
				if !allowed[he.StatusCode] {
					t.Fatalf("%s: status %d for %q", h.Name, he.StatusCode, fields)
				}
			}
		}
	})
}

// fuzzRequest is a request as Caddy hands it to a handler: CONNECT
// host or GET http://host/p, with a client address and a replacer.
func fuzzRequest(connect bool, host, ip string, fields []string) *http.Request {
	r := &http.Request{Method: http.MethodGet, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1, Header: make(http.Header), Host: host}
	if connect {
		r.Method = http.MethodConnect
		r.URL = &url.URL{Host: host}
		r.RequestURI = host
	} else {
		r.URL = &url.URL{Scheme: "http", Host: host, Path: "/p"}
		r.RequestURI = "http://" + host + "/p"
	}
	if fields != nil {
		r.Header[proxyAuthorization] = fields
	}
	ctx := context.WithValue(context.Background(), caddy.ReplacerCtxKey, caddy.NewReplacer())
	ctx = context.WithValue(ctx, caddyhttp.VarsCtxKey, map[string]any{caddyhttp.ClientIPVarKey: ip})
	return r.WithContext(ctx)
}

// hostIs reports whether a Host value names name, as Caddy's host matcher
// compares them: without port or brackets, in any case.
func hostIs(host, name string) bool {
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	return strings.EqualFold(strings.TrimSuffix(strings.TrimPrefix(host, "["), "]"), name)
}
