package proxyauth

import (
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// maxLoggedNameLength bounds how much of a claimed user name reaches a log
// line: enough for any real name, too little for a pasted secret to be
// useful in full.
const maxLoggedNameLength = 64

const ellipsis = "…"

// sanitizeForLog makes a client-supplied name safe to log: invalid UTF-8 and
// non-printing characters become U+FFFD, and it is cut to
// maxLoggedNameLength bytes.
func sanitizeForLog(s string) string {
	clean := true
	for _, r := range s {
		if r == utf8.RuneError || !unicode.IsPrint(r) {
			clean = false
			break
		}
	}
	if clean && len(s) <= maxLoggedNameLength {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		if r == utf8.RuneError || !unicode.IsPrint(r) {
			r = utf8.RuneError
		}
		if b.Len()+utf8.RuneLen(r) > maxLoggedNameLength-len(ellipsis) {
			b.WriteString(ellipsis)
			break
		}
		b.WriteRune(r)
	}
	return b.String()
}

// checkHandlerName rejects handler names that would garble the admin API's
// JSON, log lines and metric labels.
func checkHandlerName(name string) error {
	if name == "" {
		return errors.New("empty handler name")
	}
	if !utf8.ValidString(name) {
		return errors.New("handler name is not valid UTF-8")
	}
	for _, r := range name {
		if unicode.IsControl(r) {
			return fmt.Errorf("handler name %q contains a control character", sanitizeForLog(name))
		}
	}
	return nil
}
