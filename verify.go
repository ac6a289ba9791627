package proxyauth

import (
	"errors"
	"time"

	"go.uber.org/zap"
)

// verifyPassword checks a user name and password against accounts, with the
// cache of verified credentials in front of the slow hash. An unknown user
// is checked against the set's decoy hash, so it costs as much as a wrong
// password and the answer's timing does not reveal which names exist. The
// slow hash runs under the CPU guard; a cached answer never waits for it.
func (h *ProxyAuth) verifyPassword(user string, password []byte, accounts *accountSet) outcome {
	acct, known := accounts.lookup(user)
	if known && acct.hash == "" || !known && accounts.decoy.algo == hashNone && accounts.digest.byName != nil {
		// The user has only Digest H(A1) values (or every account does):
		// one fast hash, no cache needed.
		return accounts.digest.verifyPassword(user, password)
	}
	cache := h.state.cache
	k := cache.key(user, password)
	if known && cache.verified(k, acct.hash) {
		return outcomeAuthenticated
	}

	target := acct
	if !known {
		if accounts.decoy.algo == hashNone {
			return outcomeUnknownUser // no accounts at all: no names to hide
		}
		target = accounts.decoy
	}
	match, err := cache.once(k, target.hash, func() (bool, error) {
		return h.state.hashes.guardedCompare(time.Duration(h.HashWait), func() (bool, error) {
			// Timed here: once per hash computed, without the wait for a
			// slot, whatever the number of callers that share it.
			began := time.Now()
			match, err := hashComparers[target.algo].Compare([]byte(target.hash), password)
			h.metrics.observeVerification(basicSchemeName, time.Since(began))
			return match, err
		})
	})
	switch {
	case errors.Is(err, errHashBusy):
		return outcomeBusy
	case err != nil:
		// Hashes are checked when loaded, so this is a bug or a corrupted
		// hash, never the client's doing.
		h.logger.Error("verifying password hash", zap.String("account", accounts.where(target)), zap.Error(err))
		return outcomeError
	case !known:
		return outcomeUnknownUser
	case !match:
		return outcomeWrongPassword
	}
	cache.add(k, acct.hash)
	return outcomeAuthenticated
}
