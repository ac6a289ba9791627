package proxyauth

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
)

// exchange is one request's fate in a handler-level test.
type exchange struct {
	status     int // 200 when next was called
	header     http.Header
	nextCalled bool
}

// serveFrom sends one absolute-form request from client address ip with
// the given Proxy-Authorization fields through h.
func serveFrom(h *ProxyAuth, ip string, fields ...string) exchange {
	r := floodRequest(ip)
	if len(fields) > 0 {
		r.Header["Proxy-Authorization"] = fields
	}
	return serveRequest(h, r)
}

func serveRequest(h *ProxyAuth, r *http.Request) exchange {
	w := &discardWriter{header: make(http.Header)}
	var ex exchange
	next := caddyhttp.HandlerFunc(func(http.ResponseWriter, *http.Request) error {
		ex.nextCalled = true
		return nil
	})
	err := h.ServeHTTP(w, r, next)
	ex.header = w.header
	var he caddyhttp.HandlerError
	switch {
	case err == nil:
		ex.status = http.StatusOK
	case errors.As(err, &he):
		ex.status = he.StatusCode
	default:
		ex.status = -1
	}
	return ex
}

// skewClock moves the limits' clock of h forward.
func skewClock(h *ProxyAuth, d time.Duration) { h.state.limits.skew.Add(int64(d)) }

func limitsTestHandler(t *testing.T, h *ProxyAuth) *ProxyAuth {
	t.Helper()
	h.Accounts = []Account{
		{Username: "alice", Password: bcryptHash(t, "alice-pw")},
		{Username: "bob", Password: bcryptHash(t, "bob-pw")},
	}
	return newTestHandler(t, h)
}

func TestFailureLogCountsASlidingWindow(t *testing.T) {
	var f failureLog
	sec := int64(time.Second)
	// Three failures allowed per 10 s: failures at 0, 5, 9 s make three.
	for i, at := range []int64{0, 5, 9} {
		if got := f.add((100+at)*sec, 3, 10*sec); got != (i == 2) {
			t.Fatalf("failure %d at %ds: limit reached = %v", i+1, at, got)
		}
	}
	// At 16 s the failures at 5, 9, 16 s span 11 s: not within 10 s.
	if f.add(116*sec, 3, 10*sec) {
		t.Error("failures spread over more than the window counted as a burst")
	}
	// At 17 s: 9, 16, 17 within 8 s.
	if !f.add(117*sec, 3, 10*sec) {
		t.Error("three failures within 8 s did not reach the limit")
	}
	// A reload that raises the count keeps what was recorded (9, 16, 17).
	if f.add(118*sec, 5, 11*sec) {
		t.Error("four recorded failures reached a limit of five")
	}
	if !f.add(119*sec, 5, 11*sec) {
		t.Error("five failures within 10 s after growing the log did not reach the limit")
	}
	f.resize(2)
	if !f.add(120*sec, 2, 10*sec) {
		t.Error("after shrinking, the most recent failure was lost")
	}
}

func TestBoundedTableStaysBoundedUnderAFlood(t *testing.T) {
	const size = 64
	table := newBoundedTable[failureLog](size)
	const attacker = uint64(1<<63 + 12345)
	table.do(attacker, true, func(f *failureLog) { f.lockedUntil = 1 << 62 })
	for i := range uint64(100_000) {
		table.do(i*0x9E3779B97F4A7C15, true, func(f *failureLog) { f.add(int64(i)+1, 10, 1<<40) })
		// A locked client that keeps trying keeps its entry.
		if i%8 == 0 && !table.do(attacker, false, func(*failureLog) {}) {
			t.Fatalf("the busy attacker's entry was evicted after %d other keys", i)
		}
		if n := table.len(); n > size {
			t.Fatalf("table grew to %d entries, limit %d", n, size)
		}
	}
	table.resize(minLimitTableSize)
	if n := table.len(); n > minLimitTableSize {
		t.Errorf("after shrinking: %d entries, limit %d", n, minLimitTableSize)
	}
}

func TestLimitStateStaysBoundedUnderDistinctAddressesAndNames(t *testing.T) {
	h := limitsTestHandler(t, &ProxyAuth{LimitTableSize: 100, CacheTTL: -1})
	counter := countBcrypt(t)
	for i := range 2000 {
		ip := fmt.Sprintf("10.%d.%d.%d", i>>16&0xff, i>>8&0xff, i&0xff)
		serveFrom(h, ip, basicCredentials(fmt.Sprintf("name-%d", i), "guess"))
	}
	s := h.state.limits
	if a, u := s.addresses.len(), s.users.len(); a > 100 || u > 100 {
		t.Errorf("after 2000 distinct addresses and names: %d addresses, %d names tracked; limit 100 each", a, u)
	}
	if s.accepted.len() != 0 {
		t.Errorf("failed attempts created %d accepted-address entries", s.accepted.len())
	}
	if counter.calls.Load() != 2000 {
		t.Errorf("%d comparisons for 2000 distinct first guesses", counter.calls.Load())
	}
}

func TestAddressLimitRefusesWithoutVerifying(t *testing.T) {
	counter := countBcrypt(t)
	h := limitsTestHandler(t, &ProxyAuth{})

	// Requests without credentials never count, nor do malformed ones.
	for range 30 {
		if ex := serveFrom(h, "192.0.2.1"); ex.status != http.StatusProxyAuthRequired {
			t.Fatalf("no credentials: %d", ex.status)
		}
		if ex := serveFrom(h, "192.0.2.1", "Basic !!!"); ex.status != http.StatusProxyAuthRequired {
			t.Fatalf("malformed: %d", ex.status)
		}
	}
	for i := range defaultAddressFailures {
		if ex := serveFrom(h, "192.0.2.1", basicCredentials("alice", fmt.Sprint("guess", i))); ex.status != http.StatusProxyAuthRequired {
			t.Fatalf("guess %d: status %d, want 407", i+1, ex.status)
		}
	}
	compares := counter.calls.Load()
	for _, creds := range []string{basicCredentials("alice", "guess-11"), basicCredentials("alice", "alice-pw"), "Basic !!!"} {
		ex := serveFrom(h, "192.0.2.1", creds)
		if ex.status != http.StatusTooManyRequests || ex.nextCalled {
			t.Fatalf("locked address: status %d (next called %v), want 429", ex.status, ex.nextCalled)
		}
		if got := ex.header.Get("Retry-After"); got != "60" {
			t.Errorf("Retry-After = %q, want 60", got)
		}
		if ex.header.Get("Proxy-Authenticate") != "" {
			t.Error("a 429 carries a challenge")
		}
	}
	if n := counter.calls.Load(); n != compares {
		t.Errorf("a locked address cost %d password hashes", n-compares)
	}
	// No credentials from the locked address: the normal 407.
	if ex := serveFrom(h, "192.0.2.1"); ex.status != http.StatusProxyAuthRequired {
		t.Errorf("locked address without credentials: %d, want 407", ex.status)
	}
	// Other addresses are unaffected.
	if ex := serveFrom(h, "192.0.2.2", basicCredentials("bob", "bob-pw")); !ex.nextCalled {
		t.Errorf("another address with valid credentials: %d", ex.status)
	}
	// The lockout ends; the count starts over.
	skewClock(h, defaultAddressWindow+time.Second)
	if ex := serveFrom(h, "192.0.2.1", basicCredentials("alice", "alice-pw")); !ex.nextCalled {
		t.Errorf("after the lockout, valid credentials: %d", ex.status)
	}
	if ex := serveFrom(h, "192.0.2.1", basicCredentials("alice", "guess-12")); ex.status != http.StatusProxyAuthRequired {
		t.Errorf("after the lockout, a wrong password: %d, want 407", ex.status)
	}
}

func TestSuccessDoesNotResetTheAddressCount(t *testing.T) {
	// Otherwise one valid account would let an attacker guess at others
	// without limit, by logging in between guesses.
	h := limitsTestHandler(t, &ProxyAuth{})
	for i := range defaultAddressFailures {
		serveFrom(h, "192.0.2.7", basicCredentials("alice", fmt.Sprint("guess", i)))
		if ex := serveFrom(h, "192.0.2.7", basicCredentials("bob", "bob-pw")); i < defaultAddressFailures-1 && !ex.nextCalled {
			t.Fatalf("valid login %d refused: %d", i, ex.status)
		}
	}
	if ex := serveFrom(h, "192.0.2.7", basicCredentials("alice", "guess-x")); ex.status != http.StatusTooManyRequests {
		t.Errorf("after %d failures interleaved with logins: %d, want 429", defaultAddressFailures, ex.status)
	}
}

func TestUserCooldownSparesAddressesThatAuthenticatedBefore(t *testing.T) {
	counter := countBcrypt(t)
	h := limitsTestHandler(t, &ProxyAuth{})
	if ex := serveFrom(h, "198.51.100.1", basicCredentials("alice", "alice-pw")); !ex.nextCalled {
		t.Fatal("first login failed")
	}
	// 20 guesses from 4 addresses, 5 each: below the address limit.
	for i := range defaultUserFailures {
		ip := fmt.Sprintf("203.0.113.%d", i%4+1)
		if ex := serveFrom(h, ip, basicCredentials("alice", fmt.Sprint("guess", i))); ex.status != http.StatusProxyAuthRequired {
			t.Fatalf("guess %d: %d", i+1, ex.status)
		}
	}
	compares := counter.calls.Load()
	ex := serveFrom(h, "203.0.113.99", basicCredentials("alice", "alice-pw"))
	if ex.status != http.StatusTooManyRequests || ex.nextCalled {
		t.Fatalf("new address during the cool-down: %d, want 429", ex.status)
	}
	if got := ex.header.Get("Retry-After"); got != "300" {
		t.Errorf("Retry-After = %q, want 300", got)
	}
	if counter.calls.Load() != compares {
		t.Error("a refused attempt during the cool-down cost a password hash")
	}
	if ex := serveFrom(h, "198.51.100.1", basicCredentials("alice", "alice-pw")); !ex.nextCalled {
		t.Errorf("the address alice used before was locked out too: %d", ex.status)
	}
	if ex := serveFrom(h, "203.0.113.99", basicCredentials("bob", "bob-pw")); !ex.nextCalled {
		t.Errorf("another user from the new address: %d", ex.status)
	}
	skewClock(h, defaultUserWindow+time.Second)
	if ex := serveFrom(h, "203.0.113.99", basicCredentials("alice", "alice-pw")); !ex.nextCalled {
		t.Errorf("after the cool-down: %d", ex.status)
	}
}

func TestUnknownNamesCoolDownLikeRealOnes(t *testing.T) {
	h := limitsTestHandler(t, &ProxyAuth{UserLimit: &FailureLimit{Failures: 3, Window: caddy.Duration(time.Minute)}})
	for _, user := range []string{"alice", "no-such-user"} {
		for i := range 3 {
			serveFrom(h, fmt.Sprintf("203.0.113.%d", 10+i), basicCredentials(user, "guess"))
		}
		ex := serveFrom(h, "203.0.113.50", basicCredentials(user, "guess"))
		if ex.status != http.StatusTooManyRequests || ex.header.Get("Retry-After") != "60" {
			t.Errorf("%s after 3 failures: %d Retry-After %q, want 429 60", user, ex.status, ex.header.Get("Retry-After"))
		}
	}
}

func TestLimitsCanBeTurnedOff(t *testing.T) {
	h := limitsTestHandler(t, &ProxyAuth{AddressLimit: &FailureLimit{Disabled: true}, UserLimit: &FailureLimit{Disabled: true}, CacheTTL: -1})
	for i := range 40 {
		if ex := serveFrom(h, "192.0.2.9", basicCredentials("alice", fmt.Sprint("g", i))); ex.status != http.StatusProxyAuthRequired {
			t.Fatalf("limits off, failure %d: %d", i+1, ex.status)
		}
	}
	if h.state.limits.addresses.len()+h.state.limits.users.len()+h.state.limits.accepted.len() != 0 {
		t.Error("limits off still track clients")
	}
}

func TestLimitsSurviveAReload(t *testing.T) {
	first := limitsTestHandler(t, &ProxyAuth{Name: "limits-reload"})
	for i := range defaultAddressFailures {
		serveFrom(first, "192.0.2.20", basicCredentials("alice", fmt.Sprint("g", i)))
	}
	second := limitsTestHandler(t, &ProxyAuth{Name: "limits-reload"})
	if err := first.Cleanup(); err != nil {
		t.Fatal(err)
	}
	if ex := serveFrom(second, "192.0.2.20", basicCredentials("alice", "alice-pw")); ex.status != http.StatusTooManyRequests {
		t.Errorf("after a reload the locked address got %d, want 429", ex.status)
	}
}

func TestIPv6ClientsAreCountedBy64(t *testing.T) {
	h := limitsTestHandler(t, &ProxyAuth{AddressLimit: &FailureLimit{Failures: 2, Window: caddy.Duration(time.Minute)}})
	serveFrom(h, "2001:db8:1:2::1", basicCredentials("alice", "g1"))
	serveFrom(h, "2001:db8:1:2:ffff::99", basicCredentials("alice", "g2"))
	if ex := serveFrom(h, "2001:db8:1:2:abcd::7", basicCredentials("bob", "bob-pw")); ex.status != http.StatusTooManyRequests {
		t.Errorf("same /64: %d, want 429", ex.status)
	}
	if ex := serveFrom(h, "2001:db8:1:3::1", basicCredentials("bob", "bob-pw")); !ex.nextCalled {
		t.Errorf("next /64: %d, want 200", ex.status)
	}
	s := h.state.limits
	if s.addressKey("192.0.2.1") != s.addressKey("::ffff:192.0.2.1") || s.addressKey("192.0.2.1") == s.addressKey("192.0.2.2") {
		t.Error("IPv4 keys: mapped form differs, or neighbours collide")
	}
	if s.addressKey("192.0.2.1") != s.addressKey("192.0.2.1:5555") {
		t.Error("an address with a port (RemoteAddr) is keyed differently")
	}
}

func TestMaxIPsPerUser(t *testing.T) {
	h := limitsTestHandler(t, &ProxyAuth{MaxIPsPerUser: 2, MaxIPsWindow: caddy.Duration(time.Minute)})
	alice := basicCredentials("alice", "alice-pw")
	for _, step := range []struct {
		ip   string
		want int
	}{
		{"192.0.2.31", 200}, {"192.0.2.32", 200}, {"192.0.2.33", 403}, {"192.0.2.31", 200}, {"192.0.2.32", 200}, {"192.0.2.33", 403},
	} {
		ex := serveFrom(h, step.ip, alice)
		if ex.status != step.want || ex.nextCalled != (step.want == 200) {
			t.Fatalf("alice from %s: %d, want %d", step.ip, ex.status, step.want)
		}
		if step.want == 403 && ex.header.Get("Proxy-Authenticate") != "" {
			t.Error("the 403 asks for other credentials")
		}
	}
	// Other users have their own count.
	if ex := serveFrom(h, "192.0.2.33", basicCredentials("bob", "bob-pw")); !ex.nextCalled {
		t.Errorf("bob from alice's third address: %d", ex.status)
	}
	// An address counts until it has been unused for the window.
	skewClock(h, time.Minute+time.Second)
	if ex := serveFrom(h, "192.0.2.33", alice); !ex.nextCalled {
		t.Errorf("after the window: %d", ex.status)
	}
}

func TestRetryAfterRoundsUp(t *testing.T) {
	for d, want := range map[time.Duration]string{0: "1", time.Millisecond: "1", time.Second: "1", 1500 * time.Millisecond: "2", time.Minute: "60"} {
		w := &discardWriter{header: make(http.Header)}
		setRetryAfter(w, d)
		if got := w.header.Get("Retry-After"); got != want {
			t.Errorf("setRetryAfter(%v) = %q, want %q", d, got, want)
		}
	}
}

func TestLimitConfigIsChecked(t *testing.T) {
	for _, tc := range []struct {
		h    ProxyAuth
		want string
	}{
		{ProxyAuth{AddressLimit: &FailureLimit{Failures: maxFailuresSetting + 1}}, "address_limit: failures must be between 1 and 1000"},
		{ProxyAuth{LimitTableSize: 3}, "limit_table_size must be at least 16"},
		{ProxyAuth{MaxIPsPerUser: -1}, "max_ips_per_user must be between 1 and 1000"},
		{ProxyAuth{ProbeResistance: &ProbeResistance{}}, "probe_resistance needs hosts"},
		{ProxyAuth{ProbeResistance: &ProbeResistance{SecretHost: "Site.Test"}, Hosts: []string{"site.test"}}, "secret host must not be one of hosts"},
	} {
		h := tc.h
		h.Name = t.Name()
		h.Accounts = []Account{{Username: "alice", Password: bcryptHash(t, "pw")}}
		ctx, cancel := caddy.NewContext(caddy.Context{Context: context.Background()})
		if err := h.Provision(ctx); err != nil {
			t.Fatal(err)
		}
		err := h.Validate()
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: error %v, want %q", tc.h, err, tc.want)
		}
		_ = h.Cleanup()
		cancel()
	}
}

// TestDigestCoolDownIsNoOracle: during a user's cool-down, a Digest answer
// from an address that is not exempt gets the same 429 whether it is
// right, wrong, or right under a nonce that is not ours, carries no
// Proxy-Authentication-Info, and counts against the address.
func TestDigestCoolDownIsNoOracle(t *testing.T) {
	h := digestHandler(t, "cool", digestOnly("SHA-256"), map[string]string{"erin": "erin-pw"}, digestSHA256)
	ch := firstChallenge(t, h)
	digestFrom := func(ip, password string, ch challenge) exchange {
		c := &digestClient{user: "erin", password: password, ch: ch}
		return serveFrom(h, ip, c.authorization("GET", "http://origin.example/page"))
	}

	// 20 wrong answers from two addresses (under the address limit) start
	// erin's cool-down.
	for i := range 20 {
		if ex := digestFrom(fmt.Sprintf("192.0.2.%d", 10+i%2), "guess", ch); ex.status != http.StatusProxyAuthRequired {
			t.Fatalf("guess %d: %d", i, ex.status)
		}
	}
	forged := ch
	forged.nonce = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
	for name, ex := range map[string]exchange{
		"wrong":               digestFrom("192.0.2.20", "guess", ch),
		"right":               digestFrom("192.0.2.20", "erin-pw", ch),
		"right, forged nonce": digestFrom("192.0.2.20", "erin-pw", forged),
	} {
		if ex.status != http.StatusTooManyRequests || ex.nextCalled {
			t.Errorf("%s answer during the cool-down: %d, next called %v; want 429", name, ex.status, ex.nextCalled)
		}
		if v := ex.header.Get("Proxy-Authentication-Info"); v != "" {
			t.Errorf("%s answer: a 429 carries Proxy-Authentication-Info %q", name, v)
		}
	}
	// Three attempts so far from .20; seven more lock the address itself.
	for range 7 {
		digestFrom("192.0.2.20", "guess", ch)
	}
	if ex := digestFrom("192.0.2.20", "erin-pw", ch); ex.status != http.StatusTooManyRequests {
		t.Fatalf("after 10 attempts in the cool-down: %d", ex.status)
	}
	if until := h.limits.lockedUntil(h.state.limits.addresses, h.state.limits.addressKey("192.0.2.20"), h.state.limits.now()); until == 0 {
		t.Error("guessing on during a cool-down did not lock the address out")
	}
}
