package proxyauth

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"io/fs"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/caddyserver/certmagic"
)

// Digest nonces are stateless: a nonce is a timestamp and random bytes,
// authenticated with an HMAC under a key only the server knows, so any
// instance holding the key recognises a nonce it issued without a table of
// issued nonces. What does need memory, which nonce counts have been used,
// is kept only for nonces that passed the HMAC and answered correctly (see
// replay.go), so made-up nonces cost nothing to remember.
//
// Layout before base64url encoding (36 bytes, 48 characters):
//
//	issued (8, big-endian unix seconds) | random (12) | HMAC-SHA256 tag (16)

const (
	nonceKeySize         = 32
	nonceTimeSize        = 8
	nonceRandSize        = 12
	nonceTagSize         = 16
	nonceIDSize          = nonceTimeSize + nonceRandSize
	nonceRawSize         = nonceIDSize + nonceTagSize
	nonceTextSize        = (nonceRawSize*8 + 5) / 6 // unpadded base64
	defaultNonceLifetime = 5 * time.Minute

	// maxNonceClockSkew is how far in the future a nonce's issue time may
	// lie: instances sharing a key may disagree a little about the time.
	maxNonceClockSkew = time.Minute
)

var nonceEncoding = base64.RawURLEncoding

// nonceID identifies a nonce: its issue time and random bytes, which the
// tag authenticates.
type nonceID [nonceIDSize]byte

func (id nonceID) issued() int64 { return int64(binary.BigEndian.Uint64(id[:nonceTimeSize])) }

// nonceTag authenticates a nonceID: the first bytes of its HMAC.
type nonceTag [nonceTagSize]byte

// nonceStatus is what checking a nonce, and recording its use, found.
type nonceStatus uint8

const (
	nonceFresh     nonceStatus = iota // ours, in its lifetime, this count not used before
	nonceReplayed                     // this count was used before (or is too old to tell)
	nonceExpired                      // ours, but too old (or too far ahead)
	nonceUnknown                      // not issued under the current key
	nonceForgotten                    // older than what the replay record remembers
)

// nonceKeys is one generation of keys derived from the shared nonce key.
type nonceKeys struct {
	master [nonceKeySize]byte
	opaque string // the `opaque` challenge value
	macs   sync.Pool
}

func newNonceKeys(master [nonceKeySize]byte) *nonceKeys {
	k := &nonceKeys{master: master}
	// Separate keys for separate uses, so no value ever serves two.
	macKey := deriveKey(master, "proxy_auth digest nonce v1")
	opaque := deriveKey(master, "proxy_auth digest opaque v1")
	k.opaque = nonceEncoding.EncodeToString(opaque[:12])
	k.macs.New = func() any { return &nonceMAC{h: hmac.New(sha256.New, macKey[:])} }
	return k
}

// nonceMAC is a pooled HMAC with room for its input and sum, so that
// computing a tag allocates nothing (a slice of a local passed to
// hash.Hash would move the local to the heap).
type nonceMAC struct {
	h   hash.Hash
	msg nonceID
	sum [sha256.Size]byte
}

func deriveKey(master [nonceKeySize]byte, purpose string) (out [sha256.Size]byte) {
	m := hmac.New(sha256.New, master[:])
	m.Write([]byte(purpose))
	m.Sum(out[:0])
	return out
}

func (k *nonceKeys) tag(id *nonceID) (tag nonceTag) {
	m := k.macs.Get().(*nonceMAC)
	m.h.Reset()
	m.msg = *id
	m.h.Write(m.msg[:])
	m.h.Sum(m.sum[:0])
	copy(tag[:], m.sum[:])
	k.macs.Put(m)
	return tag
}

func (k *nonceKeys) authentic(id *nonceID, tag *nonceTag) bool {
	want := k.tag(id)
	return hmac.Equal(want[:], tag[:])
}

// nonceState is the nonce key and the record of used nonce counts. It
// lives in the handler's state, so a config reload keeps both: clients
// holding a nonce keep using it across a reload.
type nonceState struct {
	keys atomic.Pointer[nonceKeys]
	seen replaySet
	now  func() time.Time // time.Now; tests move it
}

func newNonceState() *nonceState {
	return &nonceState{now: time.Now}
}

// setKey installs the shared key. A key that differs from the one in use
// (the storage was replaced) takes over at once; nonces under the old key
// then get a stale answer and clients fetch new ones. The replay record,
// which vouches for the nonces it holds, starts afresh with it.
func (n *nonceState) setKey(master [nonceKeySize]byte) {
	cur := n.keys.Load()
	if cur != nil && hmac.Equal(cur.master[:], master[:]) {
		return
	}
	n.keys.Store(newNonceKeys(master))
	if cur != nil {
		n.seen.clear()
	}
}

func (n *nonceState) opaque() string { return n.keys.Load().opaque }

// issue makes a new nonce.
func (n *nonceState) issue() string {
	var id nonceID
	binary.BigEndian.PutUint64(id[:nonceTimeSize], uint64(n.now().Unix()))
	_, _ = rand.Read(id[nonceTimeSize:]) // crypto/rand.Read never fails
	tag := n.keys.Load().tag(&id)

	var raw [nonceRawSize]byte
	copy(raw[:], id[:])
	copy(raw[nonceIDSize:], tag[:])
	return nonceEncoding.EncodeToString(raw[:])
}

// use checks the nonce of a correct response at now (unix seconds) and
// records its use with count nc. The HMAC is computed once per nonce: the
// replay record then recognises the nonce by its ID and tag.
func (n *nonceState) use(nonce string, nc uint32, now int64, lifetime time.Duration) (nonceID, nonceStatus) {
	id, tag, ok := decodeNonce(nonce)
	if !ok {
		return id, nonceUnknown
	}
	keys := n.keys.Load()
	if age := time.Duration(now-id.issued()) * time.Second; age > lifetime || age < -maxNonceClockSkew {
		if !keys.authentic(&id, &tag) {
			return id, nonceUnknown
		}
		return id, nonceExpired
	}
	return id, n.seen.use(id, tag, nc, now, lifetime, func() bool { return keys.authentic(&id, &tag) })
}

// decodeNonce splits a nonce into its ID and tag, checking only its form.
func decodeNonce(nonce string) (id nonceID, tag nonceTag, ok bool) {
	var text [nonceTextSize]byte // a copy on the stack: converting would allocate
	if len(nonce) != nonceTextSize {
		return id, tag, false
	}
	copy(text[:], nonce)
	var raw [nonceRawSize]byte
	if _, err := nonceEncoding.Decode(raw[:], text[:]); err != nil {
		return id, tag, false
	}
	copy(id[:], raw[:nonceIDSize])
	copy(tag[:], raw[nonceIDSize:])
	return id, tag, true
}

// nearingEnd reports whether a valid nonce has used up most of its
// lifetime, so the client should be offered its successor (nextnonce).
func (n *nonceState) nearingEnd(id nonceID, now int64, lifetime time.Duration) bool {
	age := time.Duration(now-id.issued()) * time.Second
	return age > lifetime*4/5
}

// nonceKeyStorageKey is where the handler's nonce key lives in Caddy's
// storage. The handler name is escaped so that any name is one path
// element and two names never share a key.
func nonceKeyStorageKey(handlerName string) string {
	var b strings.Builder
	for i := 0; i < len(handlerName); i++ {
		c := handlerName[i]
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.' && i > 0 {
			b.WriteByte(c)
			continue
		}
		fmt.Fprintf(&b, "%%%02X", c)
	}
	return "proxy_auth/" + b.String() + "/nonce_key"
}

// loadNonceKey reads the handler's nonce key from storage, creating it on
// first use. Every Caddy instance that shares the storage thus signs and
// accepts the same nonces: a client behind a load balancer keeps its nonce
// when it lands on another instance. The storage lock makes sure
// instances starting together agree on one key.
func loadNonceKey(ctx context.Context, storage certmagic.Storage, handlerName string) ([nonceKeySize]byte, error) {
	key := nonceKeyStorageKey(handlerName)
	if k, err := readNonceKey(ctx, storage, key); !errors.Is(err, fs.ErrNotExist) {
		return k, err
	}

	if err := storage.Lock(ctx, key); err != nil {
		return [nonceKeySize]byte{}, fmt.Errorf("locking %s in storage: %v", key, err)
	}
	defer func() { _ = storage.Unlock(ctx, key) }()

	// Another instance may have created it while this one waited.
	k, err := readNonceKey(ctx, storage, key)
	if !errors.Is(err, fs.ErrNotExist) {
		return k, err
	}
	if _, err := rand.Read(k[:]); err != nil {
		return k, err
	}
	if err := storage.Store(ctx, key, k[:]); err != nil {
		return k, fmt.Errorf("storing the Digest nonce key at %s: %v", key, err)
	}
	return k, nil
}

func readNonceKey(ctx context.Context, storage certmagic.Storage, key string) ([nonceKeySize]byte, error) {
	var k [nonceKeySize]byte
	data, err := storage.Load(ctx, key)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return k, err
		}
		return k, fmt.Errorf("loading the Digest nonce key from %s: %v", key, err)
	}
	if len(data) != nonceKeySize {
		return k, fmt.Errorf("the Digest nonce key at %s in storage is %d bytes, want %d: delete it and reload to make a new one", key, len(data), nonceKeySize)
	}
	copy(k[:], data)
	return k, nil
}
