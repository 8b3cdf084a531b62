//go:build cgo

package hsm

import (
	"crypto/elliptic"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/smdpp/smdpp/certs"
)

func TestLoader(t *testing.T) {
	lib := testModulePath(t)
	m := openTest(t)
	auth, pb := freshLabel(t, m, "ldr-auth"), freshLabel(t, m, "ldr-pb")
	if _, err := m.GenerateKey(auth, elliptic.P256()); err != nil {
		t.Fatal(err)
	}
	if _, err := m.GenerateKey(pb, certs.BrainpoolP256r1()); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	pinFile := filepath.Join(dir, "pin")
	if err := os.WriteFile(pinFile, []byte(testPIN()+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	wrongFile := filepath.Join(dir, "wrong")
	if err := os.WriteFile(wrongFile, []byte(wrongTestPIN), 0o600); err != nil {
		t.Fatal(err)
	}
	uri := func(object, pinSource string) string {
		return (&URI{ModulePath: lib, Token: testToken(), Object: object, PINSource: pinSource}).String()
	}

	l := NewLoader()
	sAuth, err := l.Signer(uri(auth, pinFile))
	if err != nil {
		t.Fatalf("Loader.Signer(%s): %v", uri(auth, pinFile), err)
	}
	// The config form works too, and shares the Module.
	sPB, err := l.Signer("pkcs11:module=" + lib + ";token=" + testToken() + ";object=" + pb + ";pin-source=file:" + pinFile)
	if err != nil {
		t.Fatalf("Loader.Signer (config form): %v", err)
	}
	if len(l.modules) != 1 {
		t.Fatalf("the Loader opened %d Modules for one token, want 1", len(l.modules))
	}
	checkSigner(t, sAuth, elliptic.P256())
	checkSigner(t, sPB, certs.BrainpoolP256r1())

	tests := []struct {
		name   string
		uri    string
		target error
	}{
		{"another PIN for the open token", uri(auth, wrongFile), ErrPINIncorrect},
		{"unknown object", uri("test-no-such-key", pinFile), ErrKeyNotFound},
		{"missing PIN file", uri(auth, filepath.Join(dir, "absent")), os.ErrNotExist},
		{"malformed URI", "pkcs11:token=x", ErrInvalidURI},
		{"unknown token", (&URI{ModulePath: lib, Token: missingTokLabel, Object: auth, PINSource: pinFile}).String(), ErrTokenNotFound},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := l.Signer(tc.uri); !errors.Is(err, tc.target) {
				t.Fatalf("Loader.Signer: %v, want %v", err, tc.target)
			}
		})
	}

	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := certs.SignRaw(sAuth, []byte("m")); !errors.Is(err, ErrClosed) {
		t.Fatalf("Sign after Loader.Close: %v, want ErrClosed", err)
	}
}
