//go:build !cgo

package hsm

import (
	"errors"
	"testing"
)

func TestNoCgo(t *testing.T) {
	if _, err := Open("/usr/lib/softhsm/libsofthsm2.so", "t", "1"); !errors.Is(err, ErrNoCgo) {
		t.Fatalf("Open: %v, want ErrNoCgo", err)
	}
	_, err := NewLoader().Signer("pkcs11:module=/m.so;token=t;object=o;pin-value=1")
	if !errors.Is(err, ErrNoCgo) {
		t.Fatalf("Loader.Signer: %v, want ErrNoCgo", err)
	}
}
