package proxyauth

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/crypto/bcrypt"

	"github.com/caddyserver/caddy/v2/modules/caddyhttp/caddyauth"
)

// hashAlgo names a password hash format; the format is always detected from
// the hash itself, never configured.
type hashAlgo uint8

const (
	hashNone hashAlgo = iota
	hashBcrypt
	hashArgon2id
	hashMD5Crypt
	hashSHACrypt
	hashSHA1
)

// hashComparers verify a password against a hash of each format. bcrypt and
// argon2id are Caddy's own modules (the ones basic_auth uses).
var hashComparers = [...]caddyauth.Comparer{
	hashBcrypt:   caddyauth.BcryptHash{},
	hashArgon2id: caddyauth.Argon2idHash{},
	hashMD5Crypt: md5Crypt{},
	hashSHACrypt: shaCrypt{},
	hashSHA1:     sha1Hash{},
}

// Bounds on argon2id parameters read from a hash: x/crypto's argon2 panics
// on zero time or threads, and a mistyped memory size would allocate it on
// the first login.
const (
	maxArgon2idMemoryKiB = 4 << 20 // 4 GiB
	maxArgon2idTime      = 1 << 10
)

// identifyHash detects the format of a password hash and checks its shape,
// so a broken hash is reported when it is loaded, not on a user's login.
// Errors never quote the hash.
func identifyHash(hash string) (hashAlgo, error) {
	switch {
	case hash == "":
		return hashNone, errors.New("empty password hash")
	case strings.HasPrefix(hash, "$2a$"), strings.HasPrefix(hash, "$2b$"), strings.HasPrefix(hash, "$2y$"):
		return hashBcrypt, validateBcrypt(hash)
	case strings.HasPrefix(hash, "$argon2id$"):
		return hashArgon2id, validateArgon2id(hash)
	case strings.HasPrefix(hash, "$apr1$"), strings.HasPrefix(hash, "$1$"):
		return hashMD5Crypt, validateMD5Crypt(hash)
	case strings.HasPrefix(hash, "$5$"), strings.HasPrefix(hash, "$6$"):
		return hashSHACrypt, validateSHACrypt(hash)
	case strings.HasPrefix(hash, "{SHA}"):
		return hashSHA1, validateSHA1(hash)
	case looksLikeDESCrypt(hash):
		return hashNone, errors.New("crypt(3) DES hashes are not supported: they ignore all but the first 8 characters of a password; re-create the entry with htpasswd -B")
	default:
		return hashNone, errors.New("unrecognised password hash (plaintext passwords are not accepted): use bcrypt or argon2id (caddy hash-password, htpasswd -B)")
	}
}

// validateBcrypt checks the shape of a bcrypt hash: "$2y$", a two-digit
// cost, "$", then 53 characters of bcrypt's base64 (salt and digest). It
// does not allocate, which matters for a file of a million accounts.
func validateBcrypt(hash string) error {
	const size = 60
	if len(hash) != size {
		return fmt.Errorf("malformed bcrypt hash: %d characters, want %d", len(hash), size)
	}
	cost, err := strconv.Atoi(hash[4:6])
	switch {
	case err != nil || hash[6] != '$':
		return errors.New("malformed bcrypt hash: no cost")
	case cost < bcrypt.MinCost || cost > bcrypt.MaxCost:
		return fmt.Errorf("malformed bcrypt hash: cost %d out of range [%d, %d]", cost, bcrypt.MinCost, bcrypt.MaxCost)
	}
	for i := 7; i < size; i++ {
		if !isCryptChar(hash[i]) {
			return fmt.Errorf("malformed bcrypt hash: invalid character at position %d", i+1)
		}
	}
	return nil
}

func validateArgon2id(hash string) error {
	if _, _, err := caddyauth.DecodeHash([]byte(hash)); err != nil {
		return fmt.Errorf("malformed argon2id hash: %v", err)
	}
	// DecodeHash keeps the parameters it read private; read them again from
	// the PHC string, whose shape it has just checked.
	var mem, time uint32
	var threads uint8
	fields := strings.Split(hash, "$")
	if _, err := fmt.Sscanf(fields[3], "m=%d,t=%d,p=%d", &mem, &time, &threads); err != nil {
		return fmt.Errorf("malformed argon2id parameters: %v", err)
	}
	switch {
	case time < 1 || time > maxArgon2idTime:
		return fmt.Errorf("argon2id time parameter %d out of range [1, %d]", time, maxArgon2idTime)
	case threads < 1:
		return errors.New("argon2id parallelism parameter must be at least 1")
	case mem < 8*uint32(threads) || mem > maxArgon2idMemoryKiB:
		return fmt.Errorf("argon2id memory parameter %d KiB out of range [%d, %d]", mem, 8*uint32(threads), maxArgon2idMemoryKiB)
	}
	return nil
}

// looksLikeDESCrypt recognises a traditional crypt(3) hash: 13 characters of
// the crypt alphabet (htpasswd -d).
func looksLikeDESCrypt(hash string) bool {
	if len(hash) != 13 {
		return false
	}
	for i := 0; i < len(hash); i++ {
		if !isCryptChar(hash[i]) {
			return false
		}
	}
	return true
}

func isCryptChar(c byte) bool {
	return c == '.' || c == '/' || '0' <= c && c <= '9' || 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z'
}

// costClass groups hashes that cost the same to verify, so that an unknown
// user can be checked against a hash as expensive as most real ones.
func costClass(algo hashAlgo, hash string) string {
	switch algo {
	case hashBcrypt:
		// "$2y$10$...": only the cost counts; $2a$, $2b$ and $2y$ cost the same
		return "bcrypt " + hash[4:6]
	case hashSHA1:
		return "{SHA}"
	}
	// "$id$[params$]salt$digest": what precedes the salt sets the cost.
	for range 2 {
		hash = hash[:max(strings.LastIndexByte(hash, '$'), 0)]
	}
	return hash
}
