package tlv

import (
	"bytes"
	"encoding/asn1"
	"encoding/hex"
	"math"
	"strings"
	"testing"
)

// h decodes hex written with spaces between the fields, as in the SGP.22 examples.
func h(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		t.Fatalf("bad test hex %q: %v", s, err)
	}
	return b
}

// TestNewTag checks tag construction against the tags SGP.22 writes in its module comments
// (testdata/asn1/rsp/rsp.asn) and the X.690 high-tag-number form.
func TestNewTag(t *testing.T) {
	tests := []struct {
		name        string
		class       Class
		constructed bool
		number      uint32
		want        Tag
	}{
		{"SEQUENCE", ClassUniversal, true, 16, TagSequence},
		{"INTEGER", ClassUniversal, false, 2, TagInteger},
		{"[0] primitive, transactionId", ClassContextSpecific, false, 0, 0x80},
		{"[6] constructed, controlRefTemplate", ClassContextSpecific, true, 6, 0xA6},
		{"[30] constructed, last one-octet number", ClassContextSpecific, true, 30, 0xBE},
		{"[31] constructed, first high-tag number", ClassContextSpecific, true, 31, 0xBF1F},
		{"[32] EUICCInfo1", ClassContextSpecific, true, 32, 0xBF20},
		{"[33] PrepareDownload", ClassContextSpecific, true, 33, 0xBF21},
		{"[34] EUICCInfo2", ClassContextSpecific, true, 34, 0xBF22},
		{"[54] BoundProfilePackage", ClassContextSpecific, true, 54, 0xBF36},
		{"[55] ProfileInstallationResult", ClassContextSpecific, true, 55, 0xBF37},
		{"[56] AuthenticateServer", ClassContextSpecific, true, 56, 0xBF38},
		{"[65] CancelSession", ClassContextSpecific, true, 65, 0xBF41},
		{"[112] profileState", ClassContextSpecific, false, 112, 0x9F70},
		{"[APPLICATION 15] isdpAid", ClassApplication, false, 15, 0x4F},
		{"[APPLICATION 26] Iccid", ClassApplication, false, 26, 0x5A},
		{"[APPLICATION 33] constructed, CV certificate", ClassApplication, true, 33, 0x7F21},
		{"[APPLICATION 55] signature", ClassApplication, false, 55, 0x5F37},
		{"[APPLICATION 73] otPK", ClassApplication, false, 73, 0x5F49},
		{"[PRIVATE 3] ProfileInfo", ClassPrivate, true, 3, 0xE3},
		{"[127] two-octet maximum", ClassContextSpecific, false, 127, 0x9F7F},
		{"[128] three octets", ClassContextSpecific, false, 128, 0x9F8100},
		{"[200]", ClassContextSpecific, false, 200, 0x9F8148},
		{"[16383] three-octet maximum", ClassContextSpecific, false, 16383, 0x9FFF7F},
		{"[16384] four octets", ClassContextSpecific, false, 16384, 0x9F818000},
		{"MaxTagNumber", ClassPrivate, true, MaxTagNumber, 0xFFFFFF7F},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := NewTag(tt.class, tt.constructed, tt.number)
			if got != tt.want {
				t.Fatalf("NewTag = %s, want %s", got, tt.want)
			}
			if !got.Valid() || got.Class() != tt.class || got.IsConstructed() != tt.constructed || got.Number() != tt.number {
				t.Fatalf("%s: Valid=%v Class=%v IsConstructed=%v Number=%d", got, got.Valid(), got.Class(), got.IsConstructed(), got.Number())
			}
			// The encoding parses back to the same tag.
			s := String(appendTag(nil, got))
			if nt, ok := s.NextTag(); !ok || nt != got {
				t.Fatalf("NextTag(%x) = %s, %v", []byte(s), nt, ok)
			}
		})
	}
	if ContextSpecific(56, true) != 0xBF38 || Application(33, true) != 0x7F21 || Private(3, true) != 0xE3 {
		t.Error("shorthand constructors disagree with NewTag")
	}
	if s := Tag(0xBF38).String(); s != "BF38" {
		t.Errorf("String() = %q", s)
	}
	if s := Tag(0x80).String(); s != "80" {
		t.Errorf("String() = %q", s)
	}
}

func TestNewTagPanics(t *testing.T) {
	for _, tt := range []struct {
		name   string
		class  Class
		number uint32
	}{
		{"class 4", 4, 1},
		{"number above MaxTagNumber", ClassContextSpecific, MaxTagNumber + 1},
	} {
		t.Run(tt.name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Fatal("no panic")
				}
			}()
			NewTag(tt.class, false, tt.number)
		})
	}
}

func TestTagValid(t *testing.T) {
	tests := []struct {
		name string
		tag  Tag
		want bool
	}{
		{"zero (end-of-contents)", 0, false},
		{"one octet with high-tag marker", 0x1F, false},
		{"one octet [5]", 0x85, true},
		{"high-tag form for number 30", 0xBF1E, false},
		{"high-tag form for number 0", 0x9F00, false},
		{"leading 0x80 continuation", 0xBF8038, false},
		{"second octet not high-tag first", 0xA038, false},
		{"unterminated continuation", 0x9F81, false},
		{"BF38", 0xBF38, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.tag.Valid(); got != tt.want {
				t.Fatalf("Tag(%#x).Valid() = %v, want %v", uint32(tt.tag), got, tt.want)
			}
		})
	}
}

// TestReadTLV covers the header forms that are accepted and everything else that must not be.
func TestReadTLV(t *testing.T) {
	long := func(hdr string, n int) []byte { return append(h(t, hdr), bytes.Repeat([]byte{0xAB}, n)...) }
	tests := []struct {
		name    string
		in      []byte
		ok      bool
		tag     Tag
		valueAt int // offset of the content in in
		n       int // content length
	}{
		{"short form", h(t, "04 02 AA BB"), true, TagOctetString, 2, 2},
		{"zero length", h(t, "30 00"), true, TagSequence, 2, 0},
		{"short form maximum", long("04 7F", 127), true, TagOctetString, 2, 127},
		{"81 form minimum", long("04 81 80", 128), true, TagOctetString, 3, 128},
		{"81 form maximum", long("BF36 81 FF", 255), true, 0xBF36, 4, 255},
		{"82 form minimum", long("BF38 82 0100", 256), true, 0xBF38, 5, 256},
		{"83 form minimum", long("A3 83 010000", 65536), true, 0xA3, 5, 65536},
		{"two-octet tag", h(t, "5F37 01 00"), true, 0x5F37, 3, 1},
		{"three-octet tag", h(t, "9F8148 00"), true, 0x9F8148, 4, 0},
		{"four-octet tag", h(t, "FFFFFF7F 00"), true, 0xFFFFFF7F, 5, 0},
		{"element followed by more", h(t, "80 01 05 81 00"), true, 0x80, 2, 1},

		{"empty input", nil, false, 0, 0, 0},
		{"tag only", h(t, "30"), false, 0, 0, 0},
		{"truncated multi-octet tag", h(t, "BF"), false, 0, 0, 0},
		{"truncated three-octet tag", h(t, "BF 81"), false, 0, 0, 0},
		{"five-octet tag", h(t, "BF 81 81 81 01 00"), false, 0, 0, 0},
		{"non-minimal tag: leading 0x80", h(t, "BF 80 38 00"), false, 0, 0, 0},
		{"non-minimal tag: number below 31", h(t, "BF 1E 00"), false, 0, 0, 0},
		{"end-of-contents", h(t, "00 00"), false, 0, 0, 0},
		{"indefinite length", h(t, "30 80 04 00 00 00"), false, 0, 0, 0},
		{"non-minimal 81 form", h(t, "04 81 05 0102030405"), false, 0, 0, 0},
		{"non-minimal 82 form: fits one octet", long("04 82 00FF", 255), false, 0, 0, 0},
		{"non-minimal 82 form: short", h(t, "04 82 0001 00"), false, 0, 0, 0},
		{"non-minimal 83 form", long("04 83 00FFFF", 65535), false, 0, 0, 0},
		{"84 form: overlong length field", h(t, "04 84 00000001 00"), false, 0, 0, 0},
		{"length field 0xFF", h(t, "04 FF"), false, 0, 0, 0},
		{"truncated length field", h(t, "04 82 01"), false, 0, 0, 0},
		{"length beyond data", h(t, "04 05 01 02"), false, 0, 0, 0},
		{"long length beyond data", long("04 82 0100", 255), false, 0, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := String(tt.in)
			var tag Tag
			var v String
			ok := s.ReadTLV(&tag, &v)
			if ok != tt.ok {
				t.Fatalf("ReadTLV ok = %v, want %v", ok, tt.ok)
			}
			if !ok {
				if !bytes.Equal(s, tt.in) {
					t.Fatal("failed read advanced the input")
				}
				return
			}
			if tag != tt.tag || !bytes.Equal(v, tt.in[tt.valueAt:tt.valueAt+tt.n]) {
				t.Fatalf("got tag %s value %d bytes, want %s %d", tag, len(v), tt.tag, tt.n)
			}
			if !bytes.Equal(s, tt.in[tt.valueAt+tt.n:]) {
				t.Fatal("did not advance exactly over the element")
			}
			if cap(v) != len(v) {
				t.Fatal("value capacity extends past the element")
			}
			// ReadElement gives the same element with its header.
			s = String(tt.in)
			var e String
			if !s.ReadElement(&tag, &e) || !bytes.Equal(e, tt.in[:tt.valueAt+tt.n]) {
				t.Fatalf("ReadElement = %x", []byte(e))
			}
		})
	}
}

// TestReadHeader reads headers whose content is not present, as in the first segment of a
// Bound Profile Package (real header from testdata/rsp/bpp, fixture 1: BF36 82 0ADB).
func TestReadHeader(t *testing.T) {
	tests := []struct {
		name string
		in   string
		ok   bool
		tag  Tag
		n    int
		rest string
	}{
		{"BPP header then BF23", "BF36 82 0ADB BF23 81 B6", true, 0xBF36, 0x0ADB, "BF23 81 B6"},
		{"header only", "A3 82 09D4", true, 0xA3, 0x09D4, ""},
		{"short form", "A1 2B", true, 0xA1, 0x2B, ""},
		{"83 form", "A3 83 010000", true, 0xA3, 0x10000, ""},
		{"tag only", "A3", false, 0, 0, ""},
		{"truncated length", "A3 82 09", false, 0, 0, ""},
		{"non-minimal length", "A3 81 05", false, 0, 0, ""},
		{"indefinite length", "A3 80", false, 0, 0, ""},
		{"84 form", "A3 84 00010000", false, 0, 0, ""},
		{"non-canonical tag", "BF 80 36 00", false, 0, 0, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := h(t, tt.in)
			s := String(in)
			var tag Tag
			var n int
			ok := s.ReadHeader(&tag, &n)
			if ok != tt.ok {
				t.Fatalf("ok = %v", ok)
			}
			if !ok {
				if !bytes.Equal(s, in) {
					t.Fatal("failed read advanced")
				}
				return
			}
			if tag != tt.tag || n != tt.n || !bytes.Equal(s, h(t, tt.rest)) {
				t.Fatalf("got %s %d rest %x", tag, n, []byte(s))
			}
			b := NewBuilder(nil)
			b.AddHeader(tag, n)
			if got := b.BytesOrPanic(); !bytes.Equal(got, in[:len(in)-len(s)]) {
				t.Fatalf("AddHeader = %x", got)
			}
		})
	}
	b := NewBuilder(nil)
	b.AddHeader(0xA3, MaxLength+1)
	if b.Err() == nil {
		t.Fatal("AddHeader accepted a length above MaxLength")
	}
}

func TestReadBERTLV(t *testing.T) {
	tests := []struct {
		name string
		in   string
		ok   bool
		want string
	}{
		{"minimal", "04 01 AA", true, "AA"},
		{"non-minimal 81", "04 81 02 AABB", true, "AABB"},
		{"non-minimal 82", "04 82 0002 AABB", true, "AABB"},
		{"indefinite refused", "30 80 0000", false, ""},
		{"beyond data refused", "04 81 03 AABB", false, ""},
		{"84 form refused", "04 84 00000001 AA", false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := String(h(t, tt.in))
			var v String
			if ok := s.ReadBERTLV(nil, &v); ok != tt.ok {
				t.Fatalf("ok = %v", ok)
			}
			if tt.ok && (!bytes.Equal(v, h(t, tt.want)) || !s.Empty()) {
				t.Fatalf("value %x, rest %x", []byte(v), []byte(s))
			}
		})
	}
}

// TestNested walks a hand-written AuthenticateServerResponse-shaped structure (BF38 → A0 → 30)
// the way decoders do, with trailing bytes at each level.
func TestNested(t *testing.T) {
	good := h(t, "BF38 0B A0 09 30 03 80 01 01 5F37 01 FF")
	parse := func(in []byte) bool {
		s := String(in)
		outer, ok := s.ReadTag(0xBF38)
		if !ok || !s.Empty() {
			return false
		}
		ok1, ok := outer.ReadTag(0xA0)
		if !ok || !outer.Empty() {
			return false
		}
		signed, ok := ok1.ReadTagElement(TagSequence)
		if !ok || !bytes.Equal(signed, h(t, "30 03 80 01 01")) {
			return false
		}
		var sig []byte
		if !ok1.ReadOctets(0x5F37, &sig) || !ok1.Empty() {
			return false
		}
		body, _ := signed.ReadTag(TagSequence)
		var tid []byte
		return body.ReadOctets(0x80, &tid) && body.Empty()
	}
	tests := []struct {
		name string
		in   []byte
		ok   bool
	}{
		{"well formed", good, true},
		{"trailing byte after outer", append(bytes.Clone(good), 0x00), false},
		{"trailing element inside outer", h(t, "BF38 0D A0 09 30 03 80 01 01 5F37 01 FF 05 00"), false},
		{"trailing element inside A0", h(t, "BF38 0D A0 0B 30 03 80 01 01 5F37 01 FF 05 00"), false},
		{"inner length overruns parent", h(t, "BF38 0B A0 0A 30 03 80 01 01 5F37 01 FF"), false},
		{"wrong outer tag", h(t, "BF37 0B A0 09 30 03 80 01 01 5F37 01 FF"), false},
		{"truncated", good[:len(good)-1], false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := parse(tt.in); got != tt.ok {
				t.Fatalf("parse = %v, want %v", got, tt.ok)
			}
		})
	}
}

func TestReadTagAndOptional(t *testing.T) {
	in := h(t, "80 01 01 82 01 02")
	s := String(in)
	if _, ok := s.ReadTag(0x81); ok || !bytes.Equal(s, in) {
		t.Fatal("ReadTag with the wrong tag succeeded or advanced")
	}
	if _, present, ok := s.ReadOptional(0x81); present || !ok || !bytes.Equal(s, in) {
		t.Fatal("absent optional")
	}
	if v, present, ok := s.ReadOptional(0x80); !present || !ok || !bytes.Equal(v, []byte{1}) {
		t.Fatal("present optional")
	}
	if !s.PeekTag(0x82) || s.PeekTag(0x80) {
		t.Fatal("PeekTag")
	}
	if !s.SkipOptional(0x83) || !s.Skip(0x82) || !s.Empty() {
		t.Fatal("Skip")
	}
	// A present optional element that is malformed is an error, not "absent".
	bad := String(h(t, "80 05 01"))
	if _, present, ok := bad.ReadOptional(0x80); ok || present {
		t.Fatal("malformed optional accepted")
	}
	if _, ok := String(nil).NextTag(); ok {
		t.Fatal("NextTag on empty input")
	}
}

func TestReadInt64(t *testing.T) {
	tests := []struct {
		name string
		in   string
		ok   bool
		want int64
	}{
		{"zero", "02 01 00", true, 0},
		{"127", "02 01 7F", true, 127},
		{"128", "02 02 0080", true, 128},
		{"undefinedError 127 with context tag", "81 01 7F", false, 0}, // wrong tag for this call
		{"-1", "02 01 FF", true, -1},
		{"-128", "02 01 80", true, -128},
		{"-129", "02 02 FF7F", true, -129},
		{"max int64", "02 08 7FFFFFFFFFFFFFFF", true, math.MaxInt64},
		{"min int64", "02 08 8000000000000000", true, math.MinInt64},
		{"empty", "02 00", false, 0},
		{"non-minimal positive", "02 02 007F", false, 0},
		{"non-minimal negative", "02 02 FF80", false, 0},
		{"too large", "02 09 008000000000000000", false, 0},
		{"truncated", "02 02 01", false, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := String(h(t, tt.in))
			var got int64
			ok := s.ReadInt64(TagInteger, &got)
			if ok != tt.ok || ok && (got != tt.want || !s.Empty()) {
				t.Fatalf("ReadInt64 = %d, %v; want %d, %v", got, ok, tt.want, tt.ok)
			}
			if tt.ok {
				b := NewBuilder(nil)
				b.AddInt64(TagInteger, tt.want)
				if enc := b.BytesOrPanic(); !bytes.Equal(enc, h(t, tt.in)) {
					t.Fatalf("AddInt64(%d) = %x, want %s", tt.want, enc, tt.in)
				}
			}
		})
	}
}

func TestReadBool(t *testing.T) {
	tests := []struct {
		name string
		in   string
		ok   bool
		want bool
	}{
		{"true", "01 01 FF", true, true},
		{"false", "01 01 00", true, false},
		{"BER true is not DER", "01 01 01", false, false},
		{"empty", "01 00", false, false},
		{"two octets", "01 02 0000", false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := String(h(t, tt.in))
			var got bool
			if ok := s.ReadBool(TagBoolean, &got); ok != tt.ok || got != tt.want {
				t.Fatalf("ReadBool = %v, %v", got, ok)
			}
		})
	}
}

func TestReadBitString(t *testing.T) {
	tests := []struct {
		name string
		in   string
		ok   bool
		want asn1.BitString
	}{
		{"empty", "03 01 00", true, asn1.BitString{Bytes: []byte{}, BitLength: 0}},
		{"bit 0", "03 02 07 80", true, asn1.BitString{Bytes: []byte{0x80}, BitLength: 1}},
		{"install|enable|disable|delete as lpac sends it", "03 02 04 F0", true, asn1.BitString{Bytes: []byte{0xF0}, BitLength: 4}},
		{"whole octets with trailing zeros kept", "03 03 00 7F00", true, asn1.BitString{Bytes: []byte{0x7F, 0}, BitLength: 16}},
		{"no unused-bits octet", "03 00", false, asn1.BitString{}},
		{"unused bits without data", "03 01 01", false, asn1.BitString{}},
		{"unused-bits count 8", "03 02 08 00", false, asn1.BitString{}},
		{"non-zero unused bit", "03 02 07 81", false, asn1.BitString{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := String(h(t, tt.in))
			var got asn1.BitString
			ok := s.ReadBitString(TagBitString, &got)
			if ok != tt.ok {
				t.Fatalf("ok = %v", ok)
			}
			if !ok {
				return
			}
			if got.BitLength != tt.want.BitLength || !bytes.Equal(got.Bytes, tt.want.Bytes) {
				t.Fatalf("got %+v, want %+v", got, tt.want)
			}
			b := NewBuilder(nil)
			b.AddBitString(TagBitString, got)
			if enc := b.BytesOrPanic(); !bytes.Equal(enc, h(t, tt.in)) {
				t.Fatalf("re-encoded %x", enc)
			}
		})
	}
}

func TestNamedBits(t *testing.T) {
	tests := []struct {
		name string
		bits []int
		want string
	}{
		{"none", nil, "03 01 00"},
		{"bit 0", []int{0}, "03 02 07 80"},
		{"enable, disable, delete", []int{1, 2, 3}, "03 02 04 70"},
		{"bit 7 fills the octet", []int{7}, "03 02 00 01"},
		{"bit 8 starts the next", []int{8}, "03 03 07 00 80"},
		{"multipleCsimSupport(18)", []int{1, 18}, "03 04 05 40 00 20"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := NewBuilder(nil)
			b.AddBitString(TagBitString, NamedBits(tt.bits...))
			if got := b.BytesOrPanic(); !bytes.Equal(got, h(t, tt.want)) {
				t.Fatalf("got %x, want %s", got, tt.want)
			}
		})
	}
}

func TestReadOID(t *testing.T) {
	tests := []struct {
		name string
		in   string
		ok   bool
		want asn1.ObjectIdentifier
	}{
		{"id-at-commonName", "06 03 550403", true, asn1.ObjectIdentifier{2, 5, 4, 3}},
		{"rsaEncryption prefix", "06 06 2A864886F70D", true, asn1.ObjectIdentifier{1, 2, 840, 113549}},
		{"SGP.26 DPauth RID 2.999.10", "06 03 88370A", true, asn1.ObjectIdentifier{2, 999, 10}},
		{"id-rspRole-dp-pb 2.23.146.1.2.1.5", "06 07 67811201020105", true, asn1.ObjectIdentifier{2, 23, 146, 1, 2, 1, 5}},
		{"first arc 0", "06 01 00", true, asn1.ObjectIdentifier{0, 0}},
		{"largest arc 2^31-1", "06 06 2A 87FFFFFF7F", true, asn1.ObjectIdentifier{1, 2, 2147483647}},
		{"arc 2^31", "06 06 2A 8880808000", false, nil},
		{"empty", "06 00", false, nil},
		{"leading 0x80", "06 03 2A 8001", false, nil},
		{"truncated subidentifier", "06 02 2A 86", false, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := String(h(t, tt.in))
			var got asn1.ObjectIdentifier
			ok := s.ReadOID(TagOID, &got)
			if ok != tt.ok || ok && !got.Equal(tt.want) {
				t.Fatalf("ReadOID = %v, %v", got, ok)
			}
			if ok {
				b := NewBuilder(nil)
				b.AddOID(TagOID, got)
				if enc := b.BytesOrPanic(); !bytes.Equal(enc, h(t, tt.in)) {
					t.Fatalf("AddOID = %x", enc)
				}
			}
		})
	}
}

func TestReadUTF8(t *testing.T) {
	s := String(h(t, "0C 03 616263 0C 02 C328"))
	var v string
	if !s.ReadUTF8(TagUTF8String, &v) || v != "abc" {
		t.Fatal("valid UTF-8")
	}
	if s.ReadUTF8(TagUTF8String, &v) || len(s) != 4 {
		t.Fatal("invalid UTF-8 accepted or input advanced")
	}
}

// TestBuilderLengths checks each DER length form at its boundaries against hand-written headers.
func TestBuilderLengths(t *testing.T) {
	tests := []struct {
		n      int
		header string
	}{
		{0, "BF38 00"},
		{127, "BF38 7F"},
		{128, "BF38 81 80"},
		{255, "BF38 81 FF"},
		{256, "BF38 82 0100"},
		{65535, "BF38 82 FFFF"},
		{65536, "BF38 83 010000"},
	}
	for _, tt := range tests {
		t.Run(tt.header, func(t *testing.T) {
			content := bytes.Repeat([]byte{0x5A}, tt.n)
			want := append(h(t, tt.header), content...)
			b := NewBuilder(nil)
			b.AddTLV(0xBF38, func(b *Builder) { b.AddBytes(content) })
			if got := b.BytesOrPanic(); !bytes.Equal(got, want) {
				t.Fatalf("AddTLV header %x", got[:6])
			}
			b = NewBuilder(nil)
			b.AddValue(0xBF38, content)
			if got := b.BytesOrPanic(); !bytes.Equal(got, want) {
				t.Fatalf("AddValue header %x", got[:6])
			}
		})
	}
}

// TestBuilderNested builds the InitialiseSecureChannelRequest CRT of the pysim test BPP
// (testdata/vectors/bsp.json, bpp_decode_double_wrapped) and a nested length that grows past
// the short form inside a parent.
func TestBuilderNested(t *testing.T) {
	b := NewBuilder(nil)
	b.AddTLV(0xA6, func(b *Builder) {
		b.AddValue(0x80, []byte{0x88})
		b.AddValue(0x81, []byte{0x10})
		b.AddValue(0x84, []byte("mahlzeit"))
	})
	if got, want := b.BytesOrPanic(), h(t, "A6 10 80 01 88 81 01 10 84 08 6D61686C7A656974"); !bytes.Equal(got, want) {
		t.Fatalf("got %x", got)
	}

	b = NewBuilder([]byte{0xEE}) // appends to an existing buffer
	b.AddTLV(0xBF36, func(b *Builder) {
		b.AddTLV(0xA3, func(b *Builder) {
			b.AddValue(0x86, make([]byte, 200))
		})
		b.AddValue(0x80, nil)
	})
	got := b.BytesOrPanic()
	want := append(h(t, "EE BF36 81 D0 A3 81 CB 86 81 C8"), make([]byte, 200)...)
	want = append(want, 0x80, 0x00)
	if !bytes.Equal(got, want) {
		t.Fatalf("got %x", got)
	}
}

func TestBuilderErrors(t *testing.T) {
	tests := []struct {
		name string
		f    func(b *Builder)
	}{
		{"invalid tag in AddValue", func(b *Builder) { b.AddValue(0xBF1E, nil) }},
		{"zero tag in AddTLV", func(b *Builder) { b.AddTLV(0, func(*Builder) {}) }},
		{"content above MaxLength", func(b *Builder) { b.AddValue(TagOctetString, make([]byte, MaxLength+1)) }},
		{"nested content above MaxLength", func(b *Builder) {
			b.AddTLV(TagSequence, func(b *Builder) { b.AddBytes(make([]byte, MaxLength+1)) })
		}},
		{"invalid UTF-8", func(b *Builder) { b.AddUTF8(TagUTF8String, "\xff") }},
		{"bit length beyond bytes", func(b *Builder) { b.AddBitString(TagBitString, asn1.BitString{Bytes: []byte{0}, BitLength: 9}) }},
		{"unused bit set", func(b *Builder) { b.AddBitString(TagBitString, asn1.BitString{Bytes: []byte{0xFF}, BitLength: 4}) }},
		{"OID with one arc", func(b *Builder) { b.AddOID(TagOID, asn1.ObjectIdentifier{1}) }},
		{"OID first arc 3", func(b *Builder) { b.AddOID(TagOID, asn1.ObjectIdentifier{3, 1}) }},
		{"OID second arc 40 under 1", func(b *Builder) { b.AddOID(TagOID, asn1.ObjectIdentifier{1, 40}) }},
		{"OID negative arc", func(b *Builder) { b.AddOID(TagOID, asn1.ObjectIdentifier{1, 2, -1}) }},
		{"error inside a continuation", func(b *Builder) {
			b.AddTLV(TagSequence, func(b *Builder) { b.AddValue(0x1F, nil) })
		}},
		{"SetError", func(b *Builder) { b.SetError(errTooLong) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := NewBuilder(nil)
			tt.f(b)
			b.AddValue(TagNull, nil) // ignored after the error
			if out, err := b.Bytes(); err == nil || out != nil {
				t.Fatalf("Bytes() = %x, %v; want an error", out, err)
			}
			if b.Err() == nil {
				t.Fatal("Err() = nil")
			}
			defer func() {
				if recover() == nil {
					t.Fatal("BytesOrPanic did not panic")
				}
			}()
			b.BytesOrPanic()
		})
	}
}

// walk parses in as a series of elements, descending into constructed ones, and rebuilds it
// with the Builder. Every input the reader accepts is DER, so the rebuild is byte-identical.
func walk(in String, b *Builder) bool {
	for !in.Empty() {
		var tag Tag
		var v String
		if !in.ReadTLV(&tag, &v) {
			return false
		}
		if !tag.IsConstructed() {
			b.AddValue(tag, v)
			continue
		}
		ok := true
		b.AddTLV(tag, func(b *Builder) { ok = walk(v, b) })
		if !ok {
			return false
		}
	}
	return true
}

// FuzzParse checks that the reader never panics, that whatever it accepts re-encodes to the
// same bytes (so it accepts DER only), and that the typed readers agree with the Builder.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"BF38 0B A0 09 30 03 80 01 01 5F37 01 FF",
		"A6 10 80 01 88 81 01 10 84 08 6D61686C7A656974",
		"30 81 80" + strings.Repeat("00", 128),
		"9F8148 00", "FFFFFF7F 00", "BF 80 38 00", "30 80 0000", "04 81 05 0102030405",
		"02 02 007F", "03 02 07 81", "06 03 88370A", "01 01 FF", "0C 02 C328",
	} {
		f.Add(h(f, s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		b := NewBuilder(nil)
		if walk(String(in), b) {
			out, err := b.Bytes()
			if err != nil || !bytes.Equal(out, in) {
				t.Fatalf("accepted %x but rebuilt %x (%v)", in, out, err)
			}
		}
		// Typed readers: what they accept must encode back to the same element.
		typed := []func(s *String, b *Builder) bool{
			func(s *String, b *Builder) bool {
				var v int64
				ok := s.ReadInt64(TagInteger, &v)
				b.AddInt64(TagInteger, v)
				return ok
			},
			func(s *String, b *Builder) bool {
				var v bool
				ok := s.ReadBool(TagBoolean, &v)
				b.AddBool(TagBoolean, v)
				return ok
			},
			func(s *String, b *Builder) bool {
				var v asn1.BitString
				ok := s.ReadBitString(TagBitString, &v)
				b.AddBitString(TagBitString, v)
				return ok
			},
			func(s *String, b *Builder) bool {
				var v asn1.ObjectIdentifier
				ok := s.ReadOID(TagOID, &v)
				b.AddOID(TagOID, v)
				return ok
			},
			func(s *String, b *Builder) bool {
				var v string
				ok := s.ReadUTF8(TagUTF8String, &v)
				b.AddUTF8(TagUTF8String, v)
				return ok
			},
		}
		for i, read := range typed {
			s := String(in)
			var e String
			if c := String(in); !c.ReadElement(nil, &e) {
				continue
			}
			b := NewBuilder(nil)
			if read(&s, b) {
				out, err := b.Bytes()
				if err != nil || !bytes.Equal(out, e) {
					t.Fatalf("typed reader %d accepted %x but encodes %x (%v)", i, []byte(e), out, err)
				}
			} else if !bytes.Equal(s, in) {
				t.Fatalf("typed reader %d failed but advanced", i)
			}
		}
	})
}
