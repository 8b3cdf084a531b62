package profiles

import (
	"fmt"
	"unicode/utf16"

	"github.com/smdpp/smdpp/tlv"
)

// component returns the content of the first component with the given tag among the
// top-level elements of content (checked well-formed beforehand). In the automatically tagged
// PE SEQUENCEs each tag names one component.
func component(content tlv.String, tag tlv.Tag) (tlv.String, bool) {
	for !content.Empty() {
		var t tlv.Tag
		var v tlv.String
		if !content.ReadTLV(&t, &v) {
			return nil, false
		}
		if t == tag {
			return v, true
		}
	}
	return nil, false
}

// fileHead returns the first n bytes of the content a SAIP File (PEDefinitions File: a SEQUENCE OF
// CHOICE {doNotCreate [0], fileDescriptor [1], fillFileOffset [2], fillFileContent [3]}) writes,
// with bytes no fillFileContent covers left at FF. fillFileOffset moves forward from the current
// position, as pysim reads it. ok is false when the file is not created (doNotCreate) or no content
// falls within the first n bytes.
func fileHead(file tlv.String, n int) (head []byte, ok bool) {
	head = make([]byte, n)
	for i := range head {
		head[i] = 0xFF
	}
	pos := 0
	for !file.Empty() {
		var t tlv.Tag
		var v tlv.String
		var off int64
		switch t, _ = file.NextTag(); t {
		case ctx(0): // doNotCreate
			return nil, false
		case ctx(2): // fillFileOffset UInt16
			if !file.ReadInt64(ctx(2), &off) || off < 0 || off > 0xFFFF {
				return nil, false
			}
			pos += int(off)
		default:
			if !file.ReadTLV(&t, &v) {
				return nil, false
			}
			if t == ctx(3) { // fillFileContent
				if pos < n && copy(head[pos:], v) > 0 {
					ok = true
				}
				pos += len(v)
			}
		}
	}
	return head, ok
}

// checkEFICCID compares EF.ICCID in the mf element (PE-MF component [4] ef-iccid) with the header
// ICCID and records a warning when they differ: the eUICC reports EF.ICCID, the SM-DP+ the header.
func (p *Package) checkEFICCID(i int, content tlv.String) {
	file, ok := component(content, ctxC(4))
	if !ok || p.Header.ICCID == "" {
		return
	}
	head, ok := fileHead(file, 10)
	if !ok {
		return
	}
	if digits, ok := swappedDigits(head); !ok || digits != p.Header.ICCID {
		p.Warnings = append(p.Warnings, fmt.Sprintf(
			"element %d (mf): EF.ICCID %X does not encode the header ICCID %s", i, head, p.Header.ICCID))
	}
}

// readUSIM takes the IMSI (ef-imsi [3]), the MNC length (ef-ad [21]) and the service provider name
// (ef-spn [13]) from the first usim element (PE-USIM), for the metadata.
func (p *Package) readUSIM(i int, content tlv.String) {
	if p.imsi != "" {
		return
	}
	// EF.IMSI (3GPP TS 31.102 §4.2.2): length, then the IMSI nibble-swapped behind a parity
	// nibble.
	if file, ok := component(content, ctxC(3)); ok {
		if head, ok := fileHead(file, 9); ok && head[0] >= 4 && head[0] <= 8 {
			if d, ok := swappedDigits(head[1 : 1+head[0]]); ok && len(d) >= 6 {
				p.imsi = d[1:]
			}
		}
	}
	// EF.AD (TS 31.102 §4.2.18): the fourth byte holds the MNC length, 2 or 3.
	if file, ok := component(content, ctxC(21)); ok && p.imsi != "" {
		if head, ok := fileHead(file, 4); ok {
			if l := int(head[3] & 0x0F); l == 2 || l == 3 {
				p.mcc, p.mnc = p.imsi[:3], p.imsi[3:3+l]
			}
		}
	}
	// EF.SPN (TS 31.102 §4.2.12): display condition, then 16 bytes of name.
	if file, ok := component(content, ctxC(13)); ok {
		if head, ok := fileHead(file, 17); ok {
			name, ok := decodeAlphaID(head[1:])
			switch {
			case !ok:
				p.Warnings = append(p.Warnings, fmt.Sprintf(
					"element %d (usim): EF.SPN name %X is not in a coding this package decodes", i, head[1:]))
			case name != "":
				p.spn = name
			}
		}
	}
}

// decodeAlphaID decodes an alpha identifier (ETSI TS 102 221 Annex A): UCS2 after an 80 octet, or
// the SMS default alphabet (3GPP TS 23.038) one character per octet, padded with FF. Only the
// default-alphabet characters that equal their ASCII code are decoded (letters, digits, space and
// common punctuation); ok is false for anything else.
func decodeAlphaID(b []byte) (string, bool) {
	if len(b) > 0 && b[0] == 0x80 {
		var u []uint16
		for i := 1; i+1 < len(b); i += 2 {
			c := uint16(b[i])<<8 | uint16(b[i+1])
			if c == 0xFFFF {
				break
			}
			u = append(u, c)
		}
		return string(utf16.Decode(u)), true
	}
	out := make([]byte, 0, len(b))
	for _, c := range b {
		switch {
		case c == 0xFF:
			return string(out), true
		case c >= 'A' && c <= 'Z', c >= 'a' && c <= 'z', c >= '0' && c <= '9',
			c == ' ', c >= '!' && c <= '#', c >= '%' && c <= '?':
			out = append(out, c)
		default:
			return "", false
		}
	}
	return string(out), true
}
