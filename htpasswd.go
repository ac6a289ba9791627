package proxyauth

import (
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
	for lineNo := 1; data != ""; lineNo++ {
		var line string
		line, data, _ = strings.Cut(data, "\n")
		line = strings.TrimSuffix(line, "\r")
		if strings.TrimSpace(line) == "" || line[0] == '#' {
			continue
		}
		user, rest, found := strings.Cut(line, ":")
		if !found {
			return fmt.Errorf("%s:%d: no colon between user name and password hash", name, lineNo)
		}
		hash, _, _ := strings.Cut(rest, ":")
		hash = strings.TrimRight(hash, " \t")
		if err := add(lineNo, user, hash); err != nil {
			return fmt.Errorf("%s:%d: %v", name, lineNo, err)
		}
	}
	return nil
}
