//go:build cgo

package hsm

import (
	"crypto/subtle"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/miekg/pkcs11"
)

// library is one loaded PKCS#11 library, shared by every Module of the process that uses it:
// C_Initialize and C_Finalize act on the whole process, and so does a token's login state.
type library struct {
	path  string // as the caller gave it, for messages
	key   string // path with symbolic links resolved: the registry key
	ctx   *pkcs11.Ctx
	owned bool // we called C_Initialize, so we call C_Finalize
	refs  int
	// logins records, per slot, how many Modules are logged in and with which PIN, so that a
	// second Open of a token this process is already logged in to cannot skip the PIN check.
	logins map[uint]*login
}

type login struct {
	refs int
	pin  string
}

// libraries is the process-wide registry of loaded libraries; its mutex also guards each
// library's refs and logins.
var libraries = struct {
	sync.Mutex
	m map[string]*library
}{m: map[string]*library{}}

func loadLibrary(path string) (*library, error) {
	if path == "" {
		return nil, fmt.Errorf("%w: no module path given", ErrModule)
	}
	if _, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("%w %s: %w", ErrModule, path, err)
	}
	key, err := filepath.EvalSymlinks(path)
	if err != nil {
		return nil, fmt.Errorf("%w %s: %w", ErrModule, path, err)
	}
	libraries.Lock()
	defer libraries.Unlock()
	if l := libraries.m[key]; l != nil {
		l.refs++
		return l, nil
	}
	ctx := pkcs11.New(path)
	if ctx == nil {
		return nil, fmt.Errorf("%w %s: not a loadable PKCS#11 library (dlopen or C_GetFunctionList failed)", ErrModule, path)
	}
	owned := true
	if err := ctx.Initialize(); err != nil {
		if !isCKR(err, pkcs11.CKR_CRYPTOKI_ALREADY_INITIALIZED) {
			ctx.Destroy()
			return nil, fmt.Errorf("%w %s: C_Initialize: %w", ErrModule, path, err)
		}
		owned = false // initialised by other code in this process; leave finalising to it
	}
	l := &library{path: path, key: key, ctx: ctx, owned: owned, refs: 1, logins: map[uint]*login{}}
	libraries.m[key] = l
	return l, nil
}

func (l *library) release() {
	libraries.Lock()
	defer libraries.Unlock()
	l.refs--
	if l.refs > 0 {
		return
	}
	delete(libraries.m, l.key)
	if l.owned {
		l.ctx.Finalize()
	}
	l.ctx.Destroy()
}

// tokenSelector says which token to use: by label, serial number and/or slot.
type tokenSelector struct {
	label, serial string
	slot          uint
	hasSlot       bool
}

func (t tokenSelector) String() string {
	var parts []string
	if t.label != "" {
		parts = append(parts, fmt.Sprintf("labelled %q", t.label))
	}
	if t.serial != "" {
		parts = append(parts, fmt.Sprintf("with serial %q", t.serial))
	}
	if t.hasSlot {
		parts = append(parts, fmt.Sprintf("in slot %d", t.slot))
	}
	return strings.Join(parts, " ")
}

// Module is one token of a PKCS#11 library, logged in as the user. It is safe for concurrent use.
type Module struct {
	lib   *library
	slot  uint
	token string // label, for messages
	pin   string
	// base is a session held open for the Module's lifetime: the token stays logged in while
	// the application has a session with it (PKCS#11 v2.40 §5.6). It is used for nothing else.
	base pkcs11.SessionHandle
	pool *sessionPool

	closeOnce sync.Once
}

// Open loads the PKCS#11 library at modulePath, finds the present token labelled tokenLabel and
// logs in to it with the user PIN. Close releases it. Opening the same token again in the same
// process shares the library and the login, and still checks the PIN.
func Open(modulePath, tokenLabel, pin string, opts ...Option) (*Module, error) {
	if tokenLabel == "" {
		return nil, fmt.Errorf("%w: no token label given", ErrTokenNotFound)
	}
	return open(modulePath, tokenSelector{label: tokenLabel}, pin, opts...)
}

func open(modulePath string, sel tokenSelector, pin string, opts ...Option) (*Module, error) {
	o := options{maxSessions: DefaultMaxSessions}
	for _, f := range opts {
		f(&o)
	}
	if o.maxSessions < 1 {
		o.maxSessions = DefaultMaxSessions
	}
	if pin == "" {
		return nil, fmt.Errorf("%w: no PIN given", ErrPINIncorrect)
	}
	lib, err := loadLibrary(modulePath)
	if err != nil {
		return nil, err
	}
	slot, info, err := findToken(lib, sel)
	if err != nil {
		lib.release()
		return nil, err
	}
	// The base session counts against the token's limit; leave one for it.
	if maxTok := info.MaxSessionCount; maxTok != pkcs11.CK_EFFECTIVELY_INFINITE &&
		maxTok != pkcs11.CK_UNAVAILABLE_INFORMATION && int(maxTok)-1 < o.maxSessions {
		o.maxSessions = max(1, int(maxTok)-1)
	}
	m := &Module{lib: lib, slot: slot, token: info.Label, pin: pin}
	m.base, err = lib.ctx.OpenSession(slot, pkcs11.CKF_SERIAL_SESSION|pkcs11.CKF_RW_SESSION)
	if err != nil {
		lib.release()
		return nil, fmt.Errorf("hsm: opening a session with token %q: %w", m.token, err)
	}
	if err := m.login(); err != nil {
		lib.ctx.CloseSession(m.base)
		lib.release()
		return nil, err
	}
	m.pool = newSessionPool(m, o.maxSessions)
	return m, nil
}

// findToken returns the one present token sel names.
func findToken(lib *library, sel tokenSelector) (uint, pkcs11.TokenInfo, error) {
	slots, err := lib.ctx.GetSlotList(true)
	if err != nil {
		return 0, pkcs11.TokenInfo{}, fmt.Errorf("hsm: listing the slots of %s: %w", lib.path, err)
	}
	var (
		found   []uint
		info    pkcs11.TokenInfo
		present []string
	)
	for _, s := range slots {
		ti, err := lib.ctx.GetTokenInfo(s)
		if err != nil {
			continue // a slot whose token went away between the two calls
		}
		label := strings.TrimRight(ti.Label, " \x00")
		if label != "" {
			present = append(present, fmt.Sprintf("%q", label))
		}
		if (sel.label == "" || label == sel.label) &&
			(sel.serial == "" || strings.TrimRight(ti.SerialNumber, " \x00") == sel.serial) &&
			(!sel.hasSlot || s == sel.slot) {
			found = append(found, s)
			ti.Label = label
			info = ti
		}
	}
	switch len(found) {
	case 0:
		list := "none"
		if len(present) > 0 {
			list = strings.Join(present, ", ")
		}
		return 0, info, fmt.Errorf("%w: no token %s in %s (tokens present: %s)", ErrTokenNotFound, sel, lib.path, list)
	case 1:
		if info.Flags&pkcs11.CKF_TOKEN_INITIALIZED == 0 {
			return 0, info, fmt.Errorf("hsm: token %s in %s is not initialised", sel, lib.path)
		}
		return found[0], info, nil
	}
	return 0, info, fmt.Errorf("hsm: %d tokens %s in %s; name one by serial or slot-id", len(found), sel, lib.path)
}

// login logs the user in on the base session and records the login in the library.
func (m *Module) login() error {
	libraries.Lock()
	defer libraries.Unlock()
	err := m.lib.ctx.Login(m.base, pkcs11.CKU_USER, m.pin)
	rec := m.lib.logins[m.slot]
	switch {
	case err == nil:
		m.lib.logins[m.slot] = &login{refs: 1, pin: m.pin}
		return nil
	case isCKR(err, pkcs11.CKR_USER_ALREADY_LOGGED_IN):
		// Another Module of this process holds the login: the token did not check this PIN,
		// so compare it with the one that logged in.
		if rec != nil && subtle.ConstantTimeCompare([]byte(rec.pin), []byte(m.pin)) != 1 {
			return fmt.Errorf("%w for token %q (already logged in by this process with another PIN)", ErrPINIncorrect, m.token)
		}
		if rec == nil {
			rec = &login{pin: m.pin}
			m.lib.logins[m.slot] = rec
		}
		rec.refs++
		return nil
	case isCKR(err, pkcs11.CKR_PIN_INCORRECT), isCKR(err, pkcs11.CKR_PIN_LEN_RANGE), isCKR(err, pkcs11.CKR_PIN_INVALID):
		return fmt.Errorf("%w for token %q: %w", ErrPINIncorrect, m.token, err)
	case isCKR(err, pkcs11.CKR_PIN_LOCKED):
		return fmt.Errorf("hsm: the user PIN of token %q is locked: %w", m.token, err)
	}
	return fmt.Errorf("hsm: logging in to token %q: %w", m.token, err)
}

// Close waits for signatures in progress, closes the Module's sessions and, when it is the last
// Module of the process on its token or library, logs out and unloads the library. Signers of a
// closed Module return ErrClosed. Close is idempotent.
func (m *Module) Close() error {
	m.closeOnce.Do(func() {
		m.pool.close()
		libraries.Lock()
		if rec := m.lib.logins[m.slot]; rec != nil {
			rec.refs--
			if rec.refs <= 0 {
				delete(m.lib.logins, m.slot)
				m.lib.ctx.Logout(m.base)
			}
		}
		libraries.Unlock()
		m.lib.ctx.CloseSession(m.base)
		m.lib.release()
	})
	return nil
}

// TokenLabel returns the label of the Module's token.
func (m *Module) TokenLabel() string { return m.token }

// samePIN reports, in constant time, whether pin is the PIN the Module logged in with.
func (m *Module) samePIN(pin string) bool {
	return subtle.ConstantTimeCompare([]byte(m.pin), []byte(pin)) == 1
}

// do runs fn on a pooled session. A session on which fn met a PKCS#11 error is closed rather
// than returned to the pool; when the error says the session or the login was lost (the token
// was reset or reinserted), fn is tried once more on a fresh session.
func (m *Module) do(fn func(sh pkcs11.SessionHandle) error) error {
	for attempt := 0; ; attempt++ {
		sh, err := m.pool.get()
		if err != nil {
			return err
		}
		err = fn(sh)
		if err == nil {
			m.pool.put(sh)
			return nil
		}
		var ckr pkcs11.Error
		if !errors.As(err, &ckr) {
			m.pool.put(sh)
			return err
		}
		m.pool.discard(sh)
		if attempt > 0 || !sessionLost(ckr) {
			return err
		}
	}
}

// sessionLost reports whether a PKCS#11 error means the session, rather than the request, failed.
func sessionLost(e pkcs11.Error) bool {
	switch e {
	case pkcs11.CKR_SESSION_HANDLE_INVALID, pkcs11.CKR_SESSION_CLOSED, pkcs11.CKR_USER_NOT_LOGGED_IN:
		return true
	}
	return false
}

// openSession opens a pool session and makes sure it is logged in: the login normally carries
// over from the base session, but not after the token was reset.
func (m *Module) openSession() (pkcs11.SessionHandle, error) {
	ctx := m.lib.ctx
	sh, err := ctx.OpenSession(m.slot, pkcs11.CKF_SERIAL_SESSION|pkcs11.CKF_RW_SESSION)
	if err != nil {
		return 0, fmt.Errorf("hsm: opening a session with token %q: %w", m.token, err)
	}
	info, err := ctx.GetSessionInfo(sh)
	if err != nil {
		ctx.CloseSession(sh)
		return 0, fmt.Errorf("hsm: session with token %q: %w", m.token, err)
	}
	if info.State == pkcs11.CKS_RO_PUBLIC_SESSION || info.State == pkcs11.CKS_RW_PUBLIC_SESSION {
		if err := ctx.Login(sh, pkcs11.CKU_USER, m.pin); err != nil && !isCKR(err, pkcs11.CKR_USER_ALREADY_LOGGED_IN) {
			ctx.CloseSession(sh)
			return 0, fmt.Errorf("hsm: logging in again to token %q: %w", m.token, err)
		}
	}
	return sh, nil
}

// isCKR reports whether err is, or wraps, the PKCS#11 return value rv.
func isCKR(err error, rv uint) bool {
	var e pkcs11.Error
	return errors.As(err, &e) && uint(e) == rv
}
