package benchclient

import (
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// testProxy is a small forward proxy for the load client's tests. It
// demands the credentials its mode names, checks Digest answers with its
// own arithmetic (nonces, nc replay, stale nonces after staleAfter uses),
// answers GETs itself and tunnels CONNECTs to their target.
type testProxy struct {
	t          *testing.T
	mode       string // none, basic, digest
	staleAfter int    // Digest: a nonce is stale after this many uses (0: never)
	// closeSilently makes every GET answer close the connection without a
	// Connection: close, as tinyproxy does.
	closeSilently bool

	mu         sync.Mutex
	nonces     map[string]*nonceUse
	nextNonce  int
	answered   int // 200s to GETs and 2xx to CONNECTs
	challenged int // 407s
	problems   []string
}

type nonceUse struct {
	uses   int
	lastNC uint64
}

const testUser, testPass, testRealm = "bench", "pw:with:colons", "test realm"

func startTestProxy(t *testing.T, p *testProxy) string {
	t.Helper()
	p.t = t
	p.nonces = make(map[string]*nonceUse)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: p}
	go srv.Serve(ln)
	t.Cleanup(func() {
		srv.Close()
		p.mu.Lock()
		defer p.mu.Unlock()
		for _, pr := range p.problems {
			t.Errorf("test proxy: %s", pr)
		}
	})
	return ln.Addr().String()
}

func (p *testProxy) problem(format string, args ...any) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.problems) < 10 {
		p.problems = append(p.problems, fmt.Sprintf(format, args...))
	}
}

func (p *testProxy) newNonceLocked() string {
	p.nextNonce++
	n := "nonce-" + strconv.Itoa(p.nextNonce)
	p.nonces[n] = &nonceUse{}
	return n
}

func (p *testProxy) challenge(w http.ResponseWriter, stale bool) {
	p.mu.Lock()
	p.challenged++
	nonce := p.newNonceLocked()
	p.mu.Unlock()
	switch p.mode {
	case AuthBasic:
		w.Header().Add("Proxy-Authenticate", `Basic realm="`+testRealm+`"`)
	case AuthDigest:
		s := ""
		if stale {
			s = ", stale=true"
		}
		w.Header().Add("Proxy-Authenticate", `Digest realm="`+testRealm+`", qop="auth", algorithm=MD5, nonce="`+nonce+`", opaque="op"`+s)
		w.Header().Add("Proxy-Authenticate", `Digest realm="`+testRealm+`", qop="auth", algorithm=SHA-256, nonce="`+nonce+`", opaque="op"`+s)
	}
	w.WriteHeader(http.StatusProxyAuthRequired)
	io.WriteString(w, "authenticate, please")
}

// authorized checks r's credentials, answering the 407 itself if they fail.
func (p *testProxy) authorized(w http.ResponseWriter, r *http.Request) bool {
	field := r.Header.Get("Proxy-Authorization")
	switch p.mode {
	case AuthNone:
		return true
	case AuthBasic:
		want := "Basic " + base64.StdEncoding.EncodeToString([]byte(testUser+":"+testPass))
		if field != want {
			p.challenge(w, false)
			return false
		}
		return true
	}
	if field == "" {
		p.challenge(w, false)
		return false
	}
	cs, err := ParseChallenges([]string{field})
	if err != nil || len(cs) != 1 || cs[0].Scheme != "Digest" {
		p.problem("unparsable credentials %q", field)
		p.challenge(w, false)
		return false
	}
	a := cs[0].Params
	var h func(string) string
	switch a["algorithm"] {
	case "MD5":
		h = md5hex
	case "SHA-256":
		h = sha256hex
	default:
		p.problem("algorithm %q in %q", a["algorithm"], field)
	}
	if a["uri"] != r.RequestURI || a["username"] != testUser || a["realm"] != testRealm || a["opaque"] != "op" || a["qop"] != "auth" || h == nil {
		p.problem("credentials %q do not fit request %s %s", field, r.Method, r.RequestURI)
		p.challenge(w, false)
		return false
	}
	want := kd(h, h(testUser+":"+testRealm+":"+testPass), a["nonce"], a["nc"], a["cnonce"], r.Method, r.RequestURI)
	if a["response"] != want {
		p.problem("wrong response in %q", field)
		p.challenge(w, false)
		return false
	}
	nc, err := strconv.ParseUint(a["nc"], 16, 32)
	if err != nil || len(a["nc"]) != 8 {
		p.problem("nc %q is not 8 hex digits", a["nc"])
	}
	p.mu.Lock()
	use, known := p.nonces[a["nonce"]]
	var stale bool
	switch {
	case !known:
		p.problems = append(p.problems, "nonce never issued: "+a["nonce"])
	case nc <= use.lastNC:
		p.problems = append(p.problems, fmt.Sprintf("nc %s replayed on nonce %s (last %08x)", a["nc"], a["nonce"], use.lastNC))
	default:
		use.lastNC = nc
		use.uses++
		stale = p.staleAfter > 0 && use.uses > p.staleAfter
	}
	p.mu.Unlock()
	if stale {
		p.challenge(w, true)
		return false
	}
	return known
}

func (p *testProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !p.authorized(w, r) {
		return
	}
	p.mu.Lock()
	p.answered++
	p.mu.Unlock()
	if r.Method == http.MethodConnect {
		p.tunnel(w, r)
		return
	}
	if !strings.HasPrefix(r.RequestURI, "http://") {
		p.problem("not absolute-form: %s", r.RequestURI)
	}
	if !p.closeSilently {
		w.Header().Set("Content-Length", strconv.Itoa(len(OriginBody)))
		w.Write(OriginBody)
		return
	}
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		p.problem("hijack: %v", err)
		return
	}
	fmt.Fprintf(conn, "HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s", len(OriginBody), OriginBody)
	conn.Close()
}

func (p *testProxy) tunnel(w http.ResponseWriter, r *http.Request) {
	upstream, err := net.Dial("tcp", r.RequestURI)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	defer upstream.Close()
	conn, brw, err := http.NewResponseController(w).Hijack()
	if err != nil {
		p.problem("hijack: %v", err)
		return
	}
	defer conn.Close()
	io.WriteString(conn, "HTTP/1.1 200 Connection established\r\n\r\n")
	done := make(chan struct{})
	go func() {
		io.Copy(upstream, brw)
		upstream.(*net.TCPConn).CloseWrite()
		close(done)
	}()
	io.Copy(conn, upstream)
	<-done
}

func testLoad(proxy, mode, pass string, connections int) Load {
	return Load{
		Proxy:       proxy,
		Connections: connections,
		Duration:    300 * time.Millisecond,
		NewAuth:     func() (Authenticator, error) { return NewAuthenticator(mode, testUser, pass, "") },
	}
}

func startTestOrigin(t *testing.T) *Origin {
	t.Helper()
	o, err := StartOrigin("127.0.0.1:0", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { o.Close() })
	return o
}

func TestRunGetDigestReusesNoncesAndFollowsStale(t *testing.T) {
	p := &testProxy{mode: AuthDigest, staleAfter: 7}
	addr := startTestProxy(t, p)
	res, err := RunGet(context.Background(), testLoad(addr, AuthDigest, testPass, 4), "http://origin.test/page", 200)
	if err != nil {
		t.Fatal(err)
	}
	if res.Requests < 30 || res.Unexpected != 0 || res.Errors != 0 {
		t.Fatalf("result %s (first problem: %s); want at least 30 requests and no failures", res.Line(), res.FirstProblem)
	}
	// Each worker's first request is challenged, then every 8th on a nonce
	// is stale: far fewer 407s than requests, so the nonce was reused.
	if res.Rechallenges < 4 || res.Rechallenges > res.Requests/7+8 {
		t.Errorf("%d rechallenges for %d requests; want about one per 7 requests", res.Rechallenges, res.Requests)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if int64(p.answered) < res.Requests {
		t.Errorf("proxy answered %d, client counted %d", p.answered, res.Requests)
	}
}

func TestRunGetBasicAndNoCredentials(t *testing.T) {
	p := &testProxy{mode: AuthBasic}
	addr := startTestProxy(t, p)
	ctx := context.Background()

	res, err := RunGet(ctx, testLoad(addr, AuthBasic, testPass, 3), "http://origin.test/", 200)
	if err != nil {
		t.Fatal(err)
	}
	if res.Requests < 30 || res.Unexpected != 0 || res.Errors != 0 || res.Rechallenges != 0 {
		t.Fatalf("Basic: %s (%s)", res.Line(), res.FirstProblem)
	}
	if res.Percentile(0.5) <= 0 || res.Percentile(0.99) < res.Percentile(0.5) {
		t.Errorf("percentiles p50 %v p99 %v", res.Percentile(0.5), res.Percentile(0.99))
	}

	res, err = RunGet(ctx, testLoad(addr, AuthNone, "", 3), "http://origin.test/", 407)
	if err != nil {
		t.Fatal(err)
	}
	if res.Requests < 30 || res.Unexpected != 0 || res.Errors != 0 {
		t.Fatalf("no credentials, expecting 407: %s (%s)", res.Line(), res.FirstProblem)
	}

	res, err = RunGet(ctx, testLoad(addr, AuthBasic, "wrong", 2), "http://origin.test/", 200)
	if err != nil {
		t.Fatal(err)
	}
	if res.Requests != 0 || res.Unexpected == 0 || !strings.Contains(res.FirstProblem, "refused") {
		t.Fatalf("wrong password: %s (%s); want only unexpected 407s, credentials refused", res.Line(), res.FirstProblem)
	}
}

func TestRunGetReconnectsWhenProxyClosesSilently(t *testing.T) {
	addr := startTestProxy(t, &testProxy{mode: AuthBasic, closeSilently: true})
	res, err := RunGet(context.Background(), testLoad(addr, AuthBasic, testPass, 2), "http://origin.test/", 200)
	if err != nil {
		t.Fatal(err)
	}
	if res.Requests < 10 || res.Errors != 0 || res.Unexpected != 0 {
		t.Fatalf("%s (%s); want requests and no errors", res.Line(), res.FirstProblem)
	}
	if res.Reconnects < res.Requests/2 {
		t.Errorf("%d reconnects for %d requests; every reused connection was closed", res.Reconnects, res.Requests)
	}
}

func TestRunConnectThroughTunnels(t *testing.T) {
	o := startTestOrigin(t)
	for _, mode := range []string{AuthBasic, AuthDigest} {
		t.Run(mode, func(t *testing.T) {
			addr := startTestProxy(t, &testProxy{mode: mode})
			tc, err := TunnelTLSConfig(o.CertPEM)
			if err != nil {
				t.Fatal(err)
			}
			res, err := RunConnect(context.Background(), testLoad(addr, mode, testPass, 2), o.HTTPSAddr(), "/", tc)
			if err != nil {
				t.Fatal(err)
			}
			if res.Requests < 10 || res.Errors != 0 || res.Unexpected != 0 {
				t.Fatalf("%s (%s)", res.Line(), res.FirstProblem)
			}
			// Digest: one 407 per worker, then the nonce serves every tunnel.
			if mode == AuthDigest && res.Rechallenges != 2 {
				t.Errorf("%d rechallenges, want 2 (one per worker)", res.Rechallenges)
			}
		})
	}
}

func TestChecks(t *testing.T) {
	o := startTestOrigin(t)
	tc, err := TunnelTLSConfig(o.CertPEM)
	if err != nil {
		t.Fatal(err)
	}
	addr := startTestProxy(t, &testProxy{mode: AuthBasic})
	if err := CheckGet(testLoad(addr, AuthBasic, testPass, 1), "http://"+o.HTTPAddr()+"/", 200); err != nil {
		t.Errorf("CheckGet: %v", err)
	}
	if err := CheckConnect(testLoad(addr, AuthBasic, testPass, 1), o.HTTPSAddr(), "/", tc); err != nil {
		t.Errorf("CheckConnect: %v", err)
	}
	err = CheckGet(testLoad(addr, AuthNone, "", 1), "http://"+o.HTTPAddr()+"/", 200)
	if err == nil || !strings.Contains(err.Error(), "status 407") {
		t.Errorf("CheckGet without credentials = %v, want status 407", err)
	}
	if _, err := RunGet(context.Background(), testLoad(addr, AuthBasic, testPass, 1), "https://x/", 200); err == nil {
		t.Error("RunGet accepted an https:// target")
	}
	if err := CheckGet(testLoad("127.0.0.1:1", AuthBasic, testPass, 1), "http://x/", 200); err == nil {
		t.Error("CheckGet through a closed port succeeded")
	}
}
