package profiles

import (
	"encoding/asn1"
	"fmt"
	"strconv"
	"unicode/utf8"

	"github.com/smdpp/smdpp/tlv"
)

// Header is the decoded ProfileHeader, the first element of every package (PEDefinitions
// ProfileHeader).
type Header struct {
	MajorVersion int    // SAIP major version: 2 or 3
	MinorVersion int    // SAIP minor version
	ProfileType  string // free text, "" when absent, e.g. "GSMA Generic eUICC Test Profile"
	// ICCID is the ICCID as decimal digits, padding removed: "89000123456789012341".
	ICCID string
	// ICCIDRaw is the iccid field as stored: the digits in reading order, one per nibble, padded
	// with F. It is not nibble-swapped like EF.ICCID; Metadata.ICCIDBytes has that coding.
	ICCIDRaw [10]byte
	// POL is the pol field (profile policy rules as stored), nil when absent.
	POL []byte
	// MandatoryServices names the services of eUICC-Mandatory-services that are present, as the
	// module names them ("usim", "milenage", "javacard", "get-identity" …). A service added after
	// v3.3.1 appears as its context tag number, e.g. "[30]".
	MandatoryServices []string
	// MandatoryGFSTE is eUICC-Mandatory-GFSTEList: the file-system templates the profile uses.
	MandatoryGFSTE []asn1.ObjectIdentifier
	// ConnectivityParameters is the connectivityParameters field, nil when absent.
	ConnectivityParameters []byte
	// MandatoryAIDs is eUICC-Mandatory-AIDs: applications the eUICC must already hold.
	MandatoryAIDs []MandatoryAID
	// IoTPIX is iotOptions.pix (IoT Minimal Profiles), nil when absent.
	IoTPIX []byte
}

// MandatoryAID is one entry of eUICC-Mandatory-AIDs.
type MandatoryAID struct {
	AID     []byte
	Version [2]byte
}

// serviceNames lists ServicesList components in order; with AUTOMATIC TAGS component n is the
// primitive context tag [n], a NULL.
var serviceNames = [...]string{
	"contactless", "usim", "isim", "csim", "milenage", "tuak128", "cave", "gba-usim", "gba-isim",
	"mbms", "eap", "javacard", "multos", "multiple-usim", "multiple-isim", "multiple-csim",
	"tuak256", "usim-test-algorithm", "ber-tlv", "dfLink", "cat-tp", "get-identity",
	"profile-a-x25519", "profile-b-p256", "suciCalculatorApi", "dns-resolution", "scp11ac",
	"scp11c-authorization-mechanism", "s16mode", "eaka",
}

func ctx(n uint32) tlv.Tag  { return tlv.ContextSpecific(n, false) }
func ctxC(n uint32) tlv.Tag { return tlv.ContextSpecific(n, true) }

func malformed(format string, a ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrMalformed}, a...)...)
}

// parseHeader decodes the content of a ProfileHeader. Its components are automatically tagged:
// major-version [0], minor-version [1], profileType [2], iccid [3], pol [4],
// eUICC-Mandatory-services [5], eUICC-Mandatory-GFSTEList [6], connectivityParameters [7],
// eUICC-Mandatory-AIDs [8], iotOptions [9]. Components after iotOptions are extension additions
// (the module is EXTENSIBILITY IMPLIED) and are skipped; they were checked to be well-formed DER.
func parseHeader(c tlv.String) (Header, error) {
	var h Header
	var major, minor int64
	if !c.ReadInt64(ctx(0), &major) || major < 0 || major > 255 ||
		!c.ReadInt64(ctx(1), &minor) || minor < 0 || minor > 255 {
		return h, malformed("header versions")
	}
	h.MajorVersion, h.MinorVersion = int(major), int(minor)
	// SAIP v2.x and v3.x share this header; major version 1 predates it and a later one may not
	// be read correctly by this module.
	if major != 2 && major != 3 {
		return h, fmt.Errorf("%w %d (want 2 or 3)", ErrVersion, major)
	}
	if c.PeekTag(ctx(2)) {
		if !c.ReadUTF8(ctx(2), &h.ProfileType) || outside(utf8.RuneCountInString(h.ProfileType), 1, 100) {
			return h, malformed("profileType is not 1 to 100 UTF-8 characters")
		}
	}
	iccid, ok := c.ReadTag(ctx(3))
	if !ok {
		return h, malformed("no iccid")
	}
	if len(iccid) != 10 {
		return h, fmt.Errorf("%w: %d octets", ErrICCIDLength, len(iccid))
	}
	copy(h.ICCIDRaw[:], iccid)
	var err error
	if h.ICCID, err = decodeHeaderICCID(h.ICCIDRaw); err != nil {
		return h, err
	}
	pol, _, ok := c.ReadOptional(ctx(4))
	if !ok {
		return h, malformed("pol")
	}
	h.POL = pol
	if h.MandatoryServices, err = parseServices(&c); err != nil {
		return h, err
	}
	gfste, ok := c.ReadTag(ctxC(6))
	if !ok {
		return h, malformed("no eUICC-Mandatory-GFSTEList")
	}
	for !gfste.Empty() {
		var oid asn1.ObjectIdentifier
		if !gfste.ReadOID(tlv.TagOID, &oid) {
			return h, malformed("eUICC-Mandatory-GFSTEList entry is not an OBJECT IDENTIFIER")
		}
		h.MandatoryGFSTE = append(h.MandatoryGFSTE, oid)
	}
	if h.ConnectivityParameters, _, ok = c.ReadOptional(ctx(7)); !ok {
		return h, malformed("connectivityParameters")
	}
	aids, _, ok := c.ReadOptional(ctxC(8))
	if !ok {
		return h, malformed("eUICC-Mandatory-AIDs")
	}
	for !aids.Empty() {
		e, ok := aids.ReadTag(tlv.TagSequence)
		var m MandatoryAID
		var version []byte
		if !ok || !e.ReadOctets(ctx(0), &m.AID) || !e.ReadOctets(ctx(1), &version) ||
			outside(len(m.AID), 5, 16) || len(version) != 2 {
			return h, malformed("eUICC-Mandatory-AIDs entry")
		}
		copy(m.Version[:], version)
		h.MandatoryAIDs = append(h.MandatoryAIDs, m)
	}
	iot, present, ok := c.ReadOptional(ctxC(9))
	if present {
		ok = iot.ReadOctets(ctx(0), &h.IoTPIX) && !outside(len(h.IoTPIX), 7, 11)
	}
	if !ok {
		return h, malformed("iotOptions")
	}
	return h, nil
}

// outside reports whether n lies outside [lo, hi].
func outside(n, lo, hi int) bool { return n < lo || n > hi }

// parseServices reads eUICC-Mandatory-services ([5], a SEQUENCE of optional NULLs in tag order).
func parseServices(c *tlv.String) ([]string, error) {
	sl, ok := c.ReadTag(ctxC(5))
	if !ok {
		return nil, malformed("no eUICC-Mandatory-services")
	}
	names := []string{}
	last := -1
	for !sl.Empty() {
		var tag tlv.Tag
		var v tlv.String
		sl.ReadTLV(&tag, &v) // the element was checked well-formed
		n := int(tag.Number())
		if tag.Class() != tlv.ClassContextSpecific || tag.IsConstructed() || len(v) != 0 || n <= last {
			return nil, malformed("eUICC-Mandatory-services entry %s", tag)
		}
		last = n
		if n < len(serviceNames) {
			names = append(names, serviceNames[n])
		} else {
			names = append(names, "["+strconv.Itoa(n)+"]")
		}
	}
	return names, nil
}

// decodeHeaderICCID decodes the header's iccid field.
//
// The field holds the ICCID digits in reading order, one BCD digit per nibble, high nibble
// first, padded with F: a 19-digit ICCID 8949449999999990023 is stored 89 49 44 99 99 99 99 90
// 02 3F. This is NOT the nibble-swapped coding of EF.ICCID (ETSI TS 102 221 §13.2) that SGP.22
// uses for its Iccid type. Every one of the 36 TS.48 packages in testdata/upp is stored this way —
// read nibble-swapped, the 19-digit ICCIDs of the -UNIQUE files would have their F in the middle —
// and their mf element carries the same number, nibble-swapped, in EF.ICCID; pysim writes the
// header the same way (personalization.py, Iccid.apply_val: h2b(rpad(iccid, 20))).
//
// The last digit must be the Luhn check digit (ITU-T E.118). This is an error, not a warning:
// all 36 TS.48 packages pass it when the field is read as above (their ICCIDs 89000123456789012341,
// 89000123456789012358 and 89494499999999900xx are all Luhn-valid), so a failure means a
// mistyped or mis-encoded ICCID, which the eUICC and the operator would then disagree on.
func decodeHeaderICCID(raw [10]byte) (string, error) {
	digits := make([]byte, 0, 20)
	padded := false
	for _, b := range raw {
		for _, nib := range [2]byte{b >> 4, b & 0x0F} {
			switch {
			case nib == 0x0F:
				padded = true
			case nib > 9 || padded:
				return "", fmt.Errorf("%w: %X", ErrICCIDDigits, raw[:])
			default:
				digits = append(digits, '0'+nib)
			}
		}
	}
	if len(digits) < 18 {
		return "", fmt.Errorf("%w: %X", ErrICCIDDigits, raw[:])
	}
	if !luhnValid(digits) {
		return "", fmt.Errorf("%w: %s", ErrICCIDLuhn, digits)
	}
	return string(digits), nil
}

// luhnValid reports whether the last of the decimal digits is their Luhn check digit.
func luhnValid(digits []byte) bool {
	n := len(digits)
	return n >= 2 && LuhnDigit(string(digits[:n-1])) == digits[n-1]
}

// LuhnDigit returns the Luhn check digit (ITU-T E.118, the last digit of an ICCID) that
// completes digits, a string of decimal digits.
func LuhnDigit(digits string) byte {
	sum := 0
	for i := range len(digits) {
		d := int(digits[len(digits)-1-i] - '0')
		// From the right, every other digit starting with the last is doubled, since the check
		// digit will follow it.
		if i%2 == 0 {
			if d *= 2; d > 9 {
				d -= 9
			}
		}
		sum += d
	}
	return byte('0' + (10-sum%10)%10)
}

// WithLuhn returns digits followed by their Luhn check digit: a valid ICCID from its first 18 or
// 19 digits.
func WithLuhn(digits string) string { return digits + string(LuhnDigit(digits)) }

// iccidEF encodes ICCID digits as EF.ICCID and SGP.22 Iccid do: BCD, nibble-swapped, F-padded to
// 10 octets (ETSI TS 102 221 §13.2).
func iccidEF(digits string) [10]byte {
	var out [10]byte
	for i := range 20 {
		nib := byte(0x0F)
		if i < len(digits) {
			nib = digits[i] - '0'
		}
		if i%2 == 0 {
			out[i/2] = nib
		} else {
			out[i/2] |= nib << 4
		}
	}
	return out
}

// swappedDigits decodes nibble-swapped BCD (EF.ICCID, EF.IMSI) up to the first F padding nibble.
// It reports false on a nibble A–E or on a digit after the padding.
func swappedDigits(b []byte) (string, bool) {
	out := make([]byte, 0, 2*len(b))
	padded := false
	for _, x := range b {
		for _, nib := range [2]byte{x & 0x0F, x >> 4} {
			switch {
			case nib == 0x0F:
				padded = true
			case nib > 9 || padded:
				return "", false
			default:
				out = append(out, '0'+nib)
			}
		}
	}
	return string(out), true
}
