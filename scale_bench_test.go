package proxyauth

// Scale benchmarks: loading, looking up and reloading htpasswd files of
// 1k, 100k and 1M bcrypt accounts (written by internal/htpasswdgen, which
// cmd/gen-htpasswd also uses). Run:
//
//	go test -run '^$' -bench 'LoadHTPasswd|Lookup|ReloadHTPasswd' -benchtime 3x .
//
// Heap figures are live heap after a GC, so they are what the accounts
// keep, not what loading them churned through.

import (
	"os"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap"
	"golang.org/x/crypto/bcrypt"

	"github.com/caddy-proxyauth/proxyauth/internal/htpasswdgen"
)

var scaleSizes = []struct {
	name string
	n    int
}{{"1k", 1_000}, {"100k", 100_000}, {"1M", 1_000_000}}

var (
	scaleHashesOnce sync.Once
	scaleHashes     []string
)

// scaleFile writes an htpasswd file of n generated accounts.
func scaleFile(b *testing.B, dir string, n int) string {
	b.Helper()
	scaleHashesOnce.Do(func() {
		var err error
		if scaleHashes, err = htpasswdgen.NewHashes(bcrypt.MinCost); err != nil {
			panic(err)
		}
	})
	path := filepath.Join(dir, "users.htpasswd")
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	if err := htpasswdgen.Write(f, n, scaleHashes); err != nil {
		b.Fatal(err)
	}
	if err := f.Close(); err != nil {
		b.Fatal(err)
	}
	return path
}

// liveHeap is the heap in use after a full GC.
func liveHeap() uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

func scaleHandler(path string) *ProxyAuth {
	return &ProxyAuth{Name: "scale", HTPasswd: []string{path}, logger: zap.NewNop()}
}

// BenchmarkLoadHTPasswd reads, parses and indexes a whole file, as a
// config load does.
func BenchmarkLoadHTPasswd(b *testing.B) {
	for _, size := range scaleSizes {
		b.Run(size.name, func(b *testing.B) {
			h := scaleHandler(scaleFile(b, b.TempDir(), size.n))
			var heap uint64
			for b.Loop() {
				b.StopTimer()
				before := liveHeap()
				b.StartTimer()
				sources, err := h.newCredentialSources()
				if err != nil {
					b.Fatal(err)
				}
				b.StopTimer()
				if n := sources.store.current().len(); n != size.n {
					b.Fatalf("%d accounts loaded, want %d", n, size.n)
				}
				heap = liveHeap() - before
				runtime.KeepAlive(sources)
				b.StartTimer()
			}
			b.ReportMetric(float64(heap)/1e6, "MB-heap")
			b.ReportMetric(float64(heap)/float64(size.n), "B/account")
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(size.n), "ns/account")
		})
	}
}

// BenchmarkLookup finds accounts by name in sets of each size.
func BenchmarkLookup(b *testing.B) {
	for _, size := range scaleSizes {
		b.Run(size.name, func(b *testing.B) {
			sources, err := scaleHandler(scaleFile(b, b.TempDir(), size.n)).newCredentialSources()
			if err != nil {
				b.Fatal(err)
			}
			set := sources.store.current()
			// Names spread over the whole set, so the map's memory is
			// touched as real traffic from many users would.
			names := make([]string, 4096)
			for i := range names {
				names[i] = htpasswdgen.UserName(int(uint64(i) * 2654435761 % uint64(size.n)))
			}
			i := 0
			for b.Loop() {
				if _, ok := set.lookup(names[i&4095]); !ok {
					b.Fatal("account not found")
				}
				i++
			}
		})
	}
}

// BenchmarkReloadHTPasswd replaces the file with a version that differs in
// one account and reloads it, as the watcher does: the old set stays in
// force while the new one is built, then is dropped. It reports the live
// heap before, at the peak of and after the reload.
func BenchmarkReloadHTPasswd(b *testing.B) {
	for _, size := range scaleSizes {
		b.Run(size.name, func(b *testing.B) {
			dir := b.TempDir()
			path := scaleFile(b, dir, size.n)
			versions := [2]string{filepath.Join(dir, "a"), filepath.Join(dir, "b")}
			if err := os.Rename(path, versions[0]); err != nil {
				b.Fatal(err)
			}
			other := scaleFile(b, dir, size.n-1)
			if err := os.Rename(other, versions[1]); err != nil {
				b.Fatal(err)
			}
			install := func(v string) {
				tmp := path + ".new"
				if err := os.Link(v, tmp); err != nil {
					b.Fatal(err)
				}
				if err := os.Rename(tmp, path); err != nil {
					b.Fatal(err)
				}
			}
			install(versions[0])
			sources, err := scaleHandler(path).newCredentialSources()
			if err != nil {
				b.Fatal(err)
			}
			var before, peak, after uint64
			i := 0
			for b.Loop() {
				b.StopTimer()
				i++
				want := size.n - i%2
				install(versions[i%2])
				before = liveHeap()
				stop := samplePeakHeap(&peak)
				b.StartTimer()
				sources.reload(false)
				b.StopTimer()
				stop()
				after = liveHeap()
				if n := sources.store.current().len(); n != want {
					b.Fatalf("%d accounts after reload, want %d", n, want)
				}
				b.StartTimer()
			}
			b.ReportMetric(float64(before)/1e6, "MB-before")
			b.ReportMetric(float64(peak)/1e6, "MB-peak")
			b.ReportMetric(float64(after)/1e6, "MB-after")
		})
	}
}

// samplePeakHeap records the largest heap of live and not yet collected
// objects seen every 100µs until the returned stop is called.
func samplePeakHeap(peak *uint64) (stop func()) {
	*peak = 0
	done := make(chan struct{})
	finished := make(chan struct{})
	sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	go func() {
		defer close(finished)
		for {
			metrics.Read(sample)
			*peak = max(*peak, sample[0].Value.Uint64())
			select {
			case <-done:
				return
			case <-time.After(100 * time.Microsecond):
			}
		}
	}()
	return func() { close(done); <-finished }
}
