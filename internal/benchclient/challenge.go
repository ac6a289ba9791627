package benchclient

import (
	"errors"
	"fmt"
	"strings"
)

// Challenge is one challenge of a Proxy-Authenticate field (RFC 9110 §11.3):
// an auth-scheme followed by either a token68 or a list of auth-params.
type Challenge struct {
	// Scheme is the auth-scheme as sent; compare it with strings.EqualFold.
	Scheme string
	// Token68 is the scheme's single token68 argument, if it has one.
	Token68 string
	// Params are the auth-params, names lower-cased (they are
	// case-insensitive), values with quoting and quoted-pairs removed.
	Params map[string]string
}

// ParseChallenges parses every challenge in the given field values. A field
// may hold several challenges separated by commas, and the field may be
// repeated; empty list elements are skipped (RFC 9110 §5.6.1.2).
func ParseChallenges(fields []string) ([]Challenge, error) {
	var out []Challenge
	for _, f := range fields {
		p := challengeParser{s: f}
		cs, err := p.parseAll()
		if err != nil {
			return nil, fmt.Errorf("Proxy-Authenticate %q: %w", f, err)
		}
		out = append(out, cs...)
	}
	return out, nil
}

type challengeParser struct {
	s string
	i int
}

func (p *challengeParser) parseAll() ([]Challenge, error) {
	var out []Challenge
	for {
		p.skipListSeparators()
		if p.i == len(p.s) {
			return out, nil
		}
		c, err := p.parseChallenge()
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
}

// parseChallenge reads one challenge and stops at the comma (or end) after
// its last auth-param, leaving the separator for the caller.
func (p *challengeParser) parseChallenge() (Challenge, error) {
	scheme := p.token()
	if scheme == "" {
		return Challenge{}, fmt.Errorf("expected an auth-scheme at byte %d", p.i)
	}
	c := Challenge{Scheme: scheme}
	if !p.skipSpaces() || p.atSeparator() {
		return c, nil // a scheme alone
	}
	if !p.paramAhead() {
		t := p.token68()
		if t == "" {
			return Challenge{}, fmt.Errorf("expected a token68 or auth-param after %q at byte %d", scheme, p.i)
		}
		c.Token68 = t
		p.skipSpaces()
		if !p.atSeparator() {
			return Challenge{}, fmt.Errorf("unexpected %q after token68 at byte %d", p.s[p.i], p.i)
		}
		return c, nil
	}
	c.Params = make(map[string]string)
	for {
		name, value, err := p.param()
		if err != nil {
			return Challenge{}, err
		}
		if _, dup := c.Params[name]; dup {
			// RFC 9110 §11.2: each parameter name MUST only occur once.
			return Challenge{}, fmt.Errorf("auth-param %q repeated", name)
		}
		c.Params[name] = value
		// After a comma, another auth-param continues this challenge;
		// anything else starts the next challenge.
		save := p.i
		p.skipListSeparators()
		if p.i == len(p.s) || !p.paramAhead() {
			p.i = save
			return c, nil
		}
	}
}

// param reads name BWS "=" BWS ( token / quoted-string ).
func (p *challengeParser) param() (name, value string, err error) {
	name = strings.ToLower(p.token())
	p.skipSpaces()
	if p.i == len(p.s) || p.s[p.i] != '=' {
		return "", "", fmt.Errorf("expected '=' after %q at byte %d", name, p.i)
	}
	p.i++
	p.skipSpaces()
	if p.i < len(p.s) && p.s[p.i] == '"' {
		value, err = p.quotedString()
		if err != nil {
			return "", "", err
		}
	} else {
		value = p.token()
		if value == "" {
			return "", "", fmt.Errorf("auth-param %q has no value", name)
		}
	}
	p.skipSpaces()
	if !p.atSeparator() {
		return "", "", fmt.Errorf("unexpected %q after auth-param %q at byte %d", p.s[p.i], name, p.i)
	}
	return name, value, nil
}

// paramAhead reports whether the input at p.i reads `token BWS "="` followed
// by something other than another "=" (which would make it a token68 such
// as "abc==").
func (p *challengeParser) paramAhead() bool {
	j := p.i
	for j < len(p.s) && isTokenChar(p.s[j]) {
		j++
	}
	if j == p.i {
		return false
	}
	for j < len(p.s) && (p.s[j] == ' ' || p.s[j] == '\t') {
		j++
	}
	if j == len(p.s) || p.s[j] != '=' {
		return false
	}
	j++
	for j < len(p.s) && (p.s[j] == ' ' || p.s[j] == '\t') {
		j++
	}
	return j < len(p.s) && p.s[j] != '=' && p.s[j] != ','
}

func (p *challengeParser) token() string {
	start := p.i
	for p.i < len(p.s) && isTokenChar(p.s[p.i]) {
		p.i++
	}
	return p.s[start:p.i]
}

// token68 = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="
func (p *challengeParser) token68() string {
	start := p.i
	for p.i < len(p.s) && isToken68Char(p.s[p.i]) {
		p.i++
	}
	if p.i == start {
		return ""
	}
	for p.i < len(p.s) && p.s[p.i] == '=' {
		p.i++
	}
	return p.s[start:p.i]
}

var errUnterminatedQuote = errors.New("unterminated quoted-string")

func (p *challengeParser) quotedString() (string, error) {
	p.i++ // opening quote
	var b strings.Builder
	for p.i < len(p.s) {
		c := p.s[p.i]
		switch {
		case c == '"':
			p.i++
			return b.String(), nil
		case c == '\\':
			if p.i+1 == len(p.s) {
				return "", errUnterminatedQuote
			}
			b.WriteByte(p.s[p.i+1])
			p.i += 2
		case c < 0x20 && c != '\t' || c == 0x7f:
			return "", fmt.Errorf("control character in quoted-string at byte %d", p.i)
		default:
			b.WriteByte(c)
			p.i++
		}
	}
	return "", errUnterminatedQuote
}

// skipSpaces skips SP and HTAB and reports whether any were skipped.
func (p *challengeParser) skipSpaces() bool {
	start := p.i
	for p.i < len(p.s) && (p.s[p.i] == ' ' || p.s[p.i] == '\t') {
		p.i++
	}
	return p.i > start
}

func (p *challengeParser) skipListSeparators() {
	for p.i < len(p.s) && (p.s[p.i] == ' ' || p.s[p.i] == '\t' || p.s[p.i] == ',') {
		p.i++
	}
}

func (p *challengeParser) atSeparator() bool {
	return p.i == len(p.s) || p.s[p.i] == ','
}

// isTokenChar reports whether c is a tchar (RFC 9110 §5.6.2).
func isTokenChar(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	return strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0
}

func isToken68Char(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	return strings.IndexByte("-._~+/", c) >= 0
}
