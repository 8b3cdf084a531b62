package store

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// DefaultRedownloadLimit is the number of re-downloads an operator gets when CreateOperator is
// given a RedownloadLimit of zero.
const DefaultRedownloadLimit = 4

// Operator is an ES2+ function requester (SGP.22 §5.3): a mobile operator or its BSS.
type Operator struct {
	// ID is the functionRequesterIdentifier the operator presents in ES2+ headers.
	ID   string
	Name string
	// CallbackURL is the base URL of the operator's ES2+ endpoint that receives
	// HandleDownloadProgressInfo (SGP.22 §5.3.5); empty for none.
	CallbackURL string
	// RedownloadLimit is how many times one profile may be downloaded again after the first
	// download.
	RedownloadLimit int
	CreatedAt       time.Time
	UpdatedAt       time.Time
}

func (r operatorRow) domain() Operator {
	return Operator{ID: r.ID, Name: r.Name, CallbackURL: r.CallbackURL, RedownloadLimit: r.RedownloadLimit,
		CreatedAt: r.CreatedAt.UTC(), UpdatedAt: r.UpdatedAt.UTC()}
}

func validateOperator(op Operator) error {
	if op.ID == "" {
		return errors.New("store: operator ID is empty")
	}
	if op.RedownloadLimit < 0 {
		return fmt.Errorf("store: operator %s: negative RedownloadLimit %d", op.ID, op.RedownloadLimit)
	}
	return nil
}

// CreateOperator inserts op, with RedownloadLimit 0 taken as DefaultRedownloadLimit, and returns it
// as stored. An existing ID gives ErrDuplicate.
func (db *DB) CreateOperator(ctx context.Context, op Operator) (Operator, error) {
	return write(ctx, db, func(tx *Tx) (Operator, error) { return tx.CreateOperator(ctx, op) })
}

// CreateOperator is DB.CreateOperator inside tx.
func (tx *Tx) CreateOperator(ctx context.Context, op Operator) (Operator, error) {
	if op.RedownloadLimit == 0 {
		op.RedownloadLimit = DefaultRedownloadLimit
	}
	if err := validateOperator(op); err != nil {
		return Operator{}, err
	}
	now := tx.db.now()
	r := operatorRow{ID: op.ID, Name: op.Name, CallbackURL: op.CallbackURL, RedownloadLimit: op.RedownloadLimit,
		CreatedAt: now, UpdatedAt: now}
	if err := tx.q(ctx).Create(&r).Error; err != nil {
		return Operator{}, fmt.Errorf("store: create operator %s: %w", op.ID, translate(err))
	}
	return r.domain(), nil
}

// GetOperator returns the operator with the given ID, or ErrNotFound.
func (db *DB) GetOperator(ctx context.Context, id string) (Operator, error) {
	return read(ctx, db, func(tx *Tx) (Operator, error) { return tx.GetOperator(ctx, id) })
}

// GetOperator is DB.GetOperator inside tx.
func (tx *Tx) GetOperator(ctx context.Context, id string) (Operator, error) {
	var r operatorRow
	if err := tx.q(ctx).Where("id = ?", id).Take(&r).Error; err != nil {
		return Operator{}, fmt.Errorf("store: get operator %s: %w", id, translate(err))
	}
	return r.domain(), nil
}

// ListOperators returns all operators ordered by ID.
func (db *DB) ListOperators(ctx context.Context) ([]Operator, error) {
	return read(ctx, db, func(tx *Tx) ([]Operator, error) { return tx.ListOperators(ctx) })
}

// ListOperators is DB.ListOperators inside tx.
func (tx *Tx) ListOperators(ctx context.Context) ([]Operator, error) {
	var rows []operatorRow
	if err := tx.q(ctx).Order("id").Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("store: list operators: %w", translate(err))
	}
	out := make([]Operator, len(rows))
	for i, r := range rows {
		out[i] = r.domain()
	}
	return out, nil
}

// UpdateOperator overwrites the Name, CallbackURL and RedownloadLimit (zero allowed here) of the
// operator with op.ID and returns it as stored; an unknown ID gives ErrNotFound.
func (db *DB) UpdateOperator(ctx context.Context, op Operator) (Operator, error) {
	return write(ctx, db, func(tx *Tx) (Operator, error) { return tx.UpdateOperator(ctx, op) })
}

// UpdateOperator is DB.UpdateOperator inside tx.
func (tx *Tx) UpdateOperator(ctx context.Context, op Operator) (Operator, error) {
	if err := validateOperator(op); err != nil {
		return Operator{}, err
	}
	res := tx.q(ctx).Model(&operatorRow{}).Where("id = ?", op.ID).Updates(map[string]any{
		"name":             op.Name,
		"callback_url":     op.CallbackURL,
		"redownload_limit": op.RedownloadLimit,
		"updated_at":       tx.db.now(),
	})
	if res.Error != nil {
		return Operator{}, fmt.Errorf("store: update operator %s: %w", op.ID, translate(res.Error))
	}
	if res.RowsAffected == 0 {
		return Operator{}, fmt.Errorf("store: update operator %s: %w", op.ID, ErrNotFound)
	}
	return tx.GetOperator(ctx, op.ID)
}
