package proxyauth

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/caddyserver/certmagic"
)

func testNonceState(t *testing.T) *nonceState {
	t.Helper()
	n := newNonceState()
	var key [nonceKeySize]byte
	rand.Read(key[:])
	n.setKey(key)
	return n
}

func TestNonceUse(t *testing.T) {
	n := testNonceState(t)
	now := time.Unix(1_800_000_000, 0)
	n.now = func() time.Time { return now }
	nonce := n.issue()
	if len(nonce) != nonceTextSize || strings.ContainsAny(nonce, `"\,= `) {
		t.Fatalf("nonce %q", nonce)
	}
	if n.issue() == nonce {
		t.Fatal("two nonces alike")
	}
	id, status := n.use(nonce, 1, now.Unix(), time.Minute)
	if status != nonceFresh || id.issued() != now.Unix() {
		t.Fatalf("fresh nonce: %v, issued %d", status, id.issued())
	}

	nc := uint32(1)
	for _, tc := range []struct {
		name  string
		nonce string
		at    time.Duration
		want  nonceStatus
	}{
		{"at the end of its lifetime", nonce, time.Minute, nonceFresh},
		{"a second later", nonce, time.Minute + time.Second, nonceExpired},
		{"issued within the allowed clock skew", nonce, -maxNonceClockSkew, nonceFresh},
		{"issued beyond the allowed clock skew", nonce, -maxNonceClockSkew - time.Second, nonceExpired},
		{"truncated", nonce[:len(nonce)-1], 0, nonceUnknown},
		{"ID changed", nonce[:15] + flip(nonce[15]) + nonce[16:], 0, nonceUnknown},
		{"tag changed, ID known", nonce[:len(nonce)-3] + flip(nonce[len(nonce)-3]) + nonce[len(nonce)-2:], 0, nonceUnknown},
		{"expired, ID changed", nonce[:15] + flip(nonce[15]) + nonce[16:], time.Hour, nonceUnknown},
		{"not base64", strings.Repeat("!", nonceTextSize), 0, nonceUnknown},
		{"empty", "", 0, nonceUnknown},
	} {
		nc++
		if _, got := n.use(tc.nonce, nc, now.Add(tc.at).Unix(), time.Minute); got != tc.want {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}

	// Another key does not know the nonce; the same key in another
	// instance (the shared storage case) does.
	other := testNonceState(t)
	if _, got := other.use(nonce, 1, now.Unix(), time.Hour); got != nonceUnknown {
		t.Errorf("nonce accepted under another key: %v", got)
	}
	if other.opaque() == n.opaque() {
		t.Error("two keys give the same opaque")
	}
	twin := newNonceState()
	twin.setKey(n.keys.Load().master)
	if _, got := twin.use(nonce, 1, now.Unix(), time.Hour); got != nonceFresh || twin.opaque() != n.opaque() {
		t.Errorf("same key elsewhere: %v, opaque %q vs %q", got, twin.opaque(), n.opaque())
	}

	// A new key: the nonces of the old one, held in the replay record or
	// not, are unknown.
	var key [nonceKeySize]byte
	rand.Read(key[:])
	n.setKey(key)
	if _, got := n.use(nonce, 100, now.Unix(), time.Minute); got != nonceUnknown {
		t.Errorf("nonce of the old key: %v", got)
	}
}

func TestNonceKeyStorage(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	storage := &certmagic.FileStorage{Path: dir}

	// Instances starting together agree on one key.
	const instances = 4
	keys := make([][nonceKeySize]byte, instances)
	var wg sync.WaitGroup
	for i := range instances {
		wg.Go(func() {
			var err error
			// each with its own FileStorage value, as separate processes would have
			keys[i], err = loadNonceKey(ctx, &certmagic.FileStorage{Path: dir}, "team proxy/1")
			if err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	for i := range keys {
		if keys[i] != keys[0] || keys[i] == ([nonceKeySize]byte{}) {
			t.Fatalf("instance %d got another key", i)
		}
	}
	storageKey := nonceKeyStorageKey("team proxy/1")
	if storageKey != "proxy_auth/team%20proxy%2F1/nonce_key" {
		t.Errorf("storage key %q", storageKey)
	}
	stored, err := storage.Load(ctx, storageKey)
	if err != nil || string(stored) != string(keys[0][:]) {
		t.Fatalf("stored key: %v", err)
	}

	other, err := loadNonceKey(ctx, storage, "another handler")
	if err != nil || other == keys[0] {
		t.Errorf("another handler shares the key (%v)", err)
	}

	if err := storage.Store(ctx, storageKey, []byte("short")); err != nil {
		t.Fatal(err)
	}
	if _, err := loadNonceKey(ctx, storage, "team proxy/1"); err == nil || !strings.Contains(err.Error(), "is 5 bytes, want 32") {
		t.Errorf("corrupt key: %v", err)
	}

	for name, want := range map[string]string{
		"realm:proxy": "proxy_auth/realm%3Aproxy/nonce_key",
		"..":          "proxy_auth/%2E./nonce_key",
		"a.b-c_D":     "proxy_auth/a.b-c_D/nonce_key",
		"jürgen":      "proxy_auth/j%C3%BCrgen/nonce_key",
	} {
		if got := nonceKeyStorageKey(name); got != want {
			t.Errorf("nonceKeyStorageKey(%q) = %q, want %q", name, got, want)
		}
	}
}

func nonceIDAt(issued int64, shard byte, serial uint32) nonceID {
	var id nonceID
	binary.BigEndian.PutUint64(id[:], uint64(issued))
	id[nonceTimeSize] = shard
	binary.BigEndian.PutUint32(id[nonceTimeSize+1:], serial)
	return id
}

func authentic() bool    { return true }
func notAuthentic() bool { return false }

func TestReplayWindow(t *testing.T) {
	var s replaySet
	const now, life = 1000, 5 * time.Minute
	id, tag := nonceIDAt(now, 0, 1), nonceTag{1}
	for _, step := range []struct {
		nc   uint32
		want nonceStatus
	}{
		{1, nonceFresh}, {1, nonceReplayed}, {3, nonceFresh}, {2, nonceFresh}, {2, nonceReplayed}, {3, nonceReplayed},
		// 66 moves the window: 3 (63 behind) is still remembered as used,
		// 4 (62 behind) as unused; 2 (64 behind) is too old to tell.
		{66, nonceFresh}, {3, nonceReplayed}, {4, nonceFresh}, {4, nonceReplayed}, {2, nonceReplayed}, {65, nonceFresh},
		{1000, nonceFresh}, {937, nonceFresh}, {936, nonceReplayed}, {937, nonceReplayed}, {999, nonceFresh},
	} {
		if got := s.use(id, tag, step.nc, now, life, authentic); got != step.want {
			t.Errorf("nc %d: %v, want %v", step.nc, got, step.want)
		}
	}
	if got := s.use(id, nonceTag{2}, 5000, now, life, authentic); got != nonceUnknown {
		t.Errorf("known ID with another tag: %v", got)
	}
	if got := s.use(nonceIDAt(now, 0, 2), tag, 1, now, life, notAuthentic); got != nonceUnknown || s.len() != 1 {
		t.Errorf("unauthentic nonce: %v, %d entries", got, s.len())
	}
}

func TestReplaySetStaysBounded(t *testing.T) {
	s := replaySet{perShard: 8}
	const life = 5 * time.Minute
	now := int64(10_000)
	limit := 8 * replayShards
	use := func(id nonceID, nc uint32, at int64) nonceStatus {
		return s.use(id, nonceTag{}, nc, at, life, authentic)
	}

	// A flood of distinct, valid nonces: the set never grows past its
	// bound, and a nonce that was dropped to make room is never fresh
	// again, however its counts go on.
	var first []nonceID
	for i := range 20 * limit {
		id := nonceIDAt(now+int64(i/limit), byte(i), uint32(i))
		if got := use(id, 1, now+int64(i/limit)); got != nonceFresh {
			t.Fatalf("nonce %d: %v", i, got)
		}
		if n := s.len(); n > limit {
			t.Fatalf("%d entries, bound %d", n, limit)
		}
		if i < limit {
			first = append(first, id)
		}
	}
	for i, id := range first {
		if got := use(id, 2, now+20); got == nonceFresh {
			t.Fatalf("dropped nonce %d accepted as fresh", i)
		}
		if got := use(id, 1, now+20); got == nonceFresh {
			t.Fatalf("dropped nonce %d replayed", i)
		}
	}

	// Expired nonces are swept from each shard as it is next used, and
	// stay refused.
	later := now + int64(life/time.Second) + 100
	for shard := range replayShards {
		if got := use(nonceIDAt(later, byte(shard), 1), 1, later); got != nonceFresh {
			t.Fatalf("fresh nonce after the flood: %v", got)
		}
	}
	if n := s.len(); n != replayShards {
		t.Errorf("%d entries left after every flooded nonce expired, want the %d fresh ones", n, replayShards)
	}
	if got := use(first[len(first)-1], 5, later); got != nonceForgotten {
		t.Errorf("expired nonce after the sweep: %v", got)
	}
}

// TestMadeUpNoncesAreNotRemembered: a flood of made-up nonces, with
// responses right for them, leaves nothing behind.
func TestMadeUpNoncesAreNotRemembered(t *testing.T) {
	h := digestHandler(t, "lab", digestOnly("MD5"), map[string]string{"alice": "pw"}, digestMD5)
	ch := firstChallenge(t, h)
	for i := range 2000 {
		c := &digestClient{user: "alice", password: "pw", ch: ch}
		var raw [nonceRawSize]byte
		binary.BigEndian.PutUint64(raw[:], uint64(time.Now().Unix()))
		binary.BigEndian.PutUint32(raw[nonceTimeSize:], uint32(i))
		c.ch.nonce = nonceEncoding.EncodeToString(raw[:])
		v, _, _ := attempt(t, h, "GET", "http://example.invalid/", c.authorization("GET", "/"))
		if v.outcome != outcomeStale {
			t.Fatalf("made-up nonce %d: %v", i, v.outcome)
		}
	}
	if n := h.state.nonces.seen.len(); n != 0 {
		t.Errorf("%d made-up nonces remembered", n)
	}
}
