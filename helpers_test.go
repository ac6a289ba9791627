package proxyauth

// Shared test fixtures: a local origin that reports what it received, a
// real in-process Caddy loaded from a Caddyfile, clients that go through
// it, and password files written by Apache's own tools.

import (
	"bufio"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/caddyserver/caddy/v2/caddytest"

	_ "github.com/caddy-proxyauth/proxyauth/internal/devforward"
)

// Ports of the in-process Caddy. Tests in this package run one at a time
// against the one Caddy that caddytest starts. PROXYAUTH_TEST_PORT_OFFSET
// moves both, so that several checkouts can run their tests at once. The
// proxy port moves on with every config load (see startCaddyWithGlobals)
// within proxyPortRange ports from testProxyPortBase.
var (
	testAdminPort     = 2999 + portOffset()
	testProxyPortBase = 9080 + portOffset()
	testProxyPort     = testProxyPortBase
	testProxyAddr     = fmt.Sprintf("127.0.0.1:%d", testProxyPort)
	configLoads       int
)

const proxyPortRange = 90

// adminURL is the in-process Caddy's admin endpoint at path.
func adminURL(path string) string { return fmt.Sprintf("http://localhost:%d%s", testAdminPort, path) }

func portOffset() int {
	n, _ := strconv.Atoi(os.Getenv("PROXYAUTH_TEST_PORT_OFFSET"))
	return n
}

// TestMain removes what the tests leave behind for all of them.
func TestMain(m *testing.M) {
	code := m.Run()
	if caddyBuild.dir != "" { // see buildCaddy
		os.RemoveAll(caddyBuild.dir)
	}
	os.Exit(code)
}

// origin is a local web server that answers every request with what it
// received, and remembers the requests so a test can prove what the proxy
// passed on.
type origin struct {
	*httptest.Server
	mu   sync.Mutex
	seen []http.Header
}

// originReply is the JSON body an origin answers with.
type originReply struct {
	Origin  string      `json:"origin"`
	Method  string      `json:"method"`
	URI     string      `json:"uri"`
	Headers http.Header `json:"headers"`
}

func newOrigin(t *testing.T, useTLS bool) *origin {
	t.Helper()
	o := new(origin)
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		o.mu.Lock()
		o.seen = append(o.seen, r.Header.Clone())
		o.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(originReply{Origin: "test-origin", Method: r.Method, URI: r.RequestURI, Headers: r.Header})
	})
	if useTLS {
		o.Server = httptest.NewTLSServer(handler)
	} else {
		o.Server = httptest.NewServer(handler)
	}
	t.Cleanup(o.Close)
	return o
}

// requests returns the request headers the origin has seen so far.
func (o *origin) requests() []http.Header {
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([]http.Header(nil), o.seen...)
}

// assertNeverSawProxyAuthorization fails the test if any request that
// reached the origin carried Proxy-Authorization.
func (o *origin) assertNeverSawProxyAuthorization(t *testing.T) {
	t.Helper()
	reqs := o.requests()
	if len(reqs) == 0 {
		t.Fatal("origin saw no requests at all")
	}
	for i, h := range reqs {
		if v, ok := h["Proxy-Authorization"]; ok {
			t.Errorf("origin request %d carried Proxy-Authorization %q", i, v)
		}
	}
}

// certPool trusts the TLS origin's certificate.
func (o *origin) certPool() *x509.CertPool {
	pool := x509.NewCertPool()
	pool.AddCert(o.Certificate())
	return pool
}

// startCaddy loads a Caddyfile into the in-process Caddy. The global
// options block with the admin address is prepended.
func startCaddy(t *testing.T, body string) {
	t.Helper()
	startCaddyWithGlobals(t, "", body)
}

// startCaddyWithGlobals is startCaddy with more global options.
//
// Every load moves the proxy to a port of its own, rewriting ":<port>" in
// body: Caddy stops the old config's server in the background after a load
// returns, and a server that shares the listening socket with its successor
// may still accept (and then drop) a connection meant for the new one.
// testProxyPort and testProxyAddr name the new port once this returns.
func startCaddyWithGlobals(t *testing.T, globals, body string) {
	t.Helper()
	previous := fmt.Sprintf(":%d", testProxyPort)
	prepareConfigLoad(t)
	body = strings.ReplaceAll(body, previous, fmt.Sprintf(":%d", testProxyPort))
	loadConfig(t, caddyGlobals(globals)+body)
}

// prepareConfigLoad moves the proxy to the next port (testProxyPort and
// testProxyAddr name it once this returns) and waits for the admin
// endpoint, before a config load: see startCaddyWithGlobals.
func prepareConfigLoad(t *testing.T) {
	t.Helper()
	configLoads++
	testProxyPort = testProxyPortBase + configLoads%proxyPortRange
	testProxyAddr = fmt.Sprintf("127.0.0.1:%d", testProxyPort)
	awaitAdmin(t)
}

// loadConfig loads a whole Caddyfile into the in-process Caddy, after
// prepareConfigLoad; it stops the test if the config does not load.
func loadConfig(t *testing.T, caddyfile string) {
	t.Helper()
	tester := caddytest.NewTester(t).WithDefaultOverrides(caddytest.Config{AdminPort: testAdminPort})
	tester.InitServer(caddyfile, "caddyfile")
	if t.Failed() {
		t.FailNow()
	}
}

func caddyGlobals(extra string) string {
	return fmt.Sprintf("{\n\tadmin localhost:%d\n\thttp_port %d\n\tpersist_config off\n%s\n}\n", testAdminPort, testProxyPort, extra)
}

// proxySite is a Caddyfile site on the test proxy port with the given
// proxy_auth block in front of dev_forward_proxy.
func proxySite(proxyAuthBlock string) string {
	return fmt.Sprintf("http://:%d {\n\tbind 127.0.0.1\n\tproxy_auth {\n%s\n\t}\n\tdev_forward_proxy\n}\n", testProxyPort, proxyAuthBlock)
}

// proxyClient is an HTTP client that goes through the test proxy with the
// given user info (nil for none); it trusts roots for HTTPS origins.
func proxyClient(user *url.Userinfo, roots *x509.CertPool) *http.Client {
	proxyURL := &url.URL{Scheme: "http", Host: testProxyAddr, User: user}
	return &http.Client{
		Timeout: 10 * time.Second,
		Transport: &http.Transport{
			Proxy:             http.ProxyURL(proxyURL),
			TLSClientConfig:   &tls.Config{RootCAs: roots},
			DisableKeepAlives: true,
		},
	}
}

// getOrigin fetches url through client and decodes the origin's reply;
// status is the final status code and reply is nil unless it is 200.
func getOrigin(t *testing.T, client *http.Client, target string) (status int, reply *originReply) {
	t.Helper()
	resp, err := client.Get(target)
	if err != nil {
		// A refused CONNECT surfaces as an error naming the status.
		return 0, nil
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("reading response: %v", err)
	}
	if resp.StatusCode != http.StatusOK {
		return resp.StatusCode, nil
	}
	reply = new(originReply)
	if err := json.Unmarshal(body, reply); err != nil {
		t.Fatalf("origin reply is not JSON: %v: %q", err, body)
	}
	return resp.StatusCode, reply
}

// basicCredentials is the Proxy-Authorization value for user and password.
func basicCredentials(user, password string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+password))
}

// rawExchange sends request bytes on conn and reads one response,
// returning it with its full body.
func rawExchange(t *testing.T, conn net.Conn, br *bufio.Reader, request string) (*http.Response, string) {
	t.Helper()
	if err := conn.SetDeadline(time.Now().Add(10 * time.Second)); err != nil {
		t.Fatal(err)
	}
	if _, err := io.WriteString(conn, request); err != nil {
		t.Fatalf("writing request: %v", err)
	}
	method, _, _ := strings.Cut(request, " ")
	resp, err := http.ReadResponse(br, &http.Request{Method: method})
	if err != nil {
		t.Fatalf("reading response to %q: %v", firstLine(request), err)
	}
	var body []byte
	if method != http.MethodConnect || resp.StatusCode != http.StatusOK {
		body, err = io.ReadAll(resp.Body)
		if err != nil {
			t.Fatalf("reading body: %v", err)
		}
	}
	return resp, string(body)
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\r\n")
	return line
}

// dialProxy opens a raw TCP connection to the test proxy.
func dialProxy(t *testing.T) (net.Conn, *bufio.Reader) {
	t.Helper()
	conn, err := net.DialTimeout("tcp", testProxyAddr, 5*time.Second)
	if err != nil {
		t.Fatalf("dialing proxy: %v", err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn, bufio.NewReader(conn)
}

// requireTool finds a program the tests need; a missing one is a failure
// that says what to install, never a skip.
func requireTool(t *testing.T, name, debianPackage string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err != nil {
		t.Fatalf("%s not found: install the Debian package %s (.ci/run does)", name, debianPackage)
	}
	return path
}

// htpasswdLine runs Apache's htpasswd to hash password for user with the
// given format flag (-B, -m, -s, -2, -5) and returns the file line.
func htpasswdLine(t *testing.T, flag, user, password string) string {
	t.Helper()
	bin := requireTool(t, "htpasswd", "apache2-utils")
	// -n prints the line; -i reads the password from stdin, keeping it out of argv
	args := []string{"-n", "-i", flag}
	if flag == "-B" {
		args = append(args, "-C", "4") // cheapest cost: tests verify many times
	}
	args = append(args, user)
	cmd := exec.Command(bin, args...)
	cmd.Stdin = strings.NewReader(password)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("htpasswd %v: %v", args, err)
	}
	return strings.TrimSpace(string(out))
}

// writeFile writes content to a new file in the test's temp dir.
func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// bcryptHash hashes password at bcrypt's minimum cost, for test accounts.
func bcryptHash(t testing.TB, password string) string {
	t.Helper()
	h, err := bcrypt.GenerateFromPassword([]byte(password), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	return string(h)
}

func deadline() time.Time { return time.Now().Add(10 * time.Second) }

// bufferedConn reads through the bufio.Reader that may already hold bytes
// read past an HTTP response, as when a tunnel starts on that connection.
type bufferedConn struct {
	net.Conn
	r *bufio.Reader
}

func (c *bufferedConn) Read(p []byte) (int, error) { return c.r.Read(p) }

// waitFor polls cond until it holds, failing the test after 10 s. It is for
// effects that happen after a response, such as a log line being written.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for end := time.Now().Add(10 * time.Second); time.Now().Before(end); time.Sleep(20 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatalf("timed out waiting for %s", what)
}

// pemOf returns the TLS origin's certificate in PEM, for clients that read
// a CA file.
func pemOf(o *origin) string {
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: o.Certificate().Raw}))
}

// awaitAdmin waits until the admin endpoint answers, if the in-process
// Caddy runs at all (caddytest starts it on the first load). Caddy replaces
// that endpoint's server on every config load, and the old one, stopping in
// the background, may still take one connection and drop it: this request,
// retried, spends it rather than the next config load's.
func awaitAdmin(t *testing.T) {
	t.Helper()
	if configLoads == 1 {
		return // nothing runs yet
	}
	for try := 0; try < 50; try++ {
		resp, err := http.Get(adminURL("/config/"))
		if err == nil {
			resp.Body.Close()
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("the admin endpoint on port %d does not answer", testAdminPort)
}

// assertLoadError posts a Caddyfile to the in-process Caddy's /load and
// checks that it is refused with an error containing want. Caddy must run:
// the caller loads a config first, startCaddy(t, "") for one of nothing but
// the globals; a refused config leaves it in force for the next. Unlike
// caddytest.AssertLoadError it retries a request the admin endpoint reset:
// Caddy restarts that endpoint after a config load, and a request that
// lands during the restart is reset before it is read.
func assertLoadError(t *testing.T, caddyfile, want string) {
	t.Helper()
	var resp *http.Response
	var err error
	for try := 0; try < 50; try++ {
		resp, err = http.Post(adminURL("/load"), "text/caddyfile", strings.NewReader(caddyfile))
		if err == nil {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil {
		t.Fatalf("posting the config: %v", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode == http.StatusOK || !strings.Contains(string(body), want) {
		t.Errorf("load answered %d %s; want an error containing %q", resp.StatusCode, body, want)
	}
}

// logLines reads the JSON log file and returns its lines that keep accepts;
// a line that does not parse (the last, while it is written) is left out.
func logLines(file string, keep func(line map[string]any) bool) []map[string]any {
	data, _ := os.ReadFile(file)
	var lines []map[string]any
	for _, l := range strings.Split(string(data), "\n") {
		var m map[string]any
		if json.Unmarshal([]byte(l), &m) == nil && keep(m) {
			lines = append(lines, m)
		}
	}
	return lines
}

// assertLogFields checks that log line i has every field of want[i], with
// that value; lines has at least as many lines as want.
func assertLogFields(t *testing.T, lines, want []map[string]any) {
	t.Helper()
	for i, w := range want {
		for k, v := range w {
			if lines[i][k] != v {
				t.Errorf("log line %d: %s = %v, want %v (%v)", i, k, lines[i][k], v, lines[i])
			}
		}
	}
}

// assertLogHoldsNone checks that the log file contains none of secrets.
func assertLogHoldsNone(t *testing.T, file string, secrets ...string) {
	t.Helper()
	data, _ := os.ReadFile(file)
	for _, secret := range secrets {
		if strings.Contains(string(data), secret) {
			t.Errorf("the log holds %q:\n%s", secret, data)
		}
	}
}
