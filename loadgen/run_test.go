package loadgen

import (
	"crypto/x509"
	"strings"
	"testing"
	"time"

	"github.com/smdpp/smdpp/activation"
)

func TestConfigValidate(t *testing.T) {
	valid := func() Config {
		return Config{
			Targets: []string{"127.0.0.1:8443"}, RootCAs: x509.NewCertPool(), Mode: ModeDownload, Protocol: HTTP2,
			Concurrency: 2, Count: 1, Duration: time.Minute, Timeout: 10 * time.Second,
			Authority: &Authority{}, EUICCs: []Identity{{}},
			Codes: []activation.Code{{Address: "127.0.0.1:8443", MatchingID: "A"}},
		}
	}
	tests := []struct {
		name   string
		change func(*Config)
		want   string // part of the error; "" for valid
	}{
		{"valid", func(*Config) {}, ""},
		{"initiate-only", func(c *Config) { c.Mode, c.Codes, c.Count, c.Address = ModeInitiateOnly, nil, 100, "127.0.0.1:8443" }, ""},
		{"HTTP/1.1 with a rate", func(c *Config) { c.Protocol, c.Rate = HTTP11, 50 }, ""},
		{"two loopback targets", func(c *Config) { c.Targets = []string{"127.0.0.1:1", "[::1]:2"} }, ""},
		{"no target", func(c *Config) { c.Targets = nil }, "no target"},
		{"remote target", func(c *Config) { c.Targets = []string{"127.0.0.1:1", "10.0.0.1:8443"} }, "not a loopback"},
		{"no roots", func(c *Config) { c.RootCAs = nil }, "trust anchor"},
		{"bad protocol", func(c *Config) { c.Protocol = "h3" }, "protocol"},
		{"zero concurrency", func(c *Config) { c.Concurrency = 0 }, "concurrency"},
		{"huge concurrency", func(c *Config) { c.Concurrency = MaxConcurrency + 1 }, "concurrency"},
		{"zero count", func(c *Config) { c.Count = 0 }, "count"},
		{"count beyond bound", func(c *Config) { c.Count = MaxCount + 1 }, "count"},
		{"no duration", func(c *Config) { c.Duration = 0 }, "duration"},
		{"duration beyond bound", func(c *Config) { c.Duration = 2 * time.Hour }, "duration"},
		{"short timeout", func(c *Config) { c.Timeout = time.Millisecond }, "timeout"},
		{"negative rate", func(c *Config) { c.Rate = -1 }, "rate"},
		{"no identities", func(c *Config) { c.EUICCs = nil }, "identities"},
		{"fewer orders than count", func(c *Config) { c.Count = 2 }, "released orders"},
		{"initiate-only without address", func(c *Config) { c.Mode, c.Address = ModeInitiateOnly, "" }, "address"},
		{"unknown mode", func(c *Config) { c.Mode = "soak" }, "mode"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := valid()
			tc.change(&c)
			err := c.Validate()
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("unexpected error %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Errorf("error %v, want one about %q", err, tc.want)
			}
		})
	}
}
