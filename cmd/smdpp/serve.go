package main

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"path/filepath"
	"runtime/debug"
	"sort"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/smdpp/smdpp/admin"
	"github.com/smdpp/smdpp/config"
	"github.com/smdpp/smdpp/console"
	"github.com/smdpp/smdpp/devpki"
	"github.com/smdpp/smdpp/download"
	"github.com/smdpp/smdpp/es2plus"
	"github.com/smdpp/smdpp/es9plus"
	"github.com/smdpp/smdpp/hsm"
	"github.com/smdpp/smdpp/inventory"
	"github.com/smdpp/smdpp/limits"
	"github.com/smdpp/smdpp/metrics"
	"github.com/smdpp/smdpp/orders"
	"github.com/smdpp/smdpp/progress"
	"github.com/smdpp/smdpp/session"
	"github.com/smdpp/smdpp/smds"
	"github.com/smdpp/smdpp/store"
	"github.com/smdpp/smdpp/web"
)

func serve(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("smdpp serve", flag.ContinueOnError)
	cfg, err := config.Load(fs, args, os.Getenv)
	if err != nil {
		return err
	}
	log := newLogger(cfg)
	if os.Getenv("GOGC") == "" {
		// The heap is small (sessions are a few hundred bytes each) and garbage collection was
		// a tenth of the server's CPU under load; collect less often unless the operator says.
		debug.SetGCPercent(400)
	}
	app, err := open(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer app.close()

	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return fmt.Errorf("listening on %s: %w", cfg.Listen, err)
	}
	log.Info("smdpp serving",
		"url", "https://"+ln.Addr().String(),
		"smdpAddress", cfg.Address,
		"es9plus", es9plus.Prefix,
		"database", app.db.Backend(),
		"sessions", app.sessionsKind,
		"ciCertificates", app.ciFiles,
		"health", "/healthz /readyz")
	go app.deliverer.Run(ctx)
	// Orders whose session ended between the BPP and its result go back for another attempt.
	go app.download.RunExpiry(ctx, max(time.Duration(cfg.SessionTTL)/2, time.Second))
	go app.inventory.Run(ctx, inventory.RunConfig{Interval: time.Minute, ReleasedMaxAge: time.Duration(cfg.ReleasedMaxAge)})
	if cfg.MetricsListen != "" {
		mux := http.NewServeMux()
		mux.Handle("GET /metrics", app.metrics.Handler())
		stop, err := serveSide(cfg.MetricsListen, mux, "metrics", "/metrics", log)
		if err != nil {
			return err
		}
		defer stop()
	}
	if cfg.PprofListen != "" {
		mux := http.NewServeMux()
		mux.HandleFunc("/debug/pprof/", pprof.Index)
		mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
		mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
		mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
		mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
		stop, err := serveSide(cfg.PprofListen, mux, "pprof", "/debug/pprof/", log)
		if err != nil {
			return err
		}
		defer stop()
	}
	return web.Serve(ctx, ln, app.handler, app.tls, web.ServerOptions{
		ReadTimeout:     time.Duration(cfg.ReadTimeout),
		WriteTimeout:    time.Duration(cfg.WriteTimeout),
		IdleTimeout:     time.Duration(cfg.IdleTimeout),
		ShutdownTimeout: time.Duration(cfg.ShutdownTimeout),
	}, log)
}

// serveSide serves h in plain HTTP on addr beside the SM-DP+ (metrics, profiler) until the
// returned stop is called.
func serveSide(addr string, h http.Handler, name, path string, log *slog.Logger) (stop func() error, err error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("%s listener: %w", name, err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	log.Info(name+" serving", "url", "http://"+ln.Addr().String()+path)
	return srv.Close, nil
}

// app is a wired server: its dependencies, its handler and what closes them.
type app struct {
	db           *store.DB
	sessions     session.Store
	sessionsKind string
	ciFiles      []string
	handler      *chi.Mux
	tls          *tls.Config
	deliverer    *progress.Deliverer
	inventory    *inventory.Service
	download     *download.Service
	metrics      *metrics.Metrics
	closers      []func() error
}

// mountES2Plus loads the operator registry, records its operators in the database and mounts
// the ES2+ functions, authenticated by JWT or client certificate.
func mountES2Plus(ctx context.Context, r chi.Router, cfg config.Config, db *store.DB, svc *orders.Service, log *slog.Logger) error {
	reg, err := es2plus.LoadRegistry(cfg.Operators)
	if err != nil {
		return err
	}
	if err := reg.Sync(ctx, db); err != nil {
		return fmt.Errorf("recording operators: %w", err)
	}
	jwtAuth, err := es2plus.NewJWTAuthenticator(reg, cfg.ES2PlusAudience)
	if err != nil {
		return err
	}
	auth := es2plus.Any(jwtAuth, es2plus.NewClientCertAuthenticator(reg))
	es2plus.Routes(r, svc, auth, db, cfg.MaxBodyBytes, log)
	return nil
}

func (a *app) close() {
	for i := len(a.closers) - 1; i >= 0; i-- {
		a.closers[i]()
	}
}

// open builds the server from its configuration: the PKI (generated on first start when the
// PKI directory is empty), the database, the session store and the HTTP routes.
func open(ctx context.Context, cfg config.Config, log *slog.Logger) (_ *app, err error) {
	// a is not the named result: a failed open returns nil, and the deferred close still needs a.
	a := &app{}
	defer func() {
		if err != nil {
			a.close()
		}
	}()
	sets, err := ensurePKI(cfg.PKIDir, log)
	if err != nil {
		return nil, err
	}
	now := time.Now()
	// A key file holds a PEM key, or a PKCS#11 URI naming the key in an HSM (package hsm).
	keys := hsm.NewLoader()
	a.closers = append(a.closers, keys.Close)
	loadKey := func(contents []byte) (crypto.Signer, error) {
		if uri := strings.TrimSpace(string(contents)); hsm.IsURI(uri) {
			return keys.Signer(uri)
		}
		return download.PEMKeys(contents)
	}
	var creds []*download.Credentials
	for _, dir := range sets {
		c, err := download.LoadCredentials(dir, now, loadKey)
		if err != nil {
			return nil, err
		}
		creds = append(creds, c)
		a.ciFiles = append(a.ciFiles, filepath.Join(dir, devpki.CICertFile))
	}
	tlsCert, err := loadDPtls(sets[0], now, loadKey)
	if err != nil {
		return nil, err
	}
	a.tls = web.TLSConfig(tlsCert)

	if !store.IsPostgresDSN(cfg.Database) {
		if err := os.MkdirAll(filepath.Dir(cfg.Database), 0o700); err != nil {
			return nil, fmt.Errorf("creating the database directory: %w", err)
		}
	}
	if a.db, err = store.Open(ctx, cfg.Database); err != nil {
		return nil, err
	}
	a.closers = append(a.closers, a.db.Close)

	checks := map[string]web.Check{"database": a.db.Ping}
	if cfg.Redis == "" {
		mem := session.NewMemory(session.WithSweepInterval(time.Minute))
		a.sessions, a.sessionsKind = mem, "memory"
		a.closers = append(a.closers, mem.Close)
	} else {
		client, err := session.OpenRedis(ctx, cfg.Redis)
		if err != nil {
			return nil, err
		}
		a.sessions, a.sessionsKind = session.NewRedis(client), "redis"
		a.closers = append(a.closers, client.Close)
		checks["redis"] = func(ctx context.Context) error { return client.Ping(ctx).Err() }
	}

	// Operators hear of each download step through the outbox; the deliverer sends it.
	// SM-DS events (ES12) go through the same outbox.
	// A short lease: a message claimed by a replica that dies waits this long before another
	// replica sends it, holding up that ICCID's later notifications.
	a.deliverer = progress.NewDeliverer(a.db, progress.WithLogger(log), progress.WithLease(20*time.Second))
	es12 := &smds.Sender{Client: &http.Client{Timeout: 30 * time.Second}}
	a.deliverer.Handle(smds.KindRegisterEvent, es12)
	a.deliverer.Handle(smds.KindDeleteEvent, es12)
	events := smds.NewRegistrar(cfg.Address)
	notifier := progress.NewNotifier(cfg.Address)
	guesses, err := limits.NewAttempts(cfg.MatchingIDGuesses, time.Hour, time.Hour)
	if err != nil {
		return nil, err
	}
	a.download, err = download.New(cfg.Address, creds, a.db, a.sessions, download.WithMatchingIDGuard(guesses),
		download.WithSessionTTL(time.Duration(cfg.SessionTTL)), download.WithLogger(log),
		download.WithProgress(notifier, a.deliverer.Wake), download.WithEvents(events))
	if err != nil {
		return nil, err
	}
	// A pool falling below its low-water mark is logged, recorded, counted in /metrics and sent
	// to the operator through the outbox, in the transaction that latches the alert.
	a.inventory = inventory.New(a.db, inventory.WithLogger(log), inventory.WithLowWaterHook(
		func(ctx context.Context, tx *store.Tx, p inventory.PoolAlert) error {
			return notifier.EnqueuePoolLow(ctx, tx, progress.PoolLow{
				OperatorID: p.Pool.OperatorID, ProfileType: p.Pool.ProfileType, Region: p.Pool.Region,
				Available: p.Available, LowWater: p.LowWater,
			}, p.At)
		}))
	a.metrics = metrics.New(
		metrics.WithSessionCount(a.sessions),
		metrics.WithOutboxBacklog(metrics.CountFunc(a.db.CountPendingOutbox)),
		metrics.WithPoolLevels(metrics.PoolCounterFunc(func(ctx context.Context) ([]metrics.PoolLevel, error) {
			levels, err := a.db.PoolLevels(ctx, "")
			if err != nil {
				return nil, err
			}
			var out []metrics.PoolLevel
			for _, l := range levels {
				for state, n := range l.Counts {
					out = append(out, metrics.PoolLevel{OperatorID: l.OperatorID, ProfileType: l.ProfileType, Region: l.Region, State: string(state), Count: n})
				}
			}
			return out, nil
		})),
		metrics.WithLogger(log))
	r := chi.NewRouter()
	r.Use(a.metrics.Middleware) // outside the request log, so it counts the log's panic 500s too
	r.Use(web.RequestLog(log))
	if cfg.RateLimit > 0 {
		rl, err := limits.NewRateLimiter(cfg.RateLimit, cfg.RateBurst)
		if err != nil {
			return nil, err
		}
		r.Use(rl.Middleware(limits.ClientCertOrIP, nil))
	}
	r.Method("GET", "/healthz", web.Healthz())
	r.Method("GET", "/readyz", web.Readyz(checks))
	es9plus.Routes(r, a.download, cfg.MaxBodyBytes, log)
	// ES2+ and the console act on orders through the same service.
	ordersSvc := orders.New(a.db, cfg.Address, orders.WithEvents(events), orders.WithAllocated(a.inventory.CheckPoolOf))
	if cfg.ConsolePasswords != "" {
		auth, err := loadConsolePasswords(cfg.ConsolePasswords)
		if err != nil {
			return nil, err
		}
		console.Routes(r, console.Deps{DB: a.db, Orders: ordersSvc, Inventory: a.inventory, Auth: auth, Log: log})
	}
	if cfg.Operators != "" {
		if err := mountES2Plus(ctx, r, cfg, a.db, ordersSvc, log); err != nil {
			return nil, err
		}
		// Operators may authenticate with a client certificate; LPAs send none, which is fine.
		a.tls.ClientAuth = tls.RequestClientCert
	}
	if cfg.AdminTokenFile != "" {
		token, err := os.ReadFile(cfg.AdminTokenFile)
		if err != nil {
			return nil, fmt.Errorf("admin token: %w", err)
		}
		api, err := admin.New(a.db, a.inventory, strings.TrimSpace(string(token)), admin.WithLogger(log))
		if err != nil {
			return nil, err
		}
		r.Mount("/admin", api.Handler())
	}
	a.handler = r
	return a, nil
}

// ensurePKI returns the credential-set directories under dir: dir itself when it holds a PKI, else
// each subdirectory that does (NIST first). An empty dir gets a development PKI for both curves.
func ensurePKI(dir string, log *slog.Logger) ([]string, error) {
	if isPKI(dir) {
		return []string{dir}, nil
	}
	sets := pkiSubdirs(dir)
	if len(sets) > 0 {
		return sets, nil
	}
	log.Info("no PKI found; generating a development PKI (not for production)", "dir", dir)
	for _, curve := range []string{"nist", "brainpool"} {
		if err := writePKI(filepath.Join(dir, curve), curve, devpki.Options{EUICCCount: 3}, false); err != nil {
			return nil, err
		}
	}
	if sets = pkiSubdirs(dir); len(sets) == 0 {
		return nil, errors.New("generated PKI not found in " + dir)
	}
	return sets, nil
}

// loadDPtls loads the TLS certificate and key of a credential set and refuses one that is not
// valid now: Go's TLS stack would serve an expired certificate, which LPAs then refuse with
// nothing in our logs.
func loadDPtls(dir string, now time.Time, loadKey download.KeyLoader) (tls.Certificate, error) {
	certFile, keyFile := filepath.Join(dir, devpki.DPtlsCertFile), filepath.Join(dir, devpki.DPtlsKeyFile)
	certPEM, err := os.ReadFile(certFile)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("loading the DPtls certificate: %w", err)
	}
	keyData, err := os.ReadFile(keyFile)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("loading the DPtls key: %w", err)
	}
	block, _ := pem.Decode(certPEM)
	if block == nil || block.Type != "CERTIFICATE" {
		return tls.Certificate{}, fmt.Errorf("%s: no PEM CERTIFICATE", certFile)
	}
	leaf, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("%s: %w", certFile, err)
	}
	key, err := loadKey(keyData)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("%s: %w", keyFile, err)
	}
	if pub, ok := key.Public().(*ecdsa.PublicKey); !ok || !pub.Equal(leaf.PublicKey) {
		return tls.Certificate{}, fmt.Errorf("%s does not match %s", keyFile, certFile)
	}
	if now.Before(leaf.NotBefore) || now.After(leaf.NotAfter) {
		return tls.Certificate{}, fmt.Errorf("%s is valid from %s to %s, not now", certFile,
			leaf.NotBefore.Format(time.DateOnly), leaf.NotAfter.Format(time.DateOnly))
	}
	return tls.Certificate{Certificate: [][]byte{leaf.Raw}, PrivateKey: key, Leaf: leaf}, nil
}

// loadConsolePasswords reads the console's password hashes: {"admin": HASH, "operators": {ID: HASH}}.
func loadConsolePasswords(path string) (*console.PasswordAuthenticator, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("console passwords: %w", err)
	}
	var f struct {
		Admin     string            `json:"admin"`
		Operators map[string]string `json:"operators"`
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("console passwords %s: %w", path, err)
	}
	return console.NewPasswordAuthenticator(f.Operators, f.Admin)
}

func isPKI(dir string) bool {
	_, err := os.Stat(filepath.Join(dir, devpki.DPauthCertFile))
	return err == nil
}

func pkiSubdirs(dir string) []string {
	entries, _ := os.ReadDir(dir)
	var sets []string
	for _, e := range entries {
		if e.IsDir() && isPKI(filepath.Join(dir, e.Name())) {
			sets = append(sets, filepath.Join(dir, e.Name()))
		}
	}
	// "nist" sorts after "brainpool"; the first set also serves TLS, which needs P-256 anyway,
	// so put nist first for the plainest default.
	sort.Slice(sets, func(i, j int) bool { return filepath.Base(sets[i]) == "nist" && filepath.Base(sets[j]) != "nist" })
	return sets
}

func newLogger(cfg config.Config) *slog.Logger {
	var level slog.Level
	level.UnmarshalText([]byte(cfg.LogLevel))
	opts := &slog.HandlerOptions{Level: level}
	if cfg.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(os.Stderr, opts))
	}
	return slog.New(slog.NewTextHandler(os.Stderr, opts))
}
