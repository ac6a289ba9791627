package proxyauth

// Integration tests of the abuse defences: a real Caddy on loopback, driven
// from several source addresses (Linux routes all of 127.0.0.0/8 to lo, so
// a client can bind any 127.0.0.x as its local address).

import (
	"bufio"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"testing"
	"time"
)

// dialerFrom dials from the given loopback address.
func dialerFrom(localIP string) *net.Dialer {
	return &net.Dialer{Timeout: 5 * time.Second, LocalAddr: &net.TCPAddr{IP: net.ParseIP(localIP)}}
}

// clientFrom is proxyClient with its connections made from localIP.
func clientFrom(localIP string, user *url.Userinfo) *http.Client {
	c := proxyClient(user, nil)
	c.Transport.(*http.Transport).DialContext = dialerFrom(localIP).DialContext
	return c
}

// exchangeFrom sends one raw request from localIP on a new connection.
func exchangeFrom(t *testing.T, localIP, request string) (*http.Response, string) {
	t.Helper()
	conn, err := dialerFrom(localIP).Dial("tcp", testProxyAddr)
	if err != nil {
		t.Fatalf("dialing the proxy from %s: %v", localIP, err)
	}
	defer conn.Close()
	return rawExchange(t, conn, bufio.NewReader(conn), request)
}

// getVia sends GET target through the proxy from localIP with Basic
// credentials (none if user is empty) and returns the response, body read.
func getVia(t *testing.T, localIP, target, user, password string) *http.Response {
	t.Helper()
	u, _ := url.Parse(target)
	req := fmt.Sprintf("GET %s HTTP/1.1\r\nHost: %s\r\n", target, u.Host)
	if user != "" {
		req += "Proxy-Authorization: " + basicCredentials(user, password) + "\r\n"
	}
	resp, _ := exchangeFrom(t, localIP, req+"\r\n")
	return resp
}

// stateNamed finds the running handler state of the given name.
func stateNamed(t *testing.T, name string) *handlerState {
	t.Helper()
	var found *handlerState
	states.Range(func(key, value any) bool {
		if key == name {
			found = value.(*handlerState)
			return false
		}
		return true
	})
	if found == nil {
		t.Fatalf("no handler state named %q", name)
	}
	return found
}

// abuseProxy loads a proxy named name with alice and bob and extra
// proxy_auth lines.
func abuseProxy(t *testing.T, globals, name, extra string) {
	t.Helper()
	block := fmt.Sprintf("\t\tname %s\n\t\tuser alice %s\n\t\tuser bob %s\n%s", name, bcryptHash(t, "alice-pw"), bcryptHash(t, "bob-pw"), extra)
	startCaddyWithGlobals(t, globals, proxySite(block))
}

func TestGuessingRunIsCutOffWhileOthersKeepWorking(t *testing.T) {
	abuseProxy(t, "", "guessing", "")
	plain := newOrigin(t, false)

	for i := range defaultAddressFailures {
		if resp := getVia(t, "127.0.0.2", plain.URL+"/", "alice", fmt.Sprint("guess-", i)); resp.StatusCode != http.StatusProxyAuthRequired {
			t.Fatalf("guess %d from 127.0.0.2: %d, want 407", i+1, resp.StatusCode)
		}
	}
	for _, password := range []string{"guess-11", "alice-pw"} {
		resp := getVia(t, "127.0.0.2", plain.URL+"/", "alice", password)
		secs, _ := strconv.Atoi(resp.Header.Get("Retry-After"))
		if resp.StatusCode != http.StatusTooManyRequests || secs < 1 || secs > 60 {
			t.Errorf("127.0.0.2 after %d failures: %d Retry-After %q, want 429 within 60 s", defaultAddressFailures, resp.StatusCode, resp.Header.Get("Retry-After"))
		}
	}
	// The same user from another address, and another user, keep working.
	for _, from := range []string{"127.0.0.3", "127.0.0.4"} {
		status, reply := getOrigin(t, clientFrom(from, url.UserPassword("alice", "alice-pw")), plain.URL+"/ok")
		if status != http.StatusOK || reply.URI != "/ok" {
			t.Errorf("alice from %s while 127.0.0.2 is locked out: %d", from, status)
		}
	}
	if n := len(plain.requests()); n != 2 {
		t.Errorf("origin saw %d requests, want the 2 authenticated ones", n)
	}
	plain.assertNeverSawProxyAuthorization(t)
}

// TestTrustedProxiesDecideWhoIsLockedOut: behind a load balancer the
// limits count the address Caddy resolves from X-Forwarded-For, and only
// when the balancer is trusted.
func TestTrustedProxiesDecideWhoIsLockedOut(t *testing.T) {
	abuseProxy(t, "\tservers {\n\t\ttrusted_proxies static 127.0.0.5/32\n\t\tclient_ip_headers X-Forwarded-For\n\t}", "trusted-proxies",
		"\t\taddress_limit 3 1m\n")
	plain := newOrigin(t, false)
	send := func(from, forwardedFor, password string) int {
		req := fmt.Sprintf("GET %s/ HTTP/1.1\r\nHost: x\r\nX-Forwarded-For: %s\r\nProxy-Authorization: %s\r\n\r\n", plain.URL, forwardedFor, basicCredentials("bob", password))
		resp, _ := exchangeFrom(t, from, req)
		return resp.StatusCode
	}
	for range 3 {
		send("127.0.0.5", "203.0.113.7", "wrong")
	}
	for _, tc := range []struct {
		name, from, xff, password string
		want                      int
	}{
		{"locked client behind the balancer", "127.0.0.5", "203.0.113.7", "bob-pw", 429},
		{"other client behind the balancer", "127.0.0.5", "203.0.113.8", "bob-pw", 200},
		{"untrusted peer claiming the locked address", "127.0.0.6", "203.0.113.7", "bob-pw", 200},
	} {
		if got := send(tc.from, tc.xff, tc.password); got != tc.want {
			t.Errorf("%s: %d, want %d", tc.name, got, tc.want)
		}
	}
}

func TestUserCooldownIsNotAPermanentLockout(t *testing.T) {
	abuseProxy(t, "", "user-cooldown", "")
	plain := newOrigin(t, false)
	// alice works from 127.0.0.7 before the attack.
	if resp := getVia(t, "127.0.0.7", plain.URL+"/", "alice", "alice-pw"); resp.StatusCode != http.StatusOK {
		t.Fatalf("alice before the attack: %d", resp.StatusCode)
	}
	// 20 guesses from four addresses, five each: no address is locked.
	for i := range defaultUserFailures {
		from := fmt.Sprintf("127.0.0.%d", 10+i%4)
		if resp := getVia(t, from, plain.URL+"/", "alice", fmt.Sprint("guess-", i)); resp.StatusCode != http.StatusProxyAuthRequired {
			t.Fatalf("guess %d: %d", i+1, resp.StatusCode)
		}
	}
	resp := getVia(t, "127.0.0.20", plain.URL+"/", "alice", "alice-pw")
	if secs, _ := strconv.Atoi(resp.Header.Get("Retry-After")); resp.StatusCode != http.StatusTooManyRequests || secs < 1 || secs > 300 {
		t.Errorf("alice from a new address during the cool-down: %d Retry-After %q, want 429", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	if resp := getVia(t, "127.0.0.7", plain.URL+"/", "alice", "alice-pw"); resp.StatusCode != http.StatusOK {
		t.Errorf("alice from her usual address during the cool-down: %d, want 200", resp.StatusCode)
	}
	if resp := getVia(t, "127.0.0.20", plain.URL+"/", "bob", "bob-pw"); resp.StatusCode != http.StatusOK {
		t.Errorf("bob during alice's cool-down: %d", resp.StatusCode)
	}
	// The cool-down ends: move the limits' clock past it.
	stateNamed(t, "user-cooldown").limits.skew.Add(int64(defaultUserWindow + time.Second))
	if resp := getVia(t, "127.0.0.20", plain.URL+"/", "alice", "alice-pw"); resp.StatusCode != http.StatusOK {
		t.Errorf("alice from the new address after the cool-down: %d, want 200", resp.StatusCode)
	}
}

// TestCPUGuardKeepsCachedUsersWorking holds every hash slot while a burst
// of distinct made-up credentials arrives: the burst gets 503, and users
// whose credentials are cached are served throughout.
func TestCPUGuardKeepsCachedUsersWorking(t *testing.T) {
	abuseProxy(t, "", "cpu-guard", "\t\thash_concurrency 2\n\t\thash_wait 100ms\n\t\taddress_limit off\n\t\tuser_limit off\n")
	plain := newOrigin(t, false)
	alice := clientFrom("127.0.0.21", url.UserPassword("alice", "alice-pw"))
	if status, _ := getOrigin(t, alice, plain.URL+"/"); status != http.StatusOK {
		t.Fatalf("alice's first login: %d", status)
	}

	guard := stateNamed(t, "cpu-guard").hashes
	var held []chan struct{}
	for range 2 {
		slots := guard.acquire(time.Second)
		if slots == nil {
			t.Fatal("could not take a hash slot")
		}
		held = append(held, slots)
	}

	const burst = 20
	var wg sync.WaitGroup
	guesses := make([]*http.Response, burst)
	cached := make([]int, burst)
	for i := range burst {
		wg.Add(2)
		go func() {
			defer wg.Done()
			guesses[i] = getVia(t, fmt.Sprintf("127.0.0.%d", 30+i%5), plain.URL+"/", fmt.Sprint("made-up-", i), "guess")
		}()
		go func() {
			defer wg.Done()
			cached[i], _ = getOrigin(t, alice, plain.URL+"/cached")
		}()
	}
	wg.Wait()
	for i := range burst {
		if cached[i] != http.StatusOK {
			t.Errorf("cached request %d during the burst: %d, want 200", i, cached[i])
		}
		if r := guesses[i]; r.StatusCode != http.StatusServiceUnavailable || r.Header.Get("Retry-After") != "1" {
			t.Errorf("guess %d with every slot busy: %d Retry-After %q, want 503 1", i, r.StatusCode, r.Header.Get("Retry-After"))
		}
	}
	for _, slots := range held {
		<-slots
	}
	if resp := getVia(t, "127.0.0.22", plain.URL+"/", "bob", "bob-pw"); resp.StatusCode != http.StatusOK {
		t.Errorf("bob's first login once the slots are free: %d", resp.StatusCode)
	}
}

func TestMaxIPsPerUserOverTCP(t *testing.T) {
	logFile := writeFile(t, "caddy.log", "")
	abuseProxy(t, fmt.Sprintf("\tlog {\n\t\toutput file %s\n\t\tformat json\n\t\tlevel INFO\n\t}", logFile), "max-ips", "\t\tmax_ips_per_user 2 10m\n")
	plain := newOrigin(t, false)
	for _, step := range []struct {
		from string
		want int
	}{
		{"127.0.0.41", 200}, {"127.0.0.42", 200}, {"127.0.0.43", 403}, {"127.0.0.41", 200}, {"127.0.0.42", 200},
	} {
		resp := getVia(t, step.from, plain.URL+"/", "alice", "alice-pw")
		if resp.StatusCode != step.want {
			t.Errorf("alice from %s: %d, want %d", step.from, resp.StatusCode, step.want)
		}
		if step.want == 403 && resp.Header.Get("Proxy-Authenticate") != "" {
			t.Error("the 403 carries a challenge")
		}
	}
	if resp := getVia(t, "127.0.0.43", plain.URL+"/", "bob", "bob-pw"); resp.StatusCode != http.StatusOK {
		t.Errorf("bob from alice's refused address: %d", resp.StatusCode)
	}
	var line map[string]any
	waitFor(t, "the too_many_ips log line", func() bool {
		lines := logLines(logFile, func(m map[string]any) bool { return m["outcome"] == "too_many_ips" })
		if len(lines) > 0 {
			line = lines[0]
		}
		return len(lines) > 0
	})
	if line["user"] != "alice" || line["client_ip"] != "127.0.0.43" || line["level"] != "info" {
		t.Errorf("log line %v", line)
	}
}

// TestLockoutIsLoggedOnce: the start of a lockout is a warning; the
// refused attempts that follow are not logged at info one by one.
func TestLockoutIsLoggedOnce(t *testing.T) {
	logFile := writeFile(t, "caddy.log", "")
	abuseProxy(t, fmt.Sprintf("\tlog {\n\t\toutput file %s\n\t\tformat json\n\t\tlevel INFO\n\t}", logFile), "lock-log", "\t\taddress_limit 2 1m 30s\n")
	for i := range 6 {
		getVia(t, "127.0.0.50", "http://example.invalid/", "alice", fmt.Sprint("g", i))
	}
	count := func(msg string) int {
		return len(logLines(logFile, func(m map[string]any) bool { return m["msg"] == msg }))
	}
	waitFor(t, "the lockout warning", func() bool { return count("client address locked out after repeated failed proxy authentication") == 1 })
	if n := count("proxy authentication failed"); n != 2 {
		t.Errorf("%d info lines for failed attempts, want 2 (the refused ones are debug)", n)
	}
}
