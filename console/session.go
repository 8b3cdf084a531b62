package console

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"net/http"
	"net/url"
	"sync"
	"time"
)

// Cookie names. The __Host- prefix makes the browser insist on Secure, Path=/ and no Domain, so
// no other host of the domain can set or shadow them.
const (
	sessionCookie = "__Host-smdpp-console"
	loginCookie   = "__Host-smdpp-console-login"
	csrfField     = "csrf"
)

// session is one signed-in user.
type session struct {
	id        string
	principal Principal
	csrf      string
	created   time.Time
	lastSeen  time.Time
	// flash is a message for the next page shown (after a POST and its redirect).
	flash string
}

// sessions keeps the sessions of this process.
type sessions struct {
	mu        sync.Mutex
	byID      map[string]*session
	idle, max time.Duration
	now       func() time.Time
	lastSweep time.Time
}

func newSessions(idle, max time.Duration, now func() time.Time) *sessions {
	return &sessions{byID: map[string]*session{}, idle: idle, max: max, now: now}
}

// randomToken returns 32 random bytes, base64url-encoded.
func randomToken() string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic("console: no randomness: " + err.Error()) // crypto/rand does not fail on Linux
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// create opens a new session for p.
func (s *sessions) create(p Principal) *session {
	now := s.now()
	ses := &session{id: randomToken(), principal: p, csrf: randomToken(), created: now, lastSeen: now}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sweepLocked(now)
	s.byID[ses.id] = ses
	return ses
}

// get returns a copy of the live session id and marks it used, or false.
func (s *sessions) get(id string) (session, bool) {
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	ses, ok := s.byID[id]
	if !ok {
		return session{}, false
	}
	if s.expired(ses, now) {
		delete(s.byID, id)
		return session{}, false
	}
	ses.lastSeen = now
	return *ses, true
}

// setFlash stores a message for the next page of session id.
func (s *sessions) setFlash(id, msg string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if ses, ok := s.byID[id]; ok {
		ses.flash = msg
	}
}

// takeFlash returns and clears the message of session id.
func (s *sessions) takeFlash(id string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	ses, ok := s.byID[id]
	if !ok {
		return ""
	}
	msg := ses.flash
	ses.flash = ""
	return msg
}

func (s *sessions) delete(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.byID, id)
}

func (s *sessions) expired(ses *session, now time.Time) bool {
	return now.Sub(ses.lastSeen) >= s.idle || now.Sub(ses.created) >= s.max
}

// sweepLocked drops expired sessions, at most once a minute.
func (s *sessions) sweepLocked(now time.Time) {
	if now.Sub(s.lastSweep) < time.Minute {
		return
	}
	s.lastSweep = now
	for id, ses := range s.byID {
		if s.expired(ses, now) {
			delete(s.byID, id)
		}
	}
}

// tokenEqual compares two tokens in constant time; an empty token never matches.
func tokenEqual(a, b string) bool {
	return a != "" && b != "" && subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}

// setCookie sets a console cookie: HttpOnly, Secure, SameSite=Strict, for the whole host (the
// __Host- prefix requires Path=/). maxAge < 0 deletes it; 0 makes it last until the browser closes.
func setCookie(w http.ResponseWriter, name, value string, maxAge int) {
	http.SetCookie(w, &http.Cookie{Name: name, Value: value, Path: "/", MaxAge: maxAge,
		HttpOnly: true, Secure: true, SameSite: http.SameSiteStrictMode})
}

// sameOrigin reports whether a state-changing request comes from a page of this host: its Origin
// header (or, without one, its Referer) names r.Host. Browsers send Origin with every POST; a
// request with neither is not from a browser page and is left to the token check.
func sameOrigin(r *http.Request) bool {
	src := r.Header.Get("Origin")
	if src == "" {
		src = r.Header.Get("Referer")
	}
	if src == "" {
		return true
	}
	u, err := url.Parse(src)
	return err == nil && u.Host == r.Host
}

// limiter locks a user name after repeated failed sign-ins.
type limiter struct {
	mu       sync.Mutex
	failures map[string]*failures
	max      int           // failures before the lock
	lock     time.Duration // how long the lock lasts
	now      func() time.Time
}

type failures struct {
	n      int
	last   time.Time
	locked time.Time // zero: not locked
}

// limiterMaxUsers bounds the memory of the limiter; past it, the oldest records are dropped.
const limiterMaxUsers = 10000

func newLimiter(max int, lock time.Duration, now func() time.Time) *limiter {
	return &limiter{failures: map[string]*failures{}, max: max, lock: lock, now: now}
}

// locked reports whether user is locked out now, and until when.
func (l *limiter) locked(user string) (bool, time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	f, ok := l.failures[user]
	if !ok || f.locked.IsZero() {
		return false, time.Time{}
	}
	until := f.locked.Add(l.lock)
	if l.now().Before(until) {
		return true, until
	}
	delete(l.failures, user)
	return false, time.Time{}
}

// fail counts a failed sign-in of user.
func (l *limiter) fail(user string) {
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	f, ok := l.failures[user]
	if !ok {
		if len(l.failures) >= limiterMaxUsers {
			l.pruneLocked(now)
		}
		f = &failures{}
		l.failures[user] = f
	}
	// Failures long ago are forgiven.
	if now.Sub(f.last) > l.lock {
		f.n = 0
	}
	f.n++
	f.last = now
	if f.n >= l.max {
		f.locked = now
	}
}

// succeed forgets the failures of user.
func (l *limiter) succeed(user string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.failures, user)
}

func (l *limiter) pruneLocked(now time.Time) {
	for u, f := range l.failures {
		if now.Sub(f.last) > l.lock {
			delete(l.failures, u)
		}
	}
	for u := range l.failures { // still full: drop arbitrary ones
		if len(l.failures) < limiterMaxUsers {
			break
		}
		delete(l.failures, u)
	}
}
