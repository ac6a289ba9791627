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
	stats, err := readAllStats(procRoot)
	if err != nil {
		return ProcUsage{}, err
	}
	if _, ok := stats[pid]; !ok {
		return ProcUsage{}, fmt.Errorf("process %d not found in %s", pid, procRoot)
	}
	children := make(map[int][]int)
	for p, s := range stats {
		children[s.ppid] = append(children[s.ppid], p)
	}
	var u ProcUsage
	queue := []int{pid}
	for len(queue) > 0 {
		p := queue[0]
		queue = queue[1:]
		s := stats[p]
		u.Processes++
		u.CPUTicks += s.utime + s.stime + s.cutime + s.cstime
		// A process that exited between the two reads adds no memory.
		if hwm, err := readPeakKiB(filepath.Join(procRoot, strconv.Itoa(p), "status")); err == nil {
			u.PeakKiB += hwm
		}
		queue = append(queue, children[p]...)
	}
	return u, nil
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

// ReadCoreBusyTicks returns the clock ticks CPU number cpu has spent running
// processes (user, nice, system) or lost to the hypervisor (steal) since
// boot, from procRoot/stat. Against a pinned proxy's own ticks, it tells how
// much of the proxy's core other processes took during a measure. Interrupt
// time is left out: it is mostly the benchmark's own loopback traffic, which
// the kernel charges to no process.
func ReadCoreBusyTicks(procRoot string, cpu int) (uint64, error) {
	b, err := os.ReadFile(filepath.Join(procRoot, "stat"))
	if err != nil {
		return 0, err
	}
	prefix := "cpu" + strconv.Itoa(cpu) + " "
	for line := range strings.SplitSeq(string(b), "\n") {
		if !strings.HasPrefix(line, prefix) {
			continue
		}
		f := strings.Fields(line)
		if len(f) < 9 {
			return 0, fmt.Errorf("%s/stat: short line %q", procRoot, line)
		}
		var busy uint64
		// user nice system idle iowait irq softirq steal
		for _, i := range []int{1, 2, 3, 8} {
			n, err := strconv.ParseUint(f[i], 10, 64)
			if err != nil {
				return 0, fmt.Errorf("%s/stat: malformed %q", procRoot, line)
			}
			busy += n
		}
		return busy, nil
	}
	return 0, fmt.Errorf("%s/stat: no line for CPU %d", procRoot, cpu)
}
