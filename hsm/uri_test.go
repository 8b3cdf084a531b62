package hsm

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestParseURI(t *testing.T) {
	const lib = "/usr/lib/softhsm/libsofthsm2.so"
	tests := []struct {
		name string
		in   string
		want *URI // nil: ParseURI must fail with ErrInvalidURI
	}{
		{"RFC 7512 query form",
			"pkcs11:token=smdpp;object=dpauth;type=private?module-path=" + lib + "&pin-source=file:/etc/smdpp/hsm.pin",
			&URI{ModulePath: lib, Token: "smdpp", Object: "dpauth", PINSource: "/etc/smdpp/hsm.pin"}},
		{"config form, all in the path",
			"pkcs11:module=" + lib + ";token=smdpp;object=dpauth;pin-source=file:/path",
			&URI{ModulePath: lib, Token: "smdpp", Object: "dpauth", PINSource: "/path"}},
		{"module-path in the path",
			"pkcs11:module-path=" + lib + ";token=smdpp;object=dppb;pin-value=1234",
			&URI{ModulePath: lib, Token: "smdpp", Object: "dppb", PINValue: "1234"}},
		{"percent-escaped values",
			"pkcs11:token=SM-DP%2B%20token;object=dp%3Bauth;id=%01%02%FF?module-path=%2Fusr%2Flib%2Fp11.so&pin-source=file:///run/pin",
			&URI{ModulePath: "/usr/lib/p11.so", Token: "SM-DP+ token", Object: "dp;auth", ID: []byte{1, 2, 0xFF}, PINSource: "/run/pin"}},
		{"bare pin-source path",
			"pkcs11:token=t;object=o?module-path=/m.so&pin-source=/run/pin",
			&URI{ModulePath: "/m.so", Token: "t", Object: "o", PINSource: "/run/pin"}},
		{"serial instead of token, with slot-id",
			"pkcs11:serial=1b4a15019833c19e;slot-id=7;object=o?module-path=/m.so&pin-value=1",
			&URI{ModulePath: "/m.so", Serial: "1b4a15019833c19e", SlotID: 7, HasSlotID: true, Object: "o", PINValue: "1"}},

		{"not a pkcs11 URI", "file:/etc/smdpp/dpauth.key", nil},
		{"empty", "", nil},
		{"no module", "pkcs11:token=t;object=o;pin-value=1", nil},
		{"no token or serial", "pkcs11:object=o?module-path=/m.so&pin-value=1", nil},
		{"no object", "pkcs11:token=t?module-path=/m.so&pin-value=1", nil},
		{"no PIN", "pkcs11:token=t;object=o?module-path=/m.so", nil},
		{"two PINs", "pkcs11:token=t;object=o?module-path=/m.so&pin-value=1&pin-source=/p", nil},
		{"repeated attribute", "pkcs11:token=t;token=u;object=o?module-path=/m.so&pin-value=1", nil},
		{"module and module-path", "pkcs11:module=/a.so;token=t;object=o?module-path=/m.so&pin-value=1", nil},
		{"unknown path attribute", "pkcs11:token=t;objekt=o?module-path=/m.so&pin-value=1", nil},
		{"path attribute in the query", "pkcs11:object=o?module-path=/m.so&pin-value=1&token=t", nil},
		{"malformed escape", "pkcs11:token=t%2;object=o?module-path=/m.so&pin-value=1", nil},
		{"truncated escape", "pkcs11:token=t;object=o%?module-path=/m.so&pin-value=1", nil},
		{"type public", "pkcs11:token=t;object=o;type=public?module-path=/m.so&pin-value=1", nil},
		{"type cert", "pkcs11:token=t;object=o;type=cert?module-path=/m.so&pin-value=1", nil},
		{"module-name", "pkcs11:token=t;object=o?module-name=softhsm2&pin-value=1", nil},
		{"empty value", "pkcs11:token=;object=o?module-path=/m.so&pin-value=1", nil},
		{"attribute without =", "pkcs11:token;object=o?module-path=/m.so&pin-value=1", nil},
		{"empty attribute", "pkcs11:token=t;;object=o?module-path=/m.so&pin-value=1", nil},
		{"empty query", "pkcs11:module=/m.so;token=t;object=o;pin-value=1?", nil},
		{"pin-source env", "pkcs11:token=t;object=o?module-path=/m.so&pin-source=env:PIN", nil},
		{"pin-source command", "pkcs11:token=t;object=o?module-path=/m.so&pin-source=|/bin/pin", nil},
		{"pin-source remote file", "pkcs11:token=t;object=o?module-path=/m.so&pin-source=file://host/pin", nil},
		{"pin-source file: alone", "pkcs11:token=t;object=o?module-path=/m.so&pin-source=file:", nil},
		{"slot-id not a number", "pkcs11:token=t;slot-id=x;object=o?module-path=/m.so&pin-value=1", nil},
		{"slot-id negative", "pkcs11:token=t;slot-id=-1;object=o?module-path=/m.so&pin-value=1", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseURI(tc.in)
			if tc.want == nil {
				if !errors.Is(err, ErrInvalidURI) {
					t.Fatalf("ParseURI(%q) = %+v, %v; want ErrInvalidURI", tc.in, got, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseURI(%q): %v", tc.in, err)
			}
			if !uriEqual(got, tc.want) {
				t.Fatalf("ParseURI(%q) = %+v, want %+v", tc.in, got, tc.want)
			}
			if !IsURI(tc.in) {
				t.Errorf("IsURI(%q) = false", tc.in)
			}
			// String is RFC 7512 form and parses back to the same key, except for a
			// pin-value, which it redacts.
			s := got.String()
			if got.PINValue != "" {
				if strings.Contains(s, "pin-value="+got.PINValue) {
					t.Fatalf("String() = %q shows the PIN", s)
				}
				return
			}
			back, err := ParseURI(s)
			if err != nil || !uriEqual(back, got) {
				t.Fatalf("ParseURI(%q) = %+v, %v; want %+v", s, back, err, got)
			}
		})
	}
}

func uriEqual(a, b *URI) bool {
	return a.ModulePath == b.ModulePath && a.Token == b.Token && a.Serial == b.Serial &&
		a.SlotID == b.SlotID && a.HasSlotID == b.HasSlotID && a.Object == b.Object &&
		bytes.Equal(a.ID, b.ID) && a.PINSource == b.PINSource && a.PINValue == b.PINValue
}

// TestParseURIRedactsPIN checks that no error quotes a pin-value.
func TestParseURIRedactsPIN(t *testing.T) {
	for _, in := range []string{
		"pkcs12:token=t;object=o;pin-value=s3cret",
		"pkcs11:token=t;object=o;pin-value=s3cret%",
		"pkcs11:token=t;object=o;pin-value=s3cret;pin-value=s3cret",
		"pkcs11:token=t;object=o;pin-value=s3cret;bogus",
		"pkcs11:token=t;object=o;pin-value",
		"pkcs11:token=t;object=o?pin-value=s3cret&pin-value=s3cret",
	} {
		_, err := ParseURI(in)
		if err == nil {
			t.Fatalf("ParseURI(%q) succeeded", in)
		}
		if strings.Contains(err.Error(), "s3cret") {
			t.Errorf("ParseURI(%q): error shows the PIN: %v", in, err)
		}
	}
}

func TestURIPIN(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	tests := []struct {
		name    string
		uri     URI
		want    string
		wantErr bool
	}{
		{"pin-value", URI{PINValue: "1234"}, "1234", false},
		{"file", URI{PINSource: write("plain", "1234")}, "1234", false},
		{"file with newline", URI{PINSource: write("nl", "1234\n")}, "1234", false},
		{"file with CRLF", URI{PINSource: write("crlf", "1234\r\n")}, "1234", false},
		{"only one newline removed", URI{PINSource: write("two", "12 34\n\n")}, "12 34\n", false},
		{"empty file", URI{PINSource: write("empty", "")}, "", true},
		{"newline only", URI{PINSource: write("newline", "\n")}, "", true},
		{"missing file", URI{PINSource: filepath.Join(dir, "absent")}, "", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.uri.PIN()
			if (err != nil) != tc.wantErr || got != tc.want {
				t.Fatalf("PIN() = %q, %v; want %q, error %v", got, err, tc.want, tc.wantErr)
			}
		})
	}
}
