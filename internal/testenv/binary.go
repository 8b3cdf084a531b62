package testenv

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/smdpp/smdpp/activation"
)

// RunWithSmdpp is TestMain for packages whose tests run the server as a process: it builds
// cmd/smdpp (pkgDir is its path from the test's package) into a temporary directory, sets *binary
// to its path, runs the tests and removes it again. It does not return.
func RunWithSmdpp(m *testing.M, pkgDir string, binary *string) {
	dir, err := os.MkdirTemp("", "smdpp-bin")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	*binary = filepath.Join(dir, "smdpp")
	code := 1
	if out, err := exec.Command("go", "build", "-o", *binary, pkgDir).CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "building smdpp: %v\n%s", err, out)
	} else {
		code = m.Run()
	}
	os.RemoveAll(dir)
	os.Exit(code)
}

var activationRE = regexp.MustCompile(`activation code (LPA:\S+)`)

// ParseOrderCreate reads the output of `smdpp order create`: the ICCID and the activation code.
func ParseOrderCreate(t testing.TB, out []byte) (string, activation.Code) {
	t.Helper()
	m := activationRE.FindSubmatch(out)
	if m == nil {
		t.Fatalf("no activation code in %q", out)
	}
	code, err := activation.Parse(string(m[1]))
	if err != nil {
		t.Fatal(err)
	}
	iccid := strings.TrimPrefix(strings.SplitN(string(out), "\n", 2)[0], "iccid ")
	return iccid, code
}

// Smdpp is a `smdpp serve` process started by StartSmdpp.
type Smdpp struct {
	Cmd    *exec.Cmd
	Stderr *bytes.Buffer
	once   sync.Once
}

// StartSmdpp runs binary with args (a `serve` command line listening on addr) and waits until
// /readyz answers 200 over HTTPS, trusting the CI certificate in ciFile, which may appear only
// once the server has generated its PKI. The server is stopped with SIGINT when the test ends,
// or earlier by Stop; a non-zero exit fails the test.
func StartSmdpp(t testing.TB, binary, addr, ciFile string, args ...string) *Smdpp {
	t.Helper()
	s := &Smdpp{Cmd: exec.Command(binary, args...), Stderr: new(bytes.Buffer)}
	s.Cmd.Stderr = s.Stderr
	if err := s.Cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Stop(t) })
	deadline := time.Now().Add(60 * time.Second)
	for {
		err := errors.New("no CI certificate yet")
		if ci, rerr := os.ReadFile(ciFile); rerr == nil {
			pool := x509.NewCertPool()
			pool.AppendCertsFromPEM(ci)
			client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
			var resp *http.Response
			if resp, err = client.Get("https://" + addr + "/readyz"); err == nil {
				resp.Body.Close()
				client.CloseIdleConnections()
				if resp.StatusCode == http.StatusOK {
					return s
				}
				err = fmt.Errorf("/readyz: HTTP %d", resp.StatusCode)
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("smdpp serve not ready: %v; stderr:\n%s", err, s.Stderr)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// Stop sends SIGINT and waits up to 20 s for a clean exit.
func (s *Smdpp) Stop(t testing.TB) {
	s.once.Do(func() {
		s.Cmd.Process.Signal(os.Interrupt)
		done := make(chan error, 1)
		go func() { done <- s.Cmd.Wait() }()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("smdpp serve exited with %v; stderr:\n%s", err, s.Stderr)
			}
		case <-time.After(20 * time.Second):
			s.Cmd.Process.Kill()
			t.Errorf("smdpp serve did not stop on SIGINT")
		}
	})
}
