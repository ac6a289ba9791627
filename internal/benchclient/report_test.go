package benchclient

import (
	"strings"
	"testing"
)

const sampleResults = "kind=meta\tdate=2026-01-02 03:04 UTC\tnproc=2\tcpu=Test CPU\tkernel=6.1\tclk_tck=100\n" +
	"kind=meta\tcommand=BENCH_DURATION=10 bench/run.sh\tversions=go1.26\tloadavg=0.1 0.2 0.3\n" +
	"kind=meta\tconnections=32\tduration=10\twarmup=2\tpinning=proxy on CPU 0\tclient_cores=1\n" +
	"kind=proxy\tid=base\tlabel=Baseline\trole=baseline\tauth=none\tget_tool=wrk\n" +
	// 20,000 req/s; 1000 ticks = 10 s of CPU over 200,000 requests = 50 µs each.
	"kind=measure\tid=base\tmeasure=get\ttool=wrk\trequests=200000\tseconds=10.000\tp50_us=1500\tp99_us=3000\tunexpected=0\terrors=0\trechallenges=0\treconnects=0\tinterval_us=10100000\tcpu_ticks=1000\tcore_cpus=1\tcore_idle_ticks=0\tclient_ticks=808\tclient_core_cpus=1\tclient_core_idle_ticks=101\n" +
	"kind=measure\tid=base\tmeasure=connect\ttool=go\trequests=20000\tseconds=10.000\tp50_us=9000\tp99_us=20000\tunexpected=0\terrors=0\trechallenges=0\treconnects=0\tinterval_us=10000000\tcpu_ticks=800\tcore_cpus=1\tcore_idle_ticks=150\n" +
	"kind=memory\tid=base\tpeak_kib=40960\tprocesses=1\n" +
	"kind=proxy\tid=pa\tlabel=proxy_auth Basic\trole=proxy_auth\tauth=basic\tget_tool=wrk\n" +
	// 19,600 req/s (0.98×); 1000 ticks over 196,000 = 51.02 µs: +1.02 µs.
	"kind=measure\tid=pa\tmeasure=get\ttool=wrk\trequests=196000\tseconds=10.000\tp50_us=1550\tp99_us=3400\tunexpected=0\terrors=0\trechallenges=0\treconnects=0\tinterval_us=10000000\tcpu_ticks=1000\tcore_cpus=1\tcore_idle_ticks=0\n" +
	"kind=measure\tid=pa\tmeasure=connect\ttool=go\trequests=19000\tseconds=10.000\tp50_us=9100\tp99_us=22000\tunexpected=0\terrors=0\trechallenges=0\treconnects=0\tinterval_us=10000000\tcpu_ticks=800\tcore_cpus=1\tcore_idle_ticks=200\n" +
	"kind=measure\tid=pa\tmeasure=challenge\ttool=wrk\trequests=300000\tseconds=10.000\tp50_us=900\tp99_us=2000\tunexpected=0\terrors=0\trechallenges=0\treconnects=0\tinterval_us=10000000\tcpu_ticks=1000\tcore_cpus=1\tcore_idle_ticks=0\n" +
	"kind=memory\tid=pa\tpeak_kib=45056\tprocesses=1\n" +
	"kind=proxy\tid=sq\tlabel=Squid\trole=squid\tauth=basic\tget_tool=wrk\n" +
	"kind=measure\tid=sq\tmeasure=get\ttool=wrk\trequests=100000\tseconds=10.000\tp50_us=3000\tp99_us=6000\tunexpected=0\terrors=0\trechallenges=0\treconnects=0\tinterval_us=10000000\tcpu_ticks=1000\tcore_cpus=1\tcore_idle_ticks=0\n" +
	"kind=measure\tid=sq\tmeasure=connect\ttool=go\trequests=10000\tseconds=10.000\tp50_us=9000\tp99_us=20000\tunexpected=0\terrors=0\trechallenges=0\treconnects=0\tinterval_us=10000000\tcpu_ticks=800\tcore_cpus=1\tcore_idle_ticks=200\n" +
	"kind=measure\tid=sq\tmeasure=challenge\ttool=wrk\trequests=400000\tseconds=10.000\tp50_us=900\tp99_us=2000\tunexpected=0\terrors=0\trechallenges=0\treconnects=0\tinterval_us=10000000\tcpu_ticks=1000\tcore_cpus=1\tcore_idle_ticks=0\n" +
	"kind=memory\tid=sq\tpeak_kib=20480\tprocesses=2\n" +
	"kind=proxy\tid=tp\tlabel=tinyproxy\trole=other\tauth=basic\tget_tool=wrk\n" +
	"kind=measure\tid=tp\tmeasure=get\ttool=wrk\trequests=30000\tseconds=10.000\tp50_us=9000\tp99_us=30000\tunexpected=5\terrors=100\trechallenges=0\treconnects=30000\tinterval_us=10000000\tcpu_ticks=1000\tcore_cpus=1\tcore_idle_ticks=0\n"

func parseSample(t *testing.T) *Results {
	t.Helper()
	rs, err := ParseResults(strings.NewReader(sampleResults))
	if err != nil {
		t.Fatal(err)
	}
	return rs
}

func TestReportFiguresAndRatios(t *testing.T) {
	rs := parseSample(t)
	md := rs.Markdown()
	for _, want := range []string{
		"`nproc` = 2, Test CPU, Linux 6.1",
		"```sh\nBENCH_DURATION=10 bench/run.sh\n```",
		// Absolute figures, then (× baseline / × Squid).
		"| Baseline | 20,000 (1.00 / 2.00) | 1.50 ms (1.00 / 0.50) | 3.00 ms (1.00 / 0.50) | 2,000 (1.00 / 2.00) | 20.00 ms (1.00 / 1.00) | – | 40.0 MiB (1.00 / 2.00) |",
		"| proxy_auth Basic | 19,600 (0.98 / 1.96) |",
		"30,000 (– / 0.75)",                     // proxy_auth's 407s against Squid's 40,000
		"20.0 MiB in 2 processes (0.50 / 1.00)", // Squid with its helper
		"| Baseline | 50.0 µs (proxy 99 %, others 1 %; client core 90 %, others 10 %) | 400.0 µs (proxy 80 %, others 5 %) | – |",
		"| proxy_auth Basic: GET req/s ≥ 0.97× baseline | 0.980× | met |",
		"| proxy_auth Basic: added proxy CPU per authenticated GET < 2 µs | +1.02 µs over the baseline's 50.0 µs per GET (wrk) | met |",
		"| proxy_auth Basic: added GET p99 < 1 ms | +0.40 ms | met |",
		"| proxy_auth Basic: added CONNECT p99 < 1 ms | +2.00 ms | **missed** |",
		"| proxy_auth Basic: 407s/s ≥ Squid's | 0.750× | **missed** |",
		"- tinyproxy get (wrk): 5 answers with an unexpected status",
		"- tinyproxy get (wrk): 100 connection errors for 30000 requests",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("report lacks %q\n%s", want, md)
		}
	}
	if d := rs.Disturbed(); len(d) != 0 {
		t.Errorf("Disturbed = %q; others took at most 5 %% in the sample", d)
	}
	if len(rs.Problems()) != 2 {
		t.Errorf("Problems = %q, want tinyproxy's two", rs.Problems())
	}
}

func TestReportDigestRowComparesWithSameTool(t *testing.T) {
	extra := "kind=measure\tid=base\tmeasure=get\ttool=go\trequests=150000\tseconds=10.000\tp50_us=2000\tp99_us=4000\tunexpected=0\terrors=0\tcpu_ticks=1000\n" +
		"kind=proxy\tid=dg\tlabel=proxy_auth Digest\trole=proxy_auth\tauth=digest\tget_tool=go\n" +
		"kind=measure\tid=dg\tmeasure=get\ttool=go\trequests=141000\tseconds=10.000\tp50_us=2100\tp99_us=4300\tunexpected=0\terrors=0\trechallenges=32\tcpu_ticks=1000\n"
	rs, err := ParseResults(strings.NewReader(sampleResults + extra))
	if err != nil {
		t.Fatal(err)
	}
	md := rs.Markdown()
	for _, want := range []string{
		// 14,100 against the baseline's 15,000 from the Go client, not wrk's
		// 20,000; Squid was not measured with the Go client.
		"| proxy_auth Digest (GET by the Go client) | 14,100 (0.94 / –) |",
		"| proxy_auth Digest: GET req/s ≥ 0.95× baseline | 0.940× | **missed** |",
		"| proxy_auth Digest: added proxy CPU per authenticated GET | +4.26 µs over the baseline's 66.7 µs per GET (go) |  |",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("report lacks %q\n%s", want, md)
		}
	}
}

func TestReportHandlerShareFromProfile(t *testing.T) {
	// The same Basic row with a profile: 30 of 1000 samples in proxy_auth's
	// code, 3 % of 51.02 µs = 1.53 µs. The difference from the baseline
	// (+1.02 µs) is shown beside it, but the profile's figure decides.
	profiled := strings.Replace(sampleResults,
		"tool=wrk\trequests=196000\tseconds=10.000\tp50_us=1550\tp99_us=3400\tunexpected=0\terrors=0\trechallenges=0\treconnects=0\tinterval_us=10000000\tcpu_ticks=1000\tcore_cpus=1\tcore_idle_ticks=0",
		"tool=wrk\trequests=196000\tseconds=10.000\tp50_us=1550\tp99_us=3400\tunexpected=0\terrors=0\trechallenges=0\treconnects=0\tinterval_us=10000000\tcpu_ticks=1000\tcore_cpus=1\tcore_idle_ticks=0\thandler_samples=30\tprofile_samples=1000", 1)
	if profiled == sampleResults {
		t.Fatal("the sample's Basic GET record was not found")
	}
	check := func(results string, wants ...string) {
		t.Helper()
		rs, err := ParseResults(strings.NewReader(results))
		if err != nil {
			t.Fatal(err)
		}
		md := rs.Markdown()
		for _, want := range wants {
			if !strings.Contains(md, want) {
				t.Errorf("report lacks %q\n%s", want, md)
			}
		}
	}
	check(profiled,
		"| proxy_auth Basic | 51.0 µs (proxy 100 %, others 0 %; in proxy_auth's code 1.5 µs, 3.0 % of 1000 profile samples) |",
		"| proxy_auth Basic: added proxy CPU per authenticated GET < 2 µs | 1.53 µs in proxy_auth's code (profile); +1.02 µs over the baseline's 50.0 µs per GET (wrk) | met |")

	// 50 samples of 1000: 2.55 µs, missed, though the difference says +1.02.
	check(strings.Replace(profiled, "handler_samples=30", "handler_samples=50", 1),
		"| proxy_auth Basic: added proxy CPU per authenticated GET < 2 µs | 2.55 µs in proxy_auth's code (profile); +1.02 µs over the baseline's 50.0 µs per GET (wrk) | **missed** |")
}

func TestReportFlagsDisturbedMeasures(t *testing.T) {
	// Others took 300 of the proxy's core's 1300 ticks (23 %), and 650 of
	// the load generator's 1300 (50 %).
	extra := "kind=proxy\tid=x\tlabel=Busy\trole=other\tauth=basic\tget_tool=wrk\n" +
		"kind=measure\tid=x\tmeasure=get\ttool=wrk\trequests=1000\tseconds=10.000\tp50_us=1\tp99_us=1\tunexpected=0\terrors=0\t" +
		"interval_us=13000000\tcpu_ticks=1000\tcore_cpus=1\tcore_idle_ticks=0\tclient_ticks=650\tclient_core_cpus=1\tclient_core_idle_ticks=0\n"
	rs, err := ParseResults(strings.NewReader(sampleResults + extra))
	if err != nil {
		t.Fatal(err)
	}
	d := rs.Disturbed()
	if len(d) != 2 || !strings.Contains(d[0], "Busy get (wrk): other processes took 23 % of the proxy's core") ||
		!strings.Contains(d[1], "Busy get (wrk): other processes took 50 % of the load generator's core") {
		t.Errorf("Disturbed = %q", d)
	}
	md := rs.Markdown()
	if !strings.Contains(md, "**Disturbed measures**") || !strings.Contains(md, "(proxy 77 %, others 23 %; client core 100 %, others 50 %)") {
		t.Errorf("report does not show the disturbance:\n%s", md)
	}
}

func TestParseResultsRejects(t *testing.T) {
	for _, bad := range []string{
		"kind=measure\tid=a\tmeasure=get\ttool=wrk\trequests=x\tseconds=1\tp50_us=1\tp99_us=1\tunexpected=0\terrors=0\tcpu_ticks=0",
		"kind=measure\tid=a\tmeasure=get\ttool=wrk\trequests=1\tseconds=soon\tp50_us=1\tp99_us=1\tunexpected=0\terrors=0\tcpu_ticks=0",
		"kind=proxy\tlabel=no id",
		"kind=measure\tid=a\tmeasure=get\ttool=wrk\trequests=1\tseconds=1\tp50_us=1\tp99_us=1\tunexpected=0\terrors=0\tcpu_ticks=0\thandler_samples=11\tprofile_samples=10",
		"kind=bogus",
		"not key value",
		"kind=memory\tid=a\tpeak_kib=lots",
	} {
		if _, err := ParseResults(strings.NewReader("kind=meta\ta=b\n" + bad + "\n")); err == nil || !strings.Contains(err.Error(), "line 2") {
			t.Errorf("ParseResults(%q) error = %v, want one naming line 2", bad, err)
		}
	}
}

func TestReplaceSection(t *testing.T) {
	got, err := ReplaceSection("# Benchmarks\n\nHand-written text.", "table 1\n")
	if err != nil {
		t.Fatal(err)
	}
	want := "# Benchmarks\n\nHand-written text.\n\n" + SectionBegin + "\ntable 1\n" + SectionEnd + "\n"
	if got != want {
		t.Fatalf("appending:\n got %q\nwant %q", got, want)
	}

	doc := "before\n" + SectionBegin + "\nold table\n" + SectionEnd + "\nafter\n"
	got, err = ReplaceSection(doc, "new table")
	if err != nil {
		t.Fatal(err)
	}
	if want := "before\n" + SectionBegin + "\nnew table\n" + SectionEnd + "\nafter\n"; got != want {
		t.Fatalf("replacing:\n got %q\nwant %q", got, want)
	}
	again, _ := ReplaceSection(got, "new table")
	if again != got {
		t.Errorf("replacing twice with the same section changed the doc")
	}

	for _, broken := range []string{
		SectionEnd + "\n" + SectionBegin + "\n",
		SectionBegin + "\nno end\n",
		SectionBegin + SectionEnd + SectionBegin + SectionEnd,
	} {
		if _, err := ReplaceSection(broken, "x"); err == nil {
			t.Errorf("ReplaceSection accepted broken markers in %q", broken)
		}
	}
}

func TestFormatRate(t *testing.T) {
	for v, want := range map[float64]string{0: "0", 999.4: "999", 1000: "1,000", 1234567.6: "1,234,568"} {
		if got := formatRate(v); got != want {
			t.Errorf("formatRate(%v) = %q, want %q", v, got, want)
		}
	}
}
