//go:build !cgo

package hsm

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
)

// Module is one logged-in token of a PKCS#11 library; in a build without cgo it cannot be opened.
type Module struct{}

// Open returns ErrNoCgo in a build without cgo.
func Open(modulePath, tokenLabel, pin string, opts ...Option) (*Module, error) {
	return nil, ErrNoCgo
}

func open(string, tokenSelector, string, ...Option) (*Module, error) { return nil, ErrNoCgo }

// tokenSelector says which token to use: by label, serial number and/or slot.
type tokenSelector struct {
	label, serial string
	slot          uint
	hasSlot       bool
}

// Close does nothing in a build without cgo.
func (m *Module) Close() error { return nil }

// TokenLabel returns "" in a build without cgo.
func (m *Module) TokenLabel() string { return "" }

// Signer returns ErrNoCgo in a build without cgo.
func (m *Module) Signer(label string) (crypto.Signer, error) { return nil, ErrNoCgo }

// GenerateKey returns ErrNoCgo in a build without cgo.
func (m *Module) GenerateKey(label string, curve elliptic.Curve) (crypto.Signer, error) {
	return nil, ErrNoCgo
}

// ImportKey returns ErrNoCgo in a build without cgo.
func (m *Module) ImportKey(label string, priv *ecdsa.PrivateKey) (crypto.Signer, error) {
	return nil, ErrNoCgo
}

// DeleteKey returns ErrNoCgo in a build without cgo.
func (m *Module) DeleteKey(label string) error { return ErrNoCgo }

func (m *Module) signer(string, []byte) (crypto.Signer, error) { return nil, ErrNoCgo }

func (m *Module) samePIN(string) bool { return false }
