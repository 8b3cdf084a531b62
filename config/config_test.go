package config

import (
	"flag"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func load(t *testing.T, args []string, env map[string]string) (Config, error) {
	t.Helper()
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	return Load(fs, args, func(k string) string { return env[k] })
}

func TestDefaultsNeedNothing(t *testing.T) {
	cfg, err := load(t, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Database != filepath.Join("smdpp-data", "smdpp.db") || cfg.PKIDir != filepath.Join("smdpp-data", "pki") ||
		cfg.Redis != "" || cfg.Address != cfg.Listen {
		t.Errorf("derived defaults wrong: %+v", cfg)
	}
}

func TestPrecedence(t *testing.T) {
	file := filepath.Join(t.TempDir(), "c.json")
	if err := os.WriteFile(file, []byte(`{"listen":"127.0.0.1:1","dataDir":"/from-file","sessionTTL":"1m","logLevel":"warn"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"SMDPP_CONFIG": file, "SMDPP_DATA_DIR": "/from-env", "SMDPP_SESSION_TTL": "2m"}
	cfg, err := load(t, []string{"--session-ttl=3m"}, env)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Listen != "127.0.0.1:1" || cfg.DataDir != "/from-env" || time.Duration(cfg.SessionTTL) != 3*time.Minute || cfg.LogLevel != "warn" {
		t.Errorf("precedence wrong: %+v", cfg)
	}
}

func TestRejects(t *testing.T) {
	dir := t.TempDir()
	unknown := filepath.Join(dir, "unknown.json")
	os.WriteFile(unknown, []byte(`{"listen":"127.0.0.1:1","databse":"typo"}`), 0o600)
	tests := []struct {
		name string
		args []string
		env  map[string]string
		want string
	}{
		{"unknown file key", nil, map[string]string{"SMDPP_CONFIG": unknown}, "unknown field"},
		{"missing file", []string{"--config", filepath.Join(dir, "nope.json")}, nil, "reading config file"},
		{"bad listen", []string{"--listen", "nope"}, nil, "listen"},
		{"bad duration env", nil, map[string]string{"SMDPP_SESSION_TTL": "soon"}, "SMDPP_SESSION_TTL"},
		{"negative ttl", []string{"--session-ttl=-1s"}, nil, "session-ttl"},
		{"bad level", []string{"--log-level=loud"}, nil, "log-level"},
		{"stray argument", []string{"extra"}, nil, "unexpected arguments"},
		{"address with dollar", []string{"--address", "a$b"}, nil, "address"},
		{"pprof on all interfaces", []string{"--pprof-listen", ":6060"}, nil, "pprof-listen"},
		{"pprof on a public address", []string{"--pprof-listen", "192.0.2.1:6060"}, nil, "pprof-listen"},
		{"pprof without port", nil, map[string]string{"SMDPP_PPROF_LISTEN": "127.0.0.1"}, "pprof-listen"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := load(t, tt.args, tt.env)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want it to mention %q", err, tt.want)
			}
		})
	}
}

// TestExampleConfigsLoad keeps every shipped example valid.
func TestExampleConfigsLoad(t *testing.T) {
	files, _ := filepath.Glob("../docs/examples/*.json")
	if len(files) == 0 {
		t.Fatal("no example configs found")
	}
	for _, f := range files {
		if _, err := load(t, []string{"--config", f}, nil); err != nil {
			t.Errorf("%s: %v", f, err)
		}
	}
}
