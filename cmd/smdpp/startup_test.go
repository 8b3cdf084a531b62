package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/smdpp/smdpp/devpki"
	"github.com/smdpp/smdpp/internal/testenv"
)

// TestServeRefusesBadSetup: a server that cannot start says why on one line and exits non-zero,
// without a panic.
func TestServeRefusesBadSetup(t *testing.T) {
	pkiOf := func(t *testing.T, opts devpki.Options) string {
		dir := filepath.Join(t.TempDir(), "pki")
		p, err := devpki.Generate(opts)
		if err != nil {
			t.Fatal(err)
		}
		if err := p.WriteDir(dir, false); err != nil {
			t.Fatal(err)
		}
		return dir
	}
	tests := []struct {
		name  string
		args  func(t *testing.T) []string
		wants string
	}{
		{"unreachable PostgreSQL", func(t *testing.T) []string {
			return []string{"--database", "postgres://smdpp@127.0.0.1:1/none?sslmode=disable&connect_timeout=2"}
		}, "store"},
		{"unreachable Redis", func(t *testing.T) []string { return []string{"--redis", "redis://127.0.0.1:1/0"} }, "redis"},
		{"missing DPpb key", func(t *testing.T) []string {
			dir := pkiOf(t, devpki.Options{})
			os.Remove(filepath.Join(dir, devpki.DPpbKeyFile))
			return []string{"--pki-dir", dir}
		}, devpki.DPpbKeyFile},
		{"key of another certificate", func(t *testing.T) []string {
			dir, other := pkiOf(t, devpki.Options{}), pkiOf(t, devpki.Options{})
			data, _ := os.ReadFile(filepath.Join(other, devpki.DPauthKeyFile))
			os.WriteFile(filepath.Join(dir, devpki.DPauthKeyFile), data, 0o600)
			return []string{"--pki-dir", dir}
		}, "does not match"},
		{"expired certificates", func(t *testing.T) []string {
			return []string{"--pki-dir", pkiOf(t, devpki.Options{Now: time.Now().AddDate(-10, 0, 0)})}
		}, "expired"},
		{"expired DPtls only", func(t *testing.T) []string {
			return []string{"--pki-dir", pkiOf(t, devpki.Options{Now: time.Now().AddDate(-2, 0, 0), TLSValidity: 365 * 24 * time.Hour})}
		}, "dptls.crt is valid from"},
		{"garbage certificate", func(t *testing.T) []string {
			dir := pkiOf(t, devpki.Options{})
			os.WriteFile(filepath.Join(dir, devpki.DPauthCertFile), []byte("not a certificate"), 0o644)
			return []string{"--pki-dir", dir}
		}, devpki.DPauthCertFile},
		{"bad flag value", func(t *testing.T) []string { return []string{"--session-ttl", "soon"} }, "session-ttl"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := append([]string{"serve", "--listen", testenv.FreeAddr(t), "--data-dir", t.TempDir()}, tt.args(t)...)
			out, err := exec.Command(binary, args...).CombinedOutput()
			if err == nil {
				t.Fatalf("serve started; output:\n%s", out)
			}
			text := strings.TrimSpace(string(out))
			if strings.Contains(text, "panic") || strings.Contains(text, "goroutine ") {
				t.Fatalf("serve panicked:\n%s", text)
			}
			last := text[strings.LastIndex(text, "\n")+1:]
			if !strings.HasPrefix(last, "smdpp: ") && !strings.Contains(last, "invalid value") {
				t.Errorf("last line %q is not the one-line error", last)
			}
			if !strings.Contains(text, tt.wants) {
				t.Errorf("output does not mention %q:\n%s", tt.wants, text)
			}
		})
	}
}
