package proxyauth

import (
	"crypto/rand"
	"crypto/sha256"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"
)

// verifiedCache remembers credentials that passed a slow password hash, for
// a time, so that clients resending them on every request are answered in
// microseconds. It never holds a password: entries are keyed by a SHA-256 of
// a random secret, the user name and the password; the secret exists only in
// memory, and the keys are never shown to anyone, so a secret prefix is as
// good as an HMAC here and half the cost. Each entry
// records the hash it was verified against, so an entry stops counting the
// moment its account's hash changes or the account goes away.
type verifiedCache struct {
	secret  [32]byte
	flights singleflight.Group

	mu      sync.RWMutex
	ttl     time.Duration // negative: caching disabled
	size    int
	entries map[cacheKey]cacheEntry
}

type cacheKey [sha256.Size]byte

type cacheEntry struct {
	hash    string // the account hash the credentials were verified against
	expires int64  // unix nanoseconds
}

func newVerifiedCache() (*verifiedCache, error) {
	c := &verifiedCache{entries: make(map[cacheKey]cacheEntry), ttl: defaultCacheTTL, size: defaultCacheSize}
	if _, err := rand.Read(c.secret[:]); err != nil {
		return nil, err
	}
	return c, nil
}

// configure applies a (possibly reloaded) config's limits.
func (c *verifiedCache) configure(ttl time.Duration, size int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.ttl, c.size = ttl, size
	if ttl < 0 || size == 0 {
		clear(c.entries)
	}
	for len(c.entries) > c.size {
		c.evictLocked(time.Now().UnixNano())
	}
}

// key derives the cache key of a user name and password. User names have
// no control characters, so a NUL separates the two unambiguously.
func (c *verifiedCache) key(user string, password []byte) cacheKey {
	var buf [256]byte // most credentials fit: no allocation
	msg := append(buf[:0], c.secret[:]...)
	msg = append(msg, user...)
	msg = append(msg, 0)
	msg = append(msg, password...)
	return sha256.Sum256(msg)
}

// verified reports whether k was verified against accountHash and has not
// expired.
func (c *verifiedCache) verified(k cacheKey, accountHash string) bool {
	c.mu.RLock()
	e, ok := c.entries[k]
	c.mu.RUnlock()
	return ok && e.hash == accountHash && time.Now().UnixNano() < e.expires
}

// add remembers that k was verified against accountHash.
func (c *verifiedCache) add(k cacheKey, accountHash string) {
	now := time.Now().UnixNano()
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ttl < 0 || c.size == 0 {
		return
	}
	if _, present := c.entries[k]; !present && len(c.entries) >= c.size {
		c.evictLocked(now)
	}
	// A copy: the hash is a substring of its whole credential file, which
	// the entry must not keep alive after a reload replaces the file.
	c.entries[k] = cacheEntry{hash: strings.Clone(accountHash), expires: now + int64(c.ttl)}
}

// evictLocked makes room: it drops expired entries and, if none had
// expired, about a tenth of the rest (map order is arbitrary enough that
// this is not a pattern an attacker can aim at).
func (c *verifiedCache) evictLocked(now int64) {
	before := len(c.entries)
	for k, e := range c.entries {
		if now >= e.expires {
			delete(c.entries, k)
		}
	}
	if len(c.entries) < before {
		return
	}
	drop := max(len(c.entries)/10, 1)
	for k := range c.entries {
		if drop == 0 {
			break
		}
		delete(c.entries, k)
		drop--
	}
}

func (c *verifiedCache) len() int {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return len(c.entries)
}

// once runs verify, sharing one run among concurrent callers that present
// the same credentials against the same hash, so a burst of parallel
// requests costs one slow hash.
func (c *verifiedCache) once(k cacheKey, accountHash string, verify func() (bool, error)) (bool, error) {
	v, err, _ := c.flights.Do(string(k[:])+accountHash, func() (any, error) {
		return verify()
	})
	ok, _ := v.(bool)
	return ok, err
}
