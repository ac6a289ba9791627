package proxyauth

// Benchmarks of one request through the handler, with a next handler that
// does nothing, so the figures are what proxy_auth adds. Run:
//
//	go test -run '^$' -bench . -benchmem

import (
	"io"
	"net/http"
	"testing"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"golang.org/x/crypto/bcrypt"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
)

// discardWriter is a ResponseWriter that keeps one header map for reuse.
type discardWriter struct{ header http.Header }

func (w *discardWriter) Header() http.Header         { return w.header }
func (w *discardWriter) Write(b []byte) (int, error) { return len(b), nil }
func (w *discardWriter) WriteHeader(int)             {}

var nopNext = caddyhttp.HandlerFunc(func(http.ResponseWriter, *http.Request) error { return nil })

// benchRequest is floodRequest from one client address.
func benchRequest() *http.Request { return floodRequest("192.0.2.1") }

func benchHandler(b *testing.B, cost int, ttl caddy.Duration) *ProxyAuth {
	hash, err := bcrypt.GenerateFromPassword([]byte("alice-secret"), cost)
	if err != nil {
		b.Fatal(err)
	}
	h := newTestHandler(b, &ProxyAuth{Accounts: []Account{{Username: "alice", Password: string(hash)}}, CacheTTL: ttl})
	// Caddy's default log level in production is INFO; outside a running
	// config its logger is at DEBUG, which would measure log writing.
	h.useLogger(zap.New(zapcore.NewCore(zapcore.NewJSONEncoder(zap.NewProductionEncoderConfig()), zapcore.AddSync(io.Discard), zapcore.InfoLevel)))
	return h
}

func runServeHTTP(b *testing.B, h caddyhttp.MiddlewareHandler, credentials string, wantErr bool) {
	r := benchRequest()
	w := &discardWriter{header: make(http.Header)}
	field := []string{credentials}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if credentials != "" {
			r.Header["Proxy-Authorization"] = field
		}
		delete(w.header, "Proxy-Authenticate")
		if err := h.ServeHTTP(w, r, nopNext); (err != nil) != wantErr {
			b.Fatalf("err = %v", err)
		}
	}
}

// BenchmarkNextHandlerOnly is the baseline: the next handler called
// directly, with the same request and writer.
func BenchmarkNextHandlerOnly(b *testing.B) {
	runServeHTTP(b, passThrough{}, basicCredentials("alice", "alice-secret"), false)
}

type passThrough struct{}

func (passThrough) ServeHTTP(w http.ResponseWriter, r *http.Request, next caddyhttp.Handler) error {
	return next.ServeHTTP(w, r)
}

// BenchmarkBasicCached is a client resending valid credentials: the
// common case, answered from the cache of verified credentials.
func BenchmarkBasicCached(b *testing.B) {
	h := benchHandler(b, bcrypt.DefaultCost, 0)
	runServeHTTP(b, h, basicCredentials("alice", "alice-secret"), false)
}

// BenchmarkBasicCacheMiss verifies a bcrypt hash of cost 10 (bcrypt's
// default) on every request, as with the cache turned off.
func BenchmarkBasicCacheMiss(b *testing.B) {
	h := benchHandler(b, bcrypt.DefaultCost, -1)
	runServeHTTP(b, h, basicCredentials("alice", "alice-secret"), false)
}

// BenchmarkNoCredentials is a client's first request: answered with a 407.
func BenchmarkNoCredentials(b *testing.B) {
	h := benchHandler(b, bcrypt.DefaultCost, 0)
	runServeHTTP(b, h, "", true)
}
