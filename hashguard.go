package proxyauth

import (
	"errors"
	"runtime"
	"sync/atomic"
	"time"

	"github.com/caddyserver/caddy/v2"
)

// defaultHashWait is how long a verification waits for a free hash slot
// before the request gets 503: long enough to queue behind a few bcrypt
// hashes of Caddy's default cost, short enough that a flood of made-up
// credentials cannot pile up requests for long.
const defaultHashWait = 2 * time.Second

// errHashBusy is returned in place of a comparison when no hash slot came
// free in time.
var errHashBusy = errors.New("all password hash slots busy")

// hashGuard bounds how many slow password hashes run at once, so that a
// flood of made-up credentials cannot take every CPU from requests that are
// served from the cache of verified credentials, which never wait here.
type hashGuard struct {
	slots      atomic.Pointer[chan struct{}]
	lastWarned atomic.Int64 // unix ns of the last "slots exhausted" warning
}

// busyWarnInterval spaces out the warning that the guard is refusing
// requests, which would otherwise come once per refused request.
const busyWarnInterval = 10 * time.Second

// shouldWarn reports whether it is time for another "slots exhausted"
// warning.
func (g *hashGuard) shouldWarn() bool {
	now := time.Now().UnixNano()
	last := g.lastWarned.Load()
	return now-last >= int64(busyWarnInterval) && g.lastWarned.CompareAndSwap(last, now)
}

// defaultHashConcurrency is one hash per CPU Go may use.
func defaultHashConcurrency() int { return runtime.GOMAXPROCS(0) }

// configure sets how many hashes may run at once. Hashes running under an
// earlier size finish and release into that size's slots.
func (g *hashGuard) configure(n int) {
	if cur := g.slots.Load(); cur != nil && cap(*cur) == n {
		return
	}
	slots := make(chan struct{}, n)
	g.slots.Store(&slots)
}

// acquire takes a slot, waiting at most wait for one. It returns the slot
// set to release into, or nil if none came free.
func (g *hashGuard) acquire(wait time.Duration) chan struct{} {
	slots := *g.slots.Load()
	select {
	case slots <- struct{}{}:
		return slots
	default:
	}
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case slots <- struct{}{}:
		return slots
	case <-t.C:
		return nil
	}
}

// guardedCompare runs compare in a hash slot.
func (g *hashGuard) guardedCompare(wait time.Duration, compare func() (bool, error)) (bool, error) {
	slots := g.acquire(wait)
	if slots == nil {
		return false, errHashBusy
	}
	defer func() { <-slots }()
	return compare()
}

func (h *ProxyAuth) provisionHashGuard() {
	h.HashConcurrency = cmpOr(h.HashConcurrency, defaultHashConcurrency())
	h.HashWait = caddy.Duration(cmpOr(time.Duration(h.HashWait), defaultHashWait))
	h.state.hashes.configure(h.HashConcurrency)
}
