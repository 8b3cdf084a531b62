package download

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/smdpp/smdpp/orders"
	"github.com/smdpp/smdpp/progress"
	"github.com/smdpp/smdpp/rsp"
	"github.com/smdpp/smdpp/store"
)

// TestProgressNotifications: the operator hears of each step of a download, in order, through
// the outbox: eligibility (1), BPP download (3) and installation (4) with the eUICC's result;
// a wrong confirmation code is point 2 and a cancelled attempt a failed point 3.
func TestProgressNotifications(t *testing.T) {
	var mu sync.Mutex
	var got []progress.HandleDownloadProgressInfoRequest
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req progress.HandleDownloadProgressInfoRequest
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
			t.Errorf("callback body: %v", err)
		}
		mu.Lock()
		got = append(got, req)
		mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	}))
	defer receiver.Close()

	notifier := progress.NewNotifier("smdpp-test")
	e := newEnv(t, "NIST", WithProgress(notifier, nil))
	if _, err := e.db.UpdateOperator(e.ctx, store.Operator{ID: operator, Name: "Operator One", RedownloadLimit: 1, CallbackURL: receiver.URL}); err != nil {
		t.Fatal(err)
	}
	iccid, mid := e.order(upp, orders.ConfirmOrderRequest{ConfirmationCode: "1234"})

	// One cancelled attempt with a wrong code first, then a good one.
	ia, ac := e.upToAuthenticated(mid)
	good := e.prepareDownload(ac, hashConfirmationCode("1234", ia.TransactionID))
	bad := e.resign(good, ac, func(s *rsp.EUICCSigned2) { s.HashCc = hashConfirmationCode("0000", ia.TransactionID) })
	if _, err := e.svc.GetBoundProfilePackage(e.ctx, ia.TransactionID, bad); err == nil {
		t.Fatal("wrong code accepted")
	}
	bpp, err := e.svc.GetBoundProfilePackage(e.ctx, ia.TransactionID, good)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.svc.HandleNotification(e.ctx, e.load(bpp)); err != nil {
		t.Fatal(err)
	}

	d := progress.NewDeliverer(e.db)
	ctx, cancel := context.WithTimeout(e.ctx, 10*time.Second)
	defer cancel()
	for {
		mu.Lock()
		n := len(got)
		mu.Unlock()
		if n >= 4 || ctx.Err() != nil {
			break
		}
		if _, err := d.DeliverDue(ctx); err != nil {
			t.Fatal(err)
		}
	}
	want := []struct {
		point  int
		status string
	}{{1, "Executed-Success"}, {2, "Failed"}, {3, "Executed-Success"}, {4, "Executed-Success"}}
	if len(got) != len(want) {
		t.Fatalf("got %d callbacks, want %d: %+v", len(got), len(want), got)
	}
	for i, w := range want {
		g := got[i]
		if g.NotificationPointID != w.point || g.NotificationPointStatus.Status != w.status || g.ICCID != iccid || g.EID != e.cardCfg.EID {
			t.Errorf("callback %d: point %d %s for %s/%s, want point %d %s", i, g.NotificationPointID, g.NotificationPointStatus.Status, g.ICCID, g.EID, w.point, w.status)
		}
	}
	var pir rsp.PendingNotification
	if err := pir.Unmarshal(got[3].ResultData); err != nil || pir.ProfileInstallationResult == nil {
		t.Errorf("point 4 resultData is not the ProfileInstallationResult: %v", err)
	}
}
