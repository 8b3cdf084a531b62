package store

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/smdpp/smdpp/internal/testenv"
)

// sqliteDSN and postgresDSN give fresh, empty databases of each backend.
func sqliteDSN(tb testing.TB) string   { return testenv.Databases[0].NewDSN(tb) }
func postgresDSN(tb testing.TB) string { return testenv.FreshPostgres(tb) }

// testEpoch is where every fake clock starts.
var testEpoch = time.Date(2025, 3, 14, 15, 9, 26, 535897000, time.UTC)

// fakeClock is a settable clock for WithClock.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func newFakeClock() *fakeClock { return &fakeClock{now: testEpoch} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// openDB opens dsn and closes the DB when the test ends.
func openDB(tb testing.TB, dsn string, opts ...Option) *DB {
	tb.Helper()
	db, err := Open(context.Background(), dsn, opts...)
	if err != nil {
		tb.Fatalf("Open: %v", err)
	}
	tb.Cleanup(func() { db.Close() })
	return db
}

// newDB opens a fresh database of backend b with a fake clock.
func newDB(tb testing.TB, b testenv.Database) (*DB, *fakeClock) {
	tb.Helper()
	clock := newFakeClock()
	return openDB(tb, b.NewDSN(tb), WithClock(clock.Now)), clock
}

func iccid(i int) string { return fmt.Sprintf("8988%015d", i) }

// mustOperator creates operator id.
func mustOperator(tb testing.TB, db *DB, id string) Operator {
	tb.Helper()
	op, err := db.CreateOperator(context.Background(), Operator{ID: id, Name: "Operator " + id, CallbackURL: "https://" + id + ".example/es2plus"})
	if err != nil {
		tb.Fatalf("CreateOperator(%s): %v", id, err)
	}
	return op
}

// pool returns n Available profiles of operator and type, ICCIDs from first on.
func pool(operatorID, profileType string, first, n int) []Profile {
	ps := make([]Profile, n)
	for i := range ps {
		ps[i] = Profile{ICCID: iccid(first + i), OperatorID: operatorID, ProfileType: profileType,
			Package: []byte{0x30, 0x03, 0x02, 0x01, byte(i)}}
	}
	return ps
}

func mustCreateProfiles(tb testing.TB, db *DB, ps []Profile) {
	tb.Helper()
	if err := db.CreateProfiles(context.Background(), ps); err != nil {
		tb.Fatalf("CreateProfiles: %v", err)
	}
}

func mustGetProfile(tb testing.TB, db *DB, iccid string) Profile {
	tb.Helper()
	p, err := db.GetProfile(context.Background(), iccid)
	if err != nil {
		tb.Fatalf("GetProfile(%s): %v", iccid, err)
	}
	return p
}

// countProfiles counts all profiles, bypassing FindProfiles' limit.
func countProfiles(tb testing.TB, db *DB) int64 {
	tb.Helper()
	var n int64
	if err := db.reader.Model(&profileRow{}).Count(&n).Error; err != nil {
		tb.Fatalf("count profiles: %v", err)
	}
	return n
}

func ptr[T any](v T) *T { return &v }
