package store

import (
	"context"
	"errors"
	"fmt"
	"sync"
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
	tx.wroteOperators = true
	tx.db.operators.forget(op.ID)
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

// GetOperator is DB.GetOperator inside tx. Operators are read at every step of every download
// (callback URL, re-download limit) and change rarely, so reads are served from a cache for
// operatorCacheTTL: a change made through this DB is seen at once, one made elsewhere (another
// replica) within that time.
func (tx *Tx) GetOperator(ctx context.Context, id string) (Operator, error) {
	if op, ok := tx.db.operators.get(id, tx.db.now()); ok && !tx.wroteOperators {
		return op, nil
	}
	var r operatorRow
	if err := tx.q(ctx).Where("id = ?", id).Take(&r).Error; err != nil {
		return Operator{}, fmt.Errorf("store: get operator %s: %w", id, translate(err))
	}
	op := r.domain()
	if !tx.wroteOperators {
		tx.db.operators.put(op, tx.db.now())
	}
	return op, nil
}

// operatorCacheTTL bounds how stale a cached operator may be.
const operatorCacheTTL = 5 * time.Second

// operatorCache holds recently read operators; the zero value is empty and ready.
type operatorCache struct {
	mu      sync.Mutex
	entries map[string]cachedOperator
}

type cachedOperator struct {
	op      Operator
	expires time.Time
}

func (c *operatorCache) get(id string, now time.Time) (Operator, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[id]
	if !ok || now.After(e.expires) {
		return Operator{}, false
	}
	return e.op, true
}

func (c *operatorCache) put(op Operator, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.entries == nil {
		c.entries = map[string]cachedOperator{}
	}
	c.entries[op.ID] = cachedOperator{op: op, expires: now.Add(operatorCacheTTL)}
}

func (c *operatorCache) forget(id string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.entries, id)
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
	tx.wroteOperators = true
	tx.db.operators.forget(op.ID)
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
