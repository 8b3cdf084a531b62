//go:build unix

package faulttest

import (
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/smdpp/smdpp/lpa"
	"github.com/smdpp/smdpp/status"
	"github.com/smdpp/smdpp/store"
)

// TestRedisRestart runs the server with its RSP sessions in a private Redis, which is restarted
// (SIGKILL, then started again empty: no persistence) between AuthenticateClient and
// GetBoundProfilePackage. The in-flight session is lost: GetBoundProfilePackage must answer
// 8.10.1/3.9 (transactionId unknown, SGP.22 §5.6.2) and so must the LPA's CancelSession; the
// order is untouched (Released). While Redis is down a download fails with an SGP.22 status or
// a 5xx and /readyz says 503; once it is back a new download installs the profile.
func TestRedisRestart(t *testing.T) {
	t.Parallel()
	redis := startRedis(t)
	e := newEnv(t, "--redis", redis.url())
	eid := eids[0]
	iccid, code := e.order(t, "TS48V3-SAIP2-1-NOBERTLV-UNIQUE.der", "--eid", eid)
	d := newDevice(t, eid)

	var restarted atomic.Bool
	e.proxy.setHook(func(fn string, n int, st stage) bool {
		if fn == lpa.FunctionGetBoundProfilePackage && n == 1 && st == beforeForward {
			redis.kill()
			if err := redis.start(); err != nil {
				t.Error(err)
			}
			restarted.Store(true)
		}
		return false
	})
	res, err := d.download(code, lpa.DownloadOptions{})
	e.proxy.setHook(nil)
	if !restarted.Load() {
		t.Fatalf("Redis was never restarted; download: %v", err)
	}
	if !isStatus(err, status.SubjectTransactionID, status.ReasonUnknown) {
		t.Errorf("GetBoundProfilePackage after the session was lost: %v, want 8.10.1/3.9", err)
	}
	if !isStatus(res.CancelErr, status.SubjectTransactionID, status.ReasonUnknown) {
		t.Errorf("CancelSession of the lost session: %v, want 8.10.1/3.9", res.CancelErr)
	}
	if st := e.state(t, iccid); st != store.StateReleased {
		t.Errorf("after the lost session the order is %s, want Released", st)
	}

	// Redis down: the server stays up and says so; ES9+ fails cleanly.
	redis.kill()
	if code, err := e.srv.readyz(); code != http.StatusServiceUnavailable {
		t.Errorf("/readyz with Redis down: %d %v, want 503", code, err)
	}
	_, err = d.download(code, lpa.DownloadOptions{})
	checkFailure(t, "download with Redis down", err)
	t.Logf("download with Redis down: %v", err)
	if !e.srv.running() {
		t.Fatal("smdpp serve died with Redis")
	}

	// Redis back: a new download succeeds.
	if err := redis.start(); err != nil {
		t.Fatal(err)
	}
	if err := e.srv.waitReady(10 * time.Second); err != nil {
		t.Fatal(err)
	}
	res, err = d.download(code, lpa.DownloadOptions{})
	if err != nil || !res.Installed || res.ICCID != iccid {
		t.Fatalf("download after Redis came back: %v %+v", err, res)
	}
	states, want := e.checkOrders(t, 1)
	if states[iccid] != store.StateInstalled {
		t.Errorf("order %s is %s, want Installed", iccid, states[iccid])
	}
	e.checkCallbacks(t, want, 20*time.Second, keepLeases)
}
