package proxyauth

import "sync/atomic"

// numOutcomes is how many outcomes there are; tables indexed by outcome
// grow with outcomeNames.
const numOutcomes = len(outcomeNames)

// counterCategory is the admin API counter an outcome is counted under.
// The admin API answers "how many got in, how many sent nothing, how many
// sent credentials that did not work"; the ways credentials fail to work
// (malformed, unsupported scheme, unknown user, wrong password, a Digest
// uri for another resource) are one
// "invalid" counter there, while metrics and logs keep the detailed outcome.
// Every other outcome (authenticated, missing, stale, locked, ...) is
// counted under its own name.
func (o outcome) counterCategory() string {
	switch o {
	case outcomeMalformed, outcomeUnsupportedScheme, outcomeUnknownUser, outcomeWrongPassword, outcomeURIMismatch:
		return "invalid"
	}
	return o.String()
}

// adminCounters are the counters the admin API always shows, zero or not.
var adminCounters = []string{"authenticated", "missing", "invalid", "stale", "locked"}

// outcomeCounts counts a handler's outcomes. It lives in handlerState, so
// the counts carry over a config reload.
type outcomeCounts [numOutcomes]atomic.Uint64

func (c *outcomeCounts) add(o outcome) { c[o].Add(1) }

// byCategory sums the counts into the admin API's counters.
func (c *outcomeCounts) byCategory() map[string]uint64 {
	sums := make(map[string]uint64, len(adminCounters)+1)
	for _, name := range adminCounters {
		sums[name] = 0
	}
	for o := range c {
		if n := c[o].Load(); n > 0 {
			sums[outcome(o).counterCategory()] += n
		}
	}
	return sums
}
