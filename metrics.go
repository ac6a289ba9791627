package proxyauth

// Prometheus metrics, served by Caddy on the admin endpoint's /metrics.
//
// Caddy makes a new registry for every config it loads. The collectors
// here are made once per process and registered into each config's
// registry, so a config reload neither panics on a second registration nor
// resets a counter: a handler's series carry on under its name, like its
// handlerState, and go away with it.

import (
	"errors"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/caddyserver/caddy/v2"
)

const metricsNamespace, metricsSubsystem = "caddy", "proxy_auth"

// noScheme is the scheme label of requests that named no scheme the
// handler offers (no credentials, an unknown scheme, an unparseable
// field). The scheme a client names is never a label value: it is
// client-controlled and would make the series unbounded.
const noScheme = "none"

var (
	requestsTotal = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: metricsNamespace,
		Subsystem: metricsSubsystem,
		Name:      "requests_total",
		Help:      "Requests that needed proxy credentials, by handler, scheme and result (the detailed outcome, e.g. wrong_password).",
	}, []string{"handler", "scheme", "result"})

	verificationSeconds = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Namespace: metricsNamespace,
		Subsystem: metricsSubsystem,
		Name:      "verification_seconds",
		Help:      "Time of each slow credential check (a password hash; unknown users are checked against a decoy hash). Requests answered from the cache of verified credentials are not timed: they take microseconds.",
		// From 10µs (the cheapest hashes) to 2.6s (a hash set far too slow).
		Buckets: prometheus.ExponentialBuckets(10e-6, 4, 10),
	}, []string{"handler", "scheme"})

	reloadFailuresTotal = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: metricsNamespace,
		Subsystem: metricsSubsystem,
		Name:      "reload_failures_total",
		Help:      "Versions of credential files that could not be loaded (unreadable, empty, a bad line); the last good version stayed in force.",
	}, []string{"handler", "kind", "source"})

	accountsLoaded = &accountsCollector{desc: prometheus.NewDesc(
		prometheus.BuildFQName(metricsNamespace, metricsSubsystem, "accounts"),
		"Accounts in force, by handler and credential source (source is the file's path, or \"inline\").",
		[]string{"handler", "kind", "source"}, nil)}
)

var collectors = []prometheus.Collector{requestsTotal, verificationSeconds, reloadFailuresTotal, accountsLoaded}

// registerMetrics adds the collectors to a config's registry. Every
// handler of a config calls it; the first one registers them.
func registerMetrics(reg *prometheus.Registry) error {
	if reg == nil {
		return nil
	}
	for _, c := range collectors {
		err := reg.Register(c)
		var already prometheus.AlreadyRegisteredError
		if err != nil && !(errors.As(err, &already) && already.ExistingCollector == c) {
			return err
		}
	}
	return nil
}

// forgetMetrics drops the series of a handler name that no longer exists.
func forgetMetrics(handler string) {
	labels := prometheus.Labels{"handler": handler}
	requestsTotal.DeletePartialMatch(labels)
	verificationSeconds.DeletePartialMatch(labels)
	reloadFailuresTotal.DeletePartialMatch(labels)
}

// handlerMetrics are one handler's series, looked up once rather than by
// label values on every request.
type handlerMetrics struct {
	handler string
	// schemes are the scheme label values by scheme index: noScheme, then
	// the handler's schemes in order.
	schemes      []string
	requests     [][numOutcomes]atomic.Pointer[prometheus.Counter]
	verification []prometheus.Observer
}

func newHandlerMetrics(ctx caddy.Context, handler string, schemes []scheme) (*handlerMetrics, error) {
	if err := registerMetrics(ctx.GetMetricsRegistry()); err != nil {
		return nil, err
	}
	m := &handlerMetrics{handler: handler, schemes: []string{noScheme}}
	for _, s := range schemes {
		m.schemes = append(m.schemes, s.name())
	}
	m.requests = make([][numOutcomes]atomic.Pointer[prometheus.Counter], len(m.schemes))
	m.verification = make([]prometheus.Observer, len(m.schemes))
	for i, s := range m.schemes[1:] {
		m.verification[i+1] = verificationSeconds.WithLabelValues(handler, s)
	}
	return m, nil
}

// schemeIndex finds a verdict's scheme among the handler's: 0 for none.
func (m *handlerMetrics) schemeIndex(name string) int {
	for i := 1; i < len(m.schemes); i++ {
		if m.schemes[i] == name {
			return i
		}
	}
	return 0
}

// count counts one request's outcome.
func (m *handlerMetrics) count(v verdict) {
	m.requestCounter(m.schemeIndex(v.scheme), v.outcome).Inc()
}

// observeVerification records how long one slow credential check of the
// named scheme took. The request path does not read the clock otherwise:
// timing every cache hit would cost more than the hit.
func (m *handlerMetrics) observeVerification(scheme string, took time.Duration) {
	if i := m.schemeIndex(scheme); i > 0 {
		m.verification[i].Observe(took.Seconds())
	}
}

// requestCounter returns the counter of scheme i and outcome o. A series is
// made on first use, so outcomes a scheme cannot have do not show up as
// zeros.
func (m *handlerMetrics) requestCounter(i int, o outcome) prometheus.Counter {
	slot := &m.requests[i][o]
	if c := slot.Load(); c != nil {
		return *c
	}
	c := requestsTotal.WithLabelValues(m.handler, m.schemes[i], o.String())
	slot.Store(&c) // a racing store holds the same series
	return c
}

// failedReload counts a version of a file that could not be loaded.
func (m *handlerMetrics) failedReload(f *credentialFile) {
	reloadFailuresTotal.WithLabelValues(m.handler, f.kind.name, f.path).Inc()
}

// accountsCollector reports the accounts in force of the handlers serving
// now, read from them at scrape time, so the gauge is never stale and
// needs no updating on reload.
type accountsCollector struct {
	desc *prometheus.Desc
}

func (c *accountsCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

func (c *accountsCollector) Collect(ch chan<- prometheus.Metric) {
	for _, h := range servingHandlers() {
		for _, s := range h.sources.statuses() {
			source := s.Path
			if s.Kind == inlineKind {
				source = inlineKind
			}
			ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, float64(s.Accounts), h.Name, s.Kind, source)
		}
	}
}
