package clienttest

// The fixtures every client test shares: cmd/caddy built once per run and
// started as a subprocess per case, loopback origins that report what they
// received, the proxy's access log read back to count 407s, and a way to
// run client programs with a clean environment.

import (
	"bytes"
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"html"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"
)

// The one account every proxy in this package has. The password has a
// colon, a space and an @ so that clients which take credentials in a URL
// must percent-encode them, and Basic's split at the first colon matters.
const (
	testRealm    = "client matrix"
	testUser     = "alice"
	testPassword = "sesame: open@42"
)

var (
	repoRoot string // the module root, where tests/ and cmd/ are
	caddyBin string // cmd/caddy, built by TestMain
)

func TestMain(m *testing.M) { os.Exit(runTests(m)) }

func runTests(m *testing.M) int {
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err == nil {
		_, err = os.Stat(filepath.Join(root, "go.mod"))
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "finding the module root:", err)
		return 1
	}
	repoRoot = root

	dir, err := os.MkdirTemp("", "proxyauth-clienttest-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	caddyBin = filepath.Join(dir, "caddy")
	build := exec.Command(goTool(), "build", "-o", caddyBin, "./cmd/caddy")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "go build ./cmd/caddy: %v\n%s", err, out)
		return 1
	}
	return m.Run()
}

// goTool is the go command on PATH, or else the one of the toolchain that
// built these tests.
func goTool() string {
	if p, err := exec.LookPath("go"); err == nil {
		return p
	}
	return filepath.Join(runtime.GOROOT(), "bin", "go")
}

// basicBlock is the body of a proxy_auth block with the test account as a
// bcrypt hash: Basic, proxy_auth's default scheme, and nothing else.
func basicBlock(t *testing.T) string {
	t.Helper()
	hash, err := bcrypt.GenerateFromPassword([]byte(testPassword), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("realm %q\nuser %s %s", testRealm, testUser, hash)
}

// authBlock is the proxy_auth block of a case: the realm, the test
// account and the lines in offer, as written in a Caddyfile: the schemes
// offered, in order ("digest SHA-256 MD5", "basic"), and any other
// subdirective. When a digest line is among them, the account is an
// htdigest file alone, which Basic checks too; otherwise it is basicBlock's.
func authBlock(t *testing.T, offer []string) string {
	t.Helper()
	lines := strings.Join(offer, "\n")
	if !slices.ContainsFunc(offer, func(l string) bool { return strings.HasPrefix(l, "digest") }) {
		return basicBlock(t) + "\n" + lines
	}
	return fmt.Sprintf("realm %q\nhtdigest %s\n%s", testRealm, digestFile(t), lines)
}

// digestFile is the test account's htdigest file, written as docs/digest.md
// tells an administrator to: Apache's htdigest creates it with the MD5
// line, and `caddy hash-digest` appends the SHA-256 and SHA-512-256 lines.
// The first test that needs it writes it beside cmd/caddy, in the directory
// TestMain removes; every later one gets the same file.
func digestFile(t *testing.T) string {
	t.Helper()
	htdigest := requireTool(t, "htdigest", "the Debian package apache2-utils")
	digestFileOnce.Do(func() { digestFilePath = writeDigestFile(t, htdigest) })
	if digestFilePath == "" {
		t.Fatal("the htdigest file could not be written: see the first test that needed it")
	}
	return digestFilePath
}

var (
	digestFileOnce sync.Once
	digestFilePath string // "" unless digestFileOnce wrote the file
)

// writeDigestFile writes the file digestFile returns, or fails t.
func writeDigestFile(t *testing.T, htdigest string) string {
	t.Helper()
	path := filepath.Join(filepath.Dir(caddyBin), "proxy.htdigest")
	// htdigest asks for the password twice.
	if _, stderr, err := runInput(t, 30*time.Second, testPassword+"\n"+testPassword+"\n", htdigest, "-c", path, testRealm, testUser); err != nil {
		t.Fatalf("htdigest: %v: %s", err, stderr)
	}
	lines, stderr, err := runInput(t, 30*time.Second, testPassword+"\n", caddyBin, "hash-digest", "--user", testUser, "--realm", testRealm, "--algorithm", "SHA-256,SHA-512-256")
	if err != nil {
		t.Fatalf("caddy hash-digest: %v: %s", err, stderr)
	}
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err == nil {
		_, err = f.WriteString(lines)
		err = errors.Join(err, f.Close())
	}
	if err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(path)
	if got := strings.Count(string(data), testUser+":"+testRealm+":"); got != 3 {
		t.Fatalf("%s has %d lines for %s, want 3 (MD5, SHA-256, SHA-512-256):\n%s", path, got, testUser, data)
	}
	return path
}

// proxy is one cmd/caddy process listening on a free loopback port, and
// the tap clients reach it through.
type proxy struct {
	addr      string // 127.0.0.1:port of the tap, where clients connect
	listen    string // 127.0.0.1:port of cmd/caddy
	tap       *tap
	accessLog string
	serverLog string
	cmd       *exec.Cmd
	exited    chan struct{}
	stopOnce  sync.Once
}

// url is the proxy's address as clients take it.
func (p *proxy) url() string { return "http://" + p.addr }

// startProxy runs cmd/caddy with proxy_auth (the given block) in front of
// dev_forward_proxy, and waits until it accepts connections.
func startProxy(t *testing.T, authBlock string) *proxy {
	t.Helper()
	var lastErr error
	// The free port is found by binding and closing it, so another process
	// may take it before Caddy does; try again with a new one then.
	for range 3 {
		p, err := launchProxy(t, authBlock)
		if err == nil {
			p.tap = startTap(t, p.listen)
			p.addr = p.tap.addr()
			t.Cleanup(func() { p.stop(t) })
			return p
		}
		lastErr = err
	}
	t.Fatal(lastErr)
	return nil
}

func launchProxy(t *testing.T, authBlock string) (*proxy, error) {
	dir := t.TempDir()
	p := &proxy{
		listen:    fmt.Sprintf("127.0.0.1:%d", freePort(t)),
		accessLog: filepath.Join(dir, "access.log"),
		serverLog: filepath.Join(dir, "caddy.log"),
		exited:    make(chan struct{}),
	}
	_, port, _ := net.SplitHostPort(p.listen)
	caddyfile := fmt.Sprintf(`{
	admin off
	persist_config off
	log {
		output file %q
		level DEBUG
	}
}

http://:%s {
	bind 127.0.0.1
	log {
		output file %q
		format json
	}
	# Clients may send requests of their own (a browser's updater); none
	# may leave the machine.
	@elsewhere not host 127.0.0.1
	route {
		respond @elsewhere "test proxies reach loopback origins only" 403
		proxy_auth {
%s
		}
		dev_forward_proxy
	}
}
`, p.serverLog, port, p.accessLog, indent(authBlock, "\t\t\t"))
	config := filepath.Join(dir, "Caddyfile")
	if err := os.WriteFile(config, []byte(caddyfile), 0o600); err != nil {
		t.Fatal(err)
	}

	var output bytes.Buffer
	p.cmd = exec.Command(caddyBin, "run", "--config", config, "--adapter", "caddyfile")
	p.cmd.Env = append(cleanEnv(), "XDG_DATA_HOME="+dir, "XDG_CONFIG_HOME="+dir)
	p.cmd.Stdout = &output
	p.cmd.Stderr = &output
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("starting %s: %v", caddyBin, err)
	}
	go func() { _ = p.cmd.Wait(); close(p.exited) }()

	for end := time.Now().Add(15 * time.Second); time.Now().Before(end); time.Sleep(20 * time.Millisecond) {
		select {
		case <-p.exited:
			serverLog, _ := os.ReadFile(p.serverLog)
			return nil, fmt.Errorf("cmd/caddy exited at start: %s\n%s\n%s", p.cmd.ProcessState, output.String(), serverLog)
		default:
		}
		if conn, err := net.DialTimeout("tcp", p.listen, time.Second); err == nil {
			conn.Close()
			return p, nil
		}
	}
	_ = p.cmd.Process.Kill()
	<-p.exited
	return nil, fmt.Errorf("cmd/caddy did not listen on %s within 15s:\n%s", p.listen, output.String())
}

// stop ends the proxy gracefully, so that every access log line is
// written, and kills it if it does not stop in time.
func (p *proxy) stop(t *testing.T) {
	p.stopOnce.Do(func() {
		_ = p.cmd.Process.Signal(os.Interrupt)
		select {
		case <-p.exited:
		case <-time.After(10 * time.Second):
			t.Errorf("cmd/caddy did not stop within 10s of SIGINT; killing it")
			_ = p.cmd.Process.Kill()
			<-p.exited
		}
		if p.tap != nil {
			p.tap.close()
		}
	})
}

func indent(block, prefix string) string {
	lines := strings.Split(strings.TrimSpace(block), "\n")
	for i, l := range lines {
		lines[i] = prefix + strings.TrimSpace(l)
	}
	return strings.Join(lines, "\n")
}

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// logEntry is the part of one access log line the tests read.
type logEntry struct {
	Status  int    `json:"status"`
	UserID  string `json:"user_id"`
	Request struct {
		Method     string `json:"method"`
		URI        string `json:"uri"`
		RemotePort string `json:"remote_port"`
	} `json:"request"`
}

func (e logEntry) String() string {
	user := e.UserID
	if user == "" {
		user = "-"
	}
	return fmt.Sprintf("%s %s → %d (user %s, client port %s)", e.Request.Method, e.Request.URI, e.Status, user, e.Request.RemotePort)
}

// entries stops the proxy and returns its access log, one entry per
// request it answered.
func (p *proxy) entries(t *testing.T) []logEntry {
	t.Helper()
	p.stop(t)
	data, err := os.ReadFile(p.accessLog)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		t.Fatal(err)
	}
	var entries []logEntry
	for line := range strings.SplitSeq(string(data), "\n") {
		if strings.TrimSpace(line) == "" {
			continue
		}
		var e logEntry
		if err := json.Unmarshal([]byte(line), &e); err != nil {
			t.Fatalf("access log line is not JSON: %v: %q", err, line)
		}
		entries = append(entries, e)
	}
	return entries
}

// proxySaw is what a case expects the proxy to have done.
type proxySaw struct {
	// challenges is how many 407s the proxy sent: 0 when the client sent
	// its credentials up front, one per exchange when it waited for the
	// challenge, more when it tries again.
	challenges int
	// maxChallenges, when set, allows up to that many 407s: for a client
	// that opens a varying number of connections before it authenticates.
	maxChallenges int
	// wrong is how many of the 407s answered wrong credentials rather than
	// none: what a failed-attempt limit counts.
	wrong int
	// unsupported is how many of the 407s answered credentials of a scheme
	// the proxy does not offer (Basic sent to a Digest-only proxy). Like
	// malformed credentials, they are not counted as failed attempts.
	unsupported int
	// locked is how many requests the failed-attempt limit refused with
	// 429 once the client had too many wrong attempts.
	locked int
	// passed is the method of the requests the proxy let through for the
	// test user: "GET" (absolute-form) or "CONNECT"; "" when none.
	passed string
	// scheme is the scheme proxy_auth's log names for every request it let
	// through: "Basic" when empty.
	scheme string
	// digest, when set, is what every Digest answer the client sent shows
	// (read at the tap); when nil the client may send no Digest answer.
	digest *digestAnswer
}

// checkProxySaw stops the proxy and compares its logs, and what the client
// sent it for origin (host:port), with want. Every case also checks that
// the logs hold no credentials.
func (p *proxy) checkProxySaw(t *testing.T, want proxySaw, origin string) {
	t.Helper()
	entries := p.entries(t)
	var challenges, tooMany int
	var passed []string
	for _, e := range entries {
		switch e.Status {
		case http.StatusProxyAuthRequired:
			challenges++
		case http.StatusTooManyRequests:
			tooMany++
		}
		if e.UserID == testUser {
			passed = append(passed, e.Request.Method)
		}
	}
	if challenges < want.challenges || challenges > max(want.challenges, want.maxChallenges) {
		wantText := strconv.Itoa(want.challenges)
		if want.maxChallenges > 0 {
			wantText += " to " + strconv.Itoa(want.maxChallenges)
		}
		t.Errorf("the proxy sent %d 407s, want %s; access log:\n%s", challenges, wantText, formatEntries(entries))
	}
	switch {
	case want.passed == "" && len(passed) > 0:
		t.Errorf("the proxy let %v through for %s, want nothing; access log:\n%s", passed, testUser, formatEntries(entries))
	case want.passed != "" && (len(passed) == 0 || slices.ContainsFunc(passed, func(m string) bool { return m != want.passed })):
		t.Errorf("the proxy let %v through for %s, want only %s; access log:\n%s", passed, testUser, want.passed, formatEntries(entries))
	}

	auth := p.authLog(t)
	t.Logf("the proxy sent %d 407s and let %d requests through; proxy_auth's refusals %v", challenges, len(passed), auth.outcomes)
	if wrong := auth.outcomes["wrong_password"] + auth.outcomes["unknown_user"]; wrong != want.wrong {
		t.Errorf("%d of the 407s answered wrong credentials, want %d; proxy_auth's outcomes %v", wrong, want.wrong, auth.outcomes)
	}
	if n := auth.outcomes["unsupported_scheme"]; n != want.unsupported {
		t.Errorf("%d of the 407s answered a scheme not offered, want %d; proxy_auth's outcomes %v", n, want.unsupported, auth.outcomes)
	}
	if n := auth.outcomes["locked"]; n != want.locked || n != tooMany {
		t.Errorf("%d requests locked out (%d 429s in the access log), want %d; proxy_auth's outcomes %v", n, tooMany, want.locked, auth.outcomes)
	}
	for outcome, n := range auth.outcomes {
		switch outcome {
		case "missing", "wrong_password", "unknown_user", "unsupported_scheme", "locked":
		default:
			t.Errorf("proxy_auth refused %d requests with outcome %s, want none; outcomes %v", n, outcome, auth.outcomes)
		}
	}
	wantScheme := cmp.Or(want.scheme, "Basic")
	if slices.ContainsFunc(auth.schemes, func(s string) bool { return s != wantScheme }) {
		t.Errorf("proxy_auth let requests through with the schemes %v, want only %s", auth.schemes, wantScheme)
	}
	if len(auth.schemes) != len(passed) {
		t.Errorf("proxy_auth logged %d successes, the access log %d requests let through", len(auth.schemes), len(passed))
	}
	checkDigestAnswers(t, p.tap.requests(), origin, want.digest)

	for _, log := range []string{p.accessLog, p.serverLog} {
		data, _ := os.ReadFile(log)
		for _, secret := range []string{testPassword, base64.StdEncoding.EncodeToString([]byte(testUser + ":" + testPassword))} {
			if bytes.Contains(data, []byte(secret)) {
				t.Errorf("%s holds the credentials %q", filepath.Base(log), secret)
			}
		}
	}
}

// authOutcomes is what proxy_auth's own log lines say it did.
type authOutcomes struct {
	outcomes map[string]int // of the "proxy authentication failed" lines
	schemes  []string       // of the "proxy authentication succeeded" lines
}

// authLog reads proxy_auth's log lines from the server log: the outcome of
// every refused request ("missing" for none, "wrong_password", ...) and
// the scheme of every accepted one.
func (p *proxy) authLog(t *testing.T) authOutcomes {
	t.Helper()
	data, err := os.ReadFile(p.serverLog)
	if err != nil {
		t.Fatal(err)
	}
	got := authOutcomes{outcomes: map[string]int{}}
	for line := range strings.SplitSeq(string(data), "\n") {
		var e struct {
			Msg     string `json:"msg"`
			Outcome string `json:"outcome"`
			Scheme  string `json:"scheme"`
		}
		if json.Unmarshal([]byte(line), &e) != nil {
			continue
		}
		switch e.Msg {
		case "proxy authentication failed":
			got.outcomes[e.Outcome]++
		case "proxy authentication succeeded":
			got.schemes = append(got.schemes, e.Scheme)
		}
	}
	return got
}

func formatEntries(entries []logEntry) string {
	if len(entries) == 0 {
		return "\t(empty)"
	}
	var b strings.Builder
	for _, e := range entries {
		fmt.Fprintf(&b, "\t%s\n", e)
	}
	return b.String()
}

// origin is a loopback web server that answers every request with an HTML
// page naming a marker only it knows and the path it was asked for, and
// remembers the headers of every request so that a test can prove what the
// proxy passed on.
type origin struct {
	srv    *httptest.Server
	marker string
	mu     sync.Mutex
	seen   []http.Header
}

func newOrigin(t *testing.T, useTLS bool) *origin {
	t.Helper()
	o := &origin{marker: randomMarker(t)}
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		o.mu.Lock()
		o.seen = append(o.seen, r.Header.Clone())
		o.mu.Unlock()
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, originPage, html.EscapeString(o.marker), html.EscapeString(r.URL.Path), html.EscapeString(r.Proto), tlsNote(r), html.EscapeString(headerDump(r.Header)))
	})
	o.srv = httptest.NewUnstartedServer(handler)
	// A client that refuses the certificate is a case of its own; the
	// server's handshake error line would only be noise.
	o.srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	if useTLS {
		o.srv.StartTLS()
	} else {
		o.srv.Start()
	}
	t.Cleanup(o.srv.Close)
	return o
}

// The icon link keeps browsers from asking for /favicon.ico, so that a
// page load is exactly one request.
const originPage = `<!doctype html>
<html><head><meta charset="utf-8"><title>proxy_auth client matrix</title><link rel="icon" href="data:,"></head>
<body style="font-family: sans-serif; margin: 2em">
<h1>Reached the origin through proxy_auth</h1>
<p>marker <code id="marker">%s</code>, path <code id="path">%s</code>, %s%s</p>
<h2>Request headers the origin received</h2>
<pre id="headers" style="white-space: pre-wrap">%s</pre>
</body></html>
`

func tlsNote(r *http.Request) string {
	if r.TLS != nil {
		return " over TLS (through a CONNECT tunnel)"
	}
	return " plain HTTP"
}

func headerDump(h http.Header) string {
	names := make([]string, 0, len(h))
	for name := range h {
		names = append(names, name)
	}
	sort.Strings(names)
	var b strings.Builder
	for _, name := range names {
		for _, v := range h[name] {
			fmt.Fprintf(&b, "%s: %s\n", name, v)
		}
	}
	return b.String()
}

func randomMarker(t *testing.T) string {
	t.Helper()
	sum := sha256.Sum256(fmt.Appendf(nil, "%s %d", t.Name(), time.Now().UnixNano()))
	return fmt.Sprintf("origin-%x", sum[:8])
}

// casePath is a request path naming the running test, so that the
// origin's page shows which case fetched it.
func casePath(t *testing.T) string {
	return "/" + strings.Trim(nonPathChars.ReplaceAllString(t.Name(), "-"), "-")
}

var nonPathChars = regexp.MustCompile(`[^A-Za-z0-9_.]+`)

// url is the origin's address with path.
func (o *origin) url(path string) string { return o.srv.URL + path }

// checkPage fails the test unless body is this origin's page for path.
func (o *origin) checkPage(t *testing.T, body, path string) {
	t.Helper()
	if !strings.Contains(body, `<code id="marker">`+o.marker+`</code>`) || !strings.Contains(body, `<code id="path">`+path+`</code>`) {
		t.Errorf("the client did not get the origin's page for %s; got %q", path, shorten(body))
	}
}

// checkReached fails the test unless the origin received at least one
// request and none carried Proxy-Authorization.
func (o *origin) checkReached(t *testing.T) {
	t.Helper()
	o.mu.Lock()
	defer o.mu.Unlock()
	if len(o.seen) == 0 {
		t.Error("the origin received no request")
	}
	for i, h := range o.seen {
		if v, ok := h["Proxy-Authorization"]; ok {
			t.Errorf("origin request %d carried Proxy-Authorization %q", i, v)
		}
	}
}

// checkNotReached fails the test if the origin received any request.
func (o *origin) checkNotReached(t *testing.T) {
	t.Helper()
	o.mu.Lock()
	defer o.mu.Unlock()
	if len(o.seen) != 0 {
		t.Errorf("the origin received %d requests, want none", len(o.seen))
	}
}

// caFile writes the TLS origin's certificate as PEM, for clients that take
// a file of trusted certificates.
func (o *origin) caFile(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "origin.pem")
	block := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: o.srv.Certificate().Raw})
	if err := os.WriteFile(path, block, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// spkiHash is the base64 SHA-256 of the TLS origin's public key, the form
// Chromium's --ignore-certificate-errors-spki-list takes.
func (o *origin) spkiHash() string {
	sum := sha256.Sum256(o.srv.Certificate().RawSubjectPublicKeyInfo)
	return base64.StdEncoding.EncodeToString(sum[:])
}

func shorten(s string) string {
	if len(s) > 600 {
		return s[:600] + "…"
	}
	return s
}

// requireTool finds a program the tests need; a missing one is a failure
// that says what to install, never a skip.
func requireTool(t *testing.T, name, install string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err != nil {
		t.Fatalf("%s not found: install %s (.ci/run does)", name, install)
	}
	return path
}

// cleanEnv is the environment with every proxy variable removed, so that
// a client uses exactly the proxy its test configures.
func cleanEnv() []string {
	return slices.DeleteFunc(os.Environ(), func(kv string) bool {
		name, _, _ := strings.Cut(kv, "=")
		switch strings.ToLower(name) {
		case "http_proxy", "https_proxy", "all_proxy", "no_proxy", "ftp_proxy":
			return true
		}
		return false
	})
}

// run executes a client program with a clean environment and a private
// HOME (no ~/.curlrc, ~/.wgetrc and the like), and a timeout so that a
// client that hangs on a reply fails the test instead of stalling it.
func run(t *testing.T, timeout time.Duration, name string, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	return runInput(t, timeout, "", name, args...)
}

// runInput is run with stdin as the program's standard input.
func runInput(t *testing.T, timeout time.Duration, stdin, name string, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = append(cleanEnv(), "HOME="+t.TempDir())
	cmd.Dir = t.TempDir()
	cmd.WaitDelay = 5 * time.Second
	cmd.Stdin = strings.NewReader(stdin)
	var out, errOut bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = &errOut
	err = cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("%s did not finish within %s: stdout %q stderr %q", filepath.Base(name), timeout, shorten(out.String()), shorten(errOut.String()))
	}
	return out.String(), errOut.String(), err
}

// scriptResult is what the client scripts under tests/clients print as
// their last line: the final status and body, or the client's error.
type scriptResult struct {
	Status int    `json:"status"`
	Body   string `json:"body"`
	Error  string `json:"error"`
}

// runScript runs a client script and decodes its result.
func runScript(t *testing.T, timeout time.Duration, name string, args ...string) reply {
	t.Helper()
	stdout, stderr, err := run(t, timeout, name, args...)
	lines := strings.Split(strings.TrimSpace(stdout), "\n")
	var res scriptResult
	if jerr := json.Unmarshal([]byte(lines[len(lines)-1]), &res); jerr != nil {
		t.Fatalf("%s %v printed no result (%v): stdout %q stderr %q", filepath.Base(name), args, err, shorten(stdout), shorten(stderr))
	}
	return reply{status: res.Status, body: res.Body, err: res.Error}
}

// script is the path of a client script under tests/clients.
func script(name string) string { return filepath.Join(repoRoot, "tests", "clients", name) }

// requireNodeModules fails unless the pinned npm packages are installed.
func requireNodeModules(t *testing.T, packages ...string) string {
	t.Helper()
	node := requireTool(t, "node", "Node.js 20.18 or later with npm (Debian packages nodejs npm)")
	for _, pkg := range packages {
		if _, err := os.Stat(filepath.Join(repoRoot, "tests", "clients", "node_modules", pkg, "package.json")); err != nil {
			t.Fatalf("npm package %s not installed: run `npm ci` in tests/clients (.ci/run does)", pkg)
		}
	}
	return node
}

// clientCase is one run of one client against a fresh proxy and origin.
type clientCase struct {
	name     string
	args     []string // the client's own options for this case
	offer    []string // the proxy's scheme lines and other settings (authBlock); nil for Basic alone
	tls      bool     // target an HTTPS origin, through a CONNECT tunnel
	password string   // "" for the right one
	want     int      // final status the client reports; 0 when it reports an error instead
	wantErr  string   // part of the client's error, when want is 0
	saw      proxySaw
}

// target is what a client is pointed at in one case.
type target struct {
	url      string  // the origin URL to fetch
	password string  // the password to give the client
	ca       string  // file with the origin's certificate; "" for plain HTTP
	origin   *origin // the origin behind url
}

// caArg is the certificate file as the client scripts take it: "-" for
// none.
func (tg target) caArg() string {
	if tg.ca == "" {
		return "-"
	}
	return tg.ca
}

// reply is what the client reported: a final status and body, or an error.
type reply struct {
	status int
	body   string
	err    string
}

// runCase starts a proxy offering tc.offer and an origin (HTTPS when
// tc.tls), lets fetch run the client, and checks the client's answer, what
// reached the origin, and the proxy's logs.
func runCase(t *testing.T, tc clientCase, fetch func(p *proxy, tg target) reply) {
	t.Helper()
	p := startProxy(t, authBlock(t, tc.offer))
	o := newOrigin(t, tc.tls)
	tg := target{password: tc.password, origin: o}
	if tg.password == "" {
		tg.password = testPassword
	}
	if tc.tls {
		tg.ca = o.caFile(t)
	}
	path := casePath(t)
	tg.url = o.url(path)

	got := fetch(p, tg)
	if got.err != "" {
		t.Logf("the client reported: %s", got.err)
	} else {
		t.Logf("the client reported status %d", got.status)
	}
	switch {
	case tc.want == 0:
		if got.err == "" || !strings.Contains(got.err, tc.wantErr) {
			t.Errorf("the client reported status %d, error %q; want an error containing %q", got.status, got.err, tc.wantErr)
		}
	case got.err != "":
		t.Errorf("the client reported the error %q, want status %d", got.err, tc.want)
	case got.status != tc.want:
		t.Errorf("status %d, want %d", got.status, tc.want)
	}
	if tc.want == http.StatusOK {
		o.checkPage(t, got.body, path)
		o.checkReached(t)
	} else {
		o.checkNotReached(t)
	}
	p.checkProxySaw(t, tc.saw, o.srv.Listener.Addr().String())
}
