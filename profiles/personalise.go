package profiles

import (
	"errors"
	"fmt"
	"strings"

	"github.com/smdpp/smdpp/tlv"
)

// ErrTemplate is wrapped by the errors of NewTemplate: the package lacks a place personalisation
// writes, or holds one it cannot rewrite.
var ErrTemplate = errors.New("profiles: template cannot be personalised")

// FieldError reports one invalid value of a ProfileData. Field is the lower-case name the
// inventory input file uses for the column ("iccid", "imsi", "ki", "opc", "pin1", "puk1", "pin2",
// "puk2", "adm1").
type FieldError struct {
	Field  string
	Reason string
}

// Error formats the error as "iccid: check digit (Luhn) is wrong".
func (e *FieldError) Error() string { return e.Field + ": " + e.Reason }

// FieldErrors lists every invalid field of a ProfileData, in field order.
type FieldErrors []*FieldError

// Error joins the field errors with "; ".
func (fe FieldErrors) Error() string {
	parts := make([]string, len(fe))
	for i, e := range fe {
		parts[i] = e.Error()
	}
	return "profiles: invalid profile data: " + strings.Join(parts, "; ")
}

// ProfileData is what distinguishes one profile of a pool from the others. All fields are
// required.
type ProfileData struct {
	// ICCID is 18 to 20 decimal digits, the last being the Luhn check digit (ITU-T E.118).
	ICCID string
	// IMSI is 6 to 15 decimal digits: MCC, MNC and MSIN (3GPP TS 23.003 §2.2).
	IMSI string
	// Ki is the subscriber key K and OPc the derived operator key, 16 bytes each (3GPP TS 35.206).
	Ki, OPc []byte
	// PIN1 and PIN2 are 4 to 8 decimal digits (ETSI TS 102 221 §9.5.1).
	PIN1, PIN2 string
	// PUK1 and PUK2 are 8 decimal digits.
	PUK1, PUK2 string
	// ADM1 is 4 to 8 decimal digits, stored as characters like a PIN, or 16 hexadecimal digits
	// giving the 8 bytes of the key as they are.
	ADM1 string
}

// Validate checks every field and returns FieldErrors listing all invalid ones, or nil.
func (d ProfileData) Validate() error {
	var fe FieldErrors
	add := func(field, reason string) { fe = append(fe, &FieldError{Field: field, Reason: reason}) }
	switch {
	case !isDigits(d.ICCID) || len(d.ICCID) < 18 || len(d.ICCID) > 20:
		add("iccid", fmt.Sprintf("must be 18 to 20 decimal digits, got %d characters", len(d.ICCID)))
	case !luhnValid([]byte(d.ICCID)):
		add("iccid", "check digit (Luhn) is wrong")
	}
	if !isDigits(d.IMSI) || len(d.IMSI) < 6 || len(d.IMSI) > 15 {
		add("imsi", fmt.Sprintf("must be 6 to 15 decimal digits, got %d characters", len(d.IMSI)))
	}
	if len(d.Ki) != 16 {
		add("ki", fmt.Sprintf("must be 16 bytes, got %d", len(d.Ki)))
	}
	if len(d.OPc) != 16 {
		add("opc", fmt.Sprintf("must be 16 bytes, got %d", len(d.OPc)))
	}
	pin := func(field, v string) {
		if !isDigits(v) || len(v) < 4 || len(v) > 8 {
			add(field, fmt.Sprintf("must be 4 to 8 decimal digits, got %d characters", len(v)))
		}
	}
	puk := func(field, v string) {
		if !isDigits(v) || len(v) != 8 {
			add(field, fmt.Sprintf("must be 8 decimal digits, got %d characters", len(v)))
		}
	}
	pin("pin1", d.PIN1)
	puk("puk1", d.PUK1)
	pin("pin2", d.PIN2)
	puk("puk2", d.PUK2)
	if !(isDigits(d.ADM1) && len(d.ADM1) >= 4 && len(d.ADM1) <= 8) && !(len(d.ADM1) == 16 && isHex(d.ADM1)) {
		add("adm1", fmt.Sprintf("must be 4 to 8 decimal digits or 16 hexadecimal digits, got %d characters", len(d.ADM1)))
	}
	if fe != nil {
		return fe
	}
	return nil
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

func isHex(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
			return false
		}
	}
	return s != ""
}

// Key references of PEDefinitions PINKeyReferenceValue and PUKKeyReferenceValue.
const (
	keyRefPIN1 = 1   // pinAppl1, pukAppl1
	keyRefADM1 = 10  // adm1
	keyRefPIN2 = 129 // secondPINAppl1, secondPUKAppl1
)

// AKA algorithms of PEDefinitions AlgoParameter.algorithmID.
const (
	algoMilenage = 1
	algoTest     = 3 // usim-test-algorithm (3GPP TS 34.108 §8.1.2), used by the TS.48 test profiles
)

// values are the encoded bytes personalisation writes.
type values struct {
	iccidHeader, iccidEF [10]byte
	imsiEF               [9]byte
	ki, opc              []byte
	pin1, pin2, adm1     [8]byte
	puk1, puk2           [8]byte
}

func encode(d ProfileData) *values {
	v := &values{iccidHeader: iccidHeaderRaw(d.ICCID), iccidEF: iccidEF(d.ICCID), imsiEF: imsiEF(d.IMSI),
		ki: d.Ki, opc: d.OPc, pin1: pinValue(d.PIN1), pin2: pinValue(d.PIN2),
		puk1: pinValue(d.PUK1), puk2: pinValue(d.PUK2), adm1: pinValue(d.ADM1)}
	if len(d.ADM1) == 16 {
		for i := range v.adm1 {
			v.adm1[i] = hexNibble(d.ADM1[2*i])<<4 | hexNibble(d.ADM1[2*i+1])
		}
	}
	return v
}

func hexNibble(c byte) byte {
	switch {
	case c >= 'a':
		return c - 'a' + 10
	case c >= 'A':
		return c - 'A' + 10
	}
	return c - '0'
}

// iccidHeaderRaw encodes ICCID digits as the header's iccid field: in reading order, F-padded.
func iccidHeaderRaw(digits string) [10]byte {
	var out [10]byte
	for i := range 20 {
		nib := byte(0x0F)
		if i < len(digits) {
			nib = digits[i] - '0'
		}
		if i%2 == 0 {
			out[i/2] = nib << 4
		} else {
			out[i/2] |= nib
		}
	}
	return out
}

// imsiEF encodes an IMSI as the 9 bytes of EF.IMSI (3GPP TS 31.102 §4.2.2, TS 24.008 §10.5.1.4):
// the length of what follows, then nibble-swapped BCD starting with the identity type "001" and
// the odd-length parity bit, F-padded.
func imsiEF(imsi string) [9]byte {
	var out [9]byte
	out[0] = byte((len(imsi) + 2) / 2)
	first := byte(0x1)
	if len(imsi)%2 == 1 {
		first |= 0x8
	}
	nibbles := make([]byte, 16)
	nibbles[0] = first
	for i := 1; i < 16; i++ {
		nibbles[i] = 0x0F
		if i-1 < len(imsi) {
			nibbles[i] = imsi[i-1] - '0'
		}
	}
	for i := range 8 {
		out[1+i] = nibbles[2*i] | nibbles[2*i+1]<<4
	}
	return out
}

// pinValue encodes a PIN, PUK or ADM as pinValue/pukValue: its digits as characters, FF-padded
// to 8 bytes (ETSI TS 102 221 §9.5.1).
func pinValue(digits string) [8]byte {
	var out [8]byte
	for i := range out {
		out[i] = 0xFF
		if i < len(digits) {
			out[i] = digits[i]
		}
	}
	return out
}

// Places personalisation writes, as bits of a mask.
const (
	placeHeaderICCID = 1 << iota
	placeEFICCID
	placeEFIMSI
	placeKi
	placeOPc
	placePIN1
	placePIN2
	placeADM1
	placePUK1
	placePUK2
	placeAll = 1<<iota - 1
)

var placeNames = [...]string{
	"header iccid", "EF.ICCID (mf ef-iccid)", "EF.IMSI (usim ef-imsi)", "Ki (akaParameter key)",
	"OPc (akaParameter opc)", "PIN1 (pinCodes keyReference 1)", "PIN2 (pinCodes keyReference 129)",
	"ADM1 (pinCodes keyReference 10)", "PUK1 (pukCodes keyReference 1)", "PUK2 (pukCodes keyReference 129)",
}

// Template is a package prepared for personalisation, which turns one template into the many
// profiles of a pool (the design brief's "personalises a template (ICCID, IMSI, Ki, OPc,
// PINs/PUKs) for pool inventory"). The places written are those of PEDefinitions v3.3.1 that
// pysim's personalization.py also writes:
//
//	ICCID  header iccid [3] (digits in reading order, F-padded; see decodeHeaderICCID) and
//	       EF.ICCID, mf ef-iccid [4] (ETSI TS 102 221 §13.2, nibble-swapped)
//	IMSI   EF.IMSI, ef-imsi [3] of every usim element (3GPP TS 31.102 §4.2.2)
//	Ki     key [2] of every akaParameter's algoParameter (Milenage or the test algorithm)
//	OPc    opc [3] of the same
//	PIN1   pinValue of keyReference pinAppl1 (1), the global PIN, in any pinCodes
//	ADM1   pinValue of keyReference adm1 (10)
//	PIN2   pinValue of keyReference secondPINAppl1 (129), the local PIN of each NAA and DF.TELECOM
//	PUK1   pukValue of keyReference pukAppl1 (1) in pukCodes
//	PUK2   pukValue of keyReference secondPUKAppl1 (129)
//
// Every other byte of the template is kept. EF.ACC is not derived from the IMSI; mappingParameter
// algoConfigurations (an NAA sharing another's key) and the ef-iccid/ef-imsi of IoT profile
// elements are left alone. A Template is safe for concurrent use.
type Template struct {
	pkg *Package
	// edit[i] reports whether element i is rewritten.
	edit []bool
}

// NewTemplate checks that pkg holds every place personalisation writes (see Template) and that
// each can be rewritten: the EF.ICCID and EF.IMSI files
// are created and their template content lies within the 10 and 9 bytes written, the
// algoParameters use Milenage or the test algorithm (not TUAK, whose keys differ in size). Its
// errors wrap ErrTemplate.
func NewTemplate(pkg *Package) (*Template, error) {
	t := &Template{pkg: pkg, edit: make([]bool, len(pkg.Elements))}
	probe := encode(ProfileData{ICCID: "8900000000000000000", IMSI: "001010000000000", Ki: make([]byte, 16),
		OPc: make([]byte, 16), PIN1: "0000", PIN2: "0000", PUK1: "00000000", PUK2: "00000000", ADM1: "00000000"})
	found := 0
	for i, e := range pkg.Elements {
		var b tlv.Builder
		n, err := rewrite(&b, e, probe)
		if err == nil {
			err = b.Err()
		}
		if err != nil {
			return nil, fmt.Errorf("%w: element %d (%s): %v", ErrTemplate, i, e.Name, err)
		}
		t.edit[i] = n != 0
		found |= n
	}
	if missing := placeAll &^ found; missing != 0 {
		var names []string
		for i, n := range placeNames {
			if missing&(1<<i) != 0 {
				names = append(names, n)
			}
		}
		return nil, fmt.Errorf("%w: no %s", ErrTemplate, strings.Join(names, ", no "))
	}
	return t, nil
}

// Package returns the template package.
func (t *Template) Package() *Package { return t.pkg }

// Personalise returns the Unprotected Profile Package for d: the template with d's values in
// every place listed under Template, lengths re-encoded, and every other byte as in the
// template. Invalid data gives FieldErrors.
func (t *Template) Personalise(d ProfileData) ([]byte, error) {
	if err := d.Validate(); err != nil {
		return nil, err
	}
	v := encode(d)
	b := tlv.NewBuilder(make([]byte, 0, t.pkg.Size+64))
	for i, e := range t.pkg.Elements {
		if !t.edit[i] {
			b.AddBytes(e.Raw)
			continue
		}
		if _, err := rewrite(b, e, v); err != nil {
			return nil, fmt.Errorf("profiles: personalise element %d (%s): %w", i, e.Name, err)
		}
	}
	out, err := b.Bytes()
	if err != nil {
		return nil, fmt.Errorf("profiles: personalise: %w", err)
	}
	return out, nil
}

// Personalise is NewTemplate(template) followed by Personalise(d). To personalise many profiles
// from one template, make the Template once.
func Personalise(template *Package, d ProfileData) ([]byte, error) {
	t, err := NewTemplate(template)
	if err != nil {
		return nil, err
	}
	return t.Personalise(d)
}

// rewrite appends element e to b with the places it holds set from v, and returns the mask of
// the places written (0: e was copied as it is).
func rewrite(b *tlv.Builder, e Element, v *values) (int, error) {
	raw := tlv.String(e.Raw)
	var content tlv.String
	raw.ReadTLV(nil, &content) // Parse checked the element
	w := &writer{v: v}
	switch e.Tag {
	case tagHeader:
		rebuild(b, e.Tag, content, w.header)
	case tagMF:
		rebuild(b, e.Tag, content, w.mf)
	case tagUSIM:
		rebuild(b, e.Tag, content, w.usim)
	case tagPINCodes:
		rebuild(b, e.Tag, content, w.pinCodes)
	case tagPUKCodes:
		rebuild(b, e.Tag, content, w.pukCodes)
	case tagAKAParameter:
		rebuild(b, e.Tag, content, w.akaParameter)
	default:
		b.AddBytes(e.Raw)
	}
	return w.found, w.err
}

// Tags of the further ProfileElement alternatives personalisation rewrites.
var (
	tagPINCodes     = tlv.ContextSpecific(2, true) // A2
	tagPUKCodes     = tlv.ContextSpecific(3, true) // A3
	tagAKAParameter = tlv.ContextSpecific(4, true) // A4
)

// writer rewrites the components of one element, recording what it wrote and the first error.
type writer struct {
	v     *values
	found int
	err   error
}

func (w *writer) fail(format string, a ...any) {
	if w.err == nil {
		w.err = fmt.Errorf(format, a...)
	}
}

// componentFunc may write a replacement for one component (tag t, content v,
// whole encoding raw) and reports whether it did; rebuild copies the component otherwise.
type componentFunc func(b *tlv.Builder, t tlv.Tag, v, raw tlv.String) bool

// rebuild appends an element with tag whose components are those of content, each passed to f.
func rebuild(b *tlv.Builder, tag tlv.Tag, content tlv.String, f componentFunc) {
	b.AddTLV(tag, func(b *tlv.Builder) {
		for !content.Empty() {
			var t tlv.Tag
			var raw tlv.String
			if !content.ReadElement(&t, &raw) {
				b.SetError(errors.New("malformed component")) // Parse checked the element
				return
			}
			r := raw
			var v tlv.String
			r.ReadTLV(nil, &v)
			if !f(b, t, v, raw) {
				b.AddBytes(raw)
			}
		}
	})
}

// header rewrites ProfileHeader iccid [3].
func (w *writer) header(b *tlv.Builder, t tlv.Tag, _, _ tlv.String) bool {
	if t != ctx(3) {
		return false
	}
	b.AddValue(t, w.v.iccidHeader[:])
	w.found |= placeHeaderICCID
	return true
}

// mf rewrites PE-MF ef-iccid [4].
func (w *writer) mf(b *tlv.Builder, t tlv.Tag, v, _ tlv.String) bool {
	if t != ctxC(4) {
		return false
	}
	w.file(b, t, v, w.v.iccidEF[:], "EF.ICCID")
	w.found |= placeEFICCID
	return true
}

// usim rewrites PE-USIM ef-imsi [3].
func (w *writer) usim(b *tlv.Builder, t tlv.Tag, v, _ tlv.String) bool {
	if t != ctxC(3) {
		return false
	}
	w.file(b, t, v, w.v.imsiEF[:], "EF.IMSI")
	w.found |= placeEFIMSI
	return true
}

// file rewrites a SAIP File (SEQUENCE OF CHOICE {doNotCreate [0], fileDescriptor [1],
// fillFileOffset [2], fillFileContent [3]}) so that content is its whole content: the
// fileDescriptors stay, and the fill entries give way to one fillFileContent at the place of the
// first. The template's fills must lie within len(content) bytes, so that nothing of the file is
// lost; a file not created (doNotCreate) cannot be personalised.
func (w *writer) file(b *tlv.Builder, tag tlv.Tag, file tlv.String, content []byte, name string) {
	b.AddTLV(tag, func(b *tlv.Builder) {
		pos, written := 0, false
		for !file.Empty() {
			var t tlv.Tag
			var raw tlv.String
			file.ReadElement(&t, &raw)
			r := raw
			var v tlv.String
			r.ReadTLV(nil, &v)
			switch t {
			case ctx(0):
				w.fail("%s is not created (doNotCreate)", name)
				return
			case ctx(2), ctx(3):
				if t == ctx(2) {
					var off int64
					r := raw
					if !r.ReadInt64(ctx(2), &off) || off < 0 {
						w.fail("%s: bad fillFileOffset", name)
						return
					}
					pos += int(off)
				} else {
					pos += len(v)
				}
				if pos > len(content) {
					w.fail("%s: template content reaches byte %d, beyond the %d bytes written", name, pos, len(content))
					return
				}
				if !written {
					b.AddValue(ctx(3), content)
					written = true
				}
			default:
				b.AddBytes(raw)
			}
		}
		if !written {
			b.AddValue(ctx(3), content)
		}
	})
}

// pinCodes rewrites the pinValues of PE-PINCodes pinCodes [1] CHOICE pinconfig [0]; a filePath
// (PINs shared with another DF) is left alone.
func (w *writer) pinCodes(b *tlv.Builder, t tlv.Tag, v, _ tlv.String) bool {
	if t != ctxC(1) {
		return false
	}
	rebuild(b, t, v, func(b *tlv.Builder, t tlv.Tag, v, _ tlv.String) bool {
		if t != ctxC(0) {
			return false
		}
		rebuild(b, t, v, func(b *tlv.Builder, t tlv.Tag, v, _ tlv.String) bool {
			if t != tlv.TagSequence {
				return false
			}
			w.keyConfig(b, v, map[int64]keyPlace{
				keyRefPIN1: {w.v.pin1[:], placePIN1},
				keyRefPIN2: {w.v.pin2[:], placePIN2},
				keyRefADM1: {w.v.adm1[:], placeADM1},
			})
			return true
		})
		return true
	})
	return true
}

// pukCodes rewrites the pukValues of PE-PUKCodes pukCodes [1].
func (w *writer) pukCodes(b *tlv.Builder, t tlv.Tag, v, _ tlv.String) bool {
	if t != ctxC(1) {
		return false
	}
	rebuild(b, t, v, func(b *tlv.Builder, t tlv.Tag, v, _ tlv.String) bool {
		if t != tlv.TagSequence {
			return false
		}
		w.keyConfig(b, v, map[int64]keyPlace{
			keyRefPIN1: {w.v.puk1[:], placePUK1},
			keyRefPIN2: {w.v.puk2[:], placePUK2},
		})
		return true
	})
	return true
}

type keyPlace struct {
	value []byte
	place int
}

// keyConfig appends a PINConfiguration or PUKConfiguration (keyReference [0], value [1], …) with
// its value [1] replaced when the keyReference is one of places.
func (w *writer) keyConfig(b *tlv.Builder, seq tlv.String, places map[int64]keyPlace) {
	var ref int64
	refOK := false
	rebuild(b, tlv.TagSequence, seq, func(b *tlv.Builder, t tlv.Tag, v, raw tlv.String) bool {
		switch t {
		case ctx(0):
			r := raw
			refOK = r.ReadInt64(ctx(0), &ref)
		case ctx(1):
			p, ok := places[ref]
			if !refOK || !ok {
				return false
			}
			if len(v) != len(p.value) {
				w.fail("keyReference %d: value is %d bytes, not %d", ref, len(v), len(p.value))
			}
			b.AddValue(t, p.value)
			w.found |= p.place
			return true
		}
		return false
	})
}

// akaParameter rewrites key [2] and opc [3] of PE-AKAParameter algoConfiguration [1] CHOICE
// algoParameter [1]; a mappingParameter [0] is left alone.
func (w *writer) akaParameter(b *tlv.Builder, t tlv.Tag, v, _ tlv.String) bool {
	if t != ctxC(1) {
		return false
	}
	rebuild(b, t, v, func(b *tlv.Builder, t tlv.Tag, v, _ tlv.String) bool {
		if t != ctxC(1) {
			return false
		}
		algo := int64(-1)
		rebuild(b, t, v, func(b *tlv.Builder, t tlv.Tag, v, raw tlv.String) bool {
			switch t {
			case ctx(0):
				r := raw
				if !r.ReadInt64(ctx(0), &algo) {
					w.fail("algoParameter: bad algorithmID")
				}
				if algo != algoMilenage && algo != algoTest {
					w.fail("algoParameter: algorithmID %d is not Milenage (1) or the test algorithm (3); TUAK (2) keys differ in size", algo)
				}
			case ctx(2):
				b.AddValue(t, w.v.ki)
				w.found |= placeKi
				return true
			case ctx(3):
				b.AddValue(t, w.v.opc)
				w.found |= placeOPc
				return true
			}
			return false
		})
		return true
	})
	return true
}
