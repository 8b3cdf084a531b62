package euicc

import (
	"bytes"
	"context"
	"testing"

	"github.com/smdpp/smdpp/apdu"
	"github.com/smdpp/smdpp/certs"
	"github.com/smdpp/smdpp/rsp"
)

// recorder is an Applet that remembers the requests passed to the card it wraps, to seed the
// fuzz corpus with a real download.
type recorder struct {
	inner *ISDR
	reqs  [][]byte
}

func (r *recorder) Process(ctx context.Context, req []byte) ([]byte, error) {
	r.reqs = append(r.reqs, bytes.Clone(req))
	return r.inner.Process(ctx, req)
}

// recordDownload returns every request of a successful download and Profile operations.
func recordDownload(t testing.TB) [][]byte {
	pki := testPKI(t, "nist", "main")
	isdr, err := New(cardConfig(pki, 0))
	if err != nil {
		t.Fatal(err)
	}
	rec := &recorder{inner: isdr}
	es10, err := apdu.OpenES10(context.Background(), apdu.NewCardTransport(apdu.NewCard(rec)))
	if err != nil {
		t.Fatal(err)
	}
	card := &testCard{t: t, isdr: isdr, es10: es10}
	srv := devServer(pki)
	install(t, card, srv, bindOptions{upp: syntheticUPP(iccid(0xA1), 1500), ppk: true})
	card.call(es10c(tagEnableProfile, iccid(0xA1)))
	card.call(unhex("BF2B00"))
	d, _ := srv.authenticate(t, card, authHooks{})
	card.cancel(t, d.tid, rsp.CancelSessionReasonTimeout)
	for _, req := range []string{"BF2200", "BF3E035C015A", "BF3C00", "BF4300", "BF2D00", "BF2800", "BF3003800101", "BF340482020560"} {
		card.call(unhex(req))
	}
	card.call(es10c(tagDisableProfile, iccid(0xA1)))
	card.call(es10c(tagDeleteProfile, iccid(0xA1)))
	return rec.reqs
}

// FuzzProcess feeds two arbitrary requests to a fresh card: it must never panic, and must
// refuse what it does not accept with a status word.
func FuzzProcess(f *testing.F) {
	reqs := recordDownload(f)
	for i, r := range reqs {
		f.Add(r, reqs[(i+1)%len(reqs)])
	}
	f.Add([]byte{}, []byte{0xBF})
	f.Add([]byte{0xBF, 0x36, 0x84, 0xFF, 0xFF, 0xFF, 0xFF}, []byte{0x86, 0x00})
	pki := testPKI(f, "nist", "main")
	cfg := cardConfig(pki, 0)
	f.Fuzz(func(t *testing.T, a, b []byte) {
		isdr, err := New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		for _, req := range [][]byte{a, b} {
			_, err := isdr.Process(context.Background(), req)
			if err == nil {
				continue
			}
			if sw, ok := apdu.StatusWord(err); !ok || sw>>8 != 0x6A && sw != apdu.SWConditionsNotSatisfied {
				t.Fatalf("request %X: error without a card status word: %v", req, err)
			}
		}
	})
}

// FuzzBPPSegments runs a real download up to the Bound Profile Package and then changes one of
// its segments as the fuzzer says: replaced, inserted, bit-flipped or truncated. The card must
// answer each segment with nothing, a status word, or a ProfileInstallationResult it signed.
func FuzzBPPSegments(f *testing.F) {
	f.Add(uint8(0), uint8(2), uint16(0), []byte{0xA1, 0x00})
	f.Add(uint8(1), uint8(3), uint16(5), []byte{0x88, 0x01, 0x00})
	f.Add(uint8(2), uint8(5), uint16(30), []byte{0x10})
	f.Add(uint8(3), uint8(0), uint16(0), []byte{0x01, 0x02, 0x03})
	f.Add(uint8(2), uint8(0), uint16(200), []byte{0x80})
	pki := testPKI(f, "nist", "main")
	cfg := cardConfig(pki, 0)
	srv := devServer(pki)
	upp := syntheticUPP(iccid(0xB1), 2500)
	f.Fuzz(func(t *testing.T, mode, at uint8, pos uint16, data []byte) {
		card := newTestCard(t, cfg)
		d, _ := srv.authenticate(t, card, authHooks{})
		srv.prepare(t, card, d, prepHooks{})
		segs := srv.bind(t, d, bindOptions{upp: upp, ppk: at%2 == 1})
		i := int(at) % len(segs)
		switch mode % 4 {
		case 0:
			segs[i] = data
		case 1:
			segs = append(segs[:i:i], append([][]byte{data}, segs[i:]...)...)
		case 2:
			if len(data) > 0 && len(segs[i]) > 0 {
				segs[i] = bytes.Clone(segs[i])
				segs[i][int(pos)%len(segs[i])] ^= data[0] | 1
			}
		case 3:
			segs[i] = segs[i][:min(len(segs[i]), len(data))]
		}
		for _, seg := range segs {
			resp, err := card.isdr.Process(context.Background(), seg)
			if err != nil {
				if _, ok := apdu.StatusWord(err); !ok {
					t.Fatalf("segment %X: %v", seg, err)
				}
				continue
			}
			if len(resp) == 0 {
				continue
			}
			var pir rsp.ProfileInstallationResult
			if err := pir.Unmarshal(resp); err != nil {
				t.Fatalf("response %X: %v", resp, err)
			}
			if !certs.VerifyRaw(d.euiccCert.PublicKey, pir.ProfileInstallationResultData.Raw, pir.EuiccSignPIR) {
				t.Fatal("euiccSignPIR does not verify")
			}
		}
	})
}
