package progress

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/smdpp/smdpp/internal/testenv"
	"github.com/smdpp/smdpp/status"
	"github.com/smdpp/smdpp/store"
)

const (
	requester = "smdp.example.com"
	opA, opB  = "mno-a", "mno-b"
)

func iccid(i int) string { return fmt.Sprintf("8988100%012d", i) }

// receiver is an operator's ES2+ endpoint that records every HandleDownloadProgressInfo.
type receiver struct {
	t    *testing.T
	mu   sync.Mutex
	got  []HandleDownloadProgressInfoRequest
	at   []time.Time
	fail atomic.Bool // answer 503 while set
	// delay, in nanoseconds, holds each callback before it is received; one the deliverer
	// abandons meanwhile is never received.
	delay atomic.Int64
	seen  chan struct{}
}

func newReceiver(t *testing.T) *receiver {
	return &receiver{t: t, seen: make(chan struct{}, 1000)}
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || r.URL.Path != Path {
		rc.t.Errorf("callback %s %s", r.Method, r.URL.Path)
		http.NotFound(w, r)
		return
	}
	if ct := r.Header.Get("Content-Type"); ct != "application/json" || !strings.HasPrefix(r.Header.Get("X-Admin-Protocol"), "gsma/rsp/v2.") {
		rc.t.Errorf("callback headers %v", r.Header)
	}
	if rc.fail.Load() {
		http.Error(w, "busy", http.StatusServiceUnavailable)
		return
	}
	if d := time.Duration(rc.delay.Load()); d > 0 {
		select {
		case <-time.After(d):
		case <-r.Context().Done():
			return
		}
	}
	body, _ := io.ReadAll(r.Body)
	var req HandleDownloadProgressInfoRequest
	if err := json.Unmarshal(body, &req); err != nil {
		rc.t.Errorf("callback body %q: %v", body, err)
	}
	rc.mu.Lock()
	rc.got = append(rc.got, req)
	rc.at = append(rc.at, time.Now())
	rc.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
	rc.seen <- struct{}{}
}

func (rc *receiver) received() []HandleDownloadProgressInfoRequest {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return slices.Clone(rc.got)
}

// distinct counts the callbacks received, each functionCallIdentifier once.
func (rc *receiver) distinct() int {
	n := 0
	for _, seq := range sequences(rc.received()) {
		n += len(seq)
	}
	return n
}

// waitFor waits until n distinct callbacks arrived.
func (rc *receiver) waitFor(t *testing.T, n int, within time.Duration) {
	t.Helper()
	deadline := time.After(within)
	for rc.distinct() < n {
		select {
		case <-rc.seen:
		case <-deadline:
			t.Fatalf("%d callbacks after %v, want %d", rc.distinct(), within, n)
		}
	}
}

// sequences returns, per ICCID, the notification point IDs received, each functionCallIdentifier
// counted once (delivery is at least once).
func sequences(got []HandleDownloadProgressInfoRequest) map[string][]int {
	seen := map[string]bool{}
	out := map[string][]int{}
	for _, r := range got {
		if seen[r.Header.FunctionCallIdentifier] {
			continue
		}
		seen[r.Header.FunctionCallIdentifier] = true
		out[r.ICCID] = append(out[r.ICCID], r.NotificationPointID)
	}
	return out
}

// setup opens dsn with operator A calling back to callback and operator B without a callback.
func setup(t *testing.T, dsn, callback string) *store.DB {
	t.Helper()
	db := open(t, dsn)
	ctx := context.Background()
	if _, err := db.CreateOperator(ctx, store.Operator{ID: opA, Name: "A", CallbackURL: callback}); err != nil {
		t.Fatal(err)
	}
	if _, err := db.CreateOperator(ctx, store.Operator{ID: opB, Name: "B"}); err != nil {
		t.Fatal(err)
	}
	return db
}

func open(t *testing.T, dsn string) *store.DB {
	t.Helper()
	db, err := store.Open(context.Background(), dsn)
	if err != nil {
		t.Fatalf("store.Open: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// enqueue writes events in one transaction each, in order.
func enqueue(t *testing.T, db *store.DB, n *Notifier, events ...Event) {
	t.Helper()
	for _, ev := range events {
		if err := db.InTx(context.Background(), func(tx *store.Tx) error { _, err := n.Enqueue(context.Background(), tx, ev); return err }); err != nil {
			t.Fatalf("Enqueue: %v", err)
		}
	}
}

// downloadEvents is the life of one download per ICCID: points 1, 3, 4 and 101, interleaved
// across ICCIDs.
func downloadEvents(iccids ...string) []Event {
	var out []Event
	for _, p := range []int{PointEligibility, PointBPPDownload, PointBPPInstallation, PointProfileEnabled} {
		for _, ic := range iccids {
			out = append(out, Event{OperatorID: opA, ICCID: ic, ProfileType: "typeA", PointID: p})
		}
	}
	return out
}

func wantSequences(t *testing.T, got []HandleDownloadProgressInfoRequest, iccids ...string) {
	t.Helper()
	want := []int{PointEligibility, PointBPPDownload, PointBPPInstallation, PointProfileEnabled}
	seqs := sequences(got)
	for _, ic := range iccids {
		if !slices.Equal(seqs[ic], want) {
			t.Errorf("%s received points %v, want %v", ic, seqs[ic], want)
		}
	}
}

func newDeliverer(t *testing.T, db *store.DB, opts ...DelivererOption) *Deliverer {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	if testing.Verbose() {
		log = slog.New(slog.NewTextHandler(testWriter{t}, nil))
	}
	base := []DelivererOption{WithLogger(log), WithPollInterval(10 * time.Millisecond), WithBackoff(5*time.Millisecond, 50*time.Millisecond),
		WithLease(2 * time.Second), WithHTTPClient(&http.Client{Timeout: time.Second})}
	return NewDeliverer(db, append(base, opts...)...)
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

// run starts d and returns a function that stops it and waits for it.
func run(t *testing.T, d *Deliverer) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	stopped := false
	stop = func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		if err := <-done; !errors.Is(err, context.Canceled) {
			t.Errorf("Run returned %v", err)
		}
	}
	t.Cleanup(stop)
	return stop
}

func TestPayload(t *testing.T) {
	at := time.Date(2025, 3, 14, 15, 9, 26, 535897000, time.FixedZone("CET", 3600))
	n := NewNotifier(requester, WithNotifierClock(func() time.Time { return at }))
	tests := []struct {
		name string
		ev   Event
		want string
	}{
		{"success without eid", Event{OperatorID: opA, ICCID: iccid(1), ProfileType: "typeA", PointID: PointBPPDownload},
			`{"iccid":"8988100000000000001","profileType":"typeA","timestamp":"2025-03-14T14:09:26Z","notificationPointId":3,"notificationPointStatus":{"status":"Executed-Success"}}`},
		{"failure with result data", Event{OperatorID: opA, EID: "89049032123451234512345678901235", ICCID: iccid(2), ProfileType: "typeA",
			Timestamp: at.Add(time.Hour), PointID: PointBPPInstallation, ResultData: []byte{0xbf, 0x37, 0x00},
			Failure: status.New(status.SubjectProfile, status.ReasonExecutionError, "install failed")},
			`{"eid":"89049032123451234512345678901235","iccid":"8988100000000000002","profileType":"typeA","timestamp":"2025-03-14T15:09:26Z","notificationPointId":4,"notificationPointStatus":{"status":"Failed","statusCodeData":{"subjectCode":"8.2","reasonCode":"4.2","message":"install failed"}},"resultData":"vzcA"}`},
		{"internal failure", Event{OperatorID: opA, ICCID: iccid(3), ProfileType: "t", PointID: PointEligibility, Failure: errors.New("database on fire")},
			`{"iccid":"8988100000000000003","profileType":"t","timestamp":"2025-03-14T14:09:26Z","notificationPointId":1,"notificationPointStatus":{"status":"Failed","statusCodeData":{"subjectCode":"1.6","reasonCode":"4.2","message":"internal error"}}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body, err := n.payload(tt.ev)
			if err != nil {
				t.Fatal(err)
			}
			var m map[string]json.RawMessage
			if err := json.Unmarshal(body, &m); err != nil {
				t.Fatal(err)
			}
			var h RequestHeader
			json.Unmarshal(m["header"], &h)
			if h.FunctionRequesterIdentifier != requester || !strings.HasPrefix(h.FunctionCallIdentifier, "HDPI-") || len(h.FunctionCallIdentifier) != 29 {
				t.Errorf("header %s", m["header"])
			}
			if strings.Contains(string(body), "database on fire") {
				t.Error("internal error detail sent to the operator")
			}
			delete(m, "header")
			var want map[string]json.RawMessage
			json.Unmarshal([]byte(tt.want), &want)
			gotJSON, _ := json.Marshal(m)
			wantJSON, _ := json.Marshal(want)
			if string(gotJSON) != string(wantJSON) {
				t.Errorf("payload\n got %s\nwant %s", gotJSON, wantJSON)
			}
		})
	}
	if a, _ := n.payload(tests[0].ev); string(a) == string(must(n.payload(tests[0].ev))) {
		t.Error("two messages share a functionCallIdentifier")
	}
}

func must(b []byte, err error) []byte {
	if err != nil {
		panic(err)
	}
	return b
}

func TestCallbackURL(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"https://bss.example", "https://bss.example/gsma/rsp2/es2plus/handleDownloadProgressInfo"},
		{"https://bss.example/", "https://bss.example/gsma/rsp2/es2plus/handleDownloadProgressInfo"},
		{"https://bss.example/mno1/", "https://bss.example/mno1/gsma/rsp2/es2plus/handleDownloadProgressInfo"},
		{"http://127.0.0.1:8080/x/gsma/rsp2/es2plus/handleDownloadProgressInfo", "http://127.0.0.1:8080/x/gsma/rsp2/es2plus/handleDownloadProgressInfo"},
		{"ftp://bss.example", ""},
		{"bss.example", ""},
		{"https://", ""},
		{"::", ""},
	} {
		got, err := CallbackURL(tt.in)
		if got != tt.want || (err != nil) != (tt.want == "") {
			t.Errorf("CallbackURL(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
}

func TestBackoff(t *testing.T) {
	d := NewDeliverer(nil, WithBackoff(time.Second, 10*time.Minute))
	for attempt, base := range map[int]time.Duration{1: time.Second, 2: 2 * time.Second, 3: 4 * time.Second, 10: 512 * time.Second, 11: 10 * time.Minute, 50: 10 * time.Minute, 1000: 10 * time.Minute} {
		for range 50 {
			got := d.backoff(attempt)
			if got < base/2 || got > base {
				t.Fatalf("backoff(%d) = %v, want within [%v, %v]", attempt, got, base/2, base)
			}
		}
	}
	seen := map[time.Duration]bool{}
	for range 50 {
		seen[d.backoff(5)] = true
	}
	if len(seen) < 10 {
		t.Errorf("backoff has little jitter: %d distinct values", len(seen))
	}
}

func TestDeliveryInOrder(t *testing.T) {
	testenv.EachDatabase(t, func(t *testing.T, b testenv.Database) {
		rc := newReceiver(t)
		srv := httptest.NewServer(rc)
		t.Cleanup(srv.Close)
		db := setup(t, b.NewDSN(t), srv.URL)
		n := NewNotifier(requester)
		ics := []string{iccid(1), iccid(2), iccid(3)}
		enqueue(t, db, n, downloadEvents(ics...)...)
		d := newDeliverer(t, db, WithBatchSize(2))
		// Round by round: two ICCIDs at a time, then their next messages as they become due.
		rounds := 0
		for {
			n, err := d.DeliverDue(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if n == 0 {
				break
			}
			if rounds++; rounds > 20 {
				t.Fatal("delivery does not end")
			}
		}
		got := rc.received()
		if len(got) != 12 {
			t.Fatalf("%d callbacks, want 12", len(got))
		}
		wantSequences(t, got, ics...)
		for _, r := range got {
			if r.Header.FunctionRequesterIdentifier != requester || r.ProfileType != "typeA" || r.NotificationPointStatus.Status != status.ExecutedSuccess {
				t.Errorf("callback %+v", r)
			}
			if _, err := time.Parse(TimestampFormat, r.Timestamp); err != nil || !strings.HasSuffix(r.Timestamp, "Z") {
				t.Errorf("timestamp %q: %v", r.Timestamp, err)
			}
		}
		// Nothing is left.
		if msgs, err := db.ClaimOutbox(context.Background(), 10, time.Minute); err != nil || len(msgs) != 0 {
			t.Fatalf("outbox after delivery: %v %v", msgs, err)
		}
	})
}

func TestEnqueueIsTransactional(t *testing.T) {
	testenv.EachDatabase(t, func(t *testing.T, b testenv.Database) {
		db := setup(t, b.NewDSN(t), "https://a.example")
		ctx := context.Background()
		n := NewNotifier(requester)
		boom := errors.New("state change failed")
		err := db.InTx(ctx, func(tx *store.Tx) error {
			if _, err := n.Enqueue(ctx, tx, Event{OperatorID: opA, ICCID: iccid(1), ProfileType: "t", PointID: PointBPPDownload}); err != nil {
				return err
			}
			return boom
		})
		if !errors.Is(err, boom) {
			t.Fatalf("InTx: %v", err)
		}
		// Operator B has no callback URL: nothing to send.
		enqueue(t, db, n, Event{OperatorID: opB, ICCID: iccid(2), ProfileType: "t", PointID: PointBPPDownload})
		if msgs, err := db.ClaimOutbox(ctx, 10, time.Minute); err != nil || len(msgs) != 0 {
			t.Fatalf("outbox: %v %v, want empty", msgs, err)
		}
		for name, ev := range map[string]Event{
			"unknown operator": {OperatorID: "mno-x", ICCID: iccid(3), PointID: 1},
			"no ICCID":         {OperatorID: opA, PointID: 1},
			"no point":         {OperatorID: opA, ICCID: iccid(3)},
		} {
			err := db.InTx(ctx, func(tx *store.Tx) error { _, err := n.Enqueue(ctx, tx, ev); return err })
			if err == nil {
				t.Errorf("%s: Enqueue succeeded", name)
			}
		}
	})
}

func TestReceiverDownThenUp(t *testing.T) {
	testenv.EachDatabase(t, func(t *testing.T, b testenv.Database) {
		rc := newReceiver(t)
		// First nothing listens on the callback's port, then the receiver answers 503, then 204.
		addr := testenv.FreeAddr(t)
		db := setup(t, b.NewDSN(t), "http://"+addr)
		ics := []string{iccid(1), iccid(2), iccid(3), iccid(4)}
		enqueue(t, db, NewNotifier(requester), downloadEvents(ics...)...)
		stop := run(t, newDeliverer(t, db))
		time.Sleep(300 * time.Millisecond)

		ln, err := net.Listen("tcp", addr)
		if err != nil {
			t.Skipf("port %s taken meanwhile: %v", addr, err)
		}
		rc.fail.Store(true)
		srv := &http.Server{Handler: rc}
		go srv.Serve(ln)
		t.Cleanup(func() { srv.Close() })
		time.Sleep(300 * time.Millisecond)
		if n := len(rc.received()); n != 0 {
			t.Fatalf("%d callbacks accepted while failing", n)
		}
		rc.fail.Store(false)
		rc.waitFor(t, 16, 30*time.Second)
		stop()
		got := rc.received()
		if len(got) != 16 || rc.distinct() != 16 {
			t.Fatalf("%d callbacks, want 16", len(got))
		}
		wantSequences(t, got, ics...)
	})
}

func TestRestart(t *testing.T) {
	testenv.EachDatabase(t, func(t *testing.T, b testenv.Database) {
		rc := newReceiver(t)
		srv := httptest.NewServer(rc)
		t.Cleanup(srv.Close)
		dsn := b.NewDSN(t)
		db1 := setup(t, dsn, srv.URL)
		ics := []string{iccid(1), iccid(2)}
		n := NewNotifier(requester)
		enqueue(t, db1, n, downloadEvents(ics...)...)

		// The first process delivers some, then stops. Slow answers keep it from delivering all
		// eight before it is stopped: then nothing would be left for the claim below.
		rc.delay.Store(int64(50 * time.Millisecond))
		stop := run(t, newDeliverer(t, db1, WithBatchSize(1)))
		rc.waitFor(t, 3, 20*time.Second)
		stop()
		rc.delay.Store(0)
		// Another dies right after claiming a message: its lease must run out first.
		lease := 500 * time.Millisecond
		claimedAt := time.Now()
		claimed, err := db1.ClaimOutbox(context.Background(), 1, lease)
		if err != nil || len(claimed) != 1 {
			t.Fatalf("ClaimOutbox: %v %v", claimed, err)
		}
		var leased HandleDownloadProgressInfoRequest
		json.Unmarshal(claimed[0].Payload, &leased)
		enqueue(t, db1, n, Event{OperatorID: opA, ICCID: iccid(3), ProfileType: "typeA", PointID: PointEligibility})
		db1.Close()

		// A new process over the same database delivers the rest, in order.
		db2 := open(t, dsn)
		stop = run(t, newDeliverer(t, db2))
		rc.waitFor(t, 9, 20*time.Second)
		stop()
		got := rc.received()
		wantSequences(t, got, ics...)
		if seq := sequences(got)[iccid(3)]; !slices.Equal(seq, []int{PointEligibility}) {
			t.Errorf("%s received %v", iccid(3), seq)
		}
		// The leased message came only after its lease ran out.
		rc.mu.Lock()
		for i, r := range rc.got {
			if r.Header.FunctionCallIdentifier == leased.Header.FunctionCallIdentifier && rc.at[i].Before(claimedAt.Add(lease-10*time.Millisecond)) {
				t.Errorf("the leased message arrived %v after the claim, before its lease of %v ran out", rc.at[i].Sub(claimedAt), lease)
			}
		}
		rc.mu.Unlock()
		total := 0
		for _, seq := range sequences(got) {
			total += len(seq)
		}
		if total != 9 {
			t.Errorf("%d distinct callbacks, want 9", total)
		}
	})
}

// recordingSender is a Sender of another kind (the ES12 extension point).
type recordingSender struct {
	mu  sync.Mutex
	got []store.OutboxMessage
}

func (s *recordingSender) Send(_ context.Context, m store.OutboxMessage) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.got = append(s.got, m)
	return nil
}

func TestOtherKinds(t *testing.T) {
	testenv.EachDatabase(t, func(t *testing.T, b testenv.Database) {
		db := setup(t, b.NewDSN(t), "https://a.example")
		ctx := context.Background()
		if _, err := db.EnqueueOutbox(ctx, store.OutboxMessage{OperatorID: opA, ICCID: "smds:" + iccid(1), Kind: "es12.RegisterEvent", Payload: []byte("x")}); err != nil {
			t.Fatal(err)
		}
		if _, err := db.EnqueueOutbox(ctx, store.OutboxMessage{OperatorID: opA, ICCID: iccid(2), Kind: "mystery", Payload: []byte("y")}); err != nil {
			t.Fatal(err)
		}
		d := newDeliverer(t, db)
		s := &recordingSender{}
		d.Handle("es12.RegisterEvent", s)
		if n, err := d.DeliverDue(ctx); n != 2 || err != nil {
			t.Fatalf("DeliverDue = %d, %v", n, err)
		}
		if len(s.got) != 1 || string(s.got[0].Payload) != "x" {
			t.Fatalf("ES12 sender got %v", s.got)
		}
		// The unknown kind stays, with the reason, and comes back after its backoff.
		time.Sleep(100 * time.Millisecond)
		msgs, err := db.ClaimOutbox(ctx, 10, time.Minute)
		if err != nil || len(msgs) != 1 {
			t.Fatalf("ClaimOutbox: %v %v", msgs, err)
		}
		if m := msgs[0]; m.Kind != "mystery" || m.Attempts != 2 || !strings.Contains(m.LastError, `no sender for outbox kind "mystery"`) {
			t.Fatalf("unknown kind left as %+v", m)
		}
	})
}

func TestCallbackFailures(t *testing.T) {
	testenv.EachDatabase(t, func(t *testing.T, b testenv.Database) {
		redirect := httptest.NewServer(http.RedirectHandler("https://elsewhere.example/", http.StatusFound))
		t.Cleanup(redirect.Close)
		slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-r.Context().Done():
			case <-time.After(time.Second):
			}
		}))
		t.Cleanup(slow.Close)
		db := setup(t, b.NewDSN(t), redirect.URL)
		ctx := context.Background()
		s := &CallbackSender{DB: db, Client: &http.Client{Timeout: 200 * time.Millisecond,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
		m := store.OutboxMessage{OperatorID: opA, ICCID: iccid(1), Kind: Kind, Payload: []byte(`{}`)}
		if err := s.Send(ctx, m); err == nil || !strings.Contains(err.Error(), "302") {
			t.Errorf("redirect: %v", err)
		}
		if _, err := db.UpdateOperator(ctx, store.Operator{ID: opA, Name: "A", CallbackURL: slow.URL, RedownloadLimit: 1}); err != nil {
			t.Fatal(err)
		}
		if err := s.Send(ctx, m); err == nil {
			t.Error("timeout: delivered")
		}
		m.OperatorID = opB
		if err := s.Send(ctx, m); !errors.Is(err, errNoCallback) {
			t.Errorf("no callback: %v", err)
		}
		m.OperatorID = "mno-x"
		if err := s.Send(ctx, m); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("unknown operator: %v", err)
		}
	})
}
