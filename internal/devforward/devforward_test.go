package devforward

import (
	"bufio"
	"context"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httptrace"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/caddyserver/caddy/v2/caddytest"
)

// echo is what the test origin answers with: what it saw of the request.
type echo struct {
	Method  string      `json:"method"`
	URI     string      `json:"uri"`
	Host    string      `json:"host"`
	TLS     bool        `json:"tls"`
	Headers http.Header `json:"headers"`
}

func echoHandler(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Origin", "yes")
	_ = json.NewEncoder(w).Encode(echo{
		Method:  r.Method,
		URI:     r.RequestURI,
		Host:    r.Host,
		TLS:     r.TLS != nil,
		Headers: r.Header,
	})
}

// origin starts a loopback echo server and counts the TCP connections
// it accepts, so tests can tell whether the proxy reuses them.
func origin(t *testing.T, useTLS bool) (srv *httptest.Server, conns *atomic.Int64) {
	t.Helper()
	conns = new(atomic.Int64)
	srv = httptest.NewUnstartedServer(http.HandlerFunc(echoHandler))
	srv.Config.ConnState = func(_ net.Conn, state http.ConnState) {
		if state == http.StateNew {
			conns.Add(1)
		}
	}
	if useTLS {
		srv.StartTLS()
	} else {
		srv.Start()
	}
	t.Cleanup(srv.Close)
	return srv, conns
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

// adminPort is the admin port of this package's in-process Caddy;
// PROXYAUTH_TEST_PORT_OFFSET moves it, as it does the root package's.
var adminPort = 2998 + func() int {
	n, _ := strconv.Atoi(os.Getenv("PROXYAUTH_TEST_PORT_OFFSET"))
	return n
}()

// startProxy loads a config with dev_forward_proxy into the in-process
// Caddy that caddytest runs, and returns the proxy's host:port. Loading
// is synchronous: the listener is bound when InitServer returns.
func startProxy(t *testing.T) string {
	t.Helper()
	port := freePort(t)
	// Each test package runs its own in-process Caddy, and go test runs
	// packages in parallel: this one keeps off the root package's admin port.
	tester := caddytest.NewTester(t).WithDefaultOverrides(caddytest.Config{AdminPort: adminPort})
	tester.InitServer(fmt.Sprintf(`{
	admin localhost:%d
	skip_install_trust
}

http://:%d {
	bind 127.0.0.1
	dev_forward_proxy
}
`, adminPort, port), "caddyfile")
	if t.Failed() {
		t.FailNow()
	}
	return fmt.Sprintf("127.0.0.1:%d", port)
}

// proxiedClient sends every request through the proxy at proxyAddr.
// caddytest's own client is no use here: it rewrites every dial to
// 127.0.0.1 and takes its proxy from the environment.
func proxiedClient(t *testing.T, proxyAddr string, tlsOrigin *httptest.Server) *http.Client {
	t.Helper()
	tr := &http.Transport{
		Proxy: http.ProxyURL(&url.URL{Scheme: "http", Host: proxyAddr}),
		ProxyConnectHeader: http.Header{
			"Proxy-Authorization": {"Basic dXNlcjpwYXNz"},
		},
	}
	if tlsOrigin != nil {
		tr.TLSClientConfig = tlsOrigin.Client().Transport.(*http.Transport).TLSClientConfig.Clone()
	}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: 10 * time.Second}
}

// get fetches target and reports which address the client connected to.
func get(t *testing.T, client *http.Client, target string, header http.Header) (resp *http.Response, body []byte, dialed string) {
	t.Helper()
	trace := &httptrace.ClientTrace{
		GotConn: func(info httptrace.GotConnInfo) { dialed = info.Conn.RemoteAddr().String() },
	}
	req, err := http.NewRequestWithContext(httptrace.WithClientTrace(context.Background(), trace), http.MethodGet, target, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err = client.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", target, err)
	}
	defer resp.Body.Close()
	body, err = io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("reading body of %s: %v", target, err)
	}
	return resp, body, dialed
}

func decodeEcho(t *testing.T, body []byte) echo {
	t.Helper()
	var e echo
	if err := json.Unmarshal(body, &e); err != nil {
		t.Fatalf("origin answer is not an echo: %v: %q", err, body)
	}
	return e
}

func TestAbsoluteFormGET(t *testing.T) {
	proxyAddr := startProxy(t)
	srv, _ := origin(t, false)
	client := proxiedClient(t, proxyAddr, nil)

	resp, body, dialed := get(t, client, srv.URL+"/hello?x=1", http.Header{"X-Test": {"kept"}})

	if dialed != proxyAddr {
		t.Errorf("client connected to %s, want the proxy %s", dialed, proxyAddr)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status = %d, want 200; body %q", resp.StatusCode, body)
	}
	if got := resp.Header.Get("X-Origin"); got != "yes" {
		t.Errorf("X-Origin response header = %q, want the origin's %q", got, "yes")
	}
	e := decodeEcho(t, body)
	if e.Method != http.MethodGet || e.URI != "/hello?x=1" || e.Host != srv.Listener.Addr().String() || e.TLS {
		t.Errorf("origin saw %s %s Host=%s TLS=%v, want GET /hello?x=1 Host=%s TLS=false",
			e.Method, e.URI, e.Host, e.TLS, srv.Listener.Addr())
	}
	if got := e.Headers.Get("X-Test"); got != "kept" {
		t.Errorf("origin saw X-Test = %q, want %q", got, "kept")
	}
}

func TestConnectTunnelToTLSOrigin(t *testing.T) {
	proxyAddr := startProxy(t)
	srv, _ := origin(t, true)
	client := proxiedClient(t, proxyAddr, srv)

	resp, body, dialed := get(t, client, srv.URL+"/secure", nil)

	if dialed != proxyAddr {
		t.Errorf("client connected to %s, want the proxy %s", dialed, proxyAddr)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status = %d, want 200; body %q", resp.StatusCode, body)
	}
	if resp.TLS == nil || len(resp.TLS.PeerCertificates) == 0 ||
		!resp.TLS.PeerCertificates[0].Equal(srv.Certificate()) {
		t.Errorf("TLS peer is not the origin: the tunnel must carry the origin's own handshake")
	}
	e := decodeEcho(t, body)
	if e.Method != http.MethodGet || e.URI != "/secure" || !e.TLS {
		t.Errorf("origin saw %s %s TLS=%v, want GET /secure TLS=true", e.Method, e.URI, e.TLS)
	}
	if got := e.Headers.Get("Proxy-Authorization"); got != "" {
		t.Errorf("Proxy-Authorization from the CONNECT reached the origin: %q", got)
	}
}

// The client's headers are written by hand so that the proxy certainly
// receives Proxy-Authorization and Proxy-Connection, whatever a client
// library would or would not send.
func TestProxyHeadersNotForwarded(t *testing.T) {
	proxyAddr := startProxy(t)
	srv, _ := origin(t, false)
	originAddr := srv.Listener.Addr().String()

	conn, err := net.DialTimeout("tcp", proxyAddr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	fmt.Fprintf(conn, "GET http://%s/headers HTTP/1.1\r\n"+
		"Host: %s\r\n"+
		"Proxy-Authorization: Basic dXNlcjpwYXNz\r\n"+
		"Proxy-Connection: keep-alive\r\n"+
		"Connection: keep-alive\r\n"+
		"X-Keep: yes\r\n"+
		"\r\n", originAddr, originAddr)

	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status = %d, want 200; body %q", resp.StatusCode, body)
	}
	e := decodeEcho(t, body)
	for _, name := range []string{"Proxy-Authorization", "Proxy-Connection", "Connection"} {
		if v, ok := e.Headers[name]; ok {
			t.Errorf("origin received %s: %q", name, v)
		}
	}
	if got := e.Headers.Get("X-Keep"); got != "yes" {
		t.Errorf("origin saw X-Keep = %q, want %q (ordinary headers must pass)", got, "yes")
	}
}

func TestOriginFormRequestIsRefused(t *testing.T) {
	proxyAddr := startProxy(t)
	client := &http.Client{Timeout: 10 * time.Second}

	resp, err := client.Get("http://" + proxyAddr + "/")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("status = %d, want 400", resp.StatusCode)
	}
	if !strings.Contains(string(body), "not a proxy request") {
		t.Errorf("body = %q, want it to say %q", body, "not a proxy request")
	}
}

func TestConnectToClosedPortIsBadGateway(t *testing.T) {
	proxyAddr := startProxy(t)
	closed := fmt.Sprintf("127.0.0.1:%d", freePort(t))

	conn, err := net.DialTimeout("tcp", proxyAddr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	fmt.Fprintf(conn, "CONNECT %s HTTP/1.1\r\nHost: %s\r\n\r\n", closed, closed)

	resp, err := http.ReadResponse(bufio.NewReader(conn), &http.Request{Method: http.MethodConnect})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadGateway {
		t.Errorf("status = %d, want 502", resp.StatusCode)
	}
}

// Benchmarks depend on neither leg being redialled per request.
func TestConnectionsAreReused(t *testing.T) {
	proxyAddr := startProxy(t)
	srv, originConns := origin(t, false)
	client := proxiedClient(t, proxyAddr, nil)

	var proxyConns atomic.Int64
	trace := &httptrace.ClientTrace{
		GotConn: func(info httptrace.GotConnInfo) {
			if !info.Reused {
				proxyConns.Add(1)
			}
		},
	}
	const requests = 5
	for i := range requests {
		req, err := http.NewRequestWithContext(httptrace.WithClientTrace(context.Background(), trace),
			http.MethodGet, fmt.Sprintf("%s/%d", srv.URL, i), nil)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
		if e := decodeEcho(t, body); e.URI != fmt.Sprintf("/%d", i) {
			t.Fatalf("request %d: origin saw %s", i, e.URI)
		}
	}
	if n := proxyConns.Load(); n != 1 {
		t.Errorf("client opened %d connections to the proxy for %d requests, want 1", n, requests)
	}
	if n := originConns.Load(); n != 1 {
		t.Errorf("proxy opened %d connections to the origin for %d requests, want 1", n, requests)
	}
}

// The first event must reach the client while the origin is still
// holding the response open; without a flush it would sit in a buffer.
func TestEventStreamIsFlushed(t *testing.T) {
	proxyAddr := startProxy(t)
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		fmt.Fprint(w, "data: first\n\n")
		http.NewResponseController(w).Flush()
		select {
		case <-release:
		case <-r.Context().Done():
		}
		fmt.Fprint(w, "data: last\n\n")
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() {
		select {
		case <-release:
		default:
			close(release)
		}
	})
	client := proxiedClient(t, proxyAddr, nil)

	resp, err := client.Get(srv.URL + "/events")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	line, err := bufio.NewReader(resp.Body).ReadString('\n')
	if err != nil {
		t.Fatalf("reading first event before the origin finished: %v", err)
	}
	if line != "data: first\n" {
		t.Errorf("first line = %q, want %q", line, "data: first\n")
	}
	close(release)
}

func TestCurl(t *testing.T) {
	curl, err := exec.LookPath("curl")
	if err != nil {
		t.Skip("curl not installed")
	}
	proxyAddr := startProxy(t)
	plain, _ := origin(t, false)
	secure, _ := origin(t, true)

	caFile := filepath.Join(t.TempDir(), "origin.pem")
	pemBytes := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: secure.Certificate().Raw})
	if err := os.WriteFile(caFile, pemBytes, 0o600); err != nil {
		t.Fatal(err)
	}

	run := func(t *testing.T, args ...string) echo {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		// --noproxy "" and a bare environment: only -x may pick the proxy.
		args = append([]string{"--silent", "--show-error", "--fail", "--noproxy", "",
			"--proxy", "http://" + proxyAddr, "--proxy-user", "user:pass"}, args...)
		cmd := exec.CommandContext(ctx, curl, args...)
		cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir()}
		out, err := cmd.Output()
		if err != nil {
			var stderr []byte
			if ee, ok := err.(*exec.ExitError); ok {
				stderr = ee.Stderr
			}
			t.Fatalf("curl %v: %v: %s", args, err, stderr)
		}
		return decodeEcho(t, out)
	}

	t.Run("absolute-form", func(t *testing.T) {
		e := run(t, "--header", "X-Curl: plain", plain.URL+"/via-curl")
		if e.URI != "/via-curl" || e.TLS || e.Headers.Get("X-Curl") != "plain" {
			t.Errorf("origin saw URI=%s TLS=%v X-Curl=%q", e.URI, e.TLS, e.Headers.Get("X-Curl"))
		}
		for _, name := range []string{"Proxy-Authorization", "Proxy-Connection"} {
			if v, ok := e.Headers[name]; ok {
				t.Errorf("origin received %s: %q", name, v)
			}
		}
	})

	t.Run("tunnel", func(t *testing.T) {
		e := run(t, "--proxytunnel", "--cacert", caFile, secure.URL+"/via-curl-tunnel")
		if e.URI != "/via-curl-tunnel" || !e.TLS {
			t.Errorf("origin saw URI=%s TLS=%v, want /via-curl-tunnel over TLS", e.URI, e.TLS)
		}
		if v, ok := e.Headers["Proxy-Authorization"]; ok {
			t.Errorf("origin received Proxy-Authorization: %q", v)
		}
	})
}

func TestUnmarshalCaddyfile(t *testing.T) {
	for _, tc := range []struct {
		input   string
		want    time.Duration
		wantErr string
	}{
		{input: `dev_forward_proxy`},
		{input: "dev_forward_proxy {\n}"},
		{input: "dev_forward_proxy {\n dial_timeout 3s\n}", want: 3 * time.Second},
		{input: `dev_forward_proxy extra`, wantErr: "wrong argument count"},
		{input: "dev_forward_proxy {\n dial_timeout\n}", wantErr: "wrong argument count"},
		{input: "dev_forward_proxy {\n dial_timeout 3s 4s\n}", wantErr: "wrong argument count"},
		{input: "dev_forward_proxy {\n dial_timeout soon\n}", wantErr: "parsing dial_timeout"},
		{input: "dev_forward_proxy {\n dial_timeout 0s\n}", wantErr: "must be positive"},
		{input: "dev_forward_proxy {\n upstream x\n}", wantErr: `unrecognized dev_forward_proxy option "upstream"`},
	} {
		var h Handler
		err := h.UnmarshalCaddyfile(caddyfile.NewTestDispenser(tc.input))
		switch {
		case tc.wantErr == "" && err != nil:
			t.Errorf("%q: unexpected error %v", tc.input, err)
		case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
			t.Errorf("%q: error = %v, want one containing %q", tc.input, err, tc.wantErr)
		case tc.wantErr == "" && time.Duration(h.DialTimeout) != tc.want:
			t.Errorf("%q: DialTimeout = %v, want %v", tc.input, time.Duration(h.DialTimeout), tc.want)
		}
	}
}

func TestValidateRejectsNegativeDialTimeout(t *testing.T) {
	if err := (&Handler{DialTimeout: caddy.Duration(-time.Second)}).Validate(); err == nil {
		t.Error("Validate accepted a negative dial_timeout")
	}
	if err := (&Handler{}).Validate(); err != nil {
		t.Errorf("Validate rejected the zero config: %v", err)
	}
}
