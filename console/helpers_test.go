package console_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/go-chi/chi/v5"
	"golang.org/x/crypto/bcrypt"

	"github.com/smdpp/smdpp/console"
	"github.com/smdpp/smdpp/orders"
	"github.com/smdpp/smdpp/store"
)

// Test users: two operators and the administrator.
const (
	opA, passA   = "op-a", "password-of-a"
	opB, passB   = "op-b", "password-of-b"
	adminPass    = "admin-password"
	testHost     = "smdp.example"
	testAddress  = "smdp.example:8443"
	testUPP      = "TS48V2-SAIP2-3-BERTLV-UNIQUE.der"
	otherTestUPP = "TS48V3-SAIP2-3-BERTLV-UNIQUE.der"
)

// harness is a console over a real SQLite store, with two operators.
type harness struct {
	t      *testing.T
	db     *store.DB
	orders *orders.Service
	h      http.Handler
}

// hash returns a fast bcrypt hash for tests.
func hash(t testing.TB, pw string) string {
	t.Helper()
	h, err := bcrypt.GenerateFromPassword([]byte(pw), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	return string(h)
}

func newHarness(t *testing.T, opts ...console.Option) *harness {
	t.Helper()
	ctx := context.Background()
	db, err := store.Open(ctx, filepath.Join(t.TempDir(), "smdpp.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	for _, id := range []string{opA, opB} {
		if _, err := db.CreateOperator(ctx, store.Operator{ID: id, Name: "Operator " + strings.ToUpper(id[3:])}); err != nil {
			t.Fatal(err)
		}
	}
	auth, err := console.NewPasswordAuthenticator(map[string]string{opA: hash(t, passA), opB: hash(t, passB)}, hash(t, adminPass))
	if err != nil {
		t.Fatal(err)
	}
	svc := orders.New(db, testAddress)
	r := chi.NewRouter()
	console.Routes(r, console.Deps{DB: db, Orders: svc, Auth: auth, Log: slog.New(slog.DiscardHandler)}, opts...)
	return &harness{t: t, db: db, orders: svc, h: r}
}

// readUPP returns a TS.48 test profile package of testdata/upp.
func readUPP(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "testdata", "upp", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// importProfile puts a test profile into op's inventory directly and returns its ICCID.
func (h *harness) importProfile(op, name string) string {
	h.t.Helper()
	p, err := h.orders.ImportProfile(context.Background(), op, "", readUPP(h.t, name))
	if err != nil {
		h.t.Fatal(err)
	}
	return p.ICCID
}

// order places and releases an order for op's profile iccid directly and returns its matchingId.
func (h *harness) order(op, iccid string) string {
	h.t.Helper()
	ctx := context.Background()
	if _, err := h.orders.DownloadOrder(ctx, op, orders.DownloadOrderRequest{ICCID: iccid}); err != nil {
		h.t.Fatal(err)
	}
	res, err := h.orders.ConfirmOrder(ctx, op, orders.ConfirmOrderRequest{ICCID: iccid, ReleaseFlag: true})
	if err != nil {
		h.t.Fatal(err)
	}
	return res.MatchingID
}

// snapshot is everything in the database a console action could change.
type snapshot struct {
	profiles []store.Profile
	events   []store.Event
}

func (h *harness) snapshot() snapshot {
	h.t.Helper()
	ctx := context.Background()
	ps, err := h.db.FindProfiles(ctx, store.ProfileFilter{Limit: store.MaxFindLimit})
	if err != nil {
		h.t.Fatal(err)
	}
	evs, err := h.db.ListEvents(ctx, store.EventFilter{Limit: store.MaxFindLimit})
	if err != nil {
		h.t.Fatal(err)
	}
	return snapshot{ps, evs}
}

// unchanged fails the test if the profiles or events differ from before.
func (h *harness) unchanged(before snapshot) {
	h.t.Helper()
	after := h.snapshot()
	if !slices.EqualFunc(before.profiles, after.profiles, func(a, b store.Profile) bool {
		return a.ICCID == b.ICCID && a.State == b.State && a.Version == b.Version && a.EID == b.EID && a.MatchingID == b.MatchingID
	}) {
		h.t.Errorf("profiles changed:\nbefore %+v\nafter  %+v", before.profiles, after.profiles)
	}
	if len(before.events) != len(after.events) {
		h.t.Errorf("events changed: %d before, %d after (last %+v)", len(before.events), len(after.events), after.events[len(after.events)-1])
	}
}

// client is a browser for the handler: it keeps cookies and reads the CSRF token of the last
// page, like a person with one tab.
type client struct {
	h       *harness
	cookies map[string]*http.Cookie
	csrf    string
	origin  string
}

func (h *harness) client() *client {
	return &client{h: h, cookies: map[string]*http.Cookie{}, origin: "https://" + testHost}
}

// response is a finished request.
type response struct {
	*http.Response
	body        string
	method, url string
}

var csrfRE = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

func (c *client) do(req *http.Request) *response {
	c.h.t.Helper()
	for _, ck := range c.cookies {
		req.AddCookie(ck)
	}
	rec := httptest.NewRecorder()
	c.h.h.ServeHTTP(rec, req)
	res := rec.Result()
	b, _ := io.ReadAll(res.Body)
	for _, ck := range res.Cookies() {
		if ck.MaxAge < 0 {
			delete(c.cookies, ck.Name)
		} else {
			c.cookies[ck.Name] = ck
		}
	}
	if m := csrfRE.FindStringSubmatch(string(b)); m != nil {
		c.csrf = m[1]
	}
	return &response{res, string(b), req.Method, req.URL.String()}
}

func (c *client) get(path string) *response {
	c.h.t.Helper()
	return c.do(httptest.NewRequest(http.MethodGet, "https://"+testHost+path, nil))
}

// post sends a form; the page's CSRF token is added unless the form has a "csrf" field already.
func (c *client) post(path string, form url.Values) *response {
	c.h.t.Helper()
	if form == nil {
		form = url.Values{}
	}
	if _, ok := form["csrf"]; !ok {
		form.Set("csrf", c.csrf)
	}
	req := httptest.NewRequest(http.MethodPost, "https://"+testHost+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if c.origin != "" {
		req.Header.Set("Origin", c.origin)
	}
	return c.do(req)
}

// file is an upload of postMultipart.
type file struct {
	field, name string
	data        []byte
}

func (c *client) postMultipart(path string, form url.Values, files ...file) *response {
	c.h.t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	if _, ok := form["csrf"]; !ok {
		form.Set("csrf", c.csrf)
	}
	for k, vs := range form {
		for _, v := range vs {
			mw.WriteField(k, v)
		}
	}
	for _, f := range files {
		fw, err := mw.CreateFormFile(f.field, f.name)
		if err != nil {
			c.h.t.Fatal(err)
		}
		fw.Write(f.data)
	}
	mw.Close()
	req := httptest.NewRequest(http.MethodPost, "https://"+testHost+path, &buf)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Origin", c.origin)
	return c.do(req)
}

// signIn signs the client in and fails the test if that does not work.
func (c *client) signIn(user, password string) {
	c.h.t.Helper()
	c.get("/console/login")
	res := c.post("/console/login", url.Values{"user": {user}, "password": {password}, "next": {"/console/"}})
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/console/" {
		c.h.t.Fatalf("sign-in of %s: %d %s\n%s", user, res.StatusCode, res.Header.Get("Location"), res.body)
	}
	c.get("/console/") // for the CSRF token
}

// placeOrder sends the new-order form and returns the ICCID of the order placed.
func (c *client) placeOrder(form url.Values) string {
	c.h.t.Helper()
	c.get("/console/orders/new")
	res := c.post("/console/orders", form)
	loc := res.Header.Get("Location")
	if res.StatusCode != http.StatusSeeOther || !strings.HasPrefix(loc, "/console/orders/") {
		c.h.t.Fatalf("placing an order: %d %s\n%s", res.StatusCode, loc, excerpt(res.body))
	}
	return strings.TrimPrefix(loc, "/console/orders/")
}

// wantStatus checks the status of res.
func wantStatus(t *testing.T, res *response, code int) {
	t.Helper()
	if res.StatusCode != code {
		t.Fatalf("%s %s: status %d, want %d\n%s", res.method, res.url, res.StatusCode, code, excerpt(res.body))
	}
}

// wantBody checks that res's body holds every one of the strings.
func wantBody(t *testing.T, res *response, want ...string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(res.body, w) {
			t.Errorf("%s %s: body lacks %q\n%s", res.method, res.url, w, excerpt(res.body))
		}
	}
}

// excerpt is the main part of a page, for failure messages.
func excerpt(body string) string {
	if i := strings.Index(body, `<main`); i >= 0 {
		body = body[i:]
	}
	if len(body) > 3000 {
		body = body[:3000] + "…"
	}
	return body
}
