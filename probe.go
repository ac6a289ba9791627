package proxyauth

import (
	"errors"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
)

// ProbeResistance makes the proxy look like a plain web site to anyone
// without valid credentials: instead of a 407, such a request gets what the
// site behind the proxy gives a plain web request, so a scanner cannot tell
// that a proxy is there. Clients that send credentials unasked (curl
// --proxy-user, most proxy libraries) work as before.
//
// The request is never passed on as a proxy request. It is first turned
// into a request for the site itself, the same kind of request the `hosts`
// list lets through unchallenged: not CONNECT, origin-form (`GET /path`),
// Host one of `hosts`. A CONNECT, which cannot be handed on without being
// tunnelled, is answered here as Caddy's file_server answers it: 308
// Permanent Redirect to `/`. So probe resistance needs `hosts`, and
// forward_proxy must have the same `hosts` list (as it must anyway).
type ProbeResistance struct {
	// A host name that does not otherwise exist, known only to the proxy's
	// users. A request for it without valid credentials gets the 407, so a
	// browser can be taught the credentials: open http://<secret_host>/
	// through the proxy. With valid credentials it gets a short text page
	// from proxy_auth; it is never proxied (which would also leak the name
	// to DNS). Optional: without it, only clients that send credentials
	// unasked can use the proxy.
	SecretHost string `json:"secret_host,omitempty"`
}

// probeMode is ProbeResistance at run time. A nil *probeMode is off.
type probeMode struct {
	secretHost caddyhttp.MatchHost // empty if none
	siteHost   string              // Host given to a disguised request
}

func (h *ProxyAuth) provisionProbeResistance() {
	if h.ProbeResistance == nil {
		return
	}
	h.probe = new(probeMode)
	if secret := h.ProbeResistance.SecretHost; secret != "" {
		h.probe.secretHost = caddyhttp.MatchHost{secret}
		_ = h.probe.secretHost.Provision(caddy.Context{}) // only normalises; a bad name cannot match anything
	}
	// The first exact name: a disguised request must name a real host.
	for _, host := range h.hosts {
		if !strings.ContainsAny(host, "*{") {
			h.probe.siteHost = host
			break
		}
	}
}

func (h *ProxyAuth) validateProbeResistance() error {
	p := h.probe
	switch {
	case p == nil:
		return nil
	case p.siteHost == "":
		return errors.New("probe_resistance needs hosts with at least one exact name: the site whose pages clients without credentials get")
	case len(p.secretHost) > 0 && slices.Contains(h.hosts, p.secretHost[0]):
		return errors.New("probe_resistance: the secret host must not be one of hosts")
	}
	return nil
}

// isSecretHost reports whether r is for the secret host.
func (p *probeMode) isSecretHost(r *http.Request) bool {
	if p == nil || len(p.secretHost) == 0 {
		return false
	}
	secret, _ := p.secretHost.MatchWithError(r)
	return secret
}

// disguise answers a request without valid credentials as the site would
// answer a plain web request: r is rewritten in place (as Caddy's rewrite
// handler does, so placeholders see the new values; logs keep the
// original) into a request for one of the site's own names with only the
// path and query left of its target, and handed to next. CONNECT is
// answered here and never passed on: any handler after proxy_auth might
// tunnel it.
func (p *probeMode) disguise(w http.ResponseWriter, r *http.Request, next caddyhttp.Handler) error {
	if r.Method == http.MethodConnect {
		// What Caddy's file_server answers a CONNECT: its path is empty,
		// the site root is a directory, and a directory's canonical URL
		// ends in a slash.
		w.Header().Set("Location", "/")
		w.WriteHeader(http.StatusPermanentRedirect)
		return nil
	}
	u := &url.URL{Path: r.URL.Path, RawPath: r.URL.RawPath, RawQuery: r.URL.RawQuery}
	r.URL = u
	r.RequestURI = u.EscapedPath()
	if u.RawQuery != "" {
		r.RequestURI += "?" + u.RawQuery
	}
	// Always the one site name: keeping a Host that merely looks like one
	// of hosts would leave the next handler to judge it, by its own rules.
	r.Host = p.siteHost
	return next.ServeHTTP(w, r)
}

// confirm answers an authenticated request for the secret host: the
// credentials are now in the browser, and there is nothing to proxy.
func (p *probeMode) confirm(w http.ResponseWriter, r *http.Request) error {
	if r.Method == http.MethodConnect {
		return caddyhttp.Error(http.StatusNotFound, errors.New("the probe-resistance secret host is not a destination; open it over http://"))
	}
	hdr := w.Header()
	hdr.Set("Content-Type", "text/plain; charset=utf-8")
	hdr.Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	_, err := io.WriteString(w, "proxy credentials accepted\n")
	return err
}
