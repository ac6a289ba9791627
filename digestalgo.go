package proxyauth

import (
	"crypto/md5"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"strings"
)

// digestAlgorithm is one of the hash algorithms of Digest authentication
// (RFC 7616 §3.2). Their order is the default order of preference: SHA-256
// is the one every client must implement, SHA-512-256 its backup, MD5 only
// for clients that know nothing else.
type digestAlgorithm uint8

const (
	digestSHA256 digestAlgorithm = iota
	digestSHA512_256
	digestMD5
	numDigestAlgorithms
)

var digestAlgorithmNames = [numDigestAlgorithms]string{
	digestSHA256:     "SHA-256",
	digestSHA512_256: "SHA-512-256",
	digestMD5:        "MD5",
}

func (a digestAlgorithm) String() string { return digestAlgorithmNames[a] }

// parseDigestAlgorithm reads an algorithm name, case-insensitively as RFC
// 7616 §3.3 asks. The "-sess" variants are not offered and so not accepted.
func parseDigestAlgorithm(name string) (digestAlgorithm, bool) {
	for a, n := range digestAlgorithmNames {
		if strings.EqualFold(name, n) {
			return digestAlgorithm(a), true
		}
	}
	return 0, false
}

// size is the length of the algorithm's digest in bytes.
func (a digestAlgorithm) size() int {
	if a == digestMD5 {
		return md5.Size
	}
	return sha256.Size
}

// hexLen is the length of the algorithm's digest in hex digits, as sent in
// `response` and stored in htdigest files.
func (a digestAlgorithm) hexLen() int { return 2 * a.size() }

// digestSum is a digest of any of the algorithms; only the first size()
// bytes are used.
type digestSum [sha256.Size]byte

// sum hashes msg.
func (a digestAlgorithm) sum(msg []byte) (out digestSum) {
	switch a {
	case digestMD5:
		s := md5.Sum(msg)
		copy(out[:], s[:])
	case digestSHA512_256:
		out = sha512.Sum512_256(msg)
	default:
		out = sha256.Sum256(msg)
	}
	return out
}

// appendHex appends the lowercase hex digest of msg to dst.
func (a digestAlgorithm) appendHex(dst, msg []byte) []byte {
	s := a.sum(msg)
	return hex.AppendEncode(dst, s[:a.size()])
}

// joinColons appends the parts to dst separated by colons, the shape of
// every Digest input: H(A1) = H(user:realm:password), the userhash
// H(user:realm), H(A2) = H(method:uri), and KD(secret, data) =
// H(secret:data).
func joinColons(dst []byte, parts ...string) []byte {
	for i, p := range parts {
		if i > 0 {
			dst = append(dst, ':')
		}
		dst = append(dst, p...)
	}
	return dst
}

// sumOf is the raw digest of the parts joined by colons.
func (a digestAlgorithm) sumOf(parts ...string) digestSum {
	var buf [512]byte
	return a.sum(joinColons(buf[:0], parts...))
}

// appendHA1 appends H(A1) for the non-session algorithms,
// H(user:realm:password) (RFC 7616 §3.4.2), in hex.
func (a digestAlgorithm) appendHA1(dst []byte, user, realm string, password []byte) []byte {
	var buf [512]byte
	msg := append(joinColons(buf[:0], user, realm), ':')
	return a.appendHex(dst, append(msg, password...))
}

// decodeDigestHex decodes s, the hex form of a digest of algorithm a, in
// either case. ok is false unless s has exactly a.hexLen() hex digits.
func decodeDigestHex(a digestAlgorithm, s string) (out digestSum, ok bool) {
	if len(s) != a.hexLen() {
		return out, false
	}
	_, err := hex.Decode(out[:], []byte(s))
	return out, err == nil
}
