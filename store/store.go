// Package store is the SM-DP+ database layer: it owns the schema, the connection pools and every SQL
// statement, and it is the only package that imports gorm.
//
// It keeps the operators (ES2+ function requesters, SGP.22 §5.3), one profile row per ICCID carrying
// its download order and lifecycle state (§3.1, §5.3.1–§5.3.4), the ES2+ function call records used
// for idempotency (functionCallIdentifier, §6.5.1), a durable outbox for messages to operators
// (HandleDownloadProgressInfo, §5.3.5) and to an SM-DS (ES12), and audit events.
//
// Callers get plain domain types ([Operator], [Profile], [OutboxMessage], …); row structs stay
// inside this package. Every state change is a compare-and-set ([DB.TransitionProfile]) and every
// multi-row change runs inside one transaction ([DB.InTx]). Driver errors come back as the
// package's sentinel errors ([ErrNotFound], [ErrDuplicate], [ErrWrongState], [ErrConflict],
// [ErrPoolEmpty]).
//
// Two backends sit behind one DSN: PostgreSQL for production (several stateless replicas on one
// database) and SQLite for a single process (a lab). SQLite allows one writer at a time, so the
// SQLite backend keeps one writer connection, whose transactions begin IMMEDIATE, and a separate
// pool of read-only connections; WAL lets the readers run while the writer works.
package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/glebarez/sqlite"
	"gorm.io/driver/postgres"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"
)

// SchemaVersion is the version of the schema this build creates and understands. Open records it
// in the schema_versions table, migrates only a database that records an older version (or none),
// and refuses one that records a newer version. Any change to a table must increment it.
//
// Version 2 adds the inventory tables profile_inventory and pool_thresholds (pools.go).
const SchemaVersion = 3

// Backend names, as returned by [DB.Backend].
const (
	BackendPostgres = "postgres"
	BackendSQLite   = "sqlite"
)

// Sentinel errors. Match them with errors.Is; the returned errors wrap them with context.
var (
	// ErrNotFound reports that the row asked for (or a row it refers to) does not exist.
	ErrNotFound = errors.New("not found")
	// ErrDuplicate reports a unique-key violation: an ICCID, matchingId, operator ID or
	// functionCallIdentifier that already exists.
	ErrDuplicate = errors.New("already exists")
	// ErrWrongState reports that a profile was not in a state the transition may leave.
	// The concrete error is a *WrongStateError carrying the current state.
	ErrWrongState = errors.New("profile in wrong state")
	// ErrConflict reports that a compare-and-set lost a race: the row changed between read and
	// write. The caller may re-read and retry.
	ErrConflict = errors.New("concurrent update")
	// ErrPoolEmpty reports that no Available profile of the requested operator and type is left.
	ErrPoolEmpty = errors.New("no available profile")
)

// WrongStateError is the error returned when a profile is not in one of the states a transition may
// leave. errors.Is(err, ErrWrongState) holds for it.
type WrongStateError struct {
	ICCID   string
	Current State   // the state the profile is in
	Allowed []State // the states the transition may leave
}

func (e *WrongStateError) Error() string {
	return fmt.Sprintf("store: profile %s is %s, want one of %v: %v", e.ICCID, e.Current, e.Allowed, ErrWrongState)
}

// Is makes errors.Is(err, ErrWrongState) hold.
func (e *WrongStateError) Is(target error) bool { return target == ErrWrongState }

// DB is a handle on the database. It is safe for concurrent use.
type DB struct {
	backend   string
	writer    *gorm.DB // transactions and writes; on SQLite a single connection
	reader    *gorm.DB // plain reads; on PostgreSQL the same pool as writer
	now       func() time.Time
	operators operatorCache
	group     *groupCommitter // see InGroupTx
}

// Option configures Open.
type Option func(*options)

type options struct {
	clock        func() time.Time
	maxOpenConns int
}

// WithClock sets the clock used for CreatedAt/UpdatedAt, event times and outbox scheduling.
// The default is time.Now.
func WithClock(now func() time.Time) Option { return func(o *options) { o.clock = now } }

// WithMaxOpenConns caps the connections to PostgreSQL (default 25) or the read-only connections
// to SQLite (default 8). SQLite always has exactly one writer connection.
func WithMaxOpenConns(n int) Option { return func(o *options) { o.maxOpenConns = n } }

// IsPostgresDSN reports whether dsn selects the PostgreSQL backend: a postgres:// or
// postgresql:// URL, or a key/value connection string containing host=. Anything else is an
// SQLite file path or file: URI.
func IsPostgresDSN(dsn string) bool {
	d := strings.TrimSpace(dsn)
	return strings.HasPrefix(d, "postgres://") || strings.HasPrefix(d, "postgresql://") ||
		strings.HasPrefix(d, "host=") || strings.Contains(d, " host=")
}

// Open connects to the database dsn names (see [IsPostgresDSN]), checks that it answers, and
// migrates the schema to [SchemaVersion]. Migrating an up-to-date database changes nothing, and
// concurrent Opens of one PostgreSQL schema are serialised by an advisory lock.
func Open(ctx context.Context, dsn string, opts ...Option) (*DB, error) {
	o := options{clock: time.Now}
	for _, opt := range opts {
		opt(&o)
	}
	if strings.TrimSpace(dsn) == "" {
		return nil, errors.New("store: open: empty DSN")
	}
	db := &DB{now: func() time.Time { return o.clock().UTC().Truncate(time.Microsecond) }}
	cfg := func() *gorm.Config {
		return &gorm.Config{
			// No PrepareStmt: gorm prepares a statement first met in a transaction on that
			// transaction, so it was prepared again (a PostgreSQL round trip) in every later
			// one. pgx caches prepared statements per connection by itself, and the SQLite
			// driver compiles every execution whatever database/sql does.
			SkipDefaultTransaction: true,
			TranslateError:         true,
			DisableAutomaticPing:   true,
			NowFunc:                db.now,
			Logger:                 logger.Discard,
		}
	}
	var err error
	if IsPostgresDSN(dsn) {
		db.backend = BackendPostgres
		err = db.openPostgres(dsn, cfg(), o.maxOpenConns)
	} else {
		db.backend = BackendSQLite
		err = db.openSQLite(dsn, cfg, o.maxOpenConns)
	}
	if err == nil {
		db.startGroupCommitter()
	}
	if err != nil {
		return nil, err
	}
	if err := db.ping(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("store: open %s: %w", db.backend, err)
	}
	if err := db.migrate(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("store: migrate %s: %w", db.backend, err)
	}
	return db, nil
}

func (db *DB) openPostgres(dsn string, cfg *gorm.Config, maxConns int) error {
	// The DSN is not repeated in errors: it may hold a password (pgx redacts its own messages).
	g, err := gorm.Open(postgres.New(postgres.Config{DSN: dsn}), cfg)
	if err != nil {
		return fmt.Errorf("store: open postgres: %w", err)
	}
	sqlDB, err := g.DB()
	if err != nil {
		return fmt.Errorf("store: open postgres: %w", err)
	}
	if maxConns <= 0 {
		maxConns = 25
	}
	sqlDB.SetMaxOpenConns(maxConns)
	// Keep every connection a busy server opens: closing idle ones above a small number made
	// PostgreSQL start a backend process for a good share of the queries under load.
	sqlDB.SetMaxIdleConns(maxConns)
	sqlDB.SetConnMaxIdleTime(5 * time.Minute)
	sqlDB.SetConnMaxLifetime(time.Hour)
	db.writer, db.reader = g, g
	return nil
}

// sqlitePragmas apply to every SQLite connection: wait up to 5 s for a lock held by another
// process, enforce foreign keys, WAL so readers run beside the writer.
const sqlitePragmas = "_pragma=busy_timeout(5000)&_pragma=foreign_keys(1)&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)"

func (db *DB) openSQLite(dsn string, cfg func() *gorm.Config, maxReaders int) error {
	sep := "?"
	if strings.Contains(dsn, "?") {
		sep = "&"
	}
	// The writer's transactions take the write lock when they begin (BEGIN IMMEDIATE), so two
	// transactions never both read and then fail to upgrade; one connection queues the writers
	// of this process in database/sql instead of in SQLite's busy handler.
	w, err := gorm.Open(sqlite.Open(dsn+sep+sqlitePragmas+"&_txlock=immediate"), cfg())
	if err != nil {
		return fmt.Errorf("store: open sqlite %q: %w", dsn, err)
	}
	wdb, err := w.DB()
	if err != nil {
		return fmt.Errorf("store: open sqlite %q: %w", dsn, err)
	}
	wdb.SetMaxOpenConns(1)
	wdb.SetMaxIdleConns(1)
	wdb.SetConnMaxLifetime(0)
	wdb.SetConnMaxIdleTime(0)
	db.writer, db.reader = w, w
	if strings.Contains(dsn, ":memory:") || strings.Contains(dsn, "mode=memory") {
		// Each connection to an in-memory database is a database of its own.
		return nil
	}
	r, err := gorm.Open(sqlite.Open(dsn+sep+sqlitePragmas+"&_pragma=query_only(1)"), cfg())
	if err != nil {
		wdb.Close()
		return fmt.Errorf("store: open sqlite %q: %w", dsn, err)
	}
	rdb, err := r.DB()
	if err != nil {
		wdb.Close()
		return fmt.Errorf("store: open sqlite %q: %w", dsn, err)
	}
	if maxReaders <= 0 {
		maxReaders = 8
	}
	rdb.SetMaxOpenConns(maxReaders)
	rdb.SetMaxIdleConns(maxReaders)
	db.reader = r
	return nil
}

// Backend returns BackendPostgres or BackendSQLite.
func (db *DB) Backend() string { return db.backend }

// Ping checks that the database answers (for a readiness probe).
func (db *DB) Ping(ctx context.Context) error {
	if err := db.ping(ctx); err != nil {
		return fmt.Errorf("store: ping %s: %w", db.backend, err)
	}
	return nil
}

func (db *DB) ping(ctx context.Context) error {
	for _, g := range db.pools() {
		sqlDB, err := g.DB()
		if err != nil {
			return err
		}
		if err := sqlDB.PingContext(ctx); err != nil {
			return err
		}
	}
	return nil
}

// Close closes the connection pools.
func (db *DB) Close() error {
	db.group.stop()
	var errs []error
	for _, g := range db.pools() {
		if sqlDB, err := g.DB(); err != nil {
			errs = append(errs, err)
		} else if err := sqlDB.Close(); err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("store: close: %w", err)
	}
	return nil
}

func (db *DB) pools() []*gorm.DB {
	if db.reader == db.writer {
		return []*gorm.DB{db.writer}
	}
	return []*gorm.DB{db.writer, db.reader}
}

// Tx is an open transaction, valid only inside the function given to [DB.InTx]. Its methods are
// those of DB and run inside the transaction.
type Tx struct {
	db *DB
	g  *gorm.DB
	// wroteOperators keeps this transaction's own, uncommitted operator rows out of the cache.
	wroteOperators bool
}

// InTx runs fn in one transaction: it commits when fn returns nil and rolls back when fn returns
// an error (returned as is) or panics. fn must use tx, not db, for its reads and writes: on SQLite
// the single writer connection is held by tx until fn returns.
func (db *DB) InTx(ctx context.Context, fn func(tx *Tx) error) error {
	fnFailed := false
	err := db.writer.WithContext(ctx).Transaction(func(g *gorm.DB) error {
		err := fn(&Tx{db: db, g: g})
		fnFailed = err != nil
		return err
	})
	if err == nil || fnFailed {
		return err
	}
	return fmt.Errorf("store: transaction: %w", translate(err))
}

// read runs f outside any transaction on the read pool.
func read[T any](ctx context.Context, db *DB, f func(*Tx) (T, error)) (T, error) {
	return f(&Tx{db: db, g: db.reader.WithContext(ctx)})
}

// write runs f in its own transaction.
func write[T any](ctx context.Context, db *DB, f func(*Tx) (T, error)) (T, error) {
	var out T
	err := db.InTx(ctx, func(tx *Tx) error {
		var err error
		out, err = f(tx)
		return err
	})
	return out, err
}

// q returns the gorm handle for one statement under ctx.
func (tx *Tx) q(ctx context.Context) *gorm.DB { return tx.g.WithContext(ctx) }

// translate turns driver errors into the package's sentinels, keeping the driver error's text.
func translate(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, gorm.ErrRecordNotFound), errors.Is(err, sql.ErrNoRows):
		return ErrNotFound
	case errors.Is(err, gorm.ErrDuplicatedKey):
		return fmt.Errorf("%w: %v", ErrDuplicate, err)
	case errors.Is(err, gorm.ErrForeignKeyViolated):
		return fmt.Errorf("%w: referenced row: %v", ErrNotFound, err)
	}
	return err
}

// whereEqual adds "col = value" for each non-empty value of the (column, value) pairs, in order.
func whereEqual(q *gorm.DB, colValues ...string) *gorm.DB {
	for i := 0; i+1 < len(colValues); i += 2 {
		if v := colValues[i+1]; v != "" {
			q = q.Where(colValues[i]+" = ?", v)
		}
	}
	return q
}
