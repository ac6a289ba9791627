package proxyauth

// Benchmarks of a Digest-authenticated request, to set beside
// BenchmarkNextHandlerOnly and BenchmarkBasicCached in the same run:
//
//	go test -run '^$' -bench 'NextHandlerOnly|BasicCached|Digest' -benchmem .

import (
	"io"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

func benchDigestHandler(b *testing.B, algo digestAlgorithm) *ProxyAuth {
	lines := htdigestLines("alice", "bench", []digestAlgorithm{algo}, []byte("alice-secret"))
	path := filepath.Join(b.TempDir(), "users.htdigest")
	if err := os.WriteFile(path, []byte(strings.Join(lines, "\n")), 0o600); err != nil {
		b.Fatal(err)
	}
	h := newTestHandler(b, &ProxyAuth{Realm: "bench", HTDigest: []string{path}, Schemes: digestOnly(algo.String())})
	h.useLogger(zap.New(zapcore.NewCore(zapcore.NewJSONEncoder(zap.NewProductionEncoderConfig()), zapcore.AddSync(io.Discard), zapcore.InfoLevel)))
	return h
}

// runDigest measures requests that each carry the next nonce count of one
// nonce, as a client reusing its nonce sends them. The credentials are
// computed in batches with the timer stopped: the client's hashing is not
// the proxy's cost.
func runDigest(b *testing.B, algo digestAlgorithm, limits bool) {
	h := benchDigestHandler(b, algo)
	if !limits {
		h.AddressLimit, h.UserLimit = &FailureLimit{Disabled: true}, &FailureLimit{Disabled: true}
		h.provisionLimits()
	}
	r := benchRequest()
	w := &discardWriter{header: make(http.Header)}
	if err := h.ServeHTTP(w, r, nopNext); err == nil {
		b.Fatal("no challenge")
	}
	c := digestClient{user: "alice", password: "alice-secret"}
	for _, v := range w.header.Values("Proxy-Authenticate") {
		p, _ := parseChallengeParams(strings.TrimPrefix(v, "Digest "))
		c.ch = challenge{realm: p["realm"], nonce: p["nonce"], opaque: p["opaque"], alg: p["algorithm"]}
	}

	const batch = 4096
	creds := make([][]string, batch)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if i%batch == 0 {
			b.StopTimer()
			for j := range creds {
				creds[j] = []string{c.authorization("GET", "/page")}
			}
			runtime.GC() // the client's garbage is not the proxy's either
			b.StartTimer()
		}
		r.Header["Proxy-Authorization"] = creds[i%batch]
		if err := h.ServeHTTP(w, r, nopNext); err != nil {
			b.Fatalf("request %d: %v", i, err)
		}
	}
}

// BenchmarkDigestSHA256 is a Digest request answered with SHA-256.
func BenchmarkDigestSHA256(b *testing.B) { runDigest(b, digestSHA256, true) }

// BenchmarkDigestMD5 is the same with MD5, what older clients use.
func BenchmarkDigestMD5(b *testing.B) { runDigest(b, digestMD5, true) }

// BenchmarkDigestSHA256LimitsOff is DigestSHA256 with the failure limits
// off, to set beside BasicCachedLimitsOff: the Digest check alone.
func BenchmarkDigestSHA256LimitsOff(b *testing.B) { runDigest(b, digestSHA256, false) }

// BenchmarkDigestChallenge is a client's first request when Digest is
// offered: a 407 with a fresh nonce.
func BenchmarkDigestChallenge(b *testing.B) {
	h := benchDigestHandler(b, digestSHA256)
	runServeHTTP(b, h, "", true)
}
