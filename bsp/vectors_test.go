package bsp

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// vectorsDir holds the project's own copy of the known-answer data; see its
// README.md for where each file comes from.
var vectorsDir = filepath.Join("..", "testdata", "vectors")

// hexBytes decodes a JSON hex string.
type hexBytes []byte

func (h *hexBytes) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	v, err := hex.DecodeString(s)
	if err != nil {
		return err
	}
	*h = v
	return nil
}

// Cases of testdata/vectors/bsp.json, one type per shape.

type eckaCase struct {
	Inputs struct {
		Curve     string   `json:"curve"`
		EuiccOtpk hexBytes `json:"euicc_otpk_uncompressed"`
		SmdpOtpk  hexBytes `json:"smdp_otpk_uncompressed"`
		SmdpOtsk  hexBytes `json:"smdp_otsk_scalar"`
	} `json:"inputs"`
	Expected struct {
		Z hexBytes `json:"shared_secret_z"`
	} `json:"expected"`
}

type kdfCase struct {
	Inputs struct {
		Z         hexBytes `json:"shared_secret_z"`
		KeyType   hexBytes `json:"key_type"`
		KeyLength hexBytes `json:"key_length"`
		HostID    hexBytes `json:"host_id"`
		EID       hexBytes `json:"eid"`
	} `json:"inputs"`
	Expected struct {
		SEnc       hexBytes `json:"s_enc"`
		SMAC       hexBytes `json:"s_mac"`
		InitialMCV hexBytes `json:"initial_mcv"`
	} `json:"expected"`
	Intermediate struct {
		SharedInfo hexBytes `json:"shared_info"`
		KDFOutput  hexBytes `json:"kdf_output_48"`
	} `json:"intermediate"`
}

type sequenceCase struct {
	Keys struct {
		SEnc       hexBytes `json:"s_enc"`
		SMAC       hexBytes `json:"s_mac"`
		PPKEnc     hexBytes `json:"s_enc_ppk_enc"`
		PPKMAC     hexBytes `json:"s_mac_ppk_cmac"`
		InitialMCV hexBytes `json:"initial_mcv"`
	} `json:"keys"`
	Steps []sequenceStep `json:"steps"`
}

type sequenceStep struct {
	Step         int      `json:"step"`
	Operation    string   `json:"operation"`
	Tag          hexBytes `json:"tag"`
	Plaintext    hexBytes `json:"plaintext"`
	Segment      hexBytes `json:"expected_segment"`
	Intermediate struct {
		BlockCounter         uint64   `json:"block_counter"`
		BlockCounterConsumed uint64   `json:"block_counter_consumed"`
		ICV                  hexBytes `json:"icv"`
		MCVIn                hexBytes `json:"mcv_in"`
		NextMCV              hexBytes `json:"full_cmac_next_mcv"`
	} `json:"intermediate"`
}

type bppCase struct {
	BPP         hexBytes `json:"bpp"`
	BPPSHA256   hexBytes `json:"bpp_sha256"`
	SessionKeys struct {
		SEnc       hexBytes `json:"s_enc"`
		SMAC       hexBytes `json:"s_mac"`
		InitialMCV hexBytes `json:"initial_mcv"`
	} `json:"session_keys"`
	PPKKeys struct {
		PPKEnc     hexBytes `json:"ppk_enc"`
		PPKMAC     hexBytes `json:"ppk_mac"`
		InitialMCV hexBytes `json:"initial_mcv"`
	} `json:"ppk_keys"`
	SegmentCounts struct {
		First87  int `json:"firstSequenceOf87"`
		Seq88    int `json:"sequenceOf88"`
		Second87 int `json:"secondSequenceOf87"`
		Seq86    int `json:"sequenceOf86"`
	} `json:"segment_counts"`
	Expected struct {
		ConfigureISDP hexBytes `json:"configure_isdp_plaintext"`
		StoreMetadata hexBytes `json:"store_metadata_plaintext"`
		UPPSHA256     hexBytes `json:"upp_plaintext_sha256"`
		UPPLen        int      `json:"upp_plaintext_len"`
	} `json:"expected"`
}

// loadCase decodes the case called name from bsp.json into v.
func loadCase(tb testing.TB, name string, v any) {
	tb.Helper()
	raw, err := os.ReadFile(filepath.Join(vectorsDir, "bsp.json"))
	if err != nil {
		tb.Fatal(err)
	}
	var file struct {
		Cases []json.RawMessage `json:"cases"`
	}
	if err := json.Unmarshal(raw, &file); err != nil {
		tb.Fatal(err)
	}
	for _, c := range file.Cases {
		var head struct {
			Name string `json:"name"`
		}
		if err := json.Unmarshal(c, &head); err != nil {
			tb.Fatal(err)
		}
		if head.Name == name {
			if err := json.Unmarshal(c, v); err != nil {
				tb.Fatalf("case %s: %v", name, err)
			}
			return
		}
	}
	tb.Fatalf("bsp.json has no case %q", name)
}

func keys16(tb testing.TB, mcv, enc, mac []byte) SessionKeys {
	tb.Helper()
	if len(mcv) != 16 || len(enc) != 16 || len(mac) != 16 {
		tb.Fatalf("key lengths %d/%d/%d, want 16", len(mcv), len(enc), len(mac))
	}
	var k SessionKeys
	copy(k.InitialMCV[:], mcv)
	copy(k.SEnc[:], enc)
	copy(k.SMAC[:], mac)
	return k
}

func (c *sequenceCase) sessionKeys(tb testing.TB) SessionKeys {
	if c.Keys.SEnc != nil {
		return keys16(tb, c.Keys.InitialMCV, c.Keys.SEnc, c.Keys.SMAC)
	}
	return keys16(tb, c.Keys.InitialMCV, c.Keys.PPKEnc, c.Keys.PPKMAC)
}

func TestECKAVector(t *testing.T) {
	var c eckaCase
	loadCase(t, "ecka_p256_mode51", &c)
	if !strings.Contains(c.Inputs.Curve, "P-256") {
		t.Fatalf("curve %q", c.Inputs.Curve)
	}
	priv, err := ecdsa.ParseRawPrivateKey(P256(), c.Inputs.SmdpOtsk)
	if err != nil {
		t.Fatal(err)
	}
	pub, err := MarshalUncompressedPoint(&priv.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(pub, c.Inputs.SmdpOtpk) {
		t.Errorf("otPK.DP.ECKA = %x, want %x", pub, c.Inputs.SmdpOtpk)
	}
	peer, err := ParseUncompressedPoint(P256(), c.Inputs.EuiccOtpk)
	if err != nil {
		t.Fatal(err)
	}
	z, err := SharedSecret(priv, peer)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(z, c.Expected.Z) {
		t.Errorf("ShS = %x, want %x", z, c.Expected.Z)
	}
}

func TestDeriveSessionKeysVectors(t *testing.T) {
	for _, name := range []string{"kdf_test1", "kdf_mode51"} {
		t.Run(name, func(t *testing.T) {
			var c kdfCase
			loadCase(t, name, &c)
			in := c.Inputs
			si := sharedInfo(in.KeyType[0], in.KeyLength[0], in.HostID, in.EID)
			if !bytes.Equal(si, c.Intermediate.SharedInfo) {
				t.Errorf("SharedInfo = %x, want %x", si, c.Intermediate.SharedInfo)
			}
			if out := x963KDF(in.Z, si, 48); !bytes.Equal(out, c.Intermediate.KDFOutput) {
				t.Errorf("KDF output = %x, want %x", out, c.Intermediate.KDFOutput)
			}
			k, err := DeriveSessionKeys(in.Z, in.KeyType[0], in.KeyLength[0], in.HostID, in.EID)
			if err != nil {
				t.Fatal(err)
			}
			want := keys16(t, c.Expected.InitialMCV, c.Expected.SEnc, c.Expected.SMAC)
			if k != want {
				t.Errorf("keys = mcv %x enc %x mac %x, want mcv %x enc %x mac %x",
					k.InitialMCV, k.SEnc, k.SMAC, want.InitialMCV, want.SEnc, want.SMAC)
			}
		})
	}
}

// TestBSPSequenceVectors runs the whole chain of the vectors as a download
// does: ConfigureISDP ('87'), StoreMetadata ('88') and ReplaceSessionKeys
// ('87') under the session keys, then two profile segments ('86') under the
// PPK that the ReplaceSessionKeys request delivered. The sender must produce
// each expected segment byte for byte and the receiver must get each plaintext
// back, with block counter, ICV and MAC chaining value matching the
// intermediates at every step.
func TestBSPSequenceVectors(t *testing.T) {
	var mode51, ppkCase sequenceCase
	loadCase(t, "bsp_mode51_sequence", &mode51)
	loadCase(t, "bsp_ppk_segments", &ppkCase)

	sender := NewSession(mode51.sessionKeys(t))
	receiver := NewSession(mode51.sessionKeys(t))
	runSteps := func(t *testing.T, steps []sequenceStep) {
		for _, st := range steps {
			t.Run(fmt.Sprintf("step%d_%02x", st.Step, st.Tag[0]), func(t *testing.T) {
				checkStepState(t, "sender", sender, st)
				checkStepState(t, "receiver", receiver, st)
				seg, err := sender.Wrap(st.Tag[0], st.Plaintext)
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(seg, st.Segment) {
					t.Errorf("segment =\n%x\nwant\n%x", seg, st.Segment)
				}
				plain, err := receiver.Unwrap(st.Tag[0], st.Segment)
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(plain, st.Plaintext) {
					t.Errorf("plaintext = %x, want %x", plain, st.Plaintext)
				}
				for _, s := range []*Session{sender, receiver} {
					if !bytes.Equal(s.mcv[:], st.Intermediate.NextMCV) {
						t.Errorf("next MCV = %x, want %x", s.mcv, st.Intermediate.NextMCV)
					}
				}
			})
		}
	}
	t.Run("session_keys", func(t *testing.T) { runSteps(t, mode51.Steps) })

	// The last '87' carries ReplaceSessionKeysRequest: it must decode to the
	// keys of bsp_ppk_segments and encode back to the same bytes.
	rskPlain := mode51.Steps[len(mode51.Steps)-1].Plaintext
	ppk, err := ParseReplaceSessionKeysRequest(rskPlain)
	if err != nil {
		t.Fatal(err)
	}
	if want := ppkCase.sessionKeys(t); ppk != want {
		t.Fatalf("PPK from ReplaceSessionKeysRequest = mcv %x enc %x mac %x, want mcv %x enc %x mac %x",
			ppk.InitialMCV, ppk.SEnc, ppk.SMAC, want.InitialMCV, want.SEnc, want.SMAC)
	}
	if got := MarshalReplaceSessionKeysRequest(ppk); !bytes.Equal(got, rskPlain) {
		t.Errorf("MarshalReplaceSessionKeysRequest = %x, want %x", got, rskPlain)
	}

	sender.ReplaceSessionKeys(ppk)
	receiver.ReplaceSessionKeys(ppk)
	t.Run("ppk", func(t *testing.T) { runSteps(t, ppkCase.Steps) })

	// Segmentation: the two 1007-byte chunks are what WrapSegments cuts from
	// their concatenation, each segment exactly MaxSegmentSize bytes.
	t.Run("WrapSegments", func(t *testing.T) {
		var payload []byte
		for _, st := range ppkCase.Steps {
			if len(st.Plaintext) != MaxEncryptedData {
				t.Fatalf("step %d plaintext is %d bytes, want %d", st.Step, len(st.Plaintext), MaxEncryptedData)
			}
			payload = append(payload, st.Plaintext...)
		}
		segs, err := NewSession(ppk).WrapSegments(Tag86, payload)
		if err != nil {
			t.Fatal(err)
		}
		if len(segs) != len(ppkCase.Steps) {
			t.Fatalf("%d segments, want %d", len(segs), len(ppkCase.Steps))
		}
		for i, st := range ppkCase.Steps {
			if len(segs[i]) != MaxSegmentSize {
				t.Errorf("segment %d is %d bytes, want %d", i, len(segs[i]), MaxSegmentSize)
			}
			if !bytes.Equal(segs[i], st.Segment) {
				t.Errorf("segment %d differs from step %d", i, st.Step)
			}
		}
		got, err := NewSession(ppk).UnwrapSegments(Tag86, segs)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, payload) {
			t.Error("UnwrapSegments did not return the payload")
		}
	})
}

// checkStepState compares the session state before a step with the vector's
// intermediates: block counter, ICV (encrypting steps) and incoming MCV.
func checkStepState(t *testing.T, who string, s *Session, st sequenceStep) {
	t.Helper()
	counter := st.Intermediate.BlockCounter
	if counter == 0 {
		counter = st.Intermediate.BlockCounterConsumed
	}
	if s.counter != counter {
		t.Errorf("%s block counter = %d, want %d", who, s.counter, counter)
	}
	if st.Intermediate.ICV != nil {
		if icv := s.icv(); !bytes.Equal(icv[:], st.Intermediate.ICV) {
			t.Errorf("%s ICV = %x, want %x", who, icv, st.Intermediate.ICV)
		}
	}
	if !bytes.Equal(s.mcv[:], st.Intermediate.MCVIn) {
		t.Errorf("%s MCV = %x, want %x", who, s.mcv, st.Intermediate.MCVIn)
	}
}

// tlv is one BER-TLV as the minimal walker below sees it.
type tlv struct {
	tag   uint32
	value []byte
	raw   []byte // tag, length and value
}

// readTLV reads one BER-TLV with a tag of up to three bytes and a definite
// length of up to three bytes, enough for a BoundProfilePackage.
func readTLV(b []byte) (tlv, []byte, error) {
	if len(b) < 2 {
		return tlv{}, nil, fmt.Errorf("truncated TLV")
	}
	i := 0
	tag := uint32(b[0])
	i++
	if b[0]&0x1F == 0x1F {
		for {
			if i >= len(b) || i > 3 {
				return tlv{}, nil, fmt.Errorf("bad tag")
			}
			tag = tag<<8 | uint32(b[i])
			i++
			if b[i-1]&0x80 == 0 {
				break
			}
		}
	}
	if i >= len(b) {
		return tlv{}, nil, fmt.Errorf("no length")
	}
	l := int(b[i])
	i++
	if l&0x80 != 0 {
		n := l & 0x7F
		if n == 0 || n > 3 || i+n > len(b) {
			return tlv{}, nil, fmt.Errorf("bad length")
		}
		l = 0
		for _, c := range b[i : i+n] {
			l = l<<8 | int(c)
		}
		i += n
	}
	if i+l > len(b) {
		return tlv{}, nil, fmt.Errorf("TLV value runs past the end")
	}
	return tlv{tag: tag, value: b[i : i+l], raw: b[:i+l]}, b[i+l:], nil
}

// readAll splits b into consecutive TLVs.
func readAll(t *testing.T, b []byte) []tlv {
	t.Helper()
	var out []tlv
	for len(b) > 0 {
		x, rest, err := readTLV(b)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, x)
		b = rest
	}
	return out
}

// bppSegments holds the BSP TLVs of a BoundProfilePackage, each with the
// extra wrapping of the vector removed.
type bppSegments struct {
	first87, seq88, second87, seq86 [][]byte
}

// splitDoubleWrappedBPP walks BF36 and strips the extra TLV layer that the
// vector's BPP puts around every BSP segment ('a01c 871a 8718 …').
func splitDoubleWrappedBPP(t *testing.T, bpp []byte) bppSegments {
	t.Helper()
	top := readAll(t, bpp)
	if len(top) != 1 || top[0].tag != 0xBF36 {
		t.Fatalf("BPP is not one BF36")
	}
	var out bppSegments
	for _, part := range readAll(t, top[0].value) {
		var dst *[][]byte
		var want uint32
		switch part.tag {
		case 0xBF23:
			continue
		case 0xA0:
			dst, want = &out.first87, 0x87
		case 0xA1:
			dst, want = &out.seq88, 0x88
		case 0xA2:
			dst, want = &out.second87, 0x87
		case 0xA3:
			dst, want = &out.seq86, 0x86
		default:
			t.Fatalf("unexpected tag %X in BF36", part.tag)
		}
		for _, outer := range readAll(t, part.value) {
			inner := readAll(t, outer.value)
			if outer.tag != want || len(inner) != 1 || inner[0].tag != want {
				t.Fatalf("element %X of %X is not a double-wrapped '%X' segment", outer.tag, part.tag, want)
			}
			*dst = append(*dst, inner[0].raw)
		}
	}
	return out
}

func TestBPPDoubleWrapped(t *testing.T) {
	var c bppCase
	loadCase(t, "bpp_decode_double_wrapped", &c)
	if sum := sha256.Sum256(c.BPP); !bytes.Equal(sum[:], c.BPPSHA256) {
		t.Fatalf("BPP sha256 = %x, want %x", sum, c.BPPSHA256)
	}
	segs := splitDoubleWrappedBPP(t, c.BPP)
	counts := []struct {
		name      string
		got, want int
	}{
		{"firstSequenceOf87", len(segs.first87), c.SegmentCounts.First87},
		{"sequenceOf88", len(segs.seq88), c.SegmentCounts.Seq88},
		{"secondSequenceOf87", len(segs.second87), c.SegmentCounts.Second87},
		{"sequenceOf86", len(segs.seq86), c.SegmentCounts.Seq86},
	}
	for _, n := range counts {
		if n.got != n.want {
			t.Fatalf("%s has %d segments, want %d", n.name, n.got, n.want)
		}
	}
	sessionKeys := keys16(t, c.SessionKeys.InitialMCV, c.SessionKeys.SEnc, c.SessionKeys.SMAC)
	ppk := keys16(t, c.PPKKeys.InitialMCV, c.PPKKeys.PPKEnc, c.PPKKeys.PPKMAC)

	// Card side: verify and decrypt everything.
	card := NewSession(sessionKeys)
	configureISDP, err := card.UnwrapSegments(Tag87, segs.first87)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(configureISDP, c.Expected.ConfigureISDP) {
		t.Errorf("ConfigureISDP = %x, want %x", configureISDP, c.Expected.ConfigureISDP)
	}
	metadata, err := card.UnwrapSegments(Tag88, segs.seq88)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(metadata, c.Expected.StoreMetadata) {
		t.Errorf("StoreMetadata = %x, want %x", metadata, c.Expected.StoreMetadata)
	}
	card.ReplaceSessionKeys(ppk)
	var upp []byte
	for i, seg := range segs.seq86 {
		p, err := card.Unwrap(Tag86, seg)
		if err != nil {
			t.Fatalf("'86' segment %d: %v", i, err)
		}
		upp = append(upp, p...)
	}
	if len(upp) != c.Expected.UPPLen {
		t.Errorf("profile is %d bytes, want %d", len(upp), c.Expected.UPPLen)
	}
	if sum := sha256.Sum256(upp); !bytes.Equal(sum[:], c.Expected.UPPSHA256) {
		t.Errorf("profile sha256 = %x, want %x", sum, c.Expected.UPPSHA256)
	}

	// Server side: the same keys rebuild every segment byte for byte. The
	// blob's producer (pysim) cuts the profile into 1008-byte chunks, giving
	// 1036-byte '86' segments over the SGP.22 limit, so this goes through the
	// unlimited wrap rather than WrapSegments.
	server := NewSession(sessionKeys)
	if seg := server.wrap(Tag87, true, c.Expected.ConfigureISDP); !bytes.Equal(seg, segs.first87[0]) {
		t.Errorf("rebuilt '87' =\n%x\nwant\n%x", seg, segs.first87[0])
	}
	if seg := server.wrap(Tag88, false, c.Expected.StoreMetadata); !bytes.Equal(seg, segs.seq88[0]) {
		t.Errorf("rebuilt '88' =\n%x\nwant\n%x", seg, segs.seq88[0])
	}
	server.ReplaceSessionKeys(ppk)
	const pysimChunk = MaxMACOnlyData
	for i, rest := 0, upp; len(rest) > 0; i++ {
		n := min(pysimChunk, len(rest))
		if seg := server.wrap(Tag86, true, rest[:n]); !bytes.Equal(seg, segs.seq86[i]) {
			t.Errorf("rebuilt '86' segment %d differs", i)
		}
		rest = rest[n:]
	}
	if len(segs.seq86[0]) != 1036 {
		t.Errorf("first '86' segment is %d bytes, want the 1036 of WIRE-NOTES", len(segs.seq86[0]))
	}
}
