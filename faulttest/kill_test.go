//go:build unix

package faulttest

import (
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/smdpp/smdpp/lpa"
	"github.com/smdpp/smdpp/status"
)

// TestKillDuringES9Plus kills the server with SIGKILL during each ES9+ function (SGP.22 §5.6),
// right after the proxy forwarded the request (the server may or may not have executed it) or
// right after the server answered it (executed and committed, but the answer lost), with RSP
// sessions in memory (lost by the restart) and in Redis (kept). The proxy restarts the server on
// the same data directory and port before it answers the LPA 502, as a supervisor would, so
// the LPA's clean-up reaches the new process. For cancelSession, the BPP answer is lost first
// so that the LPA has a session to cancel with its BPP already sent.
//
// Afterwards: the LPA's own CancelSession either succeeded or failed with an SGP.22 status;
// finish brings the download to its end as SGP.22 expects (the pending Profile Installation
// Result delivered again, else the order Released again by the end of its session and installed
// by a fresh download); the orders are intact and every callback reaches the operator in order.
func TestKillDuringES9Plus(t *testing.T) {
	t.Parallel()
	type tc struct {
		sessions, function string
		stage              stage
	}
	var cases []tc
	for _, sessions := range []string{"memory", "redis"} {
		for _, fn := range []string{lpa.FunctionInitiateAuthentication, lpa.FunctionAuthenticateClient,
			lpa.FunctionGetBoundProfilePackage, lpa.FunctionHandleNotification, lpa.FunctionCancelSession} {
			for _, st := range []stage{forwarded, answered} {
				c := tc{sessions: sessions, function: fn, stage: st}
				cases = append(cases, c)
			}
		}
	}
	name := func(c tc) string { return fmt.Sprintf("%s/%s/%s", c.sessions, c.function, c.stage) }
	runConcurrently(t, 5, cases, name, func(t *testing.T, c tc) {
		var flags []string
		if c.sessions == "redis" {
			flags = []string{"--redis", startRedis(t).url()}
		}
		e := newEnv(t, flags...)
		eid := eids[0]
		iccid, code := e.order(t, "TS48V2-SAIP2-3-BERTLV-UNIQUE.der", "--eid", eid)
		d := newDevice(t, eid)

		var killed atomic.Bool
		e.proxy.setHook(func(fn string, n int, st stage) bool {
			if c.function == lpa.FunctionCancelSession && fn == lpa.FunctionGetBoundProfilePackage && n == 1 && st == answered {
				return true // the BPP is lost on its way: the LPA cancels the session
			}
			if fn != c.function || n != 1 || st != c.stage {
				return false
			}
			if err := e.srv.kill(); err != nil {
				t.Error(err)
			}
			if err := e.srv.start(); err != nil {
				t.Errorf("restarting smdpp serve: %v", err)
			}
			killed.Store(true)
			return true
		})
		res, err := d.download(code, lpa.DownloadOptions{})
		e.proxy.setHook(nil)
		if !killed.Load() {
			t.Fatalf("the server was never killed; download: %v; proxy: %v", err, e.proxy.log())
		}
		if err == nil {
			t.Fatalf("the download succeeded through a killed server: %+v", res)
		}
		t.Logf("first attempt: %v; cancelled %v (%v); proxy: %v", err, res.Cancelled, res.CancelErr, e.proxy.log())

		// The LPA's clean-up: no session to cancel before a transactionId, none after a PIR;
		// otherwise its CancelSession reached the restarted server, which must have answered
		// with success or an SGP.22 status (8.10.1/3.9 for a session it lost).
		switch {
		case c.function == lpa.FunctionInitiateAuthentication:
			if res.TransactionID != nil || res.CancelErr != nil {
				t.Errorf("transactionId %X, cancel error %v: want neither", res.TransactionID, res.CancelErr)
			}
		case res.PIR:
		case c.function == lpa.FunctionCancelSession:
			if httpStatus(res.CancelErr) != 502 {
				t.Errorf("cancel: %v, want the proxy's 502", res.CancelErr)
			}
		case res.CancelErr != nil:
			if _, ok := sgp22Failure(res.CancelErr); !ok {
				t.Errorf("CancelSession after the restart: %v, want success or an SGP.22 status", res.CancelErr)
			}
			if c.sessions == "redis" {
				t.Errorf("CancelSession after the restart: %v; with the sessions in Redis it must succeed", res.CancelErr)
			}
			if c.sessions == "memory" && !isStatus(res.CancelErr, status.SubjectTransactionID, status.ReasonUnknown) {
				t.Errorf("CancelSession of a lost session: %v, want 8.10.1/3.9", res.CancelErr)
			}
		}

		expect(t, e.finish(t, d, iccid, code, res))
		states, want := e.checkOrders(t, 1)
		t.Logf("order %s ended %s; operator callbacks %v", iccid, states[iccid], want[iccid])
		e.checkCallbacks(t, want, 30*time.Second, expireStaleLeases)
	})
}
