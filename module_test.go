package proxyauth

// Integration tests: a real Caddy, loaded from a Caddyfile, with proxy_auth
// in front of dev_forward_proxy, driven over TCP on loopback by Go's
// net/http, curl and raw sockets.

import (
	"bufio"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

const (
	testRealm    = `test "realm" \ one`
	wantBasicHdr = `Basic realm="test \"realm\" \\ one", charset="UTF-8"`
)

// standardProxy loads the proxy used by most tests: alice with a bcrypt
// hash inline, and a UTF-8 user whose password contains colons.
func standardProxy(t *testing.T) {
	t.Helper()
	block := fmt.Sprintf("\t\trealm `%s`\n\t\tuser alice %s\n\t\tuser %s %s\n",
		testRealm, bcryptHash(t, "alice-secret"), "jürgen", bcryptHash(t, "pä:ss:wört✓"))
	startCaddy(t, proxySite(block))
}

func TestMissingCredentialsGet407(t *testing.T) {
	standardProxy(t)
	plain := newOrigin(t, false)

	conn, br := dialProxy(t)
	resp, body := rawExchange(t, conn, br, "GET "+plain.URL+"/x HTTP/1.1\r\nHost: "+plain.Listener.Addr().String()+"\r\n\r\n")
	assert407(t, resp, body)

	// CONNECT is challenged the same way.
	conn2, br2 := dialProxy(t)
	resp, body = rawExchange(t, conn2, br2, "CONNECT 127.0.0.1:443 HTTP/1.1\r\nHost: 127.0.0.1:443\r\n\r\n")
	assert407(t, resp, body)

	if n := len(plain.requests()); n != 0 {
		t.Errorf("origin saw %d requests from unauthenticated clients", n)
	}
}

// assert407 checks the exact shape of the challenge.
func assert407(t *testing.T, resp *http.Response, body string) {
	t.Helper()
	if resp.StatusCode != http.StatusProxyAuthRequired {
		t.Fatalf("status = %d, want 407", resp.StatusCode)
	}
	if got := resp.Header.Values("Proxy-Authenticate"); len(got) != 1 || got[0] != wantBasicHdr {
		t.Errorf("Proxy-Authenticate = %q, want [%q]", got, wantBasicHdr)
	}
	if v, ok := resp.Header["Www-Authenticate"]; ok {
		t.Errorf("407 carries WWW-Authenticate %q", v)
	}
	if resp.ContentLength != int64(len(body)) {
		t.Errorf("Content-Length = %d, body is %d bytes", resp.ContentLength, len(body))
	}
	if resp.Close {
		t.Error("407 closes the connection; the client must be able to retry on it")
	}
}

func TestRawBytesOf407AndRetryOnSameConnection(t *testing.T) {
	standardProxy(t)
	tlsOrigin := newOrigin(t, true)
	target := tlsOrigin.Listener.Addr().String()

	conn, br := dialProxy(t)
	if err := conn.SetDeadline(deadline()); err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(conn, "CONNECT %s HTTP/1.1\r\nHost: %s\r\n\r\n", target, target)
	var head strings.Builder
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			t.Fatalf("reading 407 head: %v (so far %q)", err, head.String())
		}
		head.WriteString(line)
		if line == "\r\n" {
			break
		}
	}
	raw := head.String()
	for _, want := range []string{
		"HTTP/1.1 407 Proxy Authentication Required\r\n",
		"\r\nProxy-Authenticate: " + wantBasicHdr + "\r\n",
		"\r\nContent-Length: 0\r\n",
	} {
		if !strings.Contains("\r\n"+raw, want) {
			t.Errorf("407 head lacks %q:\n%s", want, raw)
		}
	}
	if strings.Contains(strings.ToLower(raw), "connection: close") {
		t.Errorf("407 head closes the connection:\n%s", raw)
	}

	// Same connection, now with credentials: the tunnel opens and TLS runs
	// through it to the origin.
	resp, _ := rawExchange(t, conn, br, fmt.Sprintf("CONNECT %s HTTP/1.1\r\nHost: %s\r\nProxy-Authorization: %s\r\n\r\n",
		target, target, basicCredentials("alice", "alice-secret")))
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("authenticated CONNECT on the same connection: status %d", resp.StatusCode)
	}
	tlsConn := tls.Client(&bufferedConn{Conn: conn, r: br}, &tls.Config{RootCAs: tlsOrigin.certPool(), ServerName: "127.0.0.1"})
	tr := bufio.NewReader(tlsConn)
	resp, body := rawExchange(t, tlsConn, tr, "GET /through-tunnel HTTP/1.1\r\nHost: "+target+"\r\n\r\n")
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, `"uri":"/through-tunnel"`) {
		t.Fatalf("through tunnel: status %d body %q", resp.StatusCode, body)
	}
	tlsOrigin.assertNeverSawProxyAuthorization(t)
}

func TestValidCredentialsReachOrigin(t *testing.T) {
	standardProxy(t)
	plain := newOrigin(t, false)
	tlsOrigin := newOrigin(t, true)

	for _, tc := range []struct {
		name, user, password, target string
	}{
		{"absolute-form", "alice", "alice-secret", plain.URL + "/a?b=c"},
		{"CONNECT", "alice", "alice-secret", tlsOrigin.URL + "/tunnel"},
		{"UTF-8 name, colons in password", "jürgen", "pä:ss:wört✓", plain.URL + "/utf8"},
		{"UTF-8 over CONNECT", "jürgen", "pä:ss:wört✓", tlsOrigin.URL + "/utf8"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			client := proxyClient(url.UserPassword(tc.user, tc.password), tlsOrigin.certPool())
			status, reply := getOrigin(t, client, tc.target)
			if status != http.StatusOK || reply.Origin != "test-origin" {
				t.Fatalf("status %d, reply %+v", status, reply)
			}
		})
	}
	plain.assertNeverSawProxyAuthorization(t)
	tlsOrigin.assertNeverSawProxyAuthorization(t)
}

func TestRejectedCredentials(t *testing.T) {
	standardProxy(t)
	plain := newOrigin(t, false)
	host := plain.Listener.Addr().String()

	for _, tc := range []struct {
		name   string
		fields []string // Proxy-Authorization field lines
	}{
		{"wrong password", []string{basicCredentials("alice", "wrong")}},
		{"unknown user", []string{basicCredentials("mallory", "alice-secret")}},
		{"empty password", []string{basicCredentials("alice", "")}},
		{"not base64", []string{"Basic !!!not-base64!!!"}},
		{"unpadded base64", []string{"Basic " + strings.TrimRight(strings.TrimPrefix(basicCredentials("alice", "alice-secret1"), "Basic "), "=")}},
		{"no colon", []string{"Basic YWxpY2U="}},
		{"control character in password", []string{basicCredentials("alice", "alice-\x01secret")}},
		{"NUL in user name", []string{basicCredentials("ali\x00ce", "alice-secret")}},
		{"empty user name", []string{basicCredentials("", "alice-secret")}},
		{"scheme only", []string{"Basic"}},
		{"unknown scheme", []string{"Bearer abc"}},
		{"two fields, both valid", []string{basicCredentials("alice", "alice-secret"), basicCredentials("alice", "alice-secret")}},
		{"two tokens", []string{basicCredentials("alice", "alice-secret") + " " + basicCredentials("alice", "alice-secret")}},
		{"invalid UTF-8", []string{basicCredentials("alice\xff", "alice-secret")}},
		{"longer than the parser accepts", []string{"Basic " + strings.Repeat("QUFB", maxCredentialsLength/4+1)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			conn, br := dialProxy(t)
			var req strings.Builder
			fmt.Fprintf(&req, "GET %s/ HTTP/1.1\r\nHost: %s\r\n", plain.URL, host)
			for _, f := range tc.fields {
				fmt.Fprintf(&req, "Proxy-Authorization: %s\r\n", f)
			}
			req.WriteString("\r\n")
			resp, body := rawExchange(t, conn, br, req.String())
			assert407(t, resp, body)
		})
	}
	if n := len(plain.requests()); n != 0 {
		t.Errorf("origin saw %d requests with rejected credentials", n)
	}
}

func TestSchemeAndSpacingVariants(t *testing.T) {
	standardProxy(t)
	plain := newOrigin(t, false)
	token := strings.TrimPrefix(basicCredentials("alice", "alice-secret"), "Basic ")

	for _, value := range []string{"Basic " + token, "basic " + token, "BASIC " + token, "bAsIc    " + token, "Basic\t" + token} {
		conn, br := dialProxy(t)
		resp, body := rawExchange(t, conn, br, fmt.Sprintf("GET %s/ HTTP/1.1\r\nHost: x\r\nProxy-Authorization: %s\r\n\r\n", plain.URL, value))
		if resp.StatusCode != http.StatusOK || !strings.Contains(body, "test-origin") {
			t.Errorf("%q: status %d body %q", value, resp.StatusCode, body)
		}
	}
}

func TestAuthorizationPassesUntouched(t *testing.T) {
	standardProxy(t)
	plain := newOrigin(t, false)

	req, _ := http.NewRequest(http.MethodGet, plain.URL+"/", nil)
	req.Header.Set("Authorization", "Bearer origin-token")
	resp, err := proxyClient(url.UserPassword("alice", "alice-secret"), nil).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var reply originReply
	if err := json.NewDecoder(resp.Body).Decode(&reply); err != nil {
		t.Fatal(err)
	}
	if got := reply.Headers.Get("Authorization"); got != "Bearer origin-token" {
		t.Errorf("origin saw Authorization %q", got)
	}
	plain.assertNeverSawProxyAuthorization(t)
}

func TestUserPlaceholderAndAccessLog(t *testing.T) {
	logFile := writeFile(t, "access.log", "")
	block := fmt.Sprintf("\t\tuser alice %s\n", bcryptHash(t, "alice-secret"))
	startCaddy(t, fmt.Sprintf(`http://:%d {
	bind 127.0.0.1
	log {
		output file %s
		format json
	}
	route {
		proxy_auth {
%s
		}
		respond "user={http.auth.user.id} pa={http.request.header.Proxy-Authorization}"
	}
}
`, testProxyPort, logFile, block))

	conn, br := dialProxy(t)
	resp, body := rawExchange(t, conn, br, "GET http://example.invalid/ HTTP/1.1\r\nHost: example.invalid\r\nProxy-Authorization: "+basicCredentials("alice", "alice-secret")+"\r\n\r\n")
	if resp.StatusCode != http.StatusOK || body != "user=alice pa=" {
		t.Fatalf("status %d body %q", resp.StatusCode, body)
	}

	// Caddy writes the access log line after the response; wait for it.
	var line map[string]any
	waitFor(t, "access log line", func() bool {
		data, _ := os.ReadFile(logFile)
		first, _, _ := strings.Cut(string(data), "\n")
		return first != "" && json.Unmarshal([]byte(first), &line) == nil
	})
	if line["user_id"] != "alice" {
		t.Errorf("access log user_id = %v, want alice; line %v", line["user_id"], line)
	}
}

func TestHostsLetOwnSiteThrough(t *testing.T) {
	block := fmt.Sprintf("\t\tuser alice %s\n\t\thosts proxy.example.test www.example.test\n", bcryptHash(t, "alice-secret"))
	startCaddy(t, fmt.Sprintf(`http://:%d {
	bind 127.0.0.1
	route {
		proxy_auth {
%s
		}
		respond "next handler: {http.request.uri} user={http.auth.user.id}"
	}
}
`, testProxyPort, block))

	for _, tc := range []struct {
		name, request string
		want          int
	}{
		{"origin-form, own host", "GET /page HTTP/1.1\r\nHost: proxy.example.test\r\n\r\n", 200},
		{"origin-form, own host with port and case", "GET /page HTTP/1.1\r\nHost: WWW.Example.Test:9080\r\n\r\n", 200},
		{"OPTIONS *, own host", "OPTIONS * HTTP/1.1\r\nHost: proxy.example.test\r\n\r\n", 200},
		{"origin-form, other host", "GET /page HTTP/1.1\r\nHost: elsewhere.test\r\n\r\n", 407},
		// forward_proxy compares hosts with Caddy's host matcher, for which a
		// trailing dot makes another name: so must proxy_auth, or such a
		// request would pass here and be proxied there.
		{"origin-form, own host with a trailing dot", "GET /page HTTP/1.1\r\nHost: proxy.example.test.:22\r\n\r\n", 407},
		{"origin-form, own host with a trailing dot, no port", "GET /page HTTP/1.1\r\nHost: www.example.test.\r\n\r\n", 407},
		{"absolute-form to own host", "GET http://proxy.example.test/page HTTP/1.1\r\nHost: proxy.example.test\r\n\r\n", 407},
		{"CONNECT to own host", "CONNECT proxy.example.test:443 HTTP/1.1\r\nHost: proxy.example.test:443\r\n\r\n", 407},
	} {
		t.Run(tc.name, func(t *testing.T) {
			conn, br := dialProxy(t)
			resp, _ := rawExchange(t, conn, br, tc.request)
			if resp.StatusCode != tc.want {
				t.Errorf("status %d, want %d", resp.StatusCode, tc.want)
			}
		})
	}
}

func TestHandleErrorsCanRestyle407(t *testing.T) {
	block := fmt.Sprintf("\t\trealm `%s`\n\t\tuser alice %s\n", testRealm, bcryptHash(t, "alice-secret"))
	startCaddy(t, fmt.Sprintf(`http://:%d {
	bind 127.0.0.1
	proxy_auth {
%s
	}
	dev_forward_proxy
	handle_errors {
		respond "please log in ({err.status_code})"
	}
}
`, testProxyPort, block))

	conn, br := dialProxy(t)
	resp, body := rawExchange(t, conn, br, "GET http://example.invalid/ HTTP/1.1\r\nHost: example.invalid\r\n\r\n")
	if resp.StatusCode != http.StatusProxyAuthRequired || body != "please log in (407)" {
		t.Fatalf("status %d body %q", resp.StatusCode, body)
	}
	if got := resp.Header.Get("Proxy-Authenticate"); got != wantBasicHdr {
		t.Errorf("Proxy-Authenticate = %q", got)
	}
}

func TestHTPasswdFilesFromApacheTools(t *testing.T) {
	users := map[string]string{ // user: htpasswd flag
		"bcrypt-user": "-B",
		"apr1-user":   "-m",
		"sha1-user":   "-s",
		"sha256-user": "-2",
		"sha512-user": "-5",
	}
	var lines []string
	for user, flag := range users {
		lines = append(lines, htpasswdLine(t, flag, user, "pw:"+user+"✓"))
	}
	file := writeFile(t, "users.htpasswd", "# written by htpasswd\n"+strings.Join(lines, "\r\n")+"\n\n")
	startCaddy(t, proxySite("\t\thtpasswd "+file+"\n"))
	plain := newOrigin(t, false)

	for user := range users {
		t.Run(user, func(t *testing.T) {
			status, _ := getOrigin(t, proxyClient(url.UserPassword(user, "pw:"+user+"✓"), nil), plain.URL)
			if status != http.StatusOK {
				t.Errorf("right password: status %d", status)
			}
			status, _ = getOrigin(t, proxyClient(url.UserPassword(user, "pw:"+user), nil), plain.URL)
			if status != http.StatusProxyAuthRequired {
				t.Errorf("wrong password: status %d", status)
			}
		})
	}
}

func TestBrokenConfigsAreLoadErrors(t *testing.T) {
	des := htpasswdLine(t, "-d", "olduser", "secret")
	good := htpasswdLine(t, "-B", "gooduser", "secret")
	desFile := writeFile(t, "des.htpasswd", good+"\n"+des+"\n")
	plainFile := writeFile(t, "plain.htpasswd", "\n\nplainuser:secret\n")

	startCaddy(t, "") // Caddy runs, with a config of nothing but its globals
	for _, tc := range []struct {
		name, block, want string
	}{
		{"crypt DES line", "\t\thtpasswd " + desFile, desFile + ":2: crypt(3) DES hashes are not supported"},
		{"plaintext line", "\t\thtpasswd " + plainFile, plainFile + ":3: unrecognised password hash"},
		{"missing file", "\t\thtpasswd /nonexistent/users", "/nonexistent/users"},
		{"colon in user name", "\t\tuser 'a:b' " + bcryptHash(t, "x"), "contains a colon"},
		{"no accounts", "\t\trealm x", "no accounts configured"},
		{"plaintext inline", "\t\tuser alice secret", "unrecognised password hash"},
		{"unknown subdirective", "\t\tpassword alice", `unrecognized subdirective \"password\"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assertLoadError(t, caddyGlobals("")+proxySite(tc.block), tc.want)
		})
	}
}

func TestCurl(t *testing.T) {
	curl := requireTool(t, "curl", "curl")
	standardProxy(t)
	plain := newOrigin(t, false)
	tlsOrigin := newOrigin(t, true)
	caFile := writeFile(t, "origin.pem", pemOf(tlsOrigin))

	for _, tc := range []struct {
		name     string
		args     []string
		target   string
		wantCode string
		wantConn string // connections curl opened to the proxy
	}{
		{"no credentials", nil, plain.URL + "/", "407", "1"},
		{"--proxy-user", []string{"--proxy-user", "alice:alice-secret"}, plain.URL + "/", "200", "1"},
		{"--proxy-basic", []string{"--proxy-basic", "--proxy-user", "alice:alice-secret"}, plain.URL + "/", "200", "1"},
		// anyauth sends no credentials first, reads the 407 and retries on
		// the same connection.
		{"--proxy-anyauth", []string{"--proxy-anyauth", "--proxy-user", "alice:alice-secret"}, plain.URL + "/", "200", "1"},
		{"-p tunnel", []string{"-p", "--proxy-user", "alice:alice-secret"}, tlsOrigin.URL + "/", "200", "1"},
		{"-p --proxy-anyauth tunnel", []string{"-p", "--proxy-anyauth", "--proxy-user", "alice:alice-secret"}, tlsOrigin.URL + "/", "200", "1"},
		{"-p wrong password", []string{"-p", "--proxy-user", "alice:nope"}, tlsOrigin.URL + "/", "407", "1"},
		{"UTF-8 user", []string{"--proxy-user", "jürgen:pä:ss:wört✓"}, plain.URL + "/", "200", "1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"-sS", "-o", "/dev/null", "-w", "%{http_code} %{http_connect} %{num_connects}",
				"-x", "http://" + testProxyAddr, "--cacert", caFile, "--max-time", "10"}, tc.args...)
			cmd := exec.Command(curl, append(args, tc.target)...)
			var stderr strings.Builder
			cmd.Stderr = &stderr
			out, err := cmd.Output() // curl fails (exit 56) on a refused tunnel; the figures still come
			fields := strings.Fields(string(out))
			if len(fields) < 3 {
				t.Fatalf("curl: %v: %s %s", err, out, stderr.String())
			}
			code := fields[0]
			if slices.Contains(tc.args, "-p") {
				code = fields[1] // the answer to CONNECT
				if tc.wantCode == "200" && fields[0] != "200" {
					t.Errorf("through the tunnel: %s", fields[0])
				}
			}
			if code != tc.wantCode || fields[2] != tc.wantConn {
				t.Errorf("curl %v: code %s connects %s, want %s %s (%s)", tc.args, code, fields[2], tc.wantCode, tc.wantConn, out)
			}
		})
	}
	plain.assertNeverSawProxyAuthorization(t)
	tlsOrigin.assertNeverSawProxyAuthorization(t)
}

func TestFailuresAreLoggedWithoutSecrets(t *testing.T) {
	logFile := writeFile(t, "caddy.log", "")
	block := fmt.Sprintf("\t\trealm `%s`\n\t\tuser alice %s\n", testRealm, bcryptHash(t, "alice-secret"))
	startCaddyWithGlobals(t, fmt.Sprintf("\tlog {\n\t\toutput file %s\n\t\tformat json\n\t\tlevel INFO\n\t}", logFile), proxySite(block))

	const guess = "Tr0ub4dor&3-guess"
	cred := basicCredentials("alice\x1bevil", guess)
	for _, c := range []string{basicCredentials("alice", guess), cred} {
		conn, br := dialProxy(t)
		resp, body := rawExchange(t, conn, br, "GET http://example.invalid/ HTTP/1.1\r\nHost: example.invalid\r\nProxy-Authorization: "+c+"\r\n\r\n")
		assert407(t, resp, body)
	}

	var lines []map[string]any
	waitFor(t, "two failure log lines", func() bool {
		lines = logLines(logFile, func(m map[string]any) bool { return m["msg"] == "proxy authentication failed" })
		return len(lines) == 2
	})
	assertLogFields(t, lines, []map[string]any{
		{"client_ip": "127.0.0.1", "outcome": "wrong_password", "user": "alice", "scheme": "Basic"},
		{"client_ip": "127.0.0.1", "outcome": "malformed", "reason": "Basic credentials contain a control character"},
	})
	assertLogHoldsNone(t, logFile, guess, strings.TrimPrefix(cred, "Basic "), strings.TrimPrefix(basicCredentials("alice", guess), "Basic "))
}

// TestHTTP2RequestsAreChallenged: over HTTP/2 every request is origin-form,
// so only the hosts list tells the site from the proxy.
func TestHTTP2RequestsAreChallenged(t *testing.T) {
	block := fmt.Sprintf("\t\tuser alice %s\n\t\thosts own.example.test\n", bcryptHash(t, "alice-secret"))
	startCaddyWithGlobals(t, "\tservers {\n\t\tprotocols h1 h2c\n\t}", fmt.Sprintf(`http://:%d {
	bind 127.0.0.1
	route {
		proxy_auth {
%s
		}
		respond "proto={http.request.proto} user={http.auth.user.id}"
	}
}
`, testProxyPort, block))

	protocols := new(http.Protocols)
	protocols.SetUnencryptedHTTP2(true)
	client := &http.Client{Transport: &http.Transport{Protocols: protocols}}
	for _, tc := range []struct {
		host, credentials string
		wantStatus        int
		wantBody          string
	}{
		{"elsewhere.test", "", http.StatusProxyAuthRequired, ""},
		{"elsewhere.test", basicCredentials("alice", "alice-secret"), http.StatusOK, "proto=HTTP/2.0 user=alice"},
		{"own.example.test", "", http.StatusOK, "proto=HTTP/2.0 user={http.auth.user.id}"}, // not set: nobody authenticated
	} {
		req, _ := http.NewRequest(http.MethodGet, "http://"+testProxyAddr+"/", nil)
		req.Host = tc.host
		if tc.credentials != "" {
			req.Header.Set("Proxy-Authorization", tc.credentials)
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.ProtoMajor != 2 || resp.StatusCode != tc.wantStatus || string(body) != tc.wantBody {
			t.Errorf("%s %q: %s %d %q, want HTTP/2 %d %q", tc.host, tc.credentials, resp.Proto, resp.StatusCode, body, tc.wantStatus, tc.wantBody)
		}
	}
}
