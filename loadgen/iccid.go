package loadgen

import (
	"bytes"
	"errors"
	"fmt"
	"strings"

	"github.com/smdpp/smdpp/profiles"
)

// LuhnValid reports whether digits, a string of decimal digits, ends in its Luhn check digit
// (ITU-T E.118 for ICCIDs).
func LuhnValid(digits string) bool {
	if len(digits) < 2 || !isDigits(digits) {
		return false
	}
	return profiles.LuhnDigit(digits[:len(digits)-1]) == digits[len(digits)-1]
}

// Errors of RewriteICCID.
var (
	ErrNoHeaderICCID = errors.New("loadgen: the package does not start with a ProfileHeader holding a 10-byte iccid")
	ErrBadICCID      = errors.New("loadgen: ICCID must be 19 or 20 decimal digits with a valid Luhn check digit")
)

// RewriteICCID returns a copy of a SAIP profile package (DER ProfileElements, starting with the
// ProfileHeader A0) with its ICCID replaced by iccid: the header's iccid field [3] (83 0A,
// digits in reading order padded with F) and, when the package holds it exactly once, EF.ICCID
// in the mf element (the same number nibble-swapped, ETSI TS 102 221 §13.2), so that the two
// still agree. iccid must be Luhn-valid, as package profiles requires.
func RewriteICCID(pkg []byte, iccid string) ([]byte, error) {
	if (len(iccid) != 19 && len(iccid) != 20) || !LuhnValid(iccid) {
		return nil, fmt.Errorf("%w: %q", ErrBadICCID, iccid)
	}
	off, err := headerICCIDOffset(pkg)
	if err != nil {
		return nil, err
	}
	out := bytes.Clone(pkg)
	oldRaw := out[off : off+10]
	oldSwapped := swapNibbles(oldRaw)
	newRaw := encodeICCID(iccid)
	copy(out[off:off+10], newRaw)
	// EF.ICCID: replace the nibble-swapped old number where it occurs once, outside the header.
	if i := bytes.Index(out[off+10:], oldSwapped); i >= 0 && bytes.Count(out[off+10:], oldSwapped) == 1 {
		copy(out[off+10+i:], swapNibbles(newRaw))
	}
	return out, nil
}

// HeaderICCID returns the ICCID digits of the package's ProfileHeader.
func HeaderICCID(pkg []byte) (string, error) {
	off, err := headerICCIDOffset(pkg)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	for _, x := range pkg[off : off+10] {
		for _, n := range [2]byte{x >> 4, x & 0xF} {
			if n > 9 {
				return b.String(), nil
			}
			b.WriteByte('0' + n)
		}
	}
	return b.String(), nil
}

// headerICCIDOffset finds the value of iccid [3] in the ProfileHeader: A0 len { 80 major,
// 81 minor, [82 profileType], 83 0A iccid … }.
func headerICCIDOffset(pkg []byte) (int, error) {
	if len(pkg) < 2 || pkg[0] != 0xA0 {
		return 0, ErrNoHeaderICCID
	}
	hlen, n, ok := berLength(pkg[1:])
	if !ok || 1+n+hlen > len(pkg) {
		return 0, ErrNoHeaderICCID
	}
	body := pkg[1+n : 1+n+hlen]
	base := 1 + n
	for i := 0; i < len(body); {
		tag := body[i]
		if tag&0x1F == 0x1F { // multi-byte tags do not occur before iccid
			return 0, ErrNoHeaderICCID
		}
		l, ln, ok := berLength(body[i+1:])
		if !ok || i+1+ln+l > len(body) {
			return 0, ErrNoHeaderICCID
		}
		v := i + 1 + ln
		switch tag {
		case 0x80, 0x81, 0x82:
		case 0x83:
			if l != 10 {
				return 0, ErrNoHeaderICCID
			}
			return base + v, nil
		default:
			return 0, ErrNoHeaderICCID
		}
		i = v + l
	}
	return 0, ErrNoHeaderICCID
}

// berLength reads a BER length (short form, or long form of up to 3 octets).
func berLength(b []byte) (l, size int, ok bool) {
	if len(b) == 0 {
		return 0, 0, false
	}
	if b[0] < 0x80 {
		return int(b[0]), 1, true
	}
	k := int(b[0] & 0x7F)
	if k == 0 || k > 3 || len(b) < 1+k {
		return 0, 0, false
	}
	for _, x := range b[1 : 1+k] {
		l = l<<8 | int(x)
	}
	return l, 1 + k, true
}

// encodeICCID codes digits as the header does: one BCD digit per nibble in reading order,
// padded with F to 10 bytes.
func encodeICCID(digits string) []byte {
	out := bytes.Repeat([]byte{0xFF}, 10)
	for i := 0; i < len(digits); i++ {
		d := digits[i] - '0'
		if i%2 == 0 {
			out[i/2] = d<<4 | 0x0F
		} else {
			out[i/2] = out[i/2]&0xF0 | d
		}
	}
	return out
}

func swapNibbles(b []byte) []byte {
	out := make([]byte, len(b))
	for i, x := range b {
		out[i] = x<<4 | x>>4
	}
	return out
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// iccidSeries makes ICCIDs of the same length as a template ICCID: its first 7 digits (country
// and issuer), a 5-digit run number, a counter, and the Luhn digit. Distinct runs collide only
// when they draw the same run number; Prepare skips an ICCID the database already holds.
type iccidSeries struct {
	prefix string // first 7 digits of the template and the run number
	width  int    // digits of the counter
}

func newICCIDSeries(template string, run int) (iccidSeries, error) {
	if (len(template) != 19 && len(template) != 20) || !isDigits(template) {
		return iccidSeries{}, fmt.Errorf("%w: template %q", ErrBadICCID, template)
	}
	p := fmt.Sprintf("%s%05d", template[:7], run%100000)
	return iccidSeries{prefix: p, width: len(template) - 1 - len(p)}, nil
}

// max is the number of ICCIDs the series holds.
func (s iccidSeries) max() int {
	n := 1
	for range s.width {
		n *= 10
	}
	return n
}

// at returns the i-th ICCID of the series.
func (s iccidSeries) at(i int) string {
	return profiles.WithLuhn(fmt.Sprintf("%s%0*d", s.prefix, s.width, i))
}
