package benchclient

import (
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

// fakeProc writes a /proc-like tree: pid -> (ppid, utime, stime, VmHWM kB).
func fakeProc(t *testing.T, procs map[int][4]int, stat string) string {
	t.Helper()
	root := t.TempDir()
	for pid, p := range procs {
		dir := filepath.Join(root, strconv.Itoa(pid))
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		line := strconv.Itoa(pid) + " (p " + strconv.Itoa(pid) + ") S " + strconv.Itoa(p[0]) +
			" 1 1 0 -1 0 0 0 0 0 " + strconv.Itoa(p[1]) + " " + strconv.Itoa(p[2]) + " 0 0 20 0 1 0 1 1 1\n"
		writeTestFile(t, filepath.Join(dir, "stat"), line)
		writeTestFile(t, filepath.Join(dir, "status"), "Name:\tp\nVmPeak:\t  99999 kB\nVmHWM:\t  "+strconv.Itoa(p[3])+" kB\nVmRSS:\t 1 kB\n")
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
	root := fakeProc(t, map[int][4]int{
		1:   {0, 5, 5, 1000},
		100: {1, 300, 200, 30000}, // squid
		101: {100, 10, 5, 2000},   // its helper
		102: {101, 1, 1, 500},     // the helper's child
		200: {1, 999, 999, 99999}, // unrelated
	}, "")
	u, err := ReadProcUsage(root, 100)
	if err != nil {
		t.Fatal(err)
	}
	if u.Processes != 3 || u.CPUTicks != 517 || u.PeakKiB != 32500 {
		t.Errorf("ReadProcUsage = %+v, want 3 processes, 517 ticks, 32500 KiB", u)
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

func TestReadCoreBusyTicks(t *testing.T) {
	root := fakeProc(t, nil, "cpu  9 9 9 9 9 9 9 9 0 0\ncpu0 10 1 20 5000 7 2 3 4 0 0\ncpu1 100 0 0 0 0 0 0 0 0 0\n")
	busy, err := ReadCoreBusyTicks(root, 0)
	if err != nil {
		t.Fatal(err)
	}
	if busy != 35 { // user 10 + nice 1 + system 20 + steal 4; idle, iowait, irq and softirq not
		t.Errorf("cpu0 busy = %d, want 35", busy)
	}
	if _, err := ReadCoreBusyTicks(root, 7); err == nil {
		t.Error("ReadCoreBusyTicks of a missing CPU succeeded")
	}
	if _, err := ReadCoreBusyTicks("/proc", 0); err != nil {
		t.Errorf("real /proc/stat: %v", err)
	}
}
