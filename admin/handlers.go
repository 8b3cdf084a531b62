package admin

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/smdpp/smdpp/inventory"
	"github.com/smdpp/smdpp/store"
	"github.com/smdpp/smdpp/web"
)

// Operator is the JSON form of an operator.
type Operator struct {
	ID              string    `json:"id"`
	Name            string    `json:"name"`
	CallbackURL     string    `json:"callbackUrl"`
	RedownloadLimit int       `json:"redownloadLimit"`
	CreatedAt       time.Time `json:"createdAt"`
	UpdatedAt       time.Time `json:"updatedAt"`
}

func operatorJSON(o store.Operator) Operator {
	return Operator{ID: o.ID, Name: o.Name, CallbackURL: o.CallbackURL, RedownloadLimit: o.RedownloadLimit,
		CreatedAt: o.CreatedAt, UpdatedAt: o.UpdatedAt}
}

func (a *API) listOperators(w http.ResponseWriter, r *http.Request) error {
	ops, err := a.db.ListOperators(r.Context())
	if err != nil {
		return err
	}
	out := make([]Operator, len(ops))
	for i, o := range ops {
		out[i] = operatorJSON(o)
	}
	return writeJSON(w, http.StatusOK, out)
}

func (a *API) getOperator(w http.ResponseWriter, r *http.Request) error {
	o, err := a.db.GetOperator(r.Context(), chi.URLParam(r, "id"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, operatorJSON(o))
}

// operatorRequest is the body of POST and PATCH /operators; absent fields are not changed by
// PATCH.
type operatorRequest struct {
	ID              string  `json:"id"`
	Name            *string `json:"name"`
	CallbackURL     *string `json:"callbackUrl"`
	RedownloadLimit *int    `json:"redownloadLimit"`
}

func (req *operatorRequest) apply(o *store.Operator) error {
	if req.Name != nil {
		o.Name = *req.Name
	}
	if req.CallbackURL != nil {
		if err := checkCallbackURL(*req.CallbackURL); err != nil {
			return err
		}
		o.CallbackURL = *req.CallbackURL
	}
	if req.RedownloadLimit != nil {
		if *req.RedownloadLimit < 0 {
			return badRequest("redownloadLimit must not be negative")
		}
		o.RedownloadLimit = *req.RedownloadLimit
	}
	return nil
}

// checkCallbackURL accepts "" (no callback) or an absolute http(s) URL: the base of the
// operator's ES2+ endpoint (SGP.22 §6.5, HandleDownloadProgressInfo).
func checkCallbackURL(s string) error {
	if s == "" {
		return nil
	}
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil || u.Fragment != "" {
		return badRequest("callbackUrl must be an absolute http(s) URL without credentials")
	}
	return nil
}

func validOperatorID(id string) bool {
	if id == "" || len(id) > 128 {
		return false
	}
	for _, c := range id {
		if c <= ' ' || c == 0x7F || c == '/' {
			return false
		}
	}
	return true
}

func (a *API) createOperator(w http.ResponseWriter, r *http.Request) error {
	var req operatorRequest
	if err := a.decodeJSON(w, r, &req); err != nil {
		return err
	}
	if !validOperatorID(req.ID) {
		return badRequest("id must be 1 to 128 characters without spaces, control characters or '/'")
	}
	o := store.Operator{ID: req.ID}
	if err := req.apply(&o); err != nil {
		return err
	}
	o, err := a.db.CreateOperator(r.Context(), o)
	if err != nil {
		return err
	}
	a.log.InfoContext(r.Context(), "admin: operator created", "operator", o.ID, "callbackUrl", o.CallbackURL)
	return writeJSON(w, http.StatusCreated, operatorJSON(o))
}

func (a *API) updateOperator(w http.ResponseWriter, r *http.Request) error {
	var req operatorRequest
	if err := a.decodeJSON(w, r, &req); err != nil {
		return err
	}
	id := chi.URLParam(r, "id")
	if req.ID != "" && req.ID != id {
		return badRequest("the id of an operator cannot change")
	}
	o, err := a.db.GetOperator(r.Context(), id)
	if err != nil {
		return err
	}
	if err := req.apply(&o); err != nil {
		return err
	}
	if o, err = a.db.UpdateOperator(r.Context(), o); err != nil {
		return err
	}
	a.log.InfoContext(r.Context(), "admin: operator updated", "operator", o.ID, "callbackUrl", o.CallbackURL,
		"redownloadLimit", o.RedownloadLimit)
	return writeJSON(w, http.StatusOK, operatorJSON(o))
}

// Profile is the JSON form of a profile and the order it carries, without its package.
type Profile struct {
	ICCID       string `json:"iccid"`
	OperatorID  string `json:"operator"`
	ProfileType string `json:"profileType"`
	Region      string `json:"region,omitempty"`
	State       string `json:"state"`
	EID         string `json:"eid,omitempty"`
	MatchingID  string `json:"matchingId,omitempty"`
	SMDSAddress string `json:"smdsAddress,omitempty"`
	// ConfirmationCodeRequired tells whether the order has a confirmation code (never shown).
	ConfirmationCodeRequired bool      `json:"confirmationCodeRequired"`
	CCAttempts               int       `json:"ccAttempts"`
	DownloadAttempts         int       `json:"downloadAttempts"`
	LastErrorReason          *int      `json:"lastErrorReason,omitempty"`
	LastBppCommandID         *int      `json:"lastBppCommandId,omitempty"`
	Version                  int64     `json:"version"`
	CreatedAt                time.Time `json:"createdAt"`
	UpdatedAt                time.Time `json:"updatedAt"`
}

func profileJSON(p store.Profile) Profile {
	return Profile{ICCID: p.ICCID, OperatorID: p.OperatorID, ProfileType: p.ProfileType, State: string(p.State),
		EID: p.EID, MatchingID: p.MatchingID, SMDSAddress: p.SMDSAddress,
		ConfirmationCodeRequired: p.ConfirmationCodeHash != nil, CCAttempts: p.CCAttempts,
		DownloadAttempts: p.DownloadAttempts, LastErrorReason: p.LastErrorReason, LastBppCommandID: p.LastBppCommandID,
		Version: p.Version, CreatedAt: p.CreatedAt, UpdatedAt: p.UpdatedAt}
}

func (a *API) findProfiles(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	f := store.ProfileFilter{OperatorID: q.Get("operator"), ICCID: q.Get("iccid"), EID: q.Get("eid"),
		State: store.State(q.Get("state")), ProfileType: q.Get("type")}
	if f.State != "" && !f.State.Valid() {
		return badRequest("unknown state %q", f.State)
	}
	if s := q.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n <= 0 || n > store.MaxFindLimit {
			return badRequest("limit must be 1 to %d", store.MaxFindLimit)
		}
		f.Limit = n
	}
	ps, err := a.db.FindProfiles(r.Context(), f)
	if err != nil {
		return err
	}
	out := make([]Profile, len(ps))
	for i, p := range ps {
		out[i] = profileJSON(p)
	}
	return writeJSON(w, http.StatusOK, out)
}

func (a *API) getProfile(w http.ResponseWriter, r *http.Request) error {
	iccid := chi.URLParam(r, "iccid")
	ps, err := a.db.FindProfiles(r.Context(), store.ProfileFilter{ICCID: iccid, Limit: 1})
	if err != nil {
		return err
	}
	if len(ps) == 0 {
		return &httpError{code: http.StatusNotFound, msg: "unknown profile " + iccid}
	}
	k, err := a.db.PoolOf(r.Context(), iccid)
	if err != nil {
		return err
	}
	p := profileJSON(ps[0])
	p.Region = k.Region
	return writeJSON(w, http.StatusOK, p)
}

// resetRequest is the body of POST /profiles/{iccid}/reset.
type resetRequest struct {
	From    store.State `json:"from"`
	To      store.State `json:"to"`
	Version int64       `json:"version"`
	Reason  string      `json:"reason"`
}

func (a *API) resetProfile(w http.ResponseWriter, r *http.Request) error {
	var req resetRequest
	if err := a.decodeJSON(w, r, &req); err != nil {
		return err
	}
	if !req.From.Valid() || req.Reason == "" {
		return badRequest(`"from" (the state the profile is in) and "reason" are required`)
	}
	iccid := chi.URLParam(r, "iccid")
	web.AddLog(r.Context(), slog.String("iccid", iccid))
	p, err := a.inv.ResetProfile(r.Context(), inventory.ResetRequest{ICCID: iccid, From: req.From, To: req.To,
		Version: req.Version, Actor: "admin API", Reason: req.Reason})
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, profileJSON(p))
}

// importJSON is the JSON body of POST /imports: the template as base64 and the input file as a
// CSV string or as the profiles array of the JSON form.
type importJSON struct {
	Operator    string                       `json:"operator"`
	ProfileType string                       `json:"profileType"`
	DryRun      bool                         `json:"dryRun"`
	Template    []byte                       `json:"template"`
	CSV         *string                      `json:"csv"`
	Profiles    []map[string]json.RawMessage `json:"profiles"`
}

// importProfiles runs an import or a dry run. The body is either multipart/form-data with the
// fields operator, profileType and dryRun and the files template and csv (or json), or JSON
// (importJSON). A clean dry run answers 200 with the report, a done import 201; an input with bad
// rows answers 422 with the report listing them.
func (a *API) importProfiles(w http.ResponseWriter, r *http.Request) error {
	r.Body = http.MaxBytesReader(w, r.Body, a.maxImportBody)
	dryRun := r.URL.Query().Get("dryRun") == "true"
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil {
		return badRequest("Content-Type must be multipart/form-data or application/json")
	}
	var b inventory.Batch
	switch mt {
	case "multipart/form-data":
		var dr bool
		if b, dr, err = readMultipartImport(r); err != nil {
			return err
		}
		dryRun = dryRun || dr
	case "application/json":
		var req importJSON
		dec := json.NewDecoder(r.Body)
		dec.DisallowUnknownFields()
		if err := dec.Decode(&req); err != nil {
			var tooBig *http.MaxBytesError
			if errors.As(err, &tooBig) {
				return err
			}
			return badRequest("the body is not the JSON object expected: %v", err)
		}
		b = inventory.Batch{OperatorID: req.Operator, ProfileType: req.ProfileType, Template: req.Template}
		switch {
		case req.CSV != nil && req.Profiles != nil:
			return badRequest(`give "csv" or "profiles", not both`)
		case req.CSV == nil && req.Profiles == nil:
			return badRequest(`the input file ("csv" or "profiles") is required`)
		case req.CSV != nil:
			if b.Input, err = inventory.ReadCSV(strings.NewReader(*req.CSV)); err != nil {
				return err
			}
		default:
			b.Input = inventory.JSONRows(req.Profiles)
		}
		dryRun = dryRun || req.DryRun
	default:
		return badRequest("Content-Type must be multipart/form-data or application/json")
	}
	if len(b.Template) == 0 {
		return badRequest("the template package is required")
	}
	if b.Input == nil {
		return badRequest("the input file (csv or json) is required")
	}
	web.AddLog(r.Context(), slog.String("operator", b.OperatorID), slog.Bool("dryRun", dryRun), slog.Int("rows", len(b.Input.Rows)))
	var rep inventory.Report
	if dryRun {
		rep, err = a.inv.DryRun(r.Context(), b)
	} else {
		rep, err = a.inv.Import(r.Context(), b)
	}
	switch {
	case errors.Is(err, inventory.ErrInvalid):
		return writeJSON(w, http.StatusUnprocessableEntity, rep)
	case err != nil:
		return err
	case dryRun:
		return writeJSON(w, http.StatusOK, rep)
	}
	return writeJSON(w, http.StatusCreated, rep)
}

// maxTemplate caps the template part of a multipart import: profile packages are tens of KB.
const maxTemplate = 4 << 20

// readMultipartImport reads a multipart import, streaming the input file part into the parser.
func readMultipartImport(r *http.Request) (b inventory.Batch, dryRun bool, err error) {
	mr, err := r.MultipartReader()
	if err != nil {
		return b, false, badRequest("malformed multipart body: %v", err)
	}
	for {
		part, err := mr.NextPart()
		if err == io.EOF {
			return b, dryRun, nil
		}
		if err != nil {
			var tooBig *http.MaxBytesError
			if errors.As(err, &tooBig) {
				return b, false, err
			}
			return b, false, badRequest("malformed multipart body: %v", err)
		}
		value := func(limit int64) (string, error) {
			v, err := io.ReadAll(io.LimitReader(part, limit+1))
			if err != nil {
				return "", err
			}
			if int64(len(v)) > limit {
				return "", badRequest("part %q is larger than %d bytes", part.FormName(), limit)
			}
			return string(v), nil
		}
		var v string
		switch name := part.FormName(); name {
		case "operator":
			v, err = value(256)
			b.OperatorID = strings.TrimSpace(v)
		case "profileType":
			v, err = value(256)
			b.ProfileType = strings.TrimSpace(v)
		case "dryRun":
			v, err = value(16)
			dryRun = strings.TrimSpace(v) == "true"
		case "template":
			v, err = value(maxTemplate)
			b.Template = []byte(v)
		case "csv":
			b.Input, err = inventory.ReadCSV(part)
		case "json":
			b.Input, err = inventory.ReadJSON(part)
		default:
			err = badRequest("unknown part %q", name)
		}
		if err != nil {
			return b, false, err
		}
	}
}

// PoolLevel is the JSON form of a pool's level.
type PoolLevel struct {
	Operator    string         `json:"operator"`
	ProfileType string         `json:"profileType"`
	Region      string         `json:"region"`
	Available   int            `json:"available"`
	Total       int            `json:"total"`
	Counts      map[string]int `json:"counts"`
	LowWater    int            `json:"lowWater,omitempty"`
	Low         bool           `json:"low"`
}

func poolJSON(l store.PoolLevel) PoolLevel {
	out := PoolLevel{Operator: l.OperatorID, ProfileType: l.ProfileType, Region: l.Region, Available: l.Available,
		Total: l.Total, Counts: map[string]int{}}
	for s, n := range l.Counts {
		out.Counts[string(s)] = n
	}
	if l.Threshold != nil {
		out.LowWater, out.Low = l.Threshold.LowWater, l.Threshold.Low
	}
	return out
}

func (a *API) pools(w http.ResponseWriter, r *http.Request) error {
	levels, err := a.inv.Pools(r.Context(), r.URL.Query().Get("operator"))
	if err != nil {
		return err
	}
	out := make([]PoolLevel, len(levels))
	for i, l := range levels {
		out[i] = poolJSON(l)
	}
	return writeJSON(w, http.StatusOK, out)
}

// thresholdRequest is the body of PUT /pools/thresholds.
type thresholdRequest struct {
	Operator    string `json:"operator"`
	ProfileType string `json:"profileType"`
	Region      string `json:"region"`
	LowWater    int    `json:"lowWater"`
}

func (a *API) setThreshold(w http.ResponseWriter, r *http.Request) error {
	var req thresholdRequest
	if err := a.decodeJSON(w, r, &req); err != nil {
		return err
	}
	if req.Operator == "" || req.ProfileType == "" || req.LowWater <= 0 {
		return badRequest("operator, profileType and a positive lowWater are required")
	}
	k := store.PoolKey{OperatorID: req.Operator, ProfileType: req.ProfileType, Region: req.Region}
	th, err := a.inv.SetThreshold(r.Context(), k, req.LowWater)
	if err != nil {
		return err
	}
	a.log.InfoContext(r.Context(), "admin: pool threshold set", "pool", k.String(), "lowWater", req.LowWater)
	return writeJSON(w, http.StatusOK, struct {
		thresholdRequest
		Low bool `json:"low"`
	}{req, th.Low})
}

func (a *API) deleteThreshold(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	k := store.PoolKey{OperatorID: q.Get("operator"), ProfileType: q.Get("profileType"), Region: q.Get("region")}
	if k.OperatorID == "" || k.ProfileType == "" {
		return badRequest("operator and profileType are required")
	}
	if err := a.inv.DeleteThreshold(r.Context(), k); err != nil {
		return err
	}
	a.log.InfoContext(r.Context(), "admin: pool threshold deleted", "pool", k.String())
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (a *API) returnReleased(w http.ResponseWriter, r *http.Request) error {
	var req struct {
		MaxAge string `json:"maxAge"`
	}
	if err := a.decodeJSON(w, r, &req); err != nil {
		return err
	}
	age, err := time.ParseDuration(req.MaxAge)
	if err != nil || age <= 0 {
		return badRequest(`maxAge must be a positive duration such as "72h"`)
	}
	returned, err := a.inv.ReturnStaleReleased(r.Context(), age)
	if err != nil {
		return err
	}
	out := make([]Profile, len(returned))
	for i, p := range returned {
		out[i] = profileJSON(p)
	}
	return writeJSON(w, http.StatusOK, out)
}

// parseTime reads an RFC 3339 time or a date (midnight UTC); "" is the zero time.
func parseTime(name, s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return t, nil
	}
	return time.Time{}, badRequest("%s must be an RFC 3339 time or a date (YYYY-MM-DD), not %q", name, s)
}

func usageQuery(r *http.Request) (inventory.UsageQuery, error) {
	q := r.URL.Query()
	from, err := parseTime("from", q.Get("from"))
	if err != nil {
		return inventory.UsageQuery{}, err
	}
	to, err := parseTime("to", q.Get("to"))
	if err != nil {
		return inventory.UsageQuery{}, err
	}
	if !from.IsZero() && !to.IsZero() && !from.Before(to) {
		return inventory.UsageQuery{}, badRequest("from must be before to")
	}
	return inventory.UsageQuery{OperatorID: q.Get("operator"), From: from, To: to}, nil
}

// usage streams the usage export. Once the first bytes are out the status cannot change: a
// failure after that is logged and ends the response early.
func (a *API) usage(w http.ResponseWriter, r *http.Request) error {
	q, err := usageQuery(r)
	if err != nil {
		return err
	}
	format := r.URL.Query().Get("format")
	if format == "" {
		format = inventory.FormatJSON
	}
	name := "usage"
	if q.OperatorID != "" {
		name += "-" + q.OperatorID
	}
	switch format {
	case inventory.FormatCSV:
		w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	case inventory.FormatJSON:
		w.Header().Set("Content-Type", "application/json")
	default:
		return fmt.Errorf("%w, not %q", inventory.ErrFormat, format)
	}
	w.Header().Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": name + "." + format}))
	sw := &startedWriter{w: w}
	if err := a.inv.ExportUsage(r.Context(), sw, format, q); err != nil {
		if !sw.started {
			w.Header().Del("Content-Disposition")
			return err
		}
		a.log.ErrorContext(r.Context(), "admin: usage export failed midway", "error", err)
	}
	return nil
}

// startedWriter records whether anything was written.
type startedWriter struct {
	w       io.Writer
	started bool
}

func (s *startedWriter) Write(p []byte) (int, error) {
	s.started = s.started || len(p) > 0
	return s.w.Write(p)
}

func (a *API) quality(w http.ResponseWriter, r *http.Request) error {
	q, err := usageQuery(r)
	if err != nil {
		return err
	}
	out, err := a.inv.Quality(r.Context(), q)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, out)
}

func (a *API) eidHistory(w http.ResponseWriter, r *http.Request) error {
	eid := chi.URLParam(r, "eid")
	if len(eid) != 32 || strings.Trim(eid, "0123456789") != "" {
		return badRequest("an EID is 32 decimal digits")
	}
	h, err := a.inv.EIDHistory(r.Context(), eid, r.URL.Query().Get("operator"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, h)
}
