package benchclient

import (
	"bufio"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// The results file bench/run.sh writes has one record a line, each a
// tab-separated list of key=value fields, the first being kind=...:
//
//	kind=meta     <key>=<value>...                   facts about the run
//	kind=proxy    id= label= role= auth= get_tool=   one per proxy, in table order
//	kind=measure  id= measure= tool= requests= seconds= p50_us= p99_us=
//	              unexpected= errors= rechallenges= reconnects= cpu_ticks=
//	              core_ticks= core_total_ticks= client_ticks=
//	              client_core_ticks= client_core_total_ticks=
//	              [handler_samples= profile_samples=]
//	kind=memory   id= peak_kib= processes=
//
// role is "baseline" (the ceiling for proxy_auth), "squid" (the other
// reference for ratios), "proxy_auth" (rows the goals are checked on) or
// "other". measure is "get" (authenticated keep-alive GET), "connect" (one
// authenticated tunnel per request) or "challenge" (no credentials, 407).

// Measure names.
const (
	MeasureGet       = "get"
	MeasureConnect   = "connect"
	MeasureChallenge = "challenge"
)

// Proxy roles.
const (
	RoleBaseline  = "baseline"
	RoleSquid     = "squid"
	RoleProxyAuth = "proxy_auth"
)

// ProxyRow is one proxy under test.
type ProxyRow struct {
	ID, Label, Role, Auth, GetTool string
}

// Measurement is one load run against one proxy, with the proxy's CPU time
// over the run.
type Measurement struct {
	ID, Measure, Tool string
	Requests          int64
	Seconds           float64
	P50us, P99us      int64
	Unexpected        int64
	Errors            int64
	Rechallenges      int64
	Reconnects        int64
	// IntervalMicros is how long, by the clock, the two readings that
	// bracket the run were apart: a little longer than Seconds, which the
	// load generator counts from its first request to its last. 0 in a
	// record without readings.
	IntervalMicros int64
	// CPUTicks is the proxy's CPU time (helpers included) between the
	// readings, in clock ticks.
	CPUTicks int64
	// CoreCPUs is how many CPUs the proxy was pinned to (0: it shared the
	// only one with the load generator), and CoreIdleTicks how long they
	// were idle between the readings.
	CoreCPUs, CoreIdleTicks int64
	// ClientCoreCPUs and ClientCoreIdleTicks are the same for the load
	// generator's CPUs, and ClientTicks the CPU time of what ran on them
	// for the benchmark: the load generator, the origin and bench/run.sh.
	ClientCoreCPUs, ClientCoreIdleTicks, ClientTicks int64
	// ProfileSamples is how many samples a CPU profile of the proxy took
	// during the run (0: none was taken), and HandlerSamples how many of
	// them were in proxy_auth's own code, the next handler's left out.
	HandlerSamples, ProfileSamples int64
}

// HandlerShare is the share of the proxy's CPU profile spent in
// proxy_auth's own code, and ok is false without a profile.
func (m Measurement) HandlerShare() (share float64, ok bool) {
	if m.ProfileSamples <= 0 {
		return 0, false
	}
	return float64(m.HandlerSamples) / float64(m.ProfileSamples), true
}

// Rate is requests per second.
func (m Measurement) Rate() float64 {
	if m.Seconds <= 0 {
		return 0
	}
	return float64(m.Requests) / m.Seconds
}

// Memory is a proxy's peak resident memory over its whole run.
type Memory struct {
	PeakKiB   int64
	Processes int
}

type measureKey struct{ id, measure, tool string }

// Results is a parsed results file.
type Results struct {
	Meta     map[string]string
	Proxies  []ProxyRow
	measures map[measureKey]Measurement
	memory   map[string]Memory
}

// ParseResults reads a results file.
func ParseResults(r io.Reader) (*Results, error) {
	rs := &Results{
		Meta:     make(map[string]string),
		measures: make(map[measureKey]Measurement),
		memory:   make(map[string]Memory),
	}
	sc := bufio.NewScanner(r)
	for lineNo := 1; sc.Scan(); lineNo++ {
		line := sc.Text()
		if strings.TrimSpace(line) == "" {
			continue
		}
		f, err := parseFields(line)
		if err == nil {
			err = rs.addRecord(f)
		}
		if err != nil {
			return nil, fmt.Errorf("results line %d: %w", lineNo, err)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	return rs, nil
}

func parseFields(line string) (map[string]string, error) {
	f := make(map[string]string)
	for part := range strings.SplitSeq(line, "\t") {
		k, v, ok := strings.Cut(part, "=")
		if !ok || k == "" {
			return nil, fmt.Errorf("field %q is not key=value", part)
		}
		f[k] = v
	}
	return f, nil
}

func (rs *Results) addRecord(f map[string]string) error {
	switch f["kind"] {
	case "meta":
		for k, v := range f {
			if k != "kind" {
				rs.Meta[k] = v
			}
		}
	case "proxy":
		p := ProxyRow{ID: f["id"], Label: f["label"], Role: f["role"], Auth: f["auth"], GetTool: f["get_tool"]}
		if p.ID == "" || p.Label == "" {
			return fmt.Errorf("proxy record without id or label")
		}
		rs.Proxies = append(rs.Proxies, p)
	case "measure":
		m := Measurement{ID: f["id"], Measure: f["measure"], Tool: f["tool"]}
		var err error
		num := func(key string) int64 {
			n, e := strconv.ParseInt(f[key], 10, 64)
			if e != nil && err == nil {
				err = fmt.Errorf("%s=%q is not a number", key, f[key])
			}
			return n
		}
		m.Requests, m.P50us, m.P99us = num("requests"), num("p50_us"), num("p99_us")
		m.Unexpected, m.Errors, m.CPUTicks = num("unexpected"), num("errors"), num("cpu_ticks")
		for key, field := range map[string]*int64{
			"rechallenges": &m.Rechallenges, "reconnects": &m.Reconnects,
			"interval_us": &m.IntervalMicros, "client_ticks": &m.ClientTicks,
			"core_cpus": &m.CoreCPUs, "core_idle_ticks": &m.CoreIdleTicks,
			"client_core_cpus": &m.ClientCoreCPUs, "client_core_idle_ticks": &m.ClientCoreIdleTicks,
			"handler_samples": &m.HandlerSamples, "profile_samples": &m.ProfileSamples,
		} {
			if f[key] != "" {
				*field = num(key)
			}
		}
		if err != nil {
			return err
		}
		if m.Seconds, err = strconv.ParseFloat(f["seconds"], 64); err != nil {
			return fmt.Errorf("seconds=%q is not a number", f["seconds"])
		}
		if m.ID == "" || m.Measure == "" || m.Tool == "" {
			return fmt.Errorf("measure record without id, measure or tool")
		}
		if m.HandlerSamples < 0 || m.HandlerSamples > m.ProfileSamples {
			return fmt.Errorf("handler_samples=%d is not between 0 and profile_samples=%d", m.HandlerSamples, m.ProfileSamples)
		}
		rs.measures[measureKey{m.ID, m.Measure, m.Tool}] = m
	case "memory":
		kib, err := strconv.ParseInt(f["peak_kib"], 10, 64)
		if err != nil {
			return fmt.Errorf("peak_kib=%q is not a number", f["peak_kib"])
		}
		n, _ := strconv.Atoi(f["processes"])
		rs.memory[f["id"]] = Memory{PeakKiB: kib, Processes: n}
	default:
		return fmt.Errorf("unknown kind %q", f["kind"])
	}
	return nil
}

// Measurement returns the run of measure against proxy id with tool.
func (rs *Results) Measurement(id, measure, tool string) (Measurement, bool) {
	m, ok := rs.measures[measureKey{id, measure, tool}]
	return m, ok
}

// toolFor is the load generator whose figures stand in a proxy's row for a
// measure: GETs use the row's own tool (wrk, or the Go client for Digest),
// tunnels always the Go client, 407s always wrk.
func toolFor(p ProxyRow, measure string) string {
	switch measure {
	case MeasureGet:
		return p.GetTool
	case MeasureConnect:
		return "go"
	}
	return "wrk"
}

// rowMeasurement is the measurement shown in p's row.
func (rs *Results) rowMeasurement(p ProxyRow, measure string) (Measurement, bool) {
	return rs.Measurement(p.ID, measure, toolFor(p, measure))
}

// reference returns the measurement of the proxy with role, made with the
// same tool as p's, so that a ratio compares like with like.
func (rs *Results) reference(role string, p ProxyRow, measure string) (Measurement, bool) {
	for _, q := range rs.Proxies {
		if q.Role == role {
			return rs.Measurement(q.ID, measure, toolFor(p, measure))
		}
	}
	return Measurement{}, false
}

// CPUPerRequest is the proxy's CPU time per request in microseconds.
func (rs *Results) CPUPerRequest(m Measurement) float64 {
	if m.Requests == 0 {
		return 0
	}
	return rs.cpuSeconds(m) * 1e6 / float64(m.Requests)
}

// HandlerCPUPerRequest is the part of CPUPerRequest spent in proxy_auth's
// own code, by the share of the proxy's CPU profile samples found there;
// ok is false without a profile.
func (rs *Results) HandlerCPUPerRequest(m Measurement) (micros float64, ok bool) {
	share, ok := m.HandlerShare()
	return share * rs.CPUPerRequest(m), ok
}

// The shares below are taken over the interval between the readings that
// bracket a measure, by the clock, and a CPU's busy time is that interval
// less its idle time (see ReadIdleTicks for why not the busy fields of
// /proc/stat), so the proxy's share and the others' add up to at most the
// whole core. (Shares were once taken from the sampled busy fields against
// the load generator's Seconds, and read "proxy 25 %, others 100 %" on a
// loaded machine.)

// CoreBusy is the share of one core the proxy used during the run.
func (rs *Results) CoreBusy(m Measurement) float64 {
	cpus := max(m.CoreCPUs, 1)
	if interval := rs.interval(m); interval > 0 {
		return rs.cpuSeconds(m) / interval / float64(cpus)
	}
	return 0
}

// OthersBusy is the share of the proxy's core that other processes used
// during the run (-1 if unknown): above a few percent, they slowed the proxy.
func (rs *Results) OthersBusy(m Measurement) float64 {
	return rs.notIdleShare(m, m.CoreCPUs, m.CoreIdleTicks, m.CPUTicks)
}

// ClientBusy is how busy the load generator's cores were during the run,
// as a share of their capacity (-1 if unknown). Near 1, the load generator
// and the origin set the rate, not the proxy.
func (rs *Results) ClientBusy(m Measurement) float64 {
	return rs.notIdleShare(m, m.ClientCoreCPUs, m.ClientCoreIdleTicks, 0)
}

// OthersOnClient is the share of the load generator's cores that other
// processes used during the run (-1 if unknown).
func (rs *Results) OthersOnClient(m Measurement) float64 {
	return rs.notIdleShare(m, m.ClientCoreCPUs, m.ClientCoreIdleTicks, m.ClientTicks)
}

// notIdleShare is the share of cpus CPUs, over the measure's interval, that
// was not idle, less lessTicks of CPU time (-1 if unknown). The clock and
// the counters are read microseconds apart, so a figure a hair outside 0
// to 1 is read as 0 or 1.
func (rs *Results) notIdleShare(m Measurement, cpus, idleTicks, lessTicks int64) float64 {
	interval := rs.interval(m)
	if cpus < 1 || interval <= 0 {
		return -1
	}
	capacity := interval * float64(cpus)
	rest := capacity - rs.ticksToSeconds(idleTicks) - rs.ticksToSeconds(lessTicks)
	return min(max(rest/capacity, 0), 1)
}

// interval is the measure's interval in seconds: by the clock between the
// readings, or the load generator's Seconds in a record without them.
func (rs *Results) interval(m Measurement) float64 {
	if m.IntervalMicros > 0 {
		return float64(m.IntervalMicros) / 1e6
	}
	return m.Seconds
}

func (rs *Results) cpuSeconds(m Measurement) float64 { return rs.ticksToSeconds(m.CPUTicks) }

func (rs *Results) ticksToSeconds(ticks int64) float64 {
	tck, err := strconv.ParseFloat(rs.Meta["clk_tck"], 64)
	if err != nil || tck <= 0 {
		tck = 100 // USER_HZ on every Linux architecture Go supports
	}
	return float64(ticks) / tck
}

// disturbedShare is the share of the proxy's core that other processes may
// take during a measure before its figures are called disturbed.
const disturbedShare = 0.10

// eachMeasurement calls f for every measurement, in table order.
func (rs *Results) eachMeasurement(f func(p ProxyRow, m Measurement)) {
	for _, p := range rs.Proxies {
		for _, measure := range []string{MeasureGet, MeasureConnect, MeasureChallenge} {
			for _, tool := range []string{"wrk", "go"} {
				if m, ok := rs.Measurement(p.ID, measure, tool); ok {
					f(p, m)
				}
			}
		}
	}
}

// Disturbed lists the measurements during which other processes took more
// than a tenth of the proxy's core, or of the load generator's: their
// figures say less about the proxy than they seem to.
func (rs *Results) Disturbed() []string {
	var out []string
	rs.eachMeasurement(func(p ProxyRow, m Measurement) {
		if o := rs.OthersBusy(m); o > disturbedShare {
			out = append(out, fmt.Sprintf("%s %s (%s): other processes took %.0f %% of the proxy's core", p.Label, m.Measure, m.Tool, 100*o))
		}
		if o := rs.OthersOnClient(m); o > disturbedShare {
			out = append(out, fmt.Sprintf("%s %s (%s): other processes took %.0f %% of the load generator's core", p.Label, m.Measure, m.Tool, 100*o))
		}
	})
	return out
}

// Problems lists the measurements whose figures cannot be trusted: any
// answer with an unexpected status, or more than one request in a thousand
// failing below HTTP.
func (rs *Results) Problems() []string {
	var out []string
	rs.eachMeasurement(func(p ProxyRow, m Measurement) {
		name := fmt.Sprintf("%s %s (%s)", p.Label, m.Measure, m.Tool)
		switch {
		case m.Requests == 0:
			out = append(out, name+": no request answered as expected")
		case m.Unexpected > 0:
			out = append(out, fmt.Sprintf("%s: %d answers with an unexpected status", name, m.Unexpected))
		}
		if m.Requests > 0 && m.Errors*1000 > m.Requests {
			out = append(out, fmt.Sprintf("%s: %d connection errors for %d requests", name, m.Errors, m.Requests))
		}
	})
	return out
}
