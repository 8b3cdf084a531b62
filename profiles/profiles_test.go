package profiles_test

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/smdpp/smdpp/profiles"
	"github.com/smdpp/smdpp/tlv"
)

const uppDir = "../testdata/upp"

// uppRow is one line of the file table in testdata/upp/README.md, copied from the project's
// shared/testdata/INDEX.md: the expected values for a TS.48 package.
type uppRow struct {
	file   string
	bytes  int
	major  int
	minor  int
	iccid  string // the header iccid field, raw hex
	pes    int    // number of ProfileElements
	sha256 string // first 16 hex digits
}

// readIndex reads the file table of testdata/upp/README.md.
func readIndex(t testing.TB) []uppRow {
	t.Helper()
	f, err := os.Open(filepath.Join(uppDir, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var rows []uppRow
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, "| `upp/") {
			continue
		}
		c := strings.Split(line, "|")
		if len(c) != 9 {
			t.Fatalf("README row with %d cells: %s", len(c), line)
		}
		for i := range c {
			c[i] = strings.TrimSpace(c[i])
		}
		r := uppRow{file: strings.TrimPrefix(strings.Trim(c[1], "`"), "upp/"), iccid: c[4], sha256: c[6]}
		var e1, e2, e3, e4, e5 error
		r.bytes, e1 = strconv.Atoi(c[2])
		maj, min, _ := strings.Cut(c[3], ".")
		r.major, e2 = strconv.Atoi(maj)
		r.minor, e3 = strconv.Atoi(min)
		r.pes, e4 = strconv.Atoi(c[5])
		_, e5 = hex.DecodeString(r.iccid)
		if err := errors.Join(e1, e2, e3, e4, e5); err != nil {
			t.Fatalf("README row %q: %v", line, err)
		}
		rows = append(rows, r)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return rows
}

func readUPP(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(uppDir, name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// swapNibbles turns the header's plain BCD into the nibble-swapped EF.ICCID coding.
func swapNibbles(b []byte) []byte {
	out := make([]byte, len(b))
	for i, x := range b {
		out[i] = x<<4 | x>>4
	}
	return out
}

// TestTS48 parses every TS.48 package and checks it against the table of INDEX.md.
func TestTS48(t *testing.T) {
	rows := readIndex(t)
	if len(rows) != 36 {
		t.Fatalf("README lists %d packages, want 36", len(rows))
	}
	onDisk, _ := filepath.Glob(filepath.Join(uppDir, "*.der"))
	if len(onDisk) != len(rows) {
		t.Errorf("%d .der files on disk, %d in README", len(onDisk), len(rows))
	}
	for _, r := range rows {
		t.Run(r.file, func(t *testing.T) {
			b := readUPP(t, r.file)
			sum := sha256.Sum256(b)
			if len(b) != r.bytes || hex.EncodeToString(sum[:8]) != r.sha256 {
				t.Fatalf("file is not the one INDEX.md describes: %d bytes, sha256 %x", len(b), sum[:8])
			}
			p, err := profiles.Parse(b)
			if err != nil {
				t.Fatal(err)
			}
			h := p.Header
			if got := hex.EncodeToString(h.ICCIDRaw[:]); got != r.iccid {
				t.Errorf("iccid field %s, INDEX.md says %s", got, r.iccid)
			}
			if want := strings.TrimRight(r.iccid, "f"); h.ICCID != want {
				t.Errorf("ICCID %q, want %q", h.ICCID, want)
			}
			if h.MajorVersion != r.major || h.MinorVersion != r.minor {
				t.Errorf("version %d.%d, want %d.%d", h.MajorVersion, h.MinorVersion, r.major, r.minor)
			}
			if h.ProfileType != "GSMA Generic eUICC Test Profile" {
				t.Errorf("profileType %q", h.ProfileType)
			}
			if len(p.Elements) != r.pes {
				t.Errorf("%d elements, INDEX.md says %d", len(p.Elements), r.pes)
			}
			if p.Size != len(b) {
				t.Errorf("Size %d, want %d", p.Size, len(b))
			}
			var joined []byte
			for i, e := range p.Elements {
				if e.Index != i {
					t.Errorf("element %d has Index %d", i, e.Index)
				}
				if e.Name != profiles.ElementName(e.Tag) || e.Name == "" {
					t.Errorf("element %d: name %q for tag %s", i, e.Name, e.Tag)
				}
				joined = append(joined, e.Raw...)
			}
			if !bytes.Equal(joined, b) {
				t.Error("the elements' Raw bytes do not add up to the package")
			}
			if first, last := p.Elements[0], p.Elements[len(p.Elements)-1]; first.Name != "header" || first.Tag != 0xA0 ||
				last.Name != "end" || last.Tag != 0xAA {
				t.Errorf("first %s %s, last %s %s", first.Name, first.Tag, last.Name, last.Tag)
			}
			for _, name := range []string{"mf", "usim", "pinCodes", "pukCodes", "akaParameter", "securityDomain"} {
				if !p.Has(name) {
					t.Errorf("no %s element", name)
				}
			}
			if p.Has("application") || len(p.Applications) != 0 {
				t.Error("TS.48 packages carry no application element")
			}
			if len(p.Warnings) != 0 {
				t.Errorf("warnings: %q", p.Warnings)
			}
			if len(h.MandatoryGFSTE) == 0 || len(h.MandatoryServices) == 0 {
				t.Error("empty mandatory services or GFSTE list")
			}

			m := p.Metadata()
			raw, _ := hex.DecodeString(r.iccid)
			if m.ICCID != h.ICCID || !bytes.Equal(m.ICCIDBytes[:], swapNibbles(raw)) {
				t.Errorf("metadata ICCID %s %X", m.ICCID, m.ICCIDBytes)
			}
			// EF.ICCID in the mf element holds the ICCID in the SGP.22 coding.
			if !bytes.Contains(p.Elements[1].Raw, append([]byte{0x83, 0x0A}, m.ICCIDBytes[:]...)) {
				t.Errorf("ICCIDBytes %X not found in EF.ICCID of the mf element", m.ICCIDBytes)
			}
			if m.ProfileClass != profiles.ProfileClassOperational ||
				m.ProfileName != h.ProfileType || m.ServiceProviderName != h.ProfileType {
				t.Errorf("metadata %+v", m)
			}
			if m.IMSI != "001010123456063" || m.MCC != "001" || m.MNC != "01" {
				t.Errorf("IMSI %q MCC %q MNC %q", m.IMSI, m.MCC, m.MNC)
			}

			req := p.Requirements()
			if req.Size != int64(len(b)) || req.LoadFileSize != 0 || len(req.LoadFiles) != 0 {
				t.Errorf("requirements %+v", req)
			}
			// The one instance is the security domain of the securityDomain element: ISD-P
			// parameters with no memory quotas (no systemSpecificParameters).
			if len(req.Applets) != 1 || req.Applets[0].Name != "securityDomain" ||
				req.Applets[0].Applet != (profiles.Applet{}) ||
				hex.EncodeToString(req.Applets[0].InstanceAID) != "a000000151000000" {
				t.Errorf("applets %+v", req.Applets)
			}
		})
	}
}

// offsets returns the start of every top-level element of upp, and len(upp) last.
func offsets(t testing.TB, upp []byte) []int {
	t.Helper()
	var out []int
	s := tlv.String(upp)
	for !s.Empty() {
		out = append(out, len(upp)-len(s))
		if !s.ReadElement(nil, nil) {
			t.Fatal("test package does not split into elements")
		}
	}
	return append(out, len(upp))
}

func cat(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

// flipLength flips the lowest bit of the last length octet of the element at off.
func flipLength(upp []byte, off int) []byte {
	b := bytes.Clone(upp)
	i := off + 1 // one-octet tags in SAIP up to [30]
	if b[i] > 0x80 {
		i += int(b[i] & 0x7F)
	}
	b[i] ^= 0x01
	return b
}

func TestParseMalformed(t *testing.T) {
	good := readUPP(t, "TS48v2_SAIP2.3_NoBERTLV.der") // 30 elements
	off := offsets(t, good)
	if len(off) != 31 {
		t.Fatalf("%d elements", len(off)-1)
	}
	elem := func(i int) []byte { return good[off[i]:off[i+1]] }
	// Element names in this package by index; its tags run A0 B0 A3 A2 B2 A2 A1 B3 B4 A2 A4 B8 …
	// AA, and B8 is [24] gsm-access in the ProfileElement CHOICE.
	names := map[int]string{0: "header", 1: "mf", 3: "pinCodes", 5: "pinCodes", 11: "gsm-access", 29: "end"}
	unknown := cat([]byte{0xBF, 0x2A}, elem(3)[1:])                      // [42]: past opt-iot [33]
	primitive := cat([]byte{0x80}, elem(3)[1:])                          // primitive [0] is no alternative
	badDER := cat(good[:off[3]], h("A206 A004 81810105"), good[off[4]:]) // 81 81 01: non-minimal length

	tests := []struct {
		name  string
		in    []byte
		index int
		elem  string
		err   error
	}{
		{"empty", nil, 0, "header", profiles.ErrEmpty},
		{"truncated inside an element", good[:off[5]+10], 5, "pinCodes", profiles.ErrTruncated},
		{"truncated inside a length", good[:off[1]+2], 1, "mf", profiles.ErrTruncated},
		{"truncated by one byte", good[:len(good)-1], 29, "end", profiles.ErrTruncated},
		{"truncated at an element boundary", good[:off[12]], 12, "end", profiles.ErrNoEnd},
		{"header removed", good[off[1]:], 0, "mf", profiles.ErrHeaderNotFirst},
		{"header twice", cat(elem(0), good), 1, "header", profiles.ErrHeaderNotFirst},
		{"end removed", good[:off[29]], 29, "end", profiles.ErrNoEnd},
		{"junk appended", cat(good, []byte{0xDE, 0xAD, 0xBE, 0xEF}), 30, "", profiles.ErrTrailingBytes},
		{"zero appended", cat(good, []byte{0x00}), 30, "", profiles.ErrTrailingBytes},
		{"element after end", cat(good, elem(1)), 30, "mf", profiles.ErrEndNotLast},
		{"end in the middle", cat(good[:off[3]], elem(29), good[off[3]:]), 4, "pinCodes", profiles.ErrEndNotLast},
		{"unknown tag", cat(good[:off[3]], unknown, good[off[4]:]), 3, "", profiles.ErrUnknownElement},
		{"primitive tag", cat(good[:off[3]], primitive, good[off[4]:]), 3, "", profiles.ErrUnknownElement},
		{"unknown tag first", cat(unknown, good), 0, "", profiles.ErrUnknownElement},
		{"non-DER length inside", badDER, 3, "pinCodes", profiles.ErrMalformed},
		{"non-DER length outside", cat(good[:off[3]], []byte{0xA2, 0x81, 0x22}, elem(3)[2:], good[off[4]:]), 3, "pinCodes", profiles.ErrMalformed},
		{"no PEHeader", cat(good[:off[3]], []byte{0xA2, 0x03, 0x04, 0x01, 0x00}, good[off[4]:]), 3, "pinCodes", profiles.ErrMalformed},
	}
	for _, k := range []int{0, 1, 3, 5, 11, 29} {
		tests = append(tests, struct {
			name  string
			in    []byte
			index int
			elem  string
			err   error
		}{"length flipped in element " + strconv.Itoa(k), flipLength(good, off[k]), k, names[k], nil})
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, err := profiles.Parse(tc.in)
			if err == nil {
				t.Fatalf("parsed, %d elements", len(p.Elements))
			}
			t.Log(err)
			var ee *profiles.ElementError
			if !errors.As(err, &ee) {
				t.Fatalf("%T %v, want *ElementError", err, err)
			}
			if ee.Index != tc.index || ee.Name != tc.elem {
				t.Errorf("element %d %q, want %d %q (%v)", ee.Index, ee.Name, tc.index, tc.elem, err)
			}
			switch {
			case tc.err != nil && !errors.Is(err, tc.err):
				t.Errorf("error %v, want %v", err, tc.err)
			case tc.err == nil && !errors.Is(err, profiles.ErrMalformed) && !errors.Is(err, profiles.ErrTruncated):
				t.Errorf("error %v, want malformed or truncated", err)
			}
			if !strings.HasPrefix(err.Error(), "profiles: element "+strconv.Itoa(tc.index)) {
				t.Errorf("message %q", err)
			}
		})
	}
}

// Building blocks of synthetic packages. Tags are written as the ASN.1 module and ETSI TS 102 226
// give them, not taken from the package under test.
func tlvOf(tag tlv.Tag, content ...[]byte) []byte {
	b := tlv.NewBuilder(nil)
	b.AddValue(tag, cat(content...))
	return b.BytesOrPanic()
}

func h(s string) []byte {
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		panic(err)
	}
	return b
}

// peHeader is a PEHeader [0] with identification id.
func peHeader(id byte) []byte { return tlvOf(0xA0, tlvOf(0x81, []byte{id})) }

// header builds a ProfileHeader element from its version and raw iccid field.
func header(major, minor byte, iccid []byte, extra ...[]byte) []byte {
	return tlvOf(0xA0,
		tlvOf(0x80, []byte{major}), tlvOf(0x81, []byte{minor}),
		tlvOf(0x82, []byte("Test")), tlvOf(0x83, iccid),
		tlvOf(0xA5, h("8100")), tlvOf(0xA6, h("0606 67810f010201")), cat(extra...))
}

var endPE = tlvOf(0xAA, peHeader(9))

func TestHeader(t *testing.T) {
	luhnOK := h("89000123456789012341")
	tests := []struct {
		name  string
		upp   []byte
		err   error
		iccid string
	}{
		{"minimal v2", cat(header(2, 1, luhnOK), endPE), nil, "89000123456789012341"},
		{"v3", cat(header(3, 3, luhnOK), endPE), nil, "89000123456789012341"},
		{"19 digits padded", cat(header(2, 3, h("8949449999999990023f")), endPE), nil, "8949449999999990023"},
		{"18 digits padded", cat(header(2, 3, h("894944999999999004ff")), endPE), nil, "894944999999999004"},
		{"extension addition", cat(header(2, 3, luhnOK, tlvOf(0x8B, []byte{1})), endPE), nil, "89000123456789012341"},
		{"major 1", cat(header(1, 0, luhnOK), endPE), profiles.ErrVersion, ""},
		{"major 4", cat(header(4, 0, luhnOK), endPE), profiles.ErrVersion, ""},
		{"iccid 9 octets", cat(header(2, 1, luhnOK[:9]), endPE), profiles.ErrICCIDLength, ""},
		{"iccid 11 octets", cat(header(2, 1, cat(luhnOK, []byte{0xFF})), endPE), profiles.ErrICCIDLength, ""},
		{"iccid Luhn", cat(header(2, 1, h("89000123456789012342")), endPE), profiles.ErrICCIDLuhn, ""},
		{"iccid nibble-swapped", cat(header(2, 1, h("98001032547698103214")), endPE), profiles.ErrICCIDLuhn, ""},
		{"iccid F inside", cat(header(2, 1, h("894944999999999f0023")), endPE), profiles.ErrICCIDDigits, ""},
		{"iccid hex digit", cat(header(2, 1, h("8900012345678901234a")), endPE), profiles.ErrICCIDDigits, ""},
		{"iccid too short", cat(header(2, 1, h("8900012345678901ffff")), endPE), profiles.ErrICCIDDigits, ""},
		{"services out of order", cat(tlvOf(0xA0, tlvOf(0x80, []byte{2}), tlvOf(0x81, []byte{1}), tlvOf(0x83, luhnOK),
			tlvOf(0xA5, h("8200 8100")), tlvOf(0xA6)), endPE), profiles.ErrMalformed, ""},
		{"no GFSTE list", cat(tlvOf(0xA0, tlvOf(0x80, []byte{2}), tlvOf(0x81, []byte{1}), tlvOf(0x83, luhnOK),
			tlvOf(0xA5)), endPE), profiles.ErrMalformed, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, err := profiles.Parse(tc.upp)
			if tc.err != nil {
				var ee *profiles.ElementError
				if !errors.Is(err, tc.err) || !errors.As(err, &ee) || ee.Index != 0 || ee.Name != "header" {
					t.Fatalf("error %v, want %v at element 0 (header)", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if p.Header.ICCID != tc.iccid || len(p.Elements) != 2 {
				t.Errorf("ICCID %q, %d elements", p.Header.ICCID, len(p.Elements))
			}
			if got := p.Header.MandatoryServices; len(got) != 1 || got[0] != "usim" {
				t.Errorf("services %q", got)
			}
			if p.Elements[1].ID != 9 || p.Elements[0].ID != -1 {
				t.Errorf("identifications %d %d", p.Elements[0].ID, p.Elements[1].ID)
			}
		})
	}
}

// appletUPP is a package with one application element: a load file of 300 bytes with load
// parameters C6/C7/C8, and two instances, the first with UICC system specific parameters
// C7 = 25 KiB, C8 = 4 KiB, D7 = 2 KiB, D8 = 1 KiB (ETSI TS 102 226 §8.2.1.3.2.1 tags C7, C8, D7,
// D8 inside EF), the second with none.
func appletUPP() []byte {
	aid := func(s string) []byte { return tlvOf(0x4F, h(s)) }
	loadBlock := tlvOf(0xA1,
		aid("A0000000871005"), tlvOf(0xC6, h("0400")), tlvOf(0xC7, h("0080")), tlvOf(0xC8, h("0100")),
		tlvOf(0xC4, bytes.Repeat([]byte{0xCA}, 300)))
	inst1 := tlvOf(0x30,
		aid("A0000000871005"), aid("A000000087100501"), aid("A00000008710050101"),
		tlvOf(0x82, h("00")), tlvOf(0xC9, h("00")),
		tlvOf(0xEF, tlvOf(0xC7, h("6400")), tlvOf(0xC8, h("1000")), tlvOf(0xD7, h("0800")), tlvOf(0xD8, h("000400"))),
		tlvOf(0xEA, tlvOf(0x80, h("0100"))))
	inst2 := tlvOf(0x30,
		aid("A0000000871005"), aid("A000000087100501"), aid("A00000008710050102"),
		tlvOf(0x82, h("00")), tlvOf(0x83, h("0F")), tlvOf(0xC9, nil))
	app := tlvOf(0xA8, peHeader(2), loadBlock, tlvOf(0xA2, inst1, inst2))
	return cat(header(3, 3, h("89000123456789012341")), app, endPE)
}

func TestApplication(t *testing.T) {
	upp := appletUPP()
	p, err := profiles.Parse(upp)
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Applications) != 1 || p.Applications[0].Element != 1 || p.Elements[1].Name != "application" {
		t.Fatalf("applications %+v", p.Applications)
	}
	a := p.Applications[0]
	if lb := a.LoadBlock; lb == nil || lb.Size != 300 || lb.NonVolatileCodeLimit != 1024 ||
		lb.VolatileDataLimit != 128 || lb.NonVolatileDataLimit != 256 {
		t.Errorf("load block %+v", a.LoadBlock)
	}
	if len(a.Instances) != 2 || a.Instances[0].LifeCycleState != 0x07 || a.Instances[1].LifeCycleState != 0x0F ||
		!bytes.Equal(a.Instances[0].ToolkitParameters, h("0100")) {
		t.Errorf("instances %+v", a.Instances)
	}
	want := profiles.Requirements{
		Size:         int64(len(upp)),
		LoadFileSize: 300,
		LoadFiles: []profiles.LoadFileRequirement{{Element: 1, AID: h("A0000000871005"), Size: 300,
			NonVolatileCode: 1024, VolatileData: 128, NonVolatileData: 256}},
		Applets: []profiles.AppletRequirement{
			{Element: 1, Name: "application", InstanceAID: h("A00000008710050101"),
				Applet: profiles.Applet{C7: 25 << 10, D7: 2 << 10}, NonVolatileQuota: 4 << 10, NonVolatileReserved: 1 << 10},
			{Element: 1, Name: "application", InstanceAID: h("A00000008710050102")},
		},
	}
	if got := p.Requirements(); !reflect.DeepEqual(got, want) {
		t.Errorf("requirements\n got %+v\nwant %+v", got, want)
	}

	// The same package against cards, in bytes.
	req := p.Requirements()
	nvNeed := int64(len(upp)) + 1<<10
	tests := []struct {
		name    string
		card    profiles.Card
		memory  string
		needed  int64
		avail   int64
		aidLast byte
	}{
		{"fits", profiles.Card{M: 2 << 10, N: 4, Dc: 0, NonVolatile: nvNeed}, "", 0, 0, 0},
		{"non-volatile one byte short", profiles.Card{M: 2 << 10, N: 4, NonVolatile: nvNeed - 1}, "non-volatile", nvNeed, nvNeed - 1, 0},
		{"D7 above M", profiles.Card{M: 2<<10 - 1, N: 4, NonVolatile: nvNeed}, "volatile", 2 << 10, 2<<10 - 1, 0x01},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := profiles.Check(tc.card, req)
			if tc.memory == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			var me *profiles.InsufficientMemoryError
			if !errors.As(err, &me) {
				t.Fatalf("%v, want *InsufficientMemoryError", err)
			}
			if me.Memory != tc.memory || me.Needed != tc.needed || me.Available != tc.avail {
				t.Errorf("%+v", me)
			}
			if tc.aidLast != 0 && (len(me.InstanceAID) == 0 || me.InstanceAID[len(me.InstanceAID)-1] != tc.aidLast) {
				t.Errorf("instance %X", me.InstanceAID)
			}
			msg := err.Error()
			if !strings.Contains(msg, strconv.FormatInt(tc.needed, 10)) || !strings.Contains(msg, strconv.FormatInt(tc.avail, 10)) {
				t.Errorf("message %q does not name %d and %d", msg, tc.needed, tc.avail)
			}
		})
	}

	// A deselect-transient need the second instance cannot meet: the first leaves M = 0.
	req.Applets[1].Applet.D = 1
	err = profiles.Check(profiles.Card{M: 2 << 10, N: 1, Dc: 0, NonVolatile: nvNeed}, req)
	var me *profiles.InsufficientMemoryError
	if !errors.As(err, &me) || me.Memory != "volatile" || me.Needed != 1 || me.Available != 0 ||
		!bytes.Equal(me.InstanceAID, h("A00000008710050102")) {
		t.Errorf("%v", err)
	}
	if err := profiles.Check(profiles.Card{M: 2 << 10, N: 1, Dc: 1, NonVolatile: nvNeed}, req); err != nil {
		t.Errorf("with Dc = 1: %v", err)
	}
	if err := profiles.Check(profiles.Card{M: -1}, req); !errors.Is(err, profiles.ErrInvalidCard) {
		t.Errorf("negative card: %v", err)
	}
}

func TestApplicationMalformed(t *testing.T) {
	good := appletUPP()
	hdr := header(3, 3, h("89000123456789012341"))
	aid := tlvOf(0x4F, h("A0000000871005"))
	inst := func(ef []byte) []byte {
		return tlvOf(0x30, aid, aid, aid, tlvOf(0x82, h("00")), tlvOf(0xC9, nil), ef)
	}
	app := func(content ...[]byte) []byte { return cat(hdr, tlvOf(0xA8, peHeader(2), cat(content...)), endPE) }
	tests := []struct {
		name string
		upp  []byte
	}{
		{"C7 of one octet", app(tlvOf(0xA2, inst(tlvOf(0xEF, tlvOf(0xC7, h("20"))))))},
		{"D7 of five octets", app(tlvOf(0xA2, inst(tlvOf(0xEF, tlvOf(0xD7, h("0000000100"))))))},
		{"D7 before C7", app(tlvOf(0xA2, inst(tlvOf(0xEF, tlvOf(0xD7, h("0100")), tlvOf(0xC7, h("0100"))))))},
		{"empty instance list", app(tlvOf(0xA2))},
		{"instance without C9", app(tlvOf(0xA2, tlvOf(0x30, aid, aid, aid, tlvOf(0x82, h("00")))))},
		{"AID of four octets", app(tlvOf(0xA2, tlvOf(0x30, tlvOf(0x4F, h("A0000000")), aid, aid, tlvOf(0x82, nil), tlvOf(0xC9, nil))))},
		{"load block without object", app(tlvOf(0xA1, aid))},
		{"lifeCycleState of two octets", app(tlvOf(0xA2, tlvOf(0x30, aid, aid, aid, tlvOf(0x82, nil), tlvOf(0x83, h("0707")), tlvOf(0xC9, nil))))},
	}
	if _, err := profiles.Parse(good); err != nil {
		t.Fatal(err)
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := profiles.Parse(tc.upp)
			var ee *profiles.ElementError
			if !errors.As(err, &ee) || ee.Index != 1 || ee.Name != "application" || !errors.Is(err, profiles.ErrMalformed) {
				t.Errorf("%v, want malformed element 1 (application)", err)
			}
		})
	}
}

func TestExtCardResource(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want profiles.ExtCardResource
		ok   bool
	}{
		{"three tags", "810103 8203 01F400 8302 2000", profiles.ExtCardResource{3, 0x01F400, 0x2000}, true},
		{"four-octet values", "8101FF 8204 FFFFFFFF 8304 00010000", profiles.ExtCardResource{255, 0xFFFFFFFF, 0x10000}, true},
		{"any order", "8302 0400 8201 10 810100", profiles.ExtCardResource{0, 0x10, 0x400}, true},
		{"without 81", "8202 0100 8301 01", profiles.ExtCardResource{0, 0x100, 1}, true},
		{"unknown tag skipped", "810101 8201 01 8301 02 8402 ABCD", profiles.ExtCardResource{1, 1, 2}, true},
		{"long-form length", "8181 01 05 8201 01 8301 02", profiles.ExtCardResource{5, 1, 2}, true},
		{"empty", "", profiles.ExtCardResource{}, false},
		{"without 83", "810101 8202 0100", profiles.ExtCardResource{}, false},
		{"without 82", "810101 8302 0100", profiles.ExtCardResource{}, false},
		{"zero-length value", "8100 8201 01 8301 01", profiles.ExtCardResource{}, false},
		{"five-octet value", "8205 0100000000 8301 01", profiles.ExtCardResource{}, false},
		{"tag twice", "8201 01 8201 02 8301 01", profiles.ExtCardResource{}, false},
		{"truncated", "8201 01 8302 01", profiles.ExtCardResource{}, false},
		{"indefinite length", "8280 0100 0000 8301 01", profiles.ExtCardResource{}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := profiles.ParseExtCardResource(h(tc.in))
			if !tc.ok {
				if !errors.Is(err, profiles.ErrExtCardResource) {
					t.Errorf("%+v, %v; want ErrExtCardResource", got, err)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Errorf("%+v, %v; want %+v", got, err, tc.want)
			}
		})
	}
	r, _ := profiles.ParseExtCardResource(h("810103 8203 01F400 8302 2000"))
	if c := r.Card(4, 256); c != (profiles.Card{M: 0x2000, N: 4, Dc: 256, NonVolatile: 0x01F400}) {
		t.Errorf("card %+v", c)
	}
}

func FuzzParse(f *testing.F) {
	for _, name := range []string{"TS48v2_SAIP2.3_NoBERTLV.der", "TS48V1-B-UNIQUE.der", "TS48v5_SAIP2.3_BERTLV_SUCI.der"} {
		f.Add(readUPP(f, name))
	}
	f.Add(appletUPP())
	f.Add(cat(header(2, 1, h("8949449999999990023f")), endPE))
	f.Fuzz(func(t *testing.T, upp []byte) {
		p, err := profiles.Parse(upp)
		if err != nil {
			var ee *profiles.ElementError
			if !errors.As(err, &ee) || ee.Index < 0 {
				t.Fatalf("error %T %v", err, err)
			}
			return
		}
		var joined []byte
		for _, e := range p.Elements {
			joined = append(joined, e.Raw...)
		}
		if !bytes.Equal(joined, upp) {
			t.Fatal("elements do not add up to the input")
		}
		if p.Elements[0].Name != "header" || p.Elements[len(p.Elements)-1].Name != "end" {
			t.Fatal("header or end misplaced")
		}
		m := p.Metadata()
		if len(m.ICCID) < 18 || len(m.ICCID) > 20 {
			t.Fatalf("ICCID %q", m.ICCID)
		}
		req := p.Requirements()
		_ = profiles.Check(profiles.Card{M: 1 << 20, N: 4, Dc: 256, NonVolatile: 1 << 20}, req)
	})
}

func BenchmarkParse(b *testing.B) {
	upp := readUPP(b, "TS48v2_SAIP2.3_NoBERTLV.der") // 12251 bytes
	b.SetBytes(int64(len(upp)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := profiles.Parse(upp); err != nil {
			b.Fatal(err)
		}
	}
}
