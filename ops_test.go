package proxyauth

// Integration tests of operating proxy_auth in a real Caddy: credential
// files that change under traffic, the admin API, metrics, changes through
// Caddy's /config/ API with a tunnel open, and logs.

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

// adminStatus returns what GET /proxy_auth/ says of the handler name.
func adminStatus(t *testing.T, name string) handlerStatus {
	t.Helper()
	resp, err := http.Get(adminURL("/proxy_auth/"))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var answer adminAnswer
	if err := json.NewDecoder(resp.Body).Decode(&answer); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /proxy_auth/: %d %v", resp.StatusCode, err)
	}
	for _, h := range answer.Handlers {
		if h.Name == name {
			return h
		}
	}
	t.Fatalf("GET /proxy_auth/ lists no handler %q: %+v", name, answer)
	return handlerStatus{}
}

// adminReload posts /proxy_auth/reload and returns the status and answer.
func adminReload(t *testing.T) (int, adminAnswer) {
	t.Helper()
	resp, err := http.Post(adminURL("/proxy_auth/reload"), "", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var answer adminAnswer
	if err := json.NewDecoder(resp.Body).Decode(&answer); err != nil {
		t.Fatalf("reload answer: %v", err)
	}
	return resp.StatusCode, answer
}

// proxyStatus sends one absolute-form GET through the proxy with the given
// Proxy-Authorization value ("" for none) and returns the status.
func proxyStatus(t *testing.T, target, credentials string) int {
	t.Helper()
	conn, br := dialProxy(t)
	defer conn.Close()
	req := fmt.Sprintf("GET %s/ HTTP/1.1\r\nHost: x\r\n", target)
	if credentials != "" {
		req += "Proxy-Authorization: " + credentials + "\r\n"
	}
	resp, _ := rawExchange(t, conn, br, req+"\r\n")
	return resp.StatusCode
}

// metricsScrape is one read of the admin endpoint's /metrics: sample
// values by "name{label="value",...}" with labels sorted, as Prometheus'
// text format writes them.
type metricsScrape map[string]float64

func scrapeMetrics(t *testing.T) metricsScrape {
	t.Helper()
	resp, err := http.Get(adminURL("/metrics"))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /metrics: %d", resp.StatusCode)
	}
	samples := make(metricsScrape)
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			t.Fatalf("metrics line %q: %v", line, err)
		}
		samples[line[:i]] = v
	}
	return samples
}

// metricKey spells a sample's key; labels are name, value pairs.
func metricKey(name string, labels ...string) string {
	var pairs []string
	for i := 0; i < len(labels); i += 2 {
		pairs = append(pairs, fmt.Sprintf("%s=%q", labels[i], labels[i+1]))
	}
	slices.Sort(pairs)
	return name + "{" + strings.Join(pairs, ",") + "}"
}

func TestAdminAPIAndMetricsCountExactly(t *testing.T) {
	file := writeFile(t, "users.htpasswd", htpasswdLine(t, "-B", "bob", "bob-secret")+"\n")
	startCaddy(t, proxySite(fmt.Sprintf("\t\tname metered\n\t\trealm Metered\n\t\tuser alice %s\n\t\thtpasswd %s\n\t\twatch_interval off\n",
		bcryptHash(t, "alice-secret"), file)))
	plain := newOrigin(t, false)
	before := scrapeMetrics(t)

	sent := []struct {
		credentials    string
		scheme, result string
		times          int
	}{
		{basicCredentials("alice", "alice-secret"), "Basic", "authenticated", 3},
		{basicCredentials("bob", "bob-secret"), "Basic", "authenticated", 1},
		{basicCredentials("alice", "wrong"), "Basic", "wrong_password", 2},
		{basicCredentials("mallory", "x"), "Basic", "unknown_user", 1},
		{"Basic !!!", "Basic", "malformed", 1},
		{"", "none", "missing", 2},
		{"Bearer token", "none", "unsupported_scheme", 1},
	}
	for _, s := range sent {
		for range s.times {
			want := http.StatusProxyAuthRequired
			if s.result == "authenticated" {
				want = http.StatusOK
			}
			if got := proxyStatus(t, plain.URL, s.credentials); got != want {
				t.Fatalf("%s: status %d, want %d", s.result, got, want)
			}
		}
	}

	after := scrapeMetrics(t)
	delta := func(key string) float64 { return after[key] - before[key] }
	for _, s := range sent {
		key := metricKey("caddy_proxy_auth_requests_total", "handler", "metered", "scheme", s.scheme, "result", s.result)
		if s.result == "authenticated" {
			continue // two rows; checked below
		}
		if got := delta(key); got != float64(s.times) {
			t.Errorf("%s moved by %v, want %d", key, got, s.times)
		}
	}
	if got := delta(metricKey("caddy_proxy_auth_requests_total", "handler", "metered", "scheme", "Basic", "result", "authenticated")); got != 4 {
		t.Errorf("authenticated moved by %v, want 4", got)
	}
	// Slow checks only: alice's first login (her next two come from the
	// cache), bob's, both wrong passwords (never cached), mallory's against
	// the decoy. Malformed credentials never reach a hash.
	if got := delta(metricKey("caddy_proxy_auth_verification_seconds_count", "handler", "metered", "scheme", "Basic")); got != 5 {
		t.Errorf("verification histogram counted %v, want 5", got)
	}
	for _, src := range [][2]string{{"inline", "inline"}, {"htpasswd", file}} {
		if got := after[metricKey("caddy_proxy_auth_accounts", "handler", "metered", "kind", src[0], "source", src[1])]; got != 1 {
			t.Errorf("accounts gauge of %s = %v, want 1", src[1], got)
		}
	}

	status := adminStatus(t, "metered")
	wantCounters := map[string]uint64{"authenticated": 4, "missing": 2, "invalid": 5, "stale": 0, "locked": 0}
	if !equalCounters(status.Counters, wantCounters) {
		t.Errorf("admin counters %v, want %v", status.Counters, wantCounters)
	}
	if status.Realm != "Metered" || !slices.Equal(status.Schemes, []string{"Basic"}) || status.Accounts != 2 || status.CacheSize != 2 {
		t.Errorf("admin status %+v", status)
	}
	if len(status.Sources) != 2 || status.Sources[0].Kind != "inline" || status.Sources[1].Path != file ||
		status.Sources[1].Accounts != 1 || status.Sources[1].LastLoad.IsZero() || status.Sources[1].LastError != "" {
		t.Errorf("admin sources %+v", status.Sources)
	}

	// A broken file: the reload says which file and line, bob keeps working.
	write(t, file, htpasswdLine(t, "-B", "bob", "bob-secret")+"\ncarol:plaintext\n")
	code, answer := adminReload(t)
	wantErr := "handler metered: " + file + ":2: unrecognised password hash"
	if code != http.StatusInternalServerError || !strings.HasPrefix(answer.Error, wantErr) {
		t.Errorf("reload of a broken file: %d %q, want 500 %q...", code, answer.Error, wantErr)
	}
	if got := proxyStatus(t, plain.URL, basicCredentials("bob", "bob-secret")); got != http.StatusOK {
		t.Errorf("bob after a failed reload: %d", got)
	}
	failures := metricKey("caddy_proxy_auth_reload_failures_total", "handler", "metered", "kind", "htpasswd", "source", file)
	if got := scrapeMetrics(t)[failures] - before[failures]; got != 1 {
		t.Errorf("reload failures moved by %v, want 1", got)
	}
	if got := adminStatus(t, "metered").Sources[1].LastError; !strings.HasPrefix(got, file+":2:") {
		t.Errorf("last_error after a failed reload: %q", got)
	}

	// Fixed: 200, and carol is in.
	write(t, file, htpasswdLine(t, "-B", "bob", "bob-secret")+"\n"+htpasswdLine(t, "-B", "carol", "carol-secret")+"\n")
	if code, answer := adminReload(t); code != http.StatusOK || answer.Error != "" {
		t.Errorf("reload of a fixed file: %d %q", code, answer.Error)
	}
	if got := proxyStatus(t, plain.URL, basicCredentials("carol", "carol-secret")); got != http.StatusOK {
		t.Errorf("carol after the reload: %d", got)
	}

	// Only GET and POST, each on its own route.
	for _, tc := range []struct{ method, path string }{{http.MethodPost, "/proxy_auth/"}, {http.MethodGet, "/proxy_auth/reload"}} {
		req, _ := http.NewRequest(tc.method, adminURL(tc.path), nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusMethodNotAllowed {
			t.Errorf("%s %s: %d, want 405", tc.method, tc.path, resp.StatusCode)
		}
	}
}

func equalCounters(got, want map[string]uint64) bool {
	for k, v := range want {
		if got[k] != v {
			return false
		}
	}
	for k, v := range got {
		if _, ok := want[k]; !ok && v != 0 {
			return false
		}
	}
	return true
}

// TestMetricsSurviveConfigReloads: every config has a new metrics
// registry; registering again must not fail, and the counters carry on.
func TestMetricsSurviveConfigReloads(t *testing.T) {
	plain := newOrigin(t, false)
	key := metricKey("caddy_proxy_auth_requests_total", "handler", "survivor", "scheme", "Basic", "result", "authenticated")
	hash := bcryptHash(t, "alice-secret")
	var base float64
	for i := range 3 {
		// Each config differs (one more user), so Caddy really reloads.
		block := fmt.Sprintf("\t\tname survivor\n\t\tuser alice %s\n\t\tuser extra%d %s\n", hash, i, hash)
		startCaddy(t, proxySite(block))
		if i == 0 {
			base = scrapeMetrics(t)[key]
		}
		if got := proxyStatus(t, plain.URL, basicCredentials("alice", "alice-secret")); got != http.StatusOK {
			t.Fatalf("config %d: %d", i, got)
		}
		if got := scrapeMetrics(t)[key] - base; got != float64(i+1) {
			t.Errorf("after config %d: counter moved by %v, want %d", i, got, i+1)
		}
	}
	if got := adminStatus(t, "survivor").Counters["authenticated"]; got < 3 {
		t.Errorf("admin counter %d after 3 authenticated requests over 3 configs", got)
	}
}

// TestWatchedFileUnderTraffic edits, replaces and deletes a watched file
// while a client keeps using the proxy: every change shows within seconds,
// and the client never sees a refusal.
func TestWatchedFileUnderTraffic(t *testing.T) {
	htpasswd := requireTool(t, "htpasswd", "apache2-utils")
	file := writeFile(t, "users.htpasswd", htpasswdLine(t, "-B", "alice", "alice-secret")+"\n")
	startCaddy(t, proxySite(fmt.Sprintf("\t\tname watched\n\t\thtpasswd %s\n\t\twatch_interval 50ms\n", file)))
	plain := newOrigin(t, false)

	var sent, refused atomic.Int64
	stop := make(chan struct{})
	var traffic sync.WaitGroup
	traffic.Add(1)
	go func() {
		defer traffic.Done()
		client := proxyClient(url.UserPassword("alice", "alice-secret"), nil)
		for {
			select {
			case <-stop:
				return
			default:
			}
			resp, err := client.Get(plain.URL + "/traffic")
			sent.Add(1)
			if err != nil || resp.StatusCode != http.StatusOK {
				refused.Add(1)
			}
			if err == nil {
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
		}
	}()
	finishTraffic := func() {
		close(stop)
		traffic.Wait()
	}
	defer func() {
		select {
		case <-stop:
		default:
			finishTraffic()
		}
	}()
	works := func(user, password string) func() bool {
		return func() bool { return proxyStatus(t, plain.URL, basicCredentials(user, password)) == http.StatusOK }
	}
	refusedNow := func(user, password string) func() bool {
		return func() bool {
			return proxyStatus(t, plain.URL, basicCredentials(user, password)) == http.StatusProxyAuthRequired
		}
	}

	// 1. htpasswd adds bob, rewriting the file in place.
	cmd := exec.Command(htpasswd, "-i", "-B", "-C", "4", file, "bob")
	cmd.Stdin = strings.NewReader("bob-secret")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("htpasswd: %v: %s", err, out)
	}
	waitFor(t, "bob to be let in", works("bob", "bob-secret"))

	// 2. A new version renamed over the file: bob gone, carol in.
	replaceByRename(t, file, htpasswdLine(t, "-B", "alice", "alice-secret")+"\n"+htpasswdLine(t, "-B", "carol", "carol-secret")+"\n")
	waitFor(t, "carol to be let in", works("carol", "carol-secret"))
	waitFor(t, "bob to be refused", refusedNow("bob", "bob-secret"))

	// 3. Deleted: the last good version stays in force, and says why.
	if err := os.Remove(file); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the admin API to report the missing file", func() bool {
		return strings.Contains(adminStatus(t, "watched").Sources[0].LastError, "no such file")
	})
	if !works("carol", "carol-secret")() {
		t.Error("carol refused after the file was deleted")
	}

	// 4. Back with dave: loaded, error gone.
	write(t, file, htpasswdLine(t, "-B", "alice", "alice-secret")+"\n"+htpasswdLine(t, "-B", "dave", "dave-secret")+"\n")
	waitFor(t, "dave to be let in", works("dave", "dave-secret"))
	waitFor(t, "the error to clear", func() bool { return adminStatus(t, "watched").Sources[0].LastError == "" })

	finishTraffic()
	if sent.Load() < 10 || refused.Load() != 0 {
		t.Errorf("alice's traffic: %d requests, %d refused; want many, none refused", sent.Load(), refused.Load())
	}
}

// echoServer accepts TCP connections and echoes what it reads.
func echoServer(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				_, _ = io.Copy(c, c)
			}()
		}
	}()
	return ln.Addr().String()
}

// tunnelEchoes sends msg through an open tunnel to the echo server and
// checks it comes back.
func tunnelEchoes(t *testing.T, conn net.Conn, br *bufio.Reader, msg string) {
	t.Helper()
	if err := conn.SetDeadline(deadline()); err != nil {
		t.Fatal(err)
	}
	if _, err := io.WriteString(conn, msg); err != nil {
		t.Fatalf("writing to the tunnel: %v", err)
	}
	got := make([]byte, len(msg))
	if _, err := io.ReadFull(br, got); err != nil || string(got) != msg {
		t.Fatalf("tunnel echoed %q, %v; want %q", got, err, msg)
	}
}

// accountsAPI runs examples/accounts-api.sh, the commands docs/operations.md
// shows, against the test Caddy.
func accountsAPI(t *testing.T, args ...string) string {
	t.Helper()
	requireTool(t, "curl", "curl")
	requireTool(t, "jq", "jq")
	cmd := exec.Command("sh", append([]string{"examples/accounts-api.sh"}, args...)...)
	cmd.Env = append(os.Environ(), fmt.Sprintf("CADDY_ADMIN=localhost:%d", testAdminPort), "PROXY_AUTH_NAME=team")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("accounts-api.sh %s: %v: %s", args[0], err, out)
	}
	return string(out)
}

// TestInlineAccountsThroughConfigAPI adds, changes and removes an inline
// account through Caddy's /config/ API while a CONNECT tunnel is open: the
// tunnel keeps carrying bytes through every config change, and alice's
// verified credentials stay cached (no second bcrypt comparison).
func TestInlineAccountsThroughConfigAPI(t *testing.T) {
	counter := countBcrypt(t)
	aliceHash := bcryptHash(t, "alice-secret")
	startCaddy(t, proxySite("\t\tname team\n\t\tuser alice "+aliceHash+"\n"))
	plain := newOrigin(t, false)
	echo := echoServer(t)

	conn, br := dialProxy(t)
	resp, _ := rawExchange(t, conn, br, fmt.Sprintf("CONNECT %s HTTP/1.1\r\nHost: %s\r\nProxy-Authorization: %s\r\n\r\n",
		echo, echo, basicCredentials("alice", "alice-secret")))
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("CONNECT: %d", resp.StatusCode)
	}
	tunnelEchoes(t, conn, br, "before any change\n")
	if got := proxyStatus(t, plain.URL, basicCredentials("alice", "alice-secret")); got != http.StatusOK {
		t.Fatalf("alice: %d", got)
	}
	aliceCompares := func() int {
		counter.mu.Lock()
		defer counter.mu.Unlock()
		return counter.hashes[aliceHash]
	}
	if n := aliceCompares(); n != 1 {
		t.Fatalf("alice's two requests cost %d comparisons, want 1", n)
	}

	accountsAPI(t, "add", "bob", bcryptHash(t, "bob-old"))
	if got := proxyStatus(t, plain.URL, basicCredentials("bob", "bob-old")); got != http.StatusOK {
		t.Errorf("bob after add: %d", got)
	}
	tunnelEchoes(t, conn, br, "after add\n")

	accountsAPI(t, "change", "bob", bcryptHash(t, "bob-new"))
	if got := proxyStatus(t, plain.URL, basicCredentials("bob", "bob-old")); got != http.StatusProxyAuthRequired {
		t.Errorf("bob's old password after change: %d", got)
	}
	if got := proxyStatus(t, plain.URL, basicCredentials("bob", "bob-new")); got != http.StatusOK {
		t.Errorf("bob's new password after change: %d", got)
	}
	tunnelEchoes(t, conn, br, "after change\n")

	if got := strings.Fields(accountsAPI(t, "list")); !slices.Equal(got, []string{"alice", "bob"}) {
		t.Errorf("list: %v", got)
	}
	accountsAPI(t, "remove", "bob")
	if got := proxyStatus(t, plain.URL, basicCredentials("bob", "bob-new")); got != http.StatusProxyAuthRequired {
		t.Errorf("bob after remove: %d", got)
	}
	if got := strings.Fields(accountsAPI(t, "list")); !slices.Equal(got, []string{"alice"}) {
		t.Errorf("list after remove: %v", got)
	}
	tunnelEchoes(t, conn, br, "after remove\n")

	// Three config reloads later, alice is still answered from the cache:
	// her request costs no comparison.
	before := aliceCompares()
	if got := proxyStatus(t, plain.URL, basicCredentials("alice", "alice-secret")); got != http.StatusOK {
		t.Errorf("alice at the end: %d", got)
	}
	if n := aliceCompares() - before; n != 0 {
		t.Errorf("alice's request after 3 config changes cost %d bcrypt comparisons, want 0 (the cache carries over)", n)
	}
	status := adminStatus(t, "team")
	if status.Counters["authenticated"] < 5 || status.CacheSize < 1 {
		t.Errorf("state did not carry over: %+v", status)
	}
}

func TestOperationsDocShowsTheScriptsCommands(t *testing.T) {
	script, err := os.ReadFile("examples/accounts-api.sh")
	if err != nil {
		t.Fatal(err)
	}
	doc, err := os.ReadFile("docs/operations.md")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, line := range strings.Split(string(script), "\n") {
		line = strings.TrimSpace(line)
		if !strings.Contains(line, "curl -") || strings.HasPrefix(line, "#") {
			continue
		}
		n++
		if !strings.Contains(string(doc), line) {
			t.Errorf("docs/operations.md does not show the script's command\n\t%s", line)
		}
	}
	if n < 5 {
		t.Errorf("found only %d curl commands in the script", n)
	}
}

func TestHandlerNamesInOneConfig(t *testing.T) {
	aliceHash, bobHash := bcryptHash(t, "a"), bcryptHash(t, "b")
	twoRoutes := func(first, second string) string {
		return fmt.Sprintf(`http://:%d {
	bind 127.0.0.1
	route /one/* {
		proxy_auth {
%s
		}
		respond "one {http.auth.user.id}"
	}
	route /two/* {
		proxy_auth {
%s
		}
		respond "two {http.auth.user.id}"
	}
}
`, testProxyPort, first, second)
	}

	// Different settings under one (default) name would mix their state.
	startCaddy(t, "") // Caddy runs, with a config of nothing but its globals
	assertLoadError(t, caddyGlobals("")+twoRoutes("user alice "+aliceHash, "user bob "+bobHash),
		`two proxy_auth handlers with different settings share the name \"realm:proxy\"`)

	// The same block twice is one handler in two places: allowed.
	startCaddy(t, twoRoutes("user alice "+aliceHash, "user alice "+aliceHash))
	for _, path := range []string{"/one/x", "/two/x"} {
		conn, br := dialProxy(t)
		resp, body := rawExchange(t, conn, br, "GET "+path+" HTTP/1.1\r\nHost: x\r\nProxy-Authorization: "+basicCredentials("alice", "a")+"\r\n\r\n")
		if resp.StatusCode != http.StatusOK || !strings.HasSuffix(body, " alice") {
			t.Errorf("%s: %d %q", path, resp.StatusCode, body)
		}
	}

	// Named apart, they are two handlers.
	startCaddy(t, twoRoutes("name one\nuser alice "+aliceHash, "name two\nuser bob "+bobHash))
	if adminStatus(t, "one").Accounts != 1 || adminStatus(t, "two").Accounts != 1 {
		t.Error("named handlers not listed apart")
	}
}

// TestNoWatcherLeaksAcrossConfigReloads: each config's handler stops its
// watcher when Caddy cleans it up.
func TestNoWatcherLeaksAcrossConfigReloads(t *testing.T) {
	file := writeFile(t, "users.htpasswd", htpasswdLine(t, "-B", "alice", "pw")+"\n")
	for i := range 4 {
		startCaddy(t, proxySite(fmt.Sprintf("\t\thtpasswd %s\n\t\twatch_interval 20ms\n\t\tcache_size %d\n", file, 100+i)))
		waitFor(t, "one watcher", func() bool { return watchers() == 1 })
	}
	startCaddy(t, proxySite("\t\tuser alice "+bcryptHash(t, "pw")+"\n"))
	waitFor(t, "no watcher", func() bool { return watchers() == 0 })
}

// TestLogLevelsAndNoSecrets: successes at debug, failures at info, with the
// client address, user name, scheme and outcome; never a password, hash or
// credentials, in any log line at any level.
func TestLogLevelsAndNoSecrets(t *testing.T) {
	logFile := writeFile(t, "caddy.log", "")
	line := htpasswdLine(t, "-B", "alice", "alice-secret")
	_, aliceHash, _ := strings.Cut(line, ":")
	file := writeFile(t, "users.htpasswd", line+"\n")
	startCaddyWithGlobals(t, fmt.Sprintf("\tlog {\n\t\toutput file %s\n\t\tformat json\n\t\tlevel DEBUG\n\t}", logFile),
		proxySite("\t\tname logged\n\t\thtpasswd "+file+"\n\t\twatch_interval off\n"))
	plain := newOrigin(t, false)

	const guess = "correct-horse-guess"
	for _, c := range []string{basicCredentials("alice", "alice-secret"), basicCredentials("alice", guess), ""} {
		proxyStatus(t, plain.URL, c)
	}
	write(t, file, line+"\nbroken\n")
	adminReload(t)

	want := []map[string]any{
		{"level": "debug", "msg": "proxy authentication succeeded", "user": "alice", "scheme": "Basic", "client_ip": "127.0.0.1"},
		{"level": "info", "msg": "proxy authentication failed", "user": "alice", "scheme": "Basic", "client_ip": "127.0.0.1", "outcome": "wrong_password"},
		{"level": "debug", "msg": "proxy authentication failed", "client_ip": "127.0.0.1", "outcome": "missing"},
		{"level": "error", "msg": "credential file not reloaded: its last good version stays in force", "handler": "logged", "file": file, "error": file + ":2: no colon between user name and password hash"},
	}
	var lines []map[string]any
	waitFor(t, "the log lines", func() bool {
		lines = logLines(logFile, func(m map[string]any) bool { return m["logger"] == "http.handlers.proxy_auth" })
		return len(lines) >= len(want)
	})
	assertLogFields(t, lines, want)
	assertLogHoldsNone(t, logFile, "alice-secret", guess, aliceHash, aliceHash[7:29], // the salt
		strings.TrimPrefix(basicCredentials("alice", "alice-secret"), "Basic "), strings.TrimPrefix(basicCredentials("alice", guess), "Basic "))
}

// TestConfigChangeWithABrokenWatchedFile: a watched file that broke after
// it loaded does not block a config change that leaves it alone; its last
// good version and its problem carry over.
func TestConfigChangeWithABrokenWatchedFile(t *testing.T) {
	good := htpasswdLine(t, "-B", "alice", "alice-secret") + "\n"
	file := writeFile(t, "users.htpasswd", good)
	block := "\t\tname kept\n\t\thtpasswd " + file + "\n\t\twatch_interval 20ms\n"
	startCaddy(t, proxySite(block))
	plain := newOrigin(t, false)

	write(t, file, good+"broken\n")
	waitFor(t, "the broken file to be reported", func() bool { return adminStatus(t, "kept").Sources[0].LastError != "" })

	startCaddy(t, proxySite(block+"\t\tcache_size 50\n")) // fails the test if the config does not load
	if got := adminStatus(t, "kept").Sources[0].LastError; !strings.HasPrefix(got, file+":2:") {
		t.Errorf("last_error after the config change: %q", got)
	}
	if got := proxyStatus(t, plain.URL, basicCredentials("alice", "alice-secret")); got != http.StatusOK {
		t.Errorf("alice after the config change: %d", got)
	}
}

// TestREADMEOperationsExamples runs the README's admin API and metrics
// examples against examples/Caddyfile and checks they print what the
// README says.
func TestREADMEOperationsExamples(t *testing.T) {
	requireTool(t, "jq", "jq")
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, section, _ := strings.Cut(string(readme), "## Watching it run")
	section, _, _ = strings.Cut(section, "\n## ")
	caddyfile, err := os.ReadFile("examples/Caddyfile")
	if err != nil {
		t.Fatal(err)
	}
	prepareConfigLoad(t)
	loadConfig(t, strings.NewReplacer("admin localhost:2019", fmt.Sprintf("admin localhost:%d\n\tpersist_config off", testAdminPort),
		"http://:8080", fmt.Sprintf("http://:%d", testProxyPort)).Replace(string(caddyfile)))
	plain := newOrigin(t, false)
	for _, c := range []string{"", basicCredentials("demo", "demo-password"), basicCredentials("demo", "demo-password"), basicCredentials("demo", "wrong")} {
		proxyStatus(t, plain.URL, c)
	}

	// Each "$ command" line, and the lines up to the next one or the end of
	// the block: what it prints.
	n := 0
	for _, block := range strings.Split(section, "```console\n")[1:] {
		block, _, _ = strings.Cut(block, "```")
		for _, cmdAndOut := range strings.Split(block, "$ ")[1:] {
			command, want, _ := strings.Cut(cmdAndOut, "\n")
			command = strings.ReplaceAll(command, "localhost:2019", fmt.Sprintf("localhost:%d", testAdminPort))
			out, err := exec.Command("sh", "-c", command).Output()
			if err != nil {
				t.Fatalf("%s: %v", command, err)
			}
			if string(out) != want {
				t.Errorf("%s\nprints\n%s\nthe README says\n%s", command, out, want)
			}
			n++
		}
	}
	if n != 3 {
		t.Errorf("ran %d README commands, want 3", n)
	}
}
