package console_test

import (
	"context"
	"encoding/csv"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
	"github.com/go-chi/chi/v5"

	"github.com/smdpp/smdpp/activation"
	"github.com/smdpp/smdpp/console"
	"github.com/smdpp/smdpp/internal/e2etest"
	"github.com/smdpp/smdpp/lpa"
	"github.com/smdpp/smdpp/orders"
	"github.com/smdpp/smdpp/store"
)

// chromiumPath returns the Chromium the browser tests drive ($SMDPP_TEST_CHROMIUM, which
// scripts/browser.sh installs and prints). Without it the tests skip, or fail under CI=true.
func chromiumPath(t *testing.T) string {
	t.Helper()
	bin := os.Getenv("SMDPP_TEST_CHROMIUM")
	if bin == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal(`SMDPP_TEST_CHROMIUM is not set: run eval "$(scripts/browser.sh)" first`)
		}
		t.Skip(`SMDPP_TEST_CHROMIUM is not set; eval "$(scripts/browser.sh)" installs Chromium and sets it`)
	}
	return bin
}

// screenshotDir is where the browser tests write their screenshots: $SMDPP_SCREENSHOT_DIR, or
// a temporary directory of the test.
func screenshotDir(t *testing.T) string {
	t.Helper()
	if dir := os.Getenv("SMDPP_SCREENSHOT_DIR"); dir != "" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		return dir
	}
	return t.TempDir()
}

// e2e is the real SM-DP+ on one HTTPS listener: the ES9+ front end and the download service, the
// console, a SQLite store and in-memory RSP sessions, on a throwaway development PKI; and a test
// LPA with a virtual eUICC to download with.
type e2e struct {
	base string // https://127.0.0.1:port
	addr string // the SM-DP+ address of activation codes
	db   *store.DB
	lpa  *lpa.LPA
	eid  string
}

func newE2E(t *testing.T) *e2e {
	t.Helper()
	auth, err := console.NewPasswordAuthenticator(map[string]string{opA: hash(t, passA), opB: hash(t, passB)}, hash(t, adminPass))
	if err != nil {
		t.Fatal(err)
	}
	env := e2etest.Start(t, 20*time.Second, func(r chi.Router, db *store.DB, addr string) {
		console.Routes(r, console.Deps{DB: db, Orders: orders.New(db, addr), Auth: auth, Log: slog.New(slog.DiscardHandler)},
			console.WithRefreshInterval(300*time.Millisecond))
	})
	for _, id := range []string{opA, opB} {
		if _, err := env.DB.CreateOperator(context.Background(), store.Operator{ID: id, Name: "Operator " + strings.ToUpper(id[3:])}); err != nil {
			t.Fatal(err)
		}
	}
	return &e2e{base: "https://" + env.Addr, addr: env.Addr, db: env.DB, lpa: env.LPA, eid: env.EID}
}

// tab is a browser tab on the test server, with the steps the tests take.
type tab struct {
	t     *testing.T
	ctx   context.Context
	base  string
	shots string
}

// newTab starts headless Chromium with a profile of its own and opens a tab on base.
func newTab(t *testing.T, bin, base string) *tab {
	t.Helper()
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(bin),
		chromedp.Headless,
		chromedp.NoSandbox, // tests run as root in CI
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.UserDataDir(t.TempDir()),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("password-store", "basic"),
		chromedp.Flag("use-mock-keychain", true),
		chromedp.Flag("force-color-profile", "srgb"),
		chromedp.Flag("hide-scrollbars", true),
		// The SM-DP+ serves its DPtls certificate, issued by the throwaway test CI.
		chromedp.IgnoreCertErrors,
		chromedp.WindowSize(1280, 900),
	}
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelTab := chromedp.NewContext(allocCtx)
	t.Cleanup(func() {
		cancelTab()
		cancelAlloc()
	})
	// Start the browser on the tab's own context: one started under a step's timeout would end
	// with that step.
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("starting %s: %v", bin, err)
	}
	shots := screenshotDir(t)
	t.Logf("screenshots in %s", shots)
	return &tab{t: t, ctx: ctx, base: base, shots: shots}
}

// stepTimeout bounds one step of a browser test.
const stepTimeout = 30 * time.Second

// do runs actions as one step, failing the test if they fail or take longer than stepTimeout.
func (b *tab) do(step string, actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, stepTimeout)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		b.t.Fatalf("%s: %v", step, err)
	}
}

// run runs one action that returns a value, as a step.
func run[T any](b *tab, step string, a chromedp.Action[T]) T {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, stepTimeout)
	defer cancel()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		b.t.Fatalf("%s: %v", step, err)
	}
	return v
}

// text is the text of the first element sel selects.
func (b *tab) text(sel string) string {
	b.t.Helper()
	return run(b, "text of "+sel, chromedp.Text(chromedp.CSS(sel)))
}

// eval evaluates a JavaScript expression.
func eval[T any](b *tab, expr string) T {
	b.t.Helper()
	return run(b, expr, chromedp.Evaluate[T](expr))
}

// shot writes a screenshot of the whole page as name.png.
func (b *tab) shot(name string) {
	b.t.Helper()
	png := run(b, "screenshot "+name, chromedp.FullScreenshot(100))
	if err := os.WriteFile(filepath.Join(b.shots, name+".png"), png, 0o644); err != nil {
		b.t.Fatal(err)
	}
}

// signIn signs in on the sign-in page and waits for the dashboard.
func (b *tab) signIn(user, password string) {
	b.t.Helper()
	b.do("sign in as "+user,
		chromedp.Navigate(b.base+"/console/login"),
		chromedp.WaitVisible(chromedp.ID("user")),
		chromedp.SendKeys(chromedp.ID("user"), user),
		chromedp.SendKeys(chromedp.ID("password"), password),
		chromedp.Click(chromedp.CSS(`button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`nav.nav`)),
	)
}

func (b *tab) signOut() {
	b.t.Helper()
	b.do("sign out", chromedp.Click(chromedp.CSS(`form.signout button`)), chromedp.WaitVisible(chromedp.ID("user")))
}

// phone makes the viewport that of a phone (390 × 844 CSS pixels, touch, 2× pixels).
func (b *tab) phone() {
	b.t.Helper()
	b.do("phone width", chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile, chromedp.EmulateScale(2)))
}

// laptop returns to the browser's own window size.
func (b *tab) laptop() {
	b.t.Helper()
	b.do("laptop width", chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		if _, err := cdp.Call(ctx, t, emulation.ClearDeviceMetricsOverride, cdp.Empty{}); err != nil {
			return err
		}
		_, err := cdp.Call(ctx, t, emulation.SetTouchEmulationEnabled, emulation.SetTouchEmulationEnabledParams{})
		return err
	}))
}

// noSidewaysScroll checks that the page fits the width of the viewport.
func (b *tab) noSidewaysScroll(page string) {
	b.t.Helper()
	if w, vw := eval[int](b, `document.documentElement.scrollWidth`), eval[int](b, `window.innerWidth`); w > vw {
		b.t.Errorf("%s is %d px wide in a %d px viewport: it scrolls sideways", page, w, vw)
	}
}

// TestBrowser drives the console in a real browser through an operator's day: sign in, import a
// TS.48 profile after a dry run, refuse a bad order form, place an order and show its QR code,
// download the profile with the test LPA and watch the order page follow the download to
// Installed without a reload, export usage as CSV, and find that another operator cannot open
// the order by its URL. It writes screenshots at laptop and phone width.
func TestBrowser(t *testing.T) {
	bin := chromiumPath(t)
	env := newE2E(t)
	b := newTab(t, bin, env.base)
	ctx := context.Background()

	b.do("open the console", chromedp.Navigate(env.base+"/console/"), chromedp.WaitVisible(chromedp.ID("user")))
	if loc := run(b, "location", chromedp.Location()); loc != env.base+"/console/login?next=%2Fconsole%2F" {
		t.Errorf("the console without a session is at %s, want the sign-in page", loc)
	}
	b.shot("01-sign-in")
	b.signIn(opA, passA)
	if h := b.text("h1"); h != "Dashboard" {
		t.Fatalf("after sign-in: %q", h)
	}
	// Keyboard: the first Tab reaches the skip link, which leads to the main content.
	b.do("tab to the skip link", chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS("nav.nav")), chromedp.KeyEvent("\t"))
	if cls := eval[string](b, `document.activeElement.className`); cls != "skip" {
		t.Errorf("the first Tab focuses %q, want the skip link", cls)
	}
	b.do("follow the skip link", chromedp.KeyEvent("\r"))
	if id := eval[string](b, `document.activeElement.id`); id != "main" {
		t.Errorf("the skip link leads to %q, want main", id)
	}

	// Import a TS.48 test profile, looking at the dry run first.
	upp, err := filepath.Abs(filepath.Join("..", "testdata", "upp", testUPP))
	if err != nil {
		t.Fatal(err)
	}
	b.do("check a profile package",
		chromedp.Navigate(env.base+"/console/inventory"),
		chromedp.WaitVisible(chromedp.ID("upp")),
		chromedp.SetUploadFiles(chromedp.ID("upp"), []string{upp}),
		chromedp.Click(chromedp.ID("check-packages")),
		chromedp.WaitVisible(chromedp.ID("dry-run")),
	)
	if got := b.text("#dry-run tbody"); !strings.Contains(got, "Ready to import") || !strings.Contains(got, "GSMA Generic eUICC Test Profile") {
		t.Fatalf("dry run: %q", got)
	}
	if ps, _ := env.db.FindProfiles(ctx, store.ProfileFilter{}); len(ps) != 0 {
		t.Fatalf("the dry run imported %d profiles", len(ps))
	}
	b.shot("02-import-dry-run")
	b.do("import it", chromedp.Click(chromedp.ID("import-confirm")), chromedp.WaitVisible(chromedp.ID("import-result")))
	if got := b.text("#result-title"); got != "Import result: 1 of 1 imported" {
		t.Fatalf("import: %q", got)
	}
	ps, err := env.db.FindProfiles(ctx, store.ProfileFilter{OperatorID: opA})
	if err != nil || len(ps) != 1 || ps[0].State != store.StateAvailable {
		t.Fatalf("after the import: %+v, %v", ps, err)
	}
	iccid := ps[0].ICCID

	// A bad form: an error in plain words with its SGP.22 code, and nothing changes.
	b.do("send a bad order form",
		chromedp.Navigate(env.base+"/console/orders/new"),
		chromedp.WaitVisible(chromedp.ID("order-form")),
		chromedp.SendKeys(chromedp.ID("profileType"), "GSMA Generic eUICC Test Profile"),
		chromedp.SendKeys(chromedp.ID("eid"), "8904903200000"),
		chromedp.Click(chromedp.ID("place-order")),
		chromedp.WaitVisible(chromedp.CSS(`.alert`)),
	)
	if got := b.text(".alert"); !strings.Contains(got, "An EID is 32 digits.") || !strings.Contains(got, "8.1.1 / 2.1") {
		t.Errorf("error shown: %q", got)
	}
	if v := eval[string](b, `document.getElementById("eid").value`); v != "8904903200000" {
		t.Errorf("the form lost the EID typed: %q", v)
	}
	if p, err := env.db.GetProfile(ctx, iccid); err != nil || p.State != store.StateAvailable || p.Version != ps[0].Version {
		t.Errorf("the bad form changed the profile: %+v, %v", p, err)
	}
	b.shot("03-order-form-error")

	// A good order, released at once (the default): the page shows the activation code and QR.
	b.do("place an order",
		chromedp.Navigate(env.base+"/console/orders/new"),
		chromedp.WaitVisible(chromedp.ID("order-form")),
		chromedp.SendKeys(chromedp.ID("profileType"), "GSMA Generic eUICC Test Profile"),
		chromedp.Click(chromedp.ID("place-order")),
		chromedp.WaitVisible(chromedp.ID("activation-code")),
		chromedp.WaitVisible(chromedp.CSS(`#qr svg`)),
	)
	orderURL := run(b, "location", chromedp.Location())
	if orderURL != env.base+"/console/orders/"+iccid {
		t.Fatalf("order page %q, want the order of %s", orderURL, iccid)
	}
	acText := b.text("#activation-code")
	code, err := activation.Parse(acText)
	if err != nil || code.Address != env.addr || code.MatchingID == "" {
		t.Fatalf("activation code %q: %+v, %v", acText, code, err)
	}
	if st := b.text("#state"); st != "Released" {
		t.Fatalf("state %q, want Released", st)
	}
	b.shot("04-order-released")

	// Download with the activation code shown, while the page stays open: it must follow.
	type outcome struct {
		res *lpa.Result
		err error
	}
	done := make(chan outcome, 1)
	go func() {
		res, err := env.lpa.Download(ctx, code, lpa.DownloadOptions{})
		done <- outcome{res, err}
	}()
	if _, err := chromedp.Run(b.ctx, chromedp.Poll[bool](`document.getElementById("state").dataset.state === "Installed"`,
		chromedp.WithPollingTimeout(60*time.Second), chromedp.WithPollingInterval(100*time.Millisecond))); err != nil {
		o := <-done
		t.Fatalf("the order page never showed Installed: %v (download: %+v, %v)", err, o.res, o.err)
	}
	if o := <-done; o.err != nil || !o.res.Installed || o.res.ICCID != iccid {
		t.Fatalf("download: %+v, %v", o.res, o.err)
	}
	events := b.text("#progress .events")
	for _, want := range []string{"ordered", "confirmed", "authenticated", "downloaded", "Installed"} {
		if !strings.Contains(events, want) {
			t.Errorf("timeline lacks %q:\n%s", want, events)
		}
	}
	if live := eval[string](b, `document.getElementById("order-live").dataset.live`); live != "false" {
		t.Errorf("data-live %q after installation, want false", live)
	}
	if badge := b.text(".page-head .badge"); badge != "Installed" {
		t.Errorf("the page head still says %q", badge)
	}
	if strings.Contains(b.text("main"), "Cancel the order") {
		t.Error("an installed order still offers Cancel")
	}
	b.shot("05-order-installed")

	b.do("dashboard", chromedp.Navigate(env.base+"/console/"), chromedp.WaitVisible(chromedp.CSS(`svg.columns.w960`)))
	if got := b.text(".chart figcaption"); !strings.Contains(got, "(1 in the period)") {
		t.Errorf("downloads chart: %q", got)
	}
	b.shot("06-dashboard")
	b.do("EID history", chromedp.Navigate(env.base+"/console/eid?eid="+env.eid), chromedp.WaitVisible(chromedp.CSS(`#bound-title`)))
	if got := b.text("main"); !strings.Contains(got, iccid) || !strings.Contains(got, "Installed") {
		t.Errorf("EID history: %q", got)
	}
	b.shot("07-eid-history")
	b.do("audit log", chromedp.Navigate(env.base+"/console/audit"), chromedp.WaitVisible(chromedp.ID("events")))
	b.shot("08-audit-log")

	// Usage: the CSV download, as the browser saves it.
	dlDir := t.TempDir()
	dlCtx, dlCancel := context.WithTimeout(b.ctx, time.Minute)
	defer dlCancel()
	progress := chromedp.Events(dlCtx, browser.DownloadProgress)
	b.do("open usage",
		chromedp.Navigate(env.base+"/console/usage"),
		chromedp.WaitVisible(chromedp.ID("export-csv")),
		chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
			_, err := chromedp.Call(ctx, browser.SetDownloadBehavior, browser.SetDownloadBehaviorParams{
				Behavior: browser.SetDownloadBehaviorBehaviorAllowAndName, DownloadPath: dlDir, EventsEnabled: new(true)})
			return err
		}),
	)
	b.shot("09-usage")
	b.do("click Download CSV", chromedp.Click(chromedp.ID("export-csv")))
	saved := ""
	for ev, err := range progress {
		if err != nil {
			t.Fatalf("waiting for the download: %v", err)
		}
		if ev.State == browser.DownloadProgressStateCanceled {
			t.Fatal("the CSV download was cancelled")
		}
		if ev.State == browser.DownloadProgressStateCompleted {
			saved = filepath.Join(dlDir, ev.GUID)
			break
		}
	}
	f, err := os.Open(saved)
	if err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(f).ReadAll()
	f.Close()
	if err != nil || len(recs) < 2 {
		t.Fatalf("usage CSV: %v, %v", recs, err)
	}
	cats := map[string]bool{}
	for _, r := range recs[1:] {
		if r[2] != iccid || r[1] != opA {
			t.Errorf("usage record %v is not of the order", r)
		}
		cats[r[4]] = true
	}
	if strings.Join(recs[0], ",") != "at,operator,iccid,eid,category,event,detail" || !cats["order"] || !cats["download"] || !cats["install"] {
		t.Errorf("usage CSV: %v", recs)
	}

	// Phone width: no sideways scrolling.
	b.phone()
	b.do("order at phone width", chromedp.Navigate(orderURL), chromedp.WaitVisible(chromedp.ID("activation-code")))
	b.noSidewaysScroll("the order page")
	b.shot("10-phone-order")
	b.do("dashboard at phone width", chromedp.Navigate(env.base+"/console/"), chromedp.WaitVisible(chromedp.CSS(`svg.columns.w400`)))
	b.noSidewaysScroll("the dashboard")
	b.shot("11-phone-dashboard")
	b.do("inventory at phone width", chromedp.Navigate(env.base+"/console/inventory"), chromedp.WaitVisible(chromedp.ID("profiles")))
	b.noSidewaysScroll("the inventory")
	b.laptop()

	// Another operator cannot open the order, also by its URL.
	b.signOut()
	b.signIn(opB, passB)
	resp := run(b, "open A's order as B", chromedp.NavigateResponse(orderURL))
	if resp.Status != 404 {
		t.Errorf("operator B opening A's order: HTTP %d, want 404", resp.Status)
	}
	if h := b.text("h1"); h != "Not found" {
		t.Errorf("operator B sees %q", h)
	}
	if body := b.text("main"); strings.Contains(body, iccid) || strings.Contains(body, code.MatchingID) {
		t.Errorf("the 404 page shows the order: %q", body)
	}
	b.shot("12-other-operator-404")
	resp = run(b, "live view of A's order as B", chromedp.NavigateResponse(orderURL+"/live"))
	if body := b.text("body"); resp.Status != 404 || strings.Contains(body, "Installed") {
		t.Errorf("operator B reads A's order: HTTP %d, %q", resp.Status, body)
	}
}

// seedTraffic fills the store with a day of synthetic traffic for the dashboard: pools of two
// operators (one below its low-water mark) and downloads, installations and failures of eUICCs
// of four EUMs, spread over the last 24 hours.
func seedTraffic(t *testing.T, db *store.DB, now time.Time) {
	t.Helper()
	ctx := context.Background()
	type pool struct {
		op, typ, region string
		available, in   int
		lowWater        int
	}
	pools := []pool{
		{opA, "consumer", "eu-west", 41, 59, 20},
		{opA, "consumer", "us-east", 18, 22, 10},
		{opA, "iot-m2m", "", 3, 17, 5},
		{opB, "travel", "", 27, 13, 0},
	}
	n := 0
	var installed []store.Profile
	for _, p := range pools {
		var ps []store.PoolProfile
		for i := range p.available + p.in {
			n++
			st := store.StateAvailable
			if i >= p.available {
				st = store.StateInstalled
			}
			prof := store.Profile{ICCID: fmt.Sprintf("894450010%010d", n), OperatorID: p.op, ProfileType: p.typ, State: st}
			ps = append(ps, store.PoolProfile{Profile: prof, Region: p.region, IMSI: fmt.Sprintf("23450%010d", n), BatchID: "synthetic"})
			if st == store.StateInstalled && p.op == opA {
				installed = append(installed, prof)
			}
		}
		if err := db.ImportProfiles(ctx, ps); err != nil {
			t.Fatal(err)
		}
		if p.lowWater > 0 {
			if _, err := db.SetPoolThreshold(ctx, store.PoolKey{OperatorID: p.op, ProfileType: p.typ, Region: p.region}, p.lowWater); err != nil {
				t.Fatal(err)
			}
		}
	}
	eums := []string{"89049032", "89033023", "89086001", "89001012"}
	rng := rand.New(rand.NewPCG(1, 2))
	for i, p := range installed {
		at := now.Add(-time.Duration(rng.Int64N(int64(23*time.Hour))) - time.Minute)
		eid := eums[i%len(eums)] + fmt.Sprintf("%024d", rng.Int64N(1e15))
		evs := []store.Event{{At: at, Kind: "ordered"}, {At: at.Add(20 * time.Second), Kind: "authenticated"},
			{At: at.Add(25 * time.Second), Kind: "downloaded"}}
		switch {
		case i%11 == 3:
			evs = append(evs, store.Event{At: at.Add(40 * time.Second), Kind: "Error", Detail: "bppCommandId 3, errorReason 10"})
		case i%13 == 5:
			evs = append(evs, store.Event{At: at.Add(40 * time.Second), Kind: "Error", Detail: "bppCommandId 5, errorReason 8"})
		case i%17 == 7:
			evs = evs[:2]
			evs = append(evs, store.Event{At: at.Add(30 * time.Second), Kind: "cancelled", Detail: "cancelled with reason 2"})
		default:
			evs = append(evs, store.Event{At: at.Add(40 * time.Second), Kind: "Installed", Detail: "installed"})
		}
		for _, e := range evs {
			e.OperatorID, e.ICCID, e.EID = opA, p.ICCID, eid
			if _, err := db.RecordEvent(ctx, e); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// TestBrowserDashboard shows the dashboard over a day of synthetic traffic, as the administrator
// and as an operator, at laptop and phone width.
func TestBrowserDashboard(t *testing.T) {
	bin := chromiumPath(t)
	env := newE2E(t)
	seedTraffic(t, env.db, time.Now())
	b := newTab(t, bin, env.base)

	b.signIn(console.AdminUser, adminPass)
	main := b.text("main")
	for _, want := range []string{"op-a · iot-m2m", "op-b · travel", "3 of 20 available, low-water mark 5 — LOW",
		"errorReason 10 (installFailedDueToInsufficientMemoryForProfile)", "cancelSessionReason 2 (timeout)", "89049032", "89001012"} {
		if !strings.Contains(main, want) {
			t.Errorf("administrator's dashboard lacks %q", want)
		}
	}
	b.shot("13-dashboard-admin")
	b.phone()
	b.do("dashboard at phone width", chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS(`svg.columns.w400`)))
	b.noSidewaysScroll("the dashboard")
	b.shot("14-phone-dashboard-admin")
	b.laptop()
	b.do("inventory", chromedp.Navigate(env.base+"/console/inventory?state=Available&type=iot-m2m"), chromedp.WaitVisible(chromedp.ID("profiles")))
	b.shot("15-inventory-search")

	b.signOut()
	b.signIn(opB, passB)
	body := b.text("main")
	if strings.Contains(body, "iot-m2m") || strings.Contains(body, "89049032") {
		t.Errorf("operator B's dashboard shows operator A's pools or traffic:\n%s", body)
	}
	if !strings.Contains(body, "27 of 40 available") {
		t.Errorf("operator B's dashboard lacks its pool:\n%s", body)
	}
}
