package smds

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/smdpp/smdpp/internal/testenv"
	"github.com/smdpp/smdpp/orders"
	"github.com/smdpp/smdpp/progress"
	"github.com/smdpp/smdpp/status"
	"github.com/smdpp/smdpp/store"
)

// fakeSMDS is a test SM-DS: it records ES12 calls and answers Executed-Success.
type fakeSMDS struct {
	mu    sync.Mutex
	calls []string // "registerEvent eid eventId rspServerAddress" / "deleteEvent eid eventId"
}

func (f *fakeSMDS) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var body map[string]any
	json.NewDecoder(r.Body).Decode(&body)
	fn := strings.TrimPrefix(r.URL.Path, Path)
	hdr, _ := body["header"].(map[string]any)
	line := fn + " " + body["eid"].(string) + " " + body["eventId"].(string)
	if fn == "registerEvent" {
		line += " " + body["rspServerAddress"].(string)
	}
	if hdr["functionCallIdentifier"] == "" || r.Header.Get("Content-Type") != "application/json" {
		line += " BAD-HEADER"
	}
	f.mu.Lock()
	f.calls = append(f.calls, line)
	f.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	w.Write([]byte(`{"header":{"functionExecutionStatus":{"status":"Executed-Success"}}}`))
}

func (f *fakeSMDS) got() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.calls...)
}

// TestRegisterAndDeleteEvents: ConfirmOrder naming an SM-DS registers the event (eventId =
// matchingId) through the outbox; CancelOrder deletes it; both arrive once and in order.
func TestRegisterAndDeleteEvents(t *testing.T) {
	testenv.EachDatabase(t, func(t *testing.T, b testenv.Database) {
		ctx := context.Background()
		smds := &fakeSMDS{}
		srv := httptest.NewTLSServer(smds)
		defer srv.Close()
		smdsAddr := strings.TrimPrefix(srv.URL, "https://")

		db, err := store.Open(ctx, b.NewDSN(t))
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		if _, err := db.CreateOperator(ctx, store.Operator{ID: "op", Name: "op"}); err != nil {
			t.Fatal(err)
		}
		svc := orders.New(db, "smdp.example.com", orders.WithEvents(NewRegistrar("smdp.example.com")))
		upp, err := os.ReadFile(filepath.Join("..", "testdata", "upp", "TS48V2-SAIP2-3-BERTLV-UNIQUE.der"))
		if err != nil {
			t.Fatal(err)
		}
		p, err := svc.ImportProfile(ctx, "op", "", upp)
		if err != nil {
			t.Fatal(err)
		}
		const eid = "89049032123451234512345678901235"
		if _, err := svc.DownloadOrder(ctx, "op", orders.DownloadOrderRequest{ICCID: p.ICCID}); err != nil {
			t.Fatal(err)
		}
		// Without an EID the SM-DS cannot be told whose event it is.
		_, err = svc.ConfirmOrder(ctx, "op", orders.ConfirmOrderRequest{ICCID: p.ICCID, SMDSAddress: smdsAddr, ReleaseFlag: true})
		var se *status.Error
		if !errors.As(err, &se) || se.Subject != status.SubjectEID || se.Reason != status.ReasonConditionalElementMiss {
			t.Fatalf("ConfirmOrder without eid: %v", err)
		}
		res, err := svc.ConfirmOrder(ctx, "op", orders.ConfirmOrderRequest{ICCID: p.ICCID, EID: eid, SMDSAddress: smdsAddr, ReleaseFlag: true})
		if err != nil {
			t.Fatal(err)
		}
		if err := svc.CancelOrder(ctx, "op", orders.CancelOrderRequest{ICCID: p.ICCID, FinalProfileStatusIndicator: "Available"}); err != nil {
			t.Fatal(err)
		}

		d := progress.NewDeliverer(db)
		sender := &Sender{Client: srv.Client()}
		d.Handle(KindRegisterEvent, sender)
		d.Handle(KindDeleteEvent, sender)
		deadline := time.Now().Add(10 * time.Second)
		for len(smds.got()) < 2 && time.Now().Before(deadline) {
			if _, err := d.DeliverDue(ctx); err != nil {
				t.Fatal(err)
			}
		}
		want := []string{
			"registerEvent " + eid + " " + res.MatchingID + " smdp.example.com",
			"deleteEvent " + eid + " " + res.MatchingID,
		}
		if got := smds.got(); strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Errorf("SM-DS got %q, want %q", got, want)
		}
	})
}

// TestSenderRetriesRefusals: an SM-DS that refuses is tried again; a DeleteEvent for an event it
// no longer knows is done.
func TestSenderRetriesRefusals(t *testing.T) {
	answer := `{"header":{"functionExecutionStatus":{"status":"Failed","statusCodeData":{"subjectCode":"8.9.5","reasonCode":"3.9"}}}}`
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(answer))
	}))
	defer srv.Close()
	s := &Sender{Client: srv.Client()}
	msg := func(kind string) store.OutboxMessage {
		payload, _ := json.Marshal(message{URL: srv.URL + Path + "x", Body: json.RawMessage(`{}`)})
		return store.OutboxMessage{Kind: kind, Payload: payload}
	}
	if err := s.Send(context.Background(), msg(KindRegisterEvent)); err == nil {
		t.Error("a refused RegisterEvent counted as delivered")
	}
	if err := s.Send(context.Background(), msg(KindDeleteEvent)); err != nil {
		t.Errorf("DeleteEvent of an unknown event: %v", err)
	}
	answer = `not json`
	if err := s.Send(context.Background(), msg(KindDeleteEvent)); err == nil {
		t.Error("a malformed answer counted as delivered")
	}
}
