package hsm

import (
	"crypto"
	"errors"
	"fmt"
	"sync"
)

// Loader opens the keys a configuration names by PKCS#11 URI, sharing one Module (one login,
// one session pool) among the keys of the same token. It is safe for concurrent use. Close it
// when the server stops.
type Loader struct {
	opts []Option

	mu      sync.Mutex
	modules map[moduleKey]*Module
}

// moduleKey identifies a token as a URI names it.
type moduleKey struct {
	modulePath, token, serial string
	slot                      uint
	hasSlot                   bool
}

// NewLoader returns a Loader whose Modules are opened with opts.
func NewLoader(opts ...Option) *Loader {
	return &Loader{opts: opts, modules: map[moduleKey]*Module{}}
}

// Signer returns the key the PKCS#11 URI names (see [URI]), reading its PIN from pin-source.
func (l *Loader) Signer(uri string) (crypto.Signer, error) {
	u, err := ParseURI(uri)
	if err != nil {
		return nil, err
	}
	return l.SignerFor(u)
}

// SignerFor is Signer for a parsed URI.
func (l *Loader) SignerFor(u *URI) (crypto.Signer, error) {
	pin, err := u.PIN()
	if err != nil {
		return nil, err
	}
	k := moduleKey{u.ModulePath, u.Token, u.Serial, u.SlotID, u.HasSlotID}
	l.mu.Lock()
	m := l.modules[k]
	if m == nil {
		m, err = open(u.ModulePath, tokenSelector{label: u.Token, serial: u.Serial, slot: u.SlotID, hasSlot: u.HasSlotID}, pin, l.opts...)
		if err != nil {
			l.mu.Unlock()
			return nil, err
		}
		l.modules[k] = m
	} else if !m.samePIN(pin) {
		l.mu.Unlock()
		return nil, fmt.Errorf("%w for token %q: %s gives another PIN than the key opened before it", ErrPINIncorrect, m.TokenLabel(), u)
	}
	l.mu.Unlock()
	s, err := m.signer(u.Object, u.ID)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", u, err)
	}
	return s, nil
}

// Close closes every Module the Loader opened; their Signers return ErrClosed afterwards.
func (l *Loader) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	var errs []error
	for k, m := range l.modules {
		errs = append(errs, m.Close())
		delete(l.modules, k)
	}
	return errors.Join(errs...)
}
