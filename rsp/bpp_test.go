package rsp

import (
	"bytes"
	"testing"

	"github.com/smdpp/smdpp/tlv"
)

// TestBPPSegmentReaderMalformed feeds the eUICC-side reader segment sequences an LPA must not
// send. The well-formed sequences come from the commercial and pysim packages (real_test.go).
func TestBPPSegmentReaderMalformed(t *testing.T) {
	f := newFixtures(t)
	var p BoundProfilePackage
	if err := p.Unmarshal(f.vectors()[bppVectorIndex(t, f)].in); err != nil {
		t.Fatal(err)
	}
	segs, err := p.Segments()
	if err != nil {
		t.Fatal(err)
	}
	// segs: [BF36+BF23] [A0+87] [A1] [88] [A2+87] [A3] [86] [86]
	if len(segs) != 8 {
		t.Fatalf("%d segments", len(segs))
	}
	checkBPPSegments(t, segs, &p)
	pick := func(idx ...int) [][]byte {
		var out [][]byte
		for _, i := range idx {
			out = append(out, segs[i])
		}
		return out
	}
	isc := p.InitialiseSecureChannelRequest.Raw
	a0hdr := segs[1][:2]
	tests := map[string][][]byte{
		"first segment without BF23":       {segs[0][:4], segs[1]},
		"first segment BF23 only":          {isc},
		"first segment with extra bytes":   {cat(segs[0], []byte{0})},
		"first segment with A0 too":        {cat(segs[0], segs[1])},
		"A1 before A0":                     pick(0, 2, 3, 1),
		"A3 right after A0":                pick(0, 1, 5, 6, 7),
		"A2 after A3":                      pick(0, 1, 2, 3, 5, 6, 7, 4),
		"88 where the A0 header is due":    pick(0, 3),
		"86 inside A1":                     {segs[0], segs[1], segs[2], segs[6]},
		"two elements in one segment":      {segs[0], segs[1], segs[2], cat(segs[3], segs[3])},
		"empty segment":                    {segs[0], nil},
		"A0 header alone, then 88":         {segs[0], a0hdr, segs[3]},
		"element longer than its sequence": {segs[0], cat(h(t, "A0 02"), segs[1][2:])},
		"sequence longer than the package": {segs[0], segs[1], segs[2], segs[3], segs[4], h(t, "A3 83 010000")},
		"segment after the end":            append(pick(0, 1, 2, 3, 4, 5, 6, 7), segs[7]),
		"BF36 too short for its BF23":      {cat(h(t, "BF36 05"), isc)},
		"not a BPP":                        {cat(h(t, "BF37 81 A0"), isc)},
		"malformed BF23":                   {cat(segs[0][:len(segs[0])-len(isc)], isc[:len(isc)-1])},
		"package ends with A3 open":        shrinkA3(t, segs),
		"package ends after A1":            endAfterA1(segs),
	}
	for name, seq := range tests {
		t.Run(name, func(t *testing.T) {
			var r BPPSegmentReader
			var err error
			for _, s := range seq {
				if _, err = r.Next(s); err != nil {
					break
				}
			}
			if err == nil {
				if r.Done() {
					t.Fatal("accepted")
				}
				return // incomplete, which Done reports
			}
			t.Log(err)
			if _, err2 := r.Next(segs[0]); err2 == nil {
				t.Fatal("reader usable after an error")
			}
		})
	}
}

// shrinkA3 returns the segments of a package whose BF36 length ends before A3 is complete.
func shrinkA3(t *testing.T, segs [][]byte) [][]byte {
	out := [][]byte{bytes.Clone(segs[0])}
	out = append(out, segs[1:7]...)
	// Lower the BF36 length (82 xx xx form) by the size of the last 86 segment.
	n := int(out[0][3])<<8 | int(out[0][4])
	n -= len(segs[7])
	out[0][3], out[0][4] = byte(n>>8), byte(n)
	return out
}

func bppVectorIndex(t *testing.T, f *fixtures) int {
	for i, v := range f.vectors() {
		if v.name == "BoundProfilePackage" {
			return i
		}
	}
	t.Fatal("no BoundProfilePackage vector")
	return 0
}

// TestBPPSegmentsHeaderOnlySequences covers empty sequences and a package without A2.
func TestBPPSegmentsHeaderOnlySequences(t *testing.T) {
	f := newFixtures(t)
	var p BoundProfilePackage
	if err := p.Unmarshal(f.vectors()[bppVectorIndex(t, f)].in); err != nil {
		t.Fatal(err)
	}
	p.SecondSequenceOf87 = nil
	p.SequenceOf88 = [][]byte{}
	p.FirstSequenceOf87 = [][]byte{}
	segs, err := p.Segments()
	if err != nil {
		t.Fatal(err)
	}
	// [BF36+BF23] [A0 00] [A1 00] [A3 …] [86] [86]
	if len(segs) != 6 || !bytes.Equal(segs[1], h(t, "A0 00")) || !bytes.Equal(segs[2], h(t, "A1 00")) {
		t.Fatalf("segments %X", segs[:3])
	}
	der, _ := p.Marshal()
	var q BoundProfilePackage
	if err := q.Unmarshal(der); err != nil {
		t.Fatal(err)
	}
	checkBPPSegments(t, segs, &q)

	p.Extensions = h(t, "9F7F 00")
	if _, err := p.Segments(); err == nil {
		t.Fatal("segmented a package with unknown fields")
	}
}

// endAfterA1 returns the first segments of a package whose BF36 length ends after the '88'.
func endAfterA1(segs [][]byte) [][]byte {
	isc := segs[0][5:] // BF36 82 xxxx, then BF23
	b := tlv.NewBuilder(nil)
	b.AddHeader(TagBoundProfilePackage, len(isc)+len(segs[1])+len(segs[2])+len(segs[3]))
	b.AddBytes(isc)
	return [][]byte{b.BytesOrPanic(), segs[1], segs[2], segs[3]}
}
