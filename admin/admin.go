// Package admin is the SM-DP+ administration API: an authenticated JSON-over-HTTP interface for
// the people who run the service, apart from the SGP.22 interfaces. It manages operators (the ES2+
// function requesters of SGP.22 §5.3 and their HandleDownloadProgressInfo callback URL), searches
// profiles and the orders they carry, imports personalised profiles into pools, sets pool
// thresholds, exports usage records, reports quality figures and eUICC histories, and resets a
// profile's state when a notification was lost.
//
// Every request needs "Authorization: Bearer <token>", the token configured for the server,
// compared in constant time; without it the answer is 401. Failures are JSON {"error": "…"} with
// the HTTP status saying what kind: 400 malformed request, 404 unknown operator or profile, 409
// state conflict or duplicate, 413 body too large, 422 import with bad rows (the body is then the
// import report), 500 internal error (detail only in the log). Handlers decode the request,
// make one call to the inventory service or the store, and encode the answer.
//
// Routes, relative to where Handler is mounted (e.g. /admin):
//
//	GET    /operators                      list operators
//	POST   /operators                      create {id, name, callbackUrl, redownloadLimit}
//	GET    /operators/{id}                 one operator
//	PATCH  /operators/{id}                 update the fields given (PUT is the same)
//	GET    /profiles                       search: ?iccid= &eid= &state= &type= &operator= &limit=
//	GET    /orders                         the same search (an order lives on its profile)
//	GET    /profiles/{iccid}               one profile, with its pool
//	POST   /profiles/{iccid}/reset         {from, to, version, reason}: state reset by compare-and-set
//	POST   /imports                        import; ?dryRun=true only checks (see below)
//	GET    /pools                          pool levels and thresholds: ?operator=
//	PUT    /pools/thresholds               {operator, profileType, region, lowWater}
//	DELETE /pools/thresholds               ?operator= &profileType= &region=
//	POST   /pools/return-released          {maxAge: "72h"}: apply the return policy now
//	GET    /usage                          ?operator= &from= &to= &format=csv|json
//	GET    /quality                        ?operator= &from= &to=
//	GET    /eids/{eid}/history             ?operator=
//
// An import body is multipart/form-data with the fields operator, profileType and dryRun and the
// files template (the DER template package) and csv or json (the input file, in a form of package
// inventory), or application/json {"operator", "profileType", "dryRun", "template" (base64),
// "csv" (the CSV file as a string) or "profiles" (the JSON form's array)}. A clean dry run answers
// 200 and a done import 201, both with the inventory.Report; bad rows answer 422 with the report.
//
// Times in queries are RFC 3339 (2025-06-01T00:00:00Z) or dates (2025-06-01, midnight UTC).
package admin

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"

	"github.com/go-chi/chi/v5"

	"github.com/smdpp/smdpp/inventory"
	"github.com/smdpp/smdpp/store"
	"github.com/smdpp/smdpp/web"
)

// MinTokenLength is the shortest bearer token New accepts.
const MinTokenLength = 16

// Defaults of the body limits.
const (
	DefaultMaxBody       = 1 << 20  // JSON requests
	DefaultMaxImportBody = 64 << 20 // imports: about 400 000 CSV rows
)

// API is the administration API. Create it with New and serve Handler.
type API struct {
	db            *store.DB
	inv           *inventory.Service
	tokenHash     [32]byte
	log           *slog.Logger
	maxBody       int64
	maxImportBody int64
}

// Option configures New.
type Option func(*API)

// WithLogger sets the logger for internal errors and audit lines (default slog.Default()).
func WithLogger(l *slog.Logger) Option { return func(a *API) { a.log = l } }

// WithMaxBody caps JSON request bodies (default DefaultMaxBody).
func WithMaxBody(n int64) Option { return func(a *API) { a.maxBody = n } }

// WithMaxImportBody caps import request bodies (default DefaultMaxImportBody).
func WithMaxImportBody(n int64) Option { return func(a *API) { a.maxImportBody = n } }

// New returns the API on db and inv, accepting requests that carry token as bearer token.
// A token shorter than MinTokenLength is refused.
func New(db *store.DB, inv *inventory.Service, token string, opts ...Option) (*API, error) {
	if len(token) < MinTokenLength {
		return nil, fmt.Errorf("admin: the bearer token must be at least %d characters", MinTokenLength)
	}
	a := &API{db: db, inv: inv, tokenHash: sha256.Sum256([]byte(token)), log: slog.Default(),
		maxBody: DefaultMaxBody, maxImportBody: DefaultMaxImportBody}
	for _, o := range opts {
		o(a)
	}
	return a, nil
}

// Handler returns the API's routes, all behind the bearer token. Mount it under a prefix, e.g.
// router.Mount("/admin", api.Handler()).
func (a *API) Handler() http.Handler {
	r := chi.NewRouter()
	r.Use(a.authenticate)
	r.NotFound(handle(a, func(w http.ResponseWriter, r *http.Request) error {
		return &httpError{code: http.StatusNotFound, msg: "no such admin resource"}
	}))
	r.MethodNotAllowed(handle(a, func(w http.ResponseWriter, r *http.Request) error {
		return &httpError{code: http.StatusMethodNotAllowed, msg: "method not allowed"}
	}))
	r.Get("/operators", handle(a, a.listOperators))
	r.Post("/operators", handle(a, a.createOperator))
	r.Get("/operators/{id}", handle(a, a.getOperator))
	r.Patch("/operators/{id}", handle(a, a.updateOperator))
	r.Put("/operators/{id}", handle(a, a.updateOperator))
	r.Get("/profiles", handle(a, a.findProfiles))
	r.Get("/orders", handle(a, a.findProfiles))
	r.Get("/profiles/{iccid}", handle(a, a.getProfile))
	r.Post("/profiles/{iccid}/reset", handle(a, a.resetProfile))
	r.Post("/imports", handle(a, a.importProfiles))
	r.Get("/pools", handle(a, a.pools))
	r.Put("/pools/thresholds", handle(a, a.setThreshold))
	r.Delete("/pools/thresholds", handle(a, a.deleteThreshold))
	r.Post("/pools/return-released", handle(a, a.returnReleased))
	r.Get("/usage", handle(a, a.usage))
	r.Get("/quality", handle(a, a.quality))
	r.Get("/eids/{eid}/history", handle(a, a.eidHistory))
	return r
}

// authenticate lets through only requests with the bearer token. The tokens are compared as
// SHA-256 hashes, so that the comparison takes the same time whatever the length presented.
func (a *API) authenticate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		auth := r.Header.Get("Authorization")
		scheme, token, ok := strings.Cut(auth, " ")
		got := sha256.Sum256([]byte(strings.TrimSpace(token)))
		if !ok || !strings.EqualFold(scheme, "Bearer") || subtle.ConstantTimeCompare(got[:], a.tokenHash[:]) != 1 {
			web.AddLog(r.Context(), slog.String("admin", "unauthenticated"))
			w.Header().Set("WWW-Authenticate", `Bearer realm="smdpp-admin"`)
			writeError(w, http.StatusUnauthorized, "a valid bearer token is required")
			return
		}
		next.ServeHTTP(w, r)
	})
}

// handlerFunc is a handler that returns its failure instead of writing it.
type handlerFunc func(w http.ResponseWriter, r *http.Request) error

// handle adapts a handlerFunc: its error becomes the one JSON error response.
func handle(a *API, h handlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if err := h(w, r); err != nil {
			a.fail(w, r, err)
		}
	}
}

// httpError is a failure with its HTTP status and a message safe to show.
type httpError struct {
	code int
	msg  string
	err  error
}

func (e *httpError) Error() string {
	if e.err != nil {
		return e.msg + ": " + e.err.Error()
	}
	return e.msg
}

func (e *httpError) Unwrap() error { return e.err }

func badRequest(format string, args ...any) error {
	return &httpError{code: http.StatusBadRequest, msg: fmt.Sprintf(format, args...)}
}

// fail writes err as the JSON error response. Errors of the packages called map to their status;
// anything else is a 500 whose detail goes only to the log.
func (a *API) fail(w http.ResponseWriter, r *http.Request, err error) {
	code, msg := http.StatusInternalServerError, "internal error"
	var he *httpError
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &he):
		code, msg = he.code, he.Error()
	case errors.As(err, &tooBig):
		code, msg = http.StatusRequestEntityTooLarge, fmt.Sprintf("request body larger than %d bytes", tooBig.Limit)
	case errors.Is(err, store.ErrNotFound), errors.Is(err, inventory.ErrUnknownOperator):
		code, msg = http.StatusNotFound, err.Error()
	case errors.Is(err, store.ErrDuplicate), errors.Is(err, store.ErrWrongState), errors.Is(err, store.ErrConflict):
		code, msg = http.StatusConflict, err.Error()
	case errors.Is(err, inventory.ErrBadTemplate), errors.Is(err, inventory.ErrUnreadable),
		errors.Is(err, inventory.ErrFormat), errors.Is(err, inventory.ErrResetTarget):
		code, msg = http.StatusBadRequest, err.Error()
	}
	web.AddLog(r.Context(), slog.String("error", err.Error()))
	if code == http.StatusInternalServerError {
		a.log.ErrorContext(r.Context(), "admin request failed", "method", r.Method, "path", r.URL.Path, "error", err)
	}
	writeError(w, code, msg)
}

func writeError(w http.ResponseWriter, code int, msg string) {
	body, _ := json.Marshal(struct {
		Error string `json:"error"`
	}{msg})
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	w.Write(append(body, '\n'))
}

// writeJSON encodes v first, so that an encoding failure is still a clean 500, then writes it.
func writeJSON(w http.ResponseWriter, code int, v any) error {
	body, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("admin: encoding the response: %w", err)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	w.Write(append(body, '\n'))
	return nil
}

// decodeJSON reads one JSON object of at most a.maxBody bytes into v, refusing unknown fields.
func (a *API) decodeJSON(w http.ResponseWriter, r *http.Request, v any) error {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, a.maxBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return err
		}
		return badRequest("the body is not the JSON object expected: %v", err)
	}
	if dec.More() {
		return badRequest("data after the JSON object")
	}
	return nil
}
