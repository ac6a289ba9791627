package benchclient

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"
)

func TestParseProcStat(t *testing.T) {
	// The command name may hold spaces and parentheses; fields are counted
	// from the last ')'.
	line := "4242 (squid (kid) x) S 17 4242 4242 0 -1 4194560 1000 0 0 0 125 37 9 4 20 0 1 0 100 1000 500\n"
	s, err := parseProcStat(line)
	if err != nil {
		t.Fatal(err)
	}
	if s.ppid != 17 || s.utime != 125 || s.stime != 37 || s.cutime != 9 || s.cstime != 4 {
		t.Errorf("parseProcStat = %+v, want ppid 17, utime 125, stime 37, cutime 9, cstime 4", s)
	}
	for _, bad := range []string{"4242 no parens S 1", "1 (x) S 1 2 3", "1 (x) S one 1 1 0 -1 0 0 0 0 0 1 1 0 0"} {
		if _, err := parseProcStat(bad); err == nil {
			t.Errorf("parseProcStat(%q) accepted", bad)
		}
	}
}

// fakeProcess is one /proc/<pid> entry of a fake /proc.
type fakeProcess struct {
	ppid                         int
	utime, stime, cutime, cstime int // clock ticks
	hwmKiB                       int
}

// fakeProc writes a /proc-like tree: a stat and a status file per process,
// and stat, the per-CPU counters.
func fakeProc(t *testing.T, procs map[int]fakeProcess, stat string) string {
	t.Helper()
	root := t.TempDir()
	for pid, p := range procs {
		dir := filepath.Join(root, strconv.Itoa(pid))
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		line := fmt.Sprintf("%d (p %d) S %d 1 1 0 -1 0 0 0 0 0 %d %d %d %d 20 0 1 0 1 1 1\n",
			pid, pid, p.ppid, p.utime, p.stime, p.cutime, p.cstime)
		writeTestFile(t, filepath.Join(dir, "stat"), line)
		writeTestFile(t, filepath.Join(dir, "status"), fmt.Sprintf("Name:\tp\nVmPeak:\t  99999 kB\nVmHWM:\t  %d kB\nVmRSS:\t 1 kB\n", p.hwmKiB))
	}
	writeTestFile(t, filepath.Join(root, "stat"), stat)
	os.MkdirAll(filepath.Join(root, "self"), 0o755) // not a pid: skipped
	return root
}

func writeTestFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestReadProcUsageSumsDescendants(t *testing.T) {
	root := fakeProc(t, map[int]fakeProcess{
		1:   {ppid: 0, utime: 5, stime: 5, hwmKiB: 1000},
		100: {ppid: 1, utime: 300, stime: 200, cutime: 7, cstime: 3, hwmKiB: 30000}, // squid, a helper reaped
		101: {ppid: 100, utime: 10, stime: 5, hwmKiB: 2000},                         // its helper
		102: {ppid: 101, utime: 1, stime: 1, hwmKiB: 500},                           // the helper's child
		200: {ppid: 1, utime: 999, stime: 999, hwmKiB: 99999},                       // unrelated
	}, "")
	u, err := ReadProcUsage(root, 100)
	if err != nil {
		t.Fatal(err)
	}
	if u.Processes != 3 || u.CPUTicks != 527 || u.PeakKiB != 32500 {
		t.Errorf("ReadProcUsage = %+v, want 3 processes, 527 ticks, 32500 KiB", u)
	}
	if _, err := ReadProcUsage(root, 555); err == nil {
		t.Error("ReadProcUsage of a missing pid succeeded")
	}
}

func TestReadProcUsageOfThisProcess(t *testing.T) {
	u, err := ReadProcUsage("/proc", os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if u.Processes < 1 || u.PeakKiB < 1000 {
		t.Errorf("this test process: %+v; want itself counted and a peak RSS over 1 MiB", u)
	}
}

func TestReadIdleTicks(t *testing.T) {
	//            user nice system idle iowait irq softirq steal guest guest_nice
	stat := "cpu  9 9 9 9 9 9 9 9 0 0\n" +
		"cpu0 10 1 20 5000 7 2 3 4 6 0\n" +
		"cpu1 100 0 0 30 0 0 0 0 0 0\n" +
		"cpu10 1000 0 0 700000 0 0 0 0 0 0\n" +
		"intr 12345 0 0\n"
	root := fakeProc(t, nil, stat)
	if idle, err := ReadIdleTicks(root, []int{0}); err != nil || idle != 5007 { // idle + iowait
		t.Errorf("cpu0 idle = %d, %v; want 5007", idle, err)
	}
	// Several CPUs add up; cpu1 is not cpu10.
	if idle, err := ReadIdleTicks(root, []int{0, 1}); err != nil || idle != 5037 {
		t.Errorf("cpu0,1 idle = %d, %v; want 5037", idle, err)
	}
	if _, err := ReadIdleTicks(root, []int{7}); err == nil {
		t.Error("ReadIdleTicks of a missing CPU succeeded")
	}
	for _, bad := range []string{"cpu0 1 2 3 4\n", "cpu0 1 2 3 x 5 6 7 8\n"} {
		if _, err := ReadIdleTicks(fakeProc(t, nil, bad), []int{0}); err == nil {
			t.Errorf("ReadIdleTicks accepted %q", bad)
		}
	}
	if _, err := ReadIdleTicks("/proc", []int{0}); err != nil {
		t.Errorf("real /proc/stat: %v", err)
	}
}
