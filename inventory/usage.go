package inventory

import (
	"bufio"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/smdpp/smdpp/store"
)

// Usage categories: what an operator is billed for, each fed by the event kinds the SM-DP+
// records (the download service's, this package's, and the ES2+ names an order layer may use).
const (
	UsageOrder          = "order"           // DownloadOrder took a profile (SGP.22 §5.3.1)
	UsageDownload       = "download"        // a Bound Profile Package was delivered (§5.6.3)
	UsageInstall        = "install"         // the eUICC reported the profile installed (§5.6.4)
	UsageInstallFailure = "install-failure" // the eUICC reported an installation error
	UsageEnable         = "enable"          // enable notification from the eUICC
	UsageDisable        = "disable"         // disable notification
	UsageDelete         = "delete"          // delete notification
	UsageCancel         = "cancel"          // a download or an order was cancelled (§5.6.5, §5.3.3)
)

// usageCategories maps event kinds to usage categories; other kinds are not usage.
var usageCategories = map[string]string{
	KindOrdered:     UsageOrder,
	"DownloadOrder": UsageOrder,
	"downloaded":    UsageDownload,
	"Installed":     UsageInstall, // ProfileInstallationResult: the state the profile moved to
	"installed":     UsageInstall, // an install bit in another notification
	"Error":         UsageInstallFailure,
	"enabled":       UsageEnable,
	"disabled":      UsageDisable,
	"deleted":       UsageDelete,
	"cancelled":     UsageCancel,
	"CancelOrder":   UsageCancel,
}

// UsageCategory returns the usage category of an event kind, or "" when the kind is not usage.
func UsageCategory(kind string) string { return usageCategories[kind] }

// UsageRecord is one billable event.
type UsageRecord struct {
	At         time.Time `json:"at"`
	OperatorID string    `json:"operator"`
	ICCID      string    `json:"iccid"`
	EID        string    `json:"eid,omitempty"`
	Category   string    `json:"category"`
	// Event is the recorded event kind, Detail its detail.
	Event  string `json:"event"`
	Detail string `json:"detail,omitempty"`
}

// UsageQuery selects usage records: those of one operator (all when empty) with From ≤ At < To
// (zero: unbounded).
type UsageQuery struct {
	OperatorID string
	From, To   time.Time
}

func (q UsageQuery) check() error {
	if !q.From.IsZero() && !q.To.IsZero() && !q.From.Before(q.To) {
		return fmt.Errorf("inventory: usage range: from %s is not before to %s", q.From.Format(time.RFC3339), q.To.Format(time.RFC3339))
	}
	return nil
}

// Usage calls fn for every usage record of q, in time order. An error from fn stops it.
func (s *Service) Usage(ctx context.Context, q UsageQuery, fn func(UsageRecord) error) error {
	if err := q.check(); err != nil {
		return err
	}
	return s.db.ScanEvents(ctx, store.EventFilter{OperatorID: q.OperatorID, Since: q.From, Until: q.To}, func(e store.Event) error {
		c := usageCategories[e.Kind]
		if c == "" {
			return nil
		}
		return fn(UsageRecord{At: e.At, OperatorID: e.OperatorID, ICCID: e.ICCID, EID: e.EID, Category: c, Event: e.Kind, Detail: e.Detail})
	})
}

// Export formats.
const (
	FormatCSV  = "csv"
	FormatJSON = "json"
)

// ErrFormat reports an export format other than FormatCSV and FormatJSON.
var ErrFormat = errors.New(`inventory: format must be "csv" or "json"`)

// UsageCSVHeader is the header record of the CSV usage export.
var UsageCSVHeader = []string{"at", "operator", "iccid", "eid", "category", "event", "detail"}

// usageJSONHead is the start of the JSON usage export, before the records.
type usageJSONHead struct {
	OperatorID string     `json:"operator,omitempty"`
	From       *time.Time `json:"from,omitempty"`
	To         *time.Time `json:"to,omitempty"`
}

// ExportUsage writes the usage records of q to w, streaming them:
//
//   - FormatCSV: the header "at,operator,iccid,eid,category,event,detail", then one record per
//     line, times in RFC 3339 UTC with microseconds;
//   - FormatJSON: {"operator", "from", "to", "records": [UsageRecord…], "totals": {category: n}}.
func (s *Service) ExportUsage(ctx context.Context, w io.Writer, format string, q UsageQuery) error {
	switch format {
	case FormatCSV:
		cw := csv.NewWriter(w)
		if err := cw.Write(UsageCSVHeader); err != nil {
			return err
		}
		err := s.Usage(ctx, q, func(r UsageRecord) error {
			return cw.Write([]string{r.At.UTC().Format(timeFormat), r.OperatorID, r.ICCID, r.EID, r.Category, r.Event, r.Detail})
		})
		if err != nil {
			return err
		}
		cw.Flush()
		return cw.Error()
	case FormatJSON:
		if err := q.check(); err != nil {
			return err
		}
		bw := bufio.NewWriter(w)
		head := usageJSONHead{OperatorID: q.OperatorID}
		if !q.From.IsZero() {
			head.From = &q.From
		}
		if !q.To.IsZero() {
			head.To = &q.To
		}
		h, err := json.Marshal(head)
		if err != nil {
			return err
		}
		bw.Write(h[:len(h)-1]) // without the closing brace
		if len(h) > 2 {
			bw.WriteString(",")
		}
		bw.WriteString(`"records":[`)
		totals := map[string]int{}
		n := 0
		err = s.Usage(ctx, q, func(r UsageRecord) error {
			b, err := json.Marshal(r)
			if err != nil {
				return err
			}
			if n > 0 {
				bw.WriteByte(',')
			}
			n++
			totals[r.Category]++
			_, err = bw.Write(b)
			return err
		})
		if err != nil {
			return err
		}
		t, err := json.Marshal(totals)
		if err != nil {
			return err
		}
		bw.WriteString(`],"totals":`)
		bw.Write(t)
		bw.WriteString("}\n")
		return bw.Flush()
	}
	return fmt.Errorf("%w, not %q", ErrFormat, format)
}

// timeFormat is RFC 3339 with microseconds, the resolution of the store's times.
const timeFormat = "2006-01-02T15:04:05.000000Z07:00"
