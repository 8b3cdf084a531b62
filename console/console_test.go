package console_test

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/argon2"

	"github.com/smdpp/smdpp/console"
	"github.com/smdpp/smdpp/store"
)

func TestSignIn(t *testing.T) {
	h := newHarness(t)

	t.Run("pages need a session", func(t *testing.T) {
		c := h.client()
		for _, path := range []string{"/console/", "/console/inventory", "/console/orders", "/console/orders/89000123456789012341",
			"/console/eid", "/console/usage", "/console/usage/export?format=csv", "/console/audit"} {
			res := c.get(path)
			wantStatus(t, res, http.StatusSeeOther)
			if loc := res.Header.Get("Location"); loc != "/console/login?next="+url.QueryEscape(path) {
				t.Errorf("GET %s: Location %q", path, loc)
			}
		}
	})

	t.Run("cookies", func(t *testing.T) {
		c := h.client()
		res := c.get("/console/login")
		wantStatus(t, res, http.StatusOK)
		wantBody(t, res, `<label for="user">`, `<label for="password">`, `class="skip" href="#main"`)
		checkCookie(t, res, "__Host-smdpp-console-login")
		res = c.post("/console/login", url.Values{"user": {opA}, "password": {passA}, "next": {"/console/orders"}})
		wantStatus(t, res, http.StatusSeeOther)
		if loc := res.Header.Get("Location"); loc != "/console/orders" {
			t.Errorf("Location %q after sign-in, want the page asked for", loc)
		}
		checkCookie(t, res, "__Host-smdpp-console")
		res = c.get("/console/")
		wantStatus(t, res, http.StatusOK)
		wantBody(t, res, "Operator <strong>op-a</strong>", "Dashboard")
		for _, hdr := range []string{"Content-Security-Policy", "X-Content-Type-Options", "X-Frame-Options"} {
			if res.Header.Get(hdr) == "" {
				t.Errorf("no %s header", hdr)
			}
		}
		if cc := res.Header.Get("Cache-Control"); cc != "no-store" {
			t.Errorf("Cache-Control %q, want no-store", cc)
		}
	})

	t.Run("sign out ends the session on the server", func(t *testing.T) {
		c := h.client()
		c.signIn(opA, passA)
		stolen := c.cookies["__Host-smdpp-console"]
		res := c.post("/console/logout", nil)
		wantStatus(t, res, http.StatusSeeOther)
		if _, ok := c.cookies["__Host-smdpp-console"]; ok {
			t.Error("session cookie kept after sign-out")
		}
		c.cookies[stolen.Name] = stolen // the old cookie, replayed
		wantStatus(t, c.get("/console/"), http.StatusSeeOther)
	})

	t.Run("no open redirect", func(t *testing.T) {
		c := h.client()
		c.get("/console/login")
		res := c.post("/console/login", url.Values{"user": {opA}, "password": {passA}, "next": {"https://evil.example/"}})
		if loc := res.Header.Get("Location"); loc != "/console/" {
			t.Errorf("Location %q, want the dashboard", loc)
		}
	})

	bad := []struct {
		name     string
		form     url.Values
		token    string // "" keeps the page's token
		origin   string
		want     int
		wantBody string
	}{
		{"wrong password", url.Values{"user": {opA}, "password": {"nope"}}, "", "", http.StatusUnauthorized, "Wrong user name or password."},
		{"unknown user", url.Values{"user": {"op-z"}, "password": {passA}}, "", "", http.StatusUnauthorized, "Wrong user name or password."},
		{"another operator's password", url.Values{"user": {opA}, "password": {passB}}, "", "", http.StatusUnauthorized, "Wrong user name"},
		{"empty", url.Values{"user": {""}, "password": {""}}, "", "", http.StatusUnprocessableEntity, "Enter your operator ID"},
		{"no token", url.Values{"user": {opA}, "password": {passA}}, "-", "", http.StatusForbidden, "Request refused"},
		{"wrong token", url.Values{"user": {opA}, "password": {passA}}, "forged", "", http.StatusForbidden, "Request refused"},
		{"other site", url.Values{"user": {opA}, "password": {passA}}, "", "https://evil.example", http.StatusForbidden, "Request refused"},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			c := h.client()
			c.get("/console/login")
			switch tc.token {
			case "":
			case "-":
				tc.form.Set("csrf", "")
			default:
				tc.form.Set("csrf", tc.token)
			}
			if tc.origin != "" {
				c.origin = tc.origin
			}
			res := c.post("/console/login", tc.form)
			wantStatus(t, res, tc.want)
			wantBody(t, res, tc.wantBody)
			if _, ok := c.cookies["__Host-smdpp-console"]; ok {
				t.Error("got a session cookie")
			}
		})
	}

	t.Run("lock after failures", func(t *testing.T) {
		h := newHarness(t, console.WithSignInLimit(3, time.Hour))
		c := h.client()
		for range 3 {
			c.get("/console/login")
			wantStatus(t, c.post("/console/login", url.Values{"user": {opB}, "password": {"guess"}}), http.StatusUnauthorized)
		}
		c.get("/console/login")
		res := c.post("/console/login", url.Values{"user": {opB}, "password": {passB}})
		wantStatus(t, res, http.StatusTooManyRequests)
		wantBody(t, res, "Too many failed sign-ins")
		c.signIn(opA, passA) // other users are not affected
	})
}

func TestSessionExpiry(t *testing.T) {
	now := time.Date(2026, 7, 1, 8, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	h := newHarness(t, console.WithClock(clock), console.WithSessionTimeouts(30*time.Minute, 8*time.Hour))
	c := h.client()
	c.signIn(opA, passA)

	// Used every 20 minutes, the session lives until its lifetime ends.
	for range 23 {
		now = now.Add(20 * time.Minute)
		wantStatus(t, c.get("/console/orders"), http.StatusOK)
	}
	now = now.Add(20 * time.Minute) // 8 h since the sign-in
	wantStatus(t, c.get("/console/orders"), http.StatusSeeOther)

	c.signIn(opA, passA)
	now = now.Add(31 * time.Minute) // idle
	wantStatus(t, c.get("/console/orders"), http.StatusSeeOther)
	res := c.post("/console/logout", nil)
	wantStatus(t, res, http.StatusForbidden)
	wantBody(t, res, "Your session has ended")

	t.Run("live refresh after the end", func(t *testing.T) {
		req := httptest.NewRequest(http.MethodGet, "https://"+testHost+"/console/orders/89000123456789012341/live", nil)
		req.Header.Set("X-Console-Fragment", "1")
		res := c.do(req)
		wantStatus(t, res, http.StatusUnauthorized)
	})
}

func checkCookie(t *testing.T, res *response, name string) {
	t.Helper()
	for _, ck := range res.Cookies() {
		if ck.Name != name {
			continue
		}
		if !ck.HttpOnly || !ck.Secure || ck.SameSite != http.SameSiteStrictMode || ck.Path != "/" || ck.Domain != "" {
			t.Errorf("cookie %s: %s; want HttpOnly, Secure, SameSite=Strict, Path=/, no Domain", name, ck.String())
		}
		if len(ck.Value) < 40 {
			t.Errorf("cookie %s value %q is short", name, ck.Value)
		}
		return
	}
	t.Errorf("no cookie %s set", name)
}

func TestPasswordAuthenticator(t *testing.T) {
	salt := make([]byte, 16)
	rand.Read(salt)
	argon := fmt.Sprintf("$argon2id$v=19$m=%d,t=%d,p=%d$%s$%s", 1024, 1, 1, base64.RawStdEncoding.EncodeToString(salt),
		base64.RawStdEncoding.EncodeToString(argon2.IDKey([]byte("argon-pw"), salt, 1, 1024, 1, 32)))
	made, err := console.HashPassword("made-by-HashPassword")
	if err != nil {
		t.Fatal(err)
	}
	auth, err := console.NewPasswordAuthenticator(map[string]string{"bc": hash(t, "bcrypt-pw"), "ar": argon, "hp": made}, hash(t, "admin-pw"))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, user, password string
		want                 console.Principal
		ok                   bool
	}{
		{"bcrypt", "bc", "bcrypt-pw", console.Principal{OperatorID: "bc"}, true},
		{"argon2id", "ar", "argon-pw", console.Principal{OperatorID: "ar"}, true},
		{"HashPassword", "hp", "made-by-HashPassword", console.Principal{OperatorID: "hp"}, true},
		{"administrator", console.AdminUser, "admin-pw", console.Principal{Admin: true}, true},
		{"wrong bcrypt password", "bc", "argon-pw", console.Principal{}, false},
		{"wrong argon2id password", "ar", "bcrypt-pw", console.Principal{}, false},
		{"unknown user", "nobody", "bcrypt-pw", console.Principal{}, false},
		{"empty user", "", "", console.Principal{}, false},
		{"administrator with an operator's password", console.AdminUser, "bcrypt-pw", console.Principal{}, false},
		{"password prefix", "bc", "bcrypt", console.Principal{}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := auth.Authenticate(context.Background(), tc.user, tc.password)
			if tc.ok && (err != nil || got != tc.want) {
				t.Errorf("Authenticate = %+v, %v; want %+v", got, err, tc.want)
			}
			if !tc.ok && !errors.Is(err, console.ErrBadCredentials) {
				t.Errorf("Authenticate = %+v, %v; want ErrBadCredentials", got, err)
			}
		})
	}

	noAdmin, err := console.NewPasswordAuthenticator(map[string]string{"bc": hash(t, "x")}, "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := noAdmin.Authenticate(context.Background(), console.AdminUser, ""); !errors.Is(err, console.ErrBadCredentials) {
		t.Errorf("administrator without a hash: %v", err)
	}

	for _, tc := range []struct {
		name  string
		ops   map[string]string
		admin string
	}{
		{"plain text", map[string]string{"a": "secret"}, ""},
		{"truncated bcrypt", map[string]string{"a": hash(t, "x")[:20]}, ""},
		{"argon2i", map[string]string{"a": strings.Replace(argon, "argon2id", "argon2i", 1)}, ""},
		{"argon2id without salt", map[string]string{"a": "$argon2id$v=19$m=1024,t=1,p=1$$AAAAAAAAAAAAAAAAAAAAAA"}, ""},
		{"argon2id bad parameters", map[string]string{"a": "$argon2id$v=19$m=x,t=1,p=1$c2FsdHNhbHQ$AAAAAAAAAAAAAAAAAAAAAA"}, ""},
		{"argon2id version 16", map[string]string{"a": strings.Replace(argon, "v=19", "v=16", 1)}, ""},
		{"operator named admin", map[string]string{console.AdminUser: hash(t, "x")}, ""},
		{"empty operator ID", map[string]string{"": hash(t, "x")}, ""},
		{"bad admin hash", nil, "$2a$nope"},
	} {
		t.Run("refuses "+tc.name, func(t *testing.T) {
			if _, err := console.NewPasswordAuthenticator(tc.ops, tc.admin); err == nil {
				t.Error("NewPasswordAuthenticator accepted it")
			}
		})
	}
	if _, err := console.HashPassword(""); err == nil {
		t.Error("HashPassword accepted an empty password")
	}
}

// TestCSRF sends every state-changing form without the session's token, with a forged one,
// with another session's, and from another site: each is refused with 403 and changes nothing.
func TestCSRF(t *testing.T) {
	h := newHarness(t)
	iccid := h.importProfile(opA, testUPP)
	ordered := h.importProfile(opA, otherTestUPP)
	h.order(opA, ordered)

	a := h.client()
	a.signIn(opA, passA)
	other := h.client()
	other.signIn(opA, passA) // the same operator, another session

	posts := []struct {
		path string
		form url.Values
	}{
		{"/console/logout", url.Values{}},
		{"/console/orders", url.Values{"iccid": {iccid}, "release": {"1"}}},
		{"/console/orders/" + ordered + "/cancel", url.Values{"final": {"Available"}}},
		{"/console/orders/" + ordered + "/release", url.Values{}},
		{"/console/inventory/import", url.Values{"mode": {"package"}, "pkg": {base64.StdEncoding.EncodeToString(readUPP(t, "TS48V4-SAIP2-3-BERTLV-UNIQUE.der"))}, "pkgname": {"x.der"}}},
	}
	for _, p := range posts {
		for _, tc := range []struct {
			name, token, origin string
		}{
			{"no token", "", ""},
			{"forged token", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", ""},
			{"other session's token", other.csrf, ""},
			{"other site", a.csrf, "https://evil.example"},
		} {
			t.Run(p.path+"/"+tc.name, func(t *testing.T) {
				before := h.snapshot()
				form := url.Values{}
				for k, v := range p.form {
					form[k] = v
				}
				form.Set("csrf", tc.token)
				c := *a
				if tc.origin != "" {
					c.origin = tc.origin
				}
				res := c.post(p.path, form)
				wantStatus(t, res, http.StatusForbidden)
				wantBody(t, res, "Request refused")
				h.unchanged(before)
			})
		}
	}

	t.Run("multipart without token", func(t *testing.T) {
		before := h.snapshot()
		res := a.postMultipart("/console/inventory/check", url.Values{"csrf": {""}, "mode": {"package"}},
			file{"upp", "p.der", readUPP(t, testUPP)})
		wantStatus(t, res, http.StatusForbidden)
		h.unchanged(before)
	})

	t.Run("without a session", func(t *testing.T) {
		before := h.snapshot()
		c := h.client()
		res := c.post("/console/orders/"+ordered+"/cancel", url.Values{"final": {"Available"}, "csrf": {a.csrf}})
		wantStatus(t, res, http.StatusForbidden)
		h.unchanged(before)
	})

	t.Run("with the token it works", func(t *testing.T) {
		res := a.post("/console/orders/"+ordered+"/cancel", url.Values{"final": {"Available"}})
		wantStatus(t, res, http.StatusSeeOther)
		p, err := h.db.GetProfile(context.Background(), ordered)
		if err != nil || p.State != store.StateAvailable {
			t.Errorf("after cancel: %+v, %v", p.State, err)
		}
	})
}

// TestScoping checks that an operator sees nothing of another's, also by URL, and cannot tell an
// order of another operator from one that does not exist.
func TestScoping(t *testing.T) {
	h := newHarness(t)
	iccidA := h.importProfile(opA, testUPP)
	iccidB := h.importProfile(opB, otherTestUPP)

	a, b, admin := h.client(), h.client(), h.client()
	a.signIn(opA, passA)
	b.signIn(opB, passB)
	admin.signIn(console.AdminUser, adminPass)
	a.placeOrder(url.Values{"iccid": {iccidA}, "release": {"1"}})
	pa, err := h.db.GetProfile(context.Background(), iccidA)
	if err != nil {
		t.Fatal(err)
	}
	midA := pa.MatchingID

	wantStatus(t, a.get("/console/orders/"+iccidA), http.StatusOK)
	missing := b.get("/console/orders/89000000000000000009")
	wantStatus(t, missing, http.StatusNotFound)

	for _, path := range []string{"/console/orders/" + iccidA, "/console/orders/" + iccidA + "/live",
		"/console/orders/" + iccidA + "/qr.png"} {
		t.Run("GET "+path, func(t *testing.T) {
			res := b.get(path)
			wantStatus(t, res, http.StatusNotFound)
			if strings.Contains(res.body, iccidA) || strings.Contains(res.body, midA) {
				t.Error("the 404 page names the order")
			}
			if strip(res.body) != strip(missing.body) {
				t.Errorf("404 differs from that of a missing order:\n%s\n---\n%s", excerpt(res.body), excerpt(missing.body))
			}
		})
	}
	for _, path := range []string{"/console/orders/" + iccidA + "/cancel", "/console/orders/" + iccidA + "/release"} {
		t.Run("POST "+path, func(t *testing.T) {
			before := h.snapshot()
			res := b.post(path, url.Values{"final": {"Unavailable"}})
			wantStatus(t, res, http.StatusNotFound)
			h.unchanged(before)
		})
	}
	t.Run("order another operator's ICCID", func(t *testing.T) {
		before := h.snapshot()
		b.get("/console/orders/new")
		res := b.post("/console/orders", url.Values{"iccid": {iccidA}, "release": {"1"}})
		wantStatus(t, res, http.StatusUnprocessableEntity)
		wantBody(t, res, "Unknown ICCID.", "8.2.1 / 3.9")
		h.unchanged(before)
	})

	lists := []string{"/console/inventory", "/console/inventory?iccid=" + iccidA, "/console/orders", "/console/audit",
		"/console/usage", "/console/", "/console/eid?eid=89049032123451234512345678901235"}
	for _, path := range lists {
		t.Run("lists "+path, func(t *testing.T) {
			res := b.get(path)
			wantStatus(t, res, http.StatusOK)
			if strings.Contains(res.body, "/console/orders/"+iccidA) || strings.Contains(res.body, midA) || strings.Contains(res.body, opA+" ·") {
				t.Errorf("operator B's page shows operator A's data:\n%s", excerpt(res.body))
			}
		})
	}
	t.Run("usage export", func(t *testing.T) {
		res := b.get("/console/usage/export?format=csv")
		wantStatus(t, res, http.StatusOK)
		if strings.Contains(res.body, iccidA) {
			t.Error("B's usage export holds A's order")
		}
		if !strings.Contains(a.get("/console/usage/export?format=csv").body, iccidA) {
			t.Error("A's usage export lacks A's order")
		}
	})
	t.Run("operator filter is the administrator's", func(t *testing.T) {
		res := b.get("/console/orders?operator=" + opA)
		if strings.Contains(res.body, iccidA) {
			t.Error("operator=op-a shows A's orders to B")
		}
	})
	t.Run("administrator sees all", func(t *testing.T) {
		wantStatus(t, admin.get("/console/orders/"+iccidA), http.StatusOK)
		wantBody(t, admin.get("/console/inventory"), iccidA, iccidB)
		res := admin.get("/console/inventory?operator=" + opB)
		if strings.Contains(res.body, iccidA) || !strings.Contains(res.body, iccidB) {
			t.Error("administrator's operator filter does not filter")
		}
	})
}

// strip removes the per-session parts (CSRF tokens) of a page.
func strip(body string) string { return csrfRE.ReplaceAllString(body, "") }
