package rsp

import (
	"bytes"
	"encoding/binary"
	"errors"
	"testing"
)

// Fuzz targets for the decoders that take input from the network (ES9+ requests to the SM-DP+)
// or, for the virtual eUICC, from an LPA. Property: no panic; any refusal wraps ErrMalformed;
// anything accepted re-encodes to exactly the input (so only DER is accepted, and nothing is
// lost or invented); and for the BPP, what is accepted can be segmented and followed back.

// seeds returns the encodings of the hand-assembled vectors whose name starts with prefix.
func seeds(f *testing.F, prefixes ...string) [][]byte {
	var out [][]byte
	for _, v := range newFixtures(f).vectors() {
		for _, p := range prefixes {
			if len(v.name) >= len(p) && v.name[:len(p)] == p {
				out = append(out, v.in)
			}
		}
	}
	if len(out) == 0 {
		f.Fatalf("no seeds for %v", prefixes)
	}
	return out
}

func fuzzRoundTrip(f *testing.F, fresh func() codec, corpus [][]byte) {
	for _, s := range corpus {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		v := fresh()
		if err := v.Unmarshal(in); err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error does not wrap ErrMalformed: %v", err)
			}
			return
		}
		out, err := v.Marshal()
		if err != nil || !bytes.Equal(out, in) {
			t.Fatalf("accepted %X\nbut re-encodes to %X (%v)", in, out, err)
		}
	})
}

func FuzzAuthenticateServerResponse(f *testing.F) {
	fuzzRoundTrip(f, func() codec { return new(AuthenticateServerResponse) }, seeds(f, "AuthenticateServerResponse"))
}

func FuzzPrepareDownloadResponse(f *testing.F) {
	fuzzRoundTrip(f, func() codec { return new(PrepareDownloadResponse) }, seeds(f, "PrepareDownloadResponse"))
}

func FuzzPendingNotification(f *testing.F) {
	fuzzRoundTrip(f, func() codec { return new(PendingNotification) }, seeds(f, "PendingNotification", "ProfileInstallationResult", "OtherSignedNotification"))
}

func FuzzCancelSessionResponse(f *testing.F) {
	fuzzRoundTrip(f, func() codec { return new(CancelSessionResponse) }, seeds(f, "CancelSessionResponse"))
}

func FuzzEUICCInfo1(f *testing.F) {
	corpus := seeds(f, "EUICCInfo1")
	corpus = append(corpus,
		h(f, "BF20358203020300A916041481370F5125D0B1D408D4C3B232E6D25E795BEBFBAA16041481370F5125D0B1D408D4C3B232E6D25E795BEBFB"),
	)
	fuzzRoundTrip(f, func() codec { return new(EUICCInfo1) }, corpus)
}

func FuzzEUICCInfo2(f *testing.F) {
	fuzzRoundTrip(f, func() codec { return new(EUICCInfo2) }, seeds(f, "EUICCInfo2"))
}

func FuzzAuthenticateServerRequest(f *testing.F) {
	fuzzRoundTrip(f, func() codec { return new(AuthenticateServerRequest) }, seeds(f, "AuthenticateServerRequest"))
}

func FuzzPrepareDownloadRequest(f *testing.F) {
	fuzzRoundTrip(f, func() codec { return new(PrepareDownloadRequest) }, seeds(f, "PrepareDownloadRequest"))
}

func FuzzStoreMetadataRequest(f *testing.F) {
	fuzzRoundTrip(f, func() codec { return new(StoreMetadataRequest) }, seeds(f, "StoreMetadataRequest"))
}

// FuzzBoundProfilePackage also checks that an accepted package (without unknown fields) splits
// into segments that the eUICC-side reader follows to the end, element for element.
func FuzzBoundProfilePackage(f *testing.F) {
	for _, s := range seeds(f, "BoundProfilePackage") {
		f.Add(s)
	}
	blob, _ := loadCommercialBPP(f, 2) // the smallest of the real packages
	f.Add(blob)
	f.Fuzz(func(t *testing.T, in []byte) {
		var p BoundProfilePackage
		if err := p.Unmarshal(in); err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error does not wrap ErrMalformed: %v", err)
			}
			return
		}
		out, err := p.Marshal()
		if err != nil || !bytes.Equal(out, in) {
			t.Fatalf("accepted %X\nbut re-encodes to %X (%v)", in, out, err)
		}
		if p.Extensions != nil {
			return
		}
		segs, err := p.Segments()
		if err != nil || !bytes.Equal(bytes.Join(segs, nil), in) {
			t.Fatalf("Segments: %v", err)
		}
		var r BPPSegmentReader
		var elements [][]byte
		for i, s := range segs {
			seg, err := r.Next(s)
			if err != nil {
				t.Fatalf("reader refused segment %d of %X: %v", i, in, err)
			}
			if seg.Element != nil {
				elements = append(elements, seg.Element)
			}
		}
		want := cat2(p.FirstSequenceOf87, p.SequenceOf88, p.SecondSequenceOf87, p.SequenceOf86)
		if !r.Done() || len(elements) != len(want) {
			t.Fatalf("reader: Done %v, %d elements, want %d", r.Done(), len(elements), len(want))
		}
	})
}

// frame encodes segments with a 2-octet length before each, the fuzz input format of
// FuzzBPPSegmentReader.
func frame(segs [][]byte) []byte {
	var out []byte
	for _, s := range segs {
		out = binary.BigEndian.AppendUint16(out, uint16(len(s)))
		out = append(out, s...)
	}
	return out
}

// FuzzBPPSegmentReader feeds the eUICC-side reader arbitrary segment sequences (each segment
// prefixed with a 2-octet length). Whenever it reports Done, the segments joined must be a
// BoundProfilePackage that decodes, with the elements the reader returned.
func FuzzBPPSegmentReader(f *testing.F) {
	for _, in := range seeds(f, "BoundProfilePackage") {
		var p BoundProfilePackage
		if err := p.Unmarshal(in); err != nil {
			f.Fatal(err)
		}
		segs, err := p.Segments()
		if err != nil {
			f.Fatal(err)
		}
		f.Add(frame(segs))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		var r BPPSegmentReader
		var all []byte
		var elements [][]byte
		for len(in) >= 2 {
			n := int(binary.BigEndian.Uint16(in))
			in = in[2:]
			if n > len(in) {
				return
			}
			seg, err := r.Next(in[:n])
			if err != nil {
				if !errors.Is(err, ErrMalformed) {
					t.Fatalf("error does not wrap ErrMalformed: %v", err)
				}
				return
			}
			all = append(all, in[:n]...)
			if seg.Element != nil {
				elements = append(elements, seg.Element)
			}
			in = in[n:]
			if r.Done() {
				var p BoundProfilePackage
				if err := p.Unmarshal(all); err != nil {
					t.Fatalf("reader accepted %X, which does not decode: %v", all, err)
				}
				want := cat2(p.FirstSequenceOf87, p.SequenceOf88, p.SecondSequenceOf87, p.SequenceOf86)
				if len(want) != len(elements) {
					t.Fatalf("reader returned %d elements, package has %d", len(elements), len(want))
				}
				for i := range want {
					if !bytes.Equal(want[i], elements[i]) {
						t.Fatalf("element %d differs", i)
					}
				}
				return
			}
		}
	})
}
