package proxyauth

import (
	"errors"
	"fmt"
	"strings"
)

// parseHTPasswd reads the content of an Apache htpasswd file and calls add
// for each `user:hash` line, with its 1-based line number. Blank lines and
// lines starting with `#` are skipped; a CRLF line ending is accepted. As in
// Apache, anything after a second colon is ignored. The first error, from
// the format or from add, is returned as "name:line: message".
//
// user and hash are substrings of data, so a large file costs one copy.
func parseHTPasswd(name, data string, add func(line int, user, hash string) error) error {
	return forEachCredentialLine(name, data, func(lineNo int, line string) error {
		user, rest, found := strings.Cut(line, ":")
		if !found {
			return errors.New("no colon between user name and password hash")
		}
		hash, _, _ := strings.Cut(rest, ":")
		hash = strings.TrimRight(hash, " \t")
		return add(lineNo, user, hash)
	})
}

// forEachCredentialLine calls fn for each line of a credential file
// (htpasswd, htdigest) with its 1-based number, skipping blank lines and
// `#` comments and accepting CRLF line endings. The first error stops it
// and is returned as "name:line: message".
func forEachCredentialLine(name, data string, fn func(lineNo int, line string) error) error {
	for lineNo := 1; data != ""; lineNo++ {
		var line string
		line, data, _ = strings.Cut(data, "\n")
		line = strings.TrimSuffix(line, "\r")
		if strings.TrimSpace(line) == "" || line[0] == '#' {
			continue
		}
		if err := fn(lineNo, line); err != nil {
			return fmt.Errorf("%s:%d: %v", name, lineNo, err)
		}
	}
	return nil
}
