package benchclient

import (
	"fmt"
	"math"
	"slices"
	"time"
)

// workerStats is what one worker counted.
type workerStats struct {
	latencies    []time.Duration
	unexpected   int64
	errors       int64
	rechallenges int64
	reconnects   int64
	firstProblem string
}

func (s *workerStats) done(d time.Duration) { s.latencies = append(s.latencies, d) }

func (s *workerStats) gotUnexpected(err error) {
	s.unexpected++
	s.note(err)
}

func (s *workerStats) failed(err error) {
	s.errors++
	s.note(err)
}

func (s *workerStats) note(err error) {
	if s.firstProblem == "" {
		s.firstProblem = err.Error()
	}
}

// Result is what a load run measured.
type Result struct {
	// Requests is the number answered as expected.
	Requests int64
	// Unexpected is the number answered with another status.
	Unexpected int64
	// Errors is the number that failed below HTTP (dial, reset, TLS, ...).
	Errors int64
	// Rechallenges is the number of 407s answered by sending the request
	// again (Digest's first challenge on each worker, stale nonces).
	Rechallenges int64
	// Reconnects is the number of requests sent again on a new connection
	// because the proxy had closed the kept-alive one.
	Reconnects int64
	// Elapsed is how long the run lasted.
	Elapsed time.Duration
	// FirstProblem describes the first unexpected answer or error, if any.
	FirstProblem string

	latencies []time.Duration // sorted, of the expected answers
}

func (r *Result) add(s workerStats) {
	r.Requests += int64(len(s.latencies))
	r.Unexpected += s.unexpected
	r.Errors += s.errors
	r.Rechallenges += s.rechallenges
	r.Reconnects += s.reconnects
	if r.FirstProblem == "" {
		r.FirstProblem = s.firstProblem
	}
	r.latencies = append(r.latencies, s.latencies...)
}

func (r *Result) finish() { slices.Sort(r.latencies) }

// Rate is requests answered as expected per second.
func (r Result) Rate() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(r.Requests) / r.Elapsed.Seconds()
}

// Percentile returns the latency below which the fraction q (0 < q <= 1)
// of the expected answers fell: the nearest-rank percentile.
func (r Result) Percentile(q float64) time.Duration {
	n := len(r.latencies)
	if n == 0 {
		return 0
	}
	rank := int(math.Ceil(q*float64(n))) - 1
	rank = min(max(rank, 0), n-1)
	return r.latencies[rank]
}

// Line renders the result as the tab-separated key=value fields bench/run.sh
// collects, the same keys its wrk script prints.
func (r Result) Line() string {
	return fmt.Sprintf("requests=%d\tseconds=%.3f\tp50_us=%d\tp99_us=%d\tunexpected=%d\terrors=%d\trechallenges=%d\treconnects=%d",
		r.Requests, r.Elapsed.Seconds(), r.Percentile(0.50).Microseconds(), r.Percentile(0.99).Microseconds(),
		r.Unexpected, r.Errors, r.Rechallenges, r.Reconnects)
}
