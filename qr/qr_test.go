package qr

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"image"
	"image/png"
	"io"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"rsc.io/qr/coding"

	"github.com/smdpp/smdpp/activation"
)

// texts are activation codes of the shapes an SM-DP+ issues: generated and operator-chosen
// matchingIds, with and without the confirmation code flag, in byte mode (lower case) and in
// alphanumeric mode (upper case only), up to the longest code SGP.22 allows.
var texts = []string{
	activation.Code{Address: "smdp.example.com", MatchingID: "ABCDE-FGHJK-LMNPQ-RSTUV"}.QRString(),
	activation.Code{Address: "SMDP.EXAMPLE.COM", MatchingID: "QR-G-5C-1LS-1W1Z9P7"}.QRString(),
	activation.Code{Address: "rsp.example.net:8443", MatchingID: "M-1", ConfirmationCodeRequired: true}.QRString(),
	activation.Code{Address: "smdp.example.com", MatchingID: "0123456789"}.QRString(),
	"LPA:1$" + strings.Repeat("a", 63) + "." + strings.Repeat("b", 63) + ".example$" + strings.Repeat("X", 64) + "$1.3.6.1.4.1.31746$1",
	"0123456789", // numeric mode
}

// readPNG decodes a PNG and reads its module matrix back: it finds the code by its black
// bounding box, derives the module size from it, and samples each module's centre. It also
// checks that the image is pure black and white and that the quiet zone is wide enough.
func readPNG(t *testing.T, data []byte, size, modules int) [][]bool {
	t.Helper()
	img, err := png.Decode(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("png.Decode: %v", err)
	}
	if b := img.Bounds(); b != image.Rect(0, 0, size, size) {
		t.Fatalf("bounds %v, want %dx%d", b, size, size)
	}
	black := func(x, y int) bool {
		r, g, b, _ := img.At(x, y).RGBA()
		switch {
		case r == 0 && g == 0 && b == 0:
			return true
		case r == 0xffff && g == 0xffff && b == 0xffff:
			return false
		}
		t.Fatalf("pixel (%d,%d) is neither black nor white", x, y)
		return false
	}
	minX, minY, maxX, maxY := size, size, -1, -1
	for y := range size {
		for x := range size {
			if black(x, y) {
				minX, minY, maxX, maxY = min(minX, x), min(minY, y), max(maxX, x), max(maxY, y)
			}
		}
	}
	if maxX-minX != maxY-minY || (maxX-minX+1)%modules != 0 {
		t.Fatalf("black box (%d,%d)-(%d,%d) is not %d square modules", minX, minY, maxX, maxY, modules)
	}
	scale := (maxX - minX + 1) / modules
	if minX < QuietZone*scale || minY < QuietZone*scale || size-1-maxX < QuietZone*scale || size-1-maxY < QuietZone*scale {
		t.Fatalf("quiet zone narrower than %d modules of %d px: box (%d,%d)-(%d,%d) in %d px", QuietZone, scale, minX, minY, maxX, maxY, size)
	}
	m := make([][]bool, modules)
	for y := range m {
		m[y] = make([]bool, modules)
		for x := range m[y] {
			cx, cy := minX+x*scale+scale/2, minY+y*scale+scale/2
			m[y][x] = black(cx, cy)
			// Every pixel of the module agrees with its centre.
			for _, p := range [][2]int{{minX + x*scale, minY + y*scale}, {minX + (x+1)*scale - 1, minY + (y+1)*scale - 1}} {
				if black(p[0], p[1]) != m[y][x] {
					t.Fatalf("module (%d,%d) is not uniform", x, y)
				}
			}
		}
	}
	return m
}

// formatInfo reads both copies of the 15-bit format information (ISO/IEC 18004 §7.9) and
// checks them: they must agree and be a valid BCH(15,5) code word. It returns the error
// correction level bits and the mask.
func formatInfo(t *testing.T, m [][]bool) (levelBits, mask int) {
	t.Helper()
	n := len(m)
	bit := func(x, y int, w int) int {
		w <<= 1
		if m[y][x] {
			w |= 1
		}
		return w
	}
	var a, b int
	for x := 0; x <= 5; x++ {
		a = bit(x, 8, a)
	}
	a = bit(7, 8, a)
	a = bit(8, 8, a)
	a = bit(8, 7, a)
	for y := 5; y >= 0; y-- {
		a = bit(8, y, a)
	}
	for y := n - 1; y >= n-7; y-- {
		b = bit(8, y, b)
	}
	for x := n - 8; x < n; x++ {
		b = bit(x, 8, b)
	}
	if a != b {
		t.Fatalf("format information copies differ: %015b and %015b", a, b)
	}
	w := a ^ 0x5412
	data := w >> 10
	rem := data << 10
	for i := 14; i >= 10; i-- {
		if rem&(1<<i) != 0 {
			rem ^= 0x537 << (i - 10)
		}
	}
	if data<<10|rem != w {
		t.Fatalf("format information %015b is not a BCH code word", a)
	}
	if !m[4*((n-17)/4)+9][8] {
		t.Error("dark module missing")
	}
	return data >> 3, data & 7
}

// finderAt reports whether a 7×7 finder pattern has its corner at (x0, y0).
func finderAt(m [][]bool, x0, y0 int) bool {
	for y := range 7 {
		for x := range 7 {
			ring := max(abs(x-3), abs(y-3))
			if m[y0+y][x0+x] != (ring != 2) {
				return false
			}
		}
	}
	return true
}

func abs(x int) int { return max(x, -x) }

// decode reads the text back from a module matrix: the format information gives the level and
// mask, rsc.io/qr/coding's plan of that version gives where each data bit sits, and the
// segment (numeric, alphanumeric or byte mode, ISO/IEC 18004 §7.4) is parsed here.
func decode(t *testing.T, m [][]bool) string {
	t.Helper()
	n := len(m)
	if (n-17)%4 != 0 || n < 21 {
		t.Fatalf("%d modules a side is no QR version", n)
	}
	version := (n - 17) / 4
	for _, c := range [][2]int{{0, 0}, {n - 7, 0}, {0, n - 7}} {
		if !finderAt(m, c[0], c[1]) {
			t.Fatalf("no finder pattern at %v", c)
		}
	}
	for i := 8; i < n-8; i++ {
		if m[6][i] != (i%2 == 0) || m[i][6] != (i%2 == 0) {
			t.Fatalf("timing pattern broken at %d", i)
		}
	}
	levelBits, mask := formatInfo(t, m)
	level := map[int]coding.Level{1: coding.L, 0: coding.M, 3: coding.Q, 2: coding.H}[levelBits]
	if level != coding.M {
		t.Errorf("error correction level %v, want M", level)
	}
	plan, err := coding.NewPlan(coding.Version(version), level, coding.Mask(mask))
	if err != nil {
		t.Fatal(err)
	}
	stream := make([]byte, plan.DataBytes+plan.CheckBytes)
	for y, row := range plan.Pixel {
		for x, pix := range row {
			if r := pix.Role(); r != coding.Data && r != coding.Check {
				continue
			}
			if m[y][x] != (pix&coding.Black != 0) {
				o := pix.Offset()
				stream[o/8] |= 1 << (7 - o%8)
			}
		}
	}
	r := &bitReader{b: stream[:plan.DataBytes]}
	class := 0
	if version >= 27 {
		class = 2
	} else if version >= 10 {
		class = 1
	}
	var out strings.Builder
	switch mode := r.read(4); mode {
	case 1: // numeric
		count := r.read([]int{10, 12, 14}[class])
		for ; count >= 3; count -= 3 {
			fmt.Fprintf(&out, "%03d", r.read(10))
		}
		switch count {
		case 2:
			fmt.Fprintf(&out, "%02d", r.read(7))
		case 1:
			fmt.Fprintf(&out, "%d", r.read(4))
		}
	case 2: // alphanumeric
		const alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"
		count := r.read([]int{9, 11, 13}[class])
		for ; count >= 2; count -= 2 {
			v := r.read(11)
			out.WriteByte(alphabet[v/45])
			out.WriteByte(alphabet[v%45])
		}
		if count == 1 {
			out.WriteByte(alphabet[r.read(6)])
		}
	case 4: // byte
		count := r.read([]int{8, 16, 16}[class])
		for range count {
			out.WriteByte(byte(r.read(8)))
		}
	default:
		t.Fatalf("unexpected mode %04b", mode)
	}
	if r.err {
		t.Fatal("segment runs past the data")
	}
	if rest := r.left(); rest >= 4 && r.read(4) != 0 {
		t.Error("no terminator after the segment")
	}
	return out.String()
}

type bitReader struct {
	b   []byte
	pos int
	err bool
}

func (r *bitReader) left() int { return len(r.b)*8 - r.pos }

func (r *bitReader) read(n int) int {
	v := 0
	for range n {
		if r.pos >= len(r.b)*8 {
			r.err = true
			return 0
		}
		v = v<<1 | int(r.b[r.pos/8]>>(7-r.pos%8)&1)
		r.pos++
	}
	return v
}

func TestPNG(t *testing.T) {
	for i, text := range texts {
		mods, err := Modules(text)
		if err != nil {
			t.Fatalf("Modules(%q): %v", text, err)
		}
		n := len(mods)
		for _, size := range []int{n + 2*QuietZone, 2*(n+2*QuietZone) + 1, 300, 512} {
			t.Run(fmt.Sprintf("text %d at %d px", i, size), func(t *testing.T) {
				data, err := PNG(text, size)
				if err != nil {
					t.Fatal(err)
				}
				m := readPNG(t, data, size, n)
				for y := range m {
					for x := range m[y] {
						if m[y][x] != mods[y][x] {
							t.Fatalf("module (%d,%d) differs from the code", x, y)
						}
					}
				}
				if got := decode(t, m); got != text {
					t.Fatalf("decoded %q, want %q", got, text)
				}
			})
		}
	}
}

func TestPNGErrors(t *testing.T) {
	mods, _ := Modules(texts[0])
	for _, tt := range []struct {
		name, text string
		size       int
	}{
		{"too small", texts[0], len(mods) + 2*QuietZone - 1},
		{"zero size", texts[0], 0},
		{"negative size", texts[0], -5},
		{"too large", texts[0], 1<<14 + 1},
		{"empty text", "", 300},
		{"text too long", strings.Repeat("x", MaxText+1), 300},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := PNG(tt.text, tt.size); err == nil {
				t.Fatal("no error")
			}
		})
	}
	if _, err := SVG(""); err == nil {
		t.Error("SVG of empty text")
	}
	// The longest text QR holds in byte mode at level M is 2331 bytes, more than MaxText; a
	// text just inside MaxText still encodes.
	if _, err := Modules(strings.Repeat("x", MaxText)); err != nil {
		t.Errorf("Modules of %d bytes: %v", MaxText, err)
	}
}

var runRE = regexp.MustCompile(`M(\d+) (\d+)h(\d+)v1h-(\d+)z`)

func TestSVG(t *testing.T) {
	for i, text := range texts {
		t.Run(strconv.Itoa(i), func(t *testing.T) {
			data, err := SVG(text)
			if err != nil {
				t.Fatal(err)
			}
			mods, _ := Modules(text)
			n := len(mods) + 2*QuietZone
			// Well-formed XML with an svg root that has the right viewBox.
			dec := xml.NewDecoder(bytes.NewReader(data))
			var root *xml.StartElement
			var path string
			for {
				tok, err := dec.Token()
				if err == io.EOF {
					break
				}
				if err != nil {
					t.Fatalf("not well-formed XML: %v\n%s", err, data)
				}
				if se, ok := tok.(xml.StartElement); ok {
					if root == nil {
						root = &se
					}
					if se.Name.Local == "path" {
						for _, a := range se.Attr {
							if a.Name.Local == "d" {
								path = a.Value
							}
						}
					}
				}
			}
			if root == nil || root.Name.Local != "svg" || root.Name.Space != "http://www.w3.org/2000/svg" {
				t.Fatalf("root %+v", root)
			}
			attrs := map[string]string{}
			for _, a := range root.Attr {
				attrs[a.Name.Local] = a.Value
			}
			if want := fmt.Sprintf("0 0 %d %d", n, n); attrs["viewBox"] != want {
				t.Fatalf("viewBox %q, want %q", attrs["viewBox"], want)
			}
			// The path's runs paint exactly the black modules, each once.
			m := make([][]bool, len(mods))
			for y := range m {
				m[y] = make([]bool, len(mods))
			}
			runs := runRE.FindAllStringSubmatch(path, -1)
			if strings.Join(flatten(runs), "") != path {
				t.Fatalf("path holds more than runs: %q", path)
			}
			for _, r := range runs {
				x, _ := strconv.Atoi(r[1])
				y, _ := strconv.Atoi(r[2])
				l, _ := strconv.Atoi(r[3])
				if r[3] != r[4] {
					t.Fatalf("run %q does not close", r[0])
				}
				for j := x; j < x+l; j++ {
					if m[y-QuietZone][j-QuietZone] {
						t.Fatalf("module (%d,%d) painted twice", j, y)
					}
					m[y-QuietZone][j-QuietZone] = true
				}
			}
			for y := range m {
				for x := range m[y] {
					if m[y][x] != mods[y][x] {
						t.Fatalf("module (%d,%d) differs", x, y)
					}
				}
			}
			if got := decode(t, m); got != text {
				t.Fatalf("decoded %q, want %q", got, text)
			}
		})
	}
}

func flatten(runs [][]string) []string {
	out := make([]string, len(runs))
	for i, r := range runs {
		out[i] = r[0]
	}
	return out
}
