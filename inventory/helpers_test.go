package inventory

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/smdpp/smdpp/internal/testenv"
	"github.com/smdpp/smdpp/profiles"
	"github.com/smdpp/smdpp/store"
)

// backend is a database the suite runs against.
type backend struct {
	name   string
	newDSN func(tb testing.TB) string
}

var backends = []backend{
	{store.BackendSQLite, func(tb testing.TB) string { return filepath.Join(tb.TempDir(), "smdpp.db") }},
	{store.BackendPostgres, testenv.FreshPostgres},
}

// eachBackend runs fn as a parallel subtest per backend.
func eachBackend(t *testing.T, fn func(t *testing.T, b backend)) {
	t.Helper()
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			fn(t, b)
		})
	}
}

var testEpoch = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)

// fakeClock is a settable clock for the store and the service.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

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

// env is one test's database and service.
type env struct {
	db    *store.DB
	svc   *Service
	clock *fakeClock
	logs  *bytes.Buffer
}

// newEnv opens a fresh database of backend b with operators op1 and op2, and a Service on it.
func newEnv(tb testing.TB, b backend, opts ...Option) *env {
	tb.Helper()
	clock := &fakeClock{now: testEpoch}
	db, err := store.Open(context.Background(), b.newDSN(tb), store.WithClock(clock.Now))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	for _, id := range []string{"op1", "op2"} {
		if _, err := db.CreateOperator(context.Background(), store.Operator{ID: id, Name: id}); err != nil {
			tb.Fatal(err)
		}
	}
	logs := &bytes.Buffer{}
	var w io.Writer = logs
	if testing.Verbose() {
		w = io.MultiWriter(logs, os.Stderr)
	}
	log := slog.New(slog.NewTextHandler(&lockedWriter{w: w}, nil))
	opts = append([]Option{WithClock(clock.Now), WithLogger(log)}, opts...)
	return &env{db: db, svc: New(db, opts...), clock: clock, logs: logs}
}

type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// template returns a TS.48 template package.
func template(tb testing.TB) []byte {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join("..", "testdata", "upp", "TS48v2_SAIP2.3_NoBERTLV.der"))
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// testICCID is the i-th ICCID of the tests: 19 digits with check digit.
func testICCID(i int) string { return profiles.WithLuhn(fmt.Sprintf("894450%012d", i)) }

// testIMSI is the i-th IMSI of the tests.
func testIMSI(i int) string { return fmt.Sprintf("23450%010d", i) }

// csvHeader is the documented header.
const csvHeader = "iccid,imsi,ki,opc,pin1,puk1,pin2,puk2,adm1,region"

// csvLine is a valid row for profile i in region.
func csvLine(i int, region string) string {
	return fmt.Sprintf("%s,%s,%032X,%032x,1234,12345678,5678,87654321,%08d,%s",
		testICCID(i), testIMSI(i), i, i+1, i%100000000, region)
}

// csvFile is a CSV input with n valid rows from first on.
func csvFile(first, n int, region string) string {
	var b strings.Builder
	b.WriteString(csvHeader + "\n")
	for i := first; i < first+n; i++ {
		b.WriteString(csvLine(i, region) + "\n")
	}
	return b.String()
}

func mustCSV(tb testing.TB, s string) *Input {
	tb.Helper()
	in, err := ReadCSV(strings.NewReader(s))
	if err != nil {
		tb.Fatal(err)
	}
	return in
}

// batch is an import of the CSV s for op1, type "T".
func batch(tb testing.TB, s string) Batch {
	return Batch{OperatorID: "op1", ProfileType: "T", Template: template(tb), Input: mustCSV(tb, s)}
}

// countProfiles counts the operator's profiles in every state.
func countProfiles(tb testing.TB, db *store.DB) int {
	tb.Helper()
	levels, err := db.PoolLevels(context.Background(), "")
	if err != nil {
		tb.Fatal(err)
	}
	n := 0
	for _, l := range levels {
		n += l.Total
	}
	return n
}

// events returns the events of a kind.
func events(tb testing.TB, db *store.DB, kind string) []store.Event {
	tb.Helper()
	es, err := db.ListEvents(context.Background(), store.EventFilter{Kind: kind, Limit: store.MaxFindLimit})
	if err != nil {
		tb.Fatal(err)
	}
	return es
}
