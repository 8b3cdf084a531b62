package rsp

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/smdpp/smdpp/tlv"
)

// Tests against encodings produced outside this project: the pysim/osmo-smdpp BPP and
// plaintexts in testdata/vectors/bsp.json, the Bound Profile Packages of four commercial SM-DP+s
// in testdata/rsp/bpp, and eUICC responses in testdata/rsp/captures.json. See
// testdata/rsp/README.md for where each came from.

// unwrap returns the content of the single element in b.
func unwrap(t *testing.T, b []byte) []byte {
	t.Helper()
	s := tlv.String(b)
	var v tlv.String
	if !s.ReadTLV(nil, &v) || !s.Empty() {
		t.Fatalf("not one element: %X", b)
	}
	return v
}

// macOnlyPlaintext returns the plaintext of a MAC-only '88' BSP segment: its value less the
// 8-octet MAC (SGP.22 §2.6.4).
func macOnlyPlaintext(t *testing.T, seg []byte) []byte {
	t.Helper()
	v := unwrap(t, seg)
	if len(v) < 8 {
		t.Fatalf("88 segment too short")
	}
	return v[:len(v)-8]
}

// checkBPPSegments feeds segs to a BPPSegmentReader and checks what it reports.
func checkBPPSegments(t *testing.T, segs [][]byte, p *BoundProfilePackage) {
	t.Helper()
	var r BPPSegmentReader
	var elements [][]byte
	var commands []BppCommandId
	for i, s := range segs {
		if r.Done() {
			t.Fatalf("Done before segment %d", i)
		}
		seg, err := r.Next(s)
		if err != nil {
			t.Fatalf("segment %d (%X…): %v", i, s[:min(len(s), 8)], err)
		}
		if i == 0 {
			if seg.InitialiseSecureChannelRequest == nil || !bytes.Equal(seg.InitialiseSecureChannelRequest.Raw, p.InitialiseSecureChannelRequest.Raw) {
				t.Fatal("first segment: InitialiseSecureChannelRequest not returned as received")
			}
		}
		commands = append(commands, seg.Command)
		if seg.Element != nil {
			elements = append(elements, seg.Element)
		}
	}
	if !r.Done() {
		t.Fatal("not Done after the last segment")
	}
	if _, err := r.Next(segs[len(segs)-1]); err == nil {
		t.Fatal("a segment after the end was accepted")
	}
	want := cat2(p.FirstSequenceOf87, p.SequenceOf88, p.SecondSequenceOf87, p.SequenceOf86)
	if len(elements) != len(want) {
		t.Fatalf("%d elements, want %d", len(elements), len(want))
	}
	for i := range want {
		if !bytes.Equal(elements[i], want[i]) {
			t.Fatalf("element %d differs", i)
		}
	}
	// Commands in order: 0 once, 1 for A0, 2 then 3 for A1, 4 for A2, 5 for A3.
	var prev BppCommandId
	for i, c := range commands {
		if c < prev && !(prev == BppCommandIdStoreMetadata2 && c == BppCommandIdStoreMetadata2) {
			t.Fatalf("command %d goes back from %d to %d", i, prev, c)
		}
		prev = c
	}
	if commands[0] != BppCommandIdInitialiseSecureChannel || commands[len(commands)-1] != BppCommandIdLoadProfileElements {
		t.Fatalf("commands %v", commands)
	}
}

func cat2(lists ...[][]byte) [][]byte {
	var out [][]byte
	for _, l := range lists {
		out = append(out, l...)
	}
	return out
}

// TestPysimBPP decodes the complete BPP from pysim's unit tests (bsp.json,
// bpp_decode_double_wrapped), produced by osmo-smdpp's encoder (asn1tools). Its segments are
// wrapped twice (see the case's description), which is well-formed BF36 all the same: each
// '87'/'88'/'86' element's value is itself a TLV of the same tag.
func TestPysimBPP(t *testing.T) {
	c := bspCase(t, "bpp_decode_double_wrapped")
	blob := h(t, str(t, c, "bpp"))
	if sum := sha256.Sum256(blob); hex.EncodeToString(sum[:]) != str(t, c, "bpp_sha256") {
		t.Fatal("bsp.json BPP does not match its sha256")
	}
	var p BoundProfilePackage
	if err := p.Unmarshal(blob); err != nil {
		t.Fatal(err)
	}
	enc, err := p.Marshal()
	if err != nil || !bytes.Equal(enc, blob) {
		t.Fatalf("re-encoding differs: %v", err)
	}

	isc := p.InitialiseSecureChannelRequest
	f := func(k string) []byte { return h(t, str(t, c, "initialise_secure_channel_fields", k)) }
	crt := f("controlRefTemplate_a6")
	if isc.RemoteOpID != RemoteOpIdInstallBoundProfilePackage || !bytes.Equal([]byte{byte(isc.RemoteOpID)}, f("remoteOpId_82")) ||
		!bytes.Equal(isc.TransactionID, f("transactionId_80")) ||
		!bytes.Equal(cat(h(t, "80 01"), isc.ControlRefTemplate.KeyType, h(t, "81 01"), isc.ControlRefTemplate.KeyLen, h(t, "84 08"), isc.ControlRefTemplate.HostID), crt) ||
		string(isc.ControlRefTemplate.HostID) != "mahlzeit" ||
		!bytes.Equal(isc.SmdpOtpk, f("smdpOtpk_5f49")) || !bytes.Equal(isc.SmdpSign, f("smdpSign_5f37")) {
		t.Fatalf("InitialiseSecureChannelRequest fields: %+v", isc)
	}
	// Raw is the BF23 element as it sits in the blob; SignedRaw is its content up to 5F37.
	if i := bytes.Index(blob, isc.Raw); i != 5 || !bytes.HasPrefix(isc.Raw, h(t, "BF23 81 AE")) {
		t.Fatalf("Raw not the received BF23 (at %d)", i)
	}
	if !bytes.Equal(cat(h(t, "BF23 81 AE"), isc.SignedRaw, h(t, "5F37 40"), isc.SmdpSign), isc.Raw) {
		t.Fatal("SignedRaw is not the part of BF23 before smdpSign")
	}
	tbs, err := isc.ReceivedTBS(h(t, "0411"))
	if err != nil || !bytes.Equal(tbs, cat(isc.SignedRaw, h(t, "5F49 02 0411"))) {
		t.Fatal("ReceivedTBS")
	}
	if mtbs, err := isc.MarshalTBS(h(t, "0411")); err != nil || !bytes.Equal(mtbs, tbs) {
		t.Fatal("MarshalTBS differs from the received signed part")
	}

	counts := c["segment_counts"].(map[string]any)
	if len(p.FirstSequenceOf87) != int(counts["firstSequenceOf87"].(float64)) ||
		len(p.SequenceOf88) != int(counts["sequenceOf88"].(float64)) ||
		p.SecondSequenceOf87 != nil ||
		len(p.SequenceOf86) != int(counts["sequenceOf86"].(float64)) {
		t.Fatalf("segment counts %d %d %v %d", len(p.FirstSequenceOf87), len(p.SequenceOf88), p.SecondSequenceOf87, len(p.SequenceOf86))
	}
	// The double wrap: each element's value is one TLV with the same tag.
	for _, l := range [][][]byte{p.FirstSequenceOf87, p.SequenceOf88, p.SequenceOf86} {
		for _, seg := range l {
			inner := unwrap(t, seg)
			if inner[0] != seg[0] {
				t.Fatalf("element %X… is not wrapped twice", seg[:4])
			}
			unwrap(t, inner)
		}
	}
	// The MAC-only StoreMetadata segment carries osmo-smdpp's StoreMetadataRequest in clear.
	plain := macOnlyPlaintext(t, unwrap(t, p.SequenceOf88[0]))
	if !bytes.Equal(plain, h(t, str(t, c, "expected", "store_metadata_plaintext"))) {
		t.Fatalf("StoreMetadata plaintext %X", plain)
	}
	var md StoreMetadataRequest
	checkVector(t, plain, &StoreMetadataRequest{Iccid: h(t, "89000123456789012341"), ServiceProviderName: "OsmocomSPN", ProfileName: "OsmocomProfile"}, &md)

	segs, err := p.Segments()
	if err != nil {
		t.Fatal(err)
	}
	if len(segs) != 1+1+1+1+1+13 || !bytes.Equal(bytes.Join(segs, nil), blob) {
		t.Fatalf("%d segments", len(segs))
	}
	checkBPPSegments(t, segs, &p)
}

// TestPysimPlaintexts decodes the BPP command plaintexts of bsp.json: the StoreMetadataRequest,
// ConfigureISDPRequest and ReplaceSessionKeysRequest that pysim's tests take from a third-party
// SM-DP+ trace (bsp_mode51_sequence), and osmo-smdpp's ConfigureISDP.
func TestPysimPlaintexts(t *testing.T) {
	c := bspCase(t, "bsp_mode51_sequence")
	steps := c["steps"].([]any)
	plain := func(i int) []byte { return h(t, steps[i].(map[string]any)["plaintext"].(string)) }

	t.Run("ConfigureISDPRequest", func(t *testing.T) {
		checkVector(t, plain(0), &ConfigureISDPRequest{}, new(ConfigureISDPRequest))
		checkVector(t, h(t, str(t, bspCase(t, "bpp_decode_double_wrapped"), "expected", "configure_isdp_plaintext")), &ConfigureISDPRequest{}, new(ConfigureISDPRequest))
	})
	t.Run("StoreMetadataRequest", func(t *testing.T) {
		test := ProfileClassTest
		checkVector(t, plain(1), &StoreMetadataRequest{
			Iccid: h(t, "98001032547698103214"), ServiceProviderName: "GSMA_TEST", ProfileName: "GSMA_TEST_PROFILE", ProfileClass: &test,
		}, new(StoreMetadataRequest))
		// The segment the MAC was computed over carries the same plaintext.
		seg := h(t, steps[1].(map[string]any)["expected_segment"].(string))
		if !bytes.Equal(macOnlyPlaintext(t, seg), plain(1)) {
			t.Fatal("88 segment plaintext")
		}
	})
	t.Run("ReplaceSessionKeysRequest", func(t *testing.T) {
		k := bspCase(t, "bsp_ppk_segments")["keys"].(map[string]any)
		checkVector(t, plain(2), &ReplaceSessionKeysRequest{
			InitialMacChainingValue: h(t, k["initial_mcv"].(string)),
			PpkEnc:                  h(t, k["s_enc_ppk_enc"].(string)),
			PpkCmac:                 h(t, k["s_mac_ppk_cmac"].(string)),
		}, new(ReplaceSessionKeysRequest))
	})
}

// loadCommercialBPP returns fixture i of testdata/rsp/bpp: the package and its segments as the
// fixture's author split them.
func loadCommercialBPP(t testing.TB, i int) ([]byte, [][]byte) {
	t.Helper()
	blob := b64(t, string(testdata(t, fmt.Sprintf("rsp/bpp/bpp@%d.txt", i))))
	var segs [][]byte
	for _, line := range strings.Split(string(testdata(t, fmt.Sprintf("rsp/bpp/sbpp@%d.txt", i))), "\n") {
		if line = strings.TrimSpace(line); line != "" && !strings.HasPrefix(line, "#") {
			segs = append(segs, h(t, line))
		}
	}
	return blob, segs
}

// TestCommercialBPPs decodes the Bound Profile Packages of four commercial SM-DP+s, checks the
// §2.5.5 segmentation against the fixtures' and the BF23 and StoreMetadata contents, and runs the
// segments through the eUICC-side reader.
func TestCommercialBPPs(t *testing.T) {
	op, jpg := ProfileClassOperational, IconTypeJPG
	tests := []struct {
		name     string
		hostID   string
		tidLen   int
		has87b   bool
		metadata func(t *testing.T, md *StoreMetadataRequest)
	}{
		{"Infineon", "rsp.infineon.com", 16, false, func(t *testing.T, md *StoreMetadataRequest) {
			want := &StoreMetadataRequest{Iccid: h(t, "98000000000000000200"), ServiceProviderName: "Leopard", ProfileName: "Leopard"}
			clearRaw(md)
			if fmt.Sprint(md) != fmt.Sprint(want) {
				t.Fatalf("%+v", md)
			}
		}},
		{"Redtea Mobile", "redteamobile", 8, false, func(t *testing.T, md *StoreMetadataRequest) {
			if md.ServiceProviderName != "Redtea Mobile" || md.ProfileName != "RedteaGO" || *md.ProfileClass != op ||
				len(md.NotificationConfigurationInfo) != 3 || md.ProfileOwner == nil || !bytes.Equal(md.ProfileOwner.MccMnc, h(t, "54F421")) {
				t.Fatalf("%+v", md)
			}
			for i, bit := range []int{NotificationEnable, NotificationDisable, NotificationDelete} {
				n := md.NotificationConfigurationInfo[i]
				if n.ProfileManagementOperation.BitLength != bit+1 || n.ProfileManagementOperation.At(bit) != 1 || n.NotificationAddress != "rsp-eu.redteamobile.com" {
					t.Fatalf("notificationConfigurationInfo[%d] = %+v", i, n)
				}
			}
			// A field after profilePolicyRules that SGP.22 v2 does not define: kept, not refused.
			if !bytes.HasPrefix(md.Extensions, h(t, "BF76 26")) || len(md.Extensions) != 3+0x26 {
				t.Fatalf("Extensions %X", md.Extensions)
			}
		}},
		{"Tigo", "GSMA_HOST_ID", 16, true, func(t *testing.T, md *StoreMetadataRequest) {
			if md.ServiceProviderName != "Tigo" || *md.IconType != jpg || len(md.Icon) != 0xCD || !bytes.HasPrefix(md.Icon, h(t, "89504E470D0A1A0A")) ||
				len(md.NotificationConfigurationInfo) != 1 || md.NotificationConfigurationInfo[0].NotificationAddress != "millicomelsalvador.validereachdpplus.com" ||
				md.NotificationConfigurationInfo[0].ProfileManagementOperation.BitLength != 4 || md.NotificationConfigurationInfo[0].ProfileManagementOperation.Bytes[0] != 0xF0 ||
				!bytes.Equal(md.ProfileOwner.MccMnc, h(t, "07F630")) || md.ProfileOwner.Gid1 != nil {
				t.Fatalf("%+v", md)
			}
		}},
		{"Tele2", "esim-vsm.com", 16, false, func(t *testing.T, md *StoreMetadataRequest) {
			if md.ServiceProviderName != "Tele2" || md.ProfileName != "Tele2_TK_eSIM_E01_2" || *md.ProfileClass != op ||
				md.NotificationConfigurationInfo[0].NotificationAddress != "sm-91443.esim-vsm.com" ||
				!bytes.Equal(md.ProfileOwner.MccMnc, h(t, "04F177")) || !bytes.Equal(md.ProfileOwner.Gid1, h(t, "FFFF")) || !bytes.Equal(md.ProfileOwner.Gid2, h(t, "FFFF")) {
				t.Fatalf("%+v", md)
			}
		}},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			blob, wantSegs := loadCommercialBPP(t, i+1)
			var p BoundProfilePackage
			if err := p.Unmarshal(blob); err != nil {
				t.Fatal(err)
			}
			if enc, err := p.Marshal(); err != nil || !bytes.Equal(enc, blob) {
				t.Fatalf("re-encoding differs: %v", err)
			}
			isc := p.InitialiseSecureChannelRequest
			if isc.RemoteOpID != RemoteOpIdInstallBoundProfilePackage || len(isc.TransactionID) != tt.tidLen ||
				!bytes.Equal(isc.ControlRefTemplate.KeyType, []byte{0x88}) || !bytes.Equal(isc.ControlRefTemplate.KeyLen, []byte{0x10}) ||
				string(isc.ControlRefTemplate.HostID) != tt.hostID ||
				len(isc.SmdpOtpk) != 65 || isc.SmdpOtpk[0] != 0x04 || len(isc.SmdpSign) != 64 {
				t.Fatalf("InitialiseSecureChannelRequest %+v", isc)
			}
			if !bytes.Equal(isc.Raw, blob[5:5+len(isc.Raw)]) || !bytes.HasSuffix(isc.Raw, cat(isc.SignedRaw, h(t, "5F37 40"), isc.SmdpSign)) {
				t.Fatal("Raw/SignedRaw are not the received bytes")
			}
			if (p.SecondSequenceOf87 != nil) != tt.has87b || len(p.FirstSequenceOf87) != 1 || len(p.SequenceOf88) != 1 {
				t.Fatalf("sequences: %d %d %v", len(p.FirstSequenceOf87), len(p.SequenceOf88), p.SecondSequenceOf87 != nil)
			}

			segs, err := p.Segments()
			if err != nil {
				t.Fatal(err)
			}
			if len(segs) != len(wantSegs) {
				t.Fatalf("%d segments, fixture has %d", len(segs), len(wantSegs))
			}
			for j := range segs {
				if !bytes.Equal(segs[j], wantSegs[j]) {
					t.Fatalf("segment %d:\n got %X\nwant %X", j, segs[j][:min(len(segs[j]), 16)], wantSegs[j][:min(len(wantSegs[j]), 16)])
				}
			}
			checkBPPSegments(t, wantSegs, &p)

			var md StoreMetadataRequest
			plain := macOnlyPlaintext(t, p.SequenceOf88[0])
			checkVector(t, plain, nil, &md)
			tt.metadata(t, &md)
		})
	}
}

// TestCapturedEUICCResponses decodes ES10b responses of real eUICCs (testdata/rsp/captures.json).
func TestCapturedEUICCResponses(t *testing.T) {
	var f struct {
		Cases []struct{ Name, Type, Hex, Origin string }
	}
	if err := json.Unmarshal(testdata(t, "rsp/captures.json"), &f); err != nil {
		t.Fatal(err)
	}
	gsmaCI := h(t, "81370F5125D0B1D408D4C3B232E6D25E795BEBFB")
	want := map[string]codec{
		"lpac-143-challenge":  &GetEuiccChallengeResponse{EuiccChallenge: h(t, "FDC5A60071053ABB4C0F91BC0620BCFD")},
		"lpac-143-euiccinfo1": &EUICCInfo1{SVN: VersionType{2, 3, 0}, EuiccCiPKIdListForVerification: [][]byte{gsmaCI}, EuiccCiPKIdListForSigning: [][]byte{gsmaCI}},
		"lpac-92-challenge":   &GetEuiccChallengeResponse{EuiccChallenge: h(t, "771DBED0E73DE650625B7E8011A776BF")},
		"lpac-92-euiccinfo1": &EUICCInfo1{SVN: VersionType{2, 2, 2},
			EuiccCiPKIdListForVerification: [][]byte{h(t, "0B1359633D2AB469761CA9D82B2229350DB722D7"), gsmaCI},
			EuiccCiPKIdListForSigning:      [][]byte{h(t, "0B1359633D2AB469761CA9D82B2229350DB722D7"), gsmaCI}},
	}
	if len(f.Cases) != len(want) {
		t.Fatalf("%d cases", len(f.Cases))
	}
	for _, c := range f.Cases {
		t.Run(c.Name, func(t *testing.T) {
			w := want[c.Name]
			checkVector(t, h(t, c.Hex), w, newOf(w))
			checkMalformedGeneric(t, h(t, c.Hex), func() codec { return newOf(w) }, true)
		})
	}
}
