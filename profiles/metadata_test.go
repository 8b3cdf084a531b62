package profiles_test

import (
	"bytes"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/smdpp/smdpp/profiles"
	"github.com/smdpp/smdpp/tlv"
)

// usimPE builds a usim element (PE-USIM) holding only what the metadata reads: ef-imsi [3] (A3),
// ef-spn [13] (AD) and ef-ad [21] (B5), each a File with fillFileContent [3] (83) entries, and
// fillFileOffset [2] (82) where given.
func usimPE(imsi, spn, ad []byte) []byte {
	file := func(tag tlv.Tag, parts ...[]byte) []byte { return tlvOf(tag, parts...) }
	var c [][]byte
	c = append(c, peHeader(7))
	if imsi != nil {
		c = append(c, file(0xA3, tlvOf(0x83, imsi)))
	}
	if spn != nil {
		c = append(c, file(0xAD, tlvOf(0x83, spn)))
	}
	if ad != nil {
		c = append(c, file(0xB5, tlvOf(0x82, []byte{2}), tlvOf(0x83, ad))) // content at offset 2
	}
	return tlvOf(0xB3, c...)
}

func spnFile(name []byte) []byte {
	b := bytes.Repeat([]byte{0xFF}, 17)
	b[0] = 0x01
	copy(b[1:], name)
	return b
}

func TestMetadata(t *testing.T) {
	iccid := h("8949449999999990023f")
	imsi := h("080910101032540636")
	long := strings.Repeat("Ω", 70) // 70 characters, 140 bytes
	tests := []struct {
		name     string
		upp      []byte
		spn      string
		profile  string
		mcc, mnc string
		warnings int
	}{
		{"no USIM", cat(header(2, 1, iccid), endPE), "Test", "Test", "", "", 0},
		{"SMS default alphabet SPN, 3-digit MNC",
			cat(header(2, 1, iccid), usimPE(imsi, spnFile([]byte("Acme Mobile")), h("0003")), endPE),
			"Acme Mobile", "Test", "001", "010", 0},
		{"UCS2 SPN", cat(header(2, 1, iccid), usimPE(imsi, spnFile(h("80 0041 00E9 0020 4E2D")), h("0002")), endPE),
			"Aé 中", "Test", "001", "01", 0},
		{"empty SPN falls back", cat(header(2, 1, iccid), usimPE(imsi, spnFile(nil), nil), endPE), "Test", "Test", "", "", 0},
		{"undecodable SPN falls back with a warning",
			cat(header(2, 1, iccid), usimPE(nil, spnFile([]byte{'A', 0x00, 'B'}), nil), endPE), "Test", "Test", "", "", 1},
		{"bad MNC length", cat(header(2, 1, iccid), usimPE(imsi, nil, h("0004")), endPE), "Test", "Test", "", "", 0},
		{"no profileType", cat(tlvOf(0xA0, tlvOf(0x80, []byte{2}), tlvOf(0x81, []byte{3}), tlvOf(0x83, iccid),
			tlvOf(0xA5), tlvOf(0xA6)), endPE), "", "ICCID 8949449999999990023", "", "", 0},
		{"long profileType", cat(tlvOf(0xA0, tlvOf(0x80, []byte{2}), tlvOf(0x81, []byte{3}), tlvOf(0x82, []byte(long)),
			tlvOf(0x83, iccid), tlvOf(0xA5), tlvOf(0xA6)), endPE), long[:2*32], long[:2*64], "", "", 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, err := profiles.Parse(tc.upp)
			if err != nil {
				t.Fatal(err)
			}
			m := p.Metadata()
			if m.ServiceProviderName != tc.spn || m.ProfileName != tc.profile || m.MCC != tc.mcc || m.MNC != tc.mnc {
				t.Errorf("SPN %q name %q MCC %q MNC %q; want %q %q %q %q",
					m.ServiceProviderName, m.ProfileName, m.MCC, m.MNC, tc.spn, tc.profile, tc.mcc, tc.mnc)
			}
			if utf8.RuneCountInString(m.ServiceProviderName) > profiles.MaxServiceProviderName ||
				utf8.RuneCountInString(m.ProfileName) > profiles.MaxProfileName {
				t.Error("names over the StoreMetadata limits")
			}
			if len(p.Warnings) != tc.warnings {
				t.Errorf("warnings %q", p.Warnings)
			}
			if m.ICCID != "8949449999999990023" || !bytes.Equal(m.ICCIDBytes[:], h("989444999999990920f3")) ||
				m.ProfileClass != profiles.ProfileClassOperational {
				t.Errorf("ICCID %s %X class %d", m.ICCID, m.ICCIDBytes, m.ProfileClass)
			}
		})
	}
}

// TestEFICCIDMismatch changes one digit of EF.ICCID in the mf element: the package stays valid,
// with a warning.
func TestEFICCIDMismatch(t *testing.T) {
	good := readUPP(t, "TS48v2_SAIP2.3_NoBERTLV.der")
	ef := h("830a 98001032547698103214")
	if bytes.Count(good, ef) != 1 {
		t.Fatal("EF.ICCID not found once")
	}
	bad := bytes.Replace(good, ef, h("830a 98001032547698103224"), 1)
	p, err := profiles.Parse(bad)
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Warnings) != 1 || !strings.Contains(p.Warnings[0], "element 1 (mf)") {
		t.Errorf("warnings %q", p.Warnings)
	}
}
