package proxyauth

import (
	"slices"
	"sync"
	"time"
)

// replaySet remembers which nonce counts (nc) each nonce has been used
// with, so that a request replayed with the same nonce and nc is refused
// (RFC 7616 §3.4, §5.4). Only nonces that passed the HMAC check and came
// with a correct response are recorded: made-up nonces are never held, and
// filling it takes valid credentials.
//
// Memory is bounded. Each nonce costs one small entry that holds the
// highest nc seen and a 64-bit window of the counts just below it, so
// requests from parallel connections sharing one nonce may arrive in any
// order as long as they are within 64 counts of each other. Entries go
// away when their nonce expires; when the set is full before that, the
// oldest nonces are dropped. Either way the shard's floor moves up to the
// issue time of what was dropped, and a nonce issued at or before the
// floor that is not in the set is answered as stale, never as fresh: a
// forgotten nonce can make a client fetch a new one but can never be
// replayed.
type replaySet struct {
	shards [replayShards]replayShard
	// perShard bounds each shard's entries; 0 means the default. Tests
	// lower it.
	perShard int
}

const (
	replayShards = 16 // spread the lock over concurrent requests
	// maxTrackedNonces bounds the entries of a handler's replay set: at
	// most 128 bytes each in Go's maps, so 8.4 MB when full. That is 218
	// new nonces a second for 5 minutes (the default nonce_lifetime), and
	// more is no failure: a full shard drops its oldest nonces, and a
	// client whose nonce is dropped gets stale=true once.
	maxTrackedNonces = 1 << 16
	replayWindow     = 64
)

type replayShard struct {
	mu        sync.Mutex
	used      map[nonceID]ncWindow
	floor     int64 // unix seconds; see replaySet
	nextSweep int64
}

// ncWindow records the nonce counts used with one nonce: the highest, and
// in bit i whether highest-i was used; and the nonce's tag, so that the
// nonce is recognised without computing its HMAC again.
type ncWindow struct {
	highest uint32
	bits    uint64
	tag     nonceTag
}

// use records that the nonce (id, tag) was used with count nc at unix time
// now, and reports whether that is new. lifetime is how long nonces are
// valid. authentic checks the tag; it is called only for a nonce the set
// does not hold yet, which it then holds only if the tag is right.
func (s *replaySet) use(id nonceID, tag nonceTag, nc uint32, now int64, lifetime time.Duration, authentic func() bool) nonceStatus {
	// The random bytes pick the shard, so clients spread evenly.
	sh := &s.shards[int(id[nonceTimeSize])%replayShards]
	sh.mu.Lock()
	defer sh.mu.Unlock()

	if now >= sh.nextSweep {
		sh.sweep(now, lifetime)
	}
	w, known := sh.used[id]
	switch {
	case known && w.tag != tag:
		return nonceUnknown // the ID of a nonce we issued, with another tag
	case !known && !authentic():
		return nonceUnknown
	case !known:
		issued := id.issued()
		if issued <= sh.floor {
			return nonceForgotten
		}
		if len(sh.used) >= s.shardLimit() {
			sh.evictOldest(now, lifetime, s.shardLimit())
			if issued <= sh.floor {
				return nonceForgotten
			}
		}
		if sh.used == nil {
			sh.used = make(map[nonceID]ncWindow)
		}
		sh.used[id] = ncWindow{highest: nc, bits: 1, tag: tag}
		return nonceFresh
	}

	switch {
	case nc > w.highest:
		if shift := nc - w.highest; shift >= replayWindow {
			w.bits = 0
		} else {
			w.bits <<= shift
		}
		w.bits |= 1
		w.highest = nc
	case w.highest-nc >= replayWindow:
		return nonceReplayed
	default:
		bit := uint64(1) << (w.highest - nc)
		if w.bits&bit != 0 {
			return nonceReplayed
		}
		w.bits |= bit
	}
	sh.used[id] = w
	return nonceFresh
}

// clear forgets every nonce, when the key changes.
func (s *replaySet) clear() {
	for i := range s.shards {
		sh := &s.shards[i]
		sh.mu.Lock()
		clear(sh.used)
		sh.mu.Unlock()
	}
}

func (s *replaySet) shardLimit() int {
	if s.perShard > 0 {
		return s.perShard
	}
	return maxTrackedNonces / replayShards
}

// len counts the entries, for tests.
func (s *replaySet) len() int {
	n := 0
	for i := range s.shards {
		sh := &s.shards[i]
		sh.mu.Lock()
		n += len(sh.used)
		sh.mu.Unlock()
	}
	return n
}

// sweep drops the entries of expired nonces: they are refused as stale
// before their counts matter. It runs a few times per lifetime.
func (sh *replayShard) sweep(now int64, lifetime time.Duration) {
	life := int64(lifetime / time.Second)
	cutoff := now - life - 1 // issued at or before: expired
	for id := range sh.used {
		if id.issued() <= cutoff {
			delete(sh.used, id)
		}
	}
	sh.floor = max(sh.floor, cutoff)
	sh.nextSweep = now + max(life/4, 1)
}

// evictOldest makes room in a full shard: first by dropping expired
// nonces, and if that freed nothing, the oldest eighth (more if many nonces
// share the boundary second).
func (sh *replayShard) evictOldest(now int64, lifetime time.Duration, limit int) {
	sh.sweep(now, lifetime)
	if len(sh.used) < limit {
		return
	}
	issued := make([]int64, 0, len(sh.used)) // not empty: limit is at least 1
	for id := range sh.used {
		issued = append(issued, id.issued())
	}
	slices.Sort(issued)
	threshold := issued[len(issued)/8]
	for id := range sh.used {
		if id.issued() <= threshold {
			delete(sh.used, id)
		}
	}
	sh.floor = max(sh.floor, threshold)
}
