package loadgen

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/smdpp/smdpp/profiles"
)

const uppDir = "../testdata/upp"

func TestLuhn(t *testing.T) {
	tests := []struct {
		name   string
		digits string
		valid  bool
	}{
		{"TS.48 original", "89000123456789012341", true},
		{"TS.48 second", "89000123456789012358", true},
		{"19-digit unique", "8949449999999990023", true},
		{"wrong check digit", "89000123456789012342", false},
		{"transposed digits", "89000123456789021341", false},
		{"all zeros", "00", true},
		{"single digit", "0", false},
		{"empty", "", false},
		{"not digits", "8900012345678901234A", false},
		{"hex F padding", "8949449999999990023F", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := LuhnValid(tc.digits); got != tc.valid {
				t.Errorf("LuhnValid(%q) = %v, want %v", tc.digits, got, tc.valid)
			}
		})
	}
	for _, body := range []string{"8900012345678901234", "894944999999999002", "8988303000000000000"} {
		if id := profiles.WithLuhn(body); !LuhnValid(id) || !strings.HasPrefix(id, body) || len(id) != len(body)+1 {
			t.Errorf("WithLuhn(%q) = %q", body, id)
		}
	}
}

func TestRewriteICCID(t *testing.T) {
	tests := []struct {
		name, file, iccid string
	}{
		{"20 digits", "TS48v2_SAIP2.3_BERTLV.der", profiles.WithLuhn("8900012999900000001")},
		{"19 digits", "TS48V2-SAIP2-3-BERTLV-UNIQUE.der", profiles.WithLuhn("894944999990000042")},
		{"19 digits, SAIP 2.1", "TS48V1-A-UNIQUE.der", profiles.WithLuhn("894944900000000000")},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			pkg, err := os.ReadFile(filepath.Join(uppDir, tc.file))
			if err != nil {
				t.Fatal(err)
			}
			orig, err := profiles.Parse(pkg)
			if err != nil {
				t.Fatal(err)
			}
			out, err := RewriteICCID(pkg, tc.iccid)
			if err != nil {
				t.Fatal(err)
			}
			if len(out) != len(pkg) {
				t.Fatalf("length %d, want %d", len(out), len(pkg))
			}
			p, err := profiles.Parse(out)
			if err != nil {
				t.Fatalf("rewritten package does not parse: %v", err)
			}
			if p.Header.ICCID != tc.iccid {
				t.Errorf("header ICCID %s, want %s", p.Header.ICCID, tc.iccid)
			}
			if got, _ := HeaderICCID(out); got != tc.iccid {
				t.Errorf("HeaderICCID %s, want %s", got, tc.iccid)
			}
			// EF.ICCID followed the header: the rewrite adds no warning the original lacked.
			if len(p.Warnings) > len(orig.Warnings) {
				t.Errorf("warnings %q, original had %q", p.Warnings, orig.Warnings)
			}
			if md := p.Metadata(); md.ICCID != tc.iccid {
				t.Errorf("metadata ICCID %s", md.ICCID)
			}
			if bytes.Equal(out, pkg) {
				t.Error("package unchanged")
			}
			if _, err := profiles.Parse(pkg); err != nil {
				t.Errorf("the input was modified: %v", err)
			}
		})
	}
}

func TestRewriteICCIDRejects(t *testing.T) {
	pkg, err := os.ReadFile(filepath.Join(uppDir, "TS48V2-SAIP2-3-BERTLV-UNIQUE.der"))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		pkg   []byte
		iccid string
		want  error
	}{
		{"bad Luhn", pkg, "89000123456789012342", ErrBadICCID},
		{"too short", pkg, profiles.WithLuhn("890001234567890"), ErrBadICCID},
		{"too long", pkg, profiles.WithLuhn("89000123456789012341"), ErrBadICCID},
		{"letters", pkg, "8900012345678901234A", ErrBadICCID},
		{"empty package", nil, "89000123456789012341", ErrNoHeaderICCID},
		{"not a header", append([]byte{0xA1}, pkg[1:]...), "89000123456789012341", ErrNoHeaderICCID},
		{"truncated header", pkg[:12], "89000123456789012341", ErrNoHeaderICCID},
		{"iccid of 9 bytes", []byte{0xA0, 0x11, 0x80, 0x01, 0x02, 0x81, 0x01, 0x03, 0x83, 0x09, 1, 2, 3, 4, 5, 6, 7, 8, 9}, "89000123456789012341", ErrNoHeaderICCID},
		{"unexpected element before iccid", []byte{0xA0, 0x05, 0x84, 0x03, 1, 2, 3}, "89000123456789012341", ErrNoHeaderICCID},
		{"bad length", []byte{0xA0, 0x84, 0, 0, 0, 1}, "89000123456789012341", ErrNoHeaderICCID},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := RewriteICCID(tc.pkg, tc.iccid); !errors.Is(err, tc.want) {
				t.Errorf("error %v, want %v", err, tc.want)
			}
		})
	}
}

func TestICCIDSeries(t *testing.T) {
	for _, template := range []string{"89000123456789012341", "8949449999999990023"} {
		s, err := newICCIDSeries(template, 4242)
		if err != nil {
			t.Fatal(err)
		}
		seen := map[string]bool{}
		for _, i := range []int{0, 1, 2, 9, 10, 99999, s.max() - 1} {
			id := s.at(i)
			if len(id) != len(template) || !LuhnValid(id) || !strings.HasPrefix(id, template[:7]+"04242") {
				t.Errorf("template %s: at(%d) = %s", template, i, id)
			}
			if seen[id] {
				t.Errorf("template %s: %s repeated", template, id)
			}
			seen[id] = true
		}
	}
	if _, err := newICCIDSeries("8900", 1); err == nil {
		t.Error("a 4-digit template was accepted")
	}
}
