package console

import (
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/smdpp/smdpp/inventory"
	"github.com/smdpp/smdpp/store"
)

// Event kinds the download service records (package download) that the dashboard counts.
const (
	eventDownloaded = "downloaded" // a Bound Profile Package was delivered (SGP.22 §5.6.3)
)

// period is a range of the dashboard: its length and the width of one bar of the downloads chart.
type period struct {
	Value, Label string
	Length       time.Duration
	Bucket       time.Duration
	TickEvery    int
}

var periods = []period{
	{"24h", "Last 24 hours", 24 * time.Hour, time.Hour, 3},
	{"7d", "Last 7 days", 7 * 24 * time.Hour, time.Hour, 24},
	{"30d", "Last 30 days", 30 * 24 * time.Hour, 24 * time.Hour, 5},
}

type dashboardData struct {
	Period    string
	Periods   []period
	Operators []store.Operator
	Operator  string
	From, To  time.Time
	Pools     hbarChart
	Downloads columnCharts
	Rates     hbarChart
	Reasons   hbarChart
	EUMs      hbarChart
	// LowPools counts the pools below their low-water mark.
	LowPools int
}

func (c *server) dashboard(w http.ResponseWriter, r *http.Request, ses *session) error {
	ctx := r.Context()
	d := dashboardData{Periods: periods, Period: periods[0].Value}
	per := periods[0]
	for _, p := range periods {
		if p.Value == r.URL.Query().Get("period") {
			per, d.Period = p, p.Value
		}
	}
	scope, err := c.scopeFilter(r, ses, &d.Operators, &d.Operator)
	if err != nil {
		return err
	}
	now := c.now().UTC()
	d.To = now
	d.From = now.Truncate(per.Bucket).Add(-per.Length + per.Bucket)

	levels, err := c.inv.Pools(ctx, scope)
	if err != nil {
		return err
	}
	d.Pools, d.LowPools = poolChart(levels, ses.principal.Admin && scope == "")

	n := int(per.Length / per.Bucket)
	counts := make([]int, n)
	err = c.db.ScanEvents(ctx, store.EventFilter{OperatorID: scope, Kind: eventDownloaded, Since: d.From, Until: d.To},
		func(e store.Event) error {
			if i := int(e.At.Sub(d.From) / per.Bucket); i >= 0 && i < n {
				counts[i]++
			}
			return nil
		})
	if err != nil {
		return err
	}
	labels := make([]string, n)
	for i := range labels {
		t := d.From.Add(time.Duration(i) * per.Bucket)
		switch {
		case per.Bucket >= 24*time.Hour:
			labels[i] = t.Format("Jan 2")
		case per.Length > 24*time.Hour:
			labels[i] = t.Format("Jan 2 15:04")
		default:
			labels[i] = t.Format("15:04")
		}
	}
	unit := "hour"
	if per.Bucket >= 24*time.Hour {
		unit = "day"
	}
	d.Downloads = newColumnCharts("downloads", "Downloads per "+unit,
		fmt.Sprintf("Bound Profile Packages delivered per %s, %s (UTC).", unit, strings.ToLower(per.Label)), labels, counts, per.TickEvery)

	q, err := c.inv.Quality(ctx, inventory.QualityQuery{OperatorID: scope, From: d.From, To: d.To})
	if err != nil {
		return err
	}
	d.Rates, d.Reasons, d.EUMs = qualityCharts(q)
	return c.render(w, r, ses, http.StatusOK, "dashboard", "Dashboard", "dashboard", d, nil)
}

// poolChart draws the pools: available profiles against all of the pool, with the low-water mark.
func poolChart(levels []store.PoolLevel, showOperator bool) (hbarChart, int) {
	ch := hbarChart{Title: "Pool levels", Empty: "No profiles imported yet.",
		Series: []legendItem{{"Available", "s0"}, {"Ordered, downloaded or retired", "s1"}}}
	scale := 0
	for _, l := range levels {
		scale = max(scale, l.Total)
		if l.Threshold != nil {
			scale = max(scale, l.Threshold.LowWater)
		}
	}
	low := 0
	for _, l := range levels {
		label := l.ProfileType
		if l.Region != "" {
			label += " · " + l.Region
		}
		if showOperator {
			label = l.OperatorID + " · " + label
		}
		note := fmt.Sprintf("%d of %d available", l.Available, l.Total)
		row := newHbarRow(label, note, float64(scale), seg{float64(l.Available), "s0"}, seg{float64(l.Total - l.Available), "s1"})
		if l.Threshold != nil {
			row.Mark, row.HasMark = round2(100*float64(l.Threshold.LowWater)/float64(scale)), true
			row.Note += fmt.Sprintf(", low-water mark %d", l.Threshold.LowWater)
			if l.Available < l.Threshold.LowWater {
				row.Note += " — LOW"
				low++
			}
		}
		ch.Rows = append(ch.Rows, row)
	}
	for _, r := range ch.Rows {
		if r.HasMark {
			ch.Series = append(ch.Series, legendItem{"Low-water mark", "mark"})
			break
		}
	}
	return ch, low
}

// maxChartRows bounds the rows of the failure charts; the rest are summed up in one row.
const maxChartRows = 10

// qualityCharts draws the success rates of the download and install stages, the failures by
// reason and the attempts and failures by EUM.
func qualityCharts(q inventory.Quality) (rates, reasons, eums hbarChart) {
	rates = hbarChart{Title: "Success rate", Empty: "No downloads in this period.",
		Series: []legendItem{{"Succeeded", "s0"}, {"Failed", "s2"}}}
	for _, st := range q.Stages {
		if st.Name != inventory.StageDownload && st.Name != inventory.StageInstall {
			continue
		}
		total := st.Success + st.Failure
		if total == 0 {
			continue
		}
		label := map[string]string{inventory.StageDownload: "Download (order → package delivered)",
			inventory.StageInstall: "Installation (package → installed)"}[st.Name]
		note := fmt.Sprintf("%s: %d of %d succeeded", percent(st.Success, total), st.Success, total)
		rates.Rows = append(rates.Rows, newHbarRow(label, note, float64(total), seg{float64(st.Success), "s0"}, seg{float64(st.Failure), "s2"}))
	}

	reasons = hbarChart{Title: "Failures by reason", Empty: "No failures in this period.",
		Series: []legendItem{{"Failures", "s2"}}}
	top := 0
	for _, rc := range q.FailuresByReason {
		top = max(top, rc.Count)
	}
	rest := 0
	for i, rc := range q.FailuresByReason {
		if i >= maxChartRows {
			rest += rc.Count
			continue
		}
		reasons.Rows = append(reasons.Rows, newHbarRow(rc.Stage+": "+rc.Reason, plural(rc.Count, "failure"), float64(top), seg{float64(rc.Count), "s2"}))
	}
	if rest > 0 {
		reasons.Rows = append(reasons.Rows, newHbarRow("other reasons", plural(rest, "failure"), float64(top), seg{float64(min(rest, top)), "s2"}))
	}

	eums = hbarChart{Title: "Failures by EUM (first 8 digits of the EID)", Empty: "No downloads in this period.",
		Series: []legendItem{{"Failed", "s2"}, {"Succeeded", "s0"}}}
	top = 0
	for _, e := range q.ByEUM {
		top = max(top, e.Attempts)
	}
	for i, e := range q.ByEUM {
		if i >= maxChartRows {
			break
		}
		note := fmt.Sprintf("%d of %d failed (%s)", e.Failures, e.Attempts, percent(e.Failures, e.Attempts))
		row := newHbarRow(e.EUM, note, float64(top), seg{float64(e.Failures), "s2"}, seg{float64(e.Attempts - e.Failures), "s0"})
		eums.Rows = append(eums.Rows, row)
	}
	return rates, reasons, eums
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}
