package proxyauth

import (
	"encoding/json"
	"os"
	"strings"
	"testing"
)

func TestCaddyfileDigest(t *testing.T) {
	out, err := adapt(t, `http://:8080 {
	proxy_auth {
		realm lab
		digest sha-256 MD5
		basic
		htdigest /etc/caddy/users.htdigest
		htdigest /etc/caddy/more.htdigest
		nonce_lifetime 10m
	}
}`)
	if err != nil {
		t.Fatal(err)
	}
	_, raw := handlersOf(t, out)
	want := `{"handler":"proxy_auth","realm":"lab",` +
		`"htdigest":["/etc/caddy/users.htdigest","/etc/caddy/more.htdigest"],` +
		`"schemes":[{"scheme":"digest","algorithms":["SHA-256","MD5"]},{"scheme":"basic"}],` +
		`"nonce_lifetime":600000000000}`
	if got := normalizeJSON(t, raw[0]); got != normalizeJSON(t, json.RawMessage(want)) {
		t.Errorf("adapted handler:\n got %s\nwant %s", got, want)
	}

	// basic first, digest without algorithms: the order is kept, and no
	// algorithms means "what every account can answer".
	out, err = adapt(t, "http://:8080 {\n\tproxy_auth {\n\t\tbasic\n\t\tdigest\n\t\thtdigest /x\n\t}\n}")
	if err != nil {
		t.Fatal(err)
	}
	if _, raw := handlersOf(t, out); !strings.Contains(string(raw[0]), `"schemes":[{"scheme":"basic"},{"scheme":"digest"}]`) {
		t.Errorf("adapted to %s", raw[0])
	}
}

func TestCaddyfileDigestErrors(t *testing.T) {
	for _, tc := range []struct{ block, want string }{
		{"basic extra", "wrong argument count"},
		{"digest SHA-1", `digest: unknown algorithm "SHA-1"`},
		{"digest MD5 md5", "digest: algorithm MD5 listed twice"},
		{"digest\n\t\tdigest MD5", "digest given twice"},
		{"basic\n\t\tbasic", "basic given twice"},
		{"htdigest", "wrong argument count"},
		{"htdigest a b", "wrong argument count"},
		{"nonce_lifetime", "wrong argument count"},
		{"nonce_lifetime 500ms", "nonce_lifetime must be a duration of at least 1s"},
		{"nonce_lifetime soon", "nonce_lifetime must be a duration of at least 1s"},
	} {
		_, err := adapt(t, "http://:8080 {\n\tproxy_auth {\n\t\t"+tc.block+"\n\t}\n}")
		if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "Caddyfile:") {
			t.Errorf("%q: error %v, want %q at a Caddyfile line", tc.block, err, tc.want)
		}
	}
}

// TestDigestExample provisions the handler of examples/digest.Caddyfile
// and signs in as its demo account with both schemes.
func TestDigestExample(t *testing.T) {
	data, err := os.ReadFile("examples/digest.Caddyfile")
	if err != nil {
		t.Fatal(err)
	}
	out, err := adapt(t, string(data))
	if err != nil {
		t.Fatal(err)
	}
	_, raw := handlersOf(t, out)
	h := new(ProxyAuth)
	if err := json.Unmarshal(raw[0], h); err != nil {
		t.Fatal(err)
	}
	h = newTestHandler(t, h)
	if got := strings.Join(offered(h), " "); got != "SHA-256 SHA-512-256 MD5" {
		t.Errorf("offered %q", got)
	}
	c := &digestClient{user: "demo", password: "demo-password", ch: firstChallenge(t, h)}
	if v, _, _ := attempt(t, h, "GET", "http://example.invalid/", c.authorization("GET", "/")); v.outcome != outcomeAuthenticated {
		t.Errorf("Digest: %v", v.outcome)
	}
	if v, _, _ := attempt(t, h, "GET", "http://example.invalid/", basicCredentials("demo", "demo-password")); v.outcome != outcomeAuthenticated {
		t.Errorf("Basic: %v", v.outcome)
	}
}
