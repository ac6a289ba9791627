package clienttest

// A TCP relay in front of each proxy that keeps what the client sent. The
// proxy's logs say which scheme a client used; only the client's own bytes
// say which Digest algorithm it chose among several challenges, whether it
// hashed its user name, and what it put in uri.

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/caddy-proxyauth/proxyauth/internal/benchclient"
)

// tapKeepLimit bounds what one connection's record keeps: the requests a
// case makes are a few kilobytes; a tunnel's TLS bytes are of no interest.
const tapKeepLimit = 1 << 20

// tap relays connections from its own loopback port to the proxy's and
// records the bytes each client sent.
type tap struct {
	ln     net.Listener
	target string
	wg     sync.WaitGroup

	mu    sync.Mutex
	conns []net.Conn
	sent  []*strings.Builder // per accepted connection, in order
}

func startTap(t *testing.T, target string) *tap {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	tp := &tap{ln: ln, target: target}
	tp.wg.Add(1)
	go tp.accept()
	return tp
}

func (tp *tap) addr() string { return tp.ln.Addr().String() }

func (tp *tap) accept() {
	defer tp.wg.Done()
	for {
		client, err := tp.ln.Accept()
		if err != nil {
			return
		}
		server, err := net.Dial("tcp", tp.target)
		if err != nil {
			client.Close()
			continue
		}
		record := new(strings.Builder)
		tp.mu.Lock()
		tp.conns = append(tp.conns, client, server)
		tp.sent = append(tp.sent, record)
		tp.mu.Unlock()
		tp.wg.Add(2)
		go tp.relay(server, io.TeeReader(client, &limitedWriter{w: record, n: tapKeepLimit}))
		go tp.relay(client, server)
	}
}

// relay copies src to dst and passes src's end on as a half-close, so
// that either side can finish sending while the other still answers.
func (tp *tap) relay(dst net.Conn, src io.Reader) {
	defer tp.wg.Done()
	_, _ = io.Copy(dst, src)
	if tcp, ok := dst.(*net.TCPConn); ok {
		_ = tcp.CloseWrite()
	}
}

// close ends every relayed connection and waits for the relays. Called once
// the proxy has stopped: everything it received came through here, so the
// record is complete.
func (tp *tap) close() {
	tp.ln.Close()
	tp.mu.Lock()
	for _, c := range tp.conns {
		c.Close()
	}
	tp.mu.Unlock()
	tp.wg.Wait()
}

// sentRequest is one request a client sent to the proxy.
type sentRequest struct {
	method, host       string // host as in the request-target (host:port)
	proxyAuthorization []string
}

// requests are the requests the clients sent, in order on each connection.
// A connection's record is read as requests up to the first bytes that are
// not one: after a CONNECT the proxy accepted, that is the tunnel.
func (tp *tap) requests() []sentRequest {
	tp.mu.Lock()
	defer tp.mu.Unlock()
	var sent []sentRequest
	for _, record := range tp.sent {
		br := bufio.NewReader(strings.NewReader(record.String()))
		for {
			req, err := http.ReadRequest(br)
			if err != nil {
				break
			}
			_, err = io.Copy(io.Discard, req.Body)
			sent = append(sent, sentRequest{method: req.Method, host: req.Host, proxyAuthorization: req.Header.Values("Proxy-Authorization")})
			if err != nil {
				break
			}
		}
	}
	return sent
}

// limitedWriter keeps the first n bytes written to it and drops the rest,
// never failing the copy it is part of.
type limitedWriter struct {
	w io.Writer
	n int
}

func (l *limitedWriter) Write(p []byte) (int, error) {
	if keep := min(len(p), l.n); keep > 0 {
		if _, err := l.w.Write(p[:keep]); err != nil {
			return 0, err
		}
		l.n -= keep
	}
	return len(p), nil
}

// digestParams parses Digest credentials v ("Digest username=..., ...")
// into their auth-params, names lower-cased and values unquoted. The
// credentials have a challenge's syntax (RFC 9110 §11.4), so the parser of
// challenges reads them, and refuses a repeated parameter or a control
// character in a quoted string. It is for reading what a client sent, not
// for checking it: proxy_auth does that.
func digestParams(v string) (map[string]string, error) {
	cs, err := benchclient.ParseChallenges([]string{v})
	if err != nil {
		return nil, err
	}
	if len(cs) != 1 || cs[0].Params == nil {
		return nil, fmt.Errorf("%d auth-schemes, want one with auth-params", len(cs))
	}
	return cs[0].Params, nil
}

// digestAnswer is what a client's Digest credentials show of the client.
type digestAnswer struct {
	algorithm string // the algorithm parameter as sent; "" when absent
	userhash  bool   // the user name sent hashed (userhash=true)
	// uri is the form of the uri parameter: "path" (path and query),
	// "absolute" (the whole URL) or "authority" (host:port, for CONNECT).
	uri string
}

func (a digestAnswer) String() string {
	return fmt.Sprintf("algorithm=%q userhash=%t uri=%s", a.algorithm, a.userhash, a.uri)
}

// checkDigestAnswers fails unless every Digest answer a client sent with
// a request for origin (host:port) is want, and there is one; with want
// nil, unless there is none. Requests for other hosts are a browser's own,
// which the proxy refuses before proxy_auth.
func checkDigestAnswers(t *testing.T, sent []sentRequest, origin string, want *digestAnswer) {
	t.Helper()
	var values []string
	for _, r := range sent {
		if r.host == origin {
			values = append(values, r.proxyAuthorization...)
		}
	}
	var answers []digestAnswer
	for _, v := range values {
		scheme, _, _ := strings.Cut(v, " ")
		if !strings.EqualFold(scheme, "Digest") {
			continue
		}
		params, err := digestParams(v)
		if err != nil {
			t.Errorf("the client sent Digest credentials that do not parse (%v): %q", err, v)
			continue
		}
		got := digestAnswer{algorithm: params["algorithm"], userhash: params["userhash"] == "true", uri: uriForm(params["uri"])}
		if plain := params["username"] == testUser; plain == got.userhash {
			t.Errorf("the client sent username %q with userhash=%q", params["username"], params["userhash"])
		}
		t.Logf("the client answered Digest with %s (uri %q, qop %s, nc %s)", got, params["uri"], params["qop"], params["nc"])
		answers = append(answers, got)
	}
	switch {
	case want == nil && len(answers) > 0:
		t.Errorf("the client sent %d Digest answers, want none", len(answers))
	case want == nil:
	case len(answers) == 0:
		t.Errorf("the client sent no Digest answer, want %s", want)
	default:
		for _, a := range answers {
			if a != *want {
				t.Errorf("the client answered Digest with %s, want %s", a, want)
			}
		}
	}
}

func uriForm(uri string) string {
	switch {
	case strings.HasPrefix(uri, "/"):
		return "path"
	case strings.Contains(uri, "://"):
		return "absolute"
	default:
		return "authority"
	}
}
