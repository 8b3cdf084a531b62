package profiles

import (
	"bytes"
	"errors"
	"fmt"
	"strings"

	"github.com/smdpp/smdpp/tlv"
)

// Errors a Parse failure wraps, inside an *ElementError that says which element failed. Test
// with errors.Is.
var (
	ErrEmpty          = errors.New("empty profile package")
	ErrHeaderNotFirst = errors.New("the header must be the first element, and only the first")
	ErrNoEnd          = errors.New("no end element")
	ErrEndNotLast     = errors.New("element after end")
	ErrTrailingBytes  = errors.New("trailing bytes after end")
	ErrUnknownElement = errors.New("unknown ProfileElement tag")
	ErrTruncated      = errors.New("truncated element")
	ErrMalformed      = errors.New("malformed element")
	ErrVersion        = errors.New("unsupported SAIP major version")
	ErrICCIDLength    = errors.New("iccid is not 10 octets")
	ErrICCIDDigits    = errors.New("iccid is not 18 to 20 BCD digits padded with F")
	ErrICCIDLuhn      = errors.New("iccid check digit (Luhn) is wrong")
)

// ElementError reports an invalid profile package: the element at Index (0-based, in package
// order) with CHOICE name Name (empty when its tag is unknown or unreadable) and the reason Err.
// For a missing end element, Index is the position where end was expected.
type ElementError struct {
	Index int
	Name  string
	Err   error
}

// Error formats the error as "profiles: element 3 (pinCodes): reason".
func (e *ElementError) Error() string {
	if e.Name == "" {
		return fmt.Sprintf("profiles: element %d: %v", e.Index, e.Err)
	}
	return fmt.Sprintf("profiles: element %d (%s): %v", e.Index, e.Name, e.Err)
}

// Unwrap returns the reason, one of the Err values of this package, possibly wrapped with detail.
func (e *ElementError) Unwrap() error { return e.Err }

// elementNames lists the ProfileElement CHOICE alternatives of PEDefinitions v3.3.1 in order: with
// AUTOMATIC TAGS, alternative n is the constructed context tag [n] (A0 …, BF1F for [31] …).
var elementNames = [...]string{
	"header", "genericFileManagement", "pinCodes", "pukCodes", "akaParameter", "cdmaParameter",
	"securityDomain", "rfm", "application", "nonStandard", "end",
	"rfu1", "rfu2", "rfu3", "rfu4", "rfu5",
	"mf", "cd", "telecom", "usim", "opt-usim", "isim", "opt-isim", "phonebook", "gsm-access",
	"csim", "opt-csim", "eap", "df-5gs", "df-saip", "df-snpn", "df-5gprose", "iot", "opt-iot",
}

// Tags of the ProfileElement alternatives this package decodes.
var (
	tagHeader         = tlv.ContextSpecific(0, true)  // A0
	tagSecurityDomain = tlv.ContextSpecific(6, true)  // A6
	tagApplication    = tlv.ContextSpecific(8, true)  // A8
	tagEnd            = tlv.ContextSpecific(10, true) // AA
	tagMF             = tlv.ContextSpecific(16, true) // B0
	tagUSIM           = tlv.ContextSpecific(19, true) // B3
)

// ElementName returns the PEDefinitions v3.3.1 name of the ProfileElement alternative with the
// given tag ("header" for A0, "mf" for B0, "iot" for BF20), or "" if the tag names none.
func ElementName(tag tlv.Tag) string {
	if tag.Class() != tlv.ClassContextSpecific || !tag.IsConstructed() {
		return ""
	}
	if n := tag.Number(); n < uint32(len(elementNames)) {
		return elementNames[n]
	}
	return ""
}

// Element is one ProfileElement of a package.
type Element struct {
	Index int     // position in the package, from 0
	Name  string  // CHOICE alternative, e.g. "header", "mf", "pinCodes", "application", "end"
	Tag   tlv.Tag // its tag, e.g. A0, B0, A2, A8, AA
	Raw   []byte  // the whole DER element, tag and length included
	// ID is the identification number from the element's PEHeader, and Mandated its
	// mandated flag; ID is -1 for the header and the rfu placeholders, which have no PEHeader.
	// An eUICC reports errors in a PEStatus by this number.
	ID       int
	Mandated bool
}

// Package is a parsed, validated Unprotected Profile Package.
type Package struct {
	// Size is the length of the package in bytes.
	Size int
	// Elements are all the ProfileElements in order, header first and end last.
	Elements []Element
	// Header is the decoded ProfileHeader.
	Header Header
	// Applications are the decoded `application` elements, in order.
	Applications []Application
	// SecurityDomains are the decoded `securityDomain` elements, in order.
	SecurityDomains []SecurityDomain
	// Warnings are findings that do not make the package invalid, such as an EF.ICCID in the mf
	// element that differs from the header ICCID.
	Warnings []string

	imsi, mcc, mnc string
	spn            string // decoded EF.SPN name, "" when absent or empty
}

// Count returns how many elements of the given CHOICE name (see ElementName) the package has,
// e.g. Count("pinCodes").
func (p *Package) Count(name string) int {
	n := 0
	for _, e := range p.Elements {
		if e.Name == name {
			n++
		}
	}
	return n
}

// Has reports whether the package has at least one element of the given CHOICE name, e.g.
// Has("akaParameter"), Has("pukCodes").
func (p *Package) Has(name string) bool { return p.Count(name) > 0 }

// maxDepth bounds the nesting of constructed encodings inside an element. SAIP elements nest
// about eight deep; the bound only stops hostile input from recursing without end.
const maxDepth = 32

// Parse parses and validates an Unprotected Profile Package: a concatenation of DER
// ProfileElements (PEDefinitions v3.3.1), header first and end last. Every element must be DER
// with a known tag and well-formed content at every nesting level, and the header, application
// and securityDomain elements must decode. The returned Package does not alias upp.
//
// Any failure is an *ElementError naming the element.
func Parse(upp []byte) (*Package, error) {
	if len(upp) == 0 {
		return nil, &ElementError{Index: 0, Name: "header", Err: ErrEmpty}
	}
	upp = bytes.Clone(upp)
	p := &Package{Size: len(upp)}
	s := tlv.String(upp)
	ended := false
	for i := 0; !s.Empty(); i++ {
		name := ""
		if t, ok := s.NextTag(); ok {
			name = ElementName(t)
		}
		var tag tlv.Tag
		var raw tlv.String
		if !s.ReadElement(&tag, &raw) {
			fail := func(err error) error { return &ElementError{Index: i, Name: name, Err: err} }
			switch {
			case ended:
				return nil, fail(ErrTrailingBytes)
			case isTruncated(s):
				return nil, fail(ErrTruncated)
			}
			return nil, fail(fmt.Errorf("%w: invalid DER tag or length", ErrMalformed))
		}
		if err := p.addElement(i, tag, name, raw, ended); err != nil {
			return nil, err
		}
		ended = tag == tagEnd
	}
	if !ended {
		return nil, &ElementError{Index: len(p.Elements), Name: "end", Err: ErrNoEnd}
	}
	return p, nil
}

// isTruncated reports whether s (not empty) is the start of an element cut short: its tag,
// its length octets or its content end before they should.
func isTruncated(s []byte) bool {
	i := 1
	if s[0]&0x1F == 0x1F { // high tag number form: continuation octets have bit 8 set
		for i < len(s) && s[i]&0x80 != 0 {
			i++
		}
		if i++; i > len(s) {
			return true
		}
	}
	if i >= len(s) {
		return true
	}
	l := int(s[i])
	i++
	if l < 0x80 {
		return len(s)-i < l
	}
	k := l & 0x7F
	if k == 0 || k > 3 {
		return false
	}
	if len(s)-i < k {
		return true
	}
	n := 0
	for _, b := range s[i : i+k] {
		n = n<<8 | int(b)
	}
	return len(s)-i-k < n
}

// addElement checks and decodes element i and appends it to p.
func (p *Package) addElement(i int, tag tlv.Tag, name string, raw tlv.String, ended bool) error {
	fail := func(err error) error { return &ElementError{Index: i, Name: name, Err: err} }
	switch {
	case ended:
		return fail(ErrEndNotLast)
	case name == "":
		return fail(fmt.Errorf("%w %s", ErrUnknownElement, tag))
	case (i == 0) != (tag == tagHeader):
		return fail(ErrHeaderNotFirst)
	}
	var content tlv.String
	whole := raw
	whole.ReadTLV(nil, &content)
	if err := wellFormed(content, 0); err != nil {
		return fail(err)
	}
	e := Element{Index: i, Name: name, Tag: tag, Raw: raw, ID: -1}
	if tag != tagHeader && !strings.HasPrefix(name, "rfu") {
		id, mandated, err := peHeader(content)
		if err != nil {
			return fail(err)
		}
		e.ID, e.Mandated = id, mandated
	}
	var err error
	switch tag {
	case tagHeader:
		p.Header, err = parseHeader(content)
	case tagApplication:
		var a Application
		a, err = parseApplication(i, content)
		p.Applications = append(p.Applications, a)
	case tagSecurityDomain:
		var sd SecurityDomain
		sd, err = parseSecurityDomain(i, content)
		p.SecurityDomains = append(p.SecurityDomains, sd)
	case tagMF:
		p.checkEFICCID(i, content)
	case tagUSIM:
		p.readUSIM(i, content)
	}
	if err != nil {
		return fail(err)
	}
	p.Elements = append(p.Elements, e)
	return nil
}

// wellFormed checks that content is a series of DER elements, recursively for constructed ones.
func wellFormed(content tlv.String, depth int) error {
	if depth > maxDepth {
		return fmt.Errorf("%w: nested more than %d deep", ErrMalformed, maxDepth)
	}
	for !content.Empty() {
		var tag tlv.Tag
		var v tlv.String
		if !content.ReadTLV(&tag, &v) {
			if isTruncated(content) {
				return fmt.Errorf("%w: inner element cut short", ErrMalformed)
			}
			return fmt.Errorf("%w: invalid DER inside the element", ErrMalformed)
		}
		if tag.IsConstructed() {
			if err := wellFormed(v, depth+1); err != nil {
				return err
			}
		}
	}
	return nil
}

// peHeader decodes the PEHeader that opens every element but the header (PEDefinitions
// PEHeader: mandated [0] NULL OPTIONAL, identification [1] UInt15). In all PE types it is the
// first component, tagged [0] (A0).
func peHeader(content tlv.String) (id int, mandated bool, err error) {
	h, ok := content.ReadTag(tlv.ContextSpecific(0, true))
	if !ok {
		return 0, false, fmt.Errorf("%w: no PEHeader", ErrMalformed)
	}
	m, mandated, ok := h.ReadOptional(tlv.ContextSpecific(0, false))
	var n int64
	if !ok || len(m) != 0 || !h.ReadInt64(tlv.ContextSpecific(1, false), &n) || n < 0 || n > 32767 {
		return 0, false, fmt.Errorf("%w: bad PEHeader", ErrMalformed)
	}
	return int(n), mandated, nil
}
