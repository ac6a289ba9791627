package clienttest

import (
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestCurl: with --proxy-user alone curl sends Basic up front; with
// --proxy-digest or --proxy-anyauth it waits for the 407 and answers it,
// preferring Digest.
func TestCurl(t *testing.T) {
	curl := requireTool(t, "curl", "the Debian package curl")
	for _, tc := range []clientCase{
		// curl's default proxy scheme is Basic, sent with the first request.
		{name: "--proxy-user", args: []string{"--proxy-user"}, want: 200, saw: proxySaw{challenges: 0, passed: "GET"}},
		{name: "--proxy-user tunnel", args: []string{"--proxy-user"}, tls: true, want: 200, saw: proxySaw{challenges: 0, passed: "CONNECT"}},
		// --proxy-anyauth sends nothing first and picks a scheme from the 407.
		{name: "--proxy-anyauth", args: []string{"--proxy-anyauth", "--proxy-user"}, want: 200, saw: proxySaw{challenges: 1, passed: "GET"}},
		{name: "--proxy-anyauth tunnel", args: []string{"--proxy-anyauth", "--proxy-user"}, tls: true, want: 200, saw: proxySaw{challenges: 1, passed: "CONNECT"}},
		{name: "wrong password", args: []string{"--proxy-user"}, password: "wrong", want: 407, saw: proxySaw{challenges: 1, wrong: 1}},
		{name: "wrong password tunnel", args: []string{"--proxy-user"}, tls: true, password: "wrong", want: 407, saw: proxySaw{challenges: 1, wrong: 1}},

		// Digest: --proxy-digest sends nothing first and answers the first
		// Digest challenge, SHA-256 in proxy_auth's default order, with the
		// hashed user name the challenge allows.
		{name: "Digest --proxy-digest", args: []string{"--proxy-digest", "--proxy-user"}, offer: []string{"digest"}, want: 200,
			saw: proxySaw{challenges: 1, passed: "GET", scheme: "Digest", digest: &digestAnswer{algorithm: "SHA-256", userhash: true, uri: "path"}}},
		{name: "Digest --proxy-digest tunnel", args: []string{"--proxy-digest", "--proxy-user"}, offer: []string{"digest"}, tls: true, want: 200,
			saw: proxySaw{challenges: 1, passed: "CONNECT", scheme: "Digest", digest: &digestAnswer{algorithm: "SHA-256", userhash: true, uri: "authority"}}},
		{name: "Digest MD5 --proxy-digest", args: []string{"--proxy-digest", "--proxy-user"}, offer: []string{"digest MD5"}, want: 200,
			saw: proxySaw{challenges: 1, passed: "GET", scheme: "Digest", digest: &digestAnswer{algorithm: "MD5", userhash: true, uri: "path"}}},
		// Of several Digest challenges, curl answers the first.
		{name: "Digest MD5 SHA-256 --proxy-digest", args: []string{"--proxy-digest", "--proxy-user"}, offer: []string{"digest MD5 SHA-256"}, want: 200,
			saw: proxySaw{challenges: 1, passed: "GET", scheme: "Digest", digest: &digestAnswer{algorithm: "MD5", userhash: true, uri: "path"}}},
		// Offered both, --proxy-anyauth picks Digest, whichever comes first.
		{name: "Digest or Basic --proxy-anyauth", args: []string{"--proxy-anyauth", "--proxy-user"}, offer: []string{"digest", "basic"}, want: 200,
			saw: proxySaw{challenges: 1, passed: "GET", scheme: "Digest", digest: &digestAnswer{algorithm: "SHA-256", userhash: true, uri: "path"}}},
		{name: "Digest or Basic --proxy-anyauth tunnel", args: []string{"--proxy-anyauth", "--proxy-user"}, offer: []string{"digest", "basic"}, tls: true, want: 200,
			saw: proxySaw{challenges: 1, passed: "CONNECT", scheme: "Digest", digest: &digestAnswer{algorithm: "SHA-256", userhash: true, uri: "authority"}}},
		{name: "Basic or Digest --proxy-anyauth", args: []string{"--proxy-anyauth", "--proxy-user"}, offer: []string{"basic", "digest"}, want: 200,
			saw: proxySaw{challenges: 1, passed: "GET", scheme: "Digest", digest: &digestAnswer{algorithm: "SHA-256", userhash: true, uri: "path"}}},
		// Plain --proxy-user sends Basic up front and does not try Digest
		// after the 407.
		{name: "Digest proxy, --proxy-user", args: []string{"--proxy-user"}, offer: []string{"digest"}, want: 407, saw: proxySaw{challenges: 1, unsupported: 1}},
		{name: "Digest wrong password", args: []string{"--proxy-digest", "--proxy-user"}, offer: []string{"digest"}, password: "wrong", want: 407,
			saw: proxySaw{challenges: 2, wrong: 1, digest: &digestAnswer{algorithm: "SHA-256", userhash: true, uri: "path"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			runCase(t, tc, func(p *proxy, tg target) reply {
				body := filepath.Join(t.TempDir(), "body")
				args := []string{"-q", "-sS", "--max-time", "20", "-o", body, "-w", "%{http_code} %{http_connect}",
					"--proxy", p.url()}
				if tg.ca != "" {
					args = append(args, "--cacert", tg.ca)
				}
				for _, a := range tc.args {
					args = append(args, a)
					if a == "--proxy-user" {
						args = append(args, testUser+":"+tg.password)
					}
				}
				stdout, stderr, _ := run(t, 30*time.Second, curl, append(args, tg.url)...)
				// curl fails (exit 56) on a refused tunnel; the codes still come.
				codes := strings.Fields(stdout)
				if len(codes) != 2 {
					t.Fatalf("curl printed %q, stderr %q", stdout, stderr)
				}
				status := codes[0]
				if tc.tls && codes[1] != "200" {
					status = codes[1] // the answer to CONNECT
				}
				data, _ := os.ReadFile(body)
				n, _ := strconv.Atoi(status)
				return reply{status: n, body: string(data)}
			})
		})
	}
}

// TestWget: wget sends Basic up front and knows no other proxy scheme.
func TestWget(t *testing.T) {
	wget := requireTool(t, "wget", "the Debian package wget")
	for _, tc := range []clientCase{
		// wget speaks only Basic to a proxy and sends it with the first
		// request, for plain requests and CONNECT alike.
		{name: "--proxy-user", want: 200, saw: proxySaw{challenges: 0, passed: "GET"}},
		{name: "--proxy-user tunnel", tls: true, want: 200, saw: proxySaw{challenges: 0, passed: "CONNECT"}},
		{name: "wrong password", password: "wrong", want: 407, saw: proxySaw{challenges: 1, wrong: 1}},
		{name: "wrong password tunnel", tls: true, password: "wrong", want: 407, saw: proxySaw{challenges: 1, wrong: 1}},
		// A Digest-only proxy gets the Basic credentials and answers 407;
		// wget does not answer its Digest challenges.
		{name: "Digest proxy", offer: []string{"digest"}, want: 407, saw: proxySaw{challenges: 1, unsupported: 1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			runCase(t, tc, func(p *proxy, tg target) reply {
				body := filepath.Join(t.TempDir(), "body")
				args := []string{"--no-config", "--server-response", "--tries=1", "--timeout=20", "-O", body,
					"-e", "use_proxy=on", "-e", "http_proxy=" + p.url(), "-e", "https_proxy=" + p.url(),
					"--proxy-user=" + testUser, "--proxy-password=" + tg.password, tg.url}
				if tg.ca != "" {
					args = append(args, "--ca-certificate="+tg.ca)
				}
				_, stderr, _ := run(t, 30*time.Second, wget, args...)
				data, _ := os.ReadFile(body)
				return reply{status: lastWgetStatus(t, stderr), body: string(data)}
			})
		})
	}
}

// wgetStatus matches the status lines --server-response prints.
var wgetStatus = regexp.MustCompile(`(?m)^\s*HTTP/1\.[01] (\d{3})\b`)

func lastWgetStatus(t *testing.T, stderr string) int {
	t.Helper()
	// wget prints a refused CONNECT's reason phrase but not its status.
	if strings.Contains(stderr, "Proxy tunneling failed: Proxy Authentication Required") {
		return http.StatusProxyAuthRequired
	}
	m := wgetStatus.FindAllStringSubmatch(stderr, -1)
	if m == nil {
		t.Fatalf("wget printed no status: %s", shorten(stderr))
	}
	n, _ := strconv.Atoi(m[len(m)-1][1])
	return n
}
