// Command client is bench/run.sh's helper: the local origin, the Go load
// client (CONNECT tunnels, and Digest, which wrk cannot speak), process
// accounting and the report. See docs/benchmarks.md.
//
//	client ports N
//	client origin -cert FILE -ready FILE
//	client check  -proxy HOST:PORT -get URL -connect HOST:PORT -cacert FILE [-auth MODE ...]
//	client load   -proxy HOST:PORT (-get URL | -connect HOST:PORT) [-auth MODE ...] [-expect 200]
//	client usage  -pid N [-cpu LIST -client-cpus LIST -tree PID -skip LIST (-save FILE | -since FILE)]
//	client pprof  -admin HOST:PORT -seconds N -out FILE
//	client report -results FILE [-doc docs/benchmarks.md]
package main

import (
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/caddy-proxyauth/proxyauth/internal/benchclient"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: client ports|origin|check|load|usage|report [flags]")
		os.Exit(2)
	}
	commands := map[string]func([]string) error{
		"ports":  ports,
		"origin": origin,
		"check":  check,
		"load":   load,
		"usage":  usage,
		"pprof":  pprof,
		"report": report,
	}
	cmd, ok := commands[os.Args[1]]
	if !ok {
		fmt.Fprintf(os.Stderr, "client: unknown command %q\n", os.Args[1])
		os.Exit(2)
	}
	if err := cmd(os.Args[2:]); err != nil {
		fmt.Fprintf(os.Stderr, "client %s: %v\n", os.Args[1], err)
		os.Exit(1)
	}
}

func ports(args []string) error {
	if len(args) != 1 {
		return errors.New("usage: client ports N")
	}
	n, err := strconv.Atoi(args[0])
	if err != nil || n < 1 {
		return fmt.Errorf("N must be a positive number, got %q", args[0])
	}
	ps, err := benchclient.FreePorts(n)
	if err != nil {
		return err
	}
	strs := make([]string, len(ps))
	for i, p := range ps {
		strs[i] = strconv.Itoa(p)
	}
	fmt.Println(strings.Join(strs, " "))
	return nil
}

// origin serves until SIGINT or SIGTERM. Once listening it writes the
// certificate, then "HTTP_PORT HTTPS_PORT" to the ready file (renamed into
// place, so a reader never sees half of it).
func origin(args []string) error {
	fs := flag.NewFlagSet("origin", flag.ExitOnError)
	httpAddr := fs.String("http", "127.0.0.1:0", "plain HTTP listen address")
	httpsAddr := fs.String("https", "127.0.0.1:0", "HTTPS listen address")
	certFile := fs.String("cert", "", "where to write the HTTPS certificate (PEM)")
	readyFile := fs.String("ready", "", "where to write the two ports once listening")
	fs.Parse(args)
	if *certFile == "" || *readyFile == "" {
		return errors.New("-cert and -ready are required")
	}
	o, err := benchclient.StartOrigin(*httpAddr, *httpsAddr)
	if err != nil {
		return err
	}
	defer o.Close()
	if err := os.WriteFile(*certFile, o.CertPEM, 0o644); err != nil {
		return err
	}
	_, httpPort, _ := net.SplitHostPort(o.HTTPAddr())
	_, httpsPort, _ := net.SplitHostPort(o.HTTPSAddr())
	if err := os.WriteFile(*readyFile+".tmp", []byte(httpPort+" "+httpsPort+"\n"), 0o644); err != nil {
		return err
	}
	if err := os.Rename(*readyFile+".tmp", *readyFile); err != nil {
		return err
	}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	<-sig
	return nil
}

// clientFlags are the flags check and load share.
type clientFlags struct {
	proxy, get, connect, path, cacert string
	auth, user, pass, algorithm       string
	connections                       int
	duration                          time.Duration
	expect                            int
}

func parseClientFlags(name string, args []string) *clientFlags {
	c := new(clientFlags)
	fs := flag.NewFlagSet(name, flag.ExitOnError)
	fs.StringVar(&c.proxy, "proxy", "", "the proxy's host:port")
	fs.StringVar(&c.get, "get", "", "absolute http:// URL to GET through the proxy")
	fs.StringVar(&c.connect, "connect", "", "host:port of the HTTPS origin to tunnel to")
	fs.StringVar(&c.path, "path", "/", "path to GET through each tunnel")
	fs.StringVar(&c.cacert, "cacert", "", "the HTTPS origin's certificate (PEM), for -connect")
	fs.StringVar(&c.auth, "auth", benchclient.AuthNone, "credentials to send: none, basic or digest")
	fs.StringVar(&c.user, "user", "", "user name")
	fs.StringVar(&c.pass, "pass", "", "password")
	fs.StringVar(&c.algorithm, "algorithm", "", "the Digest algorithm to insist on (default: the strongest offered)")
	fs.IntVar(&c.connections, "connections", 32, "concurrent connections")
	fs.DurationVar(&c.duration, "duration", 10*time.Second, "how long to send requests")
	fs.IntVar(&c.expect, "expect", 200, "the status a GET should be answered with")
	fs.Parse(args)
	return c
}

func (c *clientFlags) loadConfig() (benchclient.Load, error) {
	if c.proxy == "" {
		return benchclient.Load{}, errors.New("-proxy is required")
	}
	// Fail on a bad mode now rather than in every worker.
	if _, err := benchclient.NewAuthenticator(c.auth, c.user, c.pass, c.algorithm); err != nil {
		return benchclient.Load{}, err
	}
	return benchclient.Load{
		Proxy:       c.proxy,
		Connections: c.connections,
		Duration:    c.duration,
		NewAuth: func() (benchclient.Authenticator, error) {
			return benchclient.NewAuthenticator(c.auth, c.user, c.pass, c.algorithm)
		},
	}, nil
}

func (c *clientFlags) tlsConfig() (*tls.Config, error) {
	if c.cacert == "" {
		return nil, errors.New("-cacert is required with -connect")
	}
	pem, err := os.ReadFile(c.cacert)
	if err != nil {
		return nil, err
	}
	return benchclient.TunnelTLSConfig(pem)
}

// check sends one authenticated GET, one authenticated tunnel and, unless
// -auth is none, one GET without credentials that must get a 407, so a
// misconfigured proxy stops the run before any figure is taken.
func check(args []string) error {
	c := parseClientFlags("check", args)
	l, err := c.loadConfig()
	if err != nil {
		return err
	}
	if c.get == "" || c.connect == "" {
		return errors.New("-get and -connect are required")
	}
	if err := benchclient.CheckGet(l, c.get, 200); err != nil {
		return fmt.Errorf("GET %s through %s with %s credentials: %w", c.get, c.proxy, c.auth, err)
	}
	tc, err := c.tlsConfig()
	if err != nil {
		return err
	}
	if err := benchclient.CheckConnect(l, c.connect, c.path, tc); err != nil {
		return fmt.Errorf("CONNECT %s through %s with %s credentials: %w", c.connect, c.proxy, c.auth, err)
	}
	if c.auth == benchclient.AuthNone {
		return nil
	}
	bare := l
	bare.NewAuth = func() (benchclient.Authenticator, error) {
		return benchclient.NewAuthenticator(benchclient.AuthNone, "", "", "")
	}
	if err := benchclient.CheckGet(bare, c.get, 407); err != nil {
		return fmt.Errorf("GET %s through %s without credentials: %w", c.get, c.proxy, err)
	}
	return nil
}

// load runs one measure and prints its result line.
func load(args []string) error {
	c := parseClientFlags("load", args)
	l, err := c.loadConfig()
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	var res benchclient.Result
	switch {
	case c.get != "" && c.connect == "":
		res, err = benchclient.RunGet(ctx, l, c.get, c.expect)
	case c.connect != "" && c.get == "":
		var tc *tls.Config
		if tc, err = c.tlsConfig(); err == nil {
			res, err = benchclient.RunConnect(ctx, l, c.connect, c.path, tc)
		}
	default:
		return errors.New("give exactly one of -get and -connect")
	}
	if err != nil {
		return err
	}
	if ctx.Err() != nil {
		return errors.New("interrupted")
	}
	fmt.Println(res.Line())
	if res.FirstProblem != "" {
		fmt.Fprintf(os.Stderr, "client load: first problem: %s\n", res.FirstProblem)
	}
	return nil
}

// usage prints the peak memory and CPU ticks of a process and its
// descendants; with -save or -since, it takes a reading of the counters
// that bracket a measure instead (see benchclient.UsageQuery): -save writes
// it to a file, -since prints what changed since the reading in a file, as
// the fields of a measure record.
func usage(args []string) error {
	fs := flag.NewFlagSet("usage", flag.ExitOnError)
	pid := fs.Int("pid", 0, "the proxy's process id")
	cpu := fs.String("cpu", "", "the proxy's CPUs (comma-separated)")
	clientCPUs := fs.String("client-cpus", "", "the load generator's CPUs (comma-separated)")
	tree := fs.Int("tree", 0, "the process that runs the load generator and the origin (bench/run.sh)")
	skip := fs.String("skip", "", "processes to leave out of -tree with their descendants: the other proxies (comma-separated)")
	save := fs.String("save", "", "write a reading to this file")
	since := fs.String("since", "", "print the change since the reading in this file")
	fs.Parse(args)
	if *save == "" && *since == "" {
		u, err := benchclient.ReadProcUsage("/proc", *pid)
		if err != nil {
			return err
		}
		fmt.Printf("cpu_ticks=%d\tpeak_kib=%d\tprocesses=%d\n", u.CPUTicks, u.PeakKiB, u.Processes)
		return nil
	}
	q := benchclient.UsageQuery{ProxyPID: *pid, ClientRoot: *tree}
	var err error
	for _, l := range []struct {
		list *string
		into *[]int
	}{{cpu, &q.ProxyCPUs}, {clientCPUs, &q.ClientCPUs}, {skip, &q.Skip}} {
		if *l.into, err = parseIntList(*l.list); err != nil {
			return err
		}
	}
	var before benchclient.UsageReading
	if *since != "" {
		b, err := os.ReadFile(*since)
		if err != nil {
			return err
		}
		if before, err = benchclient.ParseUsageReading(string(b)); err != nil {
			return fmt.Errorf("%s: %w", *since, err)
		}
	}
	now, err := benchclient.ReadUsage("/proc", q)
	if err != nil {
		return err
	}
	if *save != "" {
		return os.WriteFile(*save, []byte(now.String()+"\n"), 0o644)
	}
	fmt.Println(benchclient.MeasureFields(before, now))
	return nil
}

// parseIntList reads "0,2,3"; "" is no number.
func parseIntList(s string) ([]int, error) {
	if s == "" {
		return nil, nil
	}
	var out []int
	for part := range strings.SplitSeq(s, ",") {
		n, err := strconv.Atoi(part)
		if err != nil {
			return nil, fmt.Errorf("%q is not a list of numbers", s)
		}
		out = append(out, n)
	}
	return out, nil
}

// pprof saves a CPU profile of a running Caddy, taken through its admin
// endpoint's /debug/pprof.
func pprof(args []string) error {
	fs := flag.NewFlagSet("pprof", flag.ExitOnError)
	admin := fs.String("admin", "", "Caddy's admin host:port")
	seconds := fs.Int("seconds", 10, "how long to profile")
	out := fs.String("out", "", "file to write the profile to")
	fs.Parse(args)
	if *admin == "" || *out == "" {
		return errors.New("-admin and -out are required")
	}
	client := &http.Client{Timeout: time.Duration(*seconds+30) * time.Second}
	resp, err := client.Get("http://" + *admin + "/debug/pprof/profile?seconds=" + strconv.Itoa(*seconds))
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s answered %s", *admin, resp.Status)
	}
	f, err := os.Create(*out)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, resp.Body); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// report renders the results file, prints it and writes it into the doc.
// A run with problems is printed but not written, unless -allow-problems.
func report(args []string) error {
	fs := flag.NewFlagSet("report", flag.ExitOnError)
	resultsFile := fs.String("results", "", "the results file bench/run.sh wrote")
	docFile := fs.String("doc", "", "markdown file whose generated section to rewrite (none: only print)")
	allowProblems := fs.Bool("allow-problems", false, "write the doc even if some measure had errors")
	fs.Parse(args)
	f, err := os.Open(*resultsFile)
	if err != nil {
		return err
	}
	rs, err := benchclient.ParseResults(f)
	f.Close()
	if err != nil {
		return err
	}
	section := rs.Markdown()
	fmt.Print(section)
	if d := rs.Disturbed(); len(d) > 0 {
		fmt.Fprintf(os.Stderr, "client report: warning: %d measures were disturbed by other processes (listed above)\n", len(d))
	}
	if *docFile == "" {
		return nil
	}
	if problems := rs.Problems(); len(problems) > 0 && !*allowProblems {
		return fmt.Errorf("%d measures had problems (listed above); %s left as it was", len(problems), *docFile)
	}
	old, err := os.ReadFile(*docFile)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	doc, err := benchclient.ReplaceSection(string(old), section)
	if err != nil {
		return fmt.Errorf("%s: %w", *docFile, err)
	}
	return os.WriteFile(*docFile, []byte(doc), 0o644)
}
