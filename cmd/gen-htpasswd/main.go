// Command gen-htpasswd writes an htpasswd file of n bcrypt accounts for
// scale tests, reusing a few real hashes (see internal/htpasswdgen):
//
//	go run ./cmd/gen-htpasswd -n 1000000 -o /tmp/million.htpasswd
//
// Account i is user%07d with password "password-<i mod 8>", e.g.
// user0000009 / password-1.
package main

import (
	"flag"
	"fmt"
	"os"

	"golang.org/x/crypto/bcrypt"

	"github.com/caddy-proxyauth/proxyauth/internal/htpasswdgen"
)

func main() {
	n := flag.Int("n", 1000, "number of accounts")
	out := flag.String("o", "-", "output file (- for standard output)")
	cost := flag.Int("cost", bcrypt.DefaultCost, "bcrypt cost of the reused hashes")
	flag.Parse()
	if err := run(*n, *out, *cost); err != nil {
		fmt.Fprintln(os.Stderr, "gen-htpasswd:", err)
		os.Exit(1)
	}
}

func run(n int, out string, cost int) error {
	if n < 0 {
		return fmt.Errorf("-n must not be negative, got %d", n)
	}
	hashes, err := htpasswdgen.NewHashes(cost)
	if err != nil {
		return err
	}
	if out == "-" {
		return htpasswdgen.Write(os.Stdout, n, hashes)
	}
	f, err := os.OpenFile(out, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	if err := htpasswdgen.Write(f, n, hashes); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
