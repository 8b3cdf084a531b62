package progress

import (
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"path/filepath"
	"strings"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib"

	"github.com/smdpp/smdpp/internal/testenv"
	"github.com/smdpp/smdpp/store"
)

// backend is one database the suite runs against; newDSN gives a fresh empty one.
type backend struct {
	name   string
	newDSN func(tb testing.TB) string
}

var backends = []backend{
	{store.BackendSQLite, func(tb testing.TB) string { return filepath.Join(tb.TempDir(), "smdpp.db") }},
	{store.BackendPostgres, postgresDSN},
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

// postgresDSN creates a schema of its own in the test database and returns a DSN whose
// search_path is that schema; the schema is dropped when the test ends. The schema is made
// through database/sql and pgx, since gorm stays inside package store.
func postgresDSN(tb testing.TB) string {
	base := testenv.PostgresDSN(tb)
	var buf [8]byte
	rand.Read(buf[:])
	schema := "progress_test_" + hex.EncodeToString(buf[:])
	admin, err := sql.Open("pgx", base)
	if err != nil {
		tb.Fatalf("connect to test PostgreSQL: %v", err)
	}
	admin.SetMaxOpenConns(1)
	if _, err := admin.Exec("CREATE SCHEMA " + schema); err != nil {
		tb.Fatalf("create schema: %v", err)
	}
	tb.Cleanup(func() {
		if _, err := admin.Exec("DROP SCHEMA " + schema + " CASCADE"); err != nil {
			tb.Errorf("drop schema %s: %v", schema, err)
		}
		admin.Close()
	})
	if strings.HasPrefix(base, "postgres://") || strings.HasPrefix(base, "postgresql://") {
		u, err := url.Parse(base)
		if err != nil {
			tb.Fatal(err)
		}
		q := u.Query()
		q.Set("search_path", schema)
		u.RawQuery = q.Encode()
		return u.String()
	}
	return base + " search_path=" + schema
}
