package clienttest

import (
	"os"
	"testing"
	"time"
)

// debianPython is Debian's interpreter, the one that sees Debian's Python
// packages (a python3 earlier on PATH, such as pyenv's, does not).
const debianPython = "/usr/bin/python3"

func requirePython(t *testing.T, module, debianPackage string) {
	t.Helper()
	if _, err := os.Stat(debianPython); err != nil {
		t.Fatalf("%s not found: install the Debian package python3 (.ci/run does)", debianPython)
	}
	if _, stderr, err := run(t, 30*time.Second, debianPython, "-c", "import "+module); err != nil {
		t.Fatalf("%s cannot import %s: install the Debian package %s (.ci/run does): %s", debianPython, module, debianPackage, stderr)
	}
}

// runPythonCase runs one of the Python client scripts for tc, whose first
// arg is the script's mode.
func runPythonCase(t *testing.T, scriptName string, tc clientCase) {
	t.Helper()
	runCase(t, tc, func(p *proxy, tg target) reply {
		return runScript(t, 60*time.Second, debianPython, script(scriptName), tc.args[0], p.url(), testUser, tg.password, tg.caArg(), tg.url)
	})
}

// TestPythonRequests: requests sends Basic credentials up front. Only the
// proxy URL reaches CONNECT; HTTPProxyAuth is a request header, sent with a
// plain request but never with CONNECT.
func TestPythonRequests(t *testing.T) {
	requirePython(t, "requests", "python3-requests")
	for _, tc := range []clientCase{
		{name: "proxy URL", args: []string{"url"}, want: 200, saw: proxySaw{challenges: 0, passed: "GET"}},
		{name: "proxy URL tunnel", args: []string{"url"}, tls: true, want: 200, saw: proxySaw{challenges: 0, passed: "CONNECT"}},
		{name: "HTTPProxyAuth", args: []string{"auth"}, want: 200, saw: proxySaw{challenges: 0, passed: "GET"}},
		{name: "HTTPProxyAuth tunnel", args: []string{"auth"}, tls: true, wantErr: "407", saw: proxySaw{challenges: 1}},
		{name: "wrong password", args: []string{"url"}, password: "wrong", want: 407, saw: proxySaw{challenges: 1, wrong: 1}},
		{name: "wrong password tunnel", args: []string{"url"}, tls: true, password: "wrong", wantErr: "407", saw: proxySaw{challenges: 1, wrong: 1}},
		// requests has no proxy Digest: a Digest-only proxy refuses the
		// Basic credentials from the URL, and the 407 is the response.
		{name: "Digest proxy", args: []string{"url"}, offer: []string{"digest"}, want: 407, saw: proxySaw{challenges: 1, unsupported: 1}},
	} {
		t.Run(tc.name, func(t *testing.T) { runPythonCase(t, "python_requests.py", tc) })
	}
}

// TestPythonURLLib: ProxyBasicAuthHandler and ProxyDigestAuthHandler wait
// for the 407 and answer it, but only for plain requests: http.client opens
// the CONNECT tunnel itself and turns its 407 into an OSError the handlers
// never see. Credentials in the proxy URL are sent up front (Basic),
// CONNECT included.
func TestPythonURLLib(t *testing.T) {
	requirePython(t, "urllib.request", "python3")
	for _, tc := range []clientCase{
		{name: "ProxyBasicAuthHandler", args: []string{"basic-handler"}, want: 200, saw: proxySaw{challenges: 1, passed: "GET"}},
		{name: "ProxyBasicAuthHandler tunnel", args: []string{"basic-handler"}, tls: true, wantErr: "Tunnel connection failed: 407", saw: proxySaw{challenges: 1}},
		{name: "proxy URL", args: []string{"url"}, want: 200, saw: proxySaw{challenges: 0, passed: "GET"}},
		{name: "proxy URL tunnel", args: []string{"url"}, tls: true, want: 200, saw: proxySaw{challenges: 0, passed: "CONNECT"}},
		{name: "wrong password", args: []string{"basic-handler"}, password: "wrong", want: 407, saw: proxySaw{challenges: 2, wrong: 1}},
		{name: "wrong password tunnel", args: []string{"url"}, tls: true, password: "wrong", wantErr: "Tunnel connection failed: 407", saw: proxySaw{challenges: 1, wrong: 1}},

		// ProxyDigestAuthHandler reads the first Proxy-Authenticate field
		// only and knows MD5 only: the proxy offers `digest MD5` first.
		{name: "ProxyDigestAuthHandler", args: []string{"digest-handler-target"}, offer: []string{"digest MD5 SHA-256"}, want: 200,
			saw: proxySaw{challenges: 1, passed: "GET", scheme: "Digest", digest: &digestAnswer{algorithm: "MD5", uri: "absolute"}}},
		{name: "ProxyDigestAuthHandler tunnel", args: []string{"digest-handler-target"}, offer: []string{"digest MD5 SHA-256"}, tls: true, wantErr: "Tunnel connection failed: 407", saw: proxySaw{challenges: 1}},
		// It looks the password up under the target's URL, not the proxy's.
		{name: "ProxyDigestAuthHandler, password for the proxy URL", args: []string{"digest-handler"}, offer: []string{"digest MD5"}, want: 407, saw: proxySaw{challenges: 1}},
		{name: "ProxyDigestAuthHandler, SHA-256 first", args: []string{"digest-handler-target"}, offer: []string{"digest"}, wantErr: "ValueError: Unsupported digest authentication algorithm 'SHA-256'", saw: proxySaw{challenges: 1}},
		{name: "ProxyDigestAuthHandler, Basic first", args: []string{"digest-handler-target"}, offer: []string{"basic", "digest MD5"}, want: 407, saw: proxySaw{challenges: 1}},
		// Each 407 brings a new nonce, so the handler answers again, up to
		// its retry limit: six wrong attempts, then its own HTTPError, a 401.
		{name: "ProxyDigestAuthHandler wrong password", args: []string{"digest-handler-target"}, offer: []string{"digest MD5"}, password: "wrong", want: 401,
			saw: proxySaw{challenges: 7, wrong: 6, digest: &digestAnswer{algorithm: "MD5", uri: "absolute"}}},
	} {
		t.Run(tc.name, func(t *testing.T) { runPythonCase(t, "python_urllib.py", tc) })
	}
}
