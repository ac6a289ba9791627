package proxyauth

import (
	"fmt"
	"strings"
)

// htdigestEntry is one line of an htdigest file: a user's H(A1) =
// H(user:realm:password) for one algorithm, as lowercase hex.
type htdigestEntry struct {
	user, realm string
	algo        digestAlgorithm
	ha1         string
}

// parseHTDigest reads the content of an Apache htdigest file and calls add
// for each entry, with its 1-based line number. Lines are
//
//	user:realm:<MD5 hex>                  as Apache's htdigest writes them
//	user:realm:SHA-256:<hex>              this extension, one line per
//	user:realm:SHA-512-256:<hex>          algorithm ("MD5" may be written too)
//
// Blank lines and lines starting with `#` are skipped; a CRLF line ending
// is accepted. The realm may itself contain colons: the algorithm field is
// recognised by its name, counting from the end. The first error, from the
// format or from add, is returned as "name:line: message"; messages never
// quote the hash.
func parseHTDigest(name, data string, add func(line int, e htdigestEntry) error) error {
	return forEachCredentialLine(name, data, func(lineNo int, line string) error {
		e, err := parseHTDigestLine(line)
		if err != nil {
			return err
		}
		return add(lineNo, e)
	})
}

func parseHTDigestLine(line string) (htdigestEntry, error) {
	var e htdigestEntry
	user, rest, found := strings.Cut(line, ":")
	i := strings.LastIndexByte(rest, ':')
	if !found || i < 0 {
		return e, fmt.Errorf("want user:realm:hash or user:realm:algorithm:hash")
	}
	e.user = user
	e.realm, e.algo = rest[:i], digestMD5
	hash := strings.TrimRight(rest[i+1:], " \t")
	if j := strings.LastIndexByte(e.realm, ':'); j >= 0 {
		if algo, ok := parseDigestAlgorithm(e.realm[j+1:]); ok {
			e.realm, e.algo = e.realm[:j], algo
		}
	}
	if _, ok := decodeDigestHex(e.algo, hash); !ok {
		return e, fmt.Errorf("the %s H(A1) of user %q must be %d hex digits", e.algo, sanitizeForLog(user), e.algo.hexLen())
	}
	e.ha1 = strings.ToLower(hash) // no copy when already lower case, as htdigest writes it
	return e, nil
}
