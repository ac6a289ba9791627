package clienttest

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"io"
	"net/http"
	"net/url"
	"slices"
	"testing"
	"time"
)

// TestGoNetHTTP drives Go's own client. net/http never answers a 407: it
// sends what it was given with the first request or not at all, and which
// requests get it depends on where the credentials are configured: in the
// proxy URL ("url") they go with plain requests and CONNECT alike, in
// Transport.ProxyConnectHeader ("connect-header") with CONNECT only.
func TestGoNetHTTP(t *testing.T) {
	for _, tc := range []clientCase{
		{name: "Proxy URL", args: []string{"url"}, want: 200, saw: proxySaw{challenges: 0, passed: "GET"}},
		{name: "Proxy URL tunnel", args: []string{"url"}, tls: true, want: 200, saw: proxySaw{challenges: 0, passed: "CONNECT"}},
		{name: "ProxyConnectHeader tunnel", args: []string{"connect-header"}, tls: true, want: 200, saw: proxySaw{challenges: 0, passed: "CONNECT"}},
		// A plain http:// request goes out without credentials, and the 407
		// comes back to the caller as the response.
		{name: "ProxyConnectHeader plain HTTP", args: []string{"connect-header"}, want: 407, saw: proxySaw{challenges: 1}},
		{name: "wrong password", args: []string{"url"}, password: "wrong", want: 407, saw: proxySaw{challenges: 1, wrong: 1}},
		// A refused CONNECT is an error from Get, not a response.
		{name: "wrong password tunnel", args: []string{"url"}, tls: true, password: "wrong", wantErr: "Proxy Authentication Required", saw: proxySaw{challenges: 1, wrong: 1}},
		// A Digest-only proxy refuses the Basic credentials from the URL; the
		// 407 with its Digest challenges is the response.
		{name: "Digest proxy", args: []string{"url"}, offer: []string{"digest"}, want: 407, saw: proxySaw{challenges: 1, unsupported: 1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			runCase(t, tc, func(p *proxy, tg target) reply {
				proxyURL := &url.URL{Scheme: "http", Host: p.addr}
				tr := &http.Transport{Proxy: http.ProxyURL(proxyURL)}
				if slices.Contains(tc.args, "url") {
					proxyURL.User = url.UserPassword(testUser, tg.password)
				}
				if slices.Contains(tc.args, "connect-header") {
					token := base64.StdEncoding.EncodeToString([]byte(testUser + ":" + tg.password))
					tr.ProxyConnectHeader = http.Header{"Proxy-Authorization": {"Basic " + token}}
				}
				if tc.tls {
					roots := x509.NewCertPool()
					roots.AddCert(tg.origin.srv.Certificate())
					tr.TLSClientConfig = &tls.Config{RootCAs: roots}
				}
				// Closing the connections ends the tunnel, so that the proxy
				// writes its log line for it.
				defer tr.CloseIdleConnections()
				client := &http.Client{Transport: tr, Timeout: 20 * time.Second}
				resp, err := client.Get(tg.url)
				if err != nil {
					return reply{err: err.Error()}
				}
				defer resp.Body.Close()
				body, err := io.ReadAll(resp.Body)
				if err != nil {
					return reply{err: err.Error()}
				}
				return reply{status: resp.StatusCode, body: string(body)}
			})
		})
	}
}
