package lpa

import (
	"context"
	"errors"
	"testing"

	"github.com/smdpp/smdpp/rsp"
	"github.com/smdpp/smdpp/tlv"
)

func TestProcessNotifications(t *testing.T) {
	r := newRig(t, true)
	var pirN rsp.PendingNotification
	if err := pirN.Unmarshal(testPIR(t, nil)); err != nil {
		t.Fatal(err)
	}
	pirN.ProfileInstallationResult.ProfileInstallationResultData.NotificationMetadata.NotificationAddress = r.smdp.addr
	other := func(seq int64, addr string) rsp.PendingNotification {
		return rsp.PendingNotification{OtherSignedNotification: &rsp.OtherSignedNotification{
			TbsOtherNotification: rsp.NotificationMetadata{SeqNumber: seq, ProfileManagementOperation: tlv.NamedBits(rsp.NotificationEnable),
				NotificationAddress: addr, Iccid: testIccid},
			EuiccNotificationSignature: testSig, EuiccCertificate: testCert, EumCertificate: testCert,
		}}
	}
	r.card.pending = []rsp.PendingNotification{
		pirN,
		other(8, r.smdp.addr),
		other(9, "bad address/with/path"),
	}
	got, err := r.lpa.ProcessNotifications(context.Background())
	var te *TransportError
	if !errors.As(err, &te) {
		t.Fatalf("error %v, want the transport error of the third notification", err)
	}
	if len(got) != 3 {
		t.Fatalf("%d results, want 3", len(got))
	}
	for i, want := range []NotificationResult{
		{SeqNumber: 7, Operation: rsp.NotificationInstall, Address: r.smdp.addr, Delivered: true, Removed: true},
		{SeqNumber: 8, Operation: rsp.NotificationEnable, Address: r.smdp.addr, Delivered: true, Removed: true},
		{SeqNumber: 9, Operation: rsp.NotificationEnable, Address: "bad address/with/path"},
	} {
		g := got[i]
		if g.SeqNumber != want.SeqNumber || g.Operation != want.Operation || g.Address != want.Address ||
			g.Delivered != want.Delivered || g.Removed != want.Removed || (g.Err == nil) != want.Delivered {
			t.Errorf("result %d = %+v, want %+v", i, g, want)
		}
	}
	checkEvents(t, r.ev, []string{"ES10 BF2B", "ES9 handleNotification", "ES10 BF30", "ES9 handleNotification", "ES10 BF30"})
	if r.smdp.headers[0].Get("User-Agent") != UserAgent {
		t.Errorf("User-Agent %q", r.smdp.headers[0].Get("User-Agent"))
	}
}

func TestProcessNotificationsServerRefuses(t *testing.T) {
	r := newRig(t, true)
	r.smdp.fail[FunctionHandleNotification] = failure{httpStatus: 500}
	var n rsp.PendingNotification
	if err := n.Unmarshal(testPIR(t, nil)); err != nil {
		t.Fatal(err)
	}
	n.ProfileInstallationResult.ProfileInstallationResultData.NotificationMetadata.NotificationAddress = r.smdp.addr
	r.card.pending = []rsp.PendingNotification{n}
	got, err := r.lpa.ProcessNotifications(context.Background())
	if err == nil || len(got) != 1 || got[0].Delivered || got[0].Removed {
		t.Fatalf("got %+v, %v; want one undelivered notification and an error", got, err)
	}
	if len(r.card.removed) != 0 {
		t.Errorf("card removed %v", r.card.removed)
	}
}

func TestProcessNotificationsEmpty(t *testing.T) {
	r := newRig(t, true)
	got, err := r.lpa.ProcessNotifications(context.Background())
	if err != nil || len(got) != 0 {
		t.Fatalf("got %+v, %v", got, err)
	}
	checkEvents(t, r.ev, []string{"ES10 BF2B"})
}
