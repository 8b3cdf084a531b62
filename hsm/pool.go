//go:build cgo

package hsm

import (
	"sync"

	"github.com/miekg/pkcs11"
)

// sessionPool lends a Module's sessions out one caller at a time: a PKCS#11 session runs one
// operation at a time and must not be shared between goroutines. It opens sessions on demand,
// up to its bound, and keeps returned ones open for reuse.
type sessionPool struct {
	m *Module
	// tickets holds one token per session that is open and lent out or being opened; a full
	// channel makes get wait.
	tickets chan struct{}

	mu     sync.Mutex
	idle   []pkcs11.SessionHandle
	closed bool
}

func newSessionPool(m *Module, size int) *sessionPool {
	return &sessionPool{m: m, tickets: make(chan struct{}, size)}
}

// get lends a session, waiting while all of them are in use.
func (p *sessionPool) get() (pkcs11.SessionHandle, error) {
	p.tickets <- struct{}{}
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		<-p.tickets
		return 0, ErrClosed
	}
	if n := len(p.idle); n > 0 {
		sh := p.idle[n-1]
		p.idle = p.idle[:n-1]
		p.mu.Unlock()
		return sh, nil
	}
	p.mu.Unlock()
	sh, err := p.m.openSession()
	if err != nil {
		<-p.tickets
		return 0, err
	}
	return sh, nil
}

// put returns a healthy session for reuse.
func (p *sessionPool) put(sh pkcs11.SessionHandle) {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		p.m.lib.ctx.CloseSession(sh)
	} else {
		p.idle = append(p.idle, sh)
		p.mu.Unlock()
	}
	<-p.tickets
}

// discard closes a session that met an error instead of reusing it.
func (p *sessionPool) discard(sh pkcs11.SessionHandle) {
	p.m.lib.ctx.CloseSession(sh)
	<-p.tickets
}

// close refuses new loans, waits until every lent session is back, and closes the idle ones.
func (p *sessionPool) close() {
	p.mu.Lock()
	p.closed = true
	p.mu.Unlock()
	for range cap(p.tickets) {
		p.tickets <- struct{}{}
	}
	p.mu.Lock()
	idle := p.idle
	p.idle = nil
	p.mu.Unlock()
	for _, sh := range idle {
		p.m.lib.ctx.CloseSession(sh)
	}
	// Hand the tickets back so that later callers get ErrClosed rather than wait forever.
	for range cap(p.tickets) {
		<-p.tickets
	}
}
