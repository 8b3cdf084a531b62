// Package metrics is the SM-DP+'s Prometheus instrumentation and its audit log helper.
//
// A [Metrics] owns its own prometheus.Registry (nothing is registered globally) holding:
//
//   - per-function counts and latencies of the SGP.22 functions, read at the HTTP edge by
//     [Metrics.Middleware]: the interface (ES9+, SGP.22 §5.6; ES2+, §5.3) and function come from
//     the URL path, the outcome and the subjectCode/reasonCode from the response body's
//     header.functionExecutionStatus (SGP.22 §6.5.1.4);
//   - HTTP response counts by status code, and the requests in flight;
//   - gauges evaluated at scrape time from functions the caller supplies: live RSP sessions,
//     the profile pools by operator, profile type, region and state, and the outbox backlog;
//   - the process (CPU seconds, memory, file descriptors) and Go runtime collectors.
//
// Every label takes its value from a fixed set (unknown functions become "other", unknown
// codes "other"), except the pools' operator, profile type and region, which are bounded by
// the deployment's inventory. [Metrics.Handler] serves the registry in the Prometheus text
// format for /metrics.
//
// The request series are per process. The pool and outbox gauges, and the session gauge on a
// Redis session store, describe shared state: every replica reports the same value, so
// aggregate them across replicas with max, not sum.
//
// # Series
//
//	smdpp_function_requests_total{interface,function,outcome,subject_code,reason_code}  counter
//	smdpp_function_duration_seconds{interface,function,outcome}                          histogram
//	smdpp_http_responses_total{interface,code}                                           counter
//	smdpp_http_requests_in_flight                                                        gauge
//	smdpp_rsp_sessions                                                                   gauge
//	smdpp_profiles{operator,profile_type,region,state}                                   gauge
//	smdpp_outbox_pending                                                                 gauge
//	smdpp_collector_up{collector}                                                        gauge
//	process_*, go_*                                                                      standard
package metrics

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Label values of the interface label.
const (
	InterfaceES9Plus = "es9plus"
	InterfaceES2Plus = "es2plus"
	// InterfaceOther is every path outside the two SGP.22 prefixes (health, metrics, unknown).
	InterfaceOther = "other"
)

// Label values of the outcome label.
const (
	OutcomeSuccess = "success"
	OutcomeFailed  = "failed"
)

// Other replaces a function name, status code or HTTP status the metrics do not know, so that
// no request can create a new series.
const Other = "other"

// None is the subject_code and reason_code of a response without statusCodeData (a success, or
// a failure below the SGP.22 layer such as HTTP 413 or 500).
const None = "none"

// DefaultScrapeTimeout bounds each scrape-time count (sessions, pool, outbox).
const DefaultScrapeTimeout = 5 * time.Second

// durationBuckets spans a fast InitiateAuthentication (a few ms) to a request cut off by the
// default 60 s write timeout.
var durationBuckets = []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60}

// Metrics is the server's instrumentation. Create it with New; it is safe for concurrent use.
type Metrics struct {
	reg      *prometheus.Registry
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	http     *prometheus.CounterVec
	inFlight prometheus.Gauge
	now      func() time.Time
}

// Counter counts something at scrape time. session.Store satisfies it (Store.Count).
type Counter interface {
	Count(ctx context.Context) (int, error)
}

// CountFunc adapts a function to Counter, e.g. a store query counting undelivered outbox
// messages.
type CountFunc func(ctx context.Context) (int, error)

// Count implements Counter.
func (f CountFunc) Count(ctx context.Context) (int, error) { return f(ctx) }

// PoolLevel is the number of profiles of one pool (operator, profile type and region, "" for
// none) in one lifecycle state.
type PoolLevel struct {
	OperatorID  string
	ProfileType string
	Region      string
	State       string
	Count       int
}

// PoolCounter reports the profile pools at scrape time, typically from one
// SELECT … COUNT(*) FROM profiles … GROUP BY operator, profile type, region, state. Each
// combination must appear once.
type PoolCounter interface {
	CountPool(ctx context.Context) ([]PoolLevel, error)
}

// PoolCounterFunc adapts a function to PoolCounter.
type PoolCounterFunc func(ctx context.Context) ([]PoolLevel, error)

// CountPool implements PoolCounter.
func (f PoolCounterFunc) CountPool(ctx context.Context) ([]PoolLevel, error) { return f(ctx) }

// Option configures New.
type Option func(*options)

type options struct {
	sessions, outbox Counter
	pool             PoolCounter
	timeout          time.Duration
	log              *slog.Logger
}

// WithSessionCount reports c (the RSP session store) as smdpp_rsp_sessions.
func WithSessionCount(c Counter) Option { return func(o *options) { o.sessions = c } }

// WithOutboxBacklog reports c, the number of undelivered outbox messages
// (HandleDownloadProgressInfo to operators, ES12 to an SM-DS), as smdpp_outbox_pending.
func WithOutboxBacklog(c Counter) Option { return func(o *options) { o.outbox = c } }

// WithPoolLevels reports c as smdpp_profiles{operator,profile_type,region,state}.
func WithPoolLevels(c PoolCounter) Option { return func(o *options) { o.pool = c } }

// WithScrapeTimeout bounds each scrape-time count (default DefaultScrapeTimeout).
func WithScrapeTimeout(d time.Duration) Option { return func(o *options) { o.timeout = d } }

// WithLogger sets where failed scrape-time counts are logged (default: nowhere).
func WithLogger(l *slog.Logger) Option { return func(o *options) { o.log = l } }

// New returns a Metrics with its own registry, holding the request metrics, the process and Go
// runtime collectors, and the scrape-time gauges whose sources the options give.
func New(opts ...Option) *Metrics {
	o := options{timeout: DefaultScrapeTimeout, log: slog.New(slog.DiscardHandler)}
	for _, opt := range opts {
		opt(&o)
	}
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "smdpp_function_requests_total",
			Help: "SGP.22 function calls by interface, function, outcome and the subjectCode/reasonCode of the answer.",
		}, []string{"interface", "function", "outcome", "subject_code", "reason_code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "smdpp_function_duration_seconds",
			Help:    "Time to answer an SGP.22 function call, by interface, function and outcome.",
			Buckets: durationBuckets,
		}, []string{"interface", "function", "outcome"}),
		http: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "smdpp_http_responses_total",
			Help: "HTTP responses by interface (es9plus, es2plus, other) and status code.",
		}, []string{"interface", "code"}),
		inFlight: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "smdpp_http_requests_in_flight",
			Help: "HTTP requests being served.",
		}),
		now: time.Now,
	}
	m.reg.MustRegister(m.requests, m.duration, m.http, m.inFlight,
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		collectors.NewGoCollector(),
		newScrapeCollector(o),
	)
	return m
}

// Registerer lets other packages add their own collectors to the same registry.
func (m *Metrics) Registerer() prometheus.Registerer { return m.reg }

// Handler serves the registry in the Prometheus exposition format. A failing scrape-time count
// does not fail the scrape: its gauge is left out and smdpp_collector_up says so. At most four
// scrapes run at once, so a flood of scrapes cannot pile up database queries.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{
		Registry:            m.reg,
		ErrorHandling:       promhttp.ContinueOnError,
		MaxRequestsInFlight: 4,
	})
}
