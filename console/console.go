package console

import (
	"bytes"
	"context"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/smdpp/smdpp/inventory"
	"github.com/smdpp/smdpp/orders"
	"github.com/smdpp/smdpp/status"
	"github.com/smdpp/smdpp/store"
	"github.com/smdpp/smdpp/web"
)

// Prefix is where Routes mounts the console.
const Prefix = "/console"

// Defaults of the options.
const (
	DefaultIdleTimeout     = 30 * time.Minute
	DefaultSessionLifetime = 12 * time.Hour
	DefaultMaxUpload       = 16 << 20
	DefaultRefreshInterval = 2 * time.Second
	// DefaultSignInAttempts failed sign-ins in a row lock a user name for DefaultSignInLock.
	DefaultSignInAttempts = 5
	DefaultSignInLock     = 5 * time.Minute
)

//go:embed assets
var assets embed.FS

// Deps are the services the console runs on.
type Deps struct {
	// DB is the SM-DP+ database (required).
	DB *store.DB
	// Orders places and changes orders and imports single profile packages (required); its
	// Address is the SM-DP+ address of the activation codes shown.
	Orders *orders.Service
	// Inventory runs the pools, bulk imports, usage and quality figures; nil means
	// inventory.New(DB).
	Inventory *inventory.Service
	// Auth checks sign-ins (required), e.g. a PasswordAuthenticator.
	Auth Authenticator
	// Log receives the console's failures; nil means slog.Default().
	Log *slog.Logger
}

// Option configures Routes.
type Option func(*server)

// WithClock sets the clock of sessions, sign-in locks and the dashboard's periods (default
// time.Now).
func WithClock(now func() time.Time) Option { return func(c *server) { c.now = now } }

// WithSessionTimeouts sets how long an unused session lives (default DefaultIdleTimeout) and how
// long any session lives (default DefaultSessionLifetime).
func WithSessionTimeouts(idle, lifetime time.Duration) Option {
	return func(c *server) { c.idle, c.lifetime = idle, lifetime }
}

// WithMaxUpload caps the size of a POST body, uploads included (default DefaultMaxUpload).
func WithMaxUpload(n int64) Option { return func(c *server) { c.maxUpload = n } }

// WithRefreshInterval sets how often an open order page asks for its timeline while a download
// may run (default DefaultRefreshInterval).
func WithRefreshInterval(d time.Duration) Option { return func(c *server) { c.refresh = d } }

// WithSignInLimit locks a user name for lock after attempts failed sign-ins in a row (defaults
// DefaultSignInAttempts and DefaultSignInLock).
func WithSignInLimit(attempts int, lock time.Duration) Option {
	return func(c *server) { c.attempts, c.lockFor = attempts, lock }
}

// server is the console's handlers and state; Routes makes one.
type server struct {
	db       *store.DB
	orders   *orders.Service
	inv      *inventory.Service
	auth     Authenticator
	log      *slog.Logger
	now      func() time.Time
	sessions *sessions
	limiter  *limiter
	pages    map[string]*template.Template

	idle, lifetime time.Duration
	maxUpload      int64
	refresh        time.Duration
	attempts       int
	lockFor        time.Duration
}

// Routes mounts the console on r under Prefix. It panics when deps lacks DB, Orders or Auth, or
// when its embedded templates do not parse: both are mistakes of the program, not of its input.
func Routes(r chi.Router, deps Deps, opts ...Option) {
	c := newConsole(deps, opts...)
	r.Route(Prefix, c.mount)
}

func newConsole(deps Deps, opts ...Option) *server {
	if deps.DB == nil || deps.Orders == nil || deps.Auth == nil {
		panic("console: Deps needs DB, Orders and Auth")
	}
	c := &server{db: deps.DB, orders: deps.Orders, inv: deps.Inventory, auth: deps.Auth, log: deps.Log,
		now: time.Now, idle: DefaultIdleTimeout, lifetime: DefaultSessionLifetime, maxUpload: DefaultMaxUpload,
		refresh: DefaultRefreshInterval, attempts: DefaultSignInAttempts, lockFor: DefaultSignInLock}
	for _, o := range opts {
		o(c)
	}
	if c.inv == nil {
		c.inv = inventory.New(c.db, inventory.WithClock(c.now))
	}
	if c.log == nil {
		c.log = slog.Default()
	}
	c.sessions = newSessions(c.idle, c.lifetime, c.now)
	c.limiter = newLimiter(c.attempts, c.lockFor, c.now)
	c.pages = parsePages()
	return c
}

func (c *server) mount(r chi.Router) {
	r.Use(securityHeaders)
	static, err := fs.Sub(assets, "assets/static")
	if err != nil {
		panic(err)
	}
	r.Handle("/static/*", http.StripPrefix(Prefix+"/static/", cacheFor(time.Hour, http.FileServerFS(static))))
	r.Method(http.MethodGet, "/login", c.public(c.loginPage))
	r.Method(http.MethodPost, "/login", c.public(c.login))
	r.Method(http.MethodPost, "/logout", c.private(c.logout))

	r.Method(http.MethodGet, "/", c.private(c.dashboard))
	r.Method(http.MethodGet, "/inventory", c.private(c.inventory))
	r.Method(http.MethodPost, "/inventory/check", c.private(c.importCheck))
	r.Method(http.MethodPost, "/inventory/import", c.private(c.importRun))
	r.Method(http.MethodGet, "/orders", c.private(c.orderList))
	r.Method(http.MethodGet, "/orders/new", c.private(c.orderForm))
	r.Method(http.MethodPost, "/orders", c.private(c.orderCreate))
	r.Method(http.MethodGet, "/orders/{iccid}", c.private(c.order))
	r.Method(http.MethodGet, "/orders/{iccid}/live", c.private(c.orderLive))
	r.Method(http.MethodGet, "/orders/{iccid}/qr.png", c.private(c.orderQRPNG))
	r.Method(http.MethodPost, "/orders/{iccid}/cancel", c.private(c.orderCancel))
	r.Method(http.MethodPost, "/orders/{iccid}/release", c.private(c.orderRelease))
	r.Method(http.MethodGet, "/eid", c.private(c.eidHistory))
	r.Method(http.MethodGet, "/usage", c.private(c.usage))
	r.Method(http.MethodGet, "/usage/export", c.private(c.usageExport))
	r.Method(http.MethodGet, "/audit", c.private(c.audit))
	r.NotFound(c.private(func(w http.ResponseWriter, r *http.Request, s *session) error {
		return errNotFound
	}).ServeHTTP)
}

// securityHeaders sets what every console response carries: a content security policy that
// allows only this origin's style sheet and script (no inline script or style, no frames), and no
// caching of pages that show an operator's data.
func securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "+
			"connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "same-origin")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Cache-Control", "no-store")
		next.ServeHTTP(w, r)
	})
}

// cacheFor lets browsers keep the static files for d, and lists no directory.
func cacheFor(d time.Duration, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "" || strings.HasSuffix(r.URL.Path, "/") {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Cache-Control", fmt.Sprintf("private, max-age=%d", int(d.Seconds())))
		next.ServeHTTP(w, r)
	})
}

// pageError is an error with the HTTP status and the plain words a page shows for it.
type pageError struct {
	status  int
	title   string
	message string
}

func (e *pageError) Error() string { return e.title + ": " + e.message }

var (
	errNotFound  = &pageError{http.StatusNotFound, "Not found", "There is no such page, or it is not yours to see."}
	errForbidden = &pageError{http.StatusForbidden, "Request refused",
		"The form was not sent from this console session (its security token is missing or wrong). Reload the page and try again."}
)

// errSessionEnded answers a form sent without a live session (it expired, or the user signed out
// in another tab).
var errSessionEnded = &pageError{http.StatusForbidden, "Session ended", "Your session has ended, so the form was not acted on. Sign in again."}

func badRequest(msg string) error {
	return &pageError{http.StatusBadRequest, "Cannot do that", msg}
}

// private adapts a handler that needs a signed-in user. Without a session a GET goes to the
// sign-in page and anything else is refused; a POST must carry the session's token.
func (c *server) private(h func(http.ResponseWriter, *http.Request, *session) error) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var ses session
		ok := false
		if ck, err := r.Cookie(sessionCookie); err == nil {
			ses, ok = c.sessions.get(ck.Value)
		}
		if !ok {
			if r.Method == http.MethodGet || r.Method == http.MethodHead {
				if r.Header.Get("X-Console-Fragment") != "" {
					http.Error(w, "session ended", http.StatusUnauthorized)
					return
				}
				http.Redirect(w, r, Prefix+"/login?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
				return
			}
			c.fail(w, r, nil, errSessionEnded)
			return
		}
		web.AddLog(r.Context(), slog.String("consoleUser", ses.principal.User()))
		if r.Method == http.MethodPost {
			if err := c.parsePost(w, r); err != nil {
				c.fail(w, r, &ses, err)
				return
			}
			if !sameOrigin(r) || !tokenEqual(r.PostFormValue(csrfField), ses.csrf) {
				c.fail(w, r, &ses, errForbidden)
				return
			}
		}
		if err := h(w, r, &ses); err != nil {
			c.fail(w, r, &ses, err)
		}
	})
}

// public adapts a handler that runs without a session (the sign-in page).
func (c *server) public(h func(http.ResponseWriter, *http.Request) error) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost {
			if err := c.parsePost(w, r); err != nil {
				c.fail(w, r, nil, err)
				return
			}
		}
		if err := h(w, r); err != nil {
			c.fail(w, r, nil, err)
		}
	})
}

// parsePost reads a POST body, url-encoded or multipart, at most maxUpload bytes of it.
func (c *server) parsePost(w http.ResponseWriter, r *http.Request) error {
	r.Body = http.MaxBytesReader(w, r.Body, c.maxUpload)
	var err error
	if strings.HasPrefix(r.Header.Get("Content-Type"), "multipart/form-data") {
		err = r.ParseMultipartForm(c.maxUpload)
	} else {
		err = r.ParseForm()
	}
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return &pageError{http.StatusRequestEntityTooLarge, "Upload too large",
				fmt.Sprintf("The form sent is larger than the %d MiB this console accepts.", c.maxUpload>>20)}
		}
		return badRequest("The form could not be read.")
	}
	return nil
}

// fail shows err as an error page: a pageError with its status, an SGP.22 status error as 400
// with its code, anything else as a 500 whose detail goes only to the log.
func (c *server) fail(w http.ResponseWriter, r *http.Request, ses *session, err error) {
	var pe *pageError
	var se *status.Error
	code, title, msg := http.StatusInternalServerError, "Something went wrong", "The console could not do this. The error has been logged."
	var sv *errView
	switch {
	case errors.As(err, &pe):
		code, title, msg = pe.status, pe.title, pe.message
	case errors.As(err, &se):
		code, title, msg = http.StatusBadRequest, "Cannot do that", ""
		sv = viewError(err)
	default:
		c.log.ErrorContext(r.Context(), "console", "path", r.URL.Path, "err", err)
	}
	if r.Header.Get("X-Console-Fragment") != "" {
		http.Error(w, title, code)
		return
	}
	data := &page{Title: title, Error: sv, Data: msg}
	if ses != nil {
		data.Principal, data.CSRF = ses.principal, ses.csrf
	}
	c.write(w, r, code, "error", data)
}

// page is what every page template gets.
type page struct {
	Title     string
	Nav       string
	Principal Principal
	CSRF      string
	Flash     string
	Error     *errView
	Data      any
}

// render shows a page to the user of ses, with its pending flash message.
func (c *server) render(w http.ResponseWriter, r *http.Request, ses *session, code int, name, title, nav string, data any, perr error) error {
	p := &page{Title: title, Nav: nav, Principal: ses.principal, CSRF: ses.csrf, Data: data,
		Flash: c.sessions.takeFlash(ses.id), Error: viewError(perr)}
	c.write(w, r, code, name, p)
	return nil
}

// write executes a page template into a buffer and sends it, so that a failing template sends a
// 500 and not half a page.
func (c *server) write(w http.ResponseWriter, r *http.Request, code int, name string, p *page) {
	var buf bytes.Buffer
	if err := c.pages[name].ExecuteTemplate(&buf, "layout", p); err != nil {
		c.log.ErrorContext(r.Context(), "console: template", "page", name, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(code)
	w.Write(buf.Bytes())
}

// fragment executes one named template of a page alone (for the live refresh).
func (c *server) fragment(w http.ResponseWriter, r *http.Request, pageName, tmpl string, data any) error {
	var buf bytes.Buffer
	if err := c.pages[pageName].ExecuteTemplate(&buf, tmpl, data); err != nil {
		return fmt.Errorf("template %s: %w", tmpl, err)
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Write(buf.Bytes())
	return nil
}

// redirect answers a POST with 303 to path under Prefix, leaving msg for the next page.
func (c *server) redirect(w http.ResponseWriter, r *http.Request, ses *session, path, msg string) error {
	if msg != "" {
		c.sessions.setFlash(ses.id, msg)
	}
	http.Redirect(w, r, Prefix+path, http.StatusSeeOther)
	return nil
}

// record writes an audit event for an action taken in the console. A failure is logged, not
// shown: the action itself has happened.
func (c *server) record(ctx context.Context, ses *session, e store.Event) {
	by := "by " + ses.principal.User() + " in the console"
	if e.Detail == "" {
		e.Detail = by
	} else {
		e.Detail += "; " + by
	}
	e.At = c.now()
	if _, err := c.db.RecordEvent(ctx, e); err != nil {
		c.log.ErrorContext(ctx, "console: recording an audit event", "kind", e.Kind, "iccid", e.ICCID, "err", err)
	}
}
