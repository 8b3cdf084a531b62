//go:build unix

package faulttest

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/smdpp/smdpp/devpki"
)

var (
	// binary is the smdpp command, built once.
	binary string
	// pkiDir is a development PKI (NIST P-256) generated once and copied into the data directory
	// of every server, so that no test pays for key generation.
	pkiDir string
	// ciPool trusts the CI of pkiDir, which issued the DPtls certificate.
	ciPool *x509.CertPool
	// dptls is the server's TLS certificate; the fault proxy presents it too.
	dptls tls.Certificate
	// eids are the test eUICCs of pkiDir.
	eids []string
)

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "smdpp-faulttest")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := 1
	if err := setup(dir); err != nil {
		fmt.Fprintln(os.Stderr, "faulttest:", err)
	} else {
		code = m.Run()
	}
	os.RemoveAll(dir)
	os.Exit(code)
}

func setup(dir string) error {
	binary = filepath.Join(dir, "smdpp")
	if out, err := exec.Command("go", "build", "-o", binary, "../cmd/smdpp").CombinedOutput(); err != nil {
		return fmt.Errorf("building smdpp: %v\n%s", err, out)
	}
	pki := filepath.Join(dir, "pki")
	if out, err := exec.Command(binary, "pki", "init", "--dir", pki, "--curve", "nist").CombinedOutput(); err != nil {
		return fmt.Errorf("smdpp pki init: %v\n%s", err, out)
	}
	pkiDir = filepath.Join(pki, "nist")
	ci, err := os.ReadFile(filepath.Join(pkiDir, devpki.CICertFile))
	if err != nil {
		return err
	}
	ciPool = x509.NewCertPool()
	if !ciPool.AppendCertsFromPEM(ci) {
		return fmt.Errorf("no certificate in %s", devpki.CICertFile)
	}
	if dptls, err = tls.LoadX509KeyPair(filepath.Join(pkiDir, devpki.DPtlsCertFile), filepath.Join(pkiDir, devpki.DPtlsKeyFile)); err != nil {
		return err
	}
	entries, err := os.ReadDir(filepath.Join(pkiDir, devpki.EUICCDir))
	if err != nil {
		return err
	}
	for _, e := range entries {
		if eid, ok := strings.CutSuffix(e.Name(), devpki.CertSuffix); ok {
			eids = append(eids, eid)
		}
	}
	sort.Strings(eids)
	if len(eids) < 3 {
		return fmt.Errorf("want 3 test eUICCs, have %d", len(eids))
	}
	return nil
}

// copyPKI puts the shared PKI into a server's data directory, where `smdpp serve` looks for it.
func copyPKI(t *testing.T, dataDir string) {
	t.Helper()
	dst := filepath.Join(dataDir, "pki", "nist")
	err := filepath.WalkDir(pkiDir, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(pkiDir, path)
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(dst, rel), 0o700)
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), data, 0o600)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// requireBinary finds a program the test needs. Outside CI a missing one skips the test (with
// the hint to run scripts/services.sh, which installs it); under CI=true it fails the test.
func requireBinary(t *testing.T, name string, candidates ...string) string {
	t.Helper()
	for _, c := range candidates {
		if matches, _ := filepath.Glob(c); len(matches) > 0 {
			sort.Strings(matches)
			return matches[len(matches)-1]
		}
	}
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s is not installed: CI must run the fault tests (scripts/services.sh installs it)", name)
	}
	t.Skipf("%s is not installed; run scripts/services.sh to install it", name)
	return ""
}

// syncBuffer is a bytes.Buffer safe for a process writing while the test reads.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
