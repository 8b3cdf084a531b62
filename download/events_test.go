package download

import (
	"context"
	"sync"
	"testing"

	"github.com/smdpp/smdpp/orders"
	"github.com/smdpp/smdpp/store"
)

// recordingEvents is an Events that notes which orders' SM-DS events were deleted, and in which
// state the transaction saw them.
type recordingEvents struct {
	mu      sync.Mutex
	deleted []string
}

func (r *recordingEvents) Register(context.Context, *store.Tx, store.Profile) error { return nil }
func (r *recordingEvents) Delete(_ context.Context, _ *store.Tx, p store.Profile) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.deleted = append(r.deleted, p.ICCID+" "+string(p.State)+" "+p.MatchingID)
	return nil
}

// TestSMDSEventEndsWithTheOrder: an order registered with an SM-DS has its event deleted in the
// transaction that installs it, and not before.
func TestSMDSEventEndsWithTheOrder(t *testing.T) {
	ev := &recordingEvents{}
	e := newEnv(t, "NIST", WithEvents(ev))
	e.orders = orders.New(e.db, address, orders.WithEvents(ev))
	iccid, mid := e.order(upp, orders.ConfirmOrderRequest{EID: e.cardCfg.EID, SMDSAddress: "smds.example.com"})
	ia, ac := e.upToAuthenticated(mid)
	bpp, err := e.svc.GetBoundProfilePackage(e.ctx, ia.TransactionID, e.prepareDownload(ac, nil))
	if err != nil {
		t.Fatal(err)
	}
	if len(ev.deleted) != 0 {
		t.Fatalf("event deleted before the install: %v", ev.deleted)
	}
	if err := e.svc.HandleNotification(e.ctx, e.load(bpp)); err != nil {
		t.Fatal(err)
	}
	if want := iccid + " Installed " + mid; len(ev.deleted) != 1 || ev.deleted[0] != want {
		t.Errorf("deleted %v, want [%s]", ev.deleted, want)
	}
}
