package proxyauth

// Tests that run the real cmd/caddy binary: `caddy hash-digest`, and two
// Caddy processes sharing one storage folder, as instances behind a load
// balancer would.

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

// caddyBuild is ./cmd/caddy, built by the first test that needs it into a
// directory of its own, which TestMain removes after the tests.
var caddyBuild struct {
	once sync.Once
	dir  string // "" until the build made it
	bin  string
	err  error
}

// buildCaddy returns the path of ./cmd/caddy, built once per test binary.
func buildCaddy(t *testing.T) string {
	t.Helper()
	caddyBuild.once.Do(func() {
		goTool, err := exec.LookPath("go")
		if err != nil {
			goTool = filepath.Join(runtime.GOROOT(), "bin", "go")
		}
		caddyBuild.dir, err = os.MkdirTemp("", "proxyauth-caddy-")
		if err != nil {
			caddyBuild.err = err
			return
		}
		bin := filepath.Join(caddyBuild.dir, "caddy")
		cmd := exec.Command(goTool, "build", "-o", bin, "./cmd/caddy")
		if out, err := cmd.CombinedOutput(); err != nil {
			caddyBuild.err = fmt.Errorf("go build ./cmd/caddy: %v\n%s", err, out)
			return
		}
		caddyBuild.bin = bin
	})
	if caddyBuild.err != nil {
		t.Fatal(caddyBuild.err)
	}
	return caddyBuild.bin
}

// freePort finds a loopback port nobody listens on.
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// caddyEnv keeps a Caddy process's own files (config autosave, data) in
// dir rather than the user's home.
func caddyEnv(dir string) []string {
	return append(os.Environ(), "HOME="+dir, "XDG_CONFIG_HOME="+dir, "XDG_DATA_HOME="+dir)
}

func TestHashDigestCommand(t *testing.T) {
	bin := buildCaddy(t)
	hashDigest := func(stdin string, args ...string) (string, error) {
		cmd := exec.Command(bin, append([]string{"hash-digest"}, args...)...)
		cmd.Stdin = strings.NewReader(stdin)
		cmd.Env = caddyEnv(t.TempDir())
		out, err := cmd.Output()
		return string(out), err
	}

	out, err := hashDigest("carol-pw\n", "--user", "carol", "--realm", digestRealm, "--algorithm", "SHA-256,MD5")
	if err != nil {
		t.Fatalf("hash-digest: %v", err)
	}
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if len(lines) != 2 || !regexp.MustCompile(`^carol:Digest Lab:SHA-256:[0-9a-f]{64}$`).MatchString(lines[0]) {
		t.Fatalf("output %q", out)
	}
	// The MD5 line is the very line Apache's htdigest writes.
	apache, _ := os.ReadFile(apacheHTDigest(t, digestRealm, "carol", "carol-pw"))
	if lines[1] != strings.TrimSpace(string(apache)) {
		t.Errorf("MD5 line %q, htdigest wrote %q", lines[1], apache)
	}

	out, err = hashDigest("pw\r\n", "--user", "dave")
	if err != nil || !regexp.MustCompile(`^dave:proxy:SHA-256:[0-9a-f]{64}\n$`).MatchString(out) {
		t.Errorf("defaults: %q, %v", out, err)
	}
	if out, _ := hashDigest("pw\n", "--user", "dave", "--algorithm", "all"); strings.Count(out, "\n") != 3 {
		t.Errorf("--algorithm all: %q", out)
	}
	// The CRLF was not part of the password.
	want := htdigestLines("dave", "proxy", []digestAlgorithm{digestSHA256}, []byte("pw"))[0]
	if !strings.HasPrefix(out, want+"\n") {
		t.Errorf("hash of %q: got %q, want %q", "pw", out, want)
	}

	for _, bad := range [][]string{
		{"--user", "a:b"},
		{"--realm", "x"},
		{"--user", "u", "--algorithm", "SHA-1"},
		{"--user", "u", "--realm", "bad\x01realm"},
	} {
		if out, err := hashDigest("pw\n", bad...); err == nil {
			t.Errorf("hash-digest %q succeeded: %q", bad, out)
		}
	}
	if out, err := hashDigest("", "--user", "u"); err == nil {
		t.Errorf("empty password accepted: %q", out)
	}
}

// TestNonceKeySharedThroughStorage starts two Caddy processes that share
// one storage folder: a nonce one of them issued is accepted by the other,
// both ways, and both use the one key in the storage.
func TestNonceKeySharedThroughStorage(t *testing.T) {
	bin := buildCaddy(t)
	shared := t.TempDir()
	sha, _ := digestAccounts(t)

	type instance struct {
		name string
		addr string
	}
	var instances []instance
	for _, name := range []string{"A", "B"} {
		port := freePort(t)
		dir := t.TempDir()
		config := writeFile(t, "Caddyfile", fmt.Sprintf(`{
	admin off
	persist_config off
	storage file_system %s
}
http://:%d {
	bind 127.0.0.1
	route {
		proxy_auth {
			realm "%s"
			name cluster
			htdigest %s
			digest
		}
		respond "instance %s user={http.auth.user.id}"
	}
}
`, shared, port, digestRealm, sha, name))
		logFile, err := os.Create(filepath.Join(dir, "caddy.log"))
		if err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(bin, "run", "--config", config, "--adapter", "caddyfile")
		cmd.Env = caddyEnv(dir)
		cmd.Stdout, cmd.Stderr = logFile, logFile
		if err := cmd.Start(); err != nil { // both start at once: the storage lock decides the key
			t.Fatal(err)
		}
		t.Cleanup(func() {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
			logFile.Close()
			if t.Failed() {
				log, _ := os.ReadFile(logFile.Name())
				t.Logf("instance %s log:\n%s", name, log)
			}
		})
		instances = append(instances, instance{name, fmt.Sprintf("127.0.0.1:%d", port)})
	}
	for _, in := range instances {
		waitFor(t, "instance "+in.name+" to listen", func() bool {
			c, err := net.DialTimeout("tcp", in.addr, time.Second)
			if err == nil {
				c.Close()
			}
			return err == nil
		})
	}

	exchange := func(addr, cred string) (int, string, []challenge) {
		conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		req := "GET http://example.invalid/x HTTP/1.1\r\nHost: example.invalid\r\n"
		if cred != "" {
			req += "Proxy-Authorization: " + cred + "\r\n"
		}
		resp, body := rawExchange(t, conn, bufio.NewReader(conn), req+"\r\n")
		return resp.StatusCode, body, digestChallenges(t, resp.Header)
	}
	for _, pair := range [][2]instance{{instances[0], instances[1]}, {instances[1], instances[0]}} {
		issuer, verifier := pair[0], pair[1]
		status, _, chs := exchange(issuer.addr, "")
		if status != 407 || len(chs) == 0 {
			t.Fatalf("instance %s: %d, %v", issuer.name, status, chs)
		}
		c := digestClient{user: "alice", password: "alice-secret", ch: chs[0]}
		status, body, _ := exchange(verifier.addr, c.authorization("GET", "/x"))
		if want := "instance " + verifier.name + " user=alice"; status != 200 || body != want {
			t.Errorf("nonce from %s at %s: %d %q, want 200 %q", issuer.name, verifier.name, status, body, want)
		}
	}

	stored, err := os.ReadFile(filepath.Join(shared, "proxy_auth", "cluster", "nonce_key"))
	if err != nil || len(stored) != nonceKeySize {
		t.Errorf("nonce key in the shared storage: %v (%d bytes)", err, len(stored))
	}
}
