package benchclient

import (
	"crypto/md5"
	"crypto/rand"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"strings"
)

// digestAlgorithm is one of the algorithms RFC 7616 §3.2 registers.
type digestAlgorithm struct {
	name     string // as written in challenges, e.g. "SHA-256-sess"
	sess     bool
	newHash  func() hash.Hash
	strength int // preference when a proxy offers several
}

var digestAlgorithms = []digestAlgorithm{
	{"MD5", false, md5.New, 1},
	{"MD5-sess", true, md5.New, 1},
	{"SHA-256", false, sha256.New, 2},
	{"SHA-256-sess", true, sha256.New, 2},
	{"SHA-512-256", false, sha512.New512_256, 3},
	{"SHA-512-256-sess", true, sha512.New512_256, 3},
}

// lookupDigestAlgorithm finds an algorithm by its case-insensitive name. A
// challenge without an algorithm parameter means MD5 (RFC 7616 §3.3).
func lookupDigestAlgorithm(name string) (digestAlgorithm, bool) {
	if name == "" {
		name = "MD5"
	}
	for _, a := range digestAlgorithms {
		if strings.EqualFold(a.name, name) {
			return a, true
		}
	}
	return digestAlgorithm{}, false
}

func (a digestAlgorithm) h(s string) string {
	d := a.newHash()
	d.Write([]byte(s))
	return hex.EncodeToString(d.Sum(nil))
}

// digestChallenge is what a client keeps of a Digest challenge.
type digestChallenge struct {
	realm     string
	nonce     string
	opaque    string
	hasOpaque bool
	algorithm digestAlgorithm
	userhash  bool
	stale     bool
}

// parseDigestChallenge takes a challenge whose scheme is Digest. It refuses
// what this client cannot answer: an unknown algorithm, no nonce or realm,
// or a qop list without "auth" (RFC 7616 requires qop; auth-int is not
// implemented here).
func parseDigestChallenge(c Challenge) (digestChallenge, error) {
	p := c.Params
	alg, ok := lookupDigestAlgorithm(p["algorithm"])
	if !ok {
		return digestChallenge{}, fmt.Errorf("unsupported Digest algorithm %q", p["algorithm"])
	}
	if p["nonce"] == "" {
		return digestChallenge{}, errors.New("Digest challenge without a nonce")
	}
	if _, ok := p["realm"]; !ok {
		return digestChallenge{}, errors.New("Digest challenge without a realm")
	}
	if !qopOffers(p["qop"], "auth") {
		return digestChallenge{}, fmt.Errorf("Digest challenge offers qop %q, this client needs \"auth\"", p["qop"])
	}
	opaque, hasOpaque := p["opaque"]
	return digestChallenge{
		realm:     p["realm"],
		nonce:     p["nonce"],
		opaque:    opaque,
		hasOpaque: hasOpaque,
		algorithm: alg,
		userhash:  strings.EqualFold(p["userhash"], "true"),
		stale:     strings.EqualFold(p["stale"], "true"),
	}, nil
}

// qopOffers reports whether the comma-separated qop list holds want.
func qopOffers(list, want string) bool {
	for q := range strings.SplitSeq(list, ",") {
		if strings.EqualFold(strings.TrimSpace(q), want) {
			return true
		}
	}
	return false
}

// Digest is the client side of HTTP Digest authentication (RFC 7616) for
// one stream of requests: it answers a proxy's challenge, then reuses the
// nonce on every following request with the nonce count (nc) incremented,
// until the proxy sends a new nonce (stale=true, or nextnonce in
// Proxy-Authentication-Info). It supports qop=auth with MD5, SHA-256 and
// SHA-512-256 and their -sess variants, and userhash. Not safe for
// concurrent use: give each connection or worker its own.
type Digest struct {
	username, password string
	// algorithm, when set, is the only algorithm accepted from a proxy;
	// otherwise the strongest one offered is used.
	algorithm string

	newCnonce func() string

	// ch is the challenge being answered. Its nonce is empty until the
	// first challenge is taken, and never after: parseDigestChallenge
	// refuses an empty nonce, and AuthenticationInfo only moves to a
	// non-empty nextnonce.
	ch     digestChallenge
	nc     uint32
	cnonce string
	ha1    string // H(A1) for the current nonce and cnonce
	user   string // the username parameter as sent (hashed when userhash)
}

// NewDigest returns a Digest client for the given credentials. algorithm
// may be empty (use the strongest offered) or one algorithm name to insist on.
func NewDigest(username, password, algorithm string) (*Digest, error) {
	if algorithm != "" {
		if _, ok := lookupDigestAlgorithm(algorithm); !ok {
			return nil, fmt.Errorf("unknown Digest algorithm %q", algorithm)
		}
	}
	return &Digest{username: username, password: password, algorithm: algorithm, newCnonce: randomCnonce}, nil
}

// Ready reports whether a challenge has been answered, so that requests
// can carry credentials without a 407 round trip first.
func (d *Digest) Ready() bool { return d.ch.nonce != "" }

// Challenged takes the Proxy-Authenticate fields of a 407 and picks the
// Digest challenge to answer. It reports stale when the proxy only refused
// the nonce (the credentials were fine), in which case the request should
// be repeated with the new nonce.
func (d *Digest) Challenged(fields []string) (stale bool, err error) {
	challenges, err := ParseChallenges(fields)
	if err != nil {
		return false, err
	}
	var best digestChallenge
	found := false
	var offered []string
	var lastErr error
	for _, c := range challenges {
		if !strings.EqualFold(c.Scheme, "Digest") {
			continue
		}
		dc, err := parseDigestChallenge(c)
		if err != nil {
			lastErr = err
			continue
		}
		offered = append(offered, dc.algorithm.name)
		if d.algorithm != "" && !strings.EqualFold(dc.algorithm.name, d.algorithm) {
			continue
		}
		if !found || dc.algorithm.strength > best.algorithm.strength {
			best, found = dc, true
		}
	}
	switch {
	case found:
	case len(offered) > 0:
		return false, fmt.Errorf("the proxy offers Digest with %s, not %s", strings.Join(offered, ", "), d.algorithm)
	case lastErr != nil:
		return false, lastErr
	default:
		return false, errors.New("no Digest challenge in the 407")
	}
	d.useNonce(best, best.nonce)
	return best.stale, nil
}

// AuthenticationInfo takes a Proxy-Authentication-Info field value: a
// nextnonce in it replaces the nonce from the next request on (RFC 7616 §3.5).
func (d *Digest) AuthenticationInfo(field string) error {
	if field == "" || !d.Ready() {
		return nil
	}
	// The field is a list of auth-params with no scheme in front; parse it
	// as the parameters of a pretend challenge.
	cs, err := ParseChallenges([]string{"Info " + field})
	if err != nil || len(cs) != 1 {
		return fmt.Errorf("malformed Proxy-Authentication-Info %q", field)
	}
	if next := cs[0].Params["nextnonce"]; next != "" && next != d.ch.nonce {
		d.useNonce(d.ch, next)
	}
	return nil
}

func (d *Digest) useNonce(ch digestChallenge, nonce string) {
	ch.nonce = nonce
	d.ch = ch
	d.nc = 0
	d.cnonce = d.newCnonce()

	a := ch.algorithm
	d.ha1 = a.h(d.username + ":" + ch.realm + ":" + d.password)
	if a.sess {
		d.ha1 = a.h(d.ha1 + ":" + nonce + ":" + d.cnonce)
	}
	d.user = d.username
	if ch.userhash {
		d.user = a.h(d.username + ":" + ch.realm)
	}
}

// Authorization returns the Proxy-Authorization value for one request,
// counting it: each call uses the next nc. uri is the request-target as
// sent: absolute-form for a proxied GET, authority-form for CONNECT.
func (d *Digest) Authorization(method, uri string) string {
	if !d.Ready() {
		return ""
	}
	d.nc++
	nc := fmt.Sprintf("%08x", d.nc)
	a := d.ch.algorithm
	ha2 := a.h(method + ":" + uri)
	response := a.h(d.ha1 + ":" + d.ch.nonce + ":" + nc + ":" + d.cnonce + ":auth:" + ha2)

	var b strings.Builder
	b.WriteString("Digest ")
	if needsExtendedNotation(d.user) {
		// RFC 7616 §3.4.4: a name that cannot go in a quoted-string goes in
		// username* (RFC 8187), unless userhash hid it.
		b.WriteString("username*=UTF-8''" + encodeExtValue(d.user))
	} else {
		b.WriteString("username=" + quote(d.user))
	}
	b.WriteString(", realm=" + quote(d.ch.realm))
	b.WriteString(", uri=" + quote(uri))
	b.WriteString(", algorithm=" + a.name)
	b.WriteString(", nonce=" + quote(d.ch.nonce))
	b.WriteString(", nc=" + nc)
	b.WriteString(", cnonce=" + quote(d.cnonce))
	b.WriteString(", qop=auth")
	b.WriteString(", response=" + quote(response))
	if d.ch.hasOpaque {
		b.WriteString(", opaque=" + quote(d.ch.opaque))
	}
	if d.ch.userhash {
		b.WriteString(", userhash=true")
	}
	return b.String()
}

// needsExtendedNotation reports whether s has bytes a quoted-string cannot
// carry as plain ASCII (non-ASCII or control characters, quote, backslash).
func needsExtendedNotation(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f || c == '"' || c == '\\' {
			return true
		}
	}
	return false
}

// encodeExtValue percent-encodes s as the value-chars of an RFC 8187
// ext-value: attr-chars stay, every other byte becomes %XX.
func encodeExtValue(s string) string {
	const hexDigits = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("!#$&+-.^_`|~", c) >= 0 {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hexDigits[c>>4])
		b.WriteByte(hexDigits[c&0xf])
	}
	return b.String()
}

// quote renders s as a quoted-string, escaping `"` and `\`.
func quote(s string) string {
	if !strings.ContainsAny(s, `"\`) {
		return `"` + s + `"`
	}
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`)
	return `"` + r.Replace(s) + `"`
}

func randomCnonce() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails on Linux
	return hex.EncodeToString(b[:])
}
