//go:build cgo

package hsm

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/sha512"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/miekg/pkcs11"

	"github.com/smdpp/smdpp/certs"
)

// testCurves are the curves SGP.22 allows, by the names certs.CurveName gives them.
var testCurves = []struct {
	name  string
	curve elliptic.Curve
}{
	{"nist", elliptic.P256()},
	{"brainpool", certs.BrainpoolP256r1()},
}

// checkSigner signs through crypto.Signer and through certs.SignRaw and verifies both with the
// public key, whose curve must be want.
func checkSigner(t *testing.T, s crypto.Signer, want elliptic.Curve) *ecdsa.PublicKey {
	t.Helper()
	pub, ok := s.Public().(*ecdsa.PublicKey)
	if !ok {
		t.Fatalf("Public() is %T, want *ecdsa.PublicKey", s.Public())
	}
	if pub.Curve != want {
		t.Fatalf("public key is on %s, want %s", pub.Curve.Params().Name, want.Params().Name)
	}
	msg := []byte("serverSigned1 stand-in")
	digest := sha256.Sum256(msg)
	der, err := s.Sign(rand.Reader, digest[:], crypto.SHA256)
	if err != nil {
		t.Fatalf("Sign: %v", err)
	}
	if !ecdsa.VerifyASN1(pub, digest[:], der) {
		t.Fatal("the DER signature does not verify with crypto/ecdsa")
	}
	if !certs.VerifyDER(pub, msg, der) {
		t.Fatal("the DER signature does not verify with certs.VerifyDER")
	}
	other := sha256.Sum256([]byte("another message"))
	if ecdsa.VerifyASN1(pub, other[:], der) {
		t.Fatal("the signature verifies over another digest")
	}
	raw, err := certs.SignRaw(s, msg)
	if err != nil {
		t.Fatalf("certs.SignRaw: %v", err)
	}
	if len(raw) != certs.RawSignatureSize {
		t.Fatalf("certs.SignRaw gave %d bytes", len(raw))
	}
	if !certs.VerifyRaw(pub, msg, raw) {
		t.Fatal("certs.VerifyRaw rejects the r‖s signature")
	}
	if certs.VerifyRaw(pub, []byte("tampered"), raw) {
		t.Fatal("certs.VerifyRaw accepts the signature over another message")
	}
	return pub
}

func TestGenerateKey(t *testing.T) {
	m := openTest(t)
	for _, c := range testCurves {
		t.Run(c.name, func(t *testing.T) {
			label := freshLabel(t, m, "gen-"+c.name)
			s, err := m.GenerateKey(label, c.curve)
			if err != nil {
				t.Fatalf("GenerateKey: %v", err)
			}
			pub := checkSigner(t, s, c.curve)

			// A second lookup by label finds the same key.
			again, err := m.Signer(label)
			if err != nil {
				t.Fatalf("Signer(%q): %v", label, err)
			}
			if !again.Public().(*ecdsa.PublicKey).Equal(pub) {
				t.Fatal("Signer returns another public key than GenerateKey")
			}
			checkObjects(t, m, label, pub)

			if _, err := m.GenerateKey(label, c.curve); !errors.Is(err, ErrKeyExists) {
				t.Fatalf("GenerateKey on a used label: %v, want ErrKeyExists", err)
			}
		})
	}
}

func TestImportKey(t *testing.T) {
	m := openTest(t)
	for _, c := range testCurves {
		t.Run(c.name, func(t *testing.T) {
			priv, err := ecdsa.GenerateKey(c.curve, rand.Reader)
			if err != nil {
				t.Fatal(err)
			}
			label := freshLabel(t, m, "imp-"+c.name)
			s, err := m.ImportKey(label, priv)
			if err != nil {
				t.Fatalf("ImportKey: %v", err)
			}
			pub := checkSigner(t, s, c.curve)
			if !pub.Equal(&priv.PublicKey) {
				t.Fatal("the token's public key is not the imported one")
			}
			// What the HSM signs, the file key's public half verifies, and the other way.
			msg := []byte("smdpSigned2 stand-in")
			raw, err := certs.SignRaw(s, msg)
			if err != nil || !certs.VerifyRaw(&priv.PublicKey, msg, raw) {
				t.Fatalf("HSM signature does not verify with the file key: %v", err)
			}
			raw, err = certs.SignRaw(priv, msg)
			if err != nil || !certs.VerifyRaw(pub, msg, raw) {
				t.Fatalf("file-key signature does not verify with the HSM key: %v", err)
			}
			checkObjects(t, m, label, pub)

			if _, err := m.ImportKey(label, priv); !errors.Is(err, ErrKeyExists) {
				t.Fatalf("ImportKey on a used label: %v, want ErrKeyExists", err)
			}
		})
	}
}

// checkObjects checks what the token stores: CKA_ID is the RFC 5280 key identifier on both
// objects, and the private scalar cannot be read out.
func checkObjects(t *testing.T, m *Module, label string, pub *ecdsa.PublicKey) {
	t.Helper()
	err := m.do(func(sh pkcs11.SessionHandle) error {
		priv, err := m.findPrivate(sh, label, keyID(pub))
		if err != nil {
			return fmt.Errorf("the private key has not the RFC 5280 CKA_ID: %w", err)
		}
		attrs, err := m.lib.ctx.GetAttributeValue(sh, priv, []*pkcs11.Attribute{
			pkcs11.NewAttribute(pkcs11.CKA_SENSITIVE, nil),
			pkcs11.NewAttribute(pkcs11.CKA_EXTRACTABLE, nil),
			pkcs11.NewAttribute(pkcs11.CKA_TOKEN, nil),
		})
		if err != nil {
			return err
		}
		for i, name := range []string{"CKA_SENSITIVE", "CKA_EXTRACTABLE", "CKA_TOKEN"} {
			want := byte(1)
			if name == "CKA_EXTRACTABLE" {
				want = 0
			}
			if v := attrs[i].Value; len(v) != 1 || v[0] != want {
				return fmt.Errorf("%s = %v, want %d", name, v, want)
			}
		}
		_, err = m.lib.ctx.GetAttributeValue(sh, priv, []*pkcs11.Attribute{pkcs11.NewAttribute(pkcs11.CKA_VALUE, nil)})
		if !isCKR(err, pkcs11.CKR_ATTRIBUTE_SENSITIVE) {
			return fmt.Errorf("reading CKA_VALUE: %v, want CKR_ATTRIBUTE_SENSITIVE", err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestImportKeyRejects(t *testing.T) {
	m := openTest(t)
	p256, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	other, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	p384, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	mismatched := &ecdsa.PrivateKey{PublicKey: other.PublicKey, D: p256.D}
	tests := []struct {
		name   string
		label  string
		key    *ecdsa.PrivateKey
		target error // nil: any error
	}{
		{"P-384", "p384", p384, ErrUnsupportedCurve},
		{"public half of another key", "mismatch", mismatched, nil},
		{"nil key", "nil", nil, nil},
		{"empty label", "", p256, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			label := tc.label
			if label != "" {
				label = freshLabel(t, m, label)
			}
			_, err := m.ImportKey(label, tc.key)
			if err == nil || (tc.target != nil && !errors.Is(err, tc.target)) {
				t.Fatalf("ImportKey: %v, want an error (%v)", err, tc.target)
			}
			if label != "" {
				if err := m.DeleteKey(label); !errors.Is(err, ErrKeyNotFound) {
					t.Fatalf("a refused import left objects behind: DeleteKey = %v", err)
				}
			}
		})
	}
	if _, err := m.GenerateKey(freshLabel(t, m, "p384"), elliptic.P384()); !errors.Is(err, ErrUnsupportedCurve) {
		t.Fatalf("GenerateKey(P-384): %v, want ErrUnsupportedCurve", err)
	}
	if _, err := m.GenerateKey(freshLabel(t, m, "nilcurve"), nil); !errors.Is(err, ErrUnsupportedCurve) {
		t.Fatalf("GenerateKey(nil): %v, want ErrUnsupportedCurve", err)
	}
}

func TestSignDigests(t *testing.T) {
	m := openTest(t)
	s, err := m.GenerateKey(freshLabel(t, m, "digests"), elliptic.P256())
	if err != nil {
		t.Fatal(err)
	}
	pub := s.Public().(*ecdsa.PublicKey)
	d256 := sha256.Sum256([]byte("m"))
	d384 := sha512.Sum384([]byte("m"))
	tests := []struct {
		name   string
		digest []byte
		opts   crypto.SignerOpts
		ok     bool
	}{
		{"SHA-256", d256[:], crypto.SHA256, true},
		{"SHA-384, cut to the order's length", d384[:], crypto.SHA384, true},
		{"no hash named", d256[:], nil, true},
		{"empty digest", nil, crypto.SHA256, false},
		{"digest shorter than its hash", d256[:20], crypto.SHA256, false},
		{"digest longer than its hash", d384[:], crypto.SHA256, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			der, err := s.Sign(rand.Reader, tc.digest, tc.opts)
			if !tc.ok {
				if err == nil {
					t.Fatal("Sign succeeded")
				}
				return
			}
			if err != nil {
				t.Fatalf("Sign: %v", err)
			}
			// crypto/ecdsa truncates a long digest the same way.
			if !ecdsa.VerifyASN1(pub, tc.digest, der) {
				t.Fatal("signature does not verify")
			}
		})
	}
}

func TestConcurrentSign(t *testing.T) {
	const goroutines, perGoroutine = 16, 20
	for _, pool := range []struct {
		name string
		opts []Option
	}{
		{"default pool", nil},
		{"two sessions", []Option{WithMaxSessions(2)}},
	} {
		t.Run(pool.name, func(t *testing.T) {
			m := openTest(t, pool.opts...)
			signers := map[string]crypto.Signer{}
			for _, c := range testCurves {
				s, err := m.GenerateKey(freshLabel(t, m, "conc-"+c.name), c.curve)
				if err != nil {
					t.Fatal(err)
				}
				signers[c.name] = s
			}
			var wg sync.WaitGroup
			errs := make(chan error, goroutines)
			for g := range goroutines {
				s := signers[testCurves[g%len(testCurves)].name]
				wg.Go(func() {
					pub := s.Public().(*ecdsa.PublicKey)
					for i := range perGoroutine {
						msg := fmt.Appendf(nil, "goroutine %d message %d", g, i)
						raw, err := certs.SignRaw(s, msg)
						if err != nil {
							errs <- err
							return
						}
						if !certs.VerifyRaw(pub, msg, raw) {
							errs <- fmt.Errorf("goroutine %d: signature %d does not verify", g, i)
							return
						}
					}
				})
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Error(err)
			}
			m.pool.mu.Lock()
			idle := len(m.pool.idle)
			m.pool.mu.Unlock()
			if idle > cap(m.pool.tickets) {
				t.Errorf("%d idle sessions, more than the pool's bound %d", idle, cap(m.pool.tickets))
			}
		})
	}
}

func TestOpenErrors(t *testing.T) {
	lib := testModulePath(t)
	notLib := filepath.Join(t.TempDir(), "not-a-library.so")
	if err := os.WriteFile(notLib, []byte("not an ELF file"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name               string
		module, token, pin string
		target             error
		mention            string // the error must say this
	}{
		{"wrong PIN", lib, testToken(), wrongTestPIN, ErrPINIncorrect, testToken()},
		{"empty PIN", lib, testToken(), "", ErrPINIncorrect, "no PIN"},
		{"unknown token", lib, missingTokLabel, testPIN(), ErrTokenNotFound, testToken()},
		{"no token label", lib, "", testPIN(), ErrTokenNotFound, "no token label"},
		{"missing module", "/nonexistent/libpkcs11.so", testToken(), testPIN(), ErrModule, "/nonexistent/libpkcs11.so"},
		{"not a library", notLib, testToken(), testPIN(), ErrModule, notLib},
		{"no module path", "", testToken(), testPIN(), ErrModule, "no module path"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m, err := Open(tc.module, tc.token, tc.pin)
			if err == nil {
				m.Close()
				t.Fatal("Open succeeded")
			}
			if !errors.Is(err, tc.target) {
				t.Fatalf("Open: %v, want %v", err, tc.target)
			}
			if !strings.Contains(err.Error(), tc.mention) {
				t.Fatalf("Open: %q does not mention %q", err, tc.mention)
			}
		})
	}
}

func TestWrongPINWhileLoggedIn(t *testing.T) {
	// The token does not check a PIN while this process is logged in: Open must.
	m := openTest(t)
	if _, err := Open(testModulePath(t), testToken(), wrongTestPIN); !errors.Is(err, ErrPINIncorrect) {
		t.Fatalf("second Open with a wrong PIN: %v, want ErrPINIncorrect", err)
	}
	// m is unaffected.
	if _, err := m.GenerateKey(freshLabel(t, m, "pin"), elliptic.P256()); err != nil {
		t.Fatalf("GenerateKey after the refused Open: %v", err)
	}
}

func TestSignerErrors(t *testing.T) {
	m := openTest(t)
	for _, label := range []string{"test-no-such-key", ""} {
		if _, err := m.Signer(label); !errors.Is(err, ErrKeyNotFound) {
			t.Errorf("Signer(%q): %v, want ErrKeyNotFound", label, err)
		}
	}
	if err := m.DeleteKey("test-no-such-key"); !errors.Is(err, ErrKeyNotFound) {
		t.Errorf("DeleteKey of a missing key: %v, want ErrKeyNotFound", err)
	}

	// A private key whose public object is gone cannot give Public().
	label := freshLabel(t, m, "nopub")
	if _, err := m.GenerateKey(label, elliptic.P256()); err != nil {
		t.Fatal(err)
	}
	err := m.do(func(sh pkcs11.SessionHandle) error {
		hs, err := m.findObjects(sh, []*pkcs11.Attribute{
			pkcs11.NewAttribute(pkcs11.CKA_CLASS, pkcs11.CKO_PUBLIC_KEY),
			pkcs11.NewAttribute(pkcs11.CKA_LABEL, label),
		})
		if err != nil || len(hs) != 1 {
			return fmt.Errorf("public objects: %v, %v", hs, err)
		}
		return m.lib.ctx.DestroyObject(sh, hs[0])
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Signer(label); !errors.Is(err, ErrKeyNotFound) || !strings.Contains(err.Error(), "public key") {
		t.Fatalf("Signer without a public key object: %v", err)
	}
}

func TestTwoModulesOneToken(t *testing.T) {
	a := openTest(t)
	b, err := Open(testModulePath(t), testToken(), testPIN())
	if err != nil {
		t.Fatalf("second Open: %v", err)
	}
	label := freshLabel(t, a, "shared")
	sa, err := a.GenerateKey(label, elliptic.P256())
	if err != nil {
		t.Fatal(err)
	}
	sb, err := b.Signer(label)
	if err != nil {
		t.Fatalf("the second Module does not see the key: %v", err)
	}
	// Closing one Module leaves the library loaded and the token logged in for the other.
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if err := b.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if _, err := certs.SignRaw(sb, []byte("m")); !errors.Is(err, ErrClosed) {
		t.Fatalf("Sign on a closed Module: %v, want ErrClosed", err)
	}
	if _, err := b.Signer(label); !errors.Is(err, ErrClosed) {
		t.Fatalf("Signer on a closed Module: %v, want ErrClosed", err)
	}
	checkSigner(t, sa, elliptic.P256())
}

func TestReopen(t *testing.T) {
	// The last Close finalises the library; a later Open loads it again.
	lib, tok, pin := testModulePath(t), testToken(), testPIN()
	for i := range 2 {
		m, err := Open(lib, tok, pin)
		if err != nil {
			t.Fatalf("Open %d: %v", i, err)
		}
		var b [6]byte
		rand.Read(b[:])
		label := fmt.Sprintf("test-reopen-%d-%x", i, b)
		s, err := m.GenerateKey(label, elliptic.P256())
		if err != nil {
			t.Fatal(err)
		}
		checkSigner(t, s, elliptic.P256())
		if err := m.DeleteKey(label); err != nil {
			t.Fatal(err)
		}
		m.Close()
	}
}

func TestCloseWaitsForSigners(t *testing.T) {
	lib, tok, pin := testModulePath(t), testToken(), testPIN()
	m, err := Open(lib, tok, pin, WithMaxSessions(4))
	if err != nil {
		t.Fatal(err)
	}
	keeper := openTest(t) // owns the test key's clean-up
	label := freshLabel(t, keeper, "close")
	s, err := m.GenerateKey(label, elliptic.P256())
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 50 {
				if _, err := certs.SignRaw(s, []byte("m")); err != nil {
					if !errors.Is(err, ErrClosed) {
						t.Errorf("Sign during Close: %v", err)
					}
					return
				}
			}
		})
	}
	m.Close()
	wg.Wait()
}
