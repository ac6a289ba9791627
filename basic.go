package proxyauth

import (
	"bytes"
	"encoding/base64"
	"net/http"
)

// basicScheme is the Basic authentication scheme (RFC 7617).
type basicScheme struct {
	challenge []string
	verify    passwordVerifier
}

// passwordVerifier checks a user name and password from r against
// accounts; the handler's implementation applies the failure limits and
// puts the cache of verified credentials in front of the slow password
// hash.
type passwordVerifier func(r *http.Request, user string, password []byte, accounts *accountSet) outcome

func newBasicScheme(realm string, verify passwordVerifier) *basicScheme {
	// charset="UTF-8" tells clients to send non-ASCII names and passwords
	// as UTF-8 (RFC 7617 §2.1), which is how hashes are made.
	return &basicScheme{
		challenge: []string{"Basic realm=" + quoteString(realm) + `, charset="UTF-8"`},
		verify:    verify,
	}
}

// basicSchemeName is Basic's token in challenges and credentials.
const basicSchemeName = "Basic"

func (*basicScheme) name() string { return basicSchemeName }

func (s *basicScheme) challenges(verdict) []string { return s.challenge }

func (s *basicScheme) authenticate(r *http.Request, credentials string, accounts *accountSet) verdict {
	user, password, reason := parseBasicCredentials(credentials)
	if reason != "" {
		return verdict{outcome: outcomeMalformed, reason: reason}
	}
	return verdict{outcome: s.verify(r, user, password, accounts), user: user}
}

// parseBasicCredentials decodes the token68 of Basic credentials into a user
// name and password, splitting at the first colon (a password may contain
// colons; a user name may not). A non-empty reason says why the
// credentials are malformed.
func parseBasicCredentials(token string) (user string, password []byte, reason string) {
	// The password goes on to the verifier, a function value, so a buffer
	// on the stack would be moved to the heap anyway: one of the decoded
	// size is the cheapest.
	dst := make([]byte, base64.StdEncoding.DecodedLen(len(token)))
	n, err := base64.StdEncoding.Decode(dst, []byte(token))
	if err != nil {
		return "", nil, "Basic credentials are not valid base64"
	}
	decoded := dst[:n]
	if hasControlChar(decoded) {
		return "", nil, "Basic credentials contain a control character"
	}
	name, pass, found := bytes.Cut(decoded, []byte{':'})
	if !found {
		return "", nil, "Basic credentials have no colon"
	}
	if len(name) == 0 {
		return "", nil, "Basic credentials have an empty user name"
	}
	return string(name), pass, ""
}

// hasControlChar reports whether b holds an ASCII control character, which
// RFC 7617 §2 forbids in user names and passwords.
func hasControlChar(b []byte) bool {
	for _, c := range b {
		if c < 0x20 || c == 0x7f {
			return true
		}
	}
	return false
}
