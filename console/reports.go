package console

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/smdpp/smdpp/inventory"
	"github.com/smdpp/smdpp/status"
	"github.com/smdpp/smdpp/store"
)

type eidData struct {
	EID      string
	EUM      string
	History  *inventory.EIDHistory
	Profiles []store.Profile
}

// eidHistory shows what the SM-DP+ knows of one eUICC: the profiles bound to it now and every
// recorded event of its profiles.
func (c *server) eidHistory(w http.ResponseWriter, r *http.Request, ses *session) error {
	d := eidData{EID: strings.TrimSpace(r.URL.Query().Get("eid"))}
	if d.EID == "" {
		return c.render(w, r, ses, http.StatusOK, "eid", "EID history", "eid", d, nil)
	}
	if !validEID(d.EID) {
		return c.render(w, r, ses, http.StatusUnprocessableEntity, "eid", "EID history", "eid", d,
			status.New(status.SubjectEID, status.ReasonInvalid, "an EID is 32 digits"))
	}
	scope := ses.principal.scope()
	h, err := c.inv.EIDHistory(r.Context(), d.EID, scope)
	if err != nil {
		return err
	}
	d.History, d.EUM = &h, inventory.EUMOf(d.EID)
	if d.Profiles, err = c.db.FindProfiles(r.Context(), store.ProfileFilter{EID: d.EID, OperatorID: scope}); err != nil {
		return err
	}
	return c.render(w, r, ses, http.StatusOK, "eid", "EID history", "eid", d, nil)
}

// usagePreview caps the usage records shown on the page; the export has them all.
const usagePreview = 100

type usageData struct {
	From, To   string
	Operators  []store.Operator
	Operator   string
	Totals     []categoryCount
	Records    []inventory.UsageRecord
	Total      int
	ExportCSV  string
	ExportJSON string
}

type categoryCount struct {
	Category string
	Count    int
}

func (c *server) usage(w http.ResponseWriter, r *http.Request, ses *session) error {
	var d usageData
	scope, err := c.scopeFilter(r, ses, &d.Operators, &d.Operator)
	if err != nil {
		return err
	}
	now := c.now().UTC()
	from, to, fromS, toS, err := dateRange(r, time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, time.UTC), now)
	d.From, d.To = fromS, toS
	if err != nil {
		return c.render(w, r, ses, http.StatusUnprocessableEntity, "usage", "Usage", "usage", d, err)
	}
	totals := map[string]int{}
	err = c.inv.Usage(r.Context(), inventory.UsageQuery{OperatorID: scope, From: from, To: to}, func(u inventory.UsageRecord) error {
		totals[u.Category]++
		d.Total++
		if len(d.Records) < usagePreview {
			d.Records = append(d.Records, u)
		}
		return nil
	})
	if err != nil {
		return err
	}
	for cat, n := range totals {
		d.Totals = append(d.Totals, categoryCount{cat, n})
	}
	slices.SortFunc(d.Totals, func(a, b categoryCount) int { return strings.Compare(a.Category, b.Category) })
	q := url.Values{"from": {fromS}, "to": {toS}}
	if d.Operator != "" {
		q.Set("operator", d.Operator)
	}
	q.Set("format", inventory.FormatCSV)
	d.ExportCSV = Prefix + "/usage/export?" + q.Encode()
	q.Set("format", inventory.FormatJSON)
	d.ExportJSON = Prefix + "/usage/export?" + q.Encode()
	return c.render(w, r, ses, http.StatusOK, "usage", "Usage", "usage", d, nil)
}

// usageExport streams the usage records of a period as a CSV or JSON download.
func (c *server) usageExport(w http.ResponseWriter, r *http.Request, ses *session) error {
	var ops []store.Operator
	var chosen string
	scope, err := c.scopeFilter(r, ses, &ops, &chosen)
	if err != nil {
		return err
	}
	now := c.now().UTC()
	from, to, fromS, toS, err := dateRange(r, time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, time.UTC), now)
	if err != nil {
		return err
	}
	format := r.URL.Query().Get("format")
	ctype := map[string]string{inventory.FormatCSV: "text/csv; charset=utf-8", inventory.FormatJSON: "application/json"}[format]
	if ctype == "" {
		return badRequest(`The format must be "csv" or "json".`)
	}
	who := scope
	if who == "" {
		who = "all"
	}
	w.Header().Set("Content-Type", ctype)
	w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="usage-%s-%s-%s.%s"`, who, fromS, toS, format))
	// The status is sent with the first record: a failure after it can only cut the file short,
	// and is logged.
	if err := c.inv.ExportUsage(r.Context(), w, format, inventory.UsageQuery{OperatorID: scope, From: from, To: to}); err != nil {
		c.log.ErrorContext(r.Context(), "console: usage export", "err", err)
	}
	return nil
}

// auditLimit caps the events the audit page shows.
const auditLimit = 500

type auditFilter struct {
	Kind, ICCID, EID, From, To, Operator string
}

type auditData struct {
	Filter    auditFilter
	Operators []store.Operator
	Events    []eventView
	Limited   bool
	Kinds     []string
}

// auditKinds are the event kinds offered in the audit filter.
var auditKinds = []string{kindOrdered, kindConfirmed, kindReleased, kindCancelled, "authenticated",
	"downloaded", "Installed", "Error", "cancelled", "ineligible", "confirmation-code-refused", "confirmation-code-locked",
	"enabled", "disabled", "deleted", inventory.KindImported, inventory.KindPoolLow, inventory.KindReturned,
	inventory.KindAdminReset, KindSignIn, KindSignOut}

func (c *server) audit(w http.ResponseWriter, r *http.Request, ses *session) error {
	q := r.URL.Query()
	d := auditData{Kinds: auditKinds, Filter: auditFilter{Kind: strings.TrimSpace(q.Get("kind")),
		ICCID: strings.TrimSpace(q.Get("iccid")), EID: strings.TrimSpace(q.Get("eid"))}}
	scope, err := c.scopeFilter(r, ses, &d.Operators, &d.Filter.Operator)
	if err != nil {
		return err
	}
	now := c.now().UTC()
	from, to, fromS, toS, err := dateRange(r, now.AddDate(0, 0, -7), now)
	d.Filter.From, d.Filter.To = fromS, toS
	switch {
	case err != nil:
	case d.Filter.ICCID != "" && !validICCID(d.Filter.ICCID):
		err = status.New(status.SubjectICCID, status.ReasonInvalid, "an ICCID is 18 to 20 digits")
	case d.Filter.EID != "" && !validEID(d.Filter.EID):
		err = status.New(status.SubjectEID, status.ReasonInvalid, "an EID is 32 digits")
	case len(d.Filter.Kind) > 64:
		err = badRequest("An event kind has at most 64 characters.")
	}
	if err != nil {
		return c.render(w, r, ses, http.StatusUnprocessableEntity, "audit", "Audit log", "audit", d, err)
	}
	evs, err := c.db.ListEvents(r.Context(), store.EventFilter{OperatorID: scope, ICCID: d.Filter.ICCID, EID: d.Filter.EID,
		Kind: d.Filter.Kind, Since: from, Until: to, Limit: auditLimit + 1})
	if err != nil {
		return err
	}
	d.Limited = len(evs) > auditLimit
	evs = evs[:min(len(evs), auditLimit)]
	for i := len(evs) - 1; i >= 0; i-- {
		e := evs[i]
		d.Events = append(d.Events, eventView{At: e.At, Kind: e.Kind, Detail: e.Detail, EID: e.EID, ICCID: e.ICCID,
			OpID: e.OperatorID, Failed: failedKinds[e.Kind]})
	}
	return c.render(w, r, ses, http.StatusOK, "audit", "Audit log", "audit", d, nil)
}
