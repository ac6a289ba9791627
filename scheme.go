package proxyauth

import (
	"fmt"
	"net/http"
	"strings"
)

// maxCredentialsLength bounds the Proxy-Authorization field the handler is
// willing to parse. Real credentials are far shorter; anything longer is an
// attack or a broken client and gets a 407 without further work.
const maxCredentialsLength = 8 << 10

// A scheme is one HTTP authentication scheme the handler offers (Basic,
// Digest, ...). Adding a scheme means adding a file that implements it.
type scheme interface {
	// name is the scheme's token as written in challenges, e.g. "Basic".
	// Requests may spell it in any case.
	name() string

	// challenges returns the Proxy-Authenticate field values this scheme
	// adds to a 407, given why the request was refused.
	challenges(v verdict) []string

	// authenticate checks the credentials that followed the scheme name in
	// Proxy-Authorization against accounts. It writes nothing: what a
	// success answers with goes in the verdict, and is sent only if the
	// limits let the request through.
	authenticate(r *http.Request, credentials string, accounts *accountSet) verdict
}

// outcome is what became of one attempt to authenticate.
type outcome uint8

const (
	outcomeMissing outcome = iota
	outcomeAuthenticated
	outcomeMalformed
	outcomeUnsupportedScheme
	outcomeUnknownUser
	outcomeWrongPassword
	outcomeError
	outcomeLocked     // refused unverified: too many failures (429)
	outcomeBusy       // not verified: no password hash slot free (503)
	outcomeTooManyIPs // valid, but max_ips_per_user exceeded (403)
	// outcomeStale: a Digest response that was right for a nonce that is
	// expired or not ours; the 407 says stale=true so the client retries
	// with the new nonce without asking its user. Routine, not a failure.
	outcomeStale
	// outcomeReplayed: a correct Digest response whose nonce and nonce
	// count were used before: a replay, or a client bug.
	outcomeReplayed
	// outcomeURIMismatch: Digest credentials for another resource than the
	// request's (RFC 7616 §3.4.6): 400, not 407.
	outcomeURIMismatch
)

var outcomeNames = [...]string{
	outcomeMissing:           "missing",
	outcomeAuthenticated:     "authenticated",
	outcomeMalformed:         "malformed",
	outcomeUnsupportedScheme: "unsupported_scheme",
	outcomeUnknownUser:       "unknown_user",
	outcomeWrongPassword:     "wrong_password",
	outcomeError:             "error",
	outcomeLocked:            "locked",
	outcomeBusy:              "busy",
	outcomeTooManyIPs:        "too_many_ips",
	outcomeStale:             "stale",
	outcomeReplayed:          "replayed",
	outcomeURIMismatch:       "uri_mismatch",
}

func (o outcome) String() string {
	if int(o) < len(outcomeNames) {
		return outcomeNames[o]
	}
	return fmt.Sprintf("outcome(%d)", o)
}

// verdict is a scheme's answer about one request. It carries nothing secret:
// user is the name the client claimed, which may be logged once sanitised.
type verdict struct {
	outcome outcome
	scheme  string
	user    string
	reason  string
	// authInfo is the Proxy-Authentication-Info value of a Digest success
	// (RFC 7616 §3.5), sent with the request's answer if it is let through.
	authInfo string
}

// splitAuthScheme splits a credentials field value into its auth-scheme and
// what follows it (RFC 9110 §11.4: auth-scheme 1*SP ...). Go has already
// trimmed the value's surrounding whitespace.
func splitAuthScheme(field string) (name, rest string, ok bool) {
	i := 0
	for i < len(field) && field[i] != ' ' && field[i] != '\t' {
		i++ // a byte loop: IndexAny and TrimLeft build a set on every call
	}
	if i == 0 || i == len(field) {
		return "", "", false
	}
	rest = trimOWS(field[i:])
	if rest == "" {
		return "", "", false
	}
	return field[:i], rest, true
}

// quoteString renders s as an HTTP quoted-string (RFC 9110 §5.6.4),
// escaping `"` and `\`.
func quoteString(s string) string {
	if !strings.ContainsAny(s, `"\`) {
		return `"` + s + `"`
	}
	var b strings.Builder
	b.Grow(len(s) + 4)
	writeQuoted(&b, s)
	return b.String()
}

// writeQuoted writes s to b as a quoted-string.
func writeQuoted(b *strings.Builder, s string) {
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		if s[i] == '"' || s[i] == '\\' {
			b.WriteByte('\\')
		}
		b.WriteByte(s[i])
	}
	b.WriteByte('"')
}

// checkRealm rejects realms that cannot be sent in a quoted-string.
func checkRealm(realm string) error {
	for i := 0; i < len(realm); i++ {
		if !isQuotedPairChar(realm[i]) {
			return fmt.Errorf("realm contains a control character at byte %d", i)
		}
	}
	return nil
}
