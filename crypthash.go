package proxyauth

import (
	"bytes"
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"hash"

	"github.com/caddyserver/caddy/v2/modules/caddyhttp/caddyauth"
)

// This file implements the htpasswd hash formats that caddyauth lacks:
// MD5-crypt ($apr1$, $1$), SHA-crypt ($5$, $6$) and {SHA}. The algorithms
// follow Poul-Henning Kamp's MD5-crypt (as adopted by APR) and Ulrich
// Drepper's "Unix crypt using SHA-256 and SHA-512" specification.
//
// Error messages never include the hash itself: hash files are secret-ish
// and errors end up in logs.

// Interface guards.
var (
	_ caddyauth.Comparer = md5Crypt{}
	_ caddyauth.Comparer = shaCrypt{}
	_ caddyauth.Comparer = sha1Hash{}
)

// maxCryptPasswordLen bounds the plaintext accepted by the iterated
// formats. Their cost grows with rounds × password length and the password
// comes from the client, so an unbounded one is a cheap CPU-exhaustion
// attack. htpasswd refuses passwords over 255 bytes and libxcrypt over 511,
// so no hash they produce can match a longer one; Compare reports a
// mismatch without hashing.
const maxCryptPasswordLen = 1024

// cryptAlphabet is the crypt(3) base-64 alphabet. Unlike RFC 4648 it
// starts with "./" and digits, and values are emitted least significant
// bits first.
const cryptAlphabet = "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// cryptAlphabetIndex maps a byte to its value in cryptAlphabet, or -1.
var cryptAlphabetIndex = func() (idx [256]int8) {
	for i := range idx {
		idx[i] = -1
	}
	for i := range len(cryptAlphabet) {
		idx[cryptAlphabet[i]] = int8(i)
	}
	return idx
}()

// appendCrypt64 appends the n low 6-bit groups of v to dst, least
// significant group first, as crypt(3) implementations do.
func appendCrypt64(dst []byte, v uint32, n int) []byte {
	for range n {
		dst = append(dst, cryptAlphabet[v&0x3f])
		v >>= 6
	}
	return dst
}

// cryptLayout describes how a crypt scheme shuffles digest bytes before
// encoding them: each group of three bytes becomes four characters, and
// the one or two leftover bytes become two or three.
type cryptLayout struct {
	groups [][3]uint8 // byte indexes, most significant first
	tail   []uint8    // leftover byte indexes, most significant first
}

// encode appends the crypt base-64 encoding of sum to dst.
func (l *cryptLayout) encode(dst, sum []byte) []byte {
	for _, g := range l.groups {
		dst = appendCrypt64(dst, uint32(sum[g[0]])<<16|uint32(sum[g[1]])<<8|uint32(sum[g[2]]), 4)
	}
	var v uint32
	for _, i := range l.tail {
		v = v<<8 | uint32(sum[i])
	}
	return appendCrypt64(dst, v, l.tailChars())
}

func (l *cryptLayout) tailChars() int { return (len(l.tail)*8 + 5) / 6 }

// encodedLen is the length of the encoded digest.
func (l *cryptLayout) encodedLen() int { return 4*len(l.groups) + l.tailChars() }

// lastCharBits is how many bits the final character carries; the rest of
// its six bits are always zero in a genuine hash.
func (l *cryptLayout) lastCharBits() int { return len(l.tail)*8 - 6*(l.tailChars()-1) }

// checkDigest reports whether digest could have been produced by encode:
// right length, crypt alphabet only, unused trailing bits zero.
func (l *cryptLayout) checkDigest(digest []byte) error {
	if len(digest) != l.encodedLen() {
		return fmt.Errorf("digest must be %d characters, got %d", l.encodedLen(), len(digest))
	}
	if !isCryptBase64(digest) {
		return errors.New("digest contains a character outside ./0-9A-Za-z")
	}
	if cryptAlphabetIndex[digest[len(digest)-1]] >= 1<<l.lastCharBits() {
		return errors.New("digest has a non-canonical final character (corrupted hash?)")
	}
	return nil
}

func isCryptBase64(s []byte) bool {
	for _, c := range s {
		if cryptAlphabetIndex[c] < 0 {
			return false
		}
	}
	return true
}

// checkCryptSalt validates a salt as found in a stored hash.
func checkCryptSalt(salt []byte, maxLen int) error {
	if len(salt) > maxLen {
		return fmt.Errorf("salt longer than %d characters", maxLen)
	}
	if !isCryptBase64(salt) {
		return errors.New("salt contains a character outside ./0-9A-Za-z")
	}
	return nil
}

// writeRepeated writes the first n bytes of the infinite repetition of
// block to h. Both algorithms use this to stretch a digest to the length
// of the password or salt.
func writeRepeated(h hash.Hash, block []byte, n int) {
	for ; n > len(block); n -= len(block) {
		h.Write(block)
	}
	h.Write(block[:n])
}

// --- MD5-crypt ---------------------------------------------------------

// md5Crypt compares MD5-crypt hashes: Apache's "$apr1$" (htpasswd -m, the
// default) and the original "$1$". They differ only in the magic string,
// which is mixed into the digest.
type md5Crypt struct{}

const (
	md5CryptMaxSalt = 8
	md5CryptRounds  = 1000
	// md5CryptDigestLen is md5CryptLayout.encodedLen(), as a constant
	// for buffer sizes.
	md5CryptDigestLen = 22
)

var nulByte = []byte{0}

var md5CryptLayout = cryptLayout{
	groups: [][3]uint8{{0, 6, 12}, {1, 7, 13}, {2, 8, 14}, {3, 9, 15}, {4, 10, 5}},
	tail:   []uint8{11},
}

// Compare implements caddyauth.Comparer.
func (md5Crypt) Compare(hashed, plaintext []byte) (bool, error) {
	magic, salt, digest, err := parseMD5Crypt(hashed)
	if err != nil {
		return false, err
	}
	if len(plaintext) > maxCryptPasswordLen {
		return false, nil
	}
	var buf [md5CryptDigestLen]byte
	got := md5CryptDigest(buf[:0], plaintext, magic, salt)
	return subtle.ConstantTimeCompare(got, digest) == 1, nil
}

// validateMD5Crypt checks that hash is a well-formed "$apr1$" or "$1$" hash.
func validateMD5Crypt(hash string) error {
	_, _, _, err := parseMD5Crypt([]byte(hash))
	return err
}

// parseMD5Crypt splits "<magic><salt>$<digest>"; the returned slices alias h.
func parseMD5Crypt(h []byte) (magic, salt, digest []byte, err error) {
	switch {
	case bytes.HasPrefix(h, []byte("$apr1$")):
		magic = h[:6]
	case bytes.HasPrefix(h, []byte("$1$")):
		magic = h[:3]
	default:
		return nil, nil, nil, errors.New("md5-crypt hash: must start with $apr1$ or $1$")
	}
	salt, digest, ok := bytes.Cut(h[len(magic):], []byte("$"))
	if !ok {
		return nil, nil, nil, errors.New("md5-crypt hash: missing '$' between salt and digest")
	}
	if err := checkCryptSalt(salt, md5CryptMaxSalt); err != nil {
		return nil, nil, nil, fmt.Errorf("md5-crypt hash: %w", err)
	}
	if err := md5CryptLayout.checkDigest(digest); err != nil {
		return nil, nil, nil, fmt.Errorf("md5-crypt hash: %w", err)
	}
	return magic, salt, digest, nil
}

// md5CryptDigest appends the encoded MD5-crypt digest of password to dst.
func md5CryptDigest(dst, password, magic, salt []byte) []byte {
	var sum [md5.Size]byte

	alt := md5.New()
	alt.Write(password)
	alt.Write(salt)
	alt.Write(password)
	alt.Sum(sum[:0])

	h := md5.New()
	h.Write(password)
	h.Write(magic)
	h.Write(salt)
	writeRepeated(h, sum[:], len(password))
	// For each bit of the length: a NUL byte for a one, the first password
	// byte for a zero. (The original code meant to add the digest but
	// added its first byte after clearing it; everyone kept the quirk.)
	for n := len(password); n > 0; n >>= 1 {
		if n&1 != 0 {
			h.Write(nulByte)
		} else {
			h.Write(password[:1])
		}
	}
	h.Sum(sum[:0])

	// The rounds exist only to slow brute force down.
	for i := range md5CryptRounds {
		h.Reset()
		if i&1 != 0 {
			h.Write(password)
		} else {
			h.Write(sum[:])
		}
		if i%3 != 0 {
			h.Write(salt)
		}
		if i%7 != 0 {
			h.Write(password)
		}
		if i&1 != 0 {
			h.Write(sum[:])
		} else {
			h.Write(password)
		}
		h.Sum(sum[:0])
	}
	return md5CryptLayout.encode(dst, sum[:])
}

// --- SHA-crypt ---------------------------------------------------------

// shaCrypt compares SHA-crypt hashes: "$5$" (SHA-256, htpasswd -2) and
// "$6$" (SHA-512, htpasswd -5), with an optional "rounds=N$" field.
type shaCrypt struct{}

const (
	shaCryptMaxSalt       = 16
	shaCryptDefaultRounds = 5000
	// The specification clamps the requested rounds to this range.
	shaCryptMinRounds = 1000
	shaCryptMaxRounds = 999_999_999
	// shaCryptRoundsLimit is our own, lower ceiling: hash files are
	// operator-supplied, and near the specification's maximum a single
	// verification takes minutes, so such hashes are refused at load.
	shaCryptRoundsLimit = 10_000_000
	// sha512CryptDigestLen is the longer of the two encoded digests.
	sha512CryptDigestLen = 86
)

// shaCryptVariant captures what differs between $5$ and $6$.
type shaCryptVariant struct {
	newHash func() hash.Hash
	layout  *cryptLayout
}

var (
	sha256CryptLayout = cryptLayout{
		groups: [][3]uint8{
			{0, 10, 20}, {21, 1, 11}, {12, 22, 2}, {3, 13, 23}, {24, 4, 14},
			{15, 25, 5}, {6, 16, 26}, {27, 7, 17}, {18, 28, 8}, {9, 19, 29},
		},
		tail: []uint8{31, 30},
	}
	sha512CryptLayout = cryptLayout{
		groups: [][3]uint8{
			{0, 21, 42}, {22, 43, 1}, {44, 2, 23}, {3, 24, 45}, {25, 46, 4},
			{47, 5, 26}, {6, 27, 48}, {28, 49, 7}, {50, 8, 29}, {9, 30, 51},
			{31, 52, 10}, {53, 11, 32}, {12, 33, 54}, {34, 55, 13}, {56, 14, 35},
			{15, 36, 57}, {37, 58, 16}, {59, 17, 38}, {18, 39, 60}, {40, 61, 19},
			{62, 20, 41},
		},
		tail: []uint8{63},
	}
	sha256Crypt = shaCryptVariant{newHash: sha256.New, layout: &sha256CryptLayout}
	sha512Crypt = shaCryptVariant{newHash: sha512.New, layout: &sha512CryptLayout}
)

// shaCryptHash is a parsed SHA-crypt hash; the slices alias the input.
type shaCryptHash struct {
	variant *shaCryptVariant
	rounds  int // already clamped
	salt    []byte
	digest  []byte
}

// Compare implements caddyauth.Comparer.
func (shaCrypt) Compare(hashed, plaintext []byte) (bool, error) {
	p, err := parseSHACrypt(hashed)
	if err != nil {
		return false, err
	}
	if len(plaintext) > maxCryptPasswordLen {
		return false, nil
	}
	var buf [sha512CryptDigestLen]byte
	got := shaCryptDigest(buf[:0], p.variant, plaintext, p.salt, p.rounds)
	// Only the digest is compared: the rounds field of the stored hash may
	// legitimately differ from the clamped value that was used.
	return subtle.ConstantTimeCompare(got, p.digest) == 1, nil
}

// validateSHACrypt checks that hash is a well-formed "$5$" or "$6$" hash
// whose rounds do not exceed shaCryptRoundsLimit.
func validateSHACrypt(hash string) error {
	_, err := parseSHACrypt([]byte(hash))
	return err
}

// parseSHACrypt parses "$5$[rounds=N$]<salt>$<digest>" (or $6$).
func parseSHACrypt(h []byte) (shaCryptHash, error) {
	var p shaCryptHash
	switch {
	case bytes.HasPrefix(h, []byte("$5$")):
		p.variant = &sha256Crypt
	case bytes.HasPrefix(h, []byte("$6$")):
		p.variant = &sha512Crypt
	default:
		return p, errors.New("sha-crypt hash: must start with $5$ or $6$")
	}
	rest := h[3:]

	p.rounds = shaCryptDefaultRounds
	if r, ok := bytes.CutPrefix(rest, []byte("rounds=")); ok {
		field, after, ok := bytes.Cut(r, []byte("$"))
		if !ok {
			return p, errors.New("sha-crypt hash: missing '$' after rounds")
		}
		n, err := parseRounds(field)
		if err != nil {
			return p, fmt.Errorf("sha-crypt hash: %w", err)
		}
		p.rounds = min(max(n, shaCryptMinRounds), shaCryptMaxRounds)
		rest = after
	}

	salt, digest, ok := bytes.Cut(rest, []byte("$"))
	if !ok {
		return p, errors.New("sha-crypt hash: missing '$' between salt and digest")
	}
	if err := checkCryptSalt(salt, shaCryptMaxSalt); err != nil {
		return p, fmt.Errorf("sha-crypt hash: %w", err)
	}
	if err := p.variant.layout.checkDigest(digest); err != nil {
		return p, fmt.Errorf("sha-crypt hash: %w", err)
	}
	p.salt, p.digest = salt, digest
	return p, nil
}

// parseRounds parses the decimal rounds field, refusing values above
// shaCryptRoundsLimit (checked while parsing, so no overflow is possible).
func parseRounds(field []byte) (int, error) {
	if len(field) == 0 {
		return 0, errors.New("empty rounds value")
	}
	n := 0
	for _, c := range field {
		if c < '0' || c > '9' {
			return 0, errors.New("rounds value is not a decimal number")
		}
		n = n*10 + int(c-'0')
		if n > shaCryptRoundsLimit {
			return 0, fmt.Errorf("rounds exceeds the limit of %d (verification would be too slow)", shaCryptRoundsLimit)
		}
	}
	return n, nil
}

// shaCryptDigest appends the encoded SHA-crypt digest of password to dst,
// following the numbered steps of Drepper's specification.
func shaCryptDigest(dst []byte, v *shaCryptVariant, password, salt []byte, rounds int) []byte {
	h := v.newHash()
	size := h.Size()
	var sumBuf [sha512.Size]byte
	sum := sumBuf[:size]

	// Steps 4-8: digest B = H(password salt password).
	h.Write(password)
	h.Write(salt)
	h.Write(password)
	h.Sum(sum[:0])

	// Steps 1-3, 9-12: digest A.
	h.Reset()
	h.Write(password)
	h.Write(salt)
	writeRepeated(h, sum, len(password))
	for n := len(password); n > 0; n >>= 1 {
		if n&1 != 0 {
			h.Write(sum)
		} else {
			h.Write(password)
		}
	}
	h.Sum(sum[:0])

	// Steps 13-16: P, the password-length stretch of H(password^len).
	// Precomputed once because every round uses it.
	var dp [sha512.Size]byte
	h.Reset()
	for range len(password) {
		h.Write(password)
	}
	h.Sum(dp[:0])
	p := stretch(dp[:size], len(password))

	// Steps 17-20: S, the salt-length stretch of H(salt^(16+A[0])).
	var ds [sha512.Size]byte
	h.Reset()
	for range 16 + int(sum[0]) {
		h.Write(salt)
	}
	h.Sum(ds[:0])
	s := stretch(ds[:size], len(salt))

	// Step 21: the rounds.
	for i := range rounds {
		h.Reset()
		if i&1 != 0 {
			h.Write(p)
		} else {
			h.Write(sum)
		}
		if i%3 != 0 {
			h.Write(s)
		}
		if i%7 != 0 {
			h.Write(p)
		}
		if i&1 != 0 {
			h.Write(sum)
		} else {
			h.Write(p)
		}
		h.Sum(sum[:0])
	}
	return v.layout.encode(dst, sum)
}

// stretch returns the first n bytes of the infinite repetition of block.
func stretch(block []byte, n int) []byte {
	out := make([]byte, n)
	for i := 0; i < n; i += len(block) {
		copy(out[i:], block)
	}
	return out
}

// --- {SHA} -------------------------------------------------------------

// sha1Hash compares "{SHA}" hashes (htpasswd -s): base64 of the unsalted
// SHA-1 of the password. Weak, but still found in old files.
type sha1Hash struct{}

const sha1Prefix = "{SHA}"

// Compare implements caddyauth.Comparer.
func (sha1Hash) Compare(hashed, plaintext []byte) (bool, error) {
	want, err := parseSHA1(hashed)
	if err != nil {
		return false, err
	}
	got := sha1.Sum(plaintext)
	return subtle.ConstantTimeCompare(got[:], want[:]) == 1, nil
}

// validateSHA1 checks that hash is "{SHA}" followed by the padded base64
// of exactly 20 bytes.
func validateSHA1(hash string) error {
	_, err := parseSHA1([]byte(hash))
	return err
}

func parseSHA1(h []byte) (sum [sha1.Size]byte, err error) {
	enc, ok := bytes.CutPrefix(h, []byte(sha1Prefix))
	if !ok {
		return sum, errors.New("{SHA} hash: must start with {SHA}")
	}
	wantLen := base64.StdEncoding.EncodedLen(sha1.Size)
	if len(enc) != wantLen {
		return sum, fmt.Errorf("{SHA} hash: base64 part must be %d characters, got %d", wantLen, len(enc))
	}
	// Strict rejects non-zero padding bits, so each digest has exactly
	// one accepted spelling.
	var buf [sha1.Size + 1]byte // DecodedLen(28) is 21
	n, err := base64.StdEncoding.Strict().Decode(buf[:], enc)
	if err != nil || n != sha1.Size {
		return sum, errors.New("{SHA} hash: not valid base64 of a 20-byte SHA-1 digest")
	}
	copy(sum[:], buf[:n])
	return sum, nil
}
