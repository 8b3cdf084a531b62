package console

import (
	"errors"
	"log/slog"
	"net/http"
	"strings"

	"github.com/smdpp/smdpp/store"
)

// Audit event kinds the console records besides the ES2+ function names.
const (
	KindSignIn  = "console-sign-in"
	KindSignOut = "console-sign-out"
)

// maxCredential bounds the user name and password a sign-in may send, so that no one can make
// the password hash work on megabytes.
const maxCredential = 1024

type loginData struct {
	Token     string
	Next      string
	User      string
	SignedOut bool
}

// safeNext returns next when it is a console path, else the dashboard, so that the sign-in page
// cannot be made to redirect elsewhere.
func safeNext(next string) string {
	if next == Prefix || strings.HasPrefix(next, Prefix+"/") && !strings.HasPrefix(next, Prefix+"/login") &&
		!strings.ContainsAny(next, "\\\r\n") {
		return next
	}
	return Prefix + "/"
}

func (c *server) loginPage(w http.ResponseWriter, r *http.Request) error {
	if ck, err := r.Cookie(sessionCookie); err == nil {
		if _, ok := c.sessions.get(ck.Value); ok {
			http.Redirect(w, r, safeNext(r.URL.Query().Get("next")), http.StatusSeeOther)
			return nil
		}
	}
	return c.showLogin(w, r, http.StatusOK, loginData{Next: safeNext(r.URL.Query().Get("next")),
		SignedOut: r.URL.Query().Has("signed-out")}, nil)
}

// showLogin renders the sign-in form with a fresh double-submit token: the same random value in
// a cookie and in the form.
func (c *server) showLogin(w http.ResponseWriter, r *http.Request, code int, d loginData, perr error) error {
	d.Token = randomToken()
	setCookie(w, loginCookie, d.Token, 600)
	c.write(w, r, code, "login", &page{Title: "Sign in", Data: d, Error: viewError(perr)})
	return nil
}

func (c *server) login(w http.ResponseWriter, r *http.Request) error {
	ck, err := r.Cookie(loginCookie)
	if err != nil || !sameOrigin(r) || !tokenEqual(ck.Value, r.PostFormValue(csrfField)) {
		return errForbidden
	}
	user, password := strings.TrimSpace(r.PostFormValue("user")), r.PostFormValue("password")
	d := loginData{Next: safeNext(r.PostFormValue("next")), User: user}
	if len(user) > maxCredential || len(password) > maxCredential {
		c.limiter.fail(user[:min(len(user), maxCredential)])
		return c.showLogin(w, r, http.StatusUnauthorized, loginData{Next: d.Next}, &pageError{message: "Wrong user name or password."})
	}
	if user == "" || password == "" {
		return c.showLogin(w, r, http.StatusUnprocessableEntity, d,
			&pageError{message: "Enter your operator ID (or " + AdminUser + ") and your console password."})
	}
	if locked, until := c.limiter.locked(user); locked {
		c.log.WarnContext(r.Context(), "console: sign-in refused, user locked", "user", user)
		return c.showLogin(w, r, http.StatusTooManyRequests, d, &pageError{message: "Too many failed sign-ins for this user. Try again after " +
			until.UTC().Format("15:04:05") + " UTC."})
	}
	p, err := c.auth.Authenticate(r.Context(), user, password)
	if err != nil {
		if !errors.Is(err, ErrBadCredentials) {
			return err
		}
		c.limiter.fail(user)
		c.log.WarnContext(r.Context(), "console: sign-in failed", "user", user)
		return c.showLogin(w, r, http.StatusUnauthorized, d, &pageError{message: "Wrong user name or password."})
	}
	c.limiter.succeed(user)
	// A new session for every sign-in (an old one in this browser ends), so that an identifier
	// planted before the sign-in is worth nothing after it.
	if old, err := r.Cookie(sessionCookie); err == nil {
		c.sessions.delete(old.Value)
	}
	ses := c.sessions.create(p)
	setCookie(w, sessionCookie, ses.id, 0)
	setCookie(w, loginCookie, "", -1)
	c.log.InfoContext(r.Context(), "console: signed in", slog.String("user", p.User()))
	c.record(r.Context(), ses, store.Event{OperatorID: p.OperatorID, Kind: KindSignIn})
	http.Redirect(w, r, d.Next, http.StatusSeeOther)
	return nil
}

func (c *server) logout(w http.ResponseWriter, r *http.Request, ses *session) error {
	c.sessions.delete(ses.id)
	setCookie(w, sessionCookie, "", -1)
	c.record(r.Context(), ses, store.Event{OperatorID: ses.principal.OperatorID, Kind: KindSignOut})
	http.Redirect(w, r, Prefix+"/login?signed-out", http.StatusSeeOther)
	return nil
}
