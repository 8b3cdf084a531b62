package console

import (
	"bytes"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/smdpp/smdpp/activation"
	"github.com/smdpp/smdpp/inventory"
	"github.com/smdpp/smdpp/orders"
	"github.com/smdpp/smdpp/qr"
	"github.com/smdpp/smdpp/status"
	"github.com/smdpp/smdpp/store"
)

// Audit event kinds that package orders records for the ES2+ functions (SGP.22 §5.3), in the
// transaction of each change; the console, calling the same service, records none of its own.
const (
	kindOrdered   = "ordered"         // DownloadOrder
	kindConfirmed = "confirmed"       // ConfirmOrder
	kindReleased  = "released"        // ReleaseProfile
	kindCancelled = "order-cancelled" // CancelOrder
)

// orderStates are the states of a profile that has an order (all but Available).
var orderStates = allStates[1:]

type orderListData struct {
	Filter    inventoryFilter
	EID       string
	States    []store.State
	Operators []store.Operator
	Orders    []store.Profile
	More      bool
}

func (c *server) orderList(w http.ResponseWriter, r *http.Request, ses *session) error {
	q := r.URL.Query()
	d := orderListData{States: orderStates, EID: strings.TrimSpace(q.Get("eid")),
		Filter: inventoryFilter{ICCID: strings.TrimSpace(q.Get("iccid")), State: q.Get("state")}}
	scope, err := c.scopeFilter(r, ses, &d.Operators, &d.Filter.Operator)
	if err != nil {
		return err
	}
	var perr error
	switch {
	case d.Filter.ICCID != "" && !validICCID(d.Filter.ICCID):
		perr = status.New(status.SubjectICCID, status.ReasonInvalid, "an ICCID is 18 to 20 digits")
	case d.EID != "" && !validEID(d.EID):
		perr = status.New(status.SubjectEID, status.ReasonInvalid, "an EID is 32 digits")
	case d.Filter.State != "" && !slices.Contains(orderStates, store.State(d.Filter.State)):
		perr = badRequest("Choose a state from the list.")
	}
	if perr != nil {
		return c.render(w, r, ses, http.StatusUnprocessableEntity, "orders", "Orders", "orders", d, perr)
	}
	states := orderStates
	if d.Filter.State != "" {
		states = []store.State{store.State(d.Filter.State)}
	}
	for _, st := range states {
		ps, err := c.db.FindProfiles(r.Context(), store.ProfileFilter{OperatorID: scope, ICCID: d.Filter.ICCID, EID: d.EID,
			State: st, Limit: searchLimit + 1})
		if err != nil {
			return err
		}
		d.Orders = append(d.Orders, ps...)
	}
	slices.SortFunc(d.Orders, func(a, b store.Profile) int { return b.UpdatedAt.Compare(a.UpdatedAt) })
	d.Orders, d.More = d.Orders[:min(len(d.Orders), searchLimit)], len(d.Orders) > searchLimit
	return c.render(w, r, ses, http.StatusOK, "orders", "Orders", "orders", d, nil)
}

// orderInput is the new-order form. The confirmation code is never shown again.
type orderInput struct {
	Operator, ICCID, ProfileType, EID, MatchingID, ConfirmationCode string
	Release                                                         bool
}

type orderFormData struct {
	Operators []store.Operator
	Types     []string
	Form      orderInput
	Address   string
}

func (c *server) orderForm(w http.ResponseWriter, r *http.Request, ses *session) error {
	q := r.URL.Query()
	in := orderInput{ICCID: strings.TrimSpace(q.Get("iccid")), ProfileType: strings.TrimSpace(q.Get("type")), Release: true}
	if ses.principal.Admin {
		in.Operator = q.Get("operator")
	}
	return c.showOrderForm(w, r, ses, http.StatusOK, in, nil)
}

func (c *server) showOrderForm(w http.ResponseWriter, r *http.Request, ses *session, code int, in orderInput, perr error) error {
	d := orderFormData{Form: in, Address: c.orders.Address()}
	d.Form.ConfirmationCode = ""
	if ses.principal.Admin {
		ops, err := c.db.ListOperators(r.Context())
		if err != nil {
			return err
		}
		d.Operators = ops
	}
	levels, err := c.inv.Pools(r.Context(), ses.principal.scope())
	if err != nil {
		return err
	}
	for _, l := range levels {
		if l.Available > 0 && !slices.Contains(d.Types, l.ProfileType) {
			d.Types = append(d.Types, l.ProfileType)
		}
	}
	slices.Sort(d.Types)
	return c.render(w, r, ses, code, "order-new", "New order", "orders", d, perr)
}

// validateOrder checks the new-order form as the ES2+ service would, before anything changes,
// so that a bad field leaves the database as it was. It returns the operator to order for.
func (c *server) validateOrder(r *http.Request, ses *session, in orderInput) (string, error) {
	ctx := r.Context()
	op := ses.principal.OperatorID
	switch {
	case in.ICCID == "" && in.ProfileType == "":
		return "", status.New(status.SubjectProfileType, status.ReasonMandatoryElementMissing,
			"enter an ICCID, or a profile type to take a profile from the pool")
	case in.ICCID != "" && !validICCID(in.ICCID):
		return "", status.New(status.SubjectICCID, status.ReasonInvalid, "an ICCID is 18 to 20 digits")
	case in.EID != "" && !validEID(in.EID):
		return "", status.New(status.SubjectEID, status.ReasonInvalid, "an EID is 32 digits")
	case in.MatchingID != "" && !orders.ValidMatchingID(in.MatchingID):
		return "", status.New(status.SubjectMatchingID, status.ReasonInvalid,
			"a matching ID holds only letters, digits and '-', at most 64 of them")
	case in.ConfirmationCode != "" && !validConfirmationCode(in.ConfirmationCode):
		return "", status.New(status.SubjectConfirmationCode, status.ReasonInvalid,
			"a confirmation code is 1 to 64 printable ASCII characters without spaces")
	}
	if in.MatchingID != "" {
		if _, err := c.db.GetProfileByMatchingID(ctx, in.MatchingID); err == nil {
			return "", status.New(status.SubjectMatchingID, status.ReasonAlreadyInUse, "this matching ID is used by another order")
		} else if !errors.Is(err, store.ErrNotFound) {
			return "", err
		}
	}
	if in.ICCID != "" {
		p, err := c.db.GetProfile(ctx, in.ICCID)
		if errors.Is(err, store.ErrNotFound) || err == nil && !ses.principal.Admin && p.OperatorID != op {
			return "", status.New(status.SubjectICCID, status.ReasonUnknown, "unknown ICCID")
		}
		if err != nil {
			return "", err
		}
		if ses.principal.Admin {
			if in.Operator != "" && in.Operator != p.OperatorID {
				return "", status.New(status.SubjectICCID, status.ReasonInvalidAssociation, "the profile belongs to operator "+p.OperatorID)
			}
			op = p.OperatorID
		}
		if p.State != store.StateAvailable {
			return "", status.New(status.SubjectICCID, status.ReasonAlreadyInUse, "the profile is "+string(p.State)+", not Available")
		}
		return op, nil
	}
	if ses.principal.Admin {
		if in.Operator == "" {
			return "", badRequest("Choose the operator to order for.")
		}
		if _, err := c.db.GetOperator(ctx, in.Operator); errors.Is(err, store.ErrNotFound) {
			return "", badRequest("There is no operator " + in.Operator + ".")
		} else if err != nil {
			return "", err
		}
		op = in.Operator
	}
	return op, nil
}

// validConfirmationCode accepts 1 to 64 printable ASCII characters other than space.
func validConfirmationCode(s string) bool {
	if len(s) == 0 || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] > '~' {
			return false
		}
	}
	return true
}

// orderCreate places an order as an operator's BSS would over ES2+: DownloadOrder, then
// ConfirmOrder (with releaseFlag when asked). If ConfirmOrder fails anyway the profile goes back
// to the pool (CancelOrder to Available), so a refused form changes nothing.
func (c *server) orderCreate(w http.ResponseWriter, r *http.Request, ses *session) error {
	ctx := r.Context()
	in := orderInput{Operator: strings.TrimSpace(r.PostFormValue("operator")), ICCID: strings.TrimSpace(r.PostFormValue("iccid")),
		ProfileType: strings.TrimSpace(r.PostFormValue("profileType")), EID: strings.TrimSpace(r.PostFormValue("eid")),
		MatchingID: strings.TrimSpace(r.PostFormValue("matchingId")), ConfirmationCode: r.PostFormValue("confirmationCode"),
		Release: r.PostFormValue("release") != ""}
	if in.ICCID != "" {
		in.ProfileType = ""
	}
	op, err := c.validateOrder(r, ses, in)
	if err != nil {
		if !isShown(err) {
			return err
		}
		return c.showOrderForm(w, r, ses, http.StatusUnprocessableEntity, in, err)
	}
	iccid, err := c.orders.DownloadOrder(ctx, op, orders.DownloadOrderRequest{EID: in.EID, ICCID: in.ICCID, ProfileType: in.ProfileType})
	if err != nil {
		if !isShown(err) {
			return err
		}
		return c.showOrderForm(w, r, ses, http.StatusUnprocessableEntity, in, err)
	}
	_, err = c.orders.ConfirmOrder(ctx, op, orders.ConfirmOrderRequest{ICCID: iccid, EID: in.EID, MatchingID: in.MatchingID,
		ConfirmationCode: in.ConfirmationCode, ReleaseFlag: in.Release})
	if err != nil {
		if cerr := c.orders.CancelOrder(ctx, op, orders.CancelOrderRequest{ICCID: iccid, FinalProfileStatusIndicator: "Available"}); cerr != nil {
			c.log.ErrorContext(ctx, "console: returning a profile after a failed ConfirmOrder", "iccid", iccid, "err", cerr)
		}
		if !isShown(err) {
			return err
		}
		return c.showOrderForm(w, r, ses, http.StatusUnprocessableEntity, in, err)
	}
	msg := "Order placed for profile " + iccid + "."
	if in.Release {
		msg = "Order placed and released: profile " + iccid + " can be downloaded now."
	}
	return c.redirect(w, r, ses, "/orders/"+iccid, msg)
}

type orderData struct {
	Profile        store.Profile
	ActivationCode string
	QR             template.HTML
	CanCancel      bool
	CanRelease     bool
	Timeline       timeline
	// Version changes whenever anything shown changes: the live refresh compares it.
	Version string
}

func (c *server) order(w http.ResponseWriter, r *http.Request, ses *session) error {
	p, err := c.ownProfile(r, ses, chi.URLParam(r, "iccid"))
	if err != nil {
		return err
	}
	return c.showOrder(w, r, ses, http.StatusOK, p, nil)
}

func (c *server) showOrder(w http.ResponseWriter, r *http.Request, ses *session, code int, p store.Profile, perr error) error {
	d, err := c.orderData(r, ses, p)
	if err != nil {
		return err
	}
	return c.render(w, r, ses, code, "order", "Order "+p.ICCID, "orders", d, perr)
}

// orderData is what the order page shows of profile p.
func (c *server) orderData(r *http.Request, ses *session, p store.Profile) (orderData, error) {
	d := orderData{Profile: p,
		CanCancel:  slices.Contains([]store.State{store.StateAllocated, store.StateLinked, store.StateConfirmed, store.StateReleased}, p.State),
		CanRelease: p.State == store.StateConfirmed}
	if p.MatchingID != "" {
		ac := c.activationCode(p)
		d.ActivationCode = ac
		svg, err := qr.SVG(ac)
		if err != nil {
			return d, err
		}
		d.QR = inlineSVG(svg, "QR code of the activation code")
	}
	tl, err := c.timeline(r, ses, p)
	if err != nil {
		return d, err
	}
	d.Timeline = tl
	d.Version = fmt.Sprintf("%d-%d", p.Version, len(tl.Events))
	return d, nil
}

// activationCode is the order's activation code as a QR code carries it (SGP.22 §4.1.3).
func (c *server) activationCode(p store.Profile) string {
	return activation.Code{Address: c.orders.Address(), MatchingID: p.MatchingID,
		ConfirmationCodeRequired: p.ConfirmationCodeHash != nil}.QRString()
}

// inlineSVG makes an SVG document of package qr fit to sit inside HTML: without its XML
// declaration, labelled for assistive technology.
func inlineSVG(doc []byte, label string) template.HTML {
	if i := bytes.Index(doc, []byte("<svg")); i >= 0 {
		doc = doc[i:]
	}
	doc = bytes.Replace(doc, []byte("<svg "), []byte(`<svg role="img" aria-label="`+template.HTMLEscapeString(label)+`" `), 1)
	return template.HTML(doc) // produced by package qr from nothing but module coordinates
}

// orderLive answers the live refresh of an order page: the page's body alone.
func (c *server) orderLive(w http.ResponseWriter, r *http.Request, ses *session) error {
	p, err := c.ownProfile(r, ses, chi.URLParam(r, "iccid"))
	if err != nil {
		return err
	}
	d, err := c.orderData(r, ses, p)
	if err != nil {
		return err
	}
	return c.fragment(w, r, "order", "order-body", &page{Principal: ses.principal, CSRF: ses.csrf, Data: d})
}

func (c *server) orderQRPNG(w http.ResponseWriter, r *http.Request, ses *session) error {
	p, err := c.ownProfile(r, ses, chi.URLParam(r, "iccid"))
	if err != nil {
		return err
	}
	if p.MatchingID == "" {
		return errNotFound
	}
	png, err := qr.PNG(c.activationCode(p), 512)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "image/png")
	w.Header().Set("Content-Disposition", fmt.Sprintf(`inline; filename="activation-%s.png"`, p.ICCID))
	w.Write(png)
	return nil
}

func (c *server) orderCancel(w http.ResponseWriter, r *http.Request, ses *session) error {
	p, err := c.ownProfile(r, ses, chi.URLParam(r, "iccid"))
	if err != nil {
		return err
	}
	final := r.PostFormValue("final")
	err = c.orders.CancelOrder(r.Context(), p.OperatorID, orders.CancelOrderRequest{ICCID: p.ICCID, FinalProfileStatusIndicator: final})
	if err != nil {
		return c.actionFailed(w, r, ses, p, err)
	}
	return c.redirect(w, r, ses, "/orders/"+p.ICCID, "Order cancelled: the profile is "+final+" now.")
}

func (c *server) orderRelease(w http.ResponseWriter, r *http.Request, ses *session) error {
	p, err := c.ownProfile(r, ses, chi.URLParam(r, "iccid"))
	if err != nil {
		return err
	}
	if err := c.orders.ReleaseProfile(r.Context(), p.OperatorID, p.ICCID); err != nil {
		return c.actionFailed(w, r, ses, p, err)
	}
	return c.redirect(w, r, ses, "/orders/"+p.ICCID, "Profile released: it can be downloaded now.")
}

// actionFailed shows the order again with the reason an action was refused.
func (c *server) actionFailed(w http.ResponseWriter, r *http.Request, ses *session, p store.Profile, err error) error {
	if !isShown(err) {
		return err
	}
	if cur, gerr := c.db.GetProfile(r.Context(), p.ICCID); gerr == nil {
		p = cur
	}
	return c.showOrder(w, r, ses, http.StatusUnprocessableEntity, p, err)
}

// timeline is the progress of one profile: its lifecycle steps and its events.
type timeline struct {
	ICCID      string
	State      store.State
	Steps      []timelineStep
	Events     []eventView
	Live       bool
	URL        string
	IntervalMS int64
	LastError  string
}

type timelineStep struct {
	Name   string
	Status string // done, current, failed or todo
}

type eventView struct {
	At     time.Time
	Kind   string
	Detail string
	EID    string
	ICCID  string
	OpID   string
	Failed bool
}

// stepNames are the steps of an order (SGP.22 §3.1.3 and the ES2+ functions of §5.3).
var stepNames = []string{"Ordered", "Confirmed", "Released", "Downloaded", "Installed"}

// failedKinds are event kinds that report a failure.
var failedKinds = map[string]bool{"Error": true, "cancelled": true, "confirmation-code-refused": true,
	"confirmation-code-locked": true, "ineligible": true, kindCancelled: true, inventory.KindPoolLow: true}

// liveStates are the states from which a profile may still move by itself (a download).
var liveStates = []store.State{store.StateAllocated, store.StateLinked, store.StateConfirmed, store.StateReleased, store.StateDownloaded}

func (c *server) timeline(r *http.Request, ses *session, p store.Profile) (timeline, error) {
	tl := timeline{ICCID: p.ICCID, State: p.State, Live: slices.Contains(liveStates, p.State),
		URL: Prefix + "/orders/" + p.ICCID + "/live", IntervalMS: c.refresh.Milliseconds()}
	evs, err := c.db.ListEvents(r.Context(), store.EventFilter{ICCID: p.ICCID, OperatorID: ses.principal.scope(), Limit: 500})
	if err != nil {
		return tl, err
	}
	downloaded := false
	for _, e := range evs {
		tl.Events = append(tl.Events, eventView{At: e.At, Kind: e.Kind, Detail: e.Detail, EID: e.EID, Failed: failedKinds[e.Kind]})
		downloaded = downloaded || e.Kind == eventDownloaded
	}
	// done is the index of the last step done; failedAt that of a failed step (-1: none).
	done, failedAt := -1, -1
	switch p.State {
	case store.StateAllocated, store.StateLinked:
		done = 0
	case store.StateConfirmed:
		done = 1
	case store.StateReleased:
		done = 2
	case store.StateDownloaded:
		done = 3
	case store.StateInstalled:
		done = 4
	case store.StateError:
		done, failedAt = 2, 3
		if downloaded {
			done, failedAt = 3, 4
		}
	}
	if p.State != store.StateAvailable {
		for i, n := range stepNames {
			st := "todo"
			switch {
			case p.State == store.StateUnavailable:
			case i <= done:
				st = "done"
			case i == failedAt:
				st = "failed"
			case i == done+1 && tl.Live:
				st = "current"
			}
			tl.Steps = append(tl.Steps, timelineStep{Name: n, Status: st})
		}
	}
	if p.LastErrorReason != nil {
		tl.LastError = fmt.Sprintf("errorReason %d", *p.LastErrorReason)
		if p.LastBppCommandID != nil {
			tl.LastError = fmt.Sprintf("bppCommandId %d, %s", *p.LastBppCommandID, tl.LastError)
		}
	}
	return tl, nil
}
