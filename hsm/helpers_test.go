//go:build cgo

package hsm

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"os"
	"testing"

	"github.com/smdpp/smdpp/internal/testenv"
)

// The tests run against the SoftHSM2 token scripts/softhsm.sh prepares.
const (
	envToken        = "SMDPP_TEST_PKCS11_TOKEN"
	envPIN          = "SMDPP_TEST_PKCS11_PIN"
	defaultTestTok  = "smdpp-test"
	defaultTestPIN  = "1234"
	wrongTestPIN    = "0000"
	missingTokLabel = "smdpp-no-such-token"
)

// testModulePath returns the PKCS#11 module the tests use: without it a test is skipped, except
// under CI=true, where it fails, so CI cannot pass without the HSM tests.
func testModulePath(t testing.TB) string { return testenv.PKCS11Module(t) }

func testToken() string { return envOr(envToken, defaultTestTok) }
func testPIN() string   { return envOr(envPIN, defaultTestPIN) }

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

// openTest opens the test token; it is closed when the test ends.
func openTest(t testing.TB, opts ...Option) *Module {
	t.Helper()
	m, err := Open(testModulePath(t), testToken(), testPIN(), opts...)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { m.Close() })
	return m
}

// freshLabel returns a label no other test (or earlier run) uses, and deletes its key at the
// end of the test, before m is closed.
func freshLabel(t testing.TB, m *Module, prefix string) string {
	t.Helper()
	var b [6]byte
	rand.Read(b[:])
	label := "test-" + prefix + "-" + hex.EncodeToString(b[:])
	t.Cleanup(func() {
		if err := m.DeleteKey(label); err != nil && !errors.Is(err, ErrKeyNotFound) {
			t.Errorf("deleting %s: %v", label, err)
		}
	})
	return label
}
