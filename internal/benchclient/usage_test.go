package benchclient

import (
	"math"
	"os"
	"strings"
	"testing"
	"time"
)

// measureOnCannedProc takes the two readings that bracket a measure from
// two fake /procs, at the given clock times, as bench/run.sh does, and
// returns the report's view of the measure (the load generator's Seconds
// and requests given).
func measureOnCannedProc(t *testing.T, q UsageQuery, at [2]time.Duration, procs [2]map[int]fakeProcess, stat [2]string, loadLine string) (*Results, Measurement) {
	t.Helper()
	var readings [2]UsageReading
	for i := range readings {
		clock := func() time.Time { return time.Unix(1_800_000_000, 0).Add(at[i]) }
		r, err := readUsage(fakeProc(t, procs[i], stat[i]), q, clock)
		if err != nil {
			t.Fatal(err)
		}
		// Through the file bench/run.sh keeps the first reading in.
		if readings[i], err = ParseUsageReading(r.String()); err != nil || readings[i] != r {
			t.Fatalf("reading %+v did not survive its line %q: %+v, %v", r, r.String(), readings[i], err)
		}
	}
	results := "kind=meta\tclk_tck=100\n" +
		"kind=proxy\tid=p\tlabel=Proxy\trole=other\tauth=basic\tget_tool=wrk\n" +
		"kind=measure\tid=p\tmeasure=get\ttool=wrk\t" + loadLine + "\t" + MeasureFields(readings[0], readings[1]) + "\n"
	rs, err := ParseResults(strings.NewReader(results))
	if err != nil {
		t.Fatal(err)
	}
	m, _ := rs.Measurement("p", MeasureGet, "wrk")
	return rs, m
}

func near(t *testing.T, name string, got, want float64) {
	t.Helper()
	if math.Abs(got-want) > 1e-9 {
		t.Errorf("%s = %.4f, want %.4f", name, got, want)
	}
}

// The shape of a run on a loaded machine that printed "proxy 25 %, others
// 100 %": the load generator ran for 10 s, but the readings were 13 s apart
// (starting processes on a busy machine), and other processes kept the
// proxy's CPU busy all along. Shares were taken against the 10 s, from the
// sampled busy fields without softirq: the proxy's 250 ticks as 25 %, the
// core's 1250 other than softirq less those as 100 %. Over the 13 s the
// readings were apart they are 19 % and 81 %.
//
// The proxy (pid 100) used 250 ticks, 50 of them running the softirqs of
// the loopback traffic it sent (the kernel charges those to its stime and
// counts them in /proc/stat as softirq). Other processes used the rest of
// CPU 0, among them 20 ticks of an idle proxy (pid 70). On CPU 1,
// bench/run.sh (pid 50) ran the load generator, which exited and was
// waited for (600 ticks, now in the script's cutime), and the origin (pid
// 60, 300 ticks); CPU 1 was never idle either, so others took 400 of its
// 1300 ticks.
func TestUsageOnALoadedMachine(t *testing.T) {
	q := UsageQuery{ProxyPID: 100, ClientRoot: 50, Skip: []int{70, 100}, ProxyCPUs: []int{0}, ClientCPUs: []int{1}}
	procs := [2]map[int]fakeProcess{{
		1:   {ppid: 0, utime: 10, stime: 10},
		50:  {ppid: 1, utime: 40, stime: 20, cutime: 900, cstime: 300}, // bench/run.sh
		60:  {ppid: 50, utime: 2000, stime: 1000},                      // the origin
		70:  {ppid: 50, utime: 300, stime: 100},                        // an idle proxy
		100: {ppid: 50, utime: 4000, stime: 3000},                      // the proxy measured
		999: {ppid: 1, utime: 50000, stime: 9000},                      // someone else's build
	}, {
		1:   {ppid: 0, utime: 10, stime: 10},
		50:  {ppid: 1, utime: 40, stime: 20, cutime: 1300, cstime: 500}, // + the load generator's 600
		60:  {ppid: 50, utime: 2200, stime: 1100},                       // +300
		70:  {ppid: 50, utime: 315, stime: 105},                         // +20, on CPU 0
		100: {ppid: 50, utime: 4150, stime: 3100},                       // +250
		999: {ppid: 1, utime: 51000, stime: 9100},
	}}
	//               user  nice system idle  iowait irq softirq steal guest guest_nice
	stat := [2]string{
		"cpu0 50000 10 8000 90000 300 0 2000 100 0 0\ncpu1 60000 20 9000 80000 200 0 1500 100 0 0\n",
		"cpu0 51200 10 8050 90000 300 0 2050 100 0 0\ncpu1 61000 20 9200 80000 200 0 1600 100 0 0\n",
	}
	rs, m := measureOnCannedProc(t, q, [2]time.Duration{0, 13 * time.Second}, procs, stat,
		"requests=25000\tseconds=10.000\tp50_us=1\tp99_us=2\tunexpected=0\terrors=0")
	if m.IntervalMicros != 13e6 || m.CPUTicks != 250 || m.ClientTicks != 900 || m.CoreIdleTicks != 0 || m.CoreCPUs != 1 {
		t.Errorf("measurement = %+v", m)
	}
	near(t, "CPU per request (µs)", rs.CPUPerRequest(m), 100) // 2.5 s over 25,000
	near(t, "proxy's share", rs.CoreBusy(m), 250.0/1300)
	near(t, "others on the proxy's CPU", rs.OthersBusy(m), 1050.0/1300)
	near(t, "client CPU busy", rs.ClientBusy(m), 1)
	near(t, "others on the client CPU", rs.OthersOnClient(m), 400.0/1300)
	md := rs.Markdown()
	if cell := "100.0 µs (proxy 19 %, others 81 %; client core 100 %, others 31 %)"; !strings.Contains(md, cell) {
		t.Errorf("report lacks %q:\n%s", cell, md)
	}
	d := rs.Disturbed()
	if len(d) != 2 || !strings.HasSuffix(d[0], "other processes took 81 % of the proxy's core") ||
		!strings.HasSuffix(d[1], "other processes took 31 % of the load generator's core") {
		t.Errorf("Disturbed = %q", d)
	}
}

// A measure in which the proxy's CPU idles between short bursts, as a
// proxy answering one tunnel at a time does: /proc/stat's busy fields,
// sampled on timer ticks, miss much of it (here they count 350 ticks while
// the proxy alone used 450), but idle time is measured exactly. Taken from
// the busy fields, others' share read 0 however much they took; from the
// clock less idle time, the 50 ticks they did take show.
func TestUsageWhenTicksMissBusyTime(t *testing.T) {
	q := UsageQuery{ProxyPID: 100, ClientRoot: 50, Skip: []int{100}, ProxyCPUs: []int{0}, ClientCPUs: []int{1, 2}}
	procs := [2]map[int]fakeProcess{{
		50:  {ppid: 1, utime: 5, stime: 5},
		100: {ppid: 50, utime: 1000, stime: 1000},
	}, {
		50:  {ppid: 1, utime: 5, stime: 5, cutime: 1200, cstime: 400}, // the load generator: 1600
		100: {ppid: 50, utime: 1300, stime: 1150},                     // +450
	}}
	stat := [2]string{
		"cpu0 100 0 100 100 0 0 0 0 0 0\ncpu1 100 0 100 100 0 0 0 0 0 0\ncpu2 100 0 100 100 0 0 0 0 0 0\n",
		// CPU 0 idle +510 (10.1 s less 5.1 s idle is 5.0 s busy), busy
		// fields +350; CPUs 1 and 2 idle +200 of their 20.2 s, 1600 ticks
		// ours.
		"cpu0 350 0 160 610 0 0 40 0 0 0\ncpu1 800 0 300 200 0 0 0 0 0 0\ncpu2 800 0 300 200 0 0 0 0 0 0\n",
	}
	rs, m := measureOnCannedProc(t, q, [2]time.Duration{0, 10100 * time.Millisecond}, procs, stat,
		"requests=9000\tseconds=10.000\tp50_us=1\tp99_us=2\tunexpected=0\terrors=0")
	near(t, "CPU per request (µs)", rs.CPUPerRequest(m), 500)
	near(t, "proxy's share", rs.CoreBusy(m), 4.5/10.1)
	near(t, "others on the proxy's CPU", rs.OthersBusy(m), 0.5/10.1)
	near(t, "client CPUs busy", rs.ClientBusy(m), (20.2-2)/20.2)
	near(t, "others on the client CPUs", rs.OthersOnClient(m), (20.2-2-16)/20.2)
	if cell := "(proxy 45 %, others 5 %; client core 90 %, others 11 %)"; !strings.Contains(rs.Markdown(), cell) {
		t.Errorf("report lacks %q:\n%s", cell, rs.Markdown())
	}
}

func TestUsageOnOneCPU(t *testing.T) {
	// With one CPU for everything, only the proxy's ticks and the clock
	// are read, and the proxy's share is taken against the clock.
	root := fakeProc(t, map[int]fakeProcess{1: {}, 100: {ppid: 1, utime: 30, stime: 12}}, "cpu0 1 1 1 1 1 1 1 1 0 0\n")
	r, err := readUsage(root, UsageQuery{ProxyPID: 100}, func() time.Time { return time.Unix(0, 42) })
	if err != nil {
		t.Fatal(err)
	}
	if r != (UsageReading{WallNanos: 42, ProxyTicks: 42}) {
		t.Errorf("ReadUsage = %+v, want only the proxy's 42 ticks at 42 ns", r)
	}
	if _, err := ReadUsage(root, UsageQuery{ProxyPID: 555}); err == nil {
		t.Error("ReadUsage of a missing proxy succeeded")
	}
	m := Measurement{Seconds: 10, IntervalMicros: 10_500_000, CPUTicks: 525}
	rs := &Results{Meta: map[string]string{"clk_tck": "100"}}
	near(t, "proxy's share on a shared CPU", rs.CoreBusy(m), 0.5)
	if o := rs.OthersBusy(m); o != -1 {
		t.Errorf("others on a shared CPU = %v, want -1 (unknown)", o)
	}
}

func TestUsageReadingRoundTrip(t *testing.T) {
	r := UsageReading{WallNanos: 1, ProxyTicks: 2, ClientTicks: 3, ProxyIdleTicks: 4, ClientIdleTicks: 5, ProxyCPUs: 6, ClientCPUs: 7}
	s := r.String()
	if s != "wall_ns=1\tproxy_ticks=2\tclient_ticks=3\tproxy_idle_ticks=4\tclient_idle_ticks=5\tproxy_cpus=6\tclient_cpus=7" {
		t.Errorf("String = %q", s)
	}
	back, err := ParseUsageReading(s + "\n")
	if err != nil || back != r {
		t.Errorf("ParseUsageReading(%q) = %+v, %v; want %+v", s, back, err, r)
	}
	for _, bad := range []string{"", "proxy_ticks=1", strings.Replace(s, "=7", "=-7", 1), "junk"} {
		if _, err := ParseUsageReading(bad); err == nil {
			t.Errorf("ParseUsageReading(%q) accepted", bad)
		}
	}
}

// TestUsageOfThisProcess reads the real /proc: this test process, the tree
// of its parent (the go command) without it, and CPU 0.
func TestUsageOfThisProcess(t *testing.T) {
	q := UsageQuery{ProxyPID: os.Getpid(), ClientRoot: os.Getppid(), ProxyCPUs: []int{0}, ClientCPUs: []int{0}}
	before, err := ReadUsage("/proc", q)
	if err != nil {
		t.Fatal(err)
	}
	for start := time.Now(); time.Since(start) < 30*time.Millisecond; {
		// Use some CPU.
	}
	after, err := ReadUsage("/proc", q)
	if err != nil {
		t.Fatal(err)
	}
	if after.WallNanos <= before.WallNanos || after.ProxyTicks < before.ProxyTicks || after.ProxyIdleTicks < before.ProxyIdleTicks ||
		after.ProxyCPUs != 1 || after.ClientIdleTicks != after.ProxyIdleTicks {
		t.Errorf("readings %+v then %+v", before, after)
	}
}
