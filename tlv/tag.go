package tlv

import (
	"fmt"
	"strconv"
)

// Tag is a BER identifier (tag) exactly as it is encoded, read as a big-endian number: a one-byte
// tag such as SEQUENCE is 0x30 and context-specific primitive [0] is 0x80; a multi-byte tag keeps
// all its octets, so StoreMetadataRequest ([37] constructed context) is 0xBF25,
// AuthenticateServerRequest ([56]) is 0xBF38, otPK ([APPLICATION 73]) is 0x5F49, a signature
// ([APPLICATION 55]) is 0x5F37 and a CV certificate ([APPLICATION 33] constructed) is 0x7F21.
// This is the form SGP.22 writes in its module comments ("Tag 'BF38'") and ISO/IEC 7816-4 uses
// for BER-TLV data objects (ITU-T X.690 §8.1.2).
//
// Tags of up to four octets (tag numbers below 2^21) are supported. A Tag is valid only in its
// canonical encoding: numbers 0–30 in one octet, 31 and above in the high-tag-number form with
// no leading 0x80 continuation octet. Tag 0 (end-of-contents) is never valid here.
type Tag uint32

// Class is the class of a Tag (ITU-T X.690 §8.1.2.2, bits 8 and 7 of the first identifier octet).
type Class uint8

// The four tag classes.
const (
	ClassUniversal       Class = 0 // universal types: SEQUENCE, INTEGER, OCTET STRING …
	ClassApplication     Class = 1 // [APPLICATION n], e.g. Iccid 5A, otPK 5F49, signature 5F37
	ClassContextSpecific Class = 2 // [n], e.g. 80, A0, BF38
	ClassPrivate         Class = 3 // [PRIVATE n], e.g. ProfileInfo E3
)

// String returns the ASN.1 keyword for the class.
func (c Class) String() string {
	switch c {
	case ClassUniversal:
		return "UNIVERSAL"
	case ClassApplication:
		return "APPLICATION"
	case ClassContextSpecific:
		return "CONTEXT"
	case ClassPrivate:
		return "PRIVATE"
	}
	return "Class(" + strconv.Itoa(int(c)) + ")"
}

// Universal tags used by SGP.22 (ITU-T X.680 §8.4, encoded as in X.690). SEQUENCE and SET
// carry the constructed bit.
const (
	TagBoolean     Tag = 0x01
	TagInteger     Tag = 0x02
	TagBitString   Tag = 0x03
	TagOctetString Tag = 0x04
	TagNull        Tag = 0x05
	TagOID         Tag = 0x06
	TagEnumerated  Tag = 0x0A
	TagUTF8String  Tag = 0x0C
	TagSequence    Tag = 0x30
	TagSet         Tag = 0x31
)

// MaxTagNumber is the largest tag number a Tag can hold (three subsequent octets of seven bits).
const MaxTagNumber = 1<<21 - 1

// NewTag returns the canonical Tag for class, constructed bit and number. It panics if class
// is above 3 or number is above MaxTagNumber: tags are fixed by the specification, so a bad one
// is a programming error.
func NewTag(class Class, constructed bool, number uint32) Tag {
	if class > ClassPrivate || number > MaxTagNumber {
		panic(fmt.Sprintf("tlv: invalid tag class %d number %d", class, number))
	}
	first := uint32(class) << 6
	if constructed {
		first |= 0x20
	}
	if number < 31 {
		return Tag(first | number)
	}
	t := first | 0x1F
	switch {
	case number < 1<<7:
		t = t<<8 | number
	case number < 1<<14:
		t = t<<16 | (0x80|number>>7)<<8 | number&0x7F
	default:
		t = t<<24 | (0x80|number>>14)<<16 | (0x80|(number>>7)&0x7F)<<8 | number&0x7F
	}
	return Tag(t)
}

// ContextSpecific returns the context-specific tag [number], constructed or primitive.
// ContextSpecific(56, true) is 0xBF38.
func ContextSpecific(number uint32, constructed bool) Tag {
	return NewTag(ClassContextSpecific, constructed, number)
}

// Application returns the tag [APPLICATION number], constructed or primitive.
// Application(55, false) is 0x5F37, Application(33, true) is 0x7F21.
func Application(number uint32, constructed bool) Tag {
	return NewTag(ClassApplication, constructed, number)
}

// Private returns the tag [PRIVATE number], constructed or primitive. Private(3, true) is 0xE3.
func Private(number uint32, constructed bool) Tag {
	return NewTag(ClassPrivate, constructed, number)
}

// Len returns the number of identifier octets of t (1 to 4).
func (t Tag) Len() int {
	switch {
	case t <= 0xFF:
		return 1
	case t <= 0xFFFF:
		return 2
	case t <= 0xFFFFFF:
		return 3
	}
	return 4
}

func (t Tag) first() byte { return byte(t >> (8 * (t.Len() - 1))) }

// Class returns the class of t.
func (t Tag) Class() Class { return Class(t.first() >> 6) }

// IsConstructed reports whether t has the constructed bit set (its content is a series of TLVs).
func (t Tag) IsConstructed() bool { return t.first()&0x20 != 0 }

// Number returns the tag number of t: 56 for 0xBF38, 16 for SEQUENCE.
func (t Tag) Number() uint32 {
	if t.Len() == 1 {
		return uint32(t) & 0x1F
	}
	var n uint32
	for i := t.Len() - 2; i >= 0; i-- {
		n = n<<7 | uint32(t>>(8*i))&0x7F
	}
	return n
}

// Valid reports whether t is a canonical tag encoding (see Tag). It is exactly the set of
// tags that NewTag produces.
func (t Tag) Valid() bool {
	if t == 0 {
		return false
	}
	if t.Len() == 1 {
		return t&0x1F != 0x1F
	}
	if t.first()&0x1F != 0x1F {
		return false
	}
	n := t.Number()
	return n >= 31 && NewTag(t.Class(), t.IsConstructed(), n) == t
}

// String returns t in upper-case hex, as SGP.22 writes tags: "BF38", "5F49", "80".
func (t Tag) String() string {
	return fmt.Sprintf("%0*X", 2*t.Len(), uint32(t))
}

// appendTag appends the identifier octets of t to b.
func appendTag(b []byte, t Tag) []byte {
	for i := t.Len() - 1; i >= 0; i-- {
		b = append(b, byte(t>>(8*i)))
	}
	return b
}
