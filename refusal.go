package proxyauth

import (
	"errors"
	"math"
	"net/http"
	"strconv"
	"time"

	"go.uber.org/zap"

	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
)

// busyRetryAfter is the Retry-After of a 503 from the CPU guard: hash
// slots turn over in well under a second.
const busyRetryAfter = time.Second

// refuse answers a request that was not authenticated, by why:
//
//   - locked (failure limits): 429 Too Many Requests, Retry-After;
//   - busy (CPU guard): 503 Service Unavailable, Retry-After;
//   - too_many_ips (max_ips_per_user): 403 Forbidden, since the
//     credentials are valid and sending them again will not help
//     (RFC 9110 §11.4);
//   - uri_mismatch (Digest credentials for another resource): 400 Bad
//     Request, as RFC 7616 §3.4.6 asks;
//   - anything else: 407 with every scheme's challenge.
//
// Under probe resistance, every refusal but the 403 (whose client holds
// valid credentials) looks like the plain site instead, except on the
// secret host.
func (h *ProxyAuth) refuse(w http.ResponseWriter, r *http.Request, v verdict, next caddyhttp.Handler) error {
	if h.probe != nil && v.outcome != outcomeTooManyIPs && !h.probe.isSecretHost(r) {
		return h.probe.disguise(w, r, next)
	}
	switch v.outcome {
	case outcomeLocked:
		setRetryAfter(w, h.limits.retryAfter(r, v.user))
		return caddyhttp.Error(http.StatusTooManyRequests, errors.New("proxy authentication refused: "+v.reason))
	case outcomeBusy:
		if h.state.hashes.shouldWarn() {
			h.logger.Warn("all password hash slots busy: refusing cache misses with 503",
				zap.Int("hash_concurrency", h.HashConcurrency), zap.Duration("hash_wait", time.Duration(h.HashWait)))
		}
		setRetryAfter(w, busyRetryAfter)
		return caddyhttp.Error(http.StatusServiceUnavailable, errors.New("proxy authentication busy: no password hash slot came free"))
	case outcomeTooManyIPs:
		return caddyhttp.Error(http.StatusForbidden, errors.New("proxy authentication refused: "+v.reason))
	case outcomeURIMismatch:
		return caddyhttp.Error(http.StatusBadRequest, errors.New("proxy authentication refused: "+v.reason))
	}
	return h.challenge(w, v)
}

// setRetryAfter sets Retry-After to d in whole seconds, rounded up, at
// least 1 (RFC 9110 §10.2.3).
func setRetryAfter(w http.ResponseWriter, d time.Duration) {
	secs := max(int64(math.Ceil(d.Seconds())), 1)
	w.Header().Set("Retry-After", strconv.FormatInt(secs, 10))
}
