//go:build unix

package faulttest

import (
	"testing"
	"time"

	"github.com/smdpp/smdpp/lpa"
	"github.com/smdpp/smdpp/status"
	"github.com/smdpp/smdpp/store"
)

// receiverDowntime is how long the operator's receiver stays down.
const receiverDowntime = 10 * time.Second

// TestCallbackReceiverDown takes the operator's HandleDownloadProgressInfo receiver (SGP.22
// §5.3.5) down before three downloads — two that install at once and one whose first attempt
// has a wrong confirmation code (notification point 2) — keeps it down for receiverDowntime
// and across a restart of the server, then brings it back on the same address. Every callback
// must then be delivered, in order per ICCID. The server has no setting for the deliverer's
// backoff (1 s doubling, with jitter), so the wait after the receiver is back is up to ~16 s.
func TestCallbackReceiverDown(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	type order struct {
		upp, eid, cc string
		iccid        string
		d            *device
	}
	orders := []*order{
		{upp: "TS48V2-SAIP2-3-BERTLV-UNIQUE.der", eid: eids[0]},
		{upp: "TS48V3-SAIP2-1-NOBERTLV-UNIQUE.der", eid: eids[1]},
		{upp: "TS48V3-SAIP2-3-BERTLV-UNIQUE.der", eid: eids[2], cc: "12345678"},
	}
	e.rcv.stop()
	down := time.Now()
	for _, o := range orders {
		var extra []string
		if o.cc != "" {
			extra = []string{"--confirmation-code", o.cc}
		}
		iccid, ac := e.order(t, o.upp, append(extra, "--eid", o.eid)...)
		o.iccid, o.d = iccid, newDevice(t, o.eid)
		if o.cc != "" {
			_, err := o.d.download(ac, lpa.DownloadOptions{ConfirmationCode: "87654321"})
			if !isStatus(err, status.SubjectConfirmationCode, status.ReasonRefused) {
				t.Fatalf("download with a wrong confirmation code: %v, want 8.2.7/3.8", err)
			}
		}
		res, err := o.d.download(ac, lpa.DownloadOptions{ConfirmationCode: o.cc})
		if err != nil || !res.Installed {
			t.Fatalf("download of %s: %v %+v", o.upp, err, res)
		}
	}

	// Halfway through the downtime the server is restarted with callbacks pending.
	time.Sleep(time.Until(down.Add(receiverDowntime / 2)))
	if err := e.srv.stop(); err != nil {
		t.Fatal(err)
	}
	if err := e.srv.start(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(time.Until(down.Add(receiverDowntime)))
	if got, err := e.rcv.byICCID(); err != nil || len(got) != 0 {
		t.Fatalf("callbacks %v (%v) while the receiver was down", got, err)
	}
	if err := e.rcv.start(); err != nil {
		t.Fatal(err)
	}

	states, want := e.checkOrders(t, len(orders))
	for _, o := range orders {
		if states[o.iccid] != store.StateInstalled {
			t.Errorf("order %s is %s, want Installed", o.iccid, states[o.iccid])
		}
		if len(want[o.iccid]) < 3 {
			t.Errorf("only %v recorded for %s", want[o.iccid], o.iccid)
		}
	}
	back := time.Now()
	e.checkCallbacks(t, want, 45*time.Second, keepLeases)
	t.Logf("all callbacks %v delivered %v after the receiver came back", want, time.Since(back).Round(100*time.Millisecond))
}
