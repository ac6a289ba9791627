package proxyauth

import (
	"encoding/json"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp/caddyauth"
)

// newTestHandler provisions a handler outside any server, as Caddy would,
// with Caddy storage in a temporary directory.
func newTestHandler(t testing.TB, h *ProxyAuth) *ProxyAuth {
	t.Helper()
	if h.Name == "" {
		h.Name = t.Name() // keep tests' states apart
	}
	ctx := testContext(t, t.TempDir())
	if err := h.Provision(ctx); err != nil {
		t.Fatal(err)
	}
	if err := h.Validate(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = h.Cleanup() })
	return h
}

// testContext is a Caddy context like a running config's, whose storage
// is a file_system storage at dir.
func testContext(t testing.TB, dir string) caddy.Context {
	t.Helper()
	storage, _ := json.Marshal(map[string]string{"module": "file_system", "root": dir})
	base, err := caddy.ProvisionContext(&caddy.Config{StorageRaw: storage})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := caddy.NewContext(base)
	t.Cleanup(cancel)
	return ctx
}

// countingComparer counts how often each hash is compared, and can hold
// every comparison until released.
type countingComparer struct {
	caddyauth.Comparer
	calls   atomic.Int64
	mu      sync.Mutex
	hashes  map[string]int
	release chan struct{}
}

func (c *countingComparer) Compare(hashed, plaintext []byte) (bool, error) {
	c.calls.Add(1)
	c.mu.Lock()
	c.hashes[string(hashed)]++
	c.mu.Unlock()
	if c.release != nil {
		<-c.release
	}
	return c.Comparer.Compare(hashed, plaintext)
}

// countBcrypt replaces the bcrypt comparer for the rest of the test.
func countBcrypt(t *testing.T) *countingComparer {
	c := &countingComparer{Comparer: hashComparers[hashBcrypt], hashes: make(map[string]int)}
	saved := hashComparers[hashBcrypt]
	hashComparers[hashBcrypt] = c
	t.Cleanup(func() { hashComparers[hashBcrypt] = saved })
	return c
}

func TestCacheSkipsTheSlowHash(t *testing.T) {
	counter := countBcrypt(t)
	h := newTestHandler(t, &ProxyAuth{Accounts: []Account{{Username: "alice", Password: bcryptHash(t, "pw")}}})
	set := h.accounts.current()

	for i := range 5 {
		if got := h.verifyPassword("alice", []byte("pw"), set); got != outcomeAuthenticated {
			t.Fatalf("attempt %d: %v", i, got)
		}
	}
	if n := counter.calls.Load(); n != 1 {
		t.Errorf("%d bcrypt comparisons for 5 logins, want 1", n)
	}
	// A wrong password is never served from the cache.
	for range 2 {
		if got := h.verifyPassword("alice", []byte("PW"), set); got != outcomeWrongPassword {
			t.Fatalf("wrong password: %v", got)
		}
	}
	if n := counter.calls.Load(); n != 3 {
		t.Errorf("%d comparisons after two wrong passwords, want 3", n)
	}
	if n := h.state.cache.len(); n != 1 {
		t.Errorf("cache holds %d entries, want 1", n)
	}
}

func TestCacheStopsCountingWhenTheAccountChanges(t *testing.T) {
	h := newTestHandler(t, &ProxyAuth{Accounts: []Account{{Username: "alice", Password: bcryptHash(t, "old")}}})
	before := h.accounts.current()
	if got := h.verifyPassword("alice", []byte("old"), before); got != outcomeAuthenticated {
		t.Fatal(got)
	}

	changed := buildSet(t, map[string]string{"alice": bcryptHash(t, "new")})
	if got := h.verifyPassword("alice", []byte("old"), changed); got != outcomeWrongPassword {
		t.Errorf("old password after the change: %v", got)
	}
	removed := buildSet(t, map[string]string{"bob": bcryptHash(t, "old")})
	if got := h.verifyPassword("alice", []byte("old"), removed); got != outcomeUnknownUser {
		t.Errorf("removed user: %v", got)
	}
}

func TestCacheExpiresAndStaysBounded(t *testing.T) {
	h := newTestHandler(t, &ProxyAuth{Accounts: []Account{{Username: "alice", Password: bcryptHash(t, "pw")}}, CacheSize: 50})
	c := h.state.cache
	k := c.key("alice", []byte("pw"))
	c.add(k, "hash")
	if !c.verified(k, "hash") || c.verified(k, "other hash") {
		t.Fatal("entry not found under its hash, or found under another")
	}
	c.mu.Lock()
	c.entries[k] = cacheEntry{hash: "hash", expires: 1} // long ago
	c.mu.Unlock()
	if c.verified(k, "hash") {
		t.Error("expired entry still counts")
	}

	for i := range 500 {
		c.add(c.key(fmt.Sprint("user", i), []byte("pw")), "hash")
		if n := c.len(); n > 50 {
			t.Fatalf("cache grew to %d entries, limit 50", n)
		}
	}
	if c.key("alice", []byte("pw")) == c.key("alice", []byte("pw2")) || c.key("a", []byte("bc")) == c.key("ab", []byte("c")) {
		t.Error("different credentials share a cache key")
	}
}

func TestCacheOff(t *testing.T) {
	counter := countBcrypt(t)
	h := newTestHandler(t, &ProxyAuth{Accounts: []Account{{Username: "alice", Password: bcryptHash(t, "pw")}}, CacheTTL: -1})
	for range 3 {
		if got := h.verifyPassword("alice", []byte("pw"), h.accounts.current()); got != outcomeAuthenticated {
			t.Fatal(got)
		}
	}
	if n := counter.calls.Load(); n != 3 || h.state.cache.len() != 0 {
		t.Errorf("cache off: %d comparisons, %d entries; want 3, 0", n, h.state.cache.len())
	}
}

// TestNegativeCacheSizeIsRefusedAtProvisioning: a negative size from JSON
// is an error from Provision itself. Checked in Validate, which Caddy runs
// after Provision, it came too late: configuring the shared cache to it
// never finished evicting.
func TestNegativeCacheSizeIsRefusedAtProvisioning(t *testing.T) {
	done := make(chan error, 1)
	go func() {
		done <- provisionError(t, &ProxyAuth{Accounts: []Account{{Username: "alice", Password: bcryptHash(t, "pw")}}, CacheSize: -1})
	}()
	select {
	case err := <-done:
		if err == nil || err.Error() != "cache_size must not be negative, got -1" {
			t.Errorf("provisioning with cache_size -1: error %v", err)
		}
	case <-time.After(time.Minute):
		t.Fatal("provisioning with cache_size -1 did not return")
	}
}

func TestConcurrentVerificationsAreCoalesced(t *testing.T) {
	counter := countBcrypt(t)
	counter.release = make(chan struct{})
	h := newTestHandler(t, &ProxyAuth{Accounts: []Account{{Username: "alice", Password: bcryptHash(t, "pw")}}})
	set := h.accounts.current()

	const n = 20
	results := make(chan outcome, n)
	for range n {
		go func() { results <- h.verifyPassword("alice", []byte("pw"), set) }()
	}
	// Let the first comparison start, give the rest time to join it, then
	// release it; any goroutine that did not join would compare again.
	waitFor(t, "first comparison", func() bool { return counter.calls.Load() == 1 })
	close(counter.release)
	for range n {
		if got := <-results; got != outcomeAuthenticated {
			t.Errorf("got %v", got)
		}
	}
	if c := counter.calls.Load(); c < 1 || c > 2 {
		// Two is possible when a goroutine starts after the first
		// comparison finished but before its result was cached.
		t.Errorf("%d comparisons for %d concurrent identical logins", c, n)
	}
}

func TestUnknownUserCostsAComparison(t *testing.T) {
	counter := countBcrypt(t)
	aliceHash := bcryptHash(t, "pw")
	h := newTestHandler(t, &ProxyAuth{Accounts: []Account{{Username: "alice", Password: aliceHash}}})
	if got := h.verifyPassword("mallory", []byte("pw"), h.accounts.current()); got != outcomeUnknownUser {
		t.Fatalf("unknown user with the decoy's own password: %v", got)
	}
	if counter.hashes[aliceHash] != 1 {
		t.Errorf("unknown user was compared against %v, want one bcrypt comparison like a real user", counter.hashes)
	}
	if h.state.cache.len() != 0 {
		t.Error("an unknown user's attempt was cached")
	}
}

func TestStateOutlivesAReload(t *testing.T) {
	accounts := []Account{{Username: "alice", Password: bcryptHash(t, "pw")}}
	first := newTestHandler(t, &ProxyAuth{Name: "shared", Accounts: accounts})
	first.verifyPassword("alice", []byte("pw"), first.accounts.current())

	// Caddy provisions the new config before cleaning up the old one.
	second := newTestHandler(t, &ProxyAuth{Name: "shared", Accounts: accounts})
	firstState := first.state
	if err := first.Cleanup(); err != nil {
		t.Fatal(err)
	}
	if second.state != firstState || second.state.cache.len() != 1 {
		t.Error("the reloaded handler did not inherit the cache")
	}
	// The old config's servers may still be finishing requests after its
	// cleanup: the old handler must go on working, not panic.
	if got := first.verifyPassword("alice", []byte("pw"), first.accounts.current()); got != outcomeAuthenticated {
		t.Errorf("old handler after Cleanup: %v", got)
	}
	if err := first.Cleanup(); err != nil {
		t.Errorf("second Cleanup: %v", err)
	}
	if refs, ok := states.References("shared"); !ok || refs != 1 {
		t.Errorf("after two Cleanups of the old handler the state has %d references, want the new handler's 1", refs)
	}
}

func buildSet(t *testing.T, accounts map[string]string) *accountSet {
	t.Helper()
	b := newAccountSetBuilder()
	src := b.source("test")
	line := 0
	for user, hash := range accounts {
		line++
		must(t, b.addPassword(user, hash, src, line))
	}
	return b.finish()
}
