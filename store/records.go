package store

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// FunctionCall records the response to one ES2+ request, so that a request repeated with the same
// functionCallIdentifier (SGP.22 §6.5.1 request header) gets the same response instead of acting
// twice.
type FunctionCall struct {
	// OperatorID is the functionRequesterIdentifier; with FunctionCallIdentifier it is unique.
	OperatorID             string
	FunctionCallIdentifier string
	// Function is the ES2+ function name, e.g. "DownloadOrder".
	Function     string
	ResponseJSON []byte
	CreatedAt    time.Time
}

// RecordFunctionCall stores c; CreatedAt is set by the store. A call with the same OperatorID and
// FunctionCallIdentifier already recorded gives ErrDuplicate: the caller should then roll back and
// answer with the stored response (GetFunctionCall). Record the call in the transaction that
// performs it, so that only one of two concurrent identical requests commits.
func (db *DB) RecordFunctionCall(ctx context.Context, c FunctionCall) (FunctionCall, error) {
	return write(ctx, db, func(tx *Tx) (FunctionCall, error) { return tx.RecordFunctionCall(ctx, c) })
}

// RecordFunctionCall is DB.RecordFunctionCall inside tx.
func (tx *Tx) RecordFunctionCall(ctx context.Context, c FunctionCall) (FunctionCall, error) {
	if c.OperatorID == "" || c.FunctionCallIdentifier == "" {
		return FunctionCall{}, errors.New("store: record function call: empty OperatorID or FunctionCallIdentifier")
	}
	r := functionCallRow{OperatorID: c.OperatorID, FunctionCallIdentifier: c.FunctionCallIdentifier,
		Function: c.Function, ResponseJSON: c.ResponseJSON, CreatedAt: tx.db.now()}
	if err := tx.q(ctx).Create(&r).Error; err != nil {
		return FunctionCall{}, fmt.Errorf("store: record function call %s/%s: %w", c.OperatorID, c.FunctionCallIdentifier, translate(err))
	}
	return r.domain(), nil
}

func (r functionCallRow) domain() FunctionCall {
	return FunctionCall{OperatorID: r.OperatorID, FunctionCallIdentifier: r.FunctionCallIdentifier,
		Function: r.Function, ResponseJSON: r.ResponseJSON, CreatedAt: r.CreatedAt.UTC()}
}

// GetFunctionCall returns the recorded call, or ErrNotFound.
func (db *DB) GetFunctionCall(ctx context.Context, operatorID, functionCallIdentifier string) (FunctionCall, error) {
	return read(ctx, db, func(tx *Tx) (FunctionCall, error) {
		return tx.GetFunctionCall(ctx, operatorID, functionCallIdentifier)
	})
}

// GetFunctionCall is DB.GetFunctionCall inside tx.
func (tx *Tx) GetFunctionCall(ctx context.Context, operatorID, functionCallIdentifier string) (FunctionCall, error) {
	var r functionCallRow
	err := tx.q(ctx).Where("operator_id = ? AND function_call_identifier = ?", operatorID, functionCallIdentifier).Take(&r).Error
	if err != nil {
		return FunctionCall{}, fmt.Errorf("store: get function call %s/%s: %w", operatorID, functionCallIdentifier, translate(err))
	}
	return r.domain(), nil
}

// Event is an audit and usage record: a download, an installation, a deletion, an operator action.
type Event struct {
	ID         int64
	At         time.Time
	OperatorID string
	ICCID      string
	EID        string
	// Kind names what happened, e.g. "DownloadOrder" or "ProfileInstalled" (defined by the caller).
	Kind   string
	Detail string
}

// EventFilter selects events for ListEvents. Empty fields match everything.
type EventFilter struct {
	OperatorID string
	ICCID      string
	EID        string
	Kind       string
	// Since and Until bound At: Since ≤ At < Until; zero means unbounded.
	Since, Until time.Time
	// Limit caps the result; 0 means DefaultFindLimit, and it is capped at MaxFindLimit.
	Limit int
}

func (r eventRow) domain() Event {
	return Event{ID: r.ID, At: r.At.UTC(), OperatorID: r.OperatorID, ICCID: r.ICCID, EID: r.EID, Kind: r.Kind, Detail: r.Detail}
}

// RecordEvent stores e and returns it with its ID; a zero At means now. To record an event with the
// change it describes, call (*Tx).RecordEvent in the same transaction.
func (db *DB) RecordEvent(ctx context.Context, e Event) (Event, error) {
	return write(ctx, db, func(tx *Tx) (Event, error) { return tx.RecordEvent(ctx, e) })
}

// RecordEvent is DB.RecordEvent inside tx.
func (tx *Tx) RecordEvent(ctx context.Context, e Event) (Event, error) {
	if e.Kind == "" {
		return Event{}, errors.New("store: record event: empty Kind")
	}
	at := tx.db.now()
	if !e.At.IsZero() {
		at = e.At.UTC().Truncate(time.Microsecond)
	}
	r := eventRow{At: at, OperatorID: e.OperatorID, ICCID: e.ICCID, EID: e.EID, Kind: e.Kind, Detail: e.Detail}
	id, err := tx.insert(ctx, "events", "at, operator_id, iccid, eid, kind, detail", r.At, r.OperatorID, r.ICCID, r.EID, r.Kind, r.Detail)
	if err != nil {
		return Event{}, fmt.Errorf("store: record event %s: %w", e.Kind, err)
	}
	r.ID = id
	return r.domain(), nil
}

// ListEvents returns the events matching f in the order they were recorded.
func (db *DB) ListEvents(ctx context.Context, f EventFilter) ([]Event, error) {
	return read(ctx, db, func(tx *Tx) ([]Event, error) { return tx.ListEvents(ctx, f) })
}

// ListEvents is DB.ListEvents inside tx.
func (tx *Tx) ListEvents(ctx context.Context, f EventFilter) ([]Event, error) {
	limit := f.Limit
	if limit <= 0 {
		limit = DefaultFindLimit
	}
	limit = min(limit, MaxFindLimit)
	q := tx.q(ctx)
	q = whereEqual(q, "operator_id", f.OperatorID, "iccid", f.ICCID, "eid", f.EID, "kind", f.Kind)
	if !f.Since.IsZero() {
		q = q.Where("at >= ?", f.Since.UTC().Truncate(time.Microsecond))
	}
	if !f.Until.IsZero() {
		q = q.Where("at < ?", f.Until.UTC().Truncate(time.Microsecond))
	}
	var rows []eventRow
	if err := q.Order("id").Limit(limit).Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("store: list events: %w", translate(err))
	}
	out := make([]Event, len(rows))
	for i, r := range rows {
		out[i] = r.domain()
	}
	return out, nil
}
