package tlv

import (
	"encoding/asn1"
	"errors"
	"fmt"
	"unicode/utf8"
)

// Builder builds DER in the manner of golang.org/x/crypto/cryptobyte.Builder: constructed
// elements are added with AddTLV and a continuation that adds their content, and the length is
// computed and written in minimal form when the continuation returns. The first error (an
// invalid tag, content above MaxLength, an invalid value) sticks: later additions are ignored
// and Bytes returns it.
//
// The zero Builder is ready to use.
type Builder struct {
	buf []byte
	err error
}

// BuilderContinuation adds the content of a constructed element. It receives the same Builder,
// so it may add further nested elements.
type BuilderContinuation func(b *Builder)

// NewBuilder returns a Builder that appends to buf (which may be nil).
func NewBuilder(buf []byte) *Builder { return &Builder{buf: buf} }

// SetError makes err the Builder's error, unless it already has one.
func (b *Builder) SetError(err error) {
	if b.err == nil {
		b.err = err
	}
}

// Err returns the Builder's error, if any.
func (b *Builder) Err() error { return b.err }

// Bytes returns the encoding built so far, or the first error.
func (b *Builder) Bytes() ([]byte, error) {
	if b.err != nil {
		return nil, b.err
	}
	return b.buf, nil
}

// BytesOrPanic returns the encoding built so far and panics on error. For tests and for
// structures built only from constants.
func (b *Builder) BytesOrPanic() []byte {
	if b.err != nil {
		panic(b.err)
	}
	return b.buf
}

// AddBytes appends raw bytes, e.g. an element that is already encoded (a certificate, a
// received signed structure, a protected BPP segment).
func (b *Builder) AddBytes(v []byte) {
	if b.err == nil {
		b.buf = append(b.buf, v...)
	}
}

// lenLen is the number of octets of the DER length field for a content of n octets.
func lenLen(n int) int {
	switch {
	case n < 0x80:
		return 1
	case n <= 0xFF:
		return 2
	case n <= 0xFFFF:
		return 3
	}
	return 4
}

func putLen(dst []byte, n int) {
	if len(dst) == 1 {
		dst[0] = byte(n)
		return
	}
	dst[0] = 0x80 | byte(len(dst)-1)
	for i := len(dst) - 1; i > 0; i-- {
		dst[i] = byte(n)
		n >>= 8
	}
}

func (b *Builder) checkTag(tag Tag) bool {
	if b.err != nil {
		return false
	}
	if !tag.Valid() {
		b.err = fmt.Errorf("tlv: invalid tag %s", tag)
		return false
	}
	return true
}

// errTooLong is returned when a content exceeds MaxLength.
var errTooLong = errors.New("tlv: content longer than 16 MiB")

// AddTLV appends an element with the given tag whose content is whatever f adds.
func (b *Builder) AddTLV(tag Tag, f BuilderContinuation) {
	if !b.checkTag(tag) {
		return
	}
	b.buf = appendTag(b.buf, tag)
	lenAt := len(b.buf)
	b.buf = append(b.buf, 0) // room for a short-form length
	f(b)
	if b.err != nil {
		return
	}
	n := len(b.buf) - lenAt - 1
	if n > MaxLength {
		b.err = errTooLong
		return
	}
	if extra := lenLen(n) - 1; extra > 0 {
		b.buf = append(b.buf, make([]byte, extra)...)
		copy(b.buf[lenAt+1+extra:], b.buf[lenAt+1:len(b.buf)-extra])
	}
	putLen(b.buf[lenAt:lenAt+lenLen(n)], n)
}

// AddValue appends an element with the given tag and content, e.g. an OCTET STRING or any
// implicitly tagged primitive.
func (b *Builder) AddValue(tag Tag, content []byte) {
	if !b.checkTag(tag) {
		return
	}
	if len(content) > MaxLength {
		b.err = errTooLong
		return
	}
	b.buf = appendTag(b.buf, tag)
	l := lenLen(len(content))
	b.buf = append(b.buf, make([]byte, l)...)
	putLen(b.buf[len(b.buf)-l:], len(content))
	b.buf = append(b.buf, content...)
}

// AddHeader appends only the identifier and length octets of an element whose content of
// length octets is sent separately: the header-only segments of a Bound Profile Package
// (SGP.22 §2.5.5). It is the counterpart of String.ReadHeader.
func (b *Builder) AddHeader(tag Tag, length int) {
	if !b.checkTag(tag) {
		return
	}
	if length < 0 || length > MaxLength {
		b.err = errTooLong
		return
	}
	b.buf = appendTag(b.buf, tag)
	l := lenLen(length)
	b.buf = append(b.buf, make([]byte, l)...)
	putLen(b.buf[len(b.buf)-l:], length)
}

// AddUTF8 appends a UTF8String with the given tag. Invalid UTF-8 is an error.
func (b *Builder) AddUTF8(tag Tag, s string) {
	if b.err == nil && !utf8.ValidString(s) {
		b.err = fmt.Errorf("tlv: %s: invalid UTF-8", tag)
		return
	}
	b.AddValue(tag, []byte(s))
}

// AddBool appends a DER BOOLEAN (FF or 00) with the given tag.
func (b *Builder) AddBool(tag Tag, v bool) {
	c := byte(0)
	if v {
		c = 0xFF
	}
	b.AddValue(tag, []byte{c})
}

// AddInt64 appends a DER INTEGER (minimal two's complement) with the given tag.
func (b *Builder) AddInt64(tag Tag, v int64) {
	n := 1
	for n < 8 && (v < -(1<<(8*n-1)) || v >= 1<<(8*n-1)) {
		n++
	}
	c := make([]byte, n)
	for i := n - 1; i >= 0; i-- {
		c[i] = byte(v)
		v >>= 8
	}
	b.AddValue(tag, c)
}

// AddBitString appends a BIT STRING with the given tag, exactly as given: the unused-bits
// octet is 8*len(Bytes)-BitLength. BitLength must lie in the last octet and the unused bits
// must be zero. Use NamedBits for a DER named-bit list.
func (b *Builder) AddBitString(tag Tag, bs asn1.BitString) {
	pad := 8*len(bs.Bytes) - bs.BitLength
	if b.err == nil && (pad < 0 || pad > 7 || len(bs.Bytes) > 0 && bs.Bytes[len(bs.Bytes)-1]&(1<<pad-1) != 0) {
		b.err = fmt.Errorf("tlv: %s: invalid BIT STRING", tag)
		return
	}
	c := make([]byte, 0, 1+len(bs.Bytes))
	b.AddValue(tag, append(append(c, byte(pad)), bs.Bytes...))
}

// AddOID appends an OBJECT IDENTIFIER with the given tag. The OID must have at least two arcs,
// the first 0–2 and the second below 40 unless the first is 2, all non-negative.
func (b *Builder) AddOID(tag Tag, oid asn1.ObjectIdentifier) {
	if b.err != nil {
		return
	}
	if len(oid) < 2 || oid[0] < 0 || oid[0] > 2 || oid[1] < 0 || oid[0] < 2 && oid[1] >= 40 || oid[1] > 1<<31-1-80 {
		b.err = fmt.Errorf("tlv: %s: invalid OBJECT IDENTIFIER %v", tag, oid)
		return
	}
	var c []byte
	c = appendBase128(c, oid[0]*40+oid[1])
	for _, arc := range oid[2:] {
		if arc < 0 || arc > 1<<31-1 {
			b.err = fmt.Errorf("tlv: %s: invalid OBJECT IDENTIFIER %v", tag, oid)
			return
		}
		c = appendBase128(c, arc)
	}
	b.AddValue(tag, c)
}

func appendBase128(c []byte, n int) []byte {
	k := 1
	for m := n >> 7; m > 0; m >>= 7 {
		k++
	}
	for i := k - 1; i >= 0; i-- {
		o := byte(n>>(7*i)) & 0x7F
		if i > 0 {
			o |= 0x80
		}
		c = append(c, o)
	}
	return c
}

// NamedBits returns the DER encoding of a named-bit-list BIT STRING (X.690 §11.2.2) with the
// given bits set: bit 0 is the most significant bit of the first octet, and trailing zero bits
// are dropped, so no bits gives an empty string.
func NamedBits(bits ...int) asn1.BitString {
	last := -1
	for _, i := range bits {
		if i < 0 {
			panic("tlv: negative bit number")
		}
		last = max(last, i)
	}
	bs := asn1.BitString{Bytes: make([]byte, (last+8)/8), BitLength: last + 1}
	for _, i := range bits {
		bs.Bytes[i/8] |= 0x80 >> (i % 8)
	}
	return bs
}
