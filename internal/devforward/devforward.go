// Package devforward provides dev_forward_proxy, a minimal HTTP forward
// proxy handler for Caddy, built on github.com/elazarl/goproxy.
//
// It is for development and tests only. It exists so that proxy_auth can be
// exercised end to end in an environment where Caddy's real forward proxy
// plugin (github.com/caddyserver/forwardproxy) cannot be built. Production
// deployments use forward_proxy, never this handler: it has no ACLs, no
// upstream chaining, no probe resistance and no limits of its own.
//
// What it does:
//
//   - CONNECT host:port opens a TCP tunnel to host:port (HTTP/1.x only). The
//     client connection is hijacked and handed to goproxy, which answers
//     "200 Connection established" and then copies bytes both ways. Tunnels
//     outlive the handler call, so Caddy does not track them: a config reload
//     or shutdown leaves open tunnels running until either side closes.
//   - An absolute-form request (GET http://host/path) is forwarded to the
//     origin and the response is streamed back on the client's connection,
//     which stays open for further requests (keep-alive).
//   - Anything else, such as an origin-form request (GET /), is answered with
//     400 Bad Request and the text "not a proxy request"; it is never proxied
//     to the Host header. Requests over HTTP/2 or HTTP/3 get 505, since only
//     HTTP/1.x can be hijacked into a tunnel.
//
// Proxy-Authorization, Proxy-Authenticate, Proxy-Connection and Connection
// are not forwarded to the origin (goproxy removes them). Headers named in
// Connection, and Keep-Alive, TE and Upgrade, are passed through as they came,
// and a request without User-Agent reaches the origin with Go's default one.
// The client's Accept-Encoding is passed through unchanged and responses are
// never decompressed. Response headers are the origin's, hop-by-hop ones
// included; Caddy's Server header is not added.
//
// Forwarded requests use one http.Transport per handler, tuned so that a
// benchmark does not measure redials to the origin (Go's default keeps only 2
// idle connections per host):
//
//	MaxIdleConns:        1024
//	MaxIdleConnsPerHost: 1024
//	IdleConnTimeout:     90s
//	Proxy:               nil (HTTP_PROXY and friends are never used)
//	DisableCompression:  true
//	dial timeout:        10s (dial_timeout), also used for CONNECT
//	TCP keep-alive:      30s
//	TLSHandshakeTimeout: 10s (https:// absolute-form; certificates verified)
//	ExpectContinueTimeout: 1s
package devforward

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/caddyserver/caddy/v2/caddyconfig/httpcaddyfile"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"github.com/elazarl/goproxy"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

func init() {
	caddy.RegisterModule(Handler{})
	httpcaddyfile.RegisterHandlerDirective("dev_forward_proxy", parseCaddyfile)
	// The same slot Caddy's forward_proxy plugin takes, so a Caddyfile can
	// switch between the two without an order directive.
	httpcaddyfile.RegisterDirectiveOrder("dev_forward_proxy", httpcaddyfile.After, "file_server")
}

const defaultDialTimeout = 10 * time.Second

// Handler is a development-only forward proxy. See the package doc.
type Handler struct {
	// DialTimeout bounds how long connecting to an origin may take, both
	// for CONNECT tunnels and for forwarded requests, so that a test
	// against an unreachable origin fails quickly. Default: 10s.
	DialTimeout caddy.Duration `json:"dial_timeout,omitempty"`

	proxy     *goproxy.ProxyHttpServer
	transport *http.Transport
}

// CaddyModule returns the Caddy module information.
func (Handler) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{
		ID:  "http.handlers.dev_forward_proxy",
		New: func() caddy.Module { return new(Handler) },
	}
}

// Provision sets up the transport and the goproxy server.
func (h *Handler) Provision(ctx caddy.Context) error {
	logger := ctx.Logger()

	dialTimeout := time.Duration(h.DialTimeout)
	if dialTimeout == 0 {
		dialTimeout = defaultDialTimeout
	}
	dialer := &net.Dialer{Timeout: dialTimeout, KeepAlive: 30 * time.Second}
	h.transport = &http.Transport{
		Proxy:                 nil,
		DialContext:           dialer.DialContext,
		MaxIdleConns:          1024,
		MaxIdleConnsPerHost:   1024,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ExpectContinueTimeout: 1 * time.Second,
		DisableCompression:    true,
	}

	p := goproxy.NewProxyHttpServer()
	p.Tr = h.transport
	// NewProxyHttpServer points ConnectDial at $HTTPS_PROXY when it is set.
	// Without it, goproxy dials CONNECT targets with Tr.DialContext.
	p.ConnectDial = nil
	p.KeepAcceptEncoding = true
	p.NonproxyHandler = http.HandlerFunc(notAProxyRequest)
	p.Logger = zapPrintfLogger{logger}
	// goproxy's per-request INFO lines are only worth having when Caddy's
	// debug logging is on; its WARN lines always go to Printf, at debug.
	p.Verbose = logger.Core().Enabled(zapcore.DebugLevel)
	h.proxy = p
	return nil
}

// Validate rejects a negative dial timeout, which net.Dialer would
// otherwise take as "no timeout".
func (h *Handler) Validate() error {
	if h.DialTimeout < 0 {
		return fmt.Errorf("dial_timeout must not be negative, got %s", time.Duration(h.DialTimeout))
	}
	return nil
}

// Cleanup closes idle origin connections, which would otherwise stay open
// until IdleConnTimeout after every config reload.
func (h *Handler) Cleanup() error {
	if h.transport != nil {
		h.transport.CloseIdleConnections()
	}
	return nil
}

// ServeHTTP proxies r. It is terminal: next is never called.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request, _ caddyhttp.Handler) error {
	if r.ProtoMajor != 1 {
		http.Error(w, "dev_forward_proxy: only HTTP/1.x is supported, got "+r.Proto, http.StatusHTTPVersionNotSupported)
		return nil
	}
	h.proxy.ServeHTTP(goproxyWriter{w}, r)
	return nil
}

// notAProxyRequest answers requests that are neither CONNECT nor
// absolute-form, rather than guessing an origin from the Host header.
func notAProxyRequest(w http.ResponseWriter, r *http.Request) {
	http.Error(w, "dev_forward_proxy: not a proxy request (want CONNECT host:port or an absolute URI such as GET http://host/path, got "+
		r.Method+" "+r.RequestURI+")", http.StatusBadRequest)
}

// goproxyWriter gives goproxy the http.Hijacker and http.Flusher it looks
// for by type assertion. Caddy's response writers expose the connection's
// writer only through Unwrap, which http.ResponseController follows and a
// type assertion does not. Without Hijack, goproxy refuses every CONNECT;
// without Flush, it cannot stream text/event-stream responses.
type goproxyWriter struct {
	http.ResponseWriter
}

func (w goproxyWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	return http.NewResponseController(w.ResponseWriter).Hijack()
}

func (w goproxyWriter) Flush() {
	_ = http.NewResponseController(w.ResponseWriter).Flush()
}

// ReadFrom lets goproxy's io.Copy of each response body use the writer
// chain's own ReadFrom (Caddy's wrappers pass it down to net/http, which
// copies with a pooled buffer). Without it, io.Copy allocates a fresh 32 KiB
// buffer per response: at a few thousand requests a second that garbage
// alone kept the collector busy for a fifth of the proxy's CPU.
func (w goproxyWriter) ReadFrom(src io.Reader) (int64, error) {
	if rf, ok := w.ResponseWriter.(io.ReaderFrom); ok {
		return rf.ReadFrom(src)
	}
	return io.Copy(w.ResponseWriter, src)
}

// Unwrap lets http.ResponseController, which goproxy also uses, reach
// the rest of the writer chain.
func (w goproxyWriter) Unwrap() http.ResponseWriter {
	return w.ResponseWriter
}

// zapPrintfLogger routes goproxy's Printf-style log lines to zap at debug
// level: they are mostly connection resets from tunnels, which are normal.
type zapPrintfLogger struct {
	logger *zap.Logger
}

func (l zapPrintfLogger) Printf(format string, v ...any) {
	if c := l.logger.Check(zapcore.DebugLevel, "goproxy"); c != nil {
		c.Write(zap.String("message", strings.TrimSpace(fmt.Sprintf(format, v...))))
	}
}

// UnmarshalCaddyfile sets up the handler from Caddyfile tokens. Syntax:
//
//	dev_forward_proxy [<matcher>] {
//	    dial_timeout <duration>
//	}
//
// The block is optional; plain `dev_forward_proxy` is the usual form.
func (h *Handler) UnmarshalCaddyfile(d *caddyfile.Dispenser) error {
	d.Next() // consume directive name
	if d.NextArg() {
		return d.ArgErr()
	}
	for d.NextBlock(0) {
		switch d.Val() {
		case "dial_timeout":
			if !d.NextArg() {
				return d.ArgErr()
			}
			dur, err := caddy.ParseDuration(d.Val())
			if err != nil {
				return d.Errf("parsing dial_timeout %q: %v", d.Val(), err)
			}
			if dur <= 0 {
				return d.Errf("dial_timeout must be positive, got %q", d.Val())
			}
			h.DialTimeout = caddy.Duration(dur)
			if d.NextArg() {
				return d.ArgErr()
			}
		default:
			return d.Errf("unrecognized dev_forward_proxy option %q", d.Val())
		}
	}
	return nil
}

func parseCaddyfile(h httpcaddyfile.Helper) (caddyhttp.MiddlewareHandler, error) {
	handler := new(Handler)
	err := handler.UnmarshalCaddyfile(h.Dispenser)
	return handler, err
}

// Interface guards
var (
	_ caddy.Provisioner           = (*Handler)(nil)
	_ caddy.Validator             = (*Handler)(nil)
	_ caddy.CleanerUpper          = (*Handler)(nil)
	_ caddyhttp.MiddlewareHandler = (*Handler)(nil)
	_ caddyfile.Unmarshaler       = (*Handler)(nil)
	_ http.Hijacker               = goproxyWriter{}
	_ http.Flusher                = goproxyWriter{}
	_ io.ReaderFrom               = goproxyWriter{}
)
