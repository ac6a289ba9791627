// Package proxyauth is a Caddy HTTP handler that makes a forward proxy
// demand proxy credentials as HTTP says a proxy must: a request without
// valid credentials gets 407 Proxy Authentication Required with a
// Proxy-Authenticate challenge (RFC 9110 §11.7, §15.5.8); a request with
// valid Proxy-Authorization is passed on, with that header consumed, to the
// next handler (usually forward_proxy).
package proxyauth

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
)

func init() {
	caddy.RegisterModule(ProxyAuth{})
}

const (
	defaultRealm     = "proxy"
	defaultCacheTTL  = 5 * time.Minute
	defaultCacheSize = 10000

	defaultWatchInterval = 2 * time.Second
)

// ProxyAuth demands proxy credentials from every request that is not plainly
// for the server's own site. Authenticated requests continue to the next
// handler with Proxy-Authorization removed and `{http.auth.user.id}` set to
// the user name; all others get 407 with a Proxy-Authenticate challenge,
// returned as a Caddy error so `handle_errors` can restyle it.
type ProxyAuth struct {
	// The protection space shown to users in the challenge, for example in a
	// browser's password prompt. Digest H(A1) values are made for one realm:
	// changing it invalidates them. Default: "proxy".
	Realm string `json:"realm,omitempty"`

	// Inline accounts: user names with password hashes as printed by
	// `caddy hash-password` (bcrypt or argon2id; `$apr1$`, `$5$`, `$6$` and
	// `{SHA}` hashes are accepted too). The algorithm is detected from the
	// hash itself.
	Accounts []Account `json:"accounts,omitempty"`

	// Paths of Apache htpasswd files, as written by `htpasswd` (bcrypt `-B`,
	// MD5 `-m`, SHA-256 `-2`, SHA-512 `-5`, SHA-1 `-s`). Lines in formats
	// that cannot be verified safely (crypt DES, plaintext) are errors.
	HTPasswd []string `json:"htpasswd,omitempty"`

	// Paths of Apache htdigest files: `user:realm:<MD5 hex>` lines as
	// `htdigest` writes them, and `user:realm:SHA-256:<hex>` or
	// `user:realm:SHA-512-256:<hex>` lines as `caddy hash-digest` prints
	// them. Every realm must be the handler's. They give Digest its
	// H(A1) values, merged with any password hash of the same user, and
	// Basic verifies against them too.
	HTDigest []string `json:"htdigest,omitempty"`

	// The authentication schemes offered, in the order their challenges
	// are sent. Default: Basic only.
	Schemes []SchemeConfig `json:"schemes,omitempty"`

	// How long a Digest nonce is accepted after it was issued; a client
	// using an older one gets a fresh one (stale=true) and retries without
	// asking its user. Default: 5m.
	NonceLifetime caddy.Duration `json:"nonce_lifetime,omitempty"`

	// The server's own site names. A request whose Host is one of these, whose
	// method is not CONNECT and whose request-target is in origin-form
	// (`GET /path`) is for the site itself and passes through unchallenged.
	// Every other request must carry proxy credentials. Leave empty to
	// challenge everything, which is right when the server is only a proxy.
	Hosts []string `json:"hosts,omitempty"`

	// How long a verified user name and password are remembered, so that a
	// client resending them on every request does not pay for a slow password
	// hash each time. Default: 5m. Set to a negative duration to disable.
	CacheTTL caddy.Duration `json:"cache_ttl,omitempty"`

	// How many verified credentials are remembered at most. Default: 10000.
	CacheSize int `json:"cache_size,omitempty"`

	// A stable name for this handler: its state (cache of verified
	// credentials, outcome counters, Digest nonce key and used nonce
	// counts) outlives a config reload under this name, the admin API and
	// metrics show the handler by it, and the nonce key is kept in Caddy's
	// storage under it. Default: "realm:" followed by the realm.
	Name string `json:"name,omitempty"`

	// Limits wrong credentials per client address (as Caddy resolves it,
	// honouring trusted_proxies; IPv6 by /64). On by default: 10 failures
	// within 1m lock the address out for 1m with 429, without verifying
	// its attempts.
	AddressLimit *FailureLimit `json:"address_limit,omitempty"`

	// Limits wrong credentials per user name, from any addresses. On by
	// default: 20 failures within 5m start a 5m cool-down, in which only
	// addresses that authenticated as that user within the last 24h are
	// let in; others get 429.
	UserLimit *FailureLimit `json:"user_limit,omitempty"`

	// How many client addresses, user names and accepted accounts the
	// limits track at most, each; the least recently used are forgotten
	// first. Default: 10000. At least 16.
	LimitTableSize int `json:"limit_table_size,omitempty"`

	// How many slow password hashes may run at once. Requests served from
	// the cache of verified credentials never wait for one. Default:
	// GOMAXPROCS, the number of CPUs Go uses.
	HashConcurrency int `json:"hash_concurrency,omitempty"`

	// How long a request waits for a free hash slot before it gets 503
	// Service Unavailable with Retry-After. Default: 2s.
	HashWait caddy.Duration `json:"hash_wait,omitempty"`

	// The most distinct client addresses one user's credentials may be used
	// from within MaxIPsWindow (Squid's max_user_ip); a further address
	// gets 403 Forbidden. Default: 0, no limit.
	MaxIPsPerUser int `json:"max_ips_per_user,omitempty"`

	// The window of max_ips_per_user: an address counts until it has not
	// been used for this long. Default: 5m.
	MaxIPsWindow caddy.Duration `json:"max_ips_window,omitempty"`

	// Makes the proxy look like a plain web site to clients without valid
	// credentials. See ProbeResistance.
	ProbeResistance *ProbeResistance `json:"probe_resistance,omitempty"`

	// How often credential files are checked for changes: a changed file
	// (new size, modification time, or a new file renamed over it) is
	// reloaded without a config reload. Default: 2s. A negative duration
	// turns watching off; files are then read when the config loads and on
	// `POST /proxy_auth/reload` to the admin API.
	WatchInterval caddy.Duration `json:"watch_interval,omitempty"`

	accounts *accountStore
	sources  *credentialSources
	schemes  []scheme
	hosts    caddyhttp.MatchHost
	state    *handlerState
	limits   *limiter
	probe    *probeMode
	metrics  *handlerMetrics
	logger   *zap.Logger
	// logSuccesses is whether the logger takes debug entries, asked once:
	// asking on every request cost a tenth of the handler's time in a
	// running server. A change of log level is a config load, which
	// provisions handlers anew.
	logSuccesses bool

	// configID tells handlers of one config from those of another (the
	// config's lifetime); fingerprint is its settings, see register.
	configID    <-chan struct{}
	fingerprint string
	released    bool
}

// CaddyModule returns the Caddy module information.
func (ProxyAuth) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{
		ID:  "http.handlers.proxy_auth",
		New: func() caddy.Module { return new(ProxyAuth) },
	}
}

// Provision loads the accounts and finds or creates the handler's state.
func (h *ProxyAuth) Provision(ctx caddy.Context) error {
	h.useLogger(ctx.Logger())
	if h.Realm == "" {
		h.Realm = defaultRealm
	}
	if h.Name == "" {
		h.Name = "realm:" + h.Realm
	}
	if h.CacheTTL == 0 {
		h.CacheTTL = caddy.Duration(defaultCacheTTL)
	}
	// Checked here, not in Validate, which Caddy runs after Provision: the
	// cache is shared by name, and configuring it to a negative size would
	// never finish evicting, under the lock the handler in force uses too.
	if h.CacheSize < 0 {
		return fmt.Errorf("cache_size must not be negative, got %d", h.CacheSize)
	}
	if h.CacheSize == 0 {
		h.CacheSize = defaultCacheSize
	}
	if h.WatchInterval == 0 {
		h.WatchInterval = caddy.Duration(defaultWatchInterval)
	}

	// Caddy's own host matcher, the one forward_proxy's hosts list uses:
	// any difference in how the two compare a Host (a trailing dot, say)
	// would let a request through here that forward_proxy then proxies.
	h.hosts = caddyhttp.MatchHost(slices.Clone(h.Hosts))
	if err := h.hosts.Provision(ctx); err != nil {
		return fmt.Errorf("hosts: %v", err)
	}

	var err error
	h.sources, err = h.newCredentialSources()
	if err != nil {
		return err
	}
	h.accounts = h.sources.store

	h.state, err = acquireState(h.Name)
	if err != nil {
		return err
	}
	h.state.cache.configure(time.Duration(h.CacheTTL), h.CacheSize)
	h.provisionLimits()
	h.provisionHashGuard()
	h.provisionProbeResistance()

	h.schemes, err = h.provisionSchemes(ctx, h.accounts.current())
	if err != nil {
		return err
	}
	// A reloaded credential file must satisfy the schemes too (Digest: an
	// H(A1) for every offered algorithm), or its last good version stays.
	h.sources.checkSet = h.checkAccounts

	h.metrics, err = newHandlerMetrics(ctx, h.Name, h.schemes)
	if err != nil {
		return err
	}
	h.sources.failed = h.metrics.failedReload
	h.configID, h.fingerprint = ctx.Done(), h.settingsFingerprint()
	if err := register(h); err != nil {
		return err
	}
	h.sources.watch(time.Duration(h.WatchInterval))
	return nil
}

// Validate checks the configuration for values that cannot work.
func (h *ProxyAuth) Validate() error {
	if err := checkRealm(h.Realm); err != nil {
		return err
	}
	if err := checkHandlerName(h.Name); err != nil {
		return fmt.Errorf("name: %v", err)
	}
	if h.accounts.current().len() == 0 {
		return errors.New("no accounts configured: add user lines or an htpasswd file")
	}
	if err := h.validateLimits(); err != nil {
		return err
	}
	return h.validateProbeResistance()
}

// Cleanup stops watching files and releases the handler's share of its
// state. On a config reload Caddy cleans up the old config while its
// servers may still be finishing requests, so everything ServeHTTP uses
// stays valid afterwards.
func (h *ProxyAuth) Cleanup() error {
	h.sources.close()
	unregister(h)
	if h.state == nil || h.released {
		return nil
	}
	h.released = true // a second Cleanup must not release it again
	return releaseState(h.Name)
}

// useLogger makes l the handler's logger.
func (h *ProxyAuth) useLogger(l *zap.Logger) {
	h.logger = l
	h.logSuccesses = l.Core().Enabled(zapcore.DebugLevel)
}

// ServeHTTP lets through requests for the server's own site and requests
// with valid proxy credentials; every other request is refused: with a
// 407, or 429/503/403 from the limits, or as a plain web site would answer
// it under probe resistance.
func (h *ProxyAuth) ServeHTTP(w http.ResponseWriter, r *http.Request, next caddyhttp.Handler) error {
	if h.isOwnSiteRequest(r) {
		return next.ServeHTTP(w, r)
	}

	v := h.attempt(r)
	h.state.outcomes.add(v.outcome)
	h.metrics.count(v)
	// The credentials are consumed here whatever the outcome: they must not
	// reach the origin, nor a placeholder in handle_errors.
	delete(r.Header, proxyAuthorization)

	if v.outcome != outcomeAuthenticated {
		h.logFailure(r, v)
		return h.refuse(w, r, v, next)
	}

	if h.logSuccesses {
		if c := h.logger.Check(zapcore.DebugLevel, "proxy authentication succeeded"); c != nil {
			c.Write(zap.String("client_ip", clientIP(r)), zap.String("user", sanitizeForLog(v.user)), zap.String("scheme", v.scheme))
		}
	}
	repl := r.Context().Value(caddy.ReplacerCtxKey).(*caddy.Replacer)
	repl.Set("http.auth.user.id", v.user)
	admit(w, v)
	if h.probe.isSecretHost(r) {
		return h.probe.confirm(w, r)
	}
	return next.ServeHTTP(w, r)
}

// admit adds to the answer of an authenticated request what its verdict
// asks to send with it.
func admit(w http.ResponseWriter, v verdict) {
	if v.authInfo != "" {
		w.Header()["Proxy-Authentication-Info"] = []string{v.authInfo} // the canonical key: Set would canonicalise it again
	}
}

// isOwnSiteRequest reports whether r is plainly addressed to this server's
// own site rather than to the proxy: not CONNECT, origin-form (or `*`), and
// Host in the configured hosts. The request-target is read from the original
// request, since a rewrite earlier in the route may have changed it.
func (h *ProxyAuth) isOwnSiteRequest(r *http.Request) bool {
	if len(h.hosts) == 0 || r.Method == http.MethodConnect {
		return false
	}
	_, target := originalTarget(r)
	if !strings.HasPrefix(target, "/") && target != "*" {
		return false
	}
	own, _ := h.hosts.MatchWithError(r)
	return own
}

// authenticate reads the single Proxy-Authorization field and hands its
// credentials to the scheme it names.
func (h *ProxyAuth) authenticate(r *http.Request) verdict {
	fields := r.Header[proxyAuthorization]
	switch {
	case len(fields) == 0:
		return verdict{outcome: outcomeMissing}
	case len(fields) > 1:
		// Proxy-Authorization is not a list (RFC 9110 §11.7.2); choosing one
		// of several fields would be guessing.
		return verdict{outcome: outcomeMalformed, reason: "more than one Proxy-Authorization field"}
	case len(fields[0]) > maxCredentialsLength:
		return verdict{outcome: outcomeMalformed, reason: "Proxy-Authorization field too long"}
	}

	name, credentials, ok := splitAuthScheme(fields[0])
	if !ok {
		return verdict{outcome: outcomeMalformed, reason: "no credentials after the scheme name"}
	}
	for _, s := range h.schemes {
		if strings.EqualFold(name, s.name()) {
			v := s.authenticate(r, credentials, h.accounts.current())
			v.scheme = s.name()
			return v
		}
	}
	return verdict{outcome: outcomeUnsupportedScheme, reason: "scheme not offered"}
}

// challenge answers a request that was not authenticated: one
// Proxy-Authenticate field line per offered challenge, then a 407 error.
func (h *ProxyAuth) challenge(w http.ResponseWriter, v verdict) error {
	hdr := w.Header()
	for _, s := range h.schemes {
		for _, c := range s.challenges(v) {
			hdr.Add("Proxy-Authenticate", c)
		}
	}
	return caddyhttp.Error(http.StatusProxyAuthRequired, errors.New("proxy authentication required: "+v.outcome.String()))
}

func (h *ProxyAuth) logFailure(r *http.Request, v verdict) {
	// A request without credentials is every client's first step, a stale
	// nonce the routine end of one, and attempts refused unverified come in
	// floods whose start is logged once: none is worth an info line each.
	level := zapcore.InfoLevel
	switch v.outcome {
	case outcomeMissing, outcomeStale, outcomeLocked, outcomeBusy:
		level = zapcore.DebugLevel
	}
	c := h.logger.Check(level, "proxy authentication failed")
	if c == nil {
		return
	}
	fields := []zap.Field{
		zap.String("client_ip", clientIP(r)),
		zap.String("outcome", v.outcome.String()),
	}
	if v.scheme != "" {
		fields = append(fields, zap.String("scheme", v.scheme))
	}
	if v.user != "" {
		fields = append(fields, zap.String("user", sanitizeForLog(v.user)))
	}
	if v.reason != "" {
		fields = append(fields, zap.String("reason", v.reason))
	}
	c.Write(fields...)
}

// clientIP is the client address as Caddy resolved it (honouring the
// server's trusted_proxies).
func clientIP(r *http.Request) string {
	if ip, ok := caddyhttp.GetVar(r.Context(), caddyhttp.ClientIPVarKey).(string); ok {
		return ip
	}
	return r.RemoteAddr
}

// proxyAuthorization is the header's canonical key, which Go's server uses
// for every spelling a client sends; indexing the map with it directly saves
// canonicalising on every request.
const proxyAuthorization = "Proxy-Authorization"

// Interface guards
var (
	_ caddy.Provisioner           = (*ProxyAuth)(nil)
	_ caddy.Validator             = (*ProxyAuth)(nil)
	_ caddy.CleanerUpper          = (*ProxyAuth)(nil)
	_ caddyhttp.MiddlewareHandler = (*ProxyAuth)(nil)
)
