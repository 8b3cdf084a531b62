package store

import (
	"context"
	"fmt"
	"time"
)

// scanPage is the number of events ScanEvents reads per query.
const scanPage = 1000

// ScanEvents calls fn for every event matching f, in time order (ties in recording order), reading
// them a page at a time so that a long range never sits in memory whole: for usage exports and
// quality figures. f.Limit caps the number of events (0: no cap). An error from fn stops the scan
// and is returned as is.
func (db *DB) ScanEvents(ctx context.Context, f EventFilter, fn func(Event) error) error {
	var (
		lastAt time.Time
		lastID int64
		seen   int
		first  = true
	)
	for {
		q := whereEqual(db.reader.WithContext(ctx), "operator_id", f.OperatorID, "iccid", f.ICCID, "eid", f.EID, "kind", f.Kind)
		if !f.Since.IsZero() {
			q = q.Where("at >= ?", f.Since.UTC().Truncate(time.Microsecond))
		}
		if !f.Until.IsZero() {
			q = q.Where("at < ?", f.Until.UTC().Truncate(time.Microsecond))
		}
		if !first {
			q = q.Where("(at > ? OR (at = ? AND id > ?))", lastAt, lastAt, lastID)
		}
		page := scanPage
		if f.Limit > 0 {
			page = min(page, f.Limit-seen)
		}
		var rows []eventRow
		if err := q.Order("at, id").Limit(page).Find(&rows).Error; err != nil {
			return fmt.Errorf("store: scan events: %w", translate(err))
		}
		for _, r := range rows {
			if err := fn(r.domain()); err != nil {
				return err
			}
		}
		seen += len(rows)
		if len(rows) < page || f.Limit > 0 && seen >= f.Limit {
			return nil
		}
		last := rows[len(rows)-1]
		lastAt, lastID, first = last.At, last.ID, false
	}
}
