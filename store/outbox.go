package store

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// OutboxMessage is a message the SM-DP+ must deliver to an operator (HandleDownloadProgressInfo,
// SGP.22 §5.3.5) or to an SM-DS (ES12 RegisterEvent/DeleteEvent). It is written in the transaction
// that makes it necessary and delivered afterwards, in order per ICCID, until delivery succeeds.
type OutboxMessage struct {
	ID         int64
	OperatorID string
	// ICCID orders delivery: only the oldest undelivered message of an ICCID is handed out. All
	// messages with an empty ICCID form one such sequence.
	ICCID string
	// Kind says what the payload is and where it goes (defined by the sender).
	Kind    string
	Payload []byte
	// Attempts counts the times the message was claimed.
	Attempts int
	// NextAttemptAt is when the message is due (again).
	NextAttemptAt time.Time
	// DeliveredAt is when delivery succeeded; nil while pending.
	DeliveredAt *time.Time
	// LastError is the reason the last attempt failed.
	LastError string
	CreatedAt time.Time
}

func (r outboxRow) domain() OutboxMessage {
	m := OutboxMessage{ID: r.ID, OperatorID: r.OperatorID, ICCID: r.ICCID, Kind: r.Kind, Payload: r.Payload,
		Attempts: r.Attempts, NextAttemptAt: r.NextAttemptAt.UTC(), LastError: r.LastError, CreatedAt: r.CreatedAt.UTC()}
	if r.DeliveredAt != nil {
		t := r.DeliveredAt.UTC()
		m.DeliveredAt = &t
	}
	return m
}

// EnqueueOutbox stores m for delivery and returns it with its ID. A zero NextAttemptAt means now;
// Attempts, DeliveredAt, LastError and CreatedAt are set by the store. To tie the message to a
// state change, call (*Tx).EnqueueOutbox in the same transaction.
func (db *DB) EnqueueOutbox(ctx context.Context, m OutboxMessage) (OutboxMessage, error) {
	return write(ctx, db, func(tx *Tx) (OutboxMessage, error) { return tx.EnqueueOutbox(ctx, m) })
}

// EnqueueOutbox is DB.EnqueueOutbox inside tx.
func (tx *Tx) EnqueueOutbox(ctx context.Context, m OutboxMessage) (OutboxMessage, error) {
	if m.Kind == "" {
		return OutboxMessage{}, errors.New("store: enqueue outbox message: empty Kind")
	}
	now := tx.db.now()
	next := now
	if !m.NextAttemptAt.IsZero() {
		next = m.NextAttemptAt.UTC().Truncate(time.Microsecond)
	}
	r := outboxRow{OperatorID: m.OperatorID, ICCID: m.ICCID, Kind: m.Kind, Payload: m.Payload,
		NextAttemptAt: next, CreatedAt: now}
	id, err := tx.insert(ctx, "outbox_messages", "operator_id, iccid, kind, payload, attempts, next_attempt_at, last_error, created_at",
		r.OperatorID, r.ICCID, r.Kind, r.Payload, r.Attempts, r.NextAttemptAt, r.LastError, r.CreatedAt)
	if err != nil {
		return OutboxMessage{}, fmt.Errorf("store: enqueue outbox message %s for %s: %w", m.Kind, m.ICCID, err)
	}
	r.ID = id
	return r.domain(), nil
}

// claimSQL selects due messages that are the oldest undelivered one of their ICCID. On PostgreSQL
// it is followed by FOR UPDATE SKIP LOCKED so that replicas claiming at once get disjoint sets; a
// message skipped that way still blocks the later messages of its ICCID through NOT EXISTS.
const claimSQL = `SELECT * FROM outbox_messages o
WHERE o.delivered_at IS NULL AND o.next_attempt_at <= ?
  AND NOT EXISTS (SELECT 1 FROM outbox_messages p WHERE p.iccid = o.iccid AND p.delivered_at IS NULL AND p.id < o.id)
ORDER BY o.id LIMIT ?`

// ClaimOutbox hands out up to limit due messages, oldest first, at most one per ICCID (the oldest
// undelivered one), and leases them: each claimed message gets Attempts+1 and is not due again
// until lease has passed, so a sender that dies mid-delivery leaves it to be retried. The sender
// then calls MarkOutboxDelivered or RescheduleOutbox. Delivery is at least once.
func (db *DB) ClaimOutbox(ctx context.Context, limit int, lease time.Duration) ([]OutboxMessage, error) {
	return write(ctx, db, func(tx *Tx) ([]OutboxMessage, error) { return tx.ClaimOutbox(ctx, limit, lease) })
}

// ClaimOutbox is DB.ClaimOutbox inside tx.
func (tx *Tx) ClaimOutbox(ctx context.Context, limit int, lease time.Duration) ([]OutboxMessage, error) {
	if limit <= 0 || lease <= 0 {
		return nil, fmt.Errorf("store: claim outbox: limit %d and lease %v must be positive", limit, lease)
	}
	now := tx.db.now()
	query := claimSQL
	if tx.db.backend == BackendPostgres {
		query += " FOR UPDATE SKIP LOCKED"
	}
	var rows []outboxRow
	if err := tx.q(ctx).Raw(query, now, limit).Scan(&rows).Error; err != nil {
		return nil, fmt.Errorf("store: claim outbox: %w", translate(err))
	}
	if len(rows) == 0 {
		return nil, nil
	}
	ids := make([]int64, len(rows))
	for i := range rows {
		ids[i] = rows[i].ID
	}
	until := now.Add(lease)
	err := tx.q(ctx).Exec("UPDATE outbox_messages SET attempts = attempts + 1, next_attempt_at = ? WHERE id IN ?", until, ids).Error
	if err != nil {
		return nil, fmt.Errorf("store: claim outbox: %w", translate(err))
	}
	out := make([]OutboxMessage, len(rows))
	for i, r := range rows {
		r.Attempts++
		r.NextAttemptAt = until
		out[i] = r.domain()
	}
	return out, nil
}

// MarkOutboxDelivered records that message id was delivered; the next message of its ICCID becomes
// due. Marking a delivered message again changes nothing. An unknown id gives ErrNotFound.
func (db *DB) MarkOutboxDelivered(ctx context.Context, id int64) error {
	_, err := write(ctx, db, func(tx *Tx) (struct{}, error) { return struct{}{}, tx.MarkOutboxDelivered(ctx, id) })
	return err
}

// MarkOutboxDelivered is DB.MarkOutboxDelivered inside tx.
func (tx *Tx) MarkOutboxDelivered(ctx context.Context, id int64) error {
	res := tx.q(ctx).Exec("UPDATE outbox_messages SET delivered_at = ? WHERE id = ? AND delivered_at IS NULL", tx.db.now(), id)
	if res.Error != nil {
		return fmt.Errorf("store: mark outbox message %d delivered: %w", id, translate(res.Error))
	}
	if res.RowsAffected == 0 {
		var n int64
		if err := tx.q(ctx).Model(&outboxRow{}).Where("id = ?", id).Count(&n).Error; err != nil {
			return fmt.Errorf("store: mark outbox message %d delivered: %w", id, translate(err))
		}
		if n == 0 {
			return fmt.Errorf("store: mark outbox message %d delivered: %w", id, ErrNotFound)
		}
	}
	return nil
}

// RescheduleOutbox records a failed delivery of message id: it becomes due again at next, and
// lastErr is kept for operators to see. Later messages of its ICCID keep waiting. An unknown or
// already delivered id gives ErrNotFound.
func (db *DB) RescheduleOutbox(ctx context.Context, id int64, next time.Time, lastErr string) error {
	_, err := write(ctx, db, func(tx *Tx) (struct{}, error) {
		return struct{}{}, tx.RescheduleOutbox(ctx, id, next, lastErr)
	})
	return err
}

// RescheduleOutbox is DB.RescheduleOutbox inside tx.
func (tx *Tx) RescheduleOutbox(ctx context.Context, id int64, next time.Time, lastErr string) error {
	res := tx.q(ctx).Exec("UPDATE outbox_messages SET next_attempt_at = ?, last_error = ? WHERE id = ? AND delivered_at IS NULL",
		next.UTC().Truncate(time.Microsecond), lastErr, id)
	if res.Error != nil {
		return fmt.Errorf("store: reschedule outbox message %d: %w", id, translate(res.Error))
	}
	if res.RowsAffected == 0 {
		return fmt.Errorf("store: reschedule pending outbox message %d: %w", id, ErrNotFound)
	}
	return nil
}

// CountPendingOutbox returns the number of undelivered outbox messages (for the backlog metric).
func (db *DB) CountPendingOutbox(ctx context.Context) (int, error) {
	return read(ctx, db, func(tx *Tx) (int, error) {
		var n int64
		if err := tx.q(ctx).Model(&outboxRow{}).Where("delivered_at IS NULL").Count(&n).Error; err != nil {
			return 0, fmt.Errorf("store: count pending outbox: %w", translate(err))
		}
		return int(n), nil
	})
}
