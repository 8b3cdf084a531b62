// Command smdpp-loadgen drives an SM-DP+ on this machine with many virtual eUICCs and reports
// downloads per second, latency percentiles per ES9+ function, failures by SGP.22 code, the
// crypto floor of one download and the server's CPU time against it. See docs/PERFORMANCE.md.
//
//	smdpp-loadgen --data-dir DIR --target 127.0.0.1:8443 --prepare 1000 --concurrency 8 --server-pid PID
//
// Targets must be loopback addresses. This package only wires package loadgen to flags.
package main

import (
	"bufio"
	"context"
	"crypto/x509"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/smdpp/smdpp/activation"
	"github.com/smdpp/smdpp/devpki"
	"github.com/smdpp/smdpp/loadgen"
	"github.com/smdpp/smdpp/store"
)

func main() {
	if os.Getenv("GOGC") == "" {
		// Every virtual eUICC and LPA call allocates afresh; at the default GOGC=100 garbage
		// collection took a third of the generator's CPU, which it takes from the server on a
		// shared machine.
		debug.SetGCPercent(400)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if errors.Is(err, flag.ErrHelp) {
		os.Exit(0)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "smdpp-loadgen:", err)
		os.Exit(1)
	}
}

// listFlag collects a repeatable, comma-separated flag.
type listFlag []string

func (l *listFlag) String() string { return strings.Join(*l, ",") }
func (l *listFlag) Set(v string) error {
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			*l = append(*l, s)
		}
	}
	return nil
}

// options are the command line, checked by validate before anything is opened.
type options struct {
	targets     listFlag
	dataDir     string
	curve       string
	pkiDir      string
	tlsCA       string
	database    string
	address     string
	upp         string
	operator    string
	prepare     int
	codesFile   string
	saveCodes   string
	mode        string
	concurrency int
	clients     int
	count       int
	duration    time.Duration
	rate        float64
	protocol    string
	timeout     time.Duration
	euiccs      int
	cache       string
	serverPIDs  listFlag
	floor       bool
	floorTime   time.Duration
	jsonOut     bool
	quiet       bool
}

func parseFlags(args []string, stderr io.Writer) (*options, error) {
	o := &options{}
	fs := flag.NewFlagSet("smdpp-loadgen", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, `usage: smdpp-loadgen [flags]

Runs full SGP.22 downloads (or initiateAuthentication alone) with many virtual eUICCs against
smdpp serve on this machine (loopback targets only), and reports downloads/s, latency
percentiles per ES9+ function, failures by SGP.22 code, the crypto floor and the server's CPU
per download. Example:

  smdpp-loadgen --data-dir DIR --target 127.0.0.1:8443 --prepare 1000 --concurrency 8 --server-pid PID

flags:
`)
		fs.PrintDefaults()
	}
	fs.Var(&o.targets, "target", "server HTTPS address host:port, loopback only; repeat (or comma-separate) for replicas (default 127.0.0.1:8443)")
	fs.StringVar(&o.dataDir, "data-dir", "smdpp-data", "the server's --data-dir: PKI, and the SQLite database for --prepare")
	fs.StringVar(&o.curve, "curve", "nist", "PKI of the virtual eUICCs: nist or brainpool (DATA-DIR/pki/CURVE)")
	fs.StringVar(&o.pkiDir, "pki-dir", "", "PKI directory of the eUICCs' curve (default DATA-DIR/pki/CURVE)")
	fs.StringVar(&o.tlsCA, "tls-ca", "", "CI certificate that issued the server's TLS certificate (default DATA-DIR/pki/nist/ci.crt)")
	fs.StringVar(&o.database, "database", "", "SQLite file or PostgreSQL DSN for --prepare (default DATA-DIR/smdpp.db)")
	fs.StringVar(&o.address, "address", "", "the server's SM-DP+ address, --address of smdpp serve (default: the first target)")
	fs.StringVar(&o.upp, "upp", filepath.Join("testdata", "upp", "TS48V2-SAIP2-3-BERTLV-UNIQUE.der"), "TS.48 profile package copied into each prepared order")
	fs.StringVar(&o.operator, "operator", "loadgen", "operator owning the prepared orders (created when missing)")
	fs.IntVar(&o.prepare, "prepare", 0, "create this many released orders first, through the orders service on --database")
	fs.StringVar(&o.codesFile, "codes", "", "read activation codes (one LPA:1$… per line) instead of --prepare")
	fs.StringVar(&o.saveCodes, "save-codes", "", "write the prepared activation codes to this file")
	fs.StringVar(&o.mode, "mode", string(loadgen.ModeDownload), "download (full downloads) or initiate-only (open sessions, to measure server memory)")
	fs.IntVar(&o.concurrency, "concurrency", 4, "downloads (or calls) in flight")
	fs.IntVar(&o.clients, "clients", 0, "independent HTTP clients, each with its own connections (default: one per concurrent download, like devices; 1: all over one HTTP/2 connection per target)")
	fs.IntVar(&o.count, "count", 0, "downloads or calls to run (default: every order for download, 1000 for initiate-only)")
	fs.DurationVar(&o.duration, "duration", 10*time.Minute, "start nothing new after this long (at most 1h)")
	fs.Float64Var(&o.rate, "rate", 0, "cap the starts per second (0: as fast as the concurrency allows)")
	fs.StringVar(&o.protocol, "http", "2", "HTTP version: 2 or 1.1 (both keep connections alive)")
	fs.DurationVar(&o.timeout, "timeout", 30*time.Second, "bound on each ES9+ request")
	fs.IntVar(&o.euiccs, "euiccs", 100, "distinct virtual eUICCs (EIDs and keys), issued once under the server's EUM and cached")
	fs.StringVar(&o.cache, "euicc-cache", "", "directory caching the eUICC identities (default: user cache dir/smdpp-loadgen)")
	fs.Var(&o.serverPIDs, "server-pid", "PID of a server process on this machine to read CPU and memory of in /proc; repeatable")
	fs.BoolVar(&o.floor, "floor", true, "measure the crypto floor of one download before the run")
	fs.DurationVar(&o.floorTime, "floor-time", 300*time.Millisecond, "time spent measuring each primitive of the crypto floor")
	fs.BoolVar(&o.jsonOut, "json", false, "print the report as JSON on stdout")
	fs.BoolVar(&o.quiet, "quiet", false, "no progress lines")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if len(o.targets) == 0 {
		o.targets = listFlag{"127.0.0.1:8443"}
	}
	if o.pkiDir == "" {
		o.pkiDir = filepath.Join(o.dataDir, "pki", o.curve)
	}
	if o.tlsCA == "" {
		o.tlsCA = filepath.Join(o.dataDir, "pki", "nist", devpki.CICertFile)
	}
	if o.database == "" {
		o.database = filepath.Join(o.dataDir, "smdpp.db")
	}
	if o.address == "" {
		o.address = o.targets[0]
	}
	if o.count == 0 {
		switch {
		case o.mode == string(loadgen.ModeInitiateOnly):
			o.count = 1000
		case o.prepare > 0:
			o.count = o.prepare
		}
	}
	if o.cache == "" {
		dir, err := os.UserCacheDir()
		if err != nil {
			dir = os.TempDir()
		}
		o.cache = filepath.Join(dir, "smdpp-loadgen")
	}
	return o, o.validate()
}

// validate checks the flags on their own; the run's own bounds are loadgen.Config.Validate's.
func (o *options) validate() error {
	var errs []error
	for _, t := range o.targets {
		if err := loadgen.CheckLoopback(t); err != nil {
			errs = append(errs, err)
		}
	}
	if o.curve != "nist" && o.curve != "brainpool" {
		errs = append(errs, fmt.Errorf("--curve %q is not nist or brainpool", o.curve))
	}
	if o.protocol != "2" && o.protocol != "1.1" {
		errs = append(errs, fmt.Errorf("--http %q is not 2 or 1.1", o.protocol))
	}
	switch loadgen.Mode(o.mode) {
	case loadgen.ModeDownload:
		if o.prepare == 0 && o.codesFile == "" {
			errs = append(errs, errors.New("a download run needs orders: --prepare N or --codes FILE"))
		}
		if o.prepare > 0 && o.codesFile != "" {
			errs = append(errs, errors.New("--prepare and --codes exclude each other"))
		}
	case loadgen.ModeInitiateOnly:
		if o.prepare > 0 || o.codesFile != "" {
			errs = append(errs, errors.New("initiate-only needs no orders: drop --prepare and --codes"))
		}
	default:
		errs = append(errs, fmt.Errorf("--mode %q is not download or initiate-only", o.mode))
	}
	if o.prepare < 0 || o.prepare > loadgen.MaxPrepare {
		errs = append(errs, fmt.Errorf("--prepare %d is not between 0 and %d", o.prepare, loadgen.MaxPrepare))
	}
	if o.count < 0 || o.count > loadgen.MaxCount {
		errs = append(errs, fmt.Errorf("--count %d is not between 0 and %d", o.count, loadgen.MaxCount))
	}
	if o.prepare > 0 && o.count > o.prepare {
		errs = append(errs, fmt.Errorf("--count %d exceeds --prepare %d", o.count, o.prepare))
	}
	if o.duration < time.Second || o.duration > loadgen.MaxDuration {
		errs = append(errs, fmt.Errorf("--duration %v is not between 1s and %v", o.duration, loadgen.MaxDuration))
	}
	if o.concurrency < 1 || o.concurrency > loadgen.MaxConcurrency {
		errs = append(errs, fmt.Errorf("--concurrency %d is not between 1 and %d", o.concurrency, loadgen.MaxConcurrency))
	}
	if o.clients < 0 || o.clients > o.concurrency {
		errs = append(errs, fmt.Errorf("--clients %d is not between 1 and --concurrency %d", o.clients, o.concurrency))
	}
	if o.euiccs < 1 || o.euiccs > loadgen.MaxEUICCs {
		errs = append(errs, fmt.Errorf("--euiccs %d is not between 1 and %d", o.euiccs, loadgen.MaxEUICCs))
	}
	if o.rate < 0 {
		errs = append(errs, fmt.Errorf("--rate %v is negative", o.rate))
	}
	if o.floorTime < time.Millisecond || o.floorTime > 10*time.Second {
		errs = append(errs, fmt.Errorf("--floor-time %v is not between 1ms and 10s", o.floorTime))
	}
	for _, p := range o.serverPIDs {
		if n, err := strconv.Atoi(p); err != nil || n <= 0 {
			errs = append(errs, fmt.Errorf("--server-pid %q is not a process ID", p))
		}
	}
	if err := checkDatabaseHost(o.database); o.prepare > 0 && err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// checkDatabaseHost keeps --prepare on this machine too: a PostgreSQL DSN must name a loopback
// host (or a Unix socket directory).
func checkDatabaseHost(dsn string) error {
	if !store.IsPostgresDSN(dsn) {
		return nil
	}
	host := ""
	if u, err := url.Parse(dsn); err == nil && u.Scheme != "" {
		host = u.Hostname()
	} else {
		for _, kv := range strings.Fields(dsn) {
			if v, ok := strings.CutPrefix(kv, "host="); ok {
				host = v
			}
		}
	}
	if host == "" || strings.HasPrefix(host, "/") {
		return nil
	}
	if err := loadgen.CheckLoopback(host + ":5432"); err != nil {
		return fmt.Errorf("--database: host %q is not loopback", host)
	}
	return nil
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	o, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	say := func(format string, a ...any) {
		if !o.quiet {
			fmt.Fprintf(stderr, format+"\n", a...)
		}
	}

	auth, err := loadgen.LoadAuthority(o.pkiDir)
	if err != nil {
		return err
	}
	caPEM, err := os.ReadFile(o.tlsCA)
	if err != nil {
		return fmt.Errorf("--tls-ca: %w", err)
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(caPEM) {
		return fmt.Errorf("--tls-ca %s holds no PEM certificate", o.tlsCA)
	}
	t0 := time.Now()
	ids, err := loadgen.EUICCs(auth, o.cache, o.euiccs)
	if err != nil {
		return err
	}
	say("%d virtual eUICCs ready (%s, %v)", len(ids), o.cache, time.Since(t0).Round(time.Millisecond))

	var codes []activation.Code
	var pkg []byte
	if loadgen.Mode(o.mode) == loadgen.ModeDownload || o.floor {
		if pkg, err = os.ReadFile(o.upp); err != nil {
			return fmt.Errorf("--upp: %w", err)
		}
	}
	switch {
	case o.prepare > 0:
		if codes, err = prepare(ctx, o, pkg, say); err != nil {
			return err
		}
		if o.saveCodes != "" {
			if err := writeCodes(o.saveCodes, codes); err != nil {
				return err
			}
		}
	case o.codesFile != "":
		if codes, err = readCodes(o.codesFile); err != nil {
			return err
		}
		if o.count == 0 {
			o.count = len(codes)
		}
	}

	var floor *loadgen.Floor
	if o.floor {
		say("measuring the crypto floor (%s)…", o.curve)
		if floor, err = loadgen.MeasureFloor(auth, o.pkiDir, ids[0], pkg, o.floorTime); err != nil {
			return err
		}
	}

	cfg := loadgen.Config{
		Targets: o.targets, RootCAs: roots, Mode: loadgen.Mode(o.mode), Protocol: loadgen.HTTP2,
		Concurrency: o.concurrency, Clients: o.clients, Count: o.count, Duration: o.duration, Rate: o.rate, Timeout: o.timeout,
		Authority: auth, EUICCs: ids, Codes: codes, Address: o.address,
	}
	if o.protocol == "1.1" {
		cfg.Protocol = loadgen.HTTP11
	}
	for _, p := range o.serverPIDs {
		n, _ := strconv.Atoi(p)
		cfg.ServerPIDs = append(cfg.ServerPIDs, n)
	}
	if !o.quiet {
		cfg.Progress = func(p loadgen.Progress) { fmt.Fprintln(stderr, progressLine(p)) }
	}
	say("running %d × %s, concurrency %d, HTTP/%s, targets %s", cfg.Count, cfg.Mode, cfg.Concurrency, o.protocol, strings.Join(cfg.Targets, " "))
	rep, err := loadgen.Run(ctx, cfg)
	if err != nil {
		return err
	}
	rep.AttachFloor(floor)
	if o.jsonOut {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(rep)
	}
	printReport(stdout, rep)
	return nil
}

func prepare(ctx context.Context, o *options, pkg []byte, say func(string, ...any)) ([]activation.Code, error) {
	db, err := store.Open(ctx, o.database)
	if err != nil {
		return nil, err
	}
	defer db.Close()
	t0 := time.Now()
	last := time.Now()
	codes, err := loadgen.Prepare(ctx, db, loadgen.PrepareOptions{
		Address: o.address, Operator: o.operator, Package: pkg, Count: o.prepare,
		Progress: func(done int) {
			if time.Since(last) >= time.Second {
				last = time.Now()
				say("prepared %d/%d orders", done, o.prepare)
			}
		},
	})
	if err != nil {
		return nil, err
	}
	say("prepared %d orders on %s in %v", len(codes), db.Backend(), time.Since(t0).Round(time.Millisecond))
	return codes, nil
}

func writeCodes(path string, codes []activation.Code) error {
	var b strings.Builder
	for _, c := range codes {
		b.WriteString(c.QRString())
		b.WriteByte('\n')
	}
	return os.WriteFile(path, []byte(b.String()), 0o600)
}

func readCodes(path string) ([]activation.Code, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("--codes: %w", err)
	}
	defer f.Close()
	var codes []activation.Code
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		c, err := activation.Parse(line)
		if err != nil {
			return nil, fmt.Errorf("--codes %s line %d: %w", path, n, err)
		}
		codes = append(codes, c)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("--codes: %w", err)
	}
	if len(codes) == 0 {
		return nil, fmt.Errorf("--codes %s holds no activation code", path)
	}
	return codes, nil
}

func progressLine(p loadgen.Progress) string {
	s := fmt.Sprintf("%6s  ok %7d  failed %5d  in flight %4d  %8.1f/s", p.Elapsed, p.Succeeded, p.Failed, p.InFlight, p.Rate)
	if p.ServerCPU >= 0 {
		s += fmt.Sprintf("  server CPU %.2f cores", p.ServerCPU)
	}
	return s
}

func printReport(w io.Writer, r *loadgen.Report) {
	unit := "downloads"
	if r.Mode == loadgen.ModeInitiateOnly {
		unit = "initiateAuthentication calls"
	}
	fmt.Fprintf(w, "\n%s: %d ok, %d failed in %.2fs = %.1f %s/s\n", r.Mode, r.Succeeded, r.Failed, r.Elapsed, r.PerSecond, unit)
	fmt.Fprintf(w, "targets %s, HTTP %s, concurrency %d over %d clients, %d eUICCs", strings.Join(r.Targets, " "), r.Protocol, r.Concurrency, r.Clients, r.EUICCs)
	if r.Rate > 0 {
		fmt.Fprintf(w, ", rate cap %.1f/s", r.Rate)
	}
	fmt.Fprintln(w)
	if r.LoadgenCPU > 0 {
		fmt.Fprintf(w, "load generator CPU %.2f s (%.2f cores); other processes %.2f cores\n", r.LoadgenCPU, r.LoadgenCPU/r.Elapsed, r.OtherCPU)
	}
	if len(r.Targets) > 1 {
		for _, t := range r.PerTarget {
			fmt.Fprintf(w, "  %s: %d requests\n", t.Target, t.Requests)
		}
		fmt.Fprintf(w, "  %d downloads crossed replicas\n", r.CrossedReplicas)
	}
	fmt.Fprintf(w, "\n%-26s %8s %9s %9s %9s %9s %9s\n", "latency (ms)", "count", "mean", "p50", "p95", "p99", "max")
	row := func(name string, l loadgen.Latency) {
		fmt.Fprintf(w, "%-26s %8d %9.2f %9.2f %9.2f %9.2f %9.2f\n", name, l.Count, l.Mean, l.P50, l.P95, l.P99, l.Max)
	}
	for _, f := range r.Functions {
		row(f.Function, f.Latency)
	}
	if r.Mode == loadgen.ModeDownload {
		row("whole download", r.Whole)
	}
	if len(r.Errors) > 0 {
		fmt.Fprintln(w, "\nfailures (function subjectCode/reasonCode status, or cause):")
		for _, e := range r.Errors {
			fmt.Fprintf(w, "  %7d  %s\n", e.Count, e.Key)
		}
	}
	if f := r.Floor; f != nil {
		fmt.Fprintf(w, "\ncrypto floor per download (%s, %s): %.3f ms\n", f.Curve, f.Clock, f.PerDownload)
		for _, p := range f.Primitives {
			fmt.Fprintf(w, "  %9.1f µs  %s\n", p.CPU, p.Name)
		}
	}
	if s := r.Server; s != nil {
		fmt.Fprintf(w, "\nserver (pid %v): %.2f s CPU = %.2f cores", s.PIDs, s.CPU, s.Cores)
		if r.Succeeded > 0 {
			fmt.Fprintf(w, ", %.3f ms per %s", s.PerUnit, strings.TrimSuffix(unit, "s"))
		}
		if s.FloorRatio > 0 {
			fmt.Fprintf(w, " = %.2f× the crypto floor", s.FloorRatio)
		}
		fmt.Fprintf(w, "\n  RSS %.1f MB before, %.1f MB after (peak %.1f MB)", mb(s.RSSBefore), mb(s.RSSAfter), mb(s.HWM))
		if r.Mode == loadgen.ModeInitiateOnly && r.Succeeded > 0 {
			fmt.Fprintf(w, "; %.0f bytes per open session", s.RSSPerUnit)
		}
		fmt.Fprintln(w)
	}
	for _, warning := range r.Warnings {
		fmt.Fprintln(w, "warning:", warning)
	}
}

func mb(b int64) float64 { return float64(b) / (1 << 20) }
