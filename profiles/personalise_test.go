package profiles

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
)

// The tests below read the packages with a DER walker of their own (node, walk), which records
// the absolute offset of every value, so that the checks do not depend on the code under test.

// node is one DER element found by walk: its tag octets, where its value starts and ends in the
// whole package, and its children when constructed.
type node struct {
	tag      string // hex of the identifier octets, e.g. "a0", "bf20"
	start    int    // offset of the identifier
	val, end int    // value is buf[val:end]
	children []*node
	buf      []byte
	element  int // index of the top-level element this node belongs to
}

func (n *node) value() []byte { return n.buf[n.val:n.end] }

// child returns the first child with the given tag, or nil.
func (n *node) child(tag string) *node {
	for _, c := range n.children {
		if c.tag == tag {
			return c
		}
	}
	return nil
}

// walk splits buf[start:end) into DER elements, recursively for constructed ones.
func walk(t *testing.T, buf []byte, start, end int) []*node {
	t.Helper()
	var out []*node
	for i := start; i < end; {
		n := &node{start: i, buf: buf}
		j := i + 1
		if buf[i]&0x1F == 0x1F {
			for buf[j]&0x80 != 0 {
				j++
			}
			j++
		}
		n.tag = hex.EncodeToString(buf[i:j])
		l := int(buf[j])
		j++
		if l&0x80 != 0 {
			k := l & 0x7F
			l = 0
			for _, b := range buf[j : j+k] {
				l = l<<8 | int(b)
			}
			j += k
		}
		n.val, n.end = j, j+l
		if n.end > end {
			t.Fatalf("element at %d overruns its parent", i)
		}
		if buf[i]&0x20 != 0 {
			n.children = walk(t, buf, n.val, n.end)
		}
		out = append(out, n)
		i = n.end
	}
	return out
}

// walkPackage returns the top-level elements of a package with their trees, each node knowing
// the index of its element.
func walkPackage(t *testing.T, upp []byte) []*node {
	t.Helper()
	tops := walk(t, upp, 0, len(upp))
	var mark func(n *node, i int)
	mark = func(n *node, i int) {
		n.element = i
		for _, c := range n.children {
			mark(c, i)
		}
	}
	for i, e := range tops {
		mark(e, i)
	}
	return tops
}

// field is one place personalisation writes, as found by the test walker.
type field struct {
	name string // "header iccid", "EF.ICCID", "EF.IMSI", "Ki", "OPc", "PIN1", …
	n    *node  // the primitive whose value is the field
}

// fieldsOf finds every personalised field of a package.
func fieldsOf(t *testing.T, upp []byte) []field {
	t.Helper()
	var out []field
	fileContent := func(name string, file *node) {
		for _, c := range file.children {
			if c.tag == "83" {
				out = append(out, field{name, c})
			}
		}
	}
	for _, e := range walkPackage(t, upp) {
		switch e.tag {
		case "a0":
			out = append(out, field{"header iccid", e.child("83")})
		case "b0":
			fileContent("EF.ICCID", e.child("a4"))
		case "b3":
			fileContent("EF.IMSI", e.child("a3"))
		case "a2", "a3":
			list := e.child("a1")
			if e.tag == "a2" {
				list = list.child("a0")
				if list == nil {
					continue
				}
			}
			names := map[string]string{"01": "PIN1", "0081": "PIN2", "0a": "ADM1"}
			if e.tag == "a3" {
				names = map[string]string{"01": "PUK1", "0081": "PUK2"}
			}
			for _, cfg := range list.children {
				if name, ok := names[hex.EncodeToString(cfg.child("80").value())]; ok {
					out = append(out, field{name, cfg.child("81")})
				}
			}
		case "a4":
			if p := e.child("a1").child("a1"); p != nil {
				out = append(out, field{"Ki", p.child("82")}, field{"OPc", p.child("83")})
			}
		}
	}
	return out
}

// fieldValues collects the distinct values of each field name.
func fieldValues(fs []field) map[string][][]byte {
	m := map[string][][]byte{}
	for _, f := range fs {
		v := f.n.value()
		if !slices.ContainsFunc(m[f.name], func(x []byte) bool { return bytes.Equal(x, v) }) {
			m[f.name] = append(m[f.name], bytes.Clone(v))
		}
	}
	return m
}

func uppFiles(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("..", "testdata", "upp", "*.der"))
	if err != nil || len(files) != 36 {
		t.Fatalf("want the 36 TS.48 packages of testdata/upp, found %d (%v)", len(files), err)
	}
	return files
}

func readTemplate(t testing.TB, file string) ([]byte, *Package) {
	t.Helper()
	upp, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	pkg, err := Parse(upp)
	if err != nil {
		t.Fatalf("Parse(%s): %v", file, err)
	}
	return upp, pkg
}

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// ts48Data is the data the TS.48 packages carry (TS.48 Annex: PIN1 0000, PIN2 9999, PUK1
// 11111111, PUK2 22222222, ADM1 55555555, K 000102…0F, OPc 0, IMSI 001010123456063), with the
// package's own ICCID.
func ts48Data(t testing.TB, pkg *Package) ProfileData {
	return ProfileData{ICCID: pkg.Header.ICCID, IMSI: "001010123456063",
		Ki: unhex(t, "000102030405060708090a0b0c0d0e0f"), OPc: make([]byte, 16),
		PIN1: "0000", PIN2: "9999", PUK1: "11111111", PUK2: "22222222", ADM1: "55555555"}
}

// TestPersonaliseIdentity personalises every TS.48 package with the values it already holds:
// the result must be the package, byte for byte. This shows that rewriting keeps every element,
// every length and every unrelated byte as it was.
func TestPersonaliseIdentity(t *testing.T) {
	for _, file := range uppFiles(t) {
		t.Run(filepath.Base(file), func(t *testing.T) {
			upp, pkg := readTemplate(t, file)
			if pkg.imsi != "001010123456063" {
				t.Fatalf("template IMSI %q, the test expects TS.48's", pkg.imsi)
			}
			vals := fieldValues(fieldsOf(t, upp))
			want := map[string]string{
				"PIN1": "30303030ffffffff", "PIN2": "39393939ffffffff", "ADM1": "3535353535353535",
				"PUK1": "3131313131313131", "PUK2": "3232323232323232",
				"Ki": "000102030405060708090a0b0c0d0e0f", "OPc": "00000000000000000000000000000000",
			}
			for name, v := range want {
				if len(vals[name]) != 1 || hex.EncodeToString(vals[name][0]) != v {
					t.Fatalf("template %s values %x, want only %s", name, vals[name], v)
				}
			}
			out, err := Personalise(pkg, ts48Data(t, pkg))
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(out, upp) {
				t.Fatalf("personalising with the template's own values changed it (%d → %d bytes)", len(upp), len(out))
			}
		})
	}
}

// newData is the per-profile data of TestPersonaliseBytes, with the encodings expected.
var newData = struct {
	d                                              ProfileData
	headerICCID, efICCID, efIMSI, pin1, pin2, adm1 string
	puk1, puk2                                     string
}{
	d: ProfileData{ICCID: "8944500102198304826", IMSI: "234507654321098",
		Ki: []byte("0123456789ABCDEF"), OPc: []byte("fedcba9876543210"),
		PIN1: "1234", PIN2: "56789012", PUK1: "87654321", PUK2: "13572468", ADM1: "0A1B2C3D4E5F6071"},
	headerICCID: "8944500102198304826f", // reading order, F-padded
	efICCID:     "984405102091384028f6", // swapped pairs: 89→98 44→44 50→05 01→10 …, 6F→F6
	efIMSI:      "082943056745230189",   // 08, then 9|2 3|4 5|0 7|6 5|4 3|2 1|0 9|8 written low nibble first
	pin1:        "31323334ffffffff",
	pin2:        "3536373839303132",
	adm1:        "0a1b2c3d4e5f6071", // 16 hex digits: the key bytes themselves
	puk1:        "3837363534333231",
	puk2:        "3133353732343638",
}

// TestPersonaliseBytes personalises several TS.48 packages and checks, on a re-parse of the result
// and at byte level, that each personalised field holds its new encoding, that every other byte is
// unchanged, and that the elements are the same apart from the ones holding those fields.
func TestPersonaliseBytes(t *testing.T) {
	for _, file := range uppFiles(t) {
		t.Run(filepath.Base(file), func(t *testing.T) {
			upp, tpl := readTemplate(t, file)
			out, err := Personalise(tpl, newData.d)
			if err != nil {
				t.Fatal(err)
			}
			checkPersonalised(t, upp, tpl, out)
		})
	}
}

// checkPersonalised checks out, the template upp personalised with newData, as
// TestPersonaliseBytes describes.
func checkPersonalised(t *testing.T, upp []byte, tpl *Package, out []byte) {
	t.Helper()
	want := map[string]string{
		"header iccid": newData.headerICCID, "EF.ICCID": newData.efICCID, "EF.IMSI": newData.efIMSI,
		"Ki": hex.EncodeToString(newData.d.Ki), "OPc": hex.EncodeToString(newData.d.OPc),
		"PIN1": newData.pin1, "PIN2": newData.pin2, "ADM1": newData.adm1, "PUK1": newData.puk1, "PUK2": newData.puk2,
	}
	got, err := Parse(out)
	if err != nil {
		t.Fatalf("Parse(personalised): %v", err)
	}
	if got.Header.ICCID != newData.d.ICCID || got.imsi != newData.d.IMSI {
		t.Errorf("re-parsed ICCID %s IMSI %s, want %s %s", got.Header.ICCID, got.imsi, newData.d.ICCID, newData.d.IMSI)
	}
	if len(got.Warnings) != len(tpl.Warnings) {
		t.Errorf("warnings %q, template had %q", got.Warnings, tpl.Warnings)
	}

	// Each field holds the new value, and the places are the template's.
	tplFields, outFields := fieldsOf(t, upp), fieldsOf(t, out)
	if len(outFields) != len(tplFields) {
		t.Fatalf("%d personalised fields, template has %d", len(outFields), len(tplFields))
	}
	for i, f := range outFields {
		if f.name != tplFields[i].name || f.n.element != tplFields[i].n.element {
			t.Fatalf("field %d is %s in element %d, template's is %s in %d", i, f.name, f.n.element, tplFields[i].name, tplFields[i].n.element)
		}
		if v := hex.EncodeToString(f.n.value()); v != want[f.name] {
			t.Errorf("%s in element %d = %s, want %s", f.name, f.n.element, v, want[f.name])
		}
	}
	for name := range want {
		if !slices.ContainsFunc(outFields, func(f field) bool { return f.name == name }) {
			t.Errorf("no %s field in the result", name)
		}
	}

	// Byte level: the values are as long as the template's, so the result is as long, and every
	// byte that differs lies inside one of the fields.
	if len(out) != len(upp) {
		t.Fatalf("result is %d bytes, template %d", len(out), len(upp))
	}
	changed := map[int]bool{}
	for i := range out {
		if out[i] == upp[i] {
			continue
		}
		k := slices.IndexFunc(outFields, func(f field) bool { return f.n.val <= i && i < f.n.end })
		if k < 0 {
			t.Fatalf("byte %d changed (%02X → %02X) outside every personalised field", i, upp[i], out[i])
		}
		changed[outFields[k].n.element] = true
	}

	// Element level: the same elements in the same order; those without a changed field are
	// identical, and the changed ones are of the kinds that hold the fields.
	if len(got.Elements) != len(tpl.Elements) {
		t.Fatalf("%d elements, template %d", len(got.Elements), len(tpl.Elements))
	}
	kinds := []string{"header", "mf", "usim", "pinCodes", "pukCodes", "akaParameter"}
	for i, e := range got.Elements {
		te := tpl.Elements[i]
		if e.Name != te.Name || e.ID != te.ID || e.Mandated != te.Mandated {
			t.Errorf("element %d is %s #%d, template %s #%d", i, e.Name, e.ID, te.Name, te.ID)
		}
		switch {
		case !changed[i] && !bytes.Equal(e.Raw, te.Raw):
			t.Errorf("element %d (%s) changed outside the fields", i, e.Name)
		case changed[i] && !slices.Contains(kinds, e.Name):
			t.Errorf("element %d (%s) changed", i, e.Name)
		}
	}
	for _, name := range kinds {
		if !slices.ContainsFunc(got.Elements, func(e Element) bool { return e.Name == name && changed[e.Index] }) {
			t.Errorf("no %s element changed", name)
		}
	}
}

// TestEncodings checks the encoders against values worked out by hand from the specifications.
func TestEncodings(t *testing.T) {
	for _, tc := range []struct{ name, got, want string }{
		{"header iccid 20 digits", hexOf(iccidHeaderRaw("89000123456789012341")), "89000123456789012341"},
		{"header iccid 19 digits", hexOf(iccidHeaderRaw("8949449999999990023")), "8949449999999990023f"},
		{"header iccid 18 digits", hexOf(iccidHeaderRaw("894944999999999001")), "894944999999999001ff"},
		{"EF.ICCID 20 digits", hexOf(iccidEF("89000123456789012341")), "98001032547698103214"},
		{"EF.ICCID 19 digits", hexOf(iccidEF("8949449999999990023")), "989444999999990920f3"},
		// TS 31.102 §4.2.2: length, then "1001" (IMSI, odd number of digits) or "0001" (even) as
		// the first nibble, digits after it, nibble-swapped and F-padded.
		{"EF.IMSI 15 digits", hexOf(imsiEF("001010123456063")), "080910101032540636"},
		{"EF.IMSI 14 digits", hexOf(imsiEF("00101012345606")), "0801101010325406f6"},
		{"EF.IMSI 6 digits", hexOf(imsiEF("001010")), "04011010f0ffffffff"},
		{"PIN 4 digits", hexOf(pinValue("0000")), "30303030ffffffff"},
		{"PIN 8 digits", hexOf(pinValue("12345678")), "3132333435363738"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.got != tc.want {
				t.Errorf("got %s, want %s", tc.got, tc.want)
			}
		})
	}
}

func hexOf[T ~[]byte | [10]byte | [9]byte | [8]byte](v T) string {
	switch x := any(v).(type) {
	case [10]byte:
		return hex.EncodeToString(x[:])
	case [9]byte:
		return hex.EncodeToString(x[:])
	case [8]byte:
		return hex.EncodeToString(x[:])
	case []byte:
		return hex.EncodeToString(x)
	}
	panic("unreachable")
}

// TestPersonaliseData feeds malformed per-profile data: each case must fail with FieldErrors naming
// exactly the fields at fault, and produce nothing.
func TestPersonaliseData(t *testing.T) {
	_, tpl := readTemplate(t, filepath.Join("..", "testdata", "upp", "TS48v2_SAIP2.3_NoBERTLV.der"))
	tmpl, err := NewTemplate(tpl)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		mod    func(d *ProfileData)
		fields []string
	}{
		{"valid", func(d *ProfileData) {}, nil},
		{"valid 20-digit ICCID", func(d *ProfileData) { d.ICCID = "89000123456789012341" }, nil},
		{"valid 18-digit ICCID", func(d *ProfileData) { d.ICCID = "894450010219830486" }, nil},
		{"valid 14-digit IMSI", func(d *ProfileData) { d.IMSI = "23450765432109" }, nil},
		{"valid 4-digit ADM1", func(d *ProfileData) { d.ADM1 = "1234" }, nil},
		{"bad Luhn", func(d *ProfileData) { d.ICCID = "8944500102198304827" }, []string{"iccid"}},
		{"ICCID 17 digits", func(d *ProfileData) { d.ICCID = "89445001021983048" }, []string{"iccid"}},
		{"ICCID 21 digits", func(d *ProfileData) { d.ICCID = "894450010219830482600" }, []string{"iccid"}},
		{"ICCID with a letter", func(d *ProfileData) { d.ICCID = "894450010219830482F" }, []string{"iccid"}},
		{"ICCID empty", func(d *ProfileData) { d.ICCID = "" }, []string{"iccid"}},
		{"IMSI 5 digits", func(d *ProfileData) { d.IMSI = "23450" }, []string{"imsi"}},
		{"IMSI 16 digits", func(d *ProfileData) { d.IMSI = "2345076543210987" }, []string{"imsi"}},
		{"IMSI with a space", func(d *ProfileData) { d.IMSI = "234507 54321098" }, []string{"imsi"}},
		{"Ki 15 bytes", func(d *ProfileData) { d.Ki = d.Ki[:15] }, []string{"ki"}},
		{"Ki 17 bytes", func(d *ProfileData) { d.Ki = append(bytes.Clone(d.Ki), 0) }, []string{"ki"}},
		{"Ki 32 bytes (TUAK-sized)", func(d *ProfileData) { d.Ki = make([]byte, 32) }, []string{"ki"}},
		{"OPc missing", func(d *ProfileData) { d.OPc = nil }, []string{"opc"}},
		{"PIN1 3 digits", func(d *ProfileData) { d.PIN1 = "123" }, []string{"pin1"}},
		{"PIN1 9 digits", func(d *ProfileData) { d.PIN1 = "123456789" }, []string{"pin1"}},
		{"PIN2 letters", func(d *ProfileData) { d.PIN2 = "12ab" }, []string{"pin2"}},
		{"PUK1 7 digits", func(d *ProfileData) { d.PUK1 = "1234567" }, []string{"puk1"}},
		{"PUK2 empty", func(d *ProfileData) { d.PUK2 = "" }, []string{"puk2"}},
		{"ADM1 15 hex digits", func(d *ProfileData) { d.ADM1 = "0A1B2C3D4E5F607" }, []string{"adm1"}},
		{"ADM1 16 non-hex", func(d *ProfileData) { d.ADM1 = "0A1B2C3D4E5F607G" }, []string{"adm1"}},
		{"ADM1 3 digits", func(d *ProfileData) { d.ADM1 = "123" }, []string{"adm1"}},
		{"everything wrong", func(d *ProfileData) { *d = ProfileData{} },
			[]string{"iccid", "imsi", "ki", "opc", "pin1", "puk1", "pin2", "puk2", "adm1"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := newData.d
			d.Ki, d.OPc = bytes.Clone(d.Ki), bytes.Clone(d.OPc)
			tc.mod(&d)
			out, err := tmpl.Personalise(d)
			if tc.fields == nil {
				if err != nil {
					t.Fatalf("Personalise: %v", err)
				}
				if p, err := Parse(out); err != nil || p.Header.ICCID != d.ICCID {
					t.Fatalf("re-parse: %v", err)
				}
				return
			}
			if out != nil {
				t.Error("output despite the error")
			}
			var fe FieldErrors
			if !errors.As(err, &fe) {
				t.Fatalf("error %v is not FieldErrors", err)
			}
			var got []string
			for _, e := range fe {
				got = append(got, e.Field)
				if e.Reason == "" || !strings.Contains(err.Error(), e.Field+": ") {
					t.Errorf("field error %+v not in %q", e, err)
				}
			}
			if !slices.Equal(got, tc.fields) {
				t.Errorf("fields %v, want %v (%v)", got, tc.fields, err)
			}
			t.Log(err)
		})
	}
}

// derLen encodes a DER length.
func derLen(n int) []byte {
	switch {
	case n < 0x80:
		return []byte{byte(n)}
	case n <= 0xFF:
		return []byte{0x81, byte(n)}
	}
	return []byte{0x82, byte(n >> 8), byte(n)}
}

// tlvBytes encodes a DER element from hex tag and content.
func tlvBytes(t testing.TB, tag string, content ...[]byte) []byte {
	c := bytes.Join(content, nil)
	return append(append(unhex(t, tag), derLen(len(c))...), c...)
}

// withElement returns upp with element i replaced by raw (or removed when raw is nil).
func withElement(t *testing.T, upp []byte, i int, raw []byte) []byte {
	t.Helper()
	es := walkPackage(t, upp)
	out := append(bytes.Clone(upp[:es[i].start]), raw...)
	return append(out, upp[es[i].end:]...)
}

// withUSIMIMSIFile returns upp with the usim element's ef-imsi File replaced by file (its content).
func withUSIMIMSIFile(t *testing.T, upp []byte, file []byte) []byte {
	t.Helper()
	for i, e := range walkPackage(t, upp) {
		if e.tag != "b3" {
			continue
		}
		f := e.child("a3")
		content := append(bytes.Clone(upp[e.val:f.start]), tlvBytes(t, "a3", file)...)
		content = append(content, upp[f.end:e.end]...)
		return withElement(t, upp, i, tlvBytes(t, "b3", content))
	}
	t.Fatal("no usim element")
	return nil
}

// TestPersonaliseLengths personalises templates whose rewritten parts change size, so that the
// lengths of the File, of the element and (in the last case) the form of the element's length
// field must all be re-encoded.
func TestPersonaliseLengths(t *testing.T) {
	upp, _ := readTemplate(t, filepath.Join("..", "testdata", "upp", "TS48v3_SAIP2.1_NoBERTLV.der"))
	var usim *node
	for _, e := range walkPackage(t, upp) {
		if e.tag == "b3" {
			usim = e
		}
	}
	fcp := upp[usim.child("a3").children[0].start:usim.child("a3").children[0].end]
	small := func(imsiFile []byte, pad int) []byte {
		// A usim element with only PEHeader, templateID, ef-imsi and an ef-arr of pad bytes:
		// PE-USIM's other files are optional to Parse, which only checks the structure.
		arr := tlvBytes(t, "a4", tlvBytes(t, "83", bytes.Repeat([]byte{0xFF}, pad)))
		return tlvBytes(t, "b3", unhex(t, "a00580008101088106"+"67810f010204"), tlvBytes(t, "a3", imsiFile), arr)
	}
	// The usim element's content grows from 120 to 128 bytes: its length takes the long form.
	var formChange []byte
	for i, e := range walkPackage(t, upp) {
		if e.tag == "b3" {
			el := small(append(bytes.Clone(fcp), unhex(t, "8301ff")...), 79)
			if len(el) != 122 || el[1] != 120 {
				t.Fatalf("synthetic usim element is %d bytes, length octet %02x", len(el), el[1])
			}
			formChange = withElement(t, upp, i, el)
		}
	}
	for _, tc := range []struct {
		name     string
		tpl      []byte
		growth   int    // bytes the result is longer than the template
		usimHead string // expected start of the personalised usim element
	}{
		{"one-byte EF.IMSI content", withUSIMIMSIFile(t, upp, append(bytes.Clone(fcp), unhex(t, "8301ff")...)), 8, "b382"},
		// 82 01 02, 83 03 FFFFFF, 82 01 01, 83 02 FFFF (15 bytes) become 83 09 … (11 bytes).
		{"offset and split content", withUSIMIMSIFile(t, upp, append(bytes.Clone(fcp), unhex(t, "820102"+"8303ffffff"+"820101"+"8302ffff")...)), -4, "b382"},
		{"no content", withUSIMIMSIFile(t, upp, fcp), 11, "b382"},
		{"length form changes", formChange, 9, "b38180"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tpl, err := Parse(tc.tpl)
			if err != nil {
				t.Fatalf("Parse(template): %v", err)
			}
			out, err := Personalise(tpl, newData.d)
			if err != nil {
				t.Fatal(err)
			}
			if len(out)-len(tc.tpl) != tc.growth {
				t.Errorf("result is %d bytes longer than the template, want %d", len(out)-len(tc.tpl), tc.growth)
			}
			got, err := Parse(out)
			if err != nil {
				t.Fatalf("Parse(personalised): %v", err)
			}
			if got.imsi != newData.d.IMSI {
				t.Errorf("IMSI %q, want %s", got.imsi, newData.d.IMSI)
			}
			for i, e := range got.Elements {
				switch e.Name {
				case "usim":
					if h := hex.EncodeToString(e.Raw[:len(tc.usimHead)/2]); h != tc.usimHead {
						t.Errorf("usim element starts %s, want %s", h, tc.usimHead)
					}
					n := walkPackage(t, e.Raw)[0]
					file := n.child("a3")
					if len(file.children) != 2 || file.children[0].tag != "a1" || file.children[1].tag != "83" ||
						hex.EncodeToString(file.children[1].value()) != newData.efIMSI {
						t.Errorf("ef-imsi is % x", e.Raw[file.start:file.end])
					}
				case "header", "mf", "pinCodes", "pukCodes", "akaParameter":
				default:
					if !bytes.Equal(e.Raw, tpl.Elements[i].Raw) {
						t.Errorf("element %d (%s) changed", i, e.Name)
					}
				}
			}
		})
	}
}

// TestNewTemplateErrors feeds templates personalisation cannot fill.
func TestNewTemplateErrors(t *testing.T) {
	upp, _ := readTemplate(t, filepath.Join("..", "testdata", "upp", "TS48v4_SAIP2.3_BERTLV.der"))
	es := walkPackage(t, upp)
	index := func(tag string) int { return slices.IndexFunc(es, func(n *node) bool { return n.tag == tag }) }
	setAlgorithm := func(id byte) []byte {
		out := bytes.Clone(upp)
		for _, e := range es {
			if e.tag == "a4" {
				out[e.child("a1").child("a1").child("80").val] = id
			}
		}
		return out
	}
	fcp := upp[es[index("b3")].child("a3").children[0].start:es[index("b3")].child("a3").children[0].end]
	for _, tc := range []struct {
		name string
		upp  []byte
		want string // in the error
	}{
		{"no pukCodes", withElement(t, upp, index("a3"), nil), "no PUK1 (pukCodes keyReference 1), no PUK2"},
		{"no usim", withElement(t, upp, index("b3"), nil), "no EF.IMSI"},
		{"TUAK", setAlgorithm(2), "algorithmID 2"},
		{"unknown algorithm", setAlgorithm(9), "algorithmID 9"},
		{"EF.IMSI not created", withUSIMIMSIFile(t, upp, unhex(t, "8000")), "doNotCreate"},
		{"EF.IMSI content beyond 9 bytes", withUSIMIMSIFile(t, upp, append(bytes.Clone(fcp), unhex(t, "830a00000000000000000000")...)), "beyond the 9 bytes"},
		{"EF.IMSI offset beyond 9 bytes", withUSIMIMSIFile(t, upp, append(bytes.Clone(fcp), unhex(t, "82010a")...)), "beyond the 9 bytes"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pkg, err := Parse(tc.upp)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			_, err = NewTemplate(pkg)
			if !errors.Is(err, ErrTemplate) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("NewTemplate: %v, want ErrTemplate mentioning %q", err, tc.want)
			}
			if _, err := Personalise(pkg, newData.d); !errors.Is(err, ErrTemplate) {
				t.Errorf("Personalise: %v, want ErrTemplate", err)
			}
		})
	}

	// Milenage, the algorithm of production profiles, is personalised like the test algorithm.
	t.Run("Milenage", func(t *testing.T) {
		m := setAlgorithm(1)
		pkg, err := Parse(m)
		if err != nil {
			t.Fatal(err)
		}
		out, err := Personalise(pkg, newData.d)
		if err != nil {
			t.Fatal(err)
		}
		checkPersonalised(t, m, pkg, out)
	})
}

// TestTemplateConcurrent personalises from one Template in several goroutines (run with -race).
func TestTemplateConcurrent(t *testing.T) {
	_, pkg := readTemplate(t, filepath.Join("..", "testdata", "upp", "TS48v5_SAIP2.3_BERTLV_SUCI.der"))
	tmpl, err := NewTemplate(pkg)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := range 50 {
				d := newData.d
				d.ICCID = WithLuhn(fmt.Sprintf("89440%013d", g*1000+i))
				out, err := tmpl.Personalise(d)
				if err != nil {
					t.Error(err)
					return
				}
				if p, err := Parse(out); err != nil || p.Header.ICCID != d.ICCID {
					t.Errorf("profile %s: %v", d.ICCID, err)
				}
			}
		})
	}
	wg.Wait()
}

// BenchmarkPersonalise measures personalising one TS.48 template (about 12 KB).
func BenchmarkPersonalise(b *testing.B) {
	_, pkg := readTemplate(b, filepath.Join("..", "testdata", "upp", "TS48v2_SAIP2.3_NoBERTLV.der"))
	tmpl, err := NewTemplate(pkg)
	if err != nil {
		b.Fatal(err)
	}
	d := newData.d
	b.ReportAllocs()
	for b.Loop() {
		if _, err := tmpl.Personalise(d); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "profiles/s")
}
