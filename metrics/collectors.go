package metrics

import (
	"context"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

var (
	sessionsDesc = prometheus.NewDesc("smdpp_rsp_sessions",
		"Live RSP sessions (SGP.22 §3.1.3) in the session store, counted at scrape time.", nil, nil)
	poolDesc = prometheus.NewDesc("smdpp_profiles",
		"Profiles by pool (operator, profile type, region) and lifecycle state, counted at scrape time.",
		[]string{"operator", "profile_type", "region", "state"}, nil)
	outboxDesc = prometheus.NewDesc("smdpp_outbox_pending",
		"Undelivered outbox messages (HandleDownloadProgressInfo, ES12), counted at scrape time.", nil, nil)
	upDesc = prometheus.NewDesc("smdpp_collector_up",
		"1 if the scrape-time count of the collector succeeded, 0 if it failed or timed out.",
		[]string{"collector"}, nil)
)

// Values of smdpp_collector_up's collector label.
const (
	collectorSessions = "sessions"
	collectorPool     = "pool"
	collectorOutbox   = "outbox"
)

// scrapeCollector asks its sources at every scrape. Each source gets its own timeout, and a
// failing source only drops its own gauge.
type scrapeCollector struct {
	sessions, outbox Counter
	pool             PoolCounter
	timeout          time.Duration
	log              *slog.Logger
}

var _ prometheus.Collector = (*scrapeCollector)(nil)

func newScrapeCollector(o options) *scrapeCollector {
	return &scrapeCollector{sessions: o.sessions, outbox: o.outbox, pool: o.pool, timeout: o.timeout, log: o.log}
}

// Describe implements prometheus.Collector.
func (c *scrapeCollector) Describe(ch chan<- *prometheus.Desc) {
	if c.sessions != nil {
		ch <- sessionsDesc
	}
	if c.pool != nil {
		ch <- poolDesc
	}
	if c.outbox != nil {
		ch <- outboxDesc
	}
	if c.sessions != nil || c.pool != nil || c.outbox != nil {
		ch <- upDesc
	}
}

// Collect implements prometheus.Collector.
func (c *scrapeCollector) Collect(ch chan<- prometheus.Metric) {
	if c.sessions != nil {
		c.count(ch, collectorSessions, sessionsDesc, c.sessions)
	}
	if c.outbox != nil {
		c.count(ch, collectorOutbox, outboxDesc, c.outbox)
	}
	if c.pool != nil {
		ctx, cancel := context.WithTimeout(context.Background(), c.timeout)
		levels, err := c.pool.CountPool(ctx)
		cancel()
		if err == nil {
			for _, l := range levels {
				ch <- prometheus.MustNewConstMetric(poolDesc, prometheus.GaugeValue, float64(l.Count), l.OperatorID, l.ProfileType, l.Region, l.State)
			}
		}
		ch <- c.up(collectorPool, err)
	}
}

func (c *scrapeCollector) count(ch chan<- prometheus.Metric, name string, desc *prometheus.Desc, src Counter) {
	ctx, cancel := context.WithTimeout(context.Background(), c.timeout)
	n, err := src.Count(ctx)
	cancel()
	if err == nil {
		ch <- prometheus.MustNewConstMetric(desc, prometheus.GaugeValue, float64(n))
	}
	ch <- c.up(name, err)
}

// up is the smdpp_collector_up sample of collector; a failure's detail goes to the log.
func (c *scrapeCollector) up(collector string, err error) prometheus.Metric {
	v := 1.0
	if err != nil {
		v = 0
		c.log.Warn("metrics: scrape-time count failed", "collector", collector, "error", err)
	}
	return prometheus.MustNewConstMetric(upDesc, prometheus.GaugeValue, v, collector)
}
