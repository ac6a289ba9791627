package proxyauth

import (
	"fmt"
	"strings"
	"time"

	"github.com/caddyserver/caddy/v2"
)

// SchemeConfig is one authentication scheme the handler offers. The 407
// carries the schemes' challenges in the order they are listed.
type SchemeConfig struct {
	// The scheme: "basic" (RFC 7617) or "digest" (RFC 7616).
	Scheme string `json:"scheme"`

	// Digest only: the algorithms offered, in order of preference, one
	// challenge each: "SHA-256", "SHA-512-256", "MD5". Every account must
	// have an H(A1) for each of them. Default: every algorithm that all
	// accounts can answer, in that order.
	Algorithms []string `json:"algorithms,omitempty"`
}

const (
	schemeBasic  = "basic"
	schemeDigest = "digest"
)

// accountChecker is a scheme that needs something of every account, such
// as Digest's H(A1) for each offered algorithm. A new account set, at
// provisioning or when credential files are reloaded, must pass every
// scheme's check before it is used.
type accountChecker interface {
	checkAccounts(set *accountSet) error
}

// checkAccounts runs every scheme's check of an account set.
func (h *ProxyAuth) checkAccounts(set *accountSet) error {
	for _, s := range h.schemes {
		if c, ok := s.(accountChecker); ok {
			if err := c.checkAccounts(set); err != nil {
				return err
			}
		}
	}
	return nil
}

// provisionSchemes sets up the configured schemes, Basic alone when none
// is configured.
func (h *ProxyAuth) provisionSchemes(ctx caddy.Context, accounts *accountSet) ([]scheme, error) {
	configs := h.Schemes
	if len(configs) == 0 {
		configs = []SchemeConfig{{Scheme: schemeBasic}}
	}
	var schemes []scheme
	seen := make(map[string]bool)
	for i, c := range configs {
		if seen[c.Scheme] {
			return nil, fmt.Errorf("schemes[%d]: %s is listed twice", i, c.Scheme)
		}
		seen[c.Scheme] = true

		switch c.Scheme {
		case schemeBasic:
			if len(c.Algorithms) > 0 {
				return nil, fmt.Errorf("schemes[%d]: basic takes no algorithms", i)
			}
			schemes = append(schemes, newBasicScheme(h.Realm, h.verifyBasic))
		case schemeDigest:
			s, err := h.provisionDigest(ctx, c.Algorithms, accounts)
			if err != nil {
				return nil, err
			}
			schemes = append(schemes, s)
		default:
			return nil, fmt.Errorf("schemes[%d]: unknown scheme %q: want %q or %q", i, c.Scheme, schemeBasic, schemeDigest)
		}
	}
	return schemes, nil
}

func (h *ProxyAuth) provisionDigest(ctx caddy.Context, names []string, accounts *accountSet) (*digestScheme, error) {
	lifetime := time.Duration(h.NonceLifetime)
	switch {
	case lifetime == 0:
		lifetime = defaultNonceLifetime
	case lifetime < time.Second:
		return nil, fmt.Errorf("nonce_lifetime must be at least 1s, got %s", lifetime)
	}

	algos, err := parseDigestAlgorithms(names)
	if err != nil {
		return nil, err
	}
	if len(algos) == 0 {
		if algos = accounts.answerable(); len(algos) == 0 {
			return nil, noAnswerableAlgorithm(accounts)
		}
	}
	s := newDigestScheme(h.Realm, algos, lifetime, h.state.nonces)
	if err := s.checkAccounts(accounts); err != nil {
		return nil, err
	}

	key, err := loadNonceKey(ctx, ctx.Storage(), h.Name)
	if err != nil {
		return nil, err
	}
	h.state.nonces.setKey(key)
	return s, nil
}

func (s *digestScheme) checkAccounts(set *accountSet) error {
	return set.checkDigestAnswerable(s.algos)
}

// parseDigestAlgorithms reads configured algorithm names, in any case.
func parseDigestAlgorithms(names []string) ([]digestAlgorithm, error) {
	var algos []digestAlgorithm
	var seen [numDigestAlgorithms]bool
	for _, name := range names {
		a, ok := parseDigestAlgorithm(name)
		if !ok {
			return nil, fmt.Errorf("digest: unknown algorithm %q: want SHA-256, SHA-512-256 or MD5", name)
		}
		if seen[a] {
			return nil, fmt.Errorf("digest: algorithm %s listed twice", a)
		}
		seen[a] = true
		algos = append(algos, a)
	}
	return algos, nil
}

// noAnswerableAlgorithm explains why `digest` without algorithms found
// none: for each algorithm, an account that lacks it.
func noAnswerableAlgorithm(accounts *accountSet) error {
	var missing []string
	for algo := range numDigestAlgorithms {
		if user, acct, found := accounts.missingDigest(algo); found {
			missing = append(missing, fmt.Sprintf("%s: account %q (%s) has none", algo, sanitizeForLog(user), accounts.where(acct)))
		}
	}
	return fmt.Errorf("digest: no Digest algorithm can be answered by every account (%s); add htdigest lines (caddy hash-digest prints them)", strings.Join(missing, "; "))
}

// Interface guard
var _ accountChecker = (*digestScheme)(nil)
