package bsp

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"errors"
	"fmt"
	"testing"
)

// testKeys returns a fixed, distinct key set per seed.
func testKeys(seed byte) SessionKeys {
	var k SessionKeys
	for i := range k.SEnc {
		k.InitialMCV[i] = seed + byte(i)
		k.SEnc[i] = seed ^ 0x55 + byte(i)
		k.SMAC[i] = seed ^ 0xAA + byte(i)
	}
	return k
}

func randomBytes(t testing.TB, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

// TestDownloadRoundTrip plays a whole BPP on both curves: ECKA and key
// derivation on each side, then ConfigureISDP, StoreMetadata,
// ReplaceSessionKeys and a TS.48-sized profile wrapped by the server and
// unwrapped by the card.
func TestDownloadRoundTrip(t *testing.T) {
	hostID := []byte("smdpp-01")
	eid := unhex(t, "89049032123451234512345678901235")
	for _, c := range curves {
		t.Run(c.name, func(t *testing.T) {
			dp, err := GenerateOneTimeKey(c.curve, rand.Reader)
			if err != nil {
				t.Fatal(err)
			}
			euicc, err := GenerateOneTimeKey(c.curve, rand.Reader)
			if err != nil {
				t.Fatal(err)
			}
			smdpOtpk, _ := MarshalUncompressedPoint(&dp.PublicKey)
			euiccOtpk, _ := MarshalUncompressedPoint(&euicc.PublicKey)

			// SM-DP+ side.
			peer, err := ParseUncompressedPoint(c.curve, euiccOtpk)
			if err != nil {
				t.Fatal(err)
			}
			z, err := SharedSecret(dp, peer)
			if err != nil {
				t.Fatal(err)
			}
			keys, err := DeriveSessionKeys(z, KeyTypeAES, KeyLength, hostID, eid)
			if err != nil {
				t.Fatal(err)
			}
			ppk, err := GenerateProfileProtectionKeys(rand.Reader)
			if err != nil {
				t.Fatal(err)
			}
			configureISDP := []byte{0xBF, 0x24, 0x00}
			metadata := randomBytes(t, 2500) // three '88' segments
			profile := randomBytes(t, 12251)
			server := NewSession(keys)
			first87, err := server.WrapSegments(Tag87, configureISDP)
			if err != nil {
				t.Fatal(err)
			}
			seq88, err := server.WrapSegments(Tag88, metadata)
			if err != nil {
				t.Fatal(err)
			}
			second87, err := server.WrapSegments(Tag87, MarshalReplaceSessionKeysRequest(ppk))
			if err != nil {
				t.Fatal(err)
			}
			server.ReplaceSessionKeys(ppk)
			seq86, err := server.WrapSegments(Tag86, profile)
			if err != nil {
				t.Fatal(err)
			}
			if len(seq88) != 3 || len(seq86) != 13 {
				t.Errorf("%d '88' and %d '86' segments, want 3 and 13", len(seq88), len(seq86))
			}
			for _, seq := range [][][]byte{first87, seq88, second87, seq86} {
				for _, seg := range seq {
					if len(seg) > MaxSegmentSize {
						t.Errorf("segment of %d bytes", len(seg))
					}
				}
			}

			// eUICC side.
			peer, err = ParseUncompressedPoint(c.curve, smdpOtpk)
			if err != nil {
				t.Fatal(err)
			}
			z2, err := SharedSecret(euicc, peer)
			if err != nil {
				t.Fatal(err)
			}
			cardKeys, err := DeriveSessionKeys(z2, KeyTypeAES, KeyLength, hostID, eid)
			if err != nil {
				t.Fatal(err)
			}
			card := NewSession(cardKeys)
			steps := []struct {
				name string
				tag  byte
				segs [][]byte
				want []byte
			}{
				{"ConfigureISDP", Tag87, first87, configureISDP},
				{"StoreMetadata", Tag88, seq88, metadata},
				{"ReplaceSessionKeys", Tag87, second87, MarshalReplaceSessionKeysRequest(ppk)},
			}
			for _, st := range steps {
				got, err := card.UnwrapSegments(st.tag, st.segs)
				if err != nil {
					t.Fatalf("%s: %v", st.name, err)
				}
				if !bytes.Equal(got, st.want) {
					t.Fatalf("%s: plaintext differs", st.name)
				}
			}
			rsk, _ := card.UnwrapSegments(Tag87, nil) // no segments: nothing
			if len(rsk) != 0 {
				t.Fatal("UnwrapSegments of no segments returned data")
			}
			cardPPK, err := ParseReplaceSessionKeysRequest(steps[2].want)
			if err != nil {
				t.Fatal(err)
			}
			card.ReplaceSessionKeys(cardPPK)
			got, err := card.UnwrapSegments(Tag86, seq86)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, profile) {
				t.Fatal("profile differs")
			}
		})
	}
}

// TestWrapSegmentSizes checks the segmentation at and around the boundaries:
// segment counts, sizes never above MaxSegmentSize, and exact round trips.
func TestWrapSegmentSizes(t *testing.T) {
	tests := []struct {
		tag       byte
		size      int
		segments  int
		firstSize int
	}{
		{Tag86, 1, 1, 1 + 1 + 16 + 8},
		{Tag86, 15, 1, 1 + 1 + 16 + 8},
		{Tag86, 16, 1, 1 + 1 + 32 + 8},
		{Tag86, 103, 1, 1 + 1 + 112 + 8},       // Lcc 120: one-byte length
		{Tag86, 112, 1, 1 + 2 + 128 + 8},       // Lcc 136: '81' length
		{Tag86, 239, 1, 1 + 2 + 240 + 8},       // Lcc 248
		{Tag86, 240, 1, 1 + 3 + 256 + 8},       // Lcc 264: '82' length
		{Tag86, 1006, 1, 1 + 3 + 1008 + 8},     // 1020
		{Tag86, 1007, 1, 1 + 3 + 1008 + 8},     // 1020, the largest
		{Tag86, 1008, 2, 1 + 3 + 1008 + 8},     // 1007 + 1
		{Tag86, 2014, 2, 1 + 3 + 1008 + 8},     // the bsp_ppk_segments split
		{Tag86, 2015, 3, 1 + 3 + 1008 + 8},     //
		{Tag87, 57, 1, 1 + 1 + 64 + 8},         // ReplaceSessionKeysRequest
		{Tag88, 1, 1, 1 + 1 + 1 + 8},           //
		{Tag88, 119, 1, 1 + 1 + 119 + 8},       // Lcc 127
		{Tag88, 120, 1, 1 + 2 + 120 + 8},       // Lcc 128
		{Tag88, 1008, 1, 1 + 3 + 1008 + 8},     // 1020, the largest
		{Tag88, 1009, 2, 1 + 3 + 1008 + 8},     //
		{Tag86, 12288, 13, 1 + 3 + 1008 + 8},   // 12 KB
		{Tag88, 3 * 1008, 3, 1 + 3 + 1008 + 8}, //
	}
	for _, tc := range tests {
		t.Run(fmt.Sprintf("%02x_%d", tc.tag, tc.size), func(t *testing.T) {
			payload := randomBytes(t, tc.size)
			segs, err := NewSession(testKeys(1)).WrapSegments(tc.tag, payload)
			if err != nil {
				t.Fatal(err)
			}
			if len(segs) != tc.segments {
				t.Fatalf("%d segments, want %d", len(segs), tc.segments)
			}
			if len(segs[0]) != tc.firstSize {
				t.Errorf("first segment %d bytes, want %d", len(segs[0]), tc.firstSize)
			}
			for i, seg := range segs {
				if len(seg) > MaxSegmentSize || seg[0] != tc.tag {
					t.Errorf("segment %d: %d bytes, tag %02x", i, len(seg), seg[0])
				}
			}
			got, err := NewSession(testKeys(1)).UnwrapSegments(tc.tag, segs)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, payload) {
				t.Error("round trip differs")
			}
		})
	}
}

func TestWrapErrors(t *testing.T) {
	tests := []struct {
		name string
		call func(s *Session) error
	}{
		{"Wrap_tag_85", func(s *Session) error { _, err := s.Wrap(0x85, []byte{1}); return err }},
		{"Wrap_tag_89", func(s *Session) error { _, err := s.Wrap(0x89, []byte{1}); return err }},
		{"Wrap_86_1008", func(s *Session) error { _, err := s.Wrap(Tag86, make([]byte, 1008)); return err }},
		{"Wrap_87_4000", func(s *Session) error { _, err := s.Wrap(Tag87, make([]byte, 4000)); return err }},
		{"Wrap_88_1009", func(s *Session) error { _, err := s.Wrap(Tag88, make([]byte, 1009)); return err }},
		{"WrapSegments_tag_00", func(s *Session) error { _, err := s.WrapSegments(0, []byte{1}); return err }},
		{"WrapSegments_empty", func(s *Session) error { _, err := s.WrapSegments(Tag86, nil); return err }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := NewSession(testKeys(2))
			if err := tc.call(s); err == nil {
				t.Fatal("no error")
			}
			// A refused call leaves the session untouched.
			if s.counter != 1 || s.mcv != testKeys(2).InitialMCV {
				t.Errorf("session advanced: counter %d", s.counter)
			}
		})
	}
	if seg, err := NewSession(testKeys(2)).Wrap(Tag86, make([]byte, MaxEncryptedData)); err != nil || len(seg) != MaxSegmentSize {
		t.Errorf("Wrap of %d bytes: %d bytes, %v", MaxEncryptedData, len(seg), err)
	}
	if seg, err := NewSession(testKeys(2)).Wrap(Tag88, make([]byte, MaxMACOnlyData)); err != nil || len(seg) != MaxSegmentSize {
		t.Errorf("Wrap of %d bytes: %d bytes, %v", MaxMACOnlyData, len(seg), err)
	}
	if seg, err := NewSession(testKeys(2)).Wrap(Tag86, nil); err != nil || len(seg) != 1+1+16+8 {
		t.Errorf("Wrap of no data: %d bytes, %v", len(seg), err)
	}
}

// rawSegment builds a segment around data exactly as given (no padding added)
// with a valid C-MAC, encrypting it under s when enc is set. It lets the tests
// produce well-MACed segments with bad padding or odd sizes.
func rawSegment(s *Session, tag byte, enc bool, data []byte) []byte {
	out := []byte{tag}
	out = appendLength(out, len(data)+MACLength)
	start := len(out)
	out = append(out, data...)
	if enc {
		icv := s.icv()
		cipher.NewCBCEncrypter(s.enc, icv[:]).CryptBlocks(out[start:], out[start:])
	}
	full := s.mac.sum(s.mcv[:], out)
	s.mcv = full
	s.counter++
	return append(out, full[:MACLength]...)
}

// reMAC recomputes the C-MAC of a segment whose header or data a test has
// altered, as a fresh session under testKeys(seed) would, so that the
// structure checks, not the MAC, must catch it.
func reMAC(seed byte, seg []byte) []byte {
	s := NewSession(testKeys(seed))
	body := seg[:len(seg)-MACLength]
	full := s.mac.sum(s.mcv[:], body)
	return append(append([]byte(nil), body...), full[:MACLength]...)
}

func TestUnwrapMalformed(t *testing.T) {
	const seed = 3
	wrapFresh := func(tag byte, data []byte) []byte {
		seg, err := NewSession(testKeys(seed)).Wrap(tag, data)
		if err != nil {
			t.Fatal(err)
		}
		return seg
	}
	good86 := wrapFresh(Tag86, []byte("profile element data"))    // 86 20 <16> <8>... see below
	long86 := wrapFresh(Tag86, make([]byte, 200))                 // '81' length
	good88 := wrapFresh(Tag88, []byte{0xBF, 0x25, 0x03, 1, 2, 3}) // MAC only
	edit := func(seg []byte, f func([]byte) []byte) []byte { return f(append([]byte(nil), seg...)) }
	padded := func(blocks ...[]byte) []byte { return bytes.Join(blocks, nil) }
	rawEnc := func(data []byte) []byte { return rawSegment(NewSession(testKeys(seed)), Tag86, true, data) }
	block := func(b ...byte) []byte { return append(b, make([]byte, 16-len(b))...) }
	endBlock := func(tail ...byte) []byte {
		return append(bytes.Repeat([]byte{0x41}, 16-len(tail)), tail...)
	}

	tests := []struct {
		name    string
		tag     byte
		segment []byte
		reason  error
		cause   error
	}{
		// MAC and key failures.
		{"flipped_MAC_byte", Tag86, edit(good86, func(b []byte) []byte { b[len(b)-1] ^= 1; return b }), ErrSCP03tSecurity, ErrMAC},
		{"flipped_first_MAC_byte", Tag86, edit(good86, func(b []byte) []byte { b[len(b)-8] ^= 0x80; return b }), ErrSCP03tSecurity, ErrMAC},
		{"flipped_ciphertext_byte", Tag86, edit(good86, func(b []byte) []byte { b[2] ^= 1; return b }), ErrSCP03tSecurity, ErrMAC},
		{"flipped_88_data_byte", Tag88, edit(good88, func(b []byte) []byte { b[3] ^= 1; return b }), ErrSCP03tSecurity, ErrMAC},
		{"zero_MAC", Tag86, edit(good86, func(b []byte) []byte { clear(b[len(b)-8:]); return b }), ErrSCP03tSecurity, ErrMAC},
		{"other_keys", Tag86, func() []byte {
			seg, _ := NewSession(testKeys(seed+1)).Wrap(Tag86, []byte("x"))
			return seg
		}(), ErrSCP03tSecurity, ErrMAC},
		{"second_segment_first", Tag86, func() []byte {
			s := NewSession(testKeys(seed))
			s.Wrap(Tag86, []byte("one"))
			seg, _ := s.Wrap(Tag86, []byte("two"))
			return seg
		}(), ErrSCP03tSecurity, ErrMAC},
		// Same bytes, other tag: the tag is MACed, but the structure check comes first.
		{"86_segment_as_87", Tag87, good86, ErrSCP03tStructure, ErrTag},
		{"88_segment_as_86", Tag86, good88, ErrSCP03tStructure, ErrTag},
		{"tag_byte_changed_remac", Tag86, reMAC(seed, edit(good86, func(b []byte) []byte { b[0] = 0x87; return b })), ErrSCP03tStructure, ErrTag},
		{"expected_tag_not_BSP", 0x89, good86, ErrSCP03tStructure, ErrTag},
		// Padding, behind a valid MAC.
		{"padding_missing", Tag86, rawEnc(block(1, 2, 3)), ErrSCP03tSecurity, ErrPadding},
		{"padding_all_zero_block", Tag86, rawEnc(padded(endBlock(0x80), block())), ErrSCP03tSecurity, ErrPadding},
		{"padding_80_01", Tag86, rawEnc(endBlock(0x80, 0x01)), ErrSCP03tSecurity, ErrPadding},
		{"padding_last_byte_01", Tag86, rawEnc(endBlock(0x01)), ErrSCP03tSecurity, ErrPadding},
		{"padding_pkcs7", Tag86, rawEnc(endBlock(0x02, 0x02)), ErrSCP03tSecurity, ErrPadding},
		{"padding_81", Tag86, rawEnc(endBlock(0x81)), ErrSCP03tSecurity, ErrPadding},
		// Structure: lengths.
		{"empty", Tag86, nil, ErrSCP03tStructure, ErrLength},
		{"tag_only", Tag86, []byte{Tag86}, ErrSCP03tStructure, ErrLength},
		{"tag_only_wrong", Tag86, []byte{0x00}, ErrSCP03tStructure, ErrLength},
		{"truncated_by_one", Tag86, good86[:len(good86)-1], ErrSCP03tStructure, ErrLength},
		{"truncated_to_header", Tag86, good86[:2], ErrSCP03tStructure, ErrLength},
		{"truncated_long_form", Tag86, long86[:2], ErrSCP03tStructure, ErrLength},
		{"trailing_byte", Tag86, append(append([]byte(nil), good86...), 0), ErrSCP03tStructure, ErrLength},
		{"length_plus_one", Tag86, edit(good86, func(b []byte) []byte { b[1]++; return b }), ErrSCP03tStructure, ErrLength},
		{"length_minus_one", Tag86, edit(good86, func(b []byte) []byte { b[1]--; return b }), ErrSCP03tStructure, ErrLength},
		{"length_indefinite", Tag86, edit(good86, func(b []byte) []byte { b[1] = 0x80; return b }), ErrSCP03tStructure, ErrLength},
		{"length_81_non_minimal", Tag86, reMAC(seed, edit(good86, func(b []byte) []byte {
			return append([]byte{Tag86, 0x81}, b[1:]...)
		})), ErrSCP03tStructure, ErrLength},
		{"length_82_non_minimal", Tag86, edit(long86, func(b []byte) []byte {
			return append([]byte{Tag86, 0x82, 0x00}, b[2:]...)
		}), ErrSCP03tStructure, ErrLength},
		{"length_83", Tag86, edit(long86, func(b []byte) []byte {
			return append([]byte{Tag86, 0x83, 0x00, 0x00}, b[2:]...)
		}), ErrSCP03tStructure, ErrLength},
		{"length_huge", Tag86, []byte{Tag86, 0x82, 0xFF, 0xFF, 0, 0}, ErrSCP03tStructure, ErrLength},
		{"shorter_than_MAC", Tag88, []byte{Tag88, 0x07, 1, 2, 3, 4, 5, 6, 7}, ErrSCP03tStructure, ErrLength},
		{"MAC_only_no_ciphertext", Tag86, rawSegment(NewSession(testKeys(seed)), Tag86, false, nil), ErrSCP03tStructure, ErrLength},
		{"ciphertext_not_block_multiple", Tag86, rawSegment(NewSession(testKeys(seed)), Tag86, false, make([]byte, 17)), ErrSCP03tStructure, ErrLength},
		{"ciphertext_one_byte_short", Tag86, reMAC(seed, edit(good86, func(b []byte) []byte {
			b[1]--
			return append(b[:2+15], b[2+16:]...)
		})), ErrSCP03tStructure, ErrLength},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := NewSession(testKeys(seed))
			plain, err := s.Unwrap(tc.tag, tc.segment)
			if err == nil {
				t.Fatalf("accepted, plaintext %x", plain)
			}
			if !errors.Is(err, tc.reason) || !errors.Is(err, tc.cause) {
				t.Errorf("error %v, want %v and %v", err, tc.reason, tc.cause)
			}
			var se *SegmentError
			if !errors.As(err, &se) || se.Tag != tc.tag {
				t.Errorf("error %#v is not a *SegmentError for tag %02x", err, tc.tag)
			}
			// The session did not move: the genuine first segment still opens.
			if s.counter != 1 || s.mcv != testKeys(seed).InitialMCV {
				t.Fatalf("session advanced to counter %d", s.counter)
			}
			if _, err := s.Unwrap(Tag86, good86); err != nil {
				t.Errorf("genuine segment after the failure: %v", err)
			}
		})
	}

	t.Run("UnwrapSegments_index", func(t *testing.T) {
		segs, err := NewSession(testKeys(seed)).WrapSegments(Tag86, make([]byte, 3000))
		if err != nil {
			t.Fatal(err)
		}
		segs[2] = edit(segs[2], func(b []byte) []byte { b[len(b)-1] ^= 1; return b })
		_, err = NewSession(testKeys(seed)).UnwrapSegments(Tag86, segs)
		var se *SegmentError
		if !errors.As(err, &se) || se.Index != 2 || !errors.Is(err, ErrMAC) {
			t.Fatalf("error %v, want a MAC failure at index 2", err)
		}
		if got, want := se.Error(), "bsp: segment 2 ('86'): C-MAC mismatch"; got != want {
			t.Errorf("message %q, want %q", got, want)
		}
	})
	t.Run("segments_swapped", func(t *testing.T) {
		segs, err := NewSession(testKeys(seed)).WrapSegments(Tag86, make([]byte, 3000))
		if err != nil {
			t.Fatal(err)
		}
		segs[0], segs[1] = segs[1], segs[0]
		if _, err := NewSession(testKeys(seed)).UnwrapSegments(Tag86, segs); !errors.Is(err, ErrMAC) {
			t.Fatalf("error %v, want ErrMAC", err)
		}
	})
}

func TestUnpad(t *testing.T) {
	tests := []struct {
		name string
		in   []byte
		want int // -1: invalid
	}{
		{"full_block_of_padding", append([]byte{0x80}, make([]byte, 15)...), 0},
		{"one_byte", append(bytes.Repeat([]byte{1}, 15), 0x80), 15},
		{"data_ends_in_80_00", append(append(bytes.Repeat([]byte{1}, 14), 0x80, 0x00), 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0), 16},
		{"no_80", make([]byte, 16), -1},
		{"80_beyond_last_block", append(append(bytes.Repeat([]byte{1}, 15), 0x80), make([]byte, 16)...), -1},
		{"trailing_garbage", append(bytes.Repeat([]byte{1}, 14), 0x80, 0x01), -1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if len(tc.in)%aes.BlockSize != 0 {
				t.Fatalf("bad test input length %d", len(tc.in))
			}
			n, ok := unpad(tc.in)
			if tc.want < 0 {
				if ok {
					t.Errorf("accepted, length %d", n)
				}
				return
			}
			if !ok || n != tc.want {
				t.Errorf("unpad = %d, %v; want %d", n, ok, tc.want)
			}
		})
	}
}

func TestReplaceSessionKeysRequestMalformed(t *testing.T) {
	good := MarshalReplaceSessionKeysRequest(testKeys(4))
	if len(good) != 57 {
		t.Fatalf("request is %d bytes", len(good))
	}
	if k, err := ParseReplaceSessionKeysRequest(good); err != nil || k != testKeys(4) {
		t.Fatalf("round trip: %v", err)
	}
	edit := func(f func([]byte) []byte) []byte { return f(append([]byte(nil), good...)) }
	tests := []struct {
		name string
		in   []byte
	}{
		{"empty", nil},
		{"truncated", good[:56]},
		{"trailing_byte", append(append([]byte(nil), good...), 0)},
		{"outer_tag_BF27", edit(func(b []byte) []byte { b[1] = 0x27; return b })},
		{"outer_tag_30", edit(func(b []byte) []byte { b[0] = 0x30; return b })},
		{"outer_length", edit(func(b []byte) []byte { b[2] = 0x35; return b })},
		{"field_order_swapped", edit(func(b []byte) []byte { b[3], b[21] = 0x81, 0x80; return b })},
		{"field_length_15", edit(func(b []byte) []byte { b[22] = 0x0F; return b })},
		{"last_tag_83", edit(func(b []byte) []byte { b[39] = 0x83; return b })},
		{"long_form_outer_length", append([]byte{0xBF, 0x26, 0x81, 0x36}, good[3:56]...)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := ParseReplaceSessionKeysRequest(tc.in); err == nil {
				t.Error("accepted")
			}
		})
	}
}

func TestDeriveSessionKeysMalformed(t *testing.T) {
	z := bytes.Repeat([]byte{7}, 32)
	eid := bytes.Repeat([]byte{0x89}, 16)
	host := []byte("mahlzeit")
	tests := []struct {
		name    string
		z       []byte
		keyType byte
		keyLen  byte
		hostID  []byte
		eid     []byte
		want    error // nil: any error
	}{
		{"key_type_DES", z, 0x80, KeyLength, host, eid, ErrUnsupportedCRT},
		{"key_length_32", z, KeyTypeAES, 0x20, host, eid, ErrUnsupportedCRT},
		{"key_length_0", z, KeyTypeAES, 0, host, eid, ErrUnsupportedCRT},
		{"host_id_empty", z, KeyTypeAES, KeyLength, nil, eid, ErrUnsupportedCRT},
		{"host_id_17", z, KeyTypeAES, KeyLength, make([]byte, 17), eid, ErrUnsupportedCRT},
		{"eid_15", z, KeyTypeAES, KeyLength, host, eid[:15], nil},
		{"eid_17", z, KeyTypeAES, KeyLength, host, append(eid, 0), nil},
		{"no_shared_secret", nil, KeyTypeAES, KeyLength, host, eid, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := DeriveSessionKeys(tc.z, tc.keyType, tc.keyLen, tc.hostID, tc.eid)
			if err == nil || (tc.want != nil && !errors.Is(err, tc.want)) {
				t.Errorf("error %v, want %v", err, tc.want)
			}
		})
	}
	// hostId of 1 and of 16 bytes are both allowed.
	for _, n := range []int{1, 16} {
		if _, err := DeriveSessionKeys(z, KeyTypeAES, KeyLength, make([]byte, n), eid); err != nil {
			t.Errorf("hostId of %d bytes: %v", n, err)
		}
	}
}

func TestKeysNotPrinted(t *testing.T) {
	k := testKeys(5)
	for _, format := range []string{"%v", "%+v", "%#v", "%s"} {
		if got := fmt.Sprintf(format, k); got != "bsp.SessionKeys{redacted}" {
			t.Errorf("Sprintf(%q, keys) = %s", format, got)
		}
	}
	if got := fmt.Sprint(NewSession(k)); got != "bsp.Session{counter: 1}" {
		t.Errorf("Sprint(session) = %s", got)
	}
}
