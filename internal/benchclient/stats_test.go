package benchclient

import (
	"errors"
	"testing"
	"time"
)

func TestResultPercentilesAndLine(t *testing.T) {
	var a, b workerStats
	for i := 1; i <= 60; i++ {
		a.done(time.Duration(i) * time.Millisecond)
	}
	for i := 61; i <= 100; i++ {
		b.done(time.Duration(i) * time.Millisecond)
	}
	b.gotUnexpected(errors.New("status 403"))
	b.failed(errors.New("reset"))
	b.rechallenges = 3
	a.reconnects = 2
	r := Result{Elapsed: 2 * time.Second}
	r.add(b)
	r.add(a)
	r.finish()
	// Nearest rank: p50 of 1..100 ms is the 50th value, p99 the 99th.
	if r.Percentile(0.5) != 50*time.Millisecond || r.Percentile(0.99) != 99*time.Millisecond || r.Percentile(1) != 100*time.Millisecond {
		t.Errorf("p50 %v p99 %v p100 %v", r.Percentile(0.5), r.Percentile(0.99), r.Percentile(1))
	}
	if r.Rate() != 50 {
		t.Errorf("Rate = %v, want 50", r.Rate())
	}
	want := "requests=100\tseconds=2.000\tp50_us=50000\tp99_us=99000\tunexpected=1\terrors=1\trechallenges=3\treconnects=2"
	if r.Line() != want {
		t.Errorf("Line:\n got %q\nwant %q", r.Line(), want)
	}
	if r.FirstProblem != "status 403" {
		t.Errorf("FirstProblem = %q", r.FirstProblem)
	}
	if (Result{}).Percentile(0.5) != 0 || (Result{}).Rate() != 0 {
		t.Error("an empty result should give zeros")
	}
}
