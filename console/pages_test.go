package console_test

import (
	"context"
	"encoding/csv"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/smdpp/smdpp/activation"
	"github.com/smdpp/smdpp/console"
	"github.com/smdpp/smdpp/store"
)

// TestOrderFormErrors sends bad new-order forms: each is refused with the reason in plain words
// and its SGP.22 code, the form keeps what was typed, and the database is unchanged.
func TestOrderFormErrors(t *testing.T) {
	h := newHarness(t)
	iccid := h.importProfile(opA, testUPP)
	taken := h.importProfile(opA, otherTestUPP)
	takenMID := h.order(opA, taken)
	iccidB := h.importProfile(opB, "TS48V4-SAIP2-3-BERTLV-UNIQUE.der")
	a, admin := h.client(), h.client()
	a.signIn(opA, passA)
	admin.signIn(console.AdminUser, adminPass)

	for _, tc := range []struct {
		name  string
		c     *client
		form  url.Values
		words string
		code  string
	}{
		{"EID too short", a, url.Values{"iccid": {iccid}, "eid": {"8904903212345"}}, "An EID is 32 digits.", "8.1.1 / 2.1"},
		{"EID with letters", a, url.Values{"iccid": {iccid}, "eid": {"8904903212345123451234567890123A"}}, "An EID is 32 digits.", "8.1.1 / 2.1"},
		{"matching ID with underscore", a, url.Values{"iccid": {iccid}, "matchingId": {"BAD_ID"}}, "A matching ID holds only", "8.2.6 / 2.1"},
		{"matching ID in use", a, url.Values{"iccid": {iccid}, "matchingId": {takenMID}}, "This matching ID is used by another order.", "8.2.6 / 3.3"},
		{"ICCID not digits", a, url.Values{"iccid": {"89abc"}}, "An ICCID is 18 to 20 digits.", "8.2.1 / 2.1"},
		{"no ICCID, no type", a, url.Values{"eid": {""}}, "Enter an ICCID, or a profile type", "8.2.5 / 2.2"},
		{"unknown ICCID", a, url.Values{"iccid": {"89000000000000000009"}}, "Unknown ICCID.", "8.2.1 / 3.9"},
		{"ICCID already ordered", a, url.Values{"iccid": {taken}}, "The profile is Released, not Available.", "8.2.1 / 3.3"},
		{"empty pool", a, url.Values{"profileType": {"no such type"}}, "No Available profile of type no such type.", "8.2.5 / 3.7"},
		{"confirmation code with a space", a, url.Values{"iccid": {iccid}, "confirmationCode": {"12 34"}}, "A confirmation code is", "8.2.7 / 2.1"},
		{"administrator without operator", admin, url.Values{"profileType": {"GSMA Generic eUICC Test Profile"}}, "Choose the operator to order for.", ""},
		{"administrator, profile of another operator", admin, url.Values{"iccid": {iccidB}, "operator": {opA}}, "The profile belongs to operator op-b.", "8.2.1 / 3.10"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := h.snapshot()
			tc.c.get("/console/orders/new")
			res := tc.c.post("/console/orders", tc.form)
			wantStatus(t, res, http.StatusUnprocessableEntity)
			wantBody(t, res, `role="alert"`, tc.words, `id="order-form"`)
			if tc.code != "" {
				wantBody(t, res, "SGP.22 status code <span class=\"mono\">"+tc.code+"</span>")
			}
			for _, k := range []string{"eid", "matchingId", "iccid"} {
				if v := tc.form.Get(k); v != "" && !strings.Contains(res.body, `value="`+v+`"`) {
					t.Errorf("the form lost %s=%q", k, v)
				}
			}
			if cc := tc.form.Get("confirmationCode"); cc != "" && strings.Contains(res.body, cc) {
				t.Error("the page shows the confirmation code")
			}
			h.unchanged(before)
		})
	}
}

// TestOrderLifecycle places an order through the console, without release, releases it, looks at
// its activation code, QR code and timeline, cancels it, and checks the audit events.
func TestOrderLifecycle(t *testing.T) {
	h := newHarness(t)
	iccid := h.importProfile(opA, testUPP)
	ctx := context.Background()
	a := h.client()
	a.signIn(opA, passA)

	const eid = "89049032123451234512345678901235"
	got := a.placeOrder(url.Values{"profileType": {"GSMA Generic eUICC Test Profile"}, "eid": {eid}, "matchingId": {"SHOP-0001"},
		"confirmationCode": {"4711"}})
	if got != iccid {
		t.Fatalf("order took %s, want %s", got, iccid)
	}
	p, err := h.db.GetProfile(ctx, iccid)
	if err != nil || p.State != store.StateConfirmed || p.EID != eid || p.MatchingID != "SHOP-0001" || p.ConfirmationCodeHash == nil {
		t.Fatalf("after the order: %+v, %v", p, err)
	}
	res := a.get("/console/orders/" + iccid)
	wantStatus(t, res, http.StatusOK)
	wantBody(t, res, "Order placed for profile "+iccid, `id="release"`, `id="cancel"`, "LPA:1$"+testAddress+"$SHOP-0001$$1",
		`<svg role="img" aria-label="QR code of the activation code"`, `data-live="true"`, "ConfirmOrder releaseFlag=false", "ordered")
	if strings.Contains(res.body, "4711") {
		t.Error("the order page shows the confirmation code")
	}
	ac := regexp.MustCompile(`id="activation-code" class="ac">([^<]+)<`).FindStringSubmatch(res.body)
	if ac == nil {
		t.Fatal("no activation code on the page")
	}
	code, err := activation.Parse(strings.ReplaceAll(ac[1], "&#36;", "$"))
	if err != nil || code.MatchingID != "SHOP-0001" || !code.ConfirmationCodeRequired || code.Address != testAddress {
		t.Errorf("activation code %q: %+v, %v", ac[1], code, err)
	}

	png := a.get("/console/orders/" + iccid + "/qr.png")
	wantStatus(t, png, http.StatusOK)
	if png.Header.Get("Content-Type") != "image/png" || !strings.HasPrefix(png.body, "\x89PNG") {
		t.Errorf("qr.png: %s, %q", png.Header.Get("Content-Type"), png.body[:min(8, len(png.body))])
	}

	res = a.post("/console/orders/"+iccid+"/release", nil)
	wantStatus(t, res, http.StatusSeeOther)
	res = a.get("/console/orders/" + iccid)
	wantBody(t, res, "Profile released", `data-state="Released"`, "<strong>released</strong>")
	if strings.Contains(res.body, `id="release"`) {
		t.Error("a released order still offers Release")
	}

	frag := a.get("/console/orders/" + iccid + "/live")
	wantStatus(t, frag, http.StatusOK)
	if !strings.HasPrefix(strings.TrimSpace(frag.body), `<div id="order-live"`) || strings.Contains(frag.body, "<html") ||
		!strings.Contains(frag.body, `data-state="Released"`) || !strings.Contains(frag.body, `name="csrf" value="`+a.csrf+`"`) {
		t.Errorf("live fragment is not the order's body with its forms:\n%s", frag.body)
	}

	t.Run("release twice", func(t *testing.T) {
		before := h.snapshot()
		res := a.post("/console/orders/"+iccid+"/release", nil)
		wantStatus(t, res, http.StatusUnprocessableEntity)
		wantBody(t, res, "Only a Confirmed order can be released.", "8.2.1 / 1.2")
		h.unchanged(before)
	})
	t.Run("cancel without a final state", func(t *testing.T) {
		before := h.snapshot()
		res := a.post("/console/orders/"+iccid+"/cancel", url.Values{"final": {""}})
		wantStatus(t, res, http.StatusUnprocessableEntity)
		wantBody(t, res, "FinalProfileStatusIndicator must be", "8.2 / 2.1")
		h.unchanged(before)
	})

	res = a.post("/console/orders/"+iccid+"/cancel", url.Values{"final": {"Unavailable"}})
	wantStatus(t, res, http.StatusSeeOther)
	res = a.get("/console/orders/" + iccid)
	wantBody(t, res, "Order cancelled", `data-state="Unavailable"`, `data-live="false"`, "order-cancelled")

	evs, err := h.db.ListEvents(ctx, store.EventFilter{ICCID: iccid})
	if err != nil {
		t.Fatal(err)
	}
	var kinds []string
	for _, e := range evs {
		kinds = append(kinds, e.Kind)
		if e.OperatorID != opA {
			t.Errorf("event %+v: want operator op-a", e)
		}
	}
	// Package orders records each ES2+ function once; the console adds none.
	if strings.Join(kinds, ",") != "ordered,confirmed,released,order-cancelled" {
		t.Errorf("events %v", kinds)
	}
}

// TestImport checks profile packages in a dry run, refuses to import a bad one, and imports good
// ones.
func TestImport(t *testing.T) {
	h := newHarness(t)
	existing := h.importProfile(opA, otherTestUPP)
	a := h.client()
	a.signIn(opA, passA)
	a.get("/console/inventory")

	t.Run("bad files", func(t *testing.T) {
		before := h.snapshot()
		res := a.postMultipart("/console/inventory/check", url.Values{"mode": {"package"}},
			file{"upp", "good.der", readUPP(t, testUPP)},
			file{"upp", "notes.txt", []byte("not a profile")},
			file{"upp", "again.der", readUPP(t, otherTestUPP)})
		wantStatus(t, res, http.StatusOK)
		wantBody(t, res, "Dry run: nothing has been imported yet", "Ready to import", "Not a valid SAIP profile package",
			"A profile with this ICCID exists already.", existing, "Fix the problems above")
		if strings.Contains(res.body, `id="import-confirm"`) {
			t.Error("an import with bad files offers Import")
		}
		h.unchanged(before)
	})
	t.Run("no file", func(t *testing.T) {
		before := h.snapshot()
		res := a.postMultipart("/console/inventory/check", url.Values{"mode": {"package"}})
		wantStatus(t, res, http.StatusUnprocessableEntity)
		wantBody(t, res, "Choose one or more profile package files")
		h.unchanged(before)
	})
	t.Run("profile type too long", func(t *testing.T) {
		res := a.postMultipart("/console/inventory/check", url.Values{"mode": {"package"}, "profileType": {strings.Repeat("x", 65)}},
			file{"upp", "good.der", readUPP(t, testUPP)})
		wantStatus(t, res, http.StatusUnprocessableEntity)
		wantBody(t, res, "8.2.5 / 2.1")
	})
	t.Run("batch with a bad personalisation file", func(t *testing.T) {
		before := h.snapshot()
		res := a.postMultipart("/console/inventory/check", url.Values{"mode": {"batch"}},
			file{"template", "t.der", readUPP(t, testUPP)}, file{"input", "p.csv", []byte("iccid,imsi\n123,456\n")})
		wantStatus(t, res, http.StatusOK)
		wantBody(t, res, "Dry run", "Fix the problems above")
		h.unchanged(before)
	})

	t.Run("good files", func(t *testing.T) {
		res := a.postMultipart("/console/inventory/check", url.Values{"mode": {"package"}, "profileType": {"ts48"}},
			file{"upp", "one.der", readUPP(t, testUPP)}, file{"upp", "two.der", readUPP(t, "TS48V4-SAIP2-3-BERTLV-UNIQUE.der")})
		wantStatus(t, res, http.StatusOK)
		wantBody(t, res, `id="import-confirm"`, "Ready to import")
		if n := h.snapshot(); len(n.profiles) != 1 {
			t.Fatalf("the dry run imported: %d profiles", len(n.profiles))
		}
		form := url.Values{}
		for _, m := range regexp.MustCompile(`<input type="hidden" name="([^"]+)" value="([^"]*)">`).FindAllStringSubmatch(res.body, -1) {
			if m[1] != "csrf" || form.Get("csrf") == "" {
				form.Add(m[1], strings.ReplaceAll(m[2], "&#43;", "+"))
			}
		}
		res = a.post("/console/inventory/import", form)
		wantStatus(t, res, http.StatusOK)
		wantBody(t, res, "Import result: 2 of 2 imported")
		ps, err := h.db.FindProfiles(context.Background(), store.ProfileFilter{OperatorID: opA, ProfileType: "ts48"})
		if err != nil || len(ps) != 2 {
			t.Errorf("imported %d profiles of type ts48 (%v), want 2", len(ps), err)
		}
		res = a.post("/console/inventory/import", form) // the same again
		wantStatus(t, res, http.StatusUnprocessableEntity)
		wantBody(t, res, "Import result: 0 of 2 imported", "A profile with this ICCID exists already.")
	})

	t.Run("search", func(t *testing.T) {
		res := a.get("/console/inventory?state=Available&type=ts48")
		wantStatus(t, res, http.StatusOK)
		if n := strings.Count(res.body, `<td class="mono"><a href="/console/orders/`); n != 2 {
			t.Errorf("search found %d profiles, want 2", n)
		}
		res = a.get("/console/inventory?iccid=12ab")
		wantStatus(t, res, http.StatusUnprocessableEntity)
		wantBody(t, res, "An ICCID is 18 to 20 digits.", "8.2.1 / 2.1")
		wantStatus(t, a.get("/console/inventory?state=Lost"), http.StatusUnprocessableEntity)
	})
}

// TestReports fills the event log as downloads would and checks the dashboard, the usage page and
// export, the EID history and the audit log.
func TestReports(t *testing.T) {
	now := time.Date(2026, 7, 1, 12, 30, 0, 0, time.UTC)
	h := newHarness(t, console.WithClock(func() time.Time { return now }))
	ctx := context.Background()
	iccid := h.importProfile(opA, testUPP)
	const eid = "89049032123451234512345678901235"
	for _, e := range []store.Event{
		{At: now.Add(-3 * time.Hour), Kind: "ordered"},
		{At: now.Add(-2 * time.Hour), Kind: "downloaded", EID: eid},
		{At: now.Add(-2*time.Hour + time.Minute), Kind: "Error", EID: eid, Detail: "bppCommandId 5, errorReason 8"},
		{At: now.Add(-1 * time.Hour), Kind: "downloaded", EID: eid},
		{At: now.Add(-1*time.Hour + time.Minute), Kind: "Installed", EID: eid},
	} {
		e.OperatorID, e.ICCID = opA, iccid
		if _, err := h.db.RecordEvent(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	a := h.client()
	a.signIn(opA, passA)

	res := a.get("/console/")
	wantStatus(t, res, http.StatusOK)
	wantBody(t, res, "Downloads per hour", "(2 in the period)", "<title>10:00: 1</title>", "<title>11:00: 1</title>",
		"errorReason 8 (scp03tSecurityError)", "89049032", "1 of 4 failed (25.0 %)", "100.0 %: 2 of 2 succeeded", "50.0 %: 1 of 2 succeeded",
		"GSMA Generic eUICC Test Profile", "1 of 1 available")
	for _, p := range []string{"7d", "30d"} {
		res := a.get("/console/?period=" + p)
		wantStatus(t, res, http.StatusOK)
		wantBody(t, res, "(2 in the period)")
	}

	res = a.get("/console/usage?from=2026-07-01&to=2026-07-01")
	wantStatus(t, res, http.StatusOK)
	wantBody(t, res, "5 usage records", `id="export-csv"`, "install-failure")
	res = a.get("/console/usage/export?format=csv&from=2026-07-01&to=2026-07-01")
	wantStatus(t, res, http.StatusOK)
	if ct, cd := res.Header.Get("Content-Type"), res.Header.Get("Content-Disposition"); !strings.HasPrefix(ct, "text/csv") ||
		cd != `attachment; filename="usage-op-a-2026-07-01-2026-07-01.csv"` {
		t.Errorf("export headers %q, %q", ct, cd)
	}
	recs, err := csv.NewReader(strings.NewReader(res.body)).ReadAll()
	if err != nil || len(recs) != 6 || strings.Join(recs[0], ",") != "at,operator,iccid,eid,category,event,detail" {
		t.Errorf("CSV export: %v, %v", recs, err)
	}
	res = a.get("/console/usage/export?format=json&from=2026-07-01&to=2026-07-01")
	wantStatus(t, res, http.StatusOK)
	wantBody(t, res, `"records"`, iccid)
	for _, q := range []string{"format=xml", "format=csv&from=yesterday", "format=csv&from=2026-07-02&to=2026-07-01"} {
		wantStatus(t, a.get("/console/usage/export?"+q), http.StatusBadRequest)
	}
	res = a.get("/console/usage?from=2026-13-01")
	wantStatus(t, res, http.StatusUnprocessableEntity)
	wantBody(t, res, "The start date must be a date")

	res = a.get("/console/eid?eid=" + eid)
	wantStatus(t, res, http.StatusOK)
	wantBody(t, res, "EUM (first 8 digits): <span class=\"mono\">89049032</span>", iccid, "Installed", "errorReason 8")
	res = a.get("/console/eid?eid=123")
	wantStatus(t, res, http.StatusUnprocessableEntity)
	wantBody(t, res, "An EID is 32 digits.", "8.1.1 / 2.1")

	res = a.get("/console/audit?from=2026-07-01&to=2026-07-01")
	wantStatus(t, res, http.StatusOK)
	wantBody(t, res, "Events, newest first", "errorReason 8", "console-sign-in")
	if i, j := strings.Index(res.body, ">Installed<"), strings.Index(res.body, ">ordered<"); i < 0 || j < 0 || i > j {
		t.Error("audit log is not newest first")
	}
	res = a.get("/console/audit?kind=Error&from=2026-07-01&to=2026-07-01")
	if strings.Contains(res.body, ">Installed<") || !strings.Contains(res.body, "errorReason 8") {
		t.Error("audit kind filter does not filter")
	}
	wantStatus(t, a.get("/console/audit?iccid=x"), http.StatusUnprocessableEntity)
}

func TestAssetsAndErrors(t *testing.T) {
	h := newHarness(t)
	c := h.client()
	for _, tc := range []struct{ path, ctype, want string }{
		{"/console/static/console.css", "text/css", ":focus-visible"},
		{"/console/static/console.js", "text/javascript", "data-refresh-url"},
		{"/console/static/icon.svg", "image/svg+xml", "<svg"},
	} {
		res := c.get(tc.path)
		wantStatus(t, res, http.StatusOK)
		if !strings.HasPrefix(res.Header.Get("Content-Type"), tc.ctype) || !strings.Contains(res.body, tc.want) {
			t.Errorf("%s: %s", tc.path, res.Header.Get("Content-Type"))
		}
	}
	wantStatus(t, c.get("/console/static/nothing.css"), http.StatusNotFound)
	wantStatus(t, c.get("/console/static/"), http.StatusNotFound)
	c.signIn(opA, passA)
	res := c.get("/console/no/such/page")
	wantStatus(t, res, http.StatusNotFound)
	wantBody(t, res, "Not found", "Back to the dashboard")
	wantStatus(t, c.get("/console/orders/not-an-iccid"), http.StatusNotFound)
	res = c.get("/console")
	if res.StatusCode != http.StatusOK && res.StatusCode != http.StatusMovedPermanently {
		t.Errorf("GET /console: %d", res.StatusCode)
	}
}

func TestUploadLimit(t *testing.T) {
	h := newHarness(t, console.WithMaxUpload(4096))
	a := h.client()
	a.signIn(opA, passA)
	before := h.snapshot()
	res := a.postMultipart("/console/inventory/check", url.Values{"mode": {"package"}}, file{"upp", "big.der", readUPP(t, testUPP)})
	wantStatus(t, res, http.StatusRequestEntityTooLarge)
	wantBody(t, res, "Upload too large")
	h.unchanged(before)
}
