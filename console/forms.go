package console

import (
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/smdpp/smdpp/certs"
	"github.com/smdpp/smdpp/store"
)

// scopeFilter returns the operator the queries of a page are limited to. For an operator that is
// itself; the administrator may choose one with the "operator" query parameter (empty: all), and
// gets the list of operators to choose from in ops, the choice in chosen.
func (c *server) scopeFilter(r *http.Request, ses *session, ops *[]store.Operator, chosen *string) (string, error) {
	if !ses.principal.Admin {
		return ses.principal.OperatorID, nil
	}
	list, err := c.db.ListOperators(r.Context())
	if err != nil {
		return "", err
	}
	*ops = list
	id := strings.TrimSpace(r.URL.Query().Get("operator"))
	if id == "" {
		return "", nil
	}
	for _, o := range list {
		if o.ID == id {
			*chosen = id
			return id, nil
		}
	}
	return "", badRequest("There is no operator " + id + ".")
}

// ownProfile loads the profile iccid if the signed-in user may see it. Another operator's
// profile is answered exactly like one that does not exist.
func (c *server) ownProfile(r *http.Request, ses *session, iccid string) (store.Profile, error) {
	if !validICCID(iccid) {
		return store.Profile{}, errNotFound
	}
	p, err := c.db.GetProfile(r.Context(), iccid)
	if errors.Is(err, store.ErrNotFound) || err == nil && !ses.principal.Admin && p.OperatorID != ses.principal.OperatorID {
		return store.Profile{}, errNotFound
	}
	return p, err
}

// validICCID reports whether s is 18 to 20 decimal digits (ITU-T E.118).
func validICCID(s string) bool {
	return len(s) >= 18 && len(s) <= 20 && digits(s)
}

// validEID reports whether s is an EID: 32 decimal digits (SGP.29).
func validEID(s string) bool {
	return len(s) == certs.EIDLength && digits(s)
}

func digits(s string) bool {
	return s != "" && strings.Trim(s, "0123456789") == ""
}

func urlQuery(s string) string { return url.QueryEscape(s) }

// dateRange reads the "from" and "to" dates (YYYY-MM-DD, UTC) of a form: from the start of the
// first day to the end of the last. Empty fields take the defaults given.
func dateRange(r *http.Request, defFrom, defTo time.Time) (from, to time.Time, fromS, toS string, err error) {
	q := r.URL.Query()
	fromS, toS = strings.TrimSpace(q.Get("from")), strings.TrimSpace(q.Get("to"))
	if fromS == "" {
		fromS = defFrom.UTC().Format(time.DateOnly)
	}
	if toS == "" {
		toS = defTo.UTC().Format(time.DateOnly)
	}
	if from, err = time.Parse(time.DateOnly, fromS); err != nil {
		return from, to, fromS, toS, badRequest("The start date must be a date like 2026-01-31.")
	}
	last, err := time.Parse(time.DateOnly, toS)
	if err != nil {
		return from, to, fromS, toS, badRequest("The end date must be a date like 2026-01-31.")
	}
	to = last.AddDate(0, 0, 1)
	if !from.Before(to) {
		return from, to, fromS, toS, badRequest("The start date must not be after the end date.")
	}
	return from, to, fromS, toS, nil
}
