package proxyauth

// A Digest client for tests, written from RFC 7616 independently of the
// server code except for the hash primitives, so that tests can send every
// form of credentials the RFC allows (and some it does not).

import (
	"crypto/md5"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"fmt"
	"hash"
	"net/http"
	"strings"
	"testing"
)

// challenge is one parsed Digest challenge.
type challenge struct {
	raw                            string
	realm, nonce, opaque, qop, alg string
	stale, userhash                bool
	charset                        string
}

// digestChallenges parses the Digest challenges of a 407, in order.
func digestChallenges(t testing.TB, h http.Header) []challenge {
	t.Helper()
	var out []challenge
	for _, v := range h.Values("Proxy-Authenticate") {
		rest, ok := strings.CutPrefix(v, "Digest ")
		if !ok {
			continue
		}
		p, reason := parseChallengeParams(rest)
		if reason != "" {
			t.Fatalf("challenge %q: %s", v, reason)
		}
		out = append(out, challenge{
			raw: v, realm: p["realm"], nonce: p["nonce"], opaque: p["opaque"], qop: p["qop"], alg: p["algorithm"],
			stale: p["stale"] == "true", userhash: p["userhash"] == "true", charset: p["charset"],
		})
	}
	return out
}

// parseChallengeParams reads the auth-params of a challenge into a map.
func parseChallengeParams(s string) (map[string]string, string) {
	m := make(map[string]string)
	for s != "" {
		s = strings.TrimLeft(s, ", ")
		name, rest, ok := strings.Cut(s, "=")
		if !ok {
			return nil, "no = in " + s
		}
		var value string
		if strings.HasPrefix(rest, `"`) {
			end := strings.IndexByte(rest[1:], '"')
			if end < 0 {
				return nil, "unterminated quote"
			}
			value, rest = rest[1:end+1], rest[end+2:]
		} else {
			value, rest, _ = strings.Cut(rest, ",")
		}
		m[strings.ToLower(name)] = value
		s = rest
	}
	return m, ""
}

// digestClient answers a challenge as a client would.
type digestClient struct {
	user, password string
	ch             challenge
	nc             uint32
	cnonce         string

	// Variations on the credentials sent.
	userhash     bool   // send username=H(user:realm), userhash=true
	usernameStar bool   // send username*=UTF-8''...
	quoteTokens  bool   // quote algorithm, qop and nc, as Python does
	noAlgorithm  bool   // leave algorithm out (the default is MD5)
	qop          string // instead of auth
	extra        string // appended parameters
}

func newHash(alg string) hash.Hash {
	switch strings.ToUpper(alg) {
	case "SHA-256":
		return sha256.New()
	case "SHA-512-256":
		return sha512.New512_256()
	default:
		return md5.New()
	}
}

func hexHash(alg, s string) string {
	h := newHash(alg)
	h.Write([]byte(s))
	return hex.EncodeToString(h.Sum(nil))
}

// response computes the request digest for method and uri.
func (c *digestClient) response(method, uri string) string {
	alg, qop := c.ch.alg, c.qopValue()
	ha1 := hexHash(alg, c.user+":"+c.ch.realm+":"+c.password)
	ha2 := hexHash(alg, method+":"+uri)
	return hexHash(alg, fmt.Sprintf("%s:%s:%08x:%s:%s:%s", ha1, c.ch.nonce, c.nc, c.cnonce, qop, ha2))
}

// rspauth is what the server's Proxy-Authentication-Info should say.
func (c *digestClient) rspauth(uri string) string { return c.response("", uri) }

func (c *digestClient) qopValue() string {
	if c.qop != "" {
		return c.qop
	}
	return "auth"
}

// authorization is the Proxy-Authorization value for the next request;
// it counts nc up first.
func (c *digestClient) authorization(method, uri string) string {
	c.nc++
	if c.cnonce == "" {
		c.cnonce = "test-cnonce"
	}
	q := func(token string) string {
		if c.quoteTokens {
			return `"` + token + `"`
		}
		return token
	}
	var parts []string
	switch {
	case c.userhash:
		parts = append(parts, `username="`+hexHash(c.ch.alg, c.user+":"+c.ch.realm)+`"`, "userhash=true")
	case c.usernameStar:
		parts = append(parts, "username*=UTF-8''"+percentEncode(c.user))
	default:
		parts = append(parts, "username="+quoteString(c.user))
	}
	parts = append(parts,
		"realm="+quoteString(c.ch.realm), `nonce="`+c.ch.nonce+`"`, "uri="+quoteString(uri),
		"qop="+q(c.qopValue()), "nc="+q(fmt.Sprintf("%08x", c.nc)), `cnonce="`+c.cnonce+`"`,
		`response="`+c.response(method, uri)+`"`)
	if c.ch.opaque != "" {
		parts = append(parts, `opaque="`+c.ch.opaque+`"`)
	}
	if !c.noAlgorithm {
		parts = append(parts, "algorithm="+q(c.ch.alg))
	}
	if c.extra != "" {
		parts = append(parts, c.extra)
	}
	return "Digest " + strings.Join(parts, ", ")
}

// percentEncode encodes s as RFC 8187 value-chars.
func percentEncode(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("!#$&+-.^_`|~", c) >= 0 {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}
