package benchclient

import (
	"encoding/base64"
	"errors"
	"fmt"
)

// Authenticator supplies the Proxy-Authorization field of each request and
// learns from the proxy's answers. One Authenticator serves one worker:
// implementations need not be safe for concurrent use.
type Authenticator interface {
	// Authorization returns the field value for the next request, or ""
	// to send none. uri is the request-target as it goes on the wire.
	Authorization(method, uri string) string
	// Challenged is given the Proxy-Authenticate fields of a 407 answer to a
	// request that carried credentials (sent) or none. It reports whether
	// the request should be sent again with new credentials.
	Challenged(fields []string, sent bool) (retry bool, err error)
	// Succeeded is given the Proxy-Authentication-Info field (maybe empty)
	// of an answer that was not a 407.
	Succeeded(info string) error
}

// Auth modes accepted by NewAuthenticator.
const (
	AuthNone   = "none"
	AuthBasic  = "basic"
	AuthDigest = "digest"
)

// NewAuthenticator returns an Authenticator for mode: "none" sends no
// credentials, "basic" sends them preemptively on every request, "digest"
// waits for the first challenge and then answers every request (algorithm
// may name the one Digest algorithm to use; empty means the strongest
// offered).
func NewAuthenticator(mode, username, password, algorithm string) (Authenticator, error) {
	switch mode {
	case AuthNone:
		return noAuth{}, nil
	case AuthBasic:
		return basicAuth("Basic " + base64.StdEncoding.EncodeToString([]byte(username+":"+password))), nil
	case AuthDigest:
		d, err := NewDigest(username, password, algorithm)
		if err != nil {
			return nil, err
		}
		return digestAuth{d}, nil
	}
	return nil, fmt.Errorf("unknown auth mode %q (want %s, %s or %s)", mode, AuthNone, AuthBasic, AuthDigest)
}

type noAuth struct{}

func (noAuth) Authorization(string, string) string     { return "" }
func (noAuth) Challenged([]string, bool) (bool, error) { return false, nil }
func (noAuth) Succeeded(string) error                  { return nil }

type basicAuth string

func (b basicAuth) Authorization(string, string) string { return string(b) }

func (basicAuth) Challenged(_ []string, sent bool) (bool, error) {
	if sent {
		return false, errCredentialsRefused
	}
	return false, nil
}

func (basicAuth) Succeeded(string) error { return nil }

type digestAuth struct{ d *Digest }

func (a digestAuth) Authorization(method, uri string) string {
	return a.d.Authorization(method, uri)
}

// Challenged answers the first challenge, and a stale nonce later; a 407 to
// credentials computed for a fresh nonce means the password was refused.
func (a digestAuth) Challenged(fields []string, sent bool) (bool, error) {
	stale, err := a.d.Challenged(fields)
	if err != nil {
		return false, err
	}
	if sent && !stale {
		return false, errCredentialsRefused
	}
	return true, nil
}

func (a digestAuth) Succeeded(info string) error { return a.d.AuthenticationInfo(info) }

var errCredentialsRefused = errors.New("the proxy refused the credentials")
