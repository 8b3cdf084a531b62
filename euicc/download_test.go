package euicc

import (
	"bytes"
	"encoding/asn1"
	"fmt"
	"testing"

	"github.com/smdpp/smdpp/apdu"
	"github.com/smdpp/smdpp/rsp"
	"github.com/smdpp/smdpp/tlv"
)

// successSima is the simaResponse of a successful installation: EUICCResponse {peStatus {{ok}}}.
var successSima = unhex("3007A00530038001" + "00")

// install runs a whole download of upp into card and checks that it succeeds.
func install(t testing.TB, card *testCard, srv *server, o bindOptions) (*download, *rsp.ProfileInstallationResult) {
	t.Helper()
	d, auth := srv.authenticate(t, card, authHooks{})
	if auth.AuthenticateResponseOk == nil {
		t.Fatalf("AuthenticateServer failed: %+v", auth.AuthenticateResponseError)
	}
	if prep := srv.prepare(t, card, d, prepHooks{}); prep.DownloadResponseOk == nil {
		t.Fatalf("PrepareDownload failed: %+v", prep.DownloadResponseError)
	}
	segs := srv.bind(t, d, o)
	pir, i := load(t, card, d, segs)
	data := pir.ProfileInstallationResultData
	if data.ErrorResult != nil {
		t.Fatalf("installation failed at segment %d of %d: bppCommandId %d, errorReason %d", i, len(segs), data.ErrorResult.BppCommandId, data.ErrorResult.ErrorReason)
	}
	if i != len(segs)-1 {
		t.Fatalf("result after segment %d of %d", i, len(segs))
	}
	return d, pir
}

func TestDownload(t *testing.T) {
	type profileCase struct {
		name string
		upp  func(t testing.TB) []byte
		ppk  bool
	}
	cases := []profileCase{
		{"synthetic", func(testing.TB) []byte { return syntheticUPP(iccid(0x01), 3000) }, false},
		{"synthetic with PPK", func(testing.TB) []byte { return syntheticUPP(iccid(0x02), 3000) }, true},
		{"one segment", func(testing.TB) []byte { return syntheticUPP(iccid(0x03), 10) }, false},
		{"TS48 v1 A", func(t testing.TB) []byte { return readUPP(t, "TS48V1-A-UNIQUE.der") }, false},
		{"TS48 v2 SAIP2.3 BERTLV with PPK", func(t testing.TB) []byte { return readUPP(t, "TS48V2-SAIP2-3-BERTLV-UNIQUE.der") }, true},
		{"TS48 v5 SUCI", func(t testing.TB) []byte { return readUPP(t, "TS48V5-SAIP2-3-BERTLV-SUCI-UNIQUE.der") }, false},
	}
	for _, curve := range curves {
		for _, pc := range cases {
			t.Run(curve+"/"+pc.name, func(t *testing.T) {
				upp := pc.upp(t)
				pki := testPKI(t, curve, "main")
				card := newTestCard(t, cardConfig(pki, 0))
				srv := devServer(pki)
				freeBefore := card.freeMemory()

				d, pir := install(t, card, srv, bindOptions{upp: upp, ppk: pc.ppk})
				data := pir.ProfileInstallationResultData
				want := uppICCID(t, upp)
				if !bytes.Equal(data.NotificationMetadata.Iccid, want) || data.NotificationMetadata.NotificationAddress != srv.address {
					t.Errorf("PIR notification %+v", data.NotificationMetadata)
				}
				if !data.SmdpOid.Equal(asn1.ObjectIdentifier{2, 999, 10}) {
					t.Errorf("PIR smdpOid %v", data.SmdpOid)
				}
				if !bytes.Equal(data.SuccessResult.AID, unhex("A0000005591010FFFFFFFF8900001000")) ||
					!bytes.Equal(data.SuccessResult.SimaResponse, successSima) {
					t.Errorf("successResult %X %X", data.SuccessResult.AID, data.SuccessResult.SimaResponse)
				}

				infos := card.profiles(t, "BF2D00")
				if len(infos) != 1 || !bytes.Equal(infos[0].Iccid, want) || *infos[0].ProfileState != rsp.ProfileStateDisabled ||
					*infos[0].ProfileClass != rsp.ProfileClassTest || *infos[0].ServiceProviderName != "smdpp" {
					t.Errorf("ProfileInfoList %+v", infos)
				}
				if got := card.freeMemory(); got != freeBefore-int64(len(upp)) {
					t.Errorf("free memory %d after installing %d bytes, was %d", got, len(upp), freeBefore)
				}

				// The result is a pending notification, retrieved byte for byte.
				list := card.notifications(t)
				if len(list) != 1 || list[0].SeqNumber != data.NotificationMetadata.SeqNumber {
					t.Fatalf("ListNotification %+v", list)
				}
				got := card.retrieve(t, data.NotificationMetadata.SeqNumber)
				if got.ProfileInstallationResult == nil || !bytes.Equal(mustMarshal(t, got), mustMarshal(t, pir)) {
					t.Error("RetrieveNotificationsList does not return the PIR")
				}

				// The session is over: a segment is refused, and so is CancelSession.
				if sw, _ := card.sw(unhex("A100")); sw != apdu.SWConditionsNotSatisfied {
					t.Errorf("segment after the result: SW %04X", sw)
				}
				cs := card.cancel(t, d.tid, rsp.CancelSessionReasonEndUserRejection)
				if cs.CancelSessionResponseError == nil || *cs.CancelSessionResponseError != rsp.CancelSessionResponseErrorInvalidTransactionId {
					t.Errorf("CancelSession after the result: %+v", cs)
				}
			})
		}
	}
}

// TestDownloadAllTS48 installs every TS.48 profile package of testdata/upp on one card.
func TestDownloadAllTS48(t *testing.T) {
	uppDir(t)
	pki := testPKI(t, "nist", "main")
	cfg := cardConfig(pki, 1)
	cfg.FreeNonVolatileMemory = 1 << 20
	card := newTestCard(t, cfg)
	srv := devServer(pki)
	names := []string{
		"TS48V1-A-UNIQUE.der", "TS48V1-B-UNIQUE.der", "TS48V2-SAIP2-1-BERTLV-UNIQUE.der", "TS48V2-SAIP2-1-NOBERTLV-UNIQUE.der",
		"TS48V2-SAIP2-3-BERTLV-UNIQUE.der", "TS48V2-SAIP2-3-NOBERTLV-UNIQUE.der", "TS48V3-SAIP2-1-BERTLV-UNIQUE.der",
		"TS48V3-SAIP2-1-NOBERTLV-UNIQUE.der", "TS48V3-SAIP2-3-BERTLV-UNIQUE.der", "TS48V3-SAIP2-3-NOBERTLV-UNIQUE.der",
		"TS48V4-SAIP2-1A-NOBERTLV-UNIQUE.der", "TS48V4-SAIP2-1B-NOBERTLV-UNIQUE.der", "TS48V4-SAIP2-3-BERTLV-UNIQUE.der",
		"TS48V4-SAIP2-3-NOBERTLV-UNIQUE.der", "TS48V5-SAIP2-1A-NOBERTLV-UNIQUE.der", "TS48V5-SAIP2-1B-NOBERTLV-UNIQUE.der",
		"TS48V5-SAIP2-3-BERTLV-SUCI-UNIQUE.der", "TS48V5-SAIP2-3-NOBERTLV-UNIQUE.der",
	}
	for i, name := range names {
		_, pir := install(t, card, srv, bindOptions{upp: readUPP(t, name), ppk: i%2 == 1})
		aid := pir.ProfileInstallationResultData.SuccessResult.AID
		if want := fmt.Sprintf("A0000005591010FFFFFFFF890000%02X00", 0x10+i); fmt.Sprintf("%X", aid) != want {
			t.Errorf("%s: ISD-P AID %X, want %s", name, aid, want)
		}
	}
	if n := len(card.profiles(t, "BF2D00")); n != len(names) {
		t.Errorf("%d Profiles installed, want %d", n, len(names))
	}
}

func TestBppEuiccOtpkReuse(t *testing.T) {
	for _, curve := range curves {
		t.Run(curve, func(t *testing.T) {
			pki := testPKI(t, curve, "main")
			card := newTestCard(t, cardConfig(pki, 0))
			srv := devServer(pki)
			upp := syntheticUPP(iccid(0x21), 500)

			// First attempt: bound, but the package never reaches the card.
			d1, _ := srv.authenticate(t, card, authHooks{})
			srv.prepare(t, card, d1, prepHooks{})
			first := d1.euiccOtpk

			// Retry: the SM-DP+ names the key it bound the package to; the card reuses it.
			d2, _ := srv.authenticate(t, card, authHooks{})
			d2.euiccOtpk = first
			if prep := srv.prepare(t, card, d2, prepHooks{}); prep.DownloadResponseOk == nil {
				t.Fatalf("PrepareDownload: %+v", prep.DownloadResponseError)
			}
			if !bytes.Equal(d2.euiccOtpk, first) {
				t.Fatal("the card did not reuse otPK.EUICC.ECKA named by bppEuiccOtpk")
			}
			pir, _ := load(t, card, d2, srv.bind(t, d2, bindOptions{upp: upp}))
			if pir.ProfileInstallationResultData.SuccessResult == nil {
				t.Fatalf("retry failed: %+v", pir.ProfileInstallationResultData.ErrorResult)
			}

			// Once used by InitialiseSecureChannel the key is gone: a third session naming it gets a
			// fresh one.
			d3, _ := srv.authenticate(t, card, authHooks{})
			d3.euiccOtpk = first
			srv.prepare(t, card, d3, prepHooks{})
			if bytes.Equal(d3.euiccOtpk, first) {
				t.Fatal("otSK.EUICC.ECKA reused after it bound a package")
			}

			// An unknown bppEuiccOtpk gives a fresh key too.
			d4, _ := srv.authenticate(t, card, authHooks{})
			d4.euiccOtpk = random(65)
			srv.prepare(t, card, d4, prepHooks{})
			if bytes.Equal(d4.euiccOtpk, d3.euiccOtpk) {
				t.Fatal("unknown bppEuiccOtpk: key reused")
			}
		})
	}
}

func TestConfirmationCode(t *testing.T) {
	pki := testPKI(t, "nist", "main")
	card := newTestCard(t, cardConfig(pki, 0))
	srv := devServer(pki)
	d, _ := srv.authenticate(t, card, authHooks{})
	hashCc := random(32)
	prep := srv.prepare(t, card, d, prepHooks{
		signed: func(s *rsp.SmdpSigned2) { s.CcRequiredFlag = true },
		req:    func(r *rsp.PrepareDownloadRequest) { r.HashCc = hashCc },
	})
	if prep.DownloadResponseOk == nil || !bytes.Equal(prep.DownloadResponseOk.EUICCSigned2.HashCc, hashCc) {
		t.Fatalf("PrepareDownload with hashCc: %+v", prep)
	}
}

// freeMemory returns the free non-volatile memory the card reports in EUICCInfo2.
func (c *testCard) freeMemory() int64 {
	c.t.Helper()
	var info rsp.EUICCInfo2
	if err := info.Unmarshal(c.call(unhex("BF2200"))); err != nil {
		c.t.Fatalf("EUICCInfo2: %v", err)
	}
	s := tlv.String(info.ExtCardResource)
	var apps, nv, vol []byte
	if !s.ReadOctets(0x81, &apps) || !s.ReadOctets(0x82, &nv) || !s.ReadOctets(0x83, &vol) || !s.Empty() {
		c.t.Fatalf("extCardResource %X", info.ExtCardResource)
	}
	var n int64
	for _, b := range nv {
		n = n<<8 | int64(b)
	}
	return n
}

// profiles returns the ProfileInfoList for the request given in hex.
func (c *testCard) profiles(t testing.TB, req string) []rsp.ProfileInfo {
	t.Helper()
	var r rsp.ProfileInfoListResponse
	if err := r.Unmarshal(c.call(unhex(req))); err != nil {
		t.Fatalf("ProfileInfoListResponse: %v", err)
	}
	if r.ProfileInfoListError != nil {
		t.Fatalf("ProfileInfoList error %d", *r.ProfileInfoListError)
	}
	return r.ProfileInfoListOk
}

// notifications returns the pending notifications' metadata.
func (c *testCard) notifications(t testing.TB) []rsp.NotificationMetadata {
	t.Helper()
	var r rsp.ListNotificationResponse
	if err := r.Unmarshal(c.call(unhex("BF2800"))); err != nil {
		t.Fatalf("ListNotificationResponse: %v", err)
	}
	return r.NotificationMetadataList
}

// retrieve returns the pending notification seq.
func (c *testCard) retrieve(t testing.TB, seq int64) *rsp.PendingNotification {
	t.Helper()
	req := rsp.RetrieveNotificationsListRequest{SeqNumber: &seq}
	var r rsp.RetrieveNotificationsListResponse
	if err := r.Unmarshal(c.call(mustMarshal(t, &req))); err != nil {
		t.Fatalf("RetrieveNotificationsListResponse: %v", err)
	}
	if len(r.NotificationList) != 1 {
		t.Fatalf("RetrieveNotificationsList(%d): %+v", seq, r)
	}
	return &r.NotificationList[0]
}

// cancel sends CancelSession.
func (c *testCard) cancel(t testing.TB, tid []byte, reason rsp.CancelSessionReason) *rsp.CancelSessionResponse {
	t.Helper()
	var r rsp.CancelSessionResponse
	if err := r.Unmarshal(c.call(mustMarshal(t, &rsp.CancelSessionRequest{TransactionID: tid, Reason: reason}))); err != nil {
		t.Fatalf("CancelSessionResponse: %v", err)
	}
	return &r
}
