package bsp

import (
	"bytes"
	"errors"
	"testing"
)

// fuzzKeySets are the key sets of the vectors; the fuzzer picks one per input
// so that the seed segments verify and the fuzzer starts from valid MACs.
func fuzzKeySets(f *testing.F) []SessionKeys {
	var mode51, ppk sequenceCase
	loadCase(f, "bsp_mode51_sequence", &mode51)
	loadCase(f, "bsp_ppk_segments", &ppk)
	var bpp bppCase
	loadCase(f, "bpp_decode_double_wrapped", &bpp)
	return []SessionKeys{
		mode51.sessionKeys(f),
		ppk.sessionKeys(f),
		keys16(f, bpp.SessionKeys.InitialMCV, bpp.SessionKeys.SEnc, bpp.SessionKeys.SMAC),
		keys16(f, bpp.PPKKeys.InitialMCV, bpp.PPKKeys.PPKEnc, bpp.PPKKeys.PPKMAC),
	}
}

// fuzzSeed is one FuzzUnwrap input.
type fuzzSeed struct {
	keySet  uint8
	tag     byte
	segment []byte
}

// FuzzUnwrap feeds arbitrary segments to the receiving side. It must never
// panic; every failure must be a *SegmentError with one of the two reasons;
// and whatever it accepts must be exactly what a fresh sender with the same
// keys produces for the returned plaintext, so the receiver accepts no
// segment other than the canonical one.
func FuzzUnwrap(f *testing.F) {
	keySets := fuzzKeySets(f)

	var mode51, ppk sequenceCase
	loadCase(f, "bsp_mode51_sequence", &mode51)
	loadCase(f, "bsp_ppk_segments", &ppk)
	var bpp bppCase
	loadCase(f, "bpp_decode_double_wrapped", &bpp)
	// Seeds that verify under a fresh session of their key set: the vectors'
	// first segments, and short segments made from the vectors' keys and
	// plaintexts. The vectors' 1020- and 1036-byte '86' segments are left to
	// the unit tests: the fuzzer minimizes every new input it finds, and
	// minimizing kilobyte inputs takes up most of a short fuzzing run.
	wrapSeed := func(keySet uint8, tag byte, plain []byte) fuzzSeed {
		seg, err := NewSession(keySets[keySet]).Wrap(tag, plain)
		if err != nil {
			f.Fatal(err)
		}
		return fuzzSeed{keySet, tag, seg}
	}
	valid := []fuzzSeed{
		{0, Tag87, mode51.Steps[0].Segment},
		wrapSeed(0, Tag88, mode51.Steps[1].Plaintext),
		wrapSeed(1, Tag86, ppk.Steps[0].Plaintext[:40]),
		wrapSeed(2, Tag88, bpp.Expected.StoreMetadata),
		wrapSeed(3, Tag86, bpp.Expected.StoreMetadata),
	}
	// The BPP's first '87', found by its header inside the vector's double
	// wrapping.
	if i := bytes.Index(bpp.BPP, []byte{0x87, 0x1A, 0x87, 0x18}); i >= 0 {
		valid = append(valid, fuzzSeed{2, Tag87, bpp.BPP[i+2 : i+2+0x1A]})
	}
	if len(valid) != 6 {
		f.Fatalf("found %d valid seeds, want 6", len(valid))
	}
	for _, v := range valid {
		if _, err := NewSession(keySets[v.keySet]).Unwrap(v.tag, v.segment); err != nil {
			f.Fatalf("seed for key set %d does not verify: %v", v.keySet, err)
		}
		f.Add(v.keySet, v.tag, v.segment)
	}
	// Seeds that must fail.
	f.Add(uint8(0), Tag88, []byte(mode51.Steps[1].Segment)) // verifies only after step 1
	f.Add(uint8(0), Tag86, []byte{})
	f.Add(uint8(0), Tag86, []byte{0x86, 0x81, 0x80})
	f.Add(uint8(1), byte(0x89), []byte{0x89, 0x08, 0, 0, 0, 0, 0, 0, 0, 0})

	f.Fuzz(func(t *testing.T, keySet uint8, tag byte, segment []byte) {
		keys := keySets[int(keySet)%len(keySets)]
		plain, err := NewSession(keys).Unwrap(tag, segment)
		if err != nil {
			var se *SegmentError
			if !errors.As(err, &se) {
				t.Fatalf("error %v is not a *SegmentError", err)
			}
			if !errors.Is(err, ErrSCP03tStructure) && !errors.Is(err, ErrSCP03tSecurity) {
				t.Fatalf("error %v has no SGP.22 reason", err)
			}
			return
		}
		enc, err := encrypted(tag)
		if err != nil {
			t.Fatalf("accepted a segment under tag %02x", tag)
		}
		if again := NewSession(keys).wrap(tag, enc, plain); !bytes.Equal(again, segment) {
			t.Fatalf("accepted %x, but the sender makes %x from its plaintext", segment, again)
		}
	})
}
