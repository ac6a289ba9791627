package benchclient

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// ProcUsage is what Linux counts for a process and its descendants: CPU
// time in clock ticks (user + system, all threads) and peak resident
// memory (VmHWM).
type ProcUsage struct {
	Processes int
	CPUTicks  uint64
	PeakKiB   uint64
}

// ReadProcUsage sums the usage of pid and every process descended from it
// (Squid's authentication helpers, for instance), read from procRoot
// (normally "/proc").
func ReadProcUsage(procRoot string, pid int) (ProcUsage, error) {
	snap, err := readProcSnapshot(procRoot)
	if err != nil {
		return ProcUsage{}, err
	}
	tree, err := snap.tree(pid, nil)
	if err != nil {
		return ProcUsage{}, err
	}
	u := ProcUsage{Processes: len(tree), CPUTicks: snap.cpuTicks(tree)}
	for _, p := range tree {
		// A process that exited between the two reads adds no memory.
		if hwm, err := readPeakKiB(filepath.Join(procRoot, strconv.Itoa(p), "status")); err == nil {
			u.PeakKiB += hwm
		}
	}
	return u, nil
}

// procSnapshot is every process's /proc/<pid>/stat, read in one pass, so
// that figures taken from it describe one moment.
type procSnapshot struct {
	root     string
	stats    map[int]procStat
	children map[int][]int
}

func readProcSnapshot(procRoot string) (*procSnapshot, error) {
	stats, err := readAllStats(procRoot)
	if err != nil {
		return nil, err
	}
	children := make(map[int][]int)
	for p, s := range stats {
		children[s.ppid] = append(children[s.ppid], p)
	}
	return &procSnapshot{root: procRoot, stats: stats, children: children}, nil
}

// tree lists pid and its descendants, leaving out the subtree of every pid
// in skip.
func (snap *procSnapshot) tree(pid int, skip []int) ([]int, error) {
	if _, ok := snap.stats[pid]; !ok {
		return nil, fmt.Errorf("process %d not found in %s", pid, snap.root)
	}
	skipped := make(map[int]bool, len(skip))
	for _, p := range skip {
		skipped[p] = true
	}
	var tree []int
	queue := []int{pid}
	for len(queue) > 0 {
		p := queue[0]
		queue = queue[1:]
		if skipped[p] {
			continue
		}
		tree = append(tree, p)
		queue = append(queue, snap.children[p]...)
	}
	return tree, nil
}

// cpuTicks sums the CPU time of pids. A process's ticks include those of
// its children that have exited and been waited for (cutime, cstime), so a
// load generator that has come and gone still counts in the shell that ran
// it.
func (snap *procSnapshot) cpuTicks(pids []int) uint64 {
	var ticks uint64
	for _, p := range pids {
		s := snap.stats[p]
		ticks += s.utime + s.stime + s.cutime + s.cstime
	}
	return ticks
}

type procStat struct {
	ppid int
	// utime and stime are the process's own CPU ticks; cutime and cstime
	// those of its children that have exited and been waited for.
	utime, stime, cutime, cstime uint64
}

func readAllStats(procRoot string) (map[int]procStat, error) {
	entries, err := os.ReadDir(procRoot)
	if err != nil {
		return nil, err
	}
	stats := make(map[int]procStat)
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join(procRoot, e.Name(), "stat"))
		if err != nil {
			continue // exited meanwhile
		}
		s, err := parseProcStat(string(b))
		if err != nil {
			return nil, fmt.Errorf("%s/%d/stat: %w", procRoot, pid, err)
		}
		stats[pid] = s
	}
	return stats, nil
}

// parseProcStat reads ppid, utime and stime from a /proc/<pid>/stat line
// (proc(5)). The command name in parentheses may itself hold spaces and
// parentheses, so fields are counted from the last ')'.
func parseProcStat(line string) (procStat, error) {
	end := strings.LastIndexByte(line, ')')
	if end < 0 {
		return procStat{}, fmt.Errorf("no command name in %q", line)
	}
	// After "pid (comm) ": field 3 is state, 4 ppid, ..., 14 utime,
	// 15 stime, 16 cutime, 17 cstime.
	f := strings.Fields(line[end+1:])
	if len(f) < 15 {
		return procStat{}, fmt.Errorf("too few fields in %q", line)
	}
	ppid, err := strconv.Atoi(f[1])
	if err != nil {
		return procStat{}, fmt.Errorf("malformed ppid in %q", line)
	}
	var ticks [4]uint64
	for i := range ticks {
		n, err := strconv.ParseInt(f[11+i], 10, 64)
		if err != nil || n < 0 {
			return procStat{}, fmt.Errorf("malformed CPU times in %q", line)
		}
		ticks[i] = uint64(n)
	}
	return procStat{ppid: ppid, utime: ticks[0], stime: ticks[1], cutime: ticks[2], cstime: ticks[3]}, nil
}

// readPeakKiB reads VmHWM, the peak resident set size, from a status file.
func readPeakKiB(path string) (uint64, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		rest, ok := strings.CutPrefix(line, "VmHWM:")
		if !ok {
			continue
		}
		num, ok := strings.CutSuffix(strings.TrimSpace(rest), " kB")
		if !ok {
			return 0, fmt.Errorf("%s: VmHWM not in kB: %q", path, line)
		}
		return strconv.ParseUint(strings.TrimSpace(num), 10, 64)
	}
	return 0, fmt.Errorf("%s: no VmHWM line", path)
}

// ReadIdleTicks sums the idle and iowait ticks of the given CPUs since
// boot, from procRoot/stat. A CPU line reads (proc(5)): user nice system
// idle iowait irq softirq steal guest guest_nice.
//
// Only idle and iowait are used, because only they are exact: with a
// tickless idle kernel (NO_HZ_IDLE, as on this machine) the kernel
// measures them from the clock when a CPU enters and leaves idle, while
// user, system, irq and softirq are sampled on each timer tick, and a
// CPU that runs for less than a tick between idle spells is often not
// sampled at all. A proxy is such a load: measured against it, the busy
// fields fell up to a quarter short of what the proxy's own exact CPU
// time (/proc/<pid>/stat) says it used. How busy the CPUs were is
// therefore the interval, from the clock, less their idle time.
func ReadIdleTicks(procRoot string, cpus []int) (uint64, error) {
	lines, err := readCPULines(procRoot)
	if err != nil {
		return 0, err
	}
	return lines.idleTicks(cpus)
}

// cpuLines are the per-CPU lines of one read of /proc/stat: the fields
// after the name, by name ("cpu0", "cpu1", ...).
type cpuLines struct {
	root  string
	lines map[string][]string
}

func readCPULines(procRoot string) (cpuLines, error) {
	b, err := os.ReadFile(filepath.Join(procRoot, "stat"))
	if err != nil {
		return cpuLines{}, err
	}
	lines := make(map[string][]string)
	for line := range strings.SplitSeq(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) > 0 && strings.HasPrefix(f[0], "cpu") && f[0] != "cpu" {
			lines[f[0]] = f[1:]
		}
	}
	return cpuLines{root: procRoot, lines: lines}, nil
}

// idleTicks sums the idle and iowait ticks of cpus (see ReadIdleTicks).
func (c cpuLines) idleTicks(cpus []int) (uint64, error) {
	var idle uint64
	for _, cpu := range cpus {
		f, ok := c.lines["cpu"+strconv.Itoa(cpu)]
		if !ok {
			return 0, fmt.Errorf("%s/stat: no line for CPU %d", c.root, cpu)
		}
		if len(f) < 5 {
			return 0, fmt.Errorf("%s/stat: CPU %d: %d fields, want at least 5 (user to iowait)", c.root, cpu, len(f))
		}
		for _, field := range f[3:5] { // idle, iowait
			n, err := strconv.ParseUint(field, 10, 64)
			if err != nil {
				return 0, fmt.Errorf("%s/stat: CPU %d: malformed field %q", c.root, cpu, field)
			}
			idle += n
		}
	}
	return idle, nil
}
