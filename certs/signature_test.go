package certs_test

import (
	"bytes"
	"crypto/ecdsa"
	"encoding/hex"
	"errors"
	"strings"
	"testing"

	"github.com/smdpp/smdpp/certs"
)

// TestSignatureFormsOnGSMACertificates converts the signature of every GSMA test certificate to
// r‖s and back: the DER must come back byte for byte (so DERToRaw/RawToDER keep DER minimal in
// both directions), and the r‖s form must verify with VerifyRaw under the issuer key.
func TestSignatureFormsOnGSMACertificates(t *testing.T) {
	keys := make(map[string]*ecdsa.PublicKey) // by subject key identifier
	files := testFiles(t, "CERT_")
	for _, f := range files {
		c := loadCert(t, f)
		if len(c.SubjectKeyId) > 0 {
			keys[string(c.SubjectKeyId)] = c.PublicKey
		}
	}
	var long, short int // r or s INTEGERs of 33 bytes (high bit set) and of under 32 bytes
	for _, f := range files {
		c := loadCert(t, f)
		issuer := c.PublicKey // the certificates without AKI are self-signed
		if len(c.AuthorityKeyId) > 0 {
			if issuer = keys[string(c.AuthorityKeyId)]; issuer == nil {
				if !strings.Contains(f, "UNKNOWN_CI") {
					t.Errorf("%s: no issuer key", f)
				}
				continue
			}
		}
		raw, err := certs.DERToRaw(c.Signature)
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if len(raw) != certs.RawSignatureSize {
			t.Fatalf("%s: r‖s of %d bytes", f, len(raw))
		}
		back, err := certs.RawToDER(raw)
		if err != nil || !bytes.Equal(back, c.Signature) {
			t.Errorf("%s: RawToDER(DERToRaw(sig)) = %x, %v; want %x", f, back, err, c.Signature)
		}
		if !certs.VerifyRaw(issuer, c.RawTBSCertificate, raw) {
			t.Errorf("%s: VerifyRaw failed", f)
		}
		bad := bytes.Clone(raw)
		bad[40] ^= 1
		if certs.VerifyRaw(issuer, c.RawTBSCertificate, bad) {
			t.Errorf("%s: VerifyRaw accepted a changed s", f)
		}
		// r and s as encoded: 30 len 02 rlen r 02 slen s
		rlen := int(c.Signature[3])
		slen := int(c.Signature[4+rlen+1])
		for _, n := range []int{rlen, slen} {
			if n == 33 {
				long++
			} else if n < 32 {
				short++
			}
		}
	}
	t.Logf("%d certificates: %d INTEGERs with a leading 00 (high bit set), %d shorter than 32 bytes", len(files), long, short)
	if long == 0 {
		t.Error("no GSMA signature with a high-bit r or s: the corpus no longer covers that case")
	}

	// DPauth/data_sig.der is a bare DER ECDSA signature (what it signs is not documented).
	sig := readTestdata(t, "DPauth/data_sig.der")
	raw, err := certs.DERToRaw(sig)
	if err != nil {
		t.Fatal(err)
	}
	if back, err := certs.RawToDER(raw); err != nil || !bytes.Equal(back, sig) {
		t.Errorf("data_sig.der: round trip gives %x, %v", back, err)
	}
}

func unhex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestRawToDER(t *testing.T) {
	ff := strings.Repeat("ff", 32)
	tests := []struct {
		name, raw, der string // hex; der "" means ErrSignatureFormat
	}{
		{"small values", strings.Repeat("00", 31) + "01" + strings.Repeat("00", 31) + "02", "3006 020101 020102"},
		{"high bit set gets a 00", "80" + strings.Repeat("00", 31) + "7f" + strings.Repeat("00", 31),
			"3045 022100 80" + strings.Repeat("00", 31) + " 0220 7f" + strings.Repeat("00", 31)},
		{"leading zero bytes are dropped", "00007f" + strings.Repeat("11", 29) + "00" + "7f" + strings.Repeat("22", 30),
			"3041 021e 7f" + strings.Repeat("11", 29) + " 021f 7f" + strings.Repeat("22", 30)},
		{"zero bytes dropped, then a 00 for the high bit", "0000ff" + strings.Repeat("11", 29) + strings.Repeat("33", 32),
			"3043 021f 00ff" + strings.Repeat("11", 29) + " 0220" + strings.Repeat("33", 32)},
		{"all ones", ff + ff, "3046 022100" + ff + " 022100" + ff},
		{"63 bytes", strings.Repeat("01", 63), ""},
		{"65 bytes", strings.Repeat("01", 65), ""},
		{"empty", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := certs.RawToDER(unhex(t, tt.raw))
			if tt.der == "" {
				if !errors.Is(err, certs.ErrSignatureFormat) {
					t.Fatalf("got %x, %v; want ErrSignatureFormat", got, err)
				}
				return
			}
			if err != nil || !bytes.Equal(got, unhex(t, tt.der)) {
				t.Fatalf("got %x, %v; want %s", got, err, tt.der)
			}
			raw, err := certs.DERToRaw(got)
			if err != nil || !bytes.Equal(raw, unhex(t, tt.raw)) {
				t.Errorf("DERToRaw back: %x, %v", raw, err)
			}
		})
	}
}

func TestDERToRaw(t *testing.T) {
	r32 := "7f" + strings.Repeat("aa", 31)
	s32 := strings.Repeat("55", 32)
	tests := []struct {
		name, der, raw string // raw "" means ErrSignatureFormat
	}{
		{"32-byte values", "3044 0220" + r32 + " 0220" + s32, r32 + s32},
		{"33-byte INTEGER with 00", "3045 022100 ff" + strings.Repeat("aa", 31) + " 0220" + s32, "ff" + strings.Repeat("aa", 31) + s32},
		{"short values are left-padded", "3006 020101 02017f", strings.Repeat("00", 31) + "01" + strings.Repeat("00", 31) + "7f"},
		{"long-form length", "3081 44 0220" + r32 + " 0220" + s32, ""},
		{"non-minimal INTEGER (extra 00)", "3045 022100 7f" + strings.Repeat("aa", 31) + " 0220" + s32, ""},
		{"non-minimal INTEGER (00 01)", "3007 02020001 02017f", ""},
		{"negative r (high bit without 00)", "3044 0220 80" + strings.Repeat("aa", 31) + " 0220" + s32, ""},
		{"zero r", "3006 020100 020101", ""},
		{"zero s", "3006 020101 020100", ""},
		{"r of 2^256", "3046 022101" + strings.Repeat("00", 32) + " 0220" + s32, ""},
		{"34-byte INTEGER", "3047 02220000" + r32 + " 0220" + s32, ""},
		{"empty INTEGER", "3005 0200 020101", ""},
		{"indefinite length", "3080 020101 020101 0000", ""},
		{"trailing bytes after the SEQUENCE", "3006 020101 020101 00", ""},
		{"a third INTEGER", "3009 020101 020101 020101", ""},
		{"only r", "3003 020101", ""},
		{"SET instead of SEQUENCE", "3106 020101 020101", ""},
		{"OCTET STRINGs", "3006 040101 040101", ""},
		{"length beyond the data", "3007 020101 020101", ""},
		{"empty", "", ""},
		{"r‖s instead of DER", r32 + s32, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := certs.DERToRaw(unhex(t, tt.der))
			if tt.raw == "" {
				if !errors.Is(err, certs.ErrSignatureFormat) {
					t.Fatalf("got %x, %v; want ErrSignatureFormat", got, err)
				}
				return
			}
			if err != nil || !bytes.Equal(got, unhex(t, tt.raw)) {
				t.Fatalf("got %x, %v; want %s", got, err, tt.raw)
			}
		})
	}
}

// TestSignRawVerifyRaw signs with every GSMA private key, on both curves, through the
// crypto.Signer interface, and checks the r‖s signature with the certificate's key.
func TestSignRawVerifyRaw(t *testing.T) {
	msg := []byte("serverSigned1 stand-in")
	curves := map[string]int{}
	for _, want := range indexCerts {
		if want.key == "" || strings.HasSuffix(want.file, ".pem") {
			continue
		}
		t.Run(want.file, func(t *testing.T) {
			key := loadKey(t, want.key)
			pub := loadCert(t, want.file).PublicKey
			raw, err := certs.SignRaw(key, msg)
			if err != nil {
				t.Fatal(err)
			}
			if len(raw) != certs.RawSignatureSize {
				t.Fatalf("signature of %d bytes", len(raw))
			}
			if !certs.VerifyRaw(pub, msg, raw) {
				t.Error("VerifyRaw rejected a fresh signature")
			}
			if certs.VerifyRaw(pub, append(msg, 0), raw) {
				t.Error("VerifyRaw accepted another message")
			}
			der, err := certs.RawToDER(raw)
			if err != nil || !certs.VerifyDER(pub, msg, der) {
				t.Errorf("VerifyDER: %v", err)
			}
			curves[certs.CurveName(pub.Curve)]++
		})
	}
	if curves["nist"] == 0 || curves["brainpool"] == 0 {
		t.Errorf("signed on %v", curves)
	}

	pub := loadCert(t, euiccBRP).PublicKey
	n := pub.Curve.Params().N.FillBytes(make([]byte, 32))
	one := append(make([]byte, 31), 1)
	for name, raw := range map[string][]byte{
		"63 bytes":  make([]byte, 63),
		"zero r, s": make([]byte, 64),
		"r = n":     append(bytes.Clone(n), one...),
		"s = n":     append(bytes.Clone(one), n...),
	} {
		if certs.VerifyRaw(pub, msg, raw) {
			t.Errorf("VerifyRaw accepted %s", name)
		}
	}
}
