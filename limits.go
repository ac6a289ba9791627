package proxyauth

import (
	"fmt"
	"hash/maphash"
	"net/http"
	"net/netip"
	"sync/atomic"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/caddyserver/caddy/v2"
)

// Defaults and bounds of the failed-attempt limits and of max_ips_per_user.
const (
	defaultAddressFailures = 10
	defaultAddressWindow   = time.Minute // also the default lockout
	defaultUserFailures    = 20
	defaultUserWindow      = 5 * time.Minute // also the default cool-down
	defaultLimitTableSize  = 10000
	defaultMaxIPsWindow    = 5 * time.Minute

	// Each tracked address or name keeps the times of its last n failures,
	// so n bounds the memory of an entry.
	maxFailuresSetting = 1000
	maxIPsSetting      = 1000

	// During a user's cool-down, addresses that authenticated as that user
	// within this time stay allowed, so an attacker cannot lock the real
	// user out from where they usually work.
	trustedAddressTTL = 24 * time.Hour

	// IPv6 clients are counted by /64: one subscriber usually holds a whole
	// /64 and could otherwise try from 2^64 addresses.
	ipv6LimitPrefix = 64

	// How many recent addresses are kept per account when max_ips_per_user
	// does not ask for more.
	minTrackedAddresses = 8
)

// FailureLimit bounds wrong credentials: once Failures of them arrive within
// Window, further attempts are refused with 429 Too Many Requests for
// Lockout, without being verified.
type FailureLimit struct {
	// How many failures within the window start a lockout. Default: 10 for
	// a client address, 20 for a user name. At most 1000.
	Failures int `json:"failures,omitempty"`

	// The sliding window in which failures are counted. Default: 1m for a
	// client address, 5m for a user name.
	Window caddy.Duration `json:"window,omitempty"`

	// How long attempts are refused once the limit is reached (for a user
	// name: the cool-down). Default: as long as the window.
	Lockout caddy.Duration `json:"lockout,omitempty"`

	// Turns this limit off.
	Disabled bool `json:"disabled,omitempty"`
}

// limitRule is a FailureLimit with its defaults filled in; failures == 0
// means off.
type limitRule struct {
	failures        int
	window, lockout int64 // nanoseconds
}

func (fl *FailureLimit) rule(failures int, window time.Duration) limitRule {
	lockout := window
	if fl != nil {
		if fl.Disabled {
			return limitRule{}
		}
		failures = cmpOr(fl.Failures, failures)
		window = cmpOr(time.Duration(fl.Window), window)
		lockout = cmpOr(time.Duration(fl.Lockout), window)
	}
	return limitRule{failures: failures, window: int64(window), lockout: int64(lockout)}
}

func (r limitRule) on() bool { return r.failures > 0 }

func (r limitRule) check(what string) error {
	switch {
	case !r.on():
		return nil
	case r.failures < 1 || r.failures > maxFailuresSetting:
		return fmt.Errorf("%s: failures must be between 1 and %d, got %d", what, maxFailuresSetting, r.failures)
	case r.window <= 0:
		return fmt.Errorf("%s: window must be positive", what)
	case r.lockout <= 0:
		return fmt.Errorf("%s: lockout must be positive", what)
	}
	return nil
}

// cmpOr is v, or def when v is the zero value (cmp.Or for two values,
// spelled out because a negative duration must not count as set either).
func cmpOr[T int | time.Duration](v, def T) T {
	if v <= 0 {
		return def
	}
	return v
}

// limitState is the part of a handler's state that the limits keep: it
// survives config reloads, so a reload does not forgive an attacker.
type limitState struct {
	seed      maphash.Seed
	addresses *boundedTable[failureLog]  // by client address
	users     *boundedTable[failureLog]  // by claimed user name, real or not
	accepted  *boundedTable[addressBook] // by user name whose credentials were valid
	// skew is added to the clock; tests move time forward with it.
	skew atomic.Int64
}

func newLimitState() *limitState {
	return &limitState{
		seed:      maphash.MakeSeed(),
		addresses: newBoundedTable[failureLog](defaultLimitTableSize),
		users:     newBoundedTable[failureLog](defaultLimitTableSize),
		accepted:  newBoundedTable[addressBook](defaultLimitTableSize),
	}
}

func (s *limitState) resize(size int) {
	s.addresses.resize(size)
	s.users.resize(size)
	s.accepted.resize(size)
}

func (s *limitState) now() int64 { return time.Now().UnixNano() + s.skew.Load() }

func (s *limitState) userKey(name string) uint64 { return maphash.String(s.seed, name) }

// addressKey is the key a client address is counted under: the address
// itself for IPv4, its /64 for IPv6.
func (s *limitState) addressKey(ip string) uint64 {
	addr, err := netip.ParseAddr(ip)
	if err != nil {
		if ap, err := netip.ParseAddrPort(ip); err == nil {
			addr = ap.Addr()
		} else {
			return maphash.String(s.seed, ip)
		}
	}
	addr = addr.Unmap().WithZone("")
	if addr.Is6() {
		addr = netip.PrefixFrom(addr, ipv6LimitPrefix).Masked().Addr()
	}
	return maphash.Comparable(s.seed, addr)
}

// limiter applies one handler's limits to the shared limitState.
type limiter struct {
	address, user limitRule
	maxIPs        int   // 0: off
	ipWindow      int64 // nanoseconds
	state         *limitState
	logger        *zap.Logger
}

// provisionLimits fills in the defaults of the limits and applies the
// table size to the handler's state.
func (h *ProxyAuth) provisionLimits() {
	h.LimitTableSize = cmpOr(h.LimitTableSize, defaultLimitTableSize)
	h.limits = &limiter{
		address:  h.AddressLimit.rule(defaultAddressFailures, defaultAddressWindow),
		user:     h.UserLimit.rule(defaultUserFailures, defaultUserWindow),
		maxIPs:   h.MaxIPsPerUser,
		ipWindow: int64(cmpOr(time.Duration(h.MaxIPsWindow), defaultMaxIPsWindow)),
		state:    h.state.limits,
		logger:   h.logger,
	}
	if h.LimitTableSize >= minLimitTableSize {
		h.state.limits.resize(h.LimitTableSize)
	}
}

func (h *ProxyAuth) validateLimits() error {
	if err := h.limits.address.check("address_limit"); err != nil {
		return err
	}
	if err := h.limits.user.check("user_limit"); err != nil {
		return err
	}
	if h.LimitTableSize < minLimitTableSize {
		return fmt.Errorf("limit_table_size must be at least %d, got %d", minLimitTableSize, h.LimitTableSize)
	}
	if h.MaxIPsPerUser < 0 || h.MaxIPsPerUser > maxIPsSetting {
		return fmt.Errorf("max_ips_per_user must be between 1 and %d, got %d", maxIPsSetting, h.MaxIPsPerUser)
	}
	return nil
}

// attempt authenticates r under the limits. A client address that is
// locked out gets no further than a table lookup: its credentials are not
// even parsed. A request without credentials is every client's first step:
// it never counts and is never refused here.
func (h *ProxyAuth) attempt(r *http.Request) verdict {
	if len(r.Header[proxyAuthorization]) == 0 {
		return h.authenticate(r)
	}
	l := h.limits
	addr := l.state.addressKey(clientIP(r))
	if l.address.on() && l.lockedUntil(l.state.addresses, addr, l.state.now()) != 0 {
		return verdict{outcome: outcomeLocked, reason: "too many failed attempts from this address"}
	}
	return l.settle(r, addr, h.authenticate(r))
}

// verifyBasic is the Basic scheme's password check: the user name's
// cool-down is checked before the slow hash, so a refused guess costs no
// hash work.
func (h *ProxyAuth) verifyBasic(r *http.Request, user string, password []byte, accounts *accountSet) outcome {
	l := h.limits
	if l.userRefused(l.state.addressKey(clientIP(r)), user, l.state.now()) != 0 {
		return outcomeLocked
	}
	return h.verifyPassword(user, password, accounts)
}

// lockedUntil is when key's lockout in table ends, or 0 if it is not
// locked at now.
func (l *limiter) lockedUntil(table *boundedTable[failureLog], key uint64, now int64) int64 {
	var until int64
	table.do(key, false, func(f *failureLog) {
		if f.lockedUntil > now {
			until = f.lockedUntil
		}
	})
	return until
}

// userRefused is when the cool-down of user ends, if it applies to the
// client at addr, or 0. Addresses that recently authenticated as the user
// are exempt.
func (l *limiter) userRefused(addr uint64, user string, now int64) int64 {
	if !l.user.on() {
		return 0
	}
	key := l.state.userKey(user)
	until := l.lockedUntil(l.state.users, key, now)
	if until == 0 {
		return 0
	}
	var seen int64
	l.state.accepted.do(key, false, func(b *addressBook) { seen = b.lastSeen(addr) })
	if seen != 0 && now-seen < int64(trustedAddressTTL) {
		return 0
	}
	return until
}

// settle applies the limits to a scheme's verdict: it counts wrong
// credentials, refuses a user in cool-down (for schemes that do not ask
// before verifying) and enforces max_ips_per_user on valid ones. Malformed
// credentials and unsupported schemes are not counted: they cost nothing
// to reject and guess nothing, and counting them would let one broken
// client lock out every user behind its address.
func (l *limiter) settle(r *http.Request, addr uint64, v verdict) verdict {
	if v.user == "" {
		return v // nothing was judged: missing, malformed, unsupported scheme
	}
	now := l.state.now()
	// During a user name's cool-down every attempt for it from an address
	// not exempt gets the same 429, whatever its credentials were worth
	// (right, wrong, or right with a stale Digest nonce), so the answer is
	// no oracle; and it counts against the address, so guessing on goes
	// on to lock the address out.
	if v.outcome == outcomeLocked || l.userRefused(addr, v.user, now) != 0 {
		l.countAddressFailure(r, addr, now)
		return verdict{outcome: outcomeLocked, scheme: v.scheme, user: v.user, reason: "user name in cool-down"}
	}
	switch v.outcome {
	case outcomeWrongPassword, outcomeUnknownUser:
		l.countFailure(r, addr, v.user, now)
	case outcomeAuthenticated:
		if !l.admitAddress(addr, v.user, now) {
			v.outcome = outcomeTooManyIPs
			addresses := "addresses"
			if l.maxIPs == 1 {
				addresses = "address"
			}
			v.reason = fmt.Sprintf("credentials in use from more than %d %s", l.maxIPs, addresses)
		}
	}
	return v
}

// countFailure records a wrong user name or password against the client
// address and the user name, and starts a lockout when one of them has had
// too many. Unknown user names count like real ones, so the limit does not
// reveal which names exist.
func (l *limiter) countFailure(r *http.Request, addr uint64, user string, now int64) {
	l.countAddressFailure(r, addr, now)
	if l.user.on() && l.addFailure(l.state.users, l.state.userKey(user), l.user, now) {
		if c := l.logger.Check(zapcore.WarnLevel, "user name in cool-down after repeated failed proxy authentication"); c != nil {
			c.Write(zap.String("user", sanitizeForLog(user)), zap.String("client_ip", clientIP(r)), zap.Int("failures", l.user.failures),
				zap.Duration("window", time.Duration(l.user.window)), zap.Duration("cooldown", time.Duration(l.user.lockout)))
		}
	}
}

// countAddressFailure records a failure against the client address alone.
func (l *limiter) countAddressFailure(r *http.Request, addr uint64, now int64) {
	if l.address.on() && l.addFailure(l.state.addresses, addr, l.address, now) {
		if c := l.logger.Check(zapcore.WarnLevel, "client address locked out after repeated failed proxy authentication"); c != nil {
			c.Write(zap.String("client_ip", clientIP(r)), zap.Int("failures", l.address.failures),
				zap.Duration("window", time.Duration(l.address.window)), zap.Duration("lockout", time.Duration(l.address.lockout)))
		}
	}
}

// addFailure records a failure of key and reports whether it started a
// lockout.
func (l *limiter) addFailure(table *boundedTable[failureLog], key uint64, rule limitRule, now int64) bool {
	started := false
	table.do(key, true, func(f *failureLog) {
		if f.add(now, rule.failures, rule.window) && f.lockedUntil <= now {
			f.lockedUntil = now + rule.lockout
			started = true
		}
	})
	return started
}

// admitAddress records that user's credentials were accepted from addr and
// reports whether max_ips_per_user allows it: an address beyond the limit
// is refused and not recorded, so it cannot push out the ones in use.
func (l *limiter) admitAddress(addr uint64, user string, now int64) bool {
	if l.maxIPs == 0 && !l.user.on() {
		return true // nobody asks where the credentials were used
	}
	keep := max(l.maxIPs, minTrackedAddresses)
	allowed := true
	l.state.accepted.do(l.state.userKey(user), true, func(b *addressBook) {
		if l.maxIPs > 0 {
			since := now - l.ipWindow
			if b.lastSeen(addr) < since && b.distinctSince(since, addr) >= l.maxIPs {
				allowed = false
				return
			}
		}
		b.touch(addr, now, keep)
	})
	return allowed
}

// retryAfter is how long until the lockout that refused r ends.
func (l *limiter) retryAfter(r *http.Request, user string) time.Duration {
	now := l.state.now()
	addr := l.state.addressKey(clientIP(r))
	until := l.lockedUntil(l.state.addresses, addr, now)
	if user != "" {
		until = max(until, l.userRefused(addr, user, now))
	}
	return time.Duration(until - now)
}
