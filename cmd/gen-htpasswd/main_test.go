package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"

	"github.com/caddy-proxyauth/proxyauth/internal/htpasswdgen"
)

// TestGeneratedFileIsRealHtpasswd writes a file and checks it the way an
// operator would: Apache's htpasswd verifies the documented passwords.
func TestGeneratedFileIsRealHtpasswd(t *testing.T) {
	htpasswd, err := exec.LookPath("htpasswd")
	if err != nil {
		t.Fatal("htpasswd not found: install the Debian package apache2-utils (.ci/run does)")
	}
	path := filepath.Join(t.TempDir(), "users.htpasswd")
	if err := run(20, path, bcrypt.MinCost); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
	if len(lines) != 20 || !strings.HasPrefix(lines[9], "user0000009:$2y$04$") || len(lines[9]) != len("user0000009:")+60 {
		t.Fatalf("%d lines; line 10 is %q", len(lines), lines[9])
	}
	for _, i := range []int{0, 9, 19} {
		user, password := htpasswdgen.UserName(i), htpasswdgen.Password(i)
		if out, err := exec.Command(htpasswd, "-vb", path, user, password).CombinedOutput(); err != nil {
			t.Errorf("htpasswd -v %s %s: %v: %s", user, password, err, out)
		}
		if err := exec.Command(htpasswd, "-vb", path, user, password+"x").Run(); err == nil {
			t.Errorf("htpasswd accepted a wrong password for %s", user)
		}
	}
	if err := run(-1, path, bcrypt.MinCost); err == nil {
		t.Error("a negative count was accepted")
	}
}
