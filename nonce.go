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

// nonceStatus is what checking a nonce found.
type nonceStatus uint8

const (
	nonceValid   nonceStatus = iota
	nonceExpired             // issued by us, but too long ago (or too far ahead)
	nonceUnknown             // not issued under the current key
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
	k.macs.New = func() any { return hmac.New(sha256.New, macKey[:]) }
	return k
}

func deriveKey(master [nonceKeySize]byte, purpose string) (out [sha256.Size]byte) {
	m := hmac.New(sha256.New, master[:])
	m.Write([]byte(purpose))
	m.Sum(out[:0])
	return out
}

func (k *nonceKeys) tag(id *nonceID) (out [sha256.Size]byte) {
	m := k.macs.Get().(hash.Hash)
	m.Reset()
	m.Write(id[:])
	m.Sum(out[:0])
	k.macs.Put(m)
	return out
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
// then get a stale answer and clients fetch new ones.
func (n *nonceState) setKey(master [nonceKeySize]byte) {
	if cur := n.keys.Load(); cur != nil && hmac.Equal(cur.master[:], master[:]) {
		return
	}
	n.keys.Store(newNonceKeys(master))
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
	copy(raw[nonceIDSize:], tag[:nonceTagSize])
	return nonceEncoding.EncodeToString(raw[:])
}

// check authenticates a nonce and checks its age.
func (n *nonceState) check(nonce string, lifetime time.Duration) (nonceID, nonceStatus) {
	var id nonceID
	var raw [nonceRawSize]byte
	if len(nonce) != nonceTextSize {
		return id, nonceUnknown
	}
	if _, err := nonceEncoding.Decode(raw[:], []byte(nonce)); err != nil {
		return id, nonceUnknown
	}
	copy(id[:], raw[:nonceIDSize])
	tag := n.keys.Load().tag(&id)
	if !hmac.Equal(tag[:nonceTagSize], raw[nonceIDSize:]) {
		return id, nonceUnknown
	}
	age := time.Duration(n.now().Unix()-id.issued()) * time.Second
	if age > lifetime || age < -maxNonceClockSkew {
		return id, nonceExpired
	}
	return id, nonceValid
}

// nearingEnd reports whether a valid nonce has used up most of its
// lifetime, so the client should be offered its successor (nextnonce).
func (n *nonceState) nearingEnd(id nonceID, lifetime time.Duration) bool {
	age := time.Duration(n.now().Unix()-id.issued()) * time.Second
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
