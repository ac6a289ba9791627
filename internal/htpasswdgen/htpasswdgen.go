// Package htpasswdgen writes large htpasswd files of bcrypt accounts for
// scale tests and benchmarks, without hashing once per account: a handful
// of real bcrypt hashes (of known passwords) are reused in turn, so every
// line is a valid, verifiable account and a million of them take a second
// to write rather than a day to hash.
package htpasswdgen

import (
	"bufio"
	"fmt"
	"io"
	"strconv"

	"golang.org/x/crypto/bcrypt"
)

// Hashes is how many distinct hashes a file reuses.
const Hashes = 8

// UserName is the name of account i (0-based): user0000000, user0000001...
func UserName(i int) string { return fmt.Sprintf("user%07d", i) }

// Password is the password of account i.
func Password(i int) string { return "password-" + strconv.Itoa(i%Hashes) }

// NewHashes makes the bcrypt hashes, in htpasswd's $2y$ form, of the
// passwords Password uses, at the given cost.
func NewHashes(cost int) ([]string, error) {
	hashes := make([]string, Hashes)
	for i := range hashes {
		h, err := bcrypt.GenerateFromPassword([]byte(Password(i)), cost)
		if err != nil {
			return nil, err
		}
		hashes[i] = "$2y$" + string(h[4:]) // $2a$ and $2y$ are the same algorithm
	}
	return hashes, nil
}

// Write writes n accounts, one `user:hash` line each, using hashes in turn.
func Write(w io.Writer, n int, hashes []string) error {
	bw := bufio.NewWriterSize(w, 1<<20)
	for i := range n {
		if _, err := fmt.Fprintf(bw, "%s:%s\n", UserName(i), hashes[i%len(hashes)]); err != nil {
			return err
		}
	}
	return bw.Flush()
}
