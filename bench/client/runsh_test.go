package main

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// TestBenchCommandIsPasteable checks the command bench/run.sh writes into
// docs/benchmarks.md: pasted into a shell, it must set every setting to
// exactly the value the run had, spaces, quotes and all.
func TestBenchCommandIsPasteable(t *testing.T) {
	settings := map[string]string{
		"BENCH_PROXIES":   "caddy-none caddy-basic",
		"BENCH_DOC":       "",
		"BENCH_DURATION":  "5",
		"BENCH_PPROF_DIR": "/tmp/it's a \"dir\" with $HOME and `date`",
	}
	cmd := exec.Command("bash", "-c", `source ../run.sh && bench_command`)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "BENCH_TARGET=not a setting"}
	for k, v := range settings {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("bench_command: %v", err)
	}
	line := strings.TrimSuffix(string(out), "\n")
	want := "BENCH_DOC='' BENCH_DURATION=5 BENCH_PPROF_DIR='/tmp/it'\\''s a \"dir\" with $HOME and `date`' BENCH_PROXIES='caddy-none caddy-basic' bench/run.sh"
	if line != want {
		t.Errorf("bench_command printed\n%s\nwant\n%s", line, want)
	}

	// Pasted into a clean shell, with env in place of the script, it sets
	// the same values and nothing else.
	assignments, ok := strings.CutSuffix(line, " bench/run.sh")
	if !ok {
		t.Fatalf("%q does not end in bench/run.sh", line)
	}
	paste := exec.Command("bash", "-c", assignments+" env -0")
	paste.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=/home/someone"}
	env, err := paste.Output()
	if err != nil {
		t.Fatalf("pasting %q: %v", assignments, err)
	}
	got := make(map[string]string)
	for kv := range strings.SplitSeq(strings.TrimSuffix(string(env), "\x00"), "\x00") {
		if k, v, _ := strings.Cut(kv, "="); strings.HasPrefix(k, "BENCH_") {
			got[k] = v
		}
	}
	if len(got) != len(settings) {
		t.Errorf("pasted command set %d BENCH_ variables, want %d: %q", len(got), len(settings), got)
	}
	for k, v := range settings {
		if got[k] != v {
			t.Errorf("pasted command set %s=%q, want %q", k, got[k], v)
		}
	}
}

// TestBenchCommandWithoutSettings is the default run's command.
func TestBenchCommandWithoutSettings(t *testing.T) {
	cmd := exec.Command("bash", "-c", `source ../run.sh && bench_command`)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH")}
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("bench_command: %v", err)
	}
	if string(out) != "bench/run.sh\n" {
		t.Errorf("bench_command printed %q, want %q", out, "bench/run.sh\n")
	}
}
