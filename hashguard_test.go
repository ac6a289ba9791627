package proxyauth

import (
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp/caddyauth"
)

// gatedComparer holds every comparison until released and records how
// many ran at once.
type gatedComparer struct {
	caddyauth.Comparer
	release  chan struct{}
	running  atomic.Int64
	peak     atomic.Int64
	started  atomic.Int64
	finished atomic.Int64
}

func (c *gatedComparer) Compare(hashed, plaintext []byte) (bool, error) {
	n := c.running.Add(1)
	for p := c.peak.Load(); n > p && !c.peak.CompareAndSwap(p, n); p = c.peak.Load() {
	}
	c.started.Add(1)
	<-c.release
	defer func() { c.running.Add(-1); c.finished.Add(1) }()
	return c.Comparer.Compare(hashed, plaintext)
}

// gateBcrypt replaces the bcrypt comparer for the rest of the test.
func gateBcrypt(t *testing.T) *gatedComparer {
	c := &gatedComparer{Comparer: hashComparers[hashBcrypt], release: make(chan struct{})}
	saved := hashComparers[hashBcrypt]
	hashComparers[hashBcrypt] = c
	t.Cleanup(func() { hashComparers[hashBcrypt] = saved })
	return c
}

// TestCPUGuardBoundsHashesAndSparesTheCache: a burst of distinct bad
// credentials runs at most hash_concurrency hashes, the rest get 503 once
// hash_wait is over, and credentials in the cache keep working throughout.
func TestCPUGuardBoundsHashesAndSparesTheCache(t *testing.T) {
	h := limitsTestHandler(t, &ProxyAuth{
		HashConcurrency: 2,
		HashWait:        caddy.Duration(50 * time.Millisecond),
		AddressLimit:    &FailureLimit{Disabled: true},
		UserLimit:       &FailureLimit{Disabled: true},
	})
	alice := basicCredentials("alice", "alice-pw")
	if ex := serveFrom(h, "192.0.2.1", alice); !ex.nextCalled {
		t.Fatal("alice's first login failed")
	}
	gate := gateBcrypt(t)

	const burst = 12
	results := make(chan exchange, burst)
	for i := range burst {
		go func() {
			results <- serveFrom(h, fmt.Sprintf("192.0.2.%d", 10+i), basicCredentials("alice", fmt.Sprint("guess", i)))
		}()
	}
	// Two hashes hold the slots (they cannot finish until released); every
	// other attempt of the burst must give up with 503.
	busy := 0
	for range burst - 2 {
		ex := <-results
		if ex.status != http.StatusServiceUnavailable || ex.header.Get("Retry-After") != "1" {
			t.Fatalf("burst attempt beyond the slots: %d Retry-After %q, want 503 1", ex.status, ex.header.Get("Retry-After"))
		}
		busy++
	}
	waitFor(t, "the two slot holders to start hashing", func() bool { return gate.started.Load() == 2 })
	// Meanwhile cached credentials are served without a slot.
	for i := range 20 {
		if ex := serveFrom(h, "192.0.2.1", alice); !ex.nextCalled {
			t.Fatalf("cached request %d while the slots are taken: %d", i, ex.status)
		}
	}
	// bob's first login needs a hash: busy too.
	if ex := serveFrom(h, "192.0.2.2", basicCredentials("bob", "bob-pw")); ex.status != http.StatusServiceUnavailable {
		t.Errorf("uncached valid login with the slots taken: %d, want 503", ex.status)
	}
	close(gate.release)
	for range 2 {
		if ex := <-results; ex.status != http.StatusProxyAuthRequired {
			t.Errorf("a verified wrong guess: %d, want 407", ex.status)
		}
	}
	if ex := serveFrom(h, "192.0.2.2", basicCredentials("bob", "bob-pw")); !ex.nextCalled {
		t.Errorf("bob once the slots are free: %d", ex.status)
	}
	if p := gate.peak.Load(); p > 2 {
		t.Errorf("%d hashes ran at once, limit 2", p)
	}
}

func TestCPUGuardQueuesWithinTheWait(t *testing.T) {
	h := limitsTestHandler(t, &ProxyAuth{HashConcurrency: 1, HashWait: caddy.Duration(time.Minute), CacheTTL: -1})
	gate := gateBcrypt(t)
	var wg sync.WaitGroup
	statuses := make([]int, 4)
	for i := range statuses {
		wg.Add(1)
		go func() {
			defer wg.Done()
			statuses[i] = serveFrom(h, "192.0.2.3", basicCredentials("bob", fmt.Sprint("guess", i))).status
		}()
	}
	waitFor(t, "the first hash", func() bool { return gate.started.Load() == 1 })
	close(gate.release)
	wg.Wait()
	for i, s := range statuses {
		if s != http.StatusProxyAuthRequired {
			t.Errorf("request %d queued for the slot: %d, want 407 (verified)", i, s)
		}
	}
	if p, n := gate.peak.Load(), gate.finished.Load(); p != 1 || n != 4 {
		t.Errorf("%d hashes, peak %d at once; want 4, 1", n, p)
	}
}

func TestHashGuardResizesOnReload(t *testing.T) {
	var g hashGuard
	g.configure(1)
	held := g.acquire(0)
	if held == nil || g.acquire(0) != nil {
		t.Fatal("one slot: first acquire failed or second succeeded")
	}
	g.configure(2)
	a, b := g.acquire(0), g.acquire(0)
	if a == nil || b == nil || g.acquire(0) != nil {
		t.Fatal("after resizing to 2: wrong number of slots")
	}
	<-held // releasing into the old set must not block or free a new slot
	if g.acquire(0) != nil {
		t.Error("releasing an old slot freed a new one")
	}
}
