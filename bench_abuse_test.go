package proxyauth

// What a password-guessing flood costs the server: one wrong guess per
// iteration against a bcrypt (cost 10) account, with the failure limits off
// and on, from one address or rotating over 1024. With the limits on, the
// guesses before a limit cuts in (10 from one address, 20 for one user)
// are sent before timing starts. Run with the baseline:
//
//	go test -run '^$' -bench 'NextHandlerOnly|GuessingFlood' -benchmem -count=5 .

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
)

func BenchmarkGuessingFlood(b *testing.B) {
	off := &FailureLimit{Disabled: true}
	for _, bc := range []struct {
		name      string
		limits    func(h *ProxyAuth)
		addresses int
	}{
		{"limits-off/one-address", func(h *ProxyAuth) { h.AddressLimit, h.UserLimit = off, off }, 1},
		{"limits-on/one-address", func(*ProxyAuth) {}, 1},
		{"limits-off/1024-addresses", func(h *ProxyAuth) { h.AddressLimit, h.UserLimit = off, off }, 1024},
		{"limits-on/1024-addresses", func(*ProxyAuth) {}, 1024},
	} {
		b.Run(bc.name, func(b *testing.B) {
			h := benchHandler(b, bcrypt.DefaultCost, 0)
			// benchHandler provisions with the defaults; apply this case's
			// limits the way a reload would.
			bc.limits(h)
			h.provisionLimits()
			h.limits.logger = h.logger
			requests := make([]*http.Request, bc.addresses)
			for i := range requests {
				requests[i] = floodRequest(fmt.Sprintf("10.0.%d.%d", i>>8, i&0xff))
			}
			field := []string{basicCredentials("alice", "a-guess")}
			w := &discardWriter{header: make(http.Header)}
			i := 0
			guess := func() error {
				r := requests[i%len(requests)]
				i++
				r.Header["Proxy-Authorization"] = field
				clear(w.header)
				err := h.ServeHTTP(w, r, nopNext)
				if err == nil {
					b.Fatal("a wrong guess was let through")
				}
				return err
			}
			// The first guesses, until a limit cuts in, cost a hash each
			// either way; measure the flood that follows.
			if h.limits.address.on() {
				for range 100 {
					if strings.Contains(guess().Error(), "refused") {
						break
					}
				}
			}
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				guess()
			}
		})
	}
}

// floodRequest is an absolute-form proxy request from client address ip as
// Caddy hands it to a handler, with a replacer in its context.
func floodRequest(ip string) *http.Request {
	r, _ := http.NewRequest(http.MethodGet, "http://origin.example/page", nil)
	r.RequestURI = "http://origin.example/page"
	ctx := context.WithValue(r.Context(), caddy.ReplacerCtxKey, caddy.NewReplacer())
	ctx = context.WithValue(ctx, caddyhttp.VarsCtxKey, map[string]any{caddyhttp.ClientIPVarKey: ip})
	return r.WithContext(ctx)
}

// BenchmarkBasicCachedLimitsOff is BasicCached with the failure limits
// off: the difference is what the limits add to every authenticated
// request (a lookup of the client address and a record of where the
// user's credentials were used).
func BenchmarkBasicCachedLimitsOff(b *testing.B) {
	h := benchHandler(b, bcrypt.DefaultCost, 0)
	h.AddressLimit, h.UserLimit = &FailureLimit{Disabled: true}, &FailureLimit{Disabled: true}
	h.provisionLimits()
	runServeHTTP(b, h, basicCredentials("alice", "alice-secret"), false)
}
