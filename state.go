package proxyauth

import "github.com/caddyserver/caddy/v2"

// states holds each handler's state by handler name. A config reload
// provisions the new handler before the old one is cleaned up, so the new
// one finds the same state: the cache of verified credentials and the
// outcome counters are not lost.
var states = caddy.NewUsagePool()

// handlerState is what a handler keeps across config reloads.
type handlerState struct {
	name     string
	cache    *verifiedCache
	outcomes outcomeCounts
	limits   *limitState // failure counters, accepted addresses
	hashes   *hashGuard  // CPU guard: slots for slow password hashes
	// nonces is the Digest nonce key and the record of used nonce
	// counts: clients keep their nonces across a reload.
	nonces *nonceState
}

// Destruct implements caddy.Destructor: when the last handler of this name
// is gone, so are its metric series.
func (s *handlerState) Destruct() error {
	forgetMetrics(s.name)
	return nil
}

func acquireState(name string) (*handlerState, error) {
	v, _, err := states.LoadOrNew(name, func() (caddy.Destructor, error) {
		cache, err := newVerifiedCache()
		if err != nil {
			return nil, err
		}
		return &handlerState{name: name, cache: cache, limits: newLimitState(), hashes: new(hashGuard), nonces: newNonceState()}, nil
	})
	if err != nil {
		return nil, err
	}
	return v.(*handlerState), nil
}

func releaseState(name string) error {
	_, err := states.Delete(name)
	return err
}
