package proxyauth

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// response is what a probe can observe of one answer.
type observed struct {
	status int
	header http.Header
	body   string
}

func (o observed) String() string {
	return fmt.Sprintf("%d %v %q", o.status, o.header, o.body)
}

func observe(t *testing.T, from, request string) observed {
	t.Helper()
	resp, body := exchangeFrom(t, from, request)
	h := resp.Header.Clone()
	h.Del("Date")
	return observed{status: resp.StatusCode, header: h, body: body}
}

func sameAnswer(a, b observed) bool {
	if a.status != b.status || a.body != b.body || len(a.header) != len(b.header) {
		return false
	}
	for k, v := range a.header {
		if !slices.Equal(v, b.header[k]) {
			return false
		}
	}
	return true
}

// siteRoot is a small static site for file_server.
func siteRoot(t *testing.T) string {
	dir := t.TempDir()
	for name, content := range map[string]string{"index.html": "<h1>Just a web site</h1>\n", "page.html": "<p>a page</p>\n"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// probeSite is a Caddyfile site: proxy_auth with probe resistance in front
// of dev_forward_proxy (which, like forward_proxy with `hosts site.test`,
// leaves requests for the site to file_server).
func probeSite(root, proxyAuthLines string) string {
	return fmt.Sprintf(`http://:%d {
	bind 127.0.0.1
	root * %s
	route {
		proxy_auth {
			hosts site.test
%s
		}
		@proxied not host site.test
		dev_forward_proxy @proxied
	}
	file_server
}
`, testProxyPort, root, proxyAuthLines)
}

// TestProbeResistance compares, byte for byte apart from Date, what a
// prober gets from the proxy with what the same requests get from a plain
// Caddy file_server site.
func TestProbeResistance(t *testing.T) {
	root := siteRoot(t)
	plain := newOrigin(t, false)
	origin := plain.Listener.Addr().String()
	wrong := "Proxy-Authorization: " + basicCredentials("alice", "wrong") + "\r\n"
	probes := map[string]string{
		"absolute-form, no credentials":      "GET " + plain.URL + "/page.html HTTP/1.1\r\nHost: " + origin + "\r\n\r\n",
		"absolute-form, wrong credentials":   "GET " + plain.URL + "/page.html HTTP/1.1\r\nHost: " + origin + "\r\n" + wrong + "\r\n",
		"absolute-form, no path":             "GET " + plain.URL + " HTTP/1.1\r\nHost: " + origin + "\r\n\r\n",
		"absolute-form, missing file":        "GET " + plain.URL + "/nothing-here?q=1 HTTP/1.1\r\nHost: " + origin + "\r\n\r\n",
		"HEAD":                               "HEAD " + plain.URL + "/page.html HTTP/1.1\r\nHost: " + origin + "\r\n\r\n",
		"CONNECT":                            "CONNECT " + origin + " HTTP/1.1\r\nHost: " + origin + "\r\n\r\n",
		"CONNECT, wrong credentials":         "CONNECT " + origin + " HTTP/1.1\r\nHost: " + origin + "\r\n" + wrong + "\r\n",
		"origin-form, another host":          "GET /page.html HTTP/1.1\r\nHost: elsewhere.test\r\n\r\n",
		"origin-form, the site":              "GET / HTTP/1.1\r\nHost: site.test\r\n\r\n",
		"a host name that is not the secret": "GET http://secret.test/ HTTP/1.1\r\nHost: secret.test\r\n\r\n",
	}

	// The reference: a plain site, no proxy at all.
	startCaddy(t, fmt.Sprintf("http://:%d {\n\tbind 127.0.0.1\n\troot * %s\n\tfile_server\n}\n", testProxyPort, root))
	reference := make(map[string]observed)
	for name, req := range probes {
		reference[name] = observe(t, "127.0.0.60", req)
	}
	if r := reference["CONNECT"]; r.status != http.StatusPermanentRedirect || r.header.Get("Location") != "/" {
		t.Fatalf("premise: a plain file_server site answers CONNECT with %v, not 308 to /", r)
	}

	hash := bcryptHash(t, "alice-pw")
	for _, mode := range []struct{ name, lines string }{
		{"with secret host", "\t\t\tname probe-secret\n\t\t\tuser alice " + hash + "\n\t\t\tprobe_resistance secret-door.test\n\t\t\taddress_limit 2 1m\n"},
		{"without secret host", "\t\t\tname probe-plain\n\t\t\tuser alice " + hash + "\n\t\t\tprobe_resistance\n\t\t\taddress_limit 2 1m\n"},
	} {
		t.Run(mode.name, func(t *testing.T) {
			startCaddy(t, probeSite(root, mode.lines))
			before := len(plain.requests())
			// Twice: the second round comes from an address the limits have
			// locked out, which must look the same.
			for round := range 2 {
				for name, req := range probes {
					got := observe(t, "127.0.0.61", req)
					if !sameAnswer(got, reference[name]) {
						t.Errorf("round %d, %s:\n got  %v\n want %v", round, name, got, reference[name])
					}
				}
			}
			if n := len(plain.requests()); n != before {
				t.Fatalf("unauthenticated probes reached the origin %d times", n-before)
			}
			// Valid credentials are proxied as usual.
			resp := getVia(t, "127.0.0.62", plain.URL+"/via-proxy", "alice", "alice-pw")
			if resp.StatusCode != http.StatusOK || len(plain.requests()) != before+1 {
				t.Errorf("valid credentials: %d", resp.StatusCode)
			}
			plain.assertNeverSawProxyAuthorization(t)

			secretGet := "GET http://secret-door.test/ HTTP/1.1\r\nHost: secret-door.test\r\n"
			secretConnect := "CONNECT secret-door.test:443 HTTP/1.1\r\nHost: secret-door.test:443\r\n"
			good := "Proxy-Authorization: " + basicCredentials("alice", "alice-pw") + "\r\n"
			if mode.name == "without secret host" {
				if got := observe(t, "127.0.0.63", secretGet+"\r\n"); got.status == http.StatusProxyAuthRequired {
					t.Errorf("no secret host configured, yet a 407: %v", got)
				}
				return
			}
			for _, req := range []string{secretGet, secretConnect} {
				got := observe(t, "127.0.0.63", req+"\r\n")
				if got.status != http.StatusProxyAuthRequired || !strings.HasPrefix(got.header.Get("Proxy-Authenticate"), "Basic realm=") {
					t.Errorf("secret host without credentials: %v, want a 407 challenge", got)
				}
			}
			if got := observe(t, "127.0.0.63", secretGet+good+"\r\n"); got.status != http.StatusOK || got.body != "proxy credentials accepted\n" {
				t.Errorf("secret host with credentials: %v", got)
			}
			if got := observe(t, "127.0.0.63", secretConnect+good+"\r\n"); got.status != http.StatusNotFound {
				t.Errorf("CONNECT to the secret host with credentials: %v, want 404", got)
			}
		})
	}
}

// TestProbeResistanceNeverProxies puts probe resistance straight in front
// of a forwarder that proxies everything it is given (no host matcher):
// refused requests still never reach an origin, nor open a tunnel.
func TestProbeResistanceNeverProxies(t *testing.T) {
	abuseProxy(t, "", "probe-direct", "\t\thosts site.test\n\t\tprobe_resistance\n")
	plain := newOrigin(t, false)
	tlsOrigin := newOrigin(t, true)
	for _, req := range []string{
		"GET " + plain.URL + "/x HTTP/1.1\r\nHost: " + plain.Listener.Addr().String() + "\r\n\r\n",
		"GET " + plain.URL + "/x HTTP/1.1\r\nHost: x\r\nProxy-Authorization: " + basicCredentials("alice", "nope") + "\r\n\r\n",
		"CONNECT " + tlsOrigin.Listener.Addr().String() + " HTTP/1.1\r\nHost: " + tlsOrigin.Listener.Addr().String() + "\r\n\r\n",
	} {
		if got := observe(t, "127.0.0.64", req); got.status == http.StatusOK || got.status == http.StatusProxyAuthRequired {
			t.Errorf("%q: %v", firstLine(req), got)
		}
	}
	if n := len(plain.requests()) + len(tlsOrigin.requests()); n != 0 {
		t.Errorf("refused requests reached an origin %d times", n)
	}
	if resp := getVia(t, "127.0.0.64", plain.URL+"/ok", "alice", "alice-pw"); resp.StatusCode != http.StatusOK {
		t.Errorf("valid credentials: %d", resp.StatusCode)
	}
}
