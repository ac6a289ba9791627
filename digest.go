package proxyauth

import (
	"crypto/subtle"
	"encoding/hex"
	"net/http"
	"strings"
	"time"

	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
)

// digestScheme is the Digest authentication scheme (RFC 7616) with qop=auth
// and the SHA-256, SHA-512-256 and MD5 algorithms. The client proves it
// knows the password by hashing it with a server nonce; the server checks
// the answer against the stored H(A1) = H(user:realm:password), so neither
// the password nor anything a listener could replay crosses the wire.
type digestScheme struct {
	realm    string
	algos    []digestAlgorithm // offered, one challenge each, in this order
	offered  [numDigestAlgorithms]bool
	lifetime time.Duration
	nonces   *nonceState
	// prefix[a] is the start of algorithm a's challenge, up to the nonce.
	prefix [numDigestAlgorithms]string
}

func newDigestScheme(realm string, algos []digestAlgorithm, lifetime time.Duration, nonces *nonceState) *digestScheme {
	s := &digestScheme{realm: realm, algos: algos, lifetime: lifetime, nonces: nonces}
	for _, a := range algos {
		s.offered[a] = true
		// RFC 7616 §3.3: realm, qop and nonce quoted; algorithm never.
		s.prefix[a] = "Digest realm=" + quoteString(realm) + `, qop="auth", algorithm=` + a.String() + `, nonce="`
	}
	return s
}

func (*digestScheme) name() string { return "Digest" }

// challenges returns one challenge per offered algorithm, all with the same
// fresh nonce. After a stale nonce or a replayed count, whose response was
// right, they say stale=true: the client may retry at once with the new
// nonce and the password it has.
func (s *digestScheme) challenges(v verdict) []string {
	suffix := `", opaque="` + s.nonces.opaque() + `"`
	if v.outcome == outcomeStale || v.outcome == outcomeReplayed {
		suffix += ", stale=true"
	}
	// charset: user names and passwords are UTF-8 (§4); userhash: clients
	// may hide the user name from listeners (§3.4.4).
	suffix += ", charset=UTF-8, userhash=true"

	nonce := s.nonces.issue()
	out := make([]string, len(s.algos))
	for i, a := range s.algos {
		out[i] = s.prefix[a] + nonce + suffix
	}
	return out
}

// digestRequest is what a Digest credentials field asks, once checked.
type digestRequest struct {
	algo                        digestAlgorithm
	user                        string // the account name, whichever form the client used
	nonce, nc, cnonce, qop, uri string
	count                       uint32
	response                    digestSum
}

func (s *digestScheme) authenticate(r *http.Request, credentials string, accounts *accountSet) verdict {
	p, reason := parseDigestParams(credentials)
	if reason != "" {
		return verdict{outcome: outcomeMalformed, reason: reason}
	}
	req, reason := s.readRequest(&p, accounts)
	if reason != "" {
		return verdict{outcome: outcomeMalformed, reason: reason}
	}
	method, target := originalTarget(r)
	if !digestURIMatches(req.uri, method, target, r.Host) {
		return verdict{outcome: outcomeURIMismatch, user: req.user, reason: "Digest uri does not name the requested resource"}
	}

	// The response first: it decides whether the client knows the
	// password, which is what stale=true promises.
	acct, known := accounts.digest.lookup(req.user)
	ha1 := acct.ha1[req.algo]
	if ha1 == "" {
		ha1 = decoyHA1[:req.algo.hexLen()] // same work for unknown users
	}
	want := digestResponse(req.algo, ha1, method, req.uri, req.nonce, req.nc, req.cnonce, req.qop)
	n := req.algo.size()
	match := subtle.ConstantTimeCompare(want[:n], req.response[:n]) == 1
	switch {
	case !known:
		return verdict{outcome: outcomeUnknownUser, user: req.user}
	case acct.ha1[req.algo] == "":
		return verdict{outcome: outcomeWrongPassword, user: req.user, reason: "account has no H(A1) for " + req.algo.String()}
	case !match:
		return verdict{outcome: outcomeWrongPassword, user: req.user}
	}

	// Then the nonce: ours, fresh, and this count not used before.
	if p.has(paramOpaque) && p.get(paramOpaque) != s.nonces.opaque() {
		return verdict{outcome: outcomeStale, user: req.user, reason: "opaque from another nonce key"}
	}
	now := s.nonces.now().Unix()
	id, status := s.nonces.use(req.nonce, req.count, now, s.lifetime)
	switch status {
	case nonceUnknown:
		return verdict{outcome: outcomeStale, user: req.user, reason: "nonce not issued under this handler's key"}
	case nonceExpired:
		return verdict{outcome: outcomeStale, user: req.user, reason: "nonce expired"}
	case nonceForgotten:
		return verdict{outcome: outcomeStale, user: req.user, reason: "nonce older than the replay record"}
	case nonceReplayed:
		return verdict{outcome: outcomeReplayed, user: req.user, reason: "nonce count already used"}
	}

	info := s.authenticationInfo(&req, ha1, s.nonces.nearingEnd(id, now, s.lifetime))
	return verdict{outcome: outcomeAuthenticated, user: req.user, authInfo: info}
}

// readRequest checks the parameters of Digest credentials and finds the
// user they name. RFC 7616 §3.4 makes cnonce, nc and qop mandatory, so the
// RFC 2069 form without them is refused, as are qop=auth-int and
// algorithms that were not offered.
// A non-empty reason says why the credentials are malformed.
func (s *digestScheme) readRequest(p *digestParams, accounts *accountSet) (req digestRequest, reason string) {
	malformed := func(reason string) (digestRequest, string) { return req, reason }
	if !p.has(paramQop) {
		return malformed("Digest credentials without qop (RFC 2069 form) are not accepted")
	}
	for _, name := range [...]digestParam{paramRealm, paramNonce, paramURI, paramResponse, paramNC, paramCnonce} {
		if !p.has(name) {
			return malformed("Digest credentials lack " + digestParamNames[name])
		}
	}

	req.algo = digestMD5 // RFC 7616 §3.3: the default
	if p.has(paramAlgorithm) {
		algo, ok := parseDigestAlgorithm(p.get(paramAlgorithm))
		if !ok {
			return malformed("unknown Digest algorithm")
		}
		req.algo = algo
	}
	if !s.offered[req.algo] {
		return malformed("Digest algorithm " + req.algo.String() + " not offered")
	}
	switch req.qop = p.get(paramQop); {
	case strings.EqualFold(req.qop, "auth"):
	case strings.EqualFold(req.qop, "auth-int"):
		return malformed("qop auth-int not offered")
	default:
		return malformed("unknown qop")
	}
	if p.get(paramRealm) != s.realm {
		return malformed("Digest realm is not this proxy's")
	}

	req.nc = p.get(paramNC)
	count, ok := parseNonceCount(req.nc)
	if !ok {
		return malformed("nc is not 8 hex digits")
	}
	req.count = count
	if req.cnonce = p.get(paramCnonce); req.cnonce == "" {
		return malformed("empty cnonce")
	}
	if req.response, ok = decodeDigestHex(req.algo, p.get(paramResponse)); !ok {
		return malformed("response is not a " + req.algo.String() + " digest in hex")
	}
	req.nonce, req.uri = p.get(paramNonce), p.get(paramURI)

	req.user, reason = resolveDigestUser(p, req.algo, accounts)
	return req, reason
}

// resolveDigestUser finds the user name of Digest credentials, which come
// in one of three forms (RFC 7616 §3.4): username="name",
// username*=UTF-8'en'percent-encoded (RFC 8187), or, with userhash=true,
// username="H(name:realm)". An unknown hashed name resolves to the hash
// itself, which no account has.
func resolveDigestUser(p *digestParams, algo digestAlgorithm, accounts *accountSet) (user, reason string) {
	userhash := false
	if p.has(paramUserhash) {
		switch v := p.get(paramUserhash); {
		case strings.EqualFold(v, "true"):
			userhash = true
		case !strings.EqualFold(v, "false"):
			return "", "userhash is neither true nor false"
		}
	}
	switch {
	case p.has(paramUsername) && p.has(paramUsernameStar):
		return "", "both username and username*"
	case p.has(paramUsernameStar):
		if userhash {
			return "", "username* with userhash=true"
		}
		name, ok := decodeExtValue(p.get(paramUsernameStar))
		if !ok {
			return "", "username* is not an RFC 8187 UTF-8 value"
		}
		return name, ""
	case !p.has(paramUsername):
		return "", "Digest credentials lack username"
	case userhash:
		if name, ok := accounts.digest.lookupUserhash(algo, p.get(paramUsername)); ok {
			return name, ""
		}
	}
	return p.get(paramUsername), ""
}

// parseNonceCount reads nc, exactly 8 hex digits (RFC 7616 §3.4).
func parseNonceCount(s string) (uint32, bool) {
	if len(s) != 8 {
		return 0, false
	}
	var n uint32
	for i := 0; i < len(s); i++ {
		d, ok := unhex(s[i])
		if !ok {
			return 0, false
		}
		n = n<<4 | uint32(d)
	}
	return n, true
}

// digestResponse computes the request digest for qop=auth (RFC 7616
// §3.4.1):
//
//	KD(H(A1), nonce:nc:cnonce:qop:H(A2)),  H(A2) = H(method:uri)
//
// over the uri string the client sent. With an empty method it is the
// server's rspauth (§3.5).
func digestResponse(algo digestAlgorithm, ha1, method, uri, nonce, nc, cnonce, qop string) digestSum {
	var buf [512]byte // holds any real input: no allocation
	msg := append(joinColons(buf[:0], ha1, nonce, nc, cnonce, qop), ':')
	// A2 goes in the space after where H(A2) will be appended, so one
	// buffer serves both.
	a2Start := min(len(msg)+algo.hexLen(), len(buf))
	a2 := joinColons(buf[a2Start:a2Start], method, uri)
	return algo.sum(algo.appendHex(msg, a2))
}

// authenticationInfo is the Proxy-Authentication-Info value for a
// successful request (RFC 7616 §3.5): rspauth proves to the client that
// the proxy knows its H(A1) too; nextnonce offers the next nonce when this
// one is near its end, so the client need not take a stale round trip.
func (s *digestScheme) authenticationInfo(req *digestRequest, ha1 string, offerNext bool) string {
	rspauth := digestResponse(req.algo, ha1, "", req.uri, req.nonce, req.nc, req.cnonce, req.qop)
	var b strings.Builder
	b.Grow(160 + len(req.cnonce))
	b.WriteString(`rspauth="`)
	var hexBuf [2 * len(digestSum{})]byte
	b.Write(hex.AppendEncode(hexBuf[:0], rspauth[:req.algo.size()]))
	b.WriteString(`", qop=`)
	b.WriteString(req.qop)
	b.WriteString(", cnonce=")
	writeQuoted(&b, req.cnonce)
	b.WriteString(", nc=")
	b.WriteString(req.nc)
	if offerNext {
		b.WriteString(`, nextnonce="`)
		b.WriteString(s.nonces.issue())
		b.WriteByte('"')
	}
	return b.String()
}

// originalTarget is the method and request-target the client sent, read
// from the original request since a rewrite earlier in the route may have
// changed them.
func originalTarget(r *http.Request) (method, target string) {
	if orig, ok := r.Context().Value(caddyhttp.OriginalRequestCtxKey).(http.Request); ok {
		return orig.Method, orig.RequestURI
	}
	return r.Method, r.RequestURI
}

// digestURIMatches reports whether the uri of Digest credentials names the
// requested resource (RFC 7616 §3.4.6). It may be the request-target
// exactly; for CONNECT the authority host:port, in any case; for an
// absolute-form request also its path and query, which is what curl sends,
// or the same absolute URI with another spelling of scheme and host; for
// an origin-form request (HTTP/2) the absolute URI of Host and the path.
func digestURIMatches(uri, method, target, host string) bool {
	if uri == target {
		return true
	}
	if method == http.MethodConnect {
		return strings.EqualFold(uri, target)
	}
	if scheme, authority, rest, ok := splitAbsoluteURI(target); ok {
		if uri == rest {
			return true
		}
		s2, a2, r2, ok := splitAbsoluteURI(uri)
		return ok && strings.EqualFold(scheme, s2) && sameAuthority(scheme, authority, a2) && rest == r2
	}
	s2, a2, r2, ok := splitAbsoluteURI(uri)
	return ok && sameAuthority(s2, host, a2) && r2 == target
}

// splitAbsoluteURI splits "scheme://authority/path?query" into its scheme,
// authority and the rest, which is "/" when the path is empty.
func splitAbsoluteURI(u string) (scheme, authority, rest string, ok bool) {
	scheme, after, ok := strings.Cut(u, "://")
	if !ok || scheme == "" || strings.ContainsAny(scheme, "/?#") {
		return "", "", "", false
	}
	i := 0
	for i < len(after) && after[i] != '/' && after[i] != '?' {
		i++ // a byte loop: IndexAny builds a set on every call
	}
	if i == len(after) {
		return scheme, after, "/", true
	}
	authority, rest = after[:i], after[i:]
	if rest[0] == '?' {
		rest = "/" + rest
	}
	return scheme, authority, rest, true
}

// sameAuthority compares two host[:port] forms of one scheme: host names
// case-insensitively, the scheme's default port the same as none.
func sameAuthority(scheme, a, b string) bool {
	return strings.EqualFold(withoutDefaultPort(scheme, a), withoutDefaultPort(scheme, b))
}

func withoutDefaultPort(scheme, authority string) string {
	switch {
	case strings.EqualFold(scheme, "http"):
		return strings.TrimSuffix(authority, ":80")
	case strings.EqualFold(scheme, "https"):
		return strings.TrimSuffix(authority, ":443")
	}
	return authority
}

// Interface guard
var _ scheme = (*digestScheme)(nil)
