package rsp

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/smdpp/smdpp/tlv"
)

// codec is what every type in the package implements.
type codec interface {
	Marshal() ([]byte, error)
	Unmarshal(der []byte) error
}

// h decodes hex; spaces separate fields for readability.
func h(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.Join(strings.Fields(s), ""))
	if err != nil {
		t.Fatalf("bad test hex %q: %v", s, err)
	}
	return b
}

// der is the tests' own minimal TLV writer, independent of package tlv: tag given in hex, the
// length in DER definite form (X.690 §8.1.3, §10.1), then the content parts.
func der(t testing.TB, tagHex string, parts ...[]byte) []byte {
	t.Helper()
	content := bytes.Join(parts, nil)
	out := h(t, tagHex)
	switch n := len(content); {
	case n < 0x80:
		out = append(out, byte(n))
	case n < 0x100:
		out = append(out, 0x81, byte(n))
	case n < 0x10000:
		out = append(out, 0x82, byte(n>>8), byte(n))
	default:
		out = append(out, 0x83, byte(n>>16), byte(n>>8), byte(n))
	}
	return append(out, content...)
}

func cat(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

func rep(b byte, n int) []byte { return bytes.Repeat([]byte{b}, n) }

// testdata returns the contents of a file under the repository's testdata directory.
func testdata(t testing.TB, rel string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "testdata", filepath.FromSlash(rel)))
	if err != nil {
		t.Fatalf("test input: %v", err)
	}
	return b
}

// cert returns an SGP.26 test certificate (testdata/certs) as a Certificate payload.
func cert(t testing.TB, rel string) []byte { return testdata(t, "certs/"+rel) }

// b64 decodes base64 leniently: the euicc-go fixtures have irregular padding.
func b64(t testing.TB, s string) []byte {
	t.Helper()
	s = strings.TrimRight(strings.Join(strings.Fields(s), ""), "=")
	b, err := base64.RawStdEncoding.DecodeString(s)
	if err != nil {
		t.Fatalf("bad base64: %v", err)
	}
	return b
}

// bspCase returns one case of testdata/vectors/bsp.json as generic JSON.
func bspCase(t testing.TB, name string) map[string]any {
	t.Helper()
	var f struct {
		Cases []map[string]any `json:"cases"`
	}
	if err := json.Unmarshal(testdata(t, "vectors/bsp.json"), &f); err != nil {
		t.Fatal(err)
	}
	for _, c := range f.Cases {
		if c["name"] == name {
			return c
		}
	}
	t.Fatalf("bsp.json has no case %q", name)
	return nil
}

// str follows keys into nested JSON objects and returns the string found there.
func str(t testing.TB, m map[string]any, keys ...string) string {
	t.Helper()
	var v any = m
	for _, k := range keys {
		o, ok := v.(map[string]any)
		if !ok {
			t.Fatalf("bsp.json: %v is not an object at %q", keys, k)
		}
		v = o[k]
	}
	s, ok := v.(string)
	if !ok {
		t.Fatalf("bsp.json: %v is not a string", keys)
	}
	return s
}

// clearRaw zeroes every field named Raw or SignedRaw in the value v points to, recursively, so
// decoded values can be compared with hand-built ones.
func clearRaw(v any) { clearRawValue(reflect.ValueOf(v)) }

func clearRawValue(v reflect.Value) {
	switch v.Kind() {
	case reflect.Pointer:
		if !v.IsNil() {
			clearRawValue(v.Elem())
		}
	case reflect.Struct:
		for i := 0; i < v.NumField(); i++ {
			if n := v.Type().Field(i).Name; n == "Raw" || n == "SignedRaw" {
				v.Field(i).SetZero()
				continue
			}
			clearRawValue(v.Field(i))
		}
	case reflect.Slice:
		for i := 0; i < v.Len(); i++ {
			clearRawValue(v.Index(i))
		}
	}
}

// newOf returns a new zero value of the same type as c.
func newOf(c codec) codec { return reflect.New(reflect.TypeOf(c).Elem()).Interface().(codec) }

// checkVector checks a hand-written or captured encoding against an expected value: Marshal of
// want gives exactly in, Unmarshal of in gives want (Raw fields aside) and re-encodes exactly.
// want may be nil to check only the decode/re-encode round trip.
func checkVector(t *testing.T, in []byte, want codec, got codec) {
	t.Helper()
	if want != nil {
		enc, err := want.Marshal()
		if err != nil {
			t.Fatalf("Marshal: %v", err)
		}
		if !bytes.Equal(enc, in) {
			t.Fatalf("Marshal:\n got %X\nwant %X", enc, in)
		}
	}
	if err := got.Unmarshal(in); err != nil {
		t.Fatalf("Unmarshal: %v", err)
	}
	enc, err := got.Marshal()
	if err != nil || !bytes.Equal(enc, in) {
		t.Fatalf("re-encoding of the decoded value differs (%v):\n got %X\nwant %X", err, enc, in)
	}
	if want != nil {
		cleared := newOf(got)
		if err := cleared.Unmarshal(in); err != nil {
			t.Fatal(err)
		}
		clearRaw(cleared)
		if !reflect.DeepEqual(cleared, want) {
			t.Fatalf("Unmarshal:\n got %+v\nwant %+v", cleared, want)
		}
	}
}

// checkMalformedGeneric applies the mutations every decoder must refuse: each proper prefix,
// a trailing byte or element after the element, a changed outer tag and a stray byte at the
// end of the outer content. With extensible set (the outer element is a SEQUENCE of the
// module), an unknown trailing field must instead be accepted, kept in Extensions and
// re-encoded; a CHOICE must refuse it.
func checkMalformedGeneric(t *testing.T, in []byte, fresh func() codec, extensible bool) {
	t.Helper()
	mustFail := func(name string, b []byte) {
		t.Helper()
		if err := fresh().Unmarshal(b); err == nil {
			t.Errorf("%s: accepted %X", name, b)
		} else if !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: error %v does not wrap ErrMalformed", name, err)
		}
	}
	step := 1
	if len(in) > 4096 {
		step = 7 // the large packages: still thousands of truncation points
	}
	for i := 0; i < len(in); i += step {
		mustFail("truncated", in[:i])
	}
	mustFail("trailing byte", cat(in, []byte{0}))
	mustFail("trailing element", cat(in, h(t, "05 00")))

	s := tlv.String(in)
	var tag tlv.Tag
	var content tlv.String
	if !s.ReadTLV(&tag, &content) {
		t.Fatal("vector is not one element")
	}
	other := tlv.Tag(0xBF3F)
	if tag == other {
		other = 0xBF3E
	}
	rebuild := func(tag tlv.Tag, content []byte) []byte {
		b := tlv.NewBuilder(nil)
		b.AddValue(tag, content)
		return b.BytesOrPanic()
	}
	mustFail("wrong outer tag", rebuild(other, content))
	mustFail("stray byte inside", rebuild(tag, cat(content, []byte{0})))
	mustFail("stray end-of-contents inside", rebuild(tag, cat(content, h(t, "00 00"))))

	ext := h(t, "9F7F 02 CAFE")
	with := rebuild(tag, cat(content, ext))
	v := fresh()
	err := v.Unmarshal(with)
	if !extensible {
		if err == nil {
			t.Errorf("unknown trailing field accepted by a CHOICE")
		}
		return
	}
	if err != nil {
		t.Fatalf("unknown trailing field refused: %v", err)
	}
	if ex := reflect.ValueOf(v).Elem().FieldByName("Extensions"); ex.IsValid() && !bytes.Equal(ex.Bytes(), ext) {
		t.Errorf("Extensions not kept")
	}
	if enc, err := v.Marshal(); err != nil || !bytes.Equal(enc, with) {
		t.Errorf("extension not written back: %X (%v)", enc, err)
	}
}

// mustRefuse checks that every input in cases is refused with ErrMalformed.
func mustRefuse(t *testing.T, fresh func() codec, cases map[string][]byte) {
	t.Helper()
	for name, in := range cases {
		t.Run(name, func(t *testing.T) {
			err := fresh().Unmarshal(in)
			if err == nil {
				t.Fatalf("accepted %X", in)
			}
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error %v does not wrap ErrMalformed", err)
			}
			t.Log(err)
		})
	}
}
