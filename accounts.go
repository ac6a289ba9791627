package proxyauth

import (
	"encoding/base64"
	"errors"
	"fmt"
	"sync/atomic"
	"unicode/utf8"
)

// Account is one inline account, in the shape of Caddy's own http_basic
// provider.
type Account struct {
	// The user name. It must not contain a colon or control characters.
	Username string `json:"username"`

	// The password hash: bcrypt or argon2id as printed by
	// `caddy hash-password`, or an `$apr1$`, `$5$`, `$6$` or `{SHA}` hash as
	// written by `htpasswd`. Plaintext passwords are not accepted.
	Password string `json:"password"`
}

// account is what the handler holds for one user name. It is a value type
// so that a million of them cost one map and no pointers. Digest H(A1)
// values live apart, in the set's digestSet.
type account struct {
	hash string // password hash verified by Basic; "" if the user has only Digest H(A1)s
	algo hashAlgo
	// where the account was defined, for error messages
	source uint16
	line   int32
}

// accountStore holds a handler's current account set. Readers take the set
// once per request; a reload builds a new set and swaps it in whole, so a
// request never sees half of one and half of another.
type accountStore struct {
	set atomic.Pointer[accountSet]
}

func newAccountStore(set *accountSet) *accountStore {
	s := new(accountStore)
	s.set.Store(set)
	return s
}

func (s *accountStore) current() *accountSet { return s.set.Load() }

// accountSet is one immutable snapshot of every account a handler knows.
// A reload builds a new set and swaps it in whole.
type accountSet struct {
	byName  map[string]account
	sources []string
	// decoy is verified instead when the user is unknown, so that an unknown
	// user costs as much as a wrong password for a typical account.
	decoy account
	// costClasses is how many kinds of password hash (algorithm and cost)
	// the accounts use; with more than one, the decoy hides only names
	// whose hash costs what it does.
	costClasses int
	// digest holds the users' Digest H(A1) values (digestaccounts.go).
	digest digestSet
}

func (s *accountSet) lookup(name string) (account, bool) {
	a, ok := s.byName[name]
	return a, ok
}

func (s *accountSet) len() int {
	if s == nil {
		return 0
	}
	return len(s.byName)
}

// where names an account's definition: "file:line", or "account N" for an
// inline account.
func (s *accountSet) where(a account) string {
	if s.sources[a.source] == inlineSource {
		return fmt.Sprintf("account %d", a.line)
	}
	return fmt.Sprintf("%s:%d", s.sources[a.source], a.line)
}

// inlineSource is the source name of accounts written in the config.
const inlineSource = ""

// accountSetBuilder merges accounts from every source into a new set.
type accountSetBuilder struct {
	set        *accountSet
	classCount map[string]int
	decoyCount int
}

func newAccountSetBuilder() *accountSetBuilder { return newSizedAccountSetBuilder(0) }

// newSizedAccountSetBuilder expects about size accounts, so that a large
// file fills a map made big enough once instead of one regrown many times.
func newSizedAccountSetBuilder(size int) *accountSetBuilder {
	return &accountSetBuilder{
		set:        &accountSet{byName: make(map[string]account, size)},
		classCount: make(map[string]int),
	}
}

// source registers a place accounts come from and returns its index.
func (b *accountSetBuilder) source(name string) uint16 {
	b.set.sources = append(b.set.sources, name)
	return uint16(len(b.set.sources) - 1)
}

// addPassword adds an account with a password hash. The user may already
// have Digest H(A1) values: the two merge into one account.
func (b *accountSetBuilder) addPassword(user, hash string, source uint16, line int) error {
	if err := checkUsername(user); err != nil {
		return err
	}
	algo, err := identifyHash(hash)
	if err != nil {
		return err
	}
	if prev, dup := b.set.byName[user]; dup && prev.hash != "" {
		return fmt.Errorf("user %q is already defined at %s", sanitizeForLog(user), b.set.where(prev))
	}
	a := account{hash: hash, algo: algo, source: source, line: int32(line)}
	b.set.byName[user] = a

	class := costClass(algo, hash)
	b.classCount[class]++
	if n := b.classCount[class]; n > b.decoyCount {
		b.decoyCount = n
		b.set.decoy = a
	}
	return nil
}

func (b *accountSetBuilder) finish() *accountSet {
	b.set.digest.indexUserhashes()
	b.set.costClasses = len(b.classCount)
	return b.set
}

// checkUsername rejects names that could never be sent in Basic credentials
// (a colon ends the name) or that could forge log lines.
func checkUsername(name string) error {
	switch {
	case name == "":
		return errors.New("empty user name")
	case !utf8.ValidString(name):
		return errors.New("user name is not valid UTF-8")
	}
	for _, r := range name {
		if r == ':' {
			return fmt.Errorf("user name %q contains a colon", sanitizeForLog(name))
		}
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) {
			return fmt.Errorf("user name %q contains a control character", sanitizeForLog(name))
		}
	}
	return nil
}

// inlineHash accepts the base64-wrapped hashes that older Caddy versions
// required in basic_auth, so a config can move over unchanged.
func inlineHash(hash string) string {
	if _, err := identifyHash(hash); err == nil {
		return hash
	}
	decoded, err := base64.StdEncoding.DecodeString(hash)
	if err != nil {
		return hash
	}
	if _, err := identifyHash(string(decoded)); err != nil {
		return hash
	}
	return string(decoded)
}
