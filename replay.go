package proxyauth

import (
	"slices"
	"sync"
	"time"
)

// replaySet remembers which nonce counts (nc) each nonce has been used
// with, so that a request replayed with the same nonce and nc is refused
// (RFC 7616 §3.4, §5.4). Only nonces that passed the HMAC check and came
// with a correct response are recorded: made-up nonces never reach it, and
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
	// maxTrackedNonces bounds the entries of a handler's replay set: about
	// 50 bytes each, so some 13 MB when full.
	maxTrackedNonces = 1 << 18
	replayWindow     = 64
)

type replayShard struct {
	mu        sync.Mutex
	used      map[nonceID]ncWindow
	floor     int64 // unix seconds; see replaySet
	nextSweep int64
}

// ncWindow records the nonce counts used with one nonce: the highest, and
// in bit i whether highest-i was used.
type ncWindow struct {
	highest uint32
	bits    uint64
}

// useResult is what recording one use of a nonce found.
type useResult uint8

const (
	useFresh     useResult = iota
	useReplayed            // this nc was used before (or is too old to tell)
	useUntracked           // the nonce is older than what the set remembers
)

// use records that the nonce id was used with count nc at unix time now,
// and reports whether that is new. lifetime is how long nonces are valid.
func (s *replaySet) use(id nonceID, nc uint32, now int64, lifetime time.Duration) useResult {
	// The random bytes pick the shard, so clients spread evenly.
	sh := &s.shards[int(id[nonceTimeSize])%replayShards]
	sh.mu.Lock()
	defer sh.mu.Unlock()

	if now >= sh.nextSweep {
		sh.sweep(now, lifetime)
	}
	w, known := sh.used[id]
	if !known {
		issued := id.issued()
		if issued <= sh.floor {
			return useUntracked
		}
		if len(sh.used) >= s.shardLimit() {
			sh.evictOldest(now, lifetime, s.shardLimit())
			if issued <= sh.floor {
				return useUntracked
			}
		}
		if sh.used == nil {
			sh.used = make(map[nonceID]ncWindow)
		}
		sh.used[id] = ncWindow{highest: nc, bits: 1}
		return useFresh
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
		return useReplayed
	default:
		bit := uint64(1) << (w.highest - nc)
		if w.bits&bit != 0 {
			return useReplayed
		}
		w.bits |= bit
	}
	sh.used[id] = w
	return useFresh
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
	issued := make([]int64, 0, len(sh.used))
	for id := range sh.used {
		issued = append(issued, id.issued())
	}
	if len(issued) == 0 {
		return
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
