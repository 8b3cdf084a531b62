package tlv

import (
	"encoding/asn1"
	"unicode/utf8"
)

// String is DER input being parsed, in the manner of golang.org/x/crypto/cryptobyte.String:
// each Read method consumes one element from the front and reports success. Unlike cryptobyte,
// a failed read leaves the String unchanged, and tags of any number are supported.
//
// Every read is DER-strict (ITU-T X.690 §10): definite lengths only, in the minimal number of
// octets (short form below 128, then 81, 82 or 83 followed by one to three length octets;
// lengths above 16 MiB are rejected), canonical tags only, and the content must be present in
// full. Callers reject trailing bytes with Empty after the last expected element of every
// level.
//
// Values returned by the read methods alias the input; their capacity is cut to their length,
// so appending to one never overwrites its neighbours.
type String []byte

// MaxLength is the largest content length accepted and produced (three length octets, 83 xx xx xx).
const MaxLength = 1<<24 - 1

// Empty reports whether s has been consumed completely.
func (s String) Empty() bool { return len(s) == 0 }

// parseTag decodes the identifier at the front of s and returns it with its encoded length.
func parseTag(s []byte) (Tag, int, bool) {
	if len(s) == 0 || s[0] == 0 {
		return 0, 0, false
	}
	if s[0]&0x1F != 0x1F {
		return Tag(s[0]), 1, true
	}
	t := Tag(s[0])
	for i := 1; i < 4; i++ {
		if i >= len(s) {
			return 0, 0, false
		}
		t = t<<8 | Tag(s[i])
		if s[i]&0x80 == 0 {
			if !t.Valid() {
				return 0, 0, false
			}
			return t, i + 1, true
		}
	}
	return 0, 0, false // more than three subsequent octets
}

// parseHeader decodes tag and length at the front of s and returns the tag, the header length
// and the content length, checking that the content is present. With der set, non-minimal
// lengths are refused.
func parseHeader(s []byte, der bool) (tag Tag, hdr, n int, ok bool) {
	tag, hdr, n, ok = parseHeaderOnly(s, der)
	if !ok || len(s)-hdr < n {
		return 0, 0, 0, false
	}
	return tag, hdr, n, true
}

// parseHeaderOnly is parseHeader without the check that the content is present.
func parseHeaderOnly(s []byte, der bool) (tag Tag, hdr, n int, ok bool) {
	tag, hdr, ok = parseTag(s)
	if !ok || hdr >= len(s) {
		return 0, 0, 0, false
	}
	l0 := s[hdr]
	hdr++
	if l0 < 0x80 {
		n = int(l0)
	} else {
		k := int(l0 & 0x7F)
		if k == 0 || k > 3 || len(s) < hdr+k { // 80 is the indefinite form
			return 0, 0, 0, false
		}
		for _, b := range s[hdr : hdr+k] {
			n = n<<8 | int(b)
		}
		if der && (s[hdr] == 0 || n < 0x80) {
			return 0, 0, 0, false
		}
		hdr += k
	}
	return tag, hdr, n, true
}

func (s *String) read(tag *Tag, value *String, element, der bool) bool {
	t, hdr, n, ok := parseHeader(*s, der)
	if !ok {
		return false
	}
	if tag != nil {
		*tag = t
	}
	if value != nil {
		start := hdr
		if element {
			start = 0
		}
		*value = (*s)[start : hdr+n : hdr+n]
	}
	*s = (*s)[hdr+n:]
	return true
}

// ReadTLV reads the next element of any tag, stores its tag in tag and its content (without
// tag and length) in value, and advances. Either pointer may be nil.
func (s *String) ReadTLV(tag *Tag, value *String) bool { return s.read(tag, value, false, true) }

// ReadElement is ReadTLV but stores the whole encoded element, tag and length included, in
// element. It is what keeps the received bytes of a signed structure.
func (s *String) ReadElement(tag *Tag, element *String) bool {
	return s.read(tag, element, true, true)
}

// ReadBERTLV is ReadTLV for BER input that is not DER: it also accepts non-minimal definite
// lengths (81 05, 82 00 05). Indefinite lengths are still refused. Use it only for BER-TLV data
// that is not an SGP.22 ASN.1 type, such as card file contents; the SGP.22 types and the SAIP
// profile package are DER.
func (s *String) ReadBERTLV(tag *Tag, value *String) bool { return s.read(tag, value, false, false) }

// ReadHeader reads only the identifier and length octets of the next element, stores the tag
// and the content length, and advances past them; the content need not be present. It is for
// data that arrives in pieces, such as the segments of a Bound Profile Package (SGP.22 §2.5.5),
// whose first segment holds the BF36 header but not the whole content. The header is checked
// as strictly as by ReadTLV.
func (s *String) ReadHeader(tag *Tag, length *int) bool {
	t, hdr, n, ok := parseHeaderOnly(*s, true)
	if !ok {
		return false
	}
	*tag, *length = t, n
	*s = (*s)[hdr:]
	return true
}

// ReadTag reads the next element, which must carry the tag expected, and returns its content.
func (s *String) ReadTag(expected Tag) (value String, ok bool) {
	var t Tag
	rest := *s
	if !rest.ReadTLV(&t, &value) || t != expected {
		return nil, false
	}
	*s = rest
	return value, true
}

// ReadTagElement is ReadTag but returns the whole encoded element, tag and length included.
func (s *String) ReadTagElement(expected Tag) (element String, ok bool) {
	var t Tag
	rest := *s
	if !rest.ReadElement(&t, &element) || t != expected {
		return nil, false
	}
	*s = rest
	return element, true
}

// ReadOptional reads the next element if it carries tag. present reports whether it did;
// ok is false only if an element with that tag is there but malformed.
func (s *String) ReadOptional(tag Tag) (value String, present, ok bool) {
	if !s.PeekTag(tag) {
		return nil, false, true
	}
	value, ok = s.ReadTag(tag)
	return value, ok, ok
}

// Skip reads and discards one element with the given tag.
func (s *String) Skip(tag Tag) bool {
	_, ok := s.ReadTag(tag)
	return ok
}

// SkipOptional discards the next element if it carries tag. It fails only if that element is
// malformed.
func (s *String) SkipOptional(tag Tag) bool {
	_, _, ok := s.ReadOptional(tag)
	return ok
}

// PeekTag reports whether the next element starts with tag. It looks at the identifier only.
func (s String) PeekTag(tag Tag) bool {
	t, ok := s.NextTag()
	return ok && t == tag
}

// NextTag returns the tag of the next element without consuming anything, for CHOICE dispatch.
// It fails if s is empty or does not start with a canonical tag.
func (s String) NextTag() (Tag, bool) {
	t, _, ok := parseTag(s)
	return t, ok
}

// ReadOctets reads an element with the given tag and stores its content in out: an OCTET STRING,
// implicitly tagged or not.
func (s *String) ReadOctets(tag Tag, out *[]byte) bool {
	v, ok := s.ReadTag(tag)
	if ok {
		*out = v
	}
	return ok
}

// ReadUTF8 reads an element with the given tag whose content must be valid UTF-8 (a UTF8String)
// and stores it in out.
func (s *String) ReadUTF8(tag Tag, out *string) bool {
	rest := *s
	v, ok := rest.ReadTag(tag)
	if !ok || !utf8.Valid(v) {
		return false
	}
	*out, *s = string(v), rest
	return true
}

// ReadBool reads a DER BOOLEAN with the given tag: one content octet, 00 or FF.
func (s *String) ReadBool(tag Tag, out *bool) bool {
	rest := *s
	v, ok := rest.ReadTag(tag)
	if !ok || len(v) != 1 || (v[0] != 0 && v[0] != 0xFF) {
		return false
	}
	*out, *s = v[0] == 0xFF, rest
	return true
}

// ReadInt64 reads a DER INTEGER with the given tag into out. The encoding must be minimal
// (X.690 §8.3.2) and the value must fit an int64.
func (s *String) ReadInt64(tag Tag, out *int64) bool {
	rest := *s
	v, ok := rest.ReadTag(tag)
	if !ok || !validInteger(v) || len(v) > 8 {
		return false
	}
	n := int64(int8(v[0]))
	for _, b := range v[1:] {
		n = n<<8 | int64(b)
	}
	*out, *s = n, rest
	return true
}

func validInteger(v []byte) bool {
	switch {
	case len(v) == 0:
		return false
	case len(v) == 1:
		return true
	case v[0] == 0 && v[1]&0x80 == 0, v[0] == 0xFF && v[1]&0x80 != 0:
		return false // not minimal
	}
	return true
}

// ReadBitString reads a DER BIT STRING with the given tag into out. The unused-bits count must
// be 0–7 (0 for an empty string) and the unused bits themselves zero (X.690 §11.2). Trailing
// zero named bits are accepted as sent; see BitString for encoding.
func (s *String) ReadBitString(tag Tag, out *asn1.BitString) bool {
	rest := *s
	v, ok := rest.ReadTag(tag)
	if !ok || len(v) == 0 {
		return false
	}
	pad, data := v[0], v[1:]
	if pad > 7 || len(data) == 0 && pad != 0 || len(data) > 0 && data[len(data)-1]&(1<<pad-1) != 0 {
		return false
	}
	*out = asn1.BitString{Bytes: []byte(data), BitLength: len(data)*8 - int(pad)}
	*s = rest
	return true
}

// ReadOID reads a DER OBJECT IDENTIFIER with the given tag into out (X.690 §8.19): at least one
// subidentifier, each in minimal base-128 form and fitting an int32.
func (s *String) ReadOID(tag Tag, out *asn1.ObjectIdentifier) bool {
	rest := *s
	v, ok := rest.ReadTag(tag)
	if !ok || len(v) == 0 {
		return false
	}
	var oid asn1.ObjectIdentifier
	for len(v) > 0 {
		if v[0] == 0x80 {
			return false // leading zero septet
		}
		n, i := 0, 0
		for ; ; i++ {
			if i == len(v) || i == 4 && v[0] > 0x87 || i > 4 {
				return false // truncated or beyond 2^31-1
			}
			n = n<<7 | int(v[i]&0x7F)
			if v[i]&0x80 == 0 {
				break
			}
		}
		v = v[i+1:]
		if oid == nil {
			switch {
			case n < 40:
				oid = append(oid, 0, n)
			case n < 80:
				oid = append(oid, 1, n-40)
			default:
				oid = append(oid, 2, n-80)
			}
			continue
		}
		oid = append(oid, n)
	}
	*out, *s = oid, rest
	return true
}
