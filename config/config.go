// Package config is the typed configuration of `smdpp serve`: one struct, its defaults, and its
// sources. Values come, from weakest to strongest, from the defaults, an optional JSON file,
// SMDPP_* environment variables, and command-line flags. Every field has one entry in the
// field table below, which gives its flag, its environment variable and its help text, so
// `smdpp serve --help` documents exactly what is read.
package config

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Config is everything `smdpp serve` reads. The zero value is not usable: start from Default.
type Config struct {
	// Listen is the TCP address of the HTTPS server (ES9+, ES2+, health).
	Listen string `json:"listen"`
	// Address is the SM-DP+ address devices use (SGP.22 §4.1 activation code, smdpAddress);
	// empty means the listen address.
	Address string `json:"address"`
	// DataDir holds the SQLite database and the generated development PKI.
	DataDir string `json:"dataDir"`
	// Database is a SQLite file path or a PostgreSQL DSN; empty means DataDir/smdpp.db.
	Database string `json:"database"`
	// Redis is a redis:// URL for RSP sessions shared across replicas; empty keeps them in memory.
	Redis string `json:"redis"`
	// PKIDir holds the SM-DP+ certificates and keys; empty means DataDir/pki, generated on first start.
	PKIDir string `json:"pkiDir"`
	// Operators is a JSON file of the operators allowed on ES2+ with their credentials (JWKS
	// and/or client certificate fingerprints) and callback URLs; empty disables ES2+.
	Operators string `json:"operators"`
	// ES2PlusAudience is the audience operators' JWTs must name; empty means the SM-DP+ address.
	ES2PlusAudience string `json:"es2plusAudience"`
	// MetricsListen is a plain-HTTP address for /metrics (Prometheus); empty serves no metrics.
	// Keep it off the public network: it shows operators and pool sizes.
	MetricsListen string `json:"metricsListen"`
	// PprofListen is a loopback plain-HTTP address for the Go profiler (net/http/pprof under
	// /debug/pprof/); empty serves none. Profiles show request data, so it must be loopback.
	PprofListen string `json:"pprofListen"`
	// RateLimit is the requests per second each client (IP address, or client certificate on
	// ES2+) may make, with bursts of RateBurst; 0 turns the limit off.
	RateLimit float64 `json:"rateLimit"`
	RateBurst int     `json:"rateBurst"`
	// MatchingIDGuesses is how many wrong matchingIds an eUICC may present in an hour before it is
	// locked out for an hour.
	MatchingIDGuesses int `json:"matchingIdGuesses"`
	// AdminTokenFile holds the bearer token of the admin API under /admin (at least 16
	// characters); empty disables the admin API.
	AdminTokenFile string `json:"adminTokenFile"`
	// ConsolePasswords is a JSON file {"admin": HASH, "operators": {ID: HASH}} of bcrypt or
	// argon2id password hashes for the web console under /console; empty disables the console.
	ConsolePasswords string `json:"consolePasswords"`
	// ReleasedMaxAge returns a released order that was never downloaded to its pool after this
	// long; 0 keeps released orders until the operator cancels them.
	ReleasedMaxAge Duration `json:"releasedMaxAge"`
	// SessionTTL is how long an RSP session may last from InitiateAuthentication to its end.
	SessionTTL Duration `json:"sessionTTL"`
	// MaxBodyBytes caps every request body.
	MaxBodyBytes int64 `json:"maxBodyBytes"`
	// ReadTimeout, WriteTimeout and IdleTimeout bound each HTTP connection.
	ReadTimeout  Duration `json:"readTimeout"`
	WriteTimeout Duration `json:"writeTimeout"`
	IdleTimeout  Duration `json:"idleTimeout"`
	// ShutdownTimeout is how long in-flight requests get after SIGTERM.
	ShutdownTimeout Duration `json:"shutdownTimeout"`
	// LogLevel is debug, info, warn or error; LogFormat is text or json.
	LogLevel  string `json:"logLevel"`
	LogFormat string `json:"logFormat"`
}

// Duration is a time.Duration written as "30s" in JSON.
type Duration time.Duration

// UnmarshalJSON accepts a Go duration string.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("duration must be a string like \"30s\": %w", err)
	}
	v, err := time.ParseDuration(s)
	*d = Duration(v)
	return err
}

// MarshalJSON writes a Go duration string.
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

// Default returns the embedded defaults: everything local, nothing to install.
func Default() Config {
	return Config{
		Listen:            "127.0.0.1:8443",
		DataDir:           "smdpp-data",
		SessionTTL:        Duration(5 * time.Minute),
		RateLimit:         50,
		RateBurst:         200,
		MatchingIDGuesses: 10,
		MaxBodyBytes:      256 << 10,
		ReadTimeout:       Duration(30 * time.Second),
		WriteTimeout:      Duration(60 * time.Second),
		IdleTimeout:       Duration(120 * time.Second),
		ShutdownTimeout:   Duration(15 * time.Second),
		LogLevel:          "info",
		LogFormat:         "text",
	}
}

// field binds one Config field to its flag and environment variable.
type field struct {
	name  string // flag name; the environment variable is SMDPP_ + upper-case with _ for -
	usage string
	value func(*Config) flag.Value
}

var fields = []field{
	{"listen", "HTTPS listen address", func(c *Config) flag.Value { return (*stringValue)(&c.Listen) }},
	{"address", "SM-DP+ address for activation codes and the smdpAddress check (default: the listen address)", func(c *Config) flag.Value { return (*stringValue)(&c.Address) }},
	{"data-dir", "directory for the SQLite database and generated PKI", func(c *Config) flag.Value { return (*stringValue)(&c.DataDir) }},
	{"database", "SQLite file or PostgreSQL DSN (default: DATA-DIR/smdpp.db)", func(c *Config) flag.Value { return (*stringValue)(&c.Database) }},
	{"redis", "redis:// URL for RSP sessions shared by replicas (default: in memory)", func(c *Config) flag.Value { return (*stringValue)(&c.Redis) }},
	{"pki-dir", "SM-DP+ certificates and keys (default: DATA-DIR/pki, generated on first start)", func(c *Config) flag.Value { return (*stringValue)(&c.PKIDir) }},
	{"operators", "JSON file of ES2+ operators: credentials and callback URLs (default: ES2+ off)", func(c *Config) flag.Value { return (*stringValue)(&c.Operators) }},
	{"es2plus-audience", "audience ES2+ JWTs must carry (default: the SM-DP+ address)", func(c *Config) flag.Value { return (*stringValue)(&c.ES2PlusAudience) }},
	{"metrics-listen", "plain-HTTP address for Prometheus /metrics, e.g. 127.0.0.1:9090 (default: off)", func(c *Config) flag.Value { return (*stringValue)(&c.MetricsListen) }},
	{"pprof-listen", "loopback plain-HTTP address for the Go profiler under /debug/pprof/, e.g. 127.0.0.1:6060 (default: off)", func(c *Config) flag.Value { return (*stringValue)(&c.PprofListen) }},
	{"rate-limit", "requests per second per client before HTTP 429; 0 is off", func(c *Config) flag.Value { return (*float64Value)(&c.RateLimit) }},
	{"rate-burst", "burst of requests per client above the rate", func(c *Config) flag.Value { return (*intValue)(&c.RateBurst) }},
	{"matching-id-guesses", "wrong matchingIds an eUICC may present per hour before an hour's lockout", func(c *Config) flag.Value { return (*intValue)(&c.MatchingIDGuesses) }},
	{"admin-token-file", "file holding the admin API bearer token (default: admin API off)", func(c *Config) flag.Value { return (*stringValue)(&c.AdminTokenFile) }},
	{"console-passwords", "JSON file of console password hashes {admin, operators: {id: hash}} (default: console off)", func(c *Config) flag.Value { return (*stringValue)(&c.ConsolePasswords) }},
	{"released-max-age", "return released, never downloaded orders to their pool after this long (0: never)", func(c *Config) flag.Value { return (*durationValue)(&c.ReleasedMaxAge) }},
	{"session-ttl", "deadline of an RSP session", func(c *Config) flag.Value { return (*durationValue)(&c.SessionTTL) }},
	{"max-body-bytes", "largest accepted request body", func(c *Config) flag.Value { return (*int64Value)(&c.MaxBodyBytes) }},
	{"read-timeout", "HTTP read timeout", func(c *Config) flag.Value { return (*durationValue)(&c.ReadTimeout) }},
	{"write-timeout", "HTTP write timeout", func(c *Config) flag.Value { return (*durationValue)(&c.WriteTimeout) }},
	{"idle-timeout", "HTTP keep-alive idle timeout", func(c *Config) flag.Value { return (*durationValue)(&c.IdleTimeout) }},
	{"shutdown-timeout", "grace period for in-flight requests on shutdown", func(c *Config) flag.Value { return (*durationValue)(&c.ShutdownTimeout) }},
	{"log-level", "debug, info, warn or error", func(c *Config) flag.Value { return (*stringValue)(&c.LogLevel) }},
	{"log-format", "text or json", func(c *Config) flag.Value { return (*stringValue)(&c.LogFormat) }},
}

// EnvName is the environment variable of a flag, e.g. data-dir → SMDPP_DATA_DIR.
func EnvName(flagName string) string {
	return "SMDPP_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// Load builds the configuration from the defaults, the file named by --config or SMDPP_CONFIG,
// the environment and args. It returns flag.ErrHelp for --help after printing the usage.
func Load(fs *flag.FlagSet, args []string, getenv func(string) string) (Config, error) {
	cfg := Default()
	configFile := fs.String("config", getenv("SMDPP_CONFIG"), "optional JSON configuration file (env SMDPP_CONFIG)")
	// Flags write into a scratch copy; only those set on the command line are applied at the end.
	var fromFlags Config
	for _, f := range fields {
		def := f.value(&cfg).String()
		fs.Var(f.value(&fromFlags), f.name, fmt.Sprintf("%s (env %s)", f.usage, EnvName(f.name)))
		fs.Lookup(f.name).DefValue = def
	}
	if err := fs.Parse(args); err != nil {
		return Config{}, err
	}
	if fs.NArg() > 0 {
		return Config{}, fmt.Errorf("unexpected arguments: %q", fs.Args())
	}
	if *configFile != "" {
		if err := loadFile(*configFile, &cfg); err != nil {
			return Config{}, err
		}
	}
	for _, f := range fields {
		if v := getenv(EnvName(f.name)); v != "" {
			if err := f.value(&cfg).Set(v); err != nil {
				return Config{}, fmt.Errorf("%s: %w", EnvName(f.name), err)
			}
		}
	}
	var err error
	fs.Visit(func(fl *flag.Flag) {
		for _, f := range fields {
			if f.name == fl.Name && err == nil {
				err = f.value(&cfg).Set(fl.Value.String())
			}
		}
	})
	if err != nil {
		return Config{}, err
	}
	cfg.applyDerived()
	return cfg, cfg.Validate()
}

func loadFile(path string, cfg *Config) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("reading config file: %w", err)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(cfg); err != nil {
		return fmt.Errorf("config file %s: %w", path, err)
	}
	return nil
}

// applyDerived fills the fields whose defaults depend on others.
func (c *Config) applyDerived() {
	if c.Database == "" {
		c.Database = filepath.Join(c.DataDir, "smdpp.db")
	}
	if c.PKIDir == "" {
		c.PKIDir = filepath.Join(c.DataDir, "pki")
	}
	if c.Address == "" {
		c.Address = c.Listen
	}
	if c.ES2PlusAudience == "" {
		c.ES2PlusAudience = c.Address
	}
}

// Validate checks the configuration without touching the system.
func (c *Config) Validate() error {
	var errs []error
	if _, _, err := net.SplitHostPort(c.Listen); err != nil {
		errs = append(errs, fmt.Errorf("listen %q: %w", c.Listen, err))
	}
	if c.Address == "" || strings.ContainsAny(c.Address, "$/ ") {
		errs = append(errs, fmt.Errorf("address %q: must be a host name or host:port", c.Address))
	}
	if c.PprofListen != "" && !loopbackAddress(c.PprofListen) {
		errs = append(errs, fmt.Errorf("pprof-listen %q: must be a loopback address such as 127.0.0.1:6060", c.PprofListen))
	}
	if c.SessionTTL <= 0 {
		errs = append(errs, errors.New("session-ttl must be positive"))
	}
	if c.RateLimit < 0 || c.RateBurst < 1 {
		errs = append(errs, errors.New("rate-limit must be 0 or more and rate-burst at least 1"))
	}
	if c.MatchingIDGuesses < 1 {
		errs = append(errs, errors.New("matching-id-guesses must be at least 1"))
	}
	if c.MaxBodyBytes < 4096 {
		errs = append(errs, errors.New("max-body-bytes must be at least 4096"))
	}
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		errs = append(errs, fmt.Errorf("log-level %q: want debug, info, warn or error", c.LogLevel))
	}
	switch c.LogFormat {
	case "text", "json":
	default:
		errs = append(errs, fmt.Errorf("log-format %q: want text or json", c.LogFormat))
	}
	return errors.Join(errs...)
}

// loopbackAddress reports whether addr is host:port with host localhost or a loopback IP.
func loopbackAddress(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

type stringValue string

func (s *stringValue) String() string     { return string(*s) }
func (s *stringValue) Set(v string) error { *s = stringValue(v); return nil }

type durationValue Duration

func (d *durationValue) String() string { return time.Duration(*d).String() }
func (d *durationValue) Set(v string) error {
	p, err := time.ParseDuration(v)
	*d = durationValue(p)
	return err
}

type int64Value int64

func (i *int64Value) String() string { return strconv.FormatInt(int64(*i), 10) }
func (i *int64Value) Set(v string) error {
	p, err := strconv.ParseInt(v, 10, 64)
	*i = int64Value(p)
	return err
}

type intValue int

func (i *intValue) String() string { return strconv.Itoa(int(*i)) }
func (i *intValue) Set(v string) error {
	p, err := strconv.Atoi(v)
	*i = intValue(p)
	return err
}

type float64Value float64

func (f *float64Value) String() string { return strconv.FormatFloat(float64(*f), 'g', -1, 64) }
func (f *float64Value) Set(v string) error {
	p, err := strconv.ParseFloat(v, 64)
	*f = float64Value(p)
	return err
}
