package benchclient

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"sync"
	"syscall"
	"time"
)

// Load describes one closed-loop load run against a proxy: Connections
// workers, each sending its next request as soon as the previous one is
// answered, for Duration.
type Load struct {
	// Proxy is the proxy's host:port.
	Proxy string
	// Connections is the number of concurrent workers (each with its own
	// connection to the proxy).
	Connections int
	// Duration is how long requests are sent for.
	Duration time.Duration
	// NewAuth makes each worker's Authenticator.
	NewAuth func() (Authenticator, error)
	// DialTimeout bounds each connection attempt. Default: 5s.
	DialTimeout time.Duration
}

// maxAuthRounds bounds the 407 round trips one request may take: the first
// challenge, then perhaps one stale nonce.
const maxAuthRounds = 3

// RunGet sends absolute-form GET requests for target (an http:// URL)
// through the proxy over keep-alive connections, reconnecting when the proxy
// closes one. A request counts as done when its answer has status expect.
func RunGet(ctx context.Context, l Load, target string, expect int) (Result, error) {
	request, err := getRequest(target, expect)
	if err != nil {
		return Result{}, err
	}
	return l.run(ctx, request)
}

// getRequest checks that target is an absolute http:// URL and returns the
// request that GETs it and wants status expect.
func getRequest(target string, expect int) (func(*worker) error, error) {
	u, err := url.Parse(target)
	if err != nil || u.Scheme != "http" || u.Host == "" {
		return nil, fmt.Errorf("GET target %q: want an absolute http:// URL", target)
	}
	return func(w *worker) error { return w.get(target, u.Host, expect) }, nil
}

// RunConnect opens one CONNECT tunnel per request to target (host:port),
// runs a TLS handshake with tlsConfig through it, fetches path over HTTPS,
// and closes the tunnel. A request counts as done when the inner GET
// answers 200.
func RunConnect(ctx context.Context, l Load, target, path string, tlsConfig *tls.Config) (Result, error) {
	if _, _, err := net.SplitHostPort(target); err != nil {
		return Result{}, fmt.Errorf("CONNECT target %q: %v", target, err)
	}
	return l.run(ctx, func(w *worker) error {
		defer w.closeConn()
		return w.tunnel(target, path, tlsConfig)
	})
}

func (l Load) run(ctx context.Context, request func(*worker) error) (Result, error) {
	if l.Connections < 1 {
		return Result{}, errors.New("connections must be at least 1")
	}
	ctx, cancel := context.WithTimeout(ctx, l.Duration)
	defer cancel()
	deadline, _ := ctx.Deadline()

	workers := make([]*worker, l.Connections)
	for i := range workers {
		var err error
		if workers[i], err = l.newWorker(deadline); err != nil {
			return Result{}, err
		}
	}

	start := time.Now()
	var wg sync.WaitGroup
	for _, w := range workers {
		wg.Go(func() {
			// Closing the connection unblocks a worker waiting on it
			// when the run is cancelled early (Ctrl-C).
			stop := context.AfterFunc(ctx, w.closeConn)
			defer stop()
			w.loop(ctx, request)
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	if elapsed > l.Duration {
		elapsed = l.Duration
	}

	res := Result{Elapsed: elapsed}
	for _, w := range workers {
		res.add(w.stats)
	}
	res.finish()
	return res, nil
}

// newWorker makes a worker with its own Authenticator whose requests end
// by deadline. A zero DialTimeout means 5s.
func (l Load) newWorker(deadline time.Time) (*worker, error) {
	if l.DialTimeout == 0 {
		l.DialTimeout = 5 * time.Second
	}
	auth, err := l.NewAuth()
	if err != nil {
		return nil, err
	}
	return &worker{load: l, auth: auth, deadline: deadline}, nil
}

// worker is one closed loop: one request at a time, on its own connection.
type worker struct {
	load     Load
	auth     Authenticator
	deadline time.Time

	mu   sync.Mutex // guards conn against closeConn from the cancel hook
	conn net.Conn
	br   *bufio.Reader
	bw   *bufio.Writer
	// answered counts the answers read on conn: a connection that has
	// answered before may have been closed by the proxy since.
	answered int

	stats workerStats
}

func (w *worker) loop(ctx context.Context, request func(*worker) error) {
	for ctx.Err() == nil {
		start := time.Now()
		err := request(w)
		if ctx.Err() != nil || time.Now().After(w.deadline) {
			return // a request cut short by the end of the run counts for nothing
		}
		switch {
		case err == nil:
			w.stats.done(time.Since(start))
		case errors.As(err, new(unexpectedStatus)):
			w.stats.gotUnexpected(err)
			w.closeConn()
		default:
			w.stats.failed(err)
			w.closeConn()
			// Do not spin on a proxy that refuses connections.
			time.Sleep(10 * time.Millisecond)
		}
	}
}

// unexpectedStatus is an answer with a status the run did not expect.
type unexpectedStatus struct {
	status int
	detail string
}

func (e unexpectedStatus) Error() string {
	if e.detail != "" {
		return fmt.Sprintf("status %d: %s", e.status, e.detail)
	}
	return fmt.Sprintf("status %d", e.status)
}

func (w *worker) ensureConn() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.conn != nil {
		return nil
	}
	c, err := net.DialTimeout("tcp", w.load.Proxy, w.load.DialTimeout)
	if err != nil {
		return err
	}
	// Reads blocked at the end of the run return instead of hanging.
	_ = c.SetDeadline(w.deadline)
	w.conn = c
	w.answered = 0
	if w.br == nil {
		w.br = bufio.NewReaderSize(c, 16<<10)
		w.bw = bufio.NewWriterSize(c, 4<<10)
	} else {
		w.br.Reset(c)
		w.bw.Reset(c)
	}
	return nil
}

func (w *worker) closeConn() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.conn != nil {
		_ = w.conn.Close()
		w.conn = nil
	}
}

// exchange sends one request head (method, request-target, Host, plus
// Proxy-Authorization from the Authenticator) and reads the answer's head,
// going through as many 407 rounds as the Authenticator wants. The returned
// response's body is not yet read.
func (w *worker) exchange(method, target, host string) (*http.Response, error) {
	req := &http.Request{Method: method}
	for round := 1; ; round++ {
		if err := w.ensureConn(); err != nil {
			return nil, err
		}
		reused := w.answered > 0
		credentials := w.auth.Authorization(method, target)
		w.bw.WriteString(method + " " + target + " HTTP/1.1\r\nHost: " + host + "\r\n")
		if credentials != "" {
			w.bw.WriteString("Proxy-Authorization: " + credentials + "\r\n")
		}
		w.bw.WriteString("\r\n")
		err := w.bw.Flush()
		var resp *http.Response
		if err == nil {
			resp, err = http.ReadResponse(w.br, req)
		}
		if err != nil && reused && closedByPeer(err) {
			// A proxy may close a kept-alive connection after any answer
			// without saying so (tinyproxy does after every one); like
			// browsers and Go's Transport, send the request again on a new
			// connection.
			w.closeConn()
			w.stats.reconnects++
			round--
			continue
		}
		if err != nil {
			return nil, err
		}
		w.answered++
		if resp.StatusCode != http.StatusProxyAuthRequired {
			if err := w.auth.Succeeded(resp.Header.Get("Proxy-Authentication-Info")); err != nil {
				return nil, err
			}
			return resp, nil
		}
		retry, err := w.auth.Challenged(resp.Header.Values("Proxy-Authenticate"), credentials != "")
		if err != nil || !retry || round == maxAuthRounds {
			if err != nil {
				// Keep the 407 for the caller, who may have expected it.
				resp.Header.Set("X-Bench-Auth-Error", err.Error())
			}
			return resp, nil
		}
		w.stats.rechallenges++
		if err := w.finishBody(resp); err != nil {
			return nil, err
		}
	}
}

// finishBody reads the rest of resp and closes the connection if the proxy
// said it would.
func (w *worker) finishBody(resp *http.Response) error {
	_, err := io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if err != nil {
		return err
	}
	if resp.Close {
		w.closeConn()
	}
	return nil
}

func (w *worker) get(target, host string, expect int) error {
	resp, err := w.exchange(http.MethodGet, target, host)
	if err != nil {
		return err
	}
	if err := w.finishBody(resp); err != nil {
		return err
	}
	if resp.StatusCode != expect {
		return unexpectedStatus{resp.StatusCode, resp.Header.Get("X-Bench-Auth-Error")}
	}
	return nil
}

func (w *worker) tunnel(target, path string, tlsConfig *tls.Config) error {
	resp, err := w.exchange(http.MethodConnect, target, target)
	if err != nil {
		return err
	}
	if resp.StatusCode/100 != 2 {
		_ = w.finishBody(resp)
		return unexpectedStatus{resp.StatusCode, "CONNECT refused " + resp.Header.Get("X-Bench-Auth-Error")}
	}
	// The proxy's bytes after the 2xx belong to the tunnel; none come
	// before the client speaks, but read them through br all the same.
	w.mu.Lock()
	conn := w.conn
	w.mu.Unlock()
	if conn == nil {
		return net.ErrClosed
	}
	tc := tls.Client(bufferedConn{conn, w.br}, tlsConfig)
	if err := tc.Handshake(); err != nil {
		return fmt.Errorf("TLS through the tunnel: %w", err)
	}
	host, _, _ := net.SplitHostPort(target)
	if _, err := io.WriteString(tc, "GET "+path+" HTTP/1.1\r\nHost: "+host+"\r\nConnection: close\r\n\r\n"); err != nil {
		return err
	}
	inner, err := http.ReadResponse(bufio.NewReader(tc), &http.Request{Method: http.MethodGet})
	if err != nil {
		return fmt.Errorf("GET through the tunnel: %w", err)
	}
	_, err = io.Copy(io.Discard, inner.Body)
	inner.Body.Close()
	if err != nil {
		return err
	}
	if inner.StatusCode != http.StatusOK {
		return unexpectedStatus{inner.StatusCode, "through the tunnel"}
	}
	return nil
}

// closedByPeer reports whether err is the peer having closed or reset the
// connection, as opposed to a timeout or a malformed answer.
func closedByPeer(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)
}

// bufferedConn reads through a bufio.Reader that may already hold bytes
// from the connection.
type bufferedConn struct {
	net.Conn
	r *bufio.Reader
}

func (c bufferedConn) Read(p []byte) (int, error) { return c.r.Read(p) }

// checkTimeout bounds a single check request.
const checkTimeout = 10 * time.Second

// CheckGet sends one GET through the proxy as RunGet would and reports
// whether it was answered with status expect.
func CheckGet(l Load, target string, expect int) error {
	request, err := getRequest(target, expect)
	if err != nil {
		return err
	}
	return l.once(request)
}

// CheckConnect opens one tunnel as RunConnect would and reports whether
// the GET through it succeeded.
func CheckConnect(l Load, target, path string, tlsConfig *tls.Config) error {
	return l.once(func(w *worker) error { return w.tunnel(target, path, tlsConfig) })
}

func (l Load) once(request func(*worker) error) error {
	w, err := l.newWorker(time.Now().Add(checkTimeout))
	if err != nil {
		return err
	}
	defer w.closeConn()
	return request(w)
}
