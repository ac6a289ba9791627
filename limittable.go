package proxyauth

import (
	"container/list"
	"sync"
)

// tableShards is how many independently locked parts a boundedTable has,
// so that concurrent requests rarely wait on each other's lock.
const tableShards = 16

// minLimitTableSize is the smallest table size: every shard must be able to
// hold at least one entry, or the keys that fall into it would go untracked.
const minLimitTableSize = tableShards

// boundedTable maps 64-bit keys to values and never holds more than a fixed
// number of entries: adding to a full table evicts the entry that was used
// least recently. The keys are seeded hashes of client-controlled strings
// (addresses, user names), so an entry's size does not depend on what the
// client sent, and a client cannot aim two names at one entry.
//
// Looking an entry up counts as using it, so an attacker who keeps sending
// from a locked address keeps its entry, and its lock, alive while a flood
// of new addresses pushes out only the quiet ones.
type boundedTable[V any] struct {
	shards [tableShards]tableShard[V]
}

type tableShard[V any] struct {
	mu      sync.Mutex
	limit   int
	entries map[uint64]*list.Element // each holds a *tableEntry[V]
	order   list.List                // front: most recently used
}

type tableEntry[V any] struct {
	key   uint64
	value V
}

func newBoundedTable[V any](size int) *boundedTable[V] {
	t := new(boundedTable[V])
	for i := range t.shards {
		t.shards[i].entries = make(map[uint64]*list.Element)
	}
	t.resize(size)
	return t
}

// resize sets the most entries the table holds, evicting the least recently
// used ones if it holds more. size is at least minLimitTableSize.
func (t *boundedTable[V]) resize(size int) {
	for i := range t.shards {
		s := &t.shards[i]
		s.mu.Lock()
		// Spread size over the shards so that they add up to it exactly.
		s.limit = size / tableShards
		if i < size%tableShards {
			s.limit++
		}
		for len(s.entries) > s.limit {
			s.evictOldest()
		}
		s.mu.Unlock()
	}
}

// do runs f on the value stored under key, under the shard's lock, and
// reports whether there was one. If there was none and create is true, a
// zero value is added first (evicting if the shard is full) and f runs on
// it; otherwise f does not run. f must not keep the pointer.
func (t *boundedTable[V]) do(key uint64, create bool, f func(v *V)) bool {
	s := &t.shards[key%tableShards]
	s.mu.Lock()
	defer s.mu.Unlock()
	if el, ok := s.entries[key]; ok {
		s.order.MoveToFront(el)
		f(&el.Value.(*tableEntry[V]).value)
		return true
	}
	if !create {
		return false
	}
	if len(s.entries) >= s.limit {
		s.evictOldest()
	}
	e := &tableEntry[V]{key: key}
	s.entries[key] = s.order.PushFront(e)
	f(&e.value)
	return false
}

func (s *tableShard[V]) evictOldest() {
	el := s.order.Back()
	if el == nil {
		return
	}
	s.order.Remove(el)
	delete(s.entries, el.Value.(*tableEntry[V]).key)
}

// len is how many entries the table holds.
func (t *boundedTable[V]) len() int {
	n := 0
	for i := range t.shards {
		s := &t.shards[i]
		s.mu.Lock()
		n += len(s.entries)
		s.mu.Unlock()
	}
	return n
}

// failureLog is what the table of failures holds for one client address or
// user name: the times of its most recent failures and, once they were too
// many, until when it is refused.
type failureLog struct {
	times       []int64 // ring of the last n failure times (unix ns); the oldest at next
	next        int
	lockedUntil int64
}

// add records a failure at now and reports whether the last n failures,
// this one included, all fell within window: the sliding-window count that
// starts a lockout.
func (f *failureLog) add(now int64, n int, window int64) bool {
	if len(f.times) != n {
		f.resize(n)
	}
	f.times[f.next] = now
	f.next = (f.next + 1) % n
	oldest := f.times[f.next] // zero until n failures were recorded
	return oldest != 0 && now-oldest < window
}

// resize keeps the most recent failures when the configured count changes
// across a reload.
func (f *failureLog) resize(n int) {
	kept := make([]int64, 0, len(f.times))
	for i := range f.times {
		if t := f.times[(f.next+i)%len(f.times)]; t != 0 {
			kept = append(kept, t)
		}
	}
	if len(kept) > n {
		kept = kept[len(kept)-n:]
	}
	f.times = make([]int64, n)
	copy(f.times, kept)
	f.next = len(kept) % n
}

// addressBook is what the table of users holds for one account: the client
// addresses its credentials were recently accepted from, each with when it
// was last seen. It exists only for accounts whose credentials were valid,
// so clients without them cannot fill the table.
type addressBook struct {
	seen []addressSeen
}

type addressSeen struct {
	addr uint64
	at   int64
}

// lastSeen reports when addr was last seen, or 0.
func (b *addressBook) lastSeen(addr uint64) int64 {
	for _, s := range b.seen {
		if s.addr == addr {
			return s.at
		}
	}
	return 0
}

// distinctSince counts the addresses other than addr seen at or after since.
func (b *addressBook) distinctSince(since int64, addr uint64) int {
	n := 0
	for _, s := range b.seen {
		if s.addr != addr && s.at >= since {
			n++
		}
	}
	return n
}

// touch records that addr was seen at now, keeping at most keep addresses
// (the most recently seen ones).
func (b *addressBook) touch(addr uint64, now int64, keep int) {
	for i := range b.seen {
		if b.seen[i].addr == addr {
			b.seen[i].at = now
			return
		}
	}
	if len(b.seen) < keep {
		b.seen = append(b.seen, addressSeen{addr: addr, at: now})
		return
	}
	oldest := 0
	for i := range b.seen {
		if b.seen[i].at < b.seen[oldest].at {
			oldest = i
		}
	}
	b.seen[oldest] = addressSeen{addr: addr, at: now}
}
