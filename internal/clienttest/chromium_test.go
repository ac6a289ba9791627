package clienttest

import (
	"bytes"
	"image/png"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

// TestChromium loads the origin's page twice in Debian's headless Chromium
// with the proxy and its credentials configured. Chromium sends the first
// request without credentials, answers the 407 itself, and sends its
// credentials up front from then on: one 407 for two page loads, with Basic
// and with Digest (the same nonce, next count). Offered both, it takes
// Digest. Each case leaves a screenshot of the proxied page in
// test-artifacts/ at the repository root.
func TestChromium(t *testing.T) {
	node := requireNodeModules(t, "playwright-core")
	chromium := "/usr/bin/chromium"
	if _, err := os.Stat(chromium); err != nil {
		t.Fatalf("%s not found: install the Debian package chromium (.ci/run does)", chromium)
	}
	artifacts := filepath.Join(repoRoot, "test-artifacts")
	if err := os.MkdirAll(artifacts, 0o755); err != nil {
		t.Fatal(err)
	}

	for _, tc := range []clientCase{
		{name: "http", want: 200, saw: proxySaw{challenges: 1, passed: "GET"}},
		// For CONNECT, Chromium opens several connections that each get a
		// 407 before one of them answers it (2 to 4 seen), and none sends
		// wrong credentials.
		{name: "https tunnel", tls: true, want: 200, saw: proxySaw{challenges: 1, maxChallenges: 8, passed: "CONNECT"}},
		// Without the key in the list, the tunnel opens but Chromium refuses
		// the origin's certificate: the trust above is what let it through.
		{name: "https tunnel, certificate not trusted", args: []string{"no-spki"}, tls: true, wantErr: "ERR_CERT_AUTHORITY_INVALID", saw: proxySaw{challenges: 1, maxChallenges: 8, passed: "CONNECT"}},
		// Playwright gives the credentials once per request; at the second
		// 407 it cancels, and Chromium shows its error page for the
		// empty 407.
		{name: "wrong password", password: "wrong", wantErr: "ERR_HTTP_RESPONSE_CODE_FAILURE", saw: proxySaw{challenges: 2, wrong: 1}},

		{name: "Digest", offer: []string{"digest"}, want: 200,
			saw: proxySaw{challenges: 1, passed: "GET", scheme: "Digest", digest: &digestAnswer{algorithm: "SHA-256", userhash: true, uri: "path"}}},
		{name: "Digest tunnel", offer: []string{"digest"}, tls: true, want: 200,
			saw: proxySaw{challenges: 1, maxChallenges: 8, passed: "CONNECT", scheme: "Digest", digest: &digestAnswer{algorithm: "SHA-256", userhash: true, uri: "authority"}}},
		{name: "Digest or Basic", offer: []string{"digest", "basic"}, want: 200,
			saw: proxySaw{challenges: 1, passed: "GET", scheme: "Digest", digest: &digestAnswer{algorithm: "SHA-256", userhash: true, uri: "path"}}},
		{name: "Basic or Digest tunnel", offer: []string{"basic", "digest"}, tls: true, want: 200,
			saw: proxySaw{challenges: 1, maxChallenges: 8, passed: "CONNECT", scheme: "Digest", digest: &digestAnswer{algorithm: "SHA-256", userhash: true, uri: "authority"}}},
		// Of several Digest challenges Chromium answers the first it knows:
		// MD5 and SHA-256, not SHA-512-256.
		{name: "Digest MD5 SHA-256", offer: []string{"digest MD5 SHA-256"}, want: 200,
			saw: proxySaw{challenges: 1, passed: "GET", scheme: "Digest", digest: &digestAnswer{algorithm: "MD5", userhash: true, uri: "path"}}},
		{name: "Digest SHA-512-256 SHA-256", offer: []string{"digest SHA-512-256 SHA-256"}, want: 200,
			saw: proxySaw{challenges: 1, passed: "GET", scheme: "Digest", digest: &digestAnswer{algorithm: "SHA-256", userhash: true, uri: "path"}}},
		{name: "Digest SHA-512-256", offer: []string{"digest SHA-512-256"}, wantErr: "ERR_HTTP_RESPONSE_CODE_FAILURE", saw: proxySaw{challenges: 1}},
		{name: "Digest wrong password", offer: []string{"digest"}, password: "wrong", wantErr: "ERR_HTTP_RESPONSE_CODE_FAILURE",
			saw: proxySaw{challenges: 2, wrong: 1, digest: &digestAnswer{algorithm: "SHA-256", userhash: true, uri: "path"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			shot := filepath.Join(artifacts, casePath(t)[1:]+".png")
			_ = os.Remove(shot)
			runCase(t, tc, func(p *proxy, tg target) reply {
				spki := "-"
				if tc.tls && !slices.Contains(tc.args, "no-spki") {
					spki = tg.origin.spkiHash()
				}
				return runScript(t, 100*time.Second, node, script("chromium.mjs"), p.url(), testUser, tg.password, tg.url, spki, shot, filepath.Join(t.TempDir(), "profile"))
			})
			if tc.want == http.StatusOK {
				checkScreenshot(t, shot)
			}
		})
	}
}

// checkScreenshot fails unless path is a PNG of the browser's viewport.
func checkScreenshot(t *testing.T, path string) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("no screenshot: %v", err)
	}
	img, err := png.Decode(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("screenshot %s is not a PNG: %v", path, err)
	}
	if b := img.Bounds(); b.Dx() < 1000 || b.Dy() < 700 {
		t.Errorf("screenshot %s is %dx%d, want at least the 1000x700 viewport", path, b.Dx(), b.Dy())
	}
	t.Logf("screenshot of the proxied page: %s", path)
}
