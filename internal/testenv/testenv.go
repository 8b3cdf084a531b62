// Package testenv gives tests the real PostgreSQL and Redis servers that scripts/services.sh starts.
//
// Outside CI a test that needs a server the environment does not name is skipped with a hint;
// under CI=true it fails, so the suite can never pass without having run against the real servers.
package testenv

import (
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" database/sql driver
)

// PostgresDSN returns the DSN of the test PostgreSQL database (SMDPP_TEST_POSTGRES_DSN).
func PostgresDSN(t testing.TB) string { return require(t, "SMDPP_TEST_POSTGRES_DSN") }

// RedisURL returns the URL of the test Redis server (SMDPP_TEST_REDIS_URL).
func RedisURL(t testing.TB) string { return require(t, "SMDPP_TEST_REDIS_URL") }

// PKCS11Module returns the path of the SoftHSM PKCS#11 module scripts/softhsm.sh set up
// (SMDPP_TEST_PKCS11_MODULE); its token and PIN are in SMDPP_TEST_PKCS11_TOKEN and _PIN.
func PKCS11Module(t testing.TB) string { return require(t, "SMDPP_TEST_PKCS11_MODULE") }

func require(t testing.TB, name string) string {
	t.Helper()
	if v := os.Getenv(name); v != "" {
		return v
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s is not set: CI must run this test against the real server (scripts/test.sh sets it)", name)
	}
	t.Skipf("%s is not set; run scripts/test.sh, or eval the scripts/services.sh and scripts/softhsm.sh output first", name)
	return ""
}

// FreshPostgres creates a schema of its own in the test database and returns a DSN whose
// search_path is that schema, so tests run in parallel, also with other packages' tests. The
// schema is dropped when the test ends.
func FreshPostgres(tb testing.TB) string {
	tb.Helper()
	base := PostgresDSN(tb)
	var buf [8]byte
	rand.Read(buf[:])
	schema := "test_" + hex.EncodeToString(buf[:])
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
	return withSearchPath(base, schema)
}

func withSearchPath(dsn, schema string) string {
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		u, err := url.Parse(dsn)
		if err != nil {
			panic(err)
		}
		q := u.Query()
		q.Set("search_path", schema)
		u.RawQuery = q.Encode()
		return u.String()
	}
	return dsn + " search_path=" + schema
}

// Database is one backend a suite runs against: its name and a fresh, empty database's DSN.
type Database struct {
	Name   string
	NewDSN func(tb testing.TB) string
}

// Databases are the two backends every database suite covers: a SQLite file in the test's
// temporary directory and a fresh PostgreSQL schema.
var Databases = []Database{
	{"sqlite", func(tb testing.TB) string { return filepath.Join(tb.TempDir(), "smdpp.db") }},
	{"postgres", FreshPostgres},
}

// EachDatabase runs fn as a parallel subtest per backend.
func EachDatabase(t *testing.T, fn func(t *testing.T, db Database)) {
	t.Helper()
	for _, d := range Databases {
		t.Run(d.Name, func(t *testing.T) {
			t.Parallel()
			fn(t, d)
		})
	}
}
