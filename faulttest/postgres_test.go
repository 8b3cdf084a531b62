//go:build unix

package faulttest

import (
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/smdpp/smdpp/lpa"
	"github.com/smdpp/smdpp/store"
)

// TestPostgresRestart runs the server on a private PostgreSQL cluster and crashes the cluster
// (immediate shutdown) right after GetBoundProfilePackage reached the server, whose step —
// profile Released → Downloaded, its usage event and the operator's notification, one
// transaction — is then committed whole or not at all. While the database is down the server
// stays up, /readyz says 503, and ES9+ calls fail with an SGP.22 status or a 5xx. Once the
// cluster has recovered, both downloads (the interrupted one, brought to its end as SGP.22
// expects, and one that ran into the outage) install their profiles, nothing is half-written,
// and every callback reaches the operator in order.
func TestPostgresRestart(t *testing.T) {
	t.Parallel()
	pg := startPostgres(t)
	e := newEnv(t, "--database", pg.dsn())
	iccidA, codeA := e.order(t, "TS48V2-SAIP2-3-BERTLV-UNIQUE.der", "--eid", eids[1])
	iccidB, codeB := e.order(t, "TS48V3-SAIP2-3-BERTLV-UNIQUE.der", "--eid", eids[2])
	a, b := newDevice(t, eids[1]), newDevice(t, eids[2])

	var crashed atomic.Bool
	e.proxy.setHook(func(fn string, n int, st stage) bool {
		if fn == lpa.FunctionGetBoundProfilePackage && n == 1 && st == forwarded {
			if err := pg.stop(); err != nil {
				t.Error(err)
			}
			crashed.Store(true)
		}
		return false
	})
	resA, err := a.download(codeA, lpa.DownloadOptions{})
	e.proxy.setHook(nil)
	if !crashed.Load() {
		t.Fatalf("PostgreSQL was never stopped; download: %v", err)
	}
	// GetBoundProfilePackage either committed before the crash (then HandleNotification ran into
	// the outage) or failed with it; either way the attempt failed as SGP.22 allows.
	checkFailure(t, "download A across the crash", err)
	t.Logf("download A across the crash: %v; PIR %v; cancel %v", err, resA.PIR, resA.CancelErr)
	if resA.CancelErr != nil {
		checkFailure(t, "CancelSession during the outage", resA.CancelErr)
	}

	if code, err := e.srv.readyz(); code != http.StatusServiceUnavailable {
		t.Errorf("/readyz with PostgreSQL down: %d %v, want 503", code, err)
	}
	_, err = b.download(codeB, lpa.DownloadOptions{})
	checkFailure(t, "download B during the outage", err)
	t.Logf("download B during the outage: %v", err)
	if !e.srv.running() {
		t.Fatal("smdpp serve died with PostgreSQL")
	}

	if err := pg.start(); err != nil {
		t.Fatal(err)
	}
	// A load balancer sends traffic again once /readyz is 200.
	if err := e.srv.waitReady(30 * time.Second); err != nil {
		t.Fatal(err)
	}
	expect(t, e.finish(t, a, iccidA, codeA, resA))
	resB, err := b.download(codeB, lpa.DownloadOptions{})
	if err != nil || !resB.Installed {
		t.Errorf("download B after the outage: %v %+v", err, resB)
	}
	states, want := e.checkOrders(t, 2)
	for _, iccid := range []string{iccidA, iccidB} {
		if states[iccid] != store.StateInstalled {
			t.Errorf("order %s is %s, want Installed", iccid, states[iccid])
		}
	}
	e.checkCallbacks(t, want, 30*time.Second, expireStaleLeases)
}
