package proxyauth

import (
	"strings"
	"unicode/utf8"
)

// The Digest credentials a client sends are a list of auth-params (RFC 9110
// §11.2, §5.6):
//
//	auth-param = token BWS "=" BWS ( token / quoted-string )
//
// separated by commas, with optional whitespace and empty list elements.
// Parameter names are case-insensitive. The input is untrusted, so the
// parser is strict about everything a real client never sends (duplicate
// parameters, control characters, unterminated quotes) and bounded in what
// it accepts, and it never allocates except to unescape a quoted-string
// that holds a backslash.

// maxDigestParams bounds how many parameters (known or not) one credentials
// field may carry. RFC 7616 defines 13; clients send 9 to 11.
const maxDigestParams = 24

// digestParam names the parameters RFC 7616 §3.4 defines for credentials.
type digestParam uint8

const (
	paramUsername digestParam = iota
	paramUsernameStar
	paramRealm
	paramURI
	paramResponse
	paramAlgorithm
	paramCnonce
	paramOpaque
	paramQop
	paramNC
	paramUserhash
	paramNonce
	numDigestParams
)

var digestParamNames = [numDigestParams]string{
	paramUsername:     "username",
	paramUsernameStar: "username*",
	paramRealm:        "realm",
	paramURI:          "uri",
	paramResponse:     "response",
	paramAlgorithm:    "algorithm",
	paramCnonce:       "cnonce",
	paramOpaque:       "opaque",
	paramQop:          "qop",
	paramNC:           "nc",
	paramUserhash:     "userhash",
	paramNonce:        "nonce",
}

// digestParams are the known parameters of one Digest credentials field,
// unquoted. Unknown parameters are ignored, as RFC 7616 §3.4 asks.
type digestParams struct {
	values  [numDigestParams]string
	present uint16 // bit p set: parameter p was sent
}

func (p *digestParams) has(name digestParam) bool { return p.present&(1<<name) != 0 }

func (p *digestParams) get(name digestParam) string { return p.values[name] }

// parseDigestParams parses the part of a Digest credentials field after the
// scheme name. A non-empty reason says what is wrong, without quoting the
// input (it may hold a password typed into the wrong field).
func parseDigestParams(s string) (p digestParams, reason string) {
	if len(s) > maxCredentialsLength {
		return p, "Digest credentials too long"
	}
	// Names of unknown parameters seen so far, to refuse duplicates of
	// those too: a parser elsewhere in the chain might read either copy.
	var unknown [maxDigestParams]string
	count := 0
	for {
		s = skipListSeparators(s)
		if s == "" {
			break
		}
		if count++; count > maxDigestParams {
			return p, "too many Digest parameters"
		}

		name, rest := cutToken(s)
		if name == "" {
			return p, "Digest parameter without a name"
		}
		rest = trimOWS(rest)
		if rest == "" || rest[0] != '=' {
			return p, "Digest parameter without a value"
		}
		rest = trimOWS(rest[1:])

		var value string
		var ok bool
		if rest != "" && rest[0] == '"' {
			value, rest, ok = cutQuotedString(rest)
			if !ok {
				return p, "malformed quoted-string in Digest parameter"
			}
		} else {
			value, rest = cutToken(rest)
			if value == "" {
				return p, "Digest parameter with an empty or malformed value"
			}
		}
		rest = trimOWS(rest)
		if rest != "" && rest[0] != ',' {
			return p, "junk after a Digest parameter value"
		}
		s = rest

		if known, found := lookupDigestParam(name); found {
			if p.has(known) {
				return p, "duplicate Digest parameter " + digestParamNames[known]
			}
			p.present |= 1 << known
			p.values[known] = value
			continue
		}
		for _, seen := range unknown[:count-1] {
			if strings.EqualFold(seen, name) {
				return p, "duplicate Digest parameter"
			}
		}
		unknown[count-1] = name
	}
	return p, ""
}

func lookupDigestParam(name string) (digestParam, bool) {
	if len(name) >= len(digestParamsByLength) {
		return 0, false
	}
	for _, p := range digestParamsByLength[len(name)] {
		if strings.EqualFold(name, digestParamNames[p]) {
			return p, true
		}
	}
	return 0, false
}

// digestParamsByLength lists the parameters by the length of their name,
// so a lookup compares a name with two or three others at most.
var digestParamsByLength = func() (t [10][]digestParam) {
	for p, name := range digestParamNames {
		t[len(name)] = append(t[len(name)], digestParam(p))
	}
	return t
}()

// skipListSeparators skips whitespace and the commas of empty list
// elements (RFC 9110 §5.6.1 asks recipients to accept those).
func skipListSeparators(s string) string {
	for s != "" && (s[0] == ',' || s[0] == ' ' || s[0] == '\t') {
		s = s[1:]
	}
	return s
}

func trimOWS(s string) string {
	for s != "" && (s[0] == ' ' || s[0] == '\t') {
		s = s[1:]
	}
	return s
}

// cutToken splits s after its leading run of tchars (RFC 9110 §5.6.2).
func cutToken(s string) (token, rest string) {
	i := 0
	for i < len(s) && isTokenChar(s[i]) {
		i++
	}
	return s[:i], s[i:]
}

func isTokenChar(c byte) bool { return tokenChars[c] }

var tokenChars = func() (t [256]bool) {
	for c := range 256 {
		t[c] = 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("!#$%&'*+-.^_`|~", byte(c)) >= 0
	}
	return t
}()

// cutQuotedString reads the quoted-string at the start of s (RFC 9110
// §5.6.4) and returns its content unescaped. Control characters other than
// tab are refused; bytes from 0x80 up (obs-text) are allowed, since clients
// send UTF-8 user names that way.
func cutQuotedString(s string) (value, rest string, ok bool) {
	escapes := false
	for i := 1; ; {
		for i < len(s) && qdtextChars[s[i]] {
			i++
		}
		switch {
		case i == len(s):
			return "", "", false // no closing quote
		case s[i] == '"':
			if !escapes {
				return s[1:i], s[i+1:], true
			}
			return unescapeQuoted(s[1:i]), s[i+1:], true
		case s[i] == '\\' && i+1 < len(s) && isQuotedPairChar(s[i+1]):
			escapes = true
			i += 2
		default:
			return "", "", false // a control character, or a backslash before one
		}
	}
}

// qdtextChars are the bytes a quoted-string holds as they are: everything
// but controls (tab excepted), DEL, `"` and `\`.
var qdtextChars = func() (t [256]bool) {
	for c := range 256 {
		t[c] = c == '\t' || c >= 0x20 && c != 0x7f && c != '"' && c != '\\'
	}
	return t
}()

func isQuotedPairChar(c byte) bool {
	return c == '\t' || c >= 0x20 && c != 0x7f
}

// unescapeQuoted drops the backslash of each quoted-pair in s, which
// cutQuotedString has checked.
func unescapeQuoted(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' {
			i++
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// decodeExtValue decodes an RFC 8187 ext-value, the form of `username*`:
//
//	ext-value = charset "'" [ language ] "'" value-chars
//
// charset is UTF-8 (which recipients must support) or ISO-8859-1 (which is
// trivially converted); the language tag is ignored. The result is UTF-8.
func decodeExtValue(s string) (string, bool) {
	charset, rest, ok := strings.Cut(s, "'")
	if !ok {
		return "", false
	}
	language, encoded, ok := strings.Cut(rest, "'")
	if !ok || !isLanguageTag(language) {
		return "", false
	}
	latin1 := false
	switch {
	case strings.EqualFold(charset, "UTF-8"):
	case strings.EqualFold(charset, "ISO-8859-1"):
		latin1 = true
	default:
		return "", false
	}

	decoded := make([]byte, 0, len(encoded))
	for i := 0; i < len(encoded); i++ {
		c := encoded[i]
		switch {
		case c == '%':
			if i+2 >= len(encoded) {
				return "", false
			}
			hi, ok1 := unhex(encoded[i+1])
			lo, ok2 := unhex(encoded[i+2])
			if !ok1 || !ok2 {
				return "", false
			}
			decoded = append(decoded, hi<<4|lo)
			i += 2
		case isAttrChar(c):
			decoded = append(decoded, c)
		default:
			return "", false
		}
	}
	if latin1 {
		var b strings.Builder
		for _, c := range decoded {
			b.WriteRune(rune(c))
		}
		return b.String(), true
	}
	if !utf8.Valid(decoded) {
		return "", false
	}
	return string(decoded), true
}

// isAttrChar reports whether c may appear unencoded in an ext-value (RFC
// 8187 §3.2.1: a tchar other than "*", "'" and "%").
func isAttrChar(c byte) bool {
	return c != '*' && c != '\'' && c != '%' && isTokenChar(c)
}

// isLanguageTag accepts what a language tag is made of (RFC 5646: letters,
// digits and hyphens); the tag itself means nothing to authentication.
func isLanguageTag(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

func unhex(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}
