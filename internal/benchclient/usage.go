package benchclient

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// UsageQuery says whose CPU time one reading takes, for a measure in which
// the proxy runs pinned to ProxyCPUs and the load generator and the origin
// to ClientCPUs.
type UsageQuery struct {
	// ProxyPID is the proxy under test (its helpers count with it).
	ProxyPID int
	// ClientRoot is the process that started the load generator and the
	// origin (bench/run.sh itself): its tree, less the proxies, is the
	// client side.
	ClientRoot int
	// Skip lists the other proxies, idle during the measure, to leave out
	// of ClientRoot's tree with the measured one: they run on ProxyCPUs.
	Skip []int
	// ProxyCPUs and ClientCPUs are the CPUs each side is pinned to; empty
	// when the run has only one CPU, shared by both.
	ProxyCPUs, ClientCPUs []int
}

// UsageReading is one reading of the counters a measure is bracketed by.
// CPU times are clock ticks since boot (or since the process started).
type UsageReading struct {
	WallNanos       uint64 // when the reading was taken (Unix time)
	ProxyTicks      uint64 // the proxy and its helpers
	ClientTicks     uint64 // ClientRoot's tree without the proxies
	ProxyIdleTicks  uint64 // idle + iowait of ProxyCPUs
	ClientIdleTicks uint64 // idle + iowait of ClientCPUs
	ProxyCPUs       uint64 // how many CPUs ProxyIdleTicks covers
	ClientCPUs      uint64 // how many ClientIdleTicks covers
}

// ReadUsage takes one reading from procRoot (normally "/proc").
func ReadUsage(procRoot string, q UsageQuery) (UsageReading, error) {
	return readUsage(procRoot, q, time.Now)
}

func readUsage(procRoot string, q UsageQuery, now func() time.Time) (UsageReading, error) {
	snap, err := readProcSnapshot(procRoot)
	if err != nil {
		return UsageReading{}, err
	}
	r := UsageReading{ProxyCPUs: uint64(len(q.ProxyCPUs)), ClientCPUs: uint64(len(q.ClientCPUs))}
	proxy, err := snap.tree(q.ProxyPID, nil)
	if err != nil {
		return UsageReading{}, err
	}
	r.ProxyTicks = snap.cpuTicks(proxy)
	if q.ClientRoot > 0 {
		client, err := snap.tree(q.ClientRoot, append([]int{q.ProxyPID}, q.Skip...))
		if err != nil {
			return UsageReading{}, err
		}
		r.ClientTicks = snap.cpuTicks(client)
	}
	// The clock is read next to /proc/stat, which the interval is set
	// against.
	r.WallNanos = uint64(now().UnixNano())
	if len(q.ProxyCPUs) == 0 && len(q.ClientCPUs) == 0 {
		return r, nil
	}
	// Both sides' idle ticks come from one read of /proc/stat.
	cpus, err := readCPULines(procRoot)
	if err != nil {
		return UsageReading{}, err
	}
	if r.ProxyIdleTicks, err = cpus.idleTicks(q.ProxyCPUs); err != nil {
		return UsageReading{}, err
	}
	if r.ClientIdleTicks, err = cpus.idleTicks(q.ClientCPUs); err != nil {
		return UsageReading{}, err
	}
	return r, nil
}

// usageKeys are the fields of a reading's line, in the order of fields().
var usageKeys = []string{"wall_ns", "proxy_ticks", "client_ticks", "proxy_idle_ticks", "client_idle_ticks", "proxy_cpus", "client_cpus"}

func (r *UsageReading) fields() []*uint64 {
	return []*uint64{&r.WallNanos, &r.ProxyTicks, &r.ClientTicks, &r.ProxyIdleTicks, &r.ClientIdleTicks, &r.ProxyCPUs, &r.ClientCPUs}
}

// String renders the reading as tab-separated key=value fields, which
// ParseUsageReading reads back.
func (r UsageReading) String() string {
	parts := make([]string, len(usageKeys))
	for i, v := range r.fields() {
		parts[i] = usageKeys[i] + "=" + strconv.FormatUint(*v, 10)
	}
	return strings.Join(parts, "\t")
}

// ParseUsageReading reads what String wrote.
func ParseUsageReading(s string) (UsageReading, error) {
	f, err := parseFields(strings.TrimSpace(s))
	if err != nil {
		return UsageReading{}, err
	}
	var r UsageReading
	ptrs := r.fields()
	for i, key := range usageKeys {
		if *ptrs[i], err = strconv.ParseUint(f[key], 10, 64); err != nil {
			return UsageReading{}, fmt.Errorf("usage reading: %s=%q is not a number", key, f[key])
		}
	}
	return r, nil
}

// MeasureFields is what happened between two readings, as the fields of a
// measure record (see results.go): how long the interval was by the clock,
// the CPU time of the proxy and of the client side, and the idle time of
// each side's CPUs.
func MeasureFields(before, after UsageReading) string {
	d := func(a, b uint64) int64 { return int64(b) - int64(a) }
	return fmt.Sprintf("interval_us=%d\tcpu_ticks=%d\tclient_ticks=%d\tcore_idle_ticks=%d\tcore_cpus=%d\tclient_core_idle_ticks=%d\tclient_core_cpus=%d",
		d(before.WallNanos, after.WallNanos)/1000, d(before.ProxyTicks, after.ProxyTicks), d(before.ClientTicks, after.ClientTicks),
		d(before.ProxyIdleTicks, after.ProxyIdleTicks), after.ProxyCPUs, d(before.ClientIdleTicks, after.ClientIdleTicks), after.ClientCPUs)
}
