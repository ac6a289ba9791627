package proxyauth

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/caddyserver/caddy/v2"
	caddycmd "github.com/caddyserver/caddy/v2/cmd"
)

func init() {
	caddycmd.RegisterCommand(caddycmd.Command{
		Name:  "hash-digest",
		Usage: "--user <name> [--realm <realm>] [--algorithm <name>[,<name>...]]",
		Short: "Prints htdigest lines for proxy_auth's Digest authentication",
		Long: `
Reads a password and prints the htdigest lines proxy_auth reads for the
user: H(A1) = H(user:realm:password) for each algorithm, one line each.
Append them to a file named by the htdigest subdirective of proxy_auth.

On a terminal the password is read twice, without echo. Otherwise one line
is read from standard input.

--user
    The user name (required). It may not contain a colon.

--realm
    The realm of the proxy_auth handler; it is part of the hash, so the
    lines only work for that realm. Default: "proxy", proxy_auth's default.

--algorithm
    The algorithms to print lines for: SHA-256, SHA-512-256, MD5, or "all".
    Default: SHA-256, which every tested Digest client but Python's urllib
    answers (curl, Chromium, Java). SHA-512-256 only helps clients that get
    it right (curl before 8.8, Chromium and Java 17 do not), and a
    challenge for it can make a client that answers the last challenge
    (Java) fail. Add MD5 only for clients that know no other (Python's
    urllib): an MD5 H(A1) is quick to attack if the file leaks. An MD5 line has the three fields Apache's htdigest
    writes; the others name their algorithm in a fourth field.
`,
		CobraFunc: func(cmd *cobra.Command) {
			cmd.Flags().String("user", "", "The user name")
			cmd.Flags().String("realm", defaultRealm, "The realm of the proxy_auth handler")
			cmd.Flags().StringSlice("algorithm", []string{digestSHA256.String()}, "Algorithms to print lines for (SHA-256, SHA-512-256, MD5, all)")
			cmd.RunE = caddycmd.WrapCommandFuncForCobra(cmdHashDigest)
		},
	})
}

func cmdHashDigest(fs caddycmd.Flags) (int, error) {
	user, realm := fs.String("user"), fs.String("realm")
	names, err := fs.GetStringSlice("algorithm")
	if err != nil {
		return caddy.ExitCodeFailedStartup, err
	}
	if len(names) == 1 && strings.EqualFold(names[0], "all") {
		names = digestAlgorithmNames[:]
	}
	algos, err := parseDigestAlgorithms(names)
	if err != nil {
		return caddy.ExitCodeFailedStartup, err
	}
	if err := checkHashDigestInput(user, realm, algos); err != nil {
		return caddy.ExitCodeFailedStartup, err
	}

	password, err := readPassword(os.Stdin, os.Stderr)
	if err != nil {
		return caddy.ExitCodeFailedStartup, err
	}
	for _, line := range htdigestLines(user, realm, algos, password) {
		fmt.Println(line)
	}
	return 0, nil
}

func checkHashDigestInput(user, realm string, algos []digestAlgorithm) error {
	if err := checkUsername(user); err != nil {
		return fmt.Errorf("--user: %v", err)
	}
	if err := checkRealm(realm); err != nil {
		return fmt.Errorf("--realm: %v", err)
	}
	if i := strings.LastIndexByte(realm, ':'); i >= 0 {
		if _, ok := parseDigestAlgorithm(realm[i+1:]); ok {
			return errors.New("--realm: a realm ending in a colon and an algorithm name cannot be written in an htdigest line")
		}
	}
	if len(algos) == 0 {
		return errors.New("--algorithm: name at least one algorithm")
	}
	return nil
}

// htdigestLines are the htdigest lines of user's password: MD5 in Apache's
// three-field form, the other algorithms with their name as a fourth.
func htdigestLines(user, realm string, algos []digestAlgorithm, password []byte) []string {
	lines := make([]string, 0, len(algos))
	for _, a := range algos {
		prefix := user + ":" + realm + ":"
		if a != digestMD5 {
			prefix += a.String() + ":"
		}
		lines = append(lines, string(a.appendHA1([]byte(prefix), user, realm, password)))
	}
	return lines
}

// readPassword reads the password: twice without echo from a terminal, or
// one line (without its line ending) from anything else.
func readPassword(in *os.File, prompts io.Writer) ([]byte, error) {
	fd := int(in.Fd())
	if !term.IsTerminal(fd) {
		line, err := bufio.NewReader(in).ReadBytes('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return nil, err
		}
		line = bytes.TrimSuffix(bytes.TrimSuffix(line, []byte("\n")), []byte("\r"))
		if len(line) == 0 {
			return nil, errors.New("empty password on standard input")
		}
		return line, nil
	}

	fmt.Fprint(prompts, "Password: ")
	password, err := term.ReadPassword(fd)
	fmt.Fprintln(prompts)
	if err != nil {
		return nil, err
	}
	fmt.Fprint(prompts, "Password again: ")
	again, err := term.ReadPassword(fd)
	fmt.Fprintln(prompts)
	if err != nil {
		return nil, err
	}
	switch {
	case !bytes.Equal(password, again):
		return nil, errors.New("the passwords differ")
	case len(password) == 0:
		return nil, errors.New("empty password")
	}
	return password, nil
}
