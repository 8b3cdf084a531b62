//go:build unix

package faulttest

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/smdpp/smdpp/internal/testenv"
)

// server is `smdpp serve` as a process the test can kill -9 and start again on the same data
// directory, database and port.
type server struct {
	listen  string // where it listens
	dataDir string
	dsn     string // its database: the SQLite file in dataDir or a PostgreSQL DSN
	args    []string
	stderr  *syncBuffer // of every run, in order

	mu        sync.Mutex
	cmd       *exec.Cmd
	exited    chan struct{} // closed when the current run's process has exited
	expected  bool          // the current run is being stopped on purpose
	crashes   []string      // runs that ended without being told to
	runs      int
	exitCodes []int // of the runs stopped with SIGINT
}

// newServer prepares a server answering for the SM-DP+ address public (the fault proxy) with
// the shared PKI and the extra serve flags; start runs it. It is stopped with SIGINT when the
// test ends, which must end it cleanly, and no run may have ended by itself.
func newServer(t *testing.T, public string, extra ...string) *server {
	t.Helper()
	s := &server{listen: testenv.FreeAddr(t), dataDir: t.TempDir(), stderr: new(syncBuffer)}
	copyPKI(t, s.dataDir)
	s.dsn = filepath.Join(s.dataDir, "smdpp.db")
	for i, a := range extra {
		if a == "--database" && i+1 < len(extra) {
			s.dsn = extra[i+1]
		}
	}
	s.args = append([]string{"serve", "--listen", s.listen, "--address", public, "--data-dir", s.dataDir,
		"--log-level", "warn"}, extra...)
	t.Cleanup(func() {
		if err := s.stop(); err != nil {
			t.Errorf("stopping smdpp serve: %v", err)
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		for _, c := range s.crashes {
			t.Errorf("smdpp serve ended by itself: %s", c)
		}
		for _, code := range s.exitCodes {
			if code != 0 {
				t.Errorf("smdpp serve exited with status %d on SIGINT", code)
			}
		}
		if out := s.stderr.String(); strings.Contains(out, "panic:") || strings.Contains(out, "fatal error:") {
			t.Errorf("smdpp serve panicked; stderr:\n%s", out)
		}
		if t.Failed() {
			t.Logf("smdpp serve stderr (%d runs):\n%s", s.runs, s.stderr)
		}
	})
	return s
}

// start runs the server and waits until /readyz answers 200.
func (s *server) start() error {
	s.mu.Lock()
	if s.cmd != nil {
		s.mu.Unlock()
		return errors.New("smdpp serve is already running")
	}
	s.runs++
	fmt.Fprintf(s.stderr, "--- run %d\n", s.runs)
	cmd := exec.Command(binary, s.args...)
	cmd.Stderr = s.stderr
	cmd.Stdout = s.stderr
	cmd.SysProcAttr = childAttr()
	if err := cmd.Start(); err != nil {
		s.mu.Unlock()
		return err
	}
	exited := make(chan struct{})
	s.cmd, s.exited, s.expected = cmd, exited, false
	s.mu.Unlock()
	go func() {
		err := cmd.Wait()
		s.mu.Lock()
		if !s.expected {
			s.crashes = append(s.crashes, fmt.Sprintf("run %d: %v", s.runs, err))
		}
		s.mu.Unlock()
		close(exited)
	}()
	return s.waitReady(60 * time.Second)
}

// waitReady polls /readyz until it answers 200.
func (s *server) waitReady(timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		code, err := s.readyz()
		if code == http.StatusOK {
			return nil
		}
		if !s.running() {
			return fmt.Errorf("smdpp serve exited before it was ready; stderr:\n%s", s.stderr)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("smdpp serve not ready after %v: HTTP %d, %v", timeout, code, err)
		}
		time.Sleep(25 * time.Millisecond)
	}
}

// readyz returns the HTTP status of /readyz.
func (s *server) readyz() (int, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "https://"+s.listen+"/readyz", nil)
	resp, err := directClient().Do(req)
	if err != nil {
		return 0, err
	}
	resp.Body.Close()
	return resp.StatusCode, nil
}

// directClient calls the server itself (not through the proxy), trusting the test CI, on a new
// connection per request so that none outlives a killed server.
var directClient = sync.OnceValue(func() *http.Client {
	return &http.Client{Timeout: time.Minute, Transport: &http.Transport{
		TLSClientConfig:   &tls.Config{RootCAs: ciPool, ServerName: "127.0.0.1"},
		DisableKeepAlives: true,
	}}
})

// running reports whether the current run's process is alive.
func (s *server) running() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil {
		return false
	}
	select {
	case <-s.exited:
		return false
	default:
		return true
	}
}

// kill ends the server with SIGKILL (kill -9) and waits for the process to be gone.
func (s *server) kill() error { return s.end(syscall.SIGKILL) }

// stop ends the server with SIGINT, as an operator would, and waits for it to exit.
func (s *server) stop() error { return s.end(os.Interrupt) }

func (s *server) end(sig os.Signal) error {
	s.mu.Lock()
	cmd, exited := s.cmd, s.exited
	if cmd == nil {
		s.mu.Unlock()
		return nil
	}
	s.expected = true
	s.mu.Unlock()
	cmd.Process.Signal(sig)
	select {
	case <-exited:
	case <-time.After(30 * time.Second):
		cmd.Process.Kill()
		<-exited
		return fmt.Errorf("smdpp serve did not end within 30 s of %v", sig)
	}
	s.mu.Lock()
	if sig == os.Interrupt {
		s.exitCodes = append(s.exitCodes, cmd.ProcessState.ExitCode())
	}
	s.cmd = nil
	s.mu.Unlock()
	return nil
}
