package proxyauth

import (
	"crypto/subtle"
	"fmt"
	"strings"
)

// digestSet is the Digest side of an account set: for each user that has
// them, H(A1) = H(user:realm:password) per algorithm, read from htdigest
// files. It is kept apart from the accounts' password hashes so that an
// account without Digest data (the usual bcrypt one) costs nothing more
// than before; a user may have both, from different files.
type digestSet struct {
	realm  string // the realm every H(A1) is for: the handler's
	byName map[string]digestAccount
	// byUserhash finds a user from the hashed name a client sends with
	// userhash=true: H(user:realm), per algorithm (RFC 7616 §3.4.4).
	byUserhash [numDigestAlgorithms]map[digestSum]string
	// count is how many users have an H(A1) for each algorithm.
	count [numDigestAlgorithms]int
}

// digestAccount is one user's H(A1) values, lowercase hex, "" for an
// algorithm the user has none for, and where each was defined.
type digestAccount struct {
	ha1    [numDigestAlgorithms]string
	source [numDigestAlgorithms]uint16
	line   [numDigestAlgorithms]int32
}

// strongest is the user's H(A1) of the most preferred algorithm.
func (d *digestAccount) strongest() (digestAlgorithm, string, bool) {
	for a, ha1 := range d.ha1 {
		if ha1 != "" {
			return digestAlgorithm(a), ha1, true
		}
	}
	return 0, "", false
}

func (d *digestSet) lookup(user string) (digestAccount, bool) {
	a, ok := d.byName[user]
	return a, ok
}

// lookupUserhash finds the user whose H(user:realm) under algo is the hex
// name a client sent.
func (d *digestSet) lookupUserhash(algo digestAlgorithm, hashed string) (string, bool) {
	sum, ok := decodeDigestHex(algo, hashed)
	if !ok {
		return "", false
	}
	user, ok := d.byUserhash[algo][sum]
	return user, ok
}

// decoyHA1 stands in for an unknown user's H(A1), so that checking one
// costs the same hashing as checking a real user.
var decoyHA1 = strings.Repeat("0", 2*len(digestSum{}))

// verifyPassword checks a Basic password against the user's strongest
// H(A1), so one htdigest file serves both schemes. An unknown user is
// checked against a decoy at the same cost.
func (d *digestSet) verifyPassword(user string, password []byte) outcome {
	acct, known := d.byName[user]
	algo, want, ok := acct.strongest()
	if !ok {
		algo, want = digestSHA256, decoyHA1[:digestSHA256.hexLen()]
	}
	var buf [2 * len(digestSum{})]byte
	got := algo.appendHA1(buf[:0], user, d.realm, password)
	match := subtle.ConstantTimeCompare(got, []byte(want)) == 1
	switch {
	case !known:
		return outcomeUnknownUser
	case !match:
		return outcomeWrongPassword
	}
	return outcomeAuthenticated
}

// addDigest adds one htdigest entry. Its user may already have a password
// hash (from htpasswd or an inline account) or other H(A1) values: they
// merge into one account. Two entries of one kind for one user are an
// error naming both places. first reports whether the entry is its user's
// first from source, so that a file's users are counted, not its lines.
func (b *accountSetBuilder) addDigest(e htdigestEntry, source uint16, line int) (first bool, err error) {
	if err := checkUsername(e.user); err != nil {
		return false, err
	}
	d := &b.set.digest
	if e.realm != d.realm {
		return false, fmt.Errorf("realm %q of user %q is not the configured realm %q", e.realm, sanitizeForLog(e.user), d.realm)
	}
	if d.byName == nil {
		d.byName = make(map[string]digestAccount)
	}
	acct := d.byName[e.user]
	if acct.ha1[e.algo] != "" {
		prev := account{source: acct.source[e.algo], line: acct.line[e.algo]}
		article := "a"
		if e.algo == digestMD5 {
			article = "an" // "an MD5", as it is read
		}
		return false, fmt.Errorf("user %q already has %s %s H(A1) at %s", sanitizeForLog(e.user), article, e.algo, b.set.where(prev))
	}
	first = true
	for algo := range numDigestAlgorithms {
		if acct.ha1[algo] != "" && acct.source[algo] == source {
			first = false
		}
	}
	acct.ha1[e.algo] = e.ha1
	acct.source[e.algo], acct.line[e.algo] = source, int32(line)
	d.byName[e.user] = acct
	d.count[e.algo]++

	if _, known := b.set.byName[e.user]; !known {
		// An account with no password hash: Basic checks its H(A1).
		b.set.byName[e.user] = account{source: source, line: int32(line)}
	}
	return first, nil
}

// indexUserhashes builds the userhash index once every entry is in.
func (d *digestSet) indexUserhashes() {
	for algo := range numDigestAlgorithms {
		if d.count[algo] == 0 {
			continue
		}
		index := make(map[digestSum]string, d.count[algo])
		for user, acct := range d.byName {
			if acct.ha1[algo] != "" {
				index[algo.sumOf(user, d.realm)] = user
			}
		}
		d.byUserhash[algo] = index
	}
}

// answerable lists the algorithms every account has an H(A1) for, in
// order of preference (all of them when there are no accounts, which
// Validate reports).
func (s *accountSet) answerable() []digestAlgorithm {
	var algos []digestAlgorithm
	for algo := range numDigestAlgorithms {
		if s.digest.count[algo] == len(s.byName) {
			algos = append(algos, algo)
		}
	}
	return algos
}

// missingDigest finds an account with no H(A1) for algo, the first defined
// if there are several, so that the error names the same one every time.
func (s *accountSet) missingDigest(algo digestAlgorithm) (user string, acct account, found bool) {
	if s.digest.count[algo] == len(s.byName) {
		return "", account{}, false
	}
	for name, a := range s.byName {
		if s.digest.byName[name].ha1[algo] != "" {
			continue
		}
		if !found || a.source < acct.source || a.source == acct.source && a.line < acct.line {
			user, acct, found = name, a, true
		}
	}
	return user, acct, found
}

// checkDigestAnswerable reports the first account that cannot answer one
// of the offered algorithms: curl answers only the first Digest challenge,
// so every account must be able to answer every one.
func (s *accountSet) checkDigestAnswerable(algos []digestAlgorithm) error {
	for _, algo := range algos {
		user, acct, found := s.missingDigest(algo)
		if !found {
			continue
		}
		why := "it has only a password hash, which cannot answer Digest"
		if _, ok := s.digest.byName[user]; ok {
			why = "its htdigest lines are for other algorithms"
		}
		return &accountError{source: acct.source, msg: fmt.Sprintf(
			"digest %s: account %q (%s) has no %s H(A1): %s; add a line for it to an htdigest file (caddy hash-digest prints one) or stop offering %s",
			algo, sanitizeForLog(user), s.where(acct), algo, why, algo)}
	}
	return nil
}

// accountError is a problem with one account, which knows where the
// account was defined, so a reload can blame the right file.
type accountError struct {
	source uint16
	msg    string
}

func (e *accountError) Error() string { return e.msg }
