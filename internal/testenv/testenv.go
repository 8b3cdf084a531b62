// Package testenv gives tests the real PostgreSQL and Redis servers that scripts/services.sh starts.
//
// Outside CI a test that needs a server the environment does not name is skipped with a hint;
// under CI=true it fails, so the suite can never pass without having run against the real servers.
package testenv

import (
	"os"
	"testing"
)

// PostgresDSN returns the DSN of the test PostgreSQL database (SMDPP_TEST_POSTGRES_DSN).
func PostgresDSN(t testing.TB) string { return require(t, "SMDPP_TEST_POSTGRES_DSN") }

// RedisURL returns the URL of the test Redis server (SMDPP_TEST_REDIS_URL).
func RedisURL(t testing.TB) string { return require(t, "SMDPP_TEST_REDIS_URL") }

func require(t testing.TB, name string) string {
	t.Helper()
	if v := os.Getenv(name); v != "" {
		return v
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s is not set: CI must run this test against the real server (scripts/test.sh sets it)", name)
	}
	t.Skipf("%s is not set; run scripts/test.sh, or eval \"$(scripts/services.sh)\" first", name)
	return ""
}
