package rsp

import (
	"bytes"
	"encoding/asn1"
	"errors"
	"fmt"
	"slices"
	"unicode/utf8"

	"github.com/smdpp/smdpp/tlv"
)

// ErrMalformed is wrapped by every error Unmarshal returns: the input is not the DER encoding
// of the type (wrong tag, bad length, missing mandatory field, value out of its SIZE range,
// trailing bytes …). The message names the field, as in "EUICCInfo2.svn".
var ErrMalformed = errors.New("rsp: malformed DER")

// errInvalid is wrapped by Marshal errors: the value cannot be encoded as the module defines it.
var errInvalid = errors.New("rsp: invalid value")

// unbounded marks a SIZE range without an upper bound.
const unbounded = -1

// decoder reads the fields of one SEQUENCE (or CHOICE wrapper) in order. The first failure is
// recorded in the error shared by the whole tree of decoders; after it every read returns zero
// values, so field lists need no error checks between them.
type decoder struct {
	s     tlv.String
	path  string
	err   *error
	known []tlv.Tag // tags of the fields this type defines, for the extension check
}

func (d *decoder) ok() bool { return *d.err == nil }

func (d *decoder) failf(field, format string, args ...any) {
	if *d.err == nil {
		*d.err = fmt.Errorf("%w: %s: %s", ErrMalformed, joinPath(d.path, field), fmt.Sprintf(format, args...))
	}
}

func joinPath(path, field string) string {
	switch {
	case path == "":
		return field
	case field == "":
		return path
	}
	return path + "." + field
}

// missing records why the field with tag could not be read.
func (d *decoder) missing(tag tlv.Tag, field, what string) {
	next, ok := d.s.NextTag()
	switch {
	case d.s.Empty():
		d.failf(field, "missing %s (tag %s)", what, tag)
	case ok && next == tag:
		d.failf(field, "malformed %s (tag %s)", what, tag)
	case ok:
		d.failf(field, "missing %s (tag %s), found tag %s", what, tag, next)
	default:
		d.failf(field, "missing %s (tag %s), found an invalid tag", what, tag)
	}
}

// present reports whether the next element carries tag; it records tag as a field of the type.
func (d *decoder) present(tag tlv.Tag) bool {
	d.known = append(d.known, tag)
	return d.ok() && d.s.PeekTag(tag)
}

func (d *decoder) octets(tag tlv.Tag, field string, min, max int) []byte {
	d.known = append(d.known, tag)
	if !d.ok() {
		return nil
	}
	var v []byte
	if !d.s.ReadOctets(tag, &v) {
		d.missing(tag, field, "OCTET STRING")
		return nil
	}
	if len(v) < min || max != unbounded && len(v) > max {
		d.failf(field, "%d octets, want %s", len(v), sizeRange(min, max))
		return nil
	}
	return v
}

// optOctets returns nil if the field is absent and a non-nil slice (possibly empty) if present.
func (d *decoder) optOctets(tag tlv.Tag, field string, min, max int) []byte {
	if !d.present(tag) {
		return nil
	}
	return d.octets(tag, field, min, max)
}

func sizeRange(min, max int) string {
	switch {
	case max == unbounded:
		return fmt.Sprintf("at least %d", min)
	case min == max:
		return fmt.Sprint(min)
	}
	return fmt.Sprintf("%d to %d", min, max)
}

func (d *decoder) utf8(tag tlv.Tag, field string, maxChars int) string {
	d.known = append(d.known, tag)
	if !d.ok() {
		return ""
	}
	var v string
	if !d.s.ReadUTF8(tag, &v) {
		d.missing(tag, field, "UTF8String")
		return ""
	}
	if maxChars != unbounded && utf8.RuneCountInString(v) > maxChars {
		d.failf(field, "longer than %d characters", maxChars)
		return ""
	}
	return v
}

func (d *decoder) optUTF8(tag tlv.Tag, field string, maxChars int) *string {
	if !d.present(tag) {
		return nil
	}
	v := d.utf8(tag, field, maxChars)
	return &v
}

func (d *decoder) integer(tag tlv.Tag, field string) int64 {
	d.known = append(d.known, tag)
	if !d.ok() {
		return 0
	}
	var v int64
	if !d.s.ReadInt64(tag, &v) {
		d.missing(tag, field, "INTEGER")
	}
	return v
}

func (d *decoder) optInteger(tag tlv.Tag, field string) *int64 {
	if !d.present(tag) {
		return nil
	}
	v := d.integer(tag, field)
	return &v
}

func (d *decoder) boolean(tag tlv.Tag, field string) bool {
	d.known = append(d.known, tag)
	if !d.ok() {
		return false
	}
	var v bool
	if !d.s.ReadBool(tag, &v) {
		d.missing(tag, field, "BOOLEAN")
	}
	return v
}

func (d *decoder) bits(tag tlv.Tag, field string) asn1.BitString {
	d.known = append(d.known, tag)
	if !d.ok() {
		return asn1.BitString{}
	}
	var v asn1.BitString
	if !d.s.ReadBitString(tag, &v) {
		d.missing(tag, field, "BIT STRING")
	}
	return v
}

func (d *decoder) optBits(tag tlv.Tag, field string) *asn1.BitString {
	if !d.present(tag) {
		return nil
	}
	v := d.bits(tag, field)
	return &v
}

func (d *decoder) oid(tag tlv.Tag, field string) asn1.ObjectIdentifier {
	d.known = append(d.known, tag)
	if !d.ok() {
		return nil
	}
	var v asn1.ObjectIdentifier
	if !d.s.ReadOID(tag, &v) {
		d.missing(tag, field, "OBJECT IDENTIFIER")
	}
	return v
}

func (d *decoder) optOID(tag tlv.Tag, field string) asn1.ObjectIdentifier {
	if !d.present(tag) {
		return nil
	}
	return d.oid(tag, field)
}

// certificate reads a Certificate (a DER SEQUENCE) and returns its encoding unparsed.
func (d *decoder) certificate(field string) []byte {
	d.known = append(d.known, tlv.TagSequence)
	if !d.ok() {
		return nil
	}
	e, ok := d.s.ReadTagElement(tlv.TagSequence)
	if !ok {
		d.missing(tlv.TagSequence, field, "Certificate")
		return nil
	}
	return e
}

// child returns a decoder over the content of the element el.
func (d *decoder) child(el tlv.String, field string) *decoder {
	var content tlv.String
	el.ReadTLV(nil, &content)
	return &decoder{s: content, path: joinPath(d.path, field), err: d.err}
}

// seq reads a constructed field with tag whose content body decodes, and returns the field's
// encoding as received. body must consume the whole content (using extensions or done).
func (d *decoder) seq(tag tlv.Tag, field string, body func(*decoder)) []byte {
	d.known = append(d.known, tag)
	if !d.ok() {
		return nil
	}
	el, ok := d.s.ReadTagElement(tag)
	if !ok {
		d.missing(tag, field, "constructed field")
		return nil
	}
	c := d.child(el, field)
	body(c)
	c.done()
	return el
}

// optSeq is seq for an OPTIONAL field; it reports whether the field was present.
func (d *decoder) optSeq(tag tlv.Tag, field string, body func(*decoder)) ([]byte, bool) {
	if !d.present(tag) {
		return nil, false
	}
	return d.seq(tag, field, body), true
}

// seqOf reads a SEQUENCE OF with tag, calling each once per element until its content is used up.
func (d *decoder) seqOf(tag tlv.Tag, field string, each func(*decoder)) {
	d.seq(tag, field, func(c *decoder) {
		for c.ok() && !c.s.Empty() {
			n := len(c.s)
			each(c)
			if c.ok() && len(c.s) == n {
				c.failf("", "element not consumed") // a decoder bug, but never loop
			}
		}
	})
}

// extensions consumes the fields after the last one the module defines and returns them as
// received. SGP.22's module is EXTENSIBILITY IMPLIED, so later versions append fields to its
// SEQUENCEs; they are skipped here, but each must be a well-formed element whose tag is none of
// this type's own (which would be a known field out of order or repeated).
func (d *decoder) extensions() []byte {
	if !d.ok() || d.s.Empty() {
		return nil
	}
	start := d.s
	for !d.s.Empty() {
		var t tlv.Tag
		if !d.s.ReadTLV(&t, nil) {
			d.failf("", "malformed element after the last field")
			return nil
		}
		if slices.Contains(d.known, t) {
			d.failf("", "field with tag %s out of order or repeated", t)
			return nil
		}
	}
	return start[: len(start)-len(d.s) : len(start)-len(d.s)]
}

// done fails if anything is left.
func (d *decoder) done() {
	if d.ok() && !d.s.Empty() {
		if t, ok := d.s.NextTag(); ok {
			d.failf("", "unexpected element with tag %s", t)
		} else {
			d.failf("", "trailing bytes")
		}
	}
}

// unmarshal decodes der, which must be exactly one element with tag, with body, and returns
// the element as received (in a private copy of der). typ names the type in errors.
func unmarshal(der []byte, tag tlv.Tag, typ string, body func(*decoder)) ([]byte, error) {
	var err error
	d := &decoder{s: tlv.String(bytes.Clone(der)), err: &err}
	raw := d.seq(tag, typ, body)
	d.done()
	return raw, err
}

// encoder writes the fields of one type; invalid values set the Builder's error.
type encoder struct {
	b    *tlv.Builder
	path string
}

func (e encoder) failf(field, format string, args ...any) {
	e.b.SetError(fmt.Errorf("%w: %s: %s", errInvalid, joinPath(e.path, field), fmt.Sprintf(format, args...)))
}

func (e encoder) octets(tag tlv.Tag, field string, v []byte, min, max int) {
	if len(v) < min || max != unbounded && len(v) > max {
		e.failf(field, "%d octets, want %s", len(v), sizeRange(min, max))
		return
	}
	e.b.AddValue(tag, v)
}

// optOctets writes v unless it is nil.
func (e encoder) optOctets(tag tlv.Tag, field string, v []byte, min, max int) {
	if v != nil {
		e.octets(tag, field, v, min, max)
	}
}

func (e encoder) utf8(tag tlv.Tag, field, v string, maxChars int) {
	if maxChars != unbounded && utf8.RuneCountInString(v) > maxChars {
		e.failf(field, "longer than %d characters", maxChars)
		return
	}
	if !utf8.ValidString(v) {
		e.failf(field, "invalid UTF-8")
		return
	}
	e.b.AddValue(tag, []byte(v))
}

func (e encoder) optUTF8(tag tlv.Tag, field string, v *string, maxChars int) {
	if v != nil {
		e.utf8(tag, field, *v, maxChars)
	}
}

func (e encoder) integer(tag tlv.Tag, v int64) { e.b.AddInt64(tag, v) }

func (e encoder) optInteger(tag tlv.Tag, v *int64) {
	if v != nil {
		e.b.AddInt64(tag, *v)
	}
}

func (e encoder) bits(tag tlv.Tag, v asn1.BitString) { e.b.AddBitString(tag, v) }

func (e encoder) optBits(tag tlv.Tag, v *asn1.BitString) {
	if v != nil {
		e.b.AddBitString(tag, *v)
	}
}

func (e encoder) oid(tag tlv.Tag, field string, v asn1.ObjectIdentifier) {
	if len(v) == 0 {
		e.failf(field, "missing OBJECT IDENTIFIER")
		return
	}
	e.b.AddOID(tag, v)
}

// certificate writes der, which must be exactly one DER SEQUENCE element (it is not parsed
// further).
func (e encoder) certificate(field string, der []byte) {
	s := tlv.String(der)
	if _, ok := s.ReadTag(tlv.TagSequence); !ok || !s.Empty() {
		e.failf(field, "not a single DER SEQUENCE")
		return
	}
	e.b.AddBytes(der)
}

// element writes der, which must be exactly one element with tag.
func (e encoder) element(tag tlv.Tag, field string, der []byte) {
	s := tlv.String(der)
	if _, ok := s.ReadTag(tag); !ok || !s.Empty() {
		e.failf(field, "not a single element with tag %s", tag)
		return
	}
	e.b.AddBytes(der)
}

// extensions writes fields kept from a decoded value, which must be whole elements.
func (e encoder) extensions(v []byte) {
	s := tlv.String(v)
	for !s.Empty() {
		if !s.ReadTLV(nil, nil) {
			e.failf("Extensions", "not a series of DER elements")
			return
		}
	}
	e.b.AddBytes(v)
}

// seq writes a constructed field with tag whose content body writes.
func (e encoder) seq(tag tlv.Tag, field string, body func(encoder)) {
	e.b.AddTLV(tag, func(b *tlv.Builder) { body(encoder{b: b, path: joinPath(e.path, field)}) })
}

// marshal encodes one element with tag whose content body writes; typ names the type in errors.
func marshal(tag tlv.Tag, typ string, body func(encoder)) ([]byte, error) {
	b := tlv.NewBuilder(nil)
	encoder{b: b}.seq(tag, typ, body)
	return b.Bytes()
}

// oneOf checks that exactly one CHOICE alternative is set.
func oneOf(e encoder, set ...bool) bool {
	n := 0
	for _, s := range set {
		if s {
			n++
		}
	}
	if n != 1 {
		e.failf("", "%d CHOICE alternatives set, want exactly 1", n)
		return false
	}
	return true
}
