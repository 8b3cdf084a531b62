//go:build unix

package faulttest

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/smdpp/smdpp/activation"
	"github.com/smdpp/smdpp/apdu"
	"github.com/smdpp/smdpp/euicc"
	"github.com/smdpp/smdpp/internal/testenv"
	"github.com/smdpp/smdpp/lpa"
	"github.com/smdpp/smdpp/progress"
	"github.com/smdpp/smdpp/status"
	"github.com/smdpp/smdpp/store"
)

// sessionTTL is the RSP session deadline the servers run with (--session-ttl): an interrupted
// download's order must be downloadable again once its session is over.
const sessionTTL = 8 * time.Second

// operatorID owns every order; its callback URL is the test's receiver.
const operatorID = "op1"

// env is one SM-DP+ under test: the server process, the fault proxy devices reach it through,
// and the operator's callback receiver.
type env struct {
	srv   *server
	proxy *proxy
	rcv   *receiver
}

// newEnv starts a receiver, a proxy and `smdpp serve` with the given extra flags (database,
// Redis), operator op1 calling back to the receiver, and the short session TTL.
func newEnv(t *testing.T, flags ...string) *env {
	t.Helper()
	e := &env{rcv: startReceiver(t), proxy: startProxy(t)}
	ops := writeOperators(t, "http://"+e.rcv.addr)
	args := append([]string{"--operators", ops, "--session-ttl", sessionTTL.String()}, flags...)
	e.srv = newServer(t, e.proxy.addr, args...)
	e.proxy.setUpstream(e.srv.listen)
	if err := e.srv.start(); err != nil {
		t.Fatal(err)
	}
	return e
}

// writeOperators writes an operators.json naming op1 with a callback URL. ES2+ is not called in
// these tests; the client certificate fingerprint is only there because every operator needs a
// credential.
func writeOperators(t *testing.T, callback string) string {
	t.Helper()
	fp := make([]byte, 32)
	rand.Read(fp)
	data, err := json.Marshal(map[string]any{"operators": []any{map[string]any{
		"id": operatorID, "name": "Operator One", "callbackUrl": callback,
		"clientCertSHA256": []string{hex.EncodeToString(fp)},
	}}})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "operators.json")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// order runs `smdpp order create` for op1 against the server's database: the profile package
// upp (from testdata/upp) is imported, ordered and released, with its activation code naming
// the proxy. It returns the ICCID and the code.
func (e *env) order(t *testing.T, upp string, extra ...string) (string, activation.Code) {
	t.Helper()
	args := append([]string{"order", "create", "--database", e.srv.dsn, "--address", e.proxy.addr,
		"--operator", operatorID, "--upp", filepath.Join("..", "testdata", "upp", upp)}, extra...)
	out, err := exec.Command(binary, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("smdpp order create: %v\n%s", err, out)
	}
	return testenv.ParseOrderCreate(t, out)
}

// openDB opens the server's database for the checks (the store migrates nothing on an
// up-to-date database).
func (e *env) openDB(t *testing.T) *store.DB {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	db, err := store.Open(ctx, e.srv.dsn)
	if err != nil {
		t.Fatalf("opening the server's database: %v", err)
	}
	return db
}

// state returns the state of profile iccid.
func (e *env) state(t *testing.T, iccid string) store.State {
	t.Helper()
	db := e.openDB(t)
	defer db.Close()
	p, err := db.GetProfile(context.Background(), iccid)
	if err != nil {
		t.Fatal(err)
	}
	return p.State
}

// device is a virtual eUICC with the test LPA in front of it; both keep their state (installed
// profiles, pending notifications) across download attempts, as a phone would.
type device struct {
	eid string
	lpa *lpa.LPA
}

func newDevice(t *testing.T, eid string) *device {
	t.Helper()
	cfg, err := euicc.LoadDir(pkiDir, eid)
	if err != nil {
		t.Fatal(err)
	}
	card, err := euicc.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	es10, err := apdu.OpenES10(context.Background(), apdu.NewCardTransport(apdu.NewCard(card)))
	if err != nil {
		t.Fatal(err)
	}
	client := lpa.NewHTTPClient(&tls.Config{RootCAs: ciPool, ServerName: "127.0.0.1"})
	l, err := lpa.New(es10, lpa.WithHTTPClient(client), lpa.WithTimeout(30*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	return &device{eid: eid, lpa: l}
}

func (d *device) download(code activation.Code, opts lpa.DownloadOptions) (*lpa.Result, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	return d.lpa.Download(ctx, code, opts)
}

// sgp22Failure reports whether err is a function failure with an SGP.22 status
// (functionExecutionStatus Failed, subjectCode and reasonCode set), and describes it.
func sgp22Failure(err error) (*lpa.ServerError, bool) {
	var se *lpa.ServerError
	if errors.As(err, &se) && se.Status == status.Failed && se.SubjectCode != "" && se.ReasonCode != "" {
		return se, true
	}
	return nil, false
}

// httpStatus returns the HTTP status of a transport error answered with one (0 otherwise).
func httpStatus(err error) int {
	var te *lpa.TransportError
	if errors.As(err, &te) {
		return te.StatusCode
	}
	return 0
}

// checkFailure asserts that err, a failed ES9+ call made while something was broken, failed as
// SGP.22 allows: with a functionExecutionStatus carrying a status code, or with an HTTP 5xx
// (the server could not execute the function, SGP.22 §6.5: the LPA retries later). A dropped
// connection or a malformed answer is not acceptable.
func checkFailure(t *testing.T, what string, err error) {
	t.Helper()
	if err == nil {
		t.Errorf("%s: succeeded, want a failure", what)
		return
	}
	if _, ok := sgp22Failure(err); ok {
		return
	}
	if code := httpStatus(err); code >= 500 && code <= 599 {
		return
	}
	t.Errorf("%s: %v; want an SGP.22 status or an HTTP 5xx", what, err)
}

// isStatus reports whether err is an SGP.22 failure with the given subject and reason codes.
func isStatus(err error, subject, reason string) bool {
	se, ok := sgp22Failure(err)
	return ok && se.SubjectCode == subject && se.ReasonCode == reason
}

// finish brings an interrupted download to its end the way SGP.22 has the LPA and the SM-DP+ do
// it, and returns what kept it from ending with the profile Installed:
//
//   - A Profile Installation Result the card produced but could not deliver stays in its
//     notification list and is sent again (SGP.22 §3.5, §5.6.4 ES9+.HandleNotification): the
//     SM-DP+ must accept it and record its outcome, Installed for a successResult.
//   - Without one, the attempt has failed: once its RSP session is over (the LPA's
//     ES9+.CancelSession of §5.6.5, or at the latest the session's deadline), an order that has
//     download attempts left must be Released again, and a download with a fresh session must
//     install the profile.
func (e *env) finish(t *testing.T, d *device, iccid string, code activation.Code, first *lpa.Result) error {
	t.Helper()
	if first.PIR && !first.NotificationRemoved {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		results, err := d.lpa.ProcessNotifications(ctx)
		if err != nil {
			return fmt.Errorf("delivering the pending Profile Installation Result again: %w", err)
		}
		if len(results) != 1 || !results[0].Delivered || !results[0].Removed {
			return fmt.Errorf("notifications %+v, want the one PIR delivered and removed", results)
		}
	}
	if first.PIR {
		want := store.StateInstalled
		if !first.Installed {
			want = store.StateError
		}
		if got := e.state(t, iccid); got != want {
			return fmt.Errorf("the SM-DP+ accepted the Profile Installation Result (installed: %v) but the order is %s, want %s",
				first.Installed, got, want)
		}
		return nil
	}
	// No PIR: the order must be downloadable again by the end of the session.
	deadline := time.Now().Add(sessionTTL + 2*time.Second)
	st := e.state(t, iccid)
	for st == store.StateDownloaded && time.Now().Before(deadline) {
		time.Sleep(250 * time.Millisecond)
		st = e.state(t, iccid)
	}
	if st != store.StateReleased {
		return fmt.Errorf("the attempt failed without a Profile Installation Result, yet %v after its RSP session the order is %s, not Released",
			sessionTTL, st)
	}
	res, err := d.download(code, lpa.DownloadOptions{})
	if err != nil {
		return fmt.Errorf("download with a fresh session: %w", err)
	}
	if !res.Installed || res.ICCID != iccid {
		return fmt.Errorf("download with a fresh session: %+v, want %s installed", res, iccid)
	}
	if st := e.state(t, iccid); st != store.StateInstalled {
		return fmt.Errorf("after a successful download the order is %s, want Installed", st)
	}
	return nil
}

// expect checks err, the outcome of finish: nil passes, an error fails the test.
func expect(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Error(err)
	}
}

// downloadPoints maps the usage events the download service records (store.Event.Kind) to the
// notificationPointId the same transaction reports to the operator (package progress), with
// whether it reports a success.
var downloadPoints = map[string]struct {
	point   int
	success bool
}{
	"authenticated":             {progress.PointEligibility, true},
	"ineligible":                {progress.PointEligibility, false},
	"confirmation-code-refused": {progress.PointConfirmationFailed, false},
	"confirmation-code-locked":  {progress.PointConfirmationFailed, false},
	"downloaded":                {progress.PointBPPDownload, true},
	"refused":                   {progress.PointBPPDownload, false},
	"cancelled":                 {progress.PointBPPDownload, false},
	"expired":                   {progress.PointBPPDownload, false},
	"Installed":                 {progress.PointBPPInstallation, true},
	"Error":                     {progress.PointBPPInstallation, false},
	"enabled":                   {progress.PointProfileEnabled, true},
	"disabled":                  {progress.PointProfileDisabled, true},
	"deleted":                   {progress.PointProfileDeleted, true},
}

// callback is one HandleDownloadProgressInfo as the operator must see it.
type callback struct {
	Point   int
	Success bool
}

func (c callback) String() string {
	if c.Success {
		return fmt.Sprint(c.Point)
	}
	return fmt.Sprintf("%d(failed)", c.Point)
}

// checkOrders asserts that no order was lost or corrupted: every profile op1 ordered is in a
// valid state, its DownloadAttempts equals the BPPs recorded for it ("downloaded" events, written
// in the same transaction) and stays within the operator's limit, an Installed profile has its
// installation recorded, and no two profiles share a matchingId. It returns the profiles'
// states by ICCID and the callbacks the operator must get for each, in order.
func (e *env) checkOrders(t *testing.T, wantOrders int) (map[string]store.State, map[string][]callback) {
	t.Helper()
	db := e.openDB(t)
	defer db.Close()
	ctx := context.Background()
	op, err := db.GetOperator(ctx, operatorID)
	if err != nil {
		t.Fatal(err)
	}
	profiles, err := db.FindProfiles(ctx, store.ProfileFilter{OperatorID: operatorID, Limit: store.MaxFindLimit})
	if err != nil {
		t.Fatal(err)
	}
	if len(profiles) != wantOrders {
		t.Errorf("%d profiles of %s in the database, want %d", len(profiles), operatorID, wantOrders)
	}
	events, err := db.ListEvents(ctx, store.EventFilter{OperatorID: operatorID, Limit: store.MaxFindLimit})
	if err != nil {
		t.Fatal(err)
	}
	kinds := map[string]map[string]int{}
	want := map[string][]callback{}
	for _, ev := range events {
		if kinds[ev.ICCID] == nil {
			kinds[ev.ICCID] = map[string]int{}
		}
		kinds[ev.ICCID][ev.Kind]++
		if p, ok := downloadPoints[ev.Kind]; ok {
			want[ev.ICCID] = append(want[ev.ICCID], callback{p.point, p.success})
		}
	}
	states := map[string]store.State{}
	matching := map[string]string{}
	for _, p := range profiles {
		states[p.ICCID] = p.State
		if !p.State.Valid() {
			t.Errorf("profile %s: invalid state %q", p.ICCID, p.State)
		}
		if n := kinds[p.ICCID]["downloaded"]; p.DownloadAttempts != n {
			t.Errorf("profile %s: DownloadAttempts %d, but %d BPPs recorded", p.ICCID, p.DownloadAttempts, n)
		}
		if p.DownloadAttempts > 1+op.RedownloadLimit {
			t.Errorf("profile %s: DownloadAttempts %d beyond the limit of %d", p.ICCID, p.DownloadAttempts, 1+op.RedownloadLimit)
		}
		if p.CCAttempts < 0 {
			t.Errorf("profile %s: CCAttempts %d", p.ICCID, p.CCAttempts)
		}
		if p.State == store.StateInstalled && kinds[p.ICCID]["Installed"] == 0 {
			t.Errorf("profile %s is Installed without an installation recorded", p.ICCID)
		}
		if (p.State == store.StateDownloaded || p.State == store.StateInstalled) && p.DownloadAttempts == 0 {
			t.Errorf("profile %s is %s without any BPP recorded", p.ICCID, p.State)
		}
		if p.MatchingID != "" {
			if other, dup := matching[p.MatchingID]; dup {
				t.Errorf("profiles %s and %s share matchingId %s", other, p.ICCID, p.MatchingID)
			}
			matching[p.MatchingID] = p.ICCID
		}
	}
	return states, want
}

// checkCallbacks waits until the receiver has had every callback the operator must get (one per
// recorded download step, see checkOrders), each ICCID's in the order of its steps, repeats
// allowed (delivery is at least once).
//
// A message the deliverer had claimed when the server was killed (or the database went away
// before the deliverer could mark it) stays leased for the deliverer's lease, 2 minutes, which
// smdpp serve does not let anyone set; so with expireStaleLeases, after leaseWait without all
// callbacks, the test ends the leases of such messages itself, as those 2 minutes would
// (expireLeases), and gives the rest of the timeout to delivery.
func (e *env) checkCallbacks(t *testing.T, want map[string][]callback, timeout time.Duration, leases leasePolicy) {
	t.Helper()
	start := time.Now()
	expired := false
	for {
		got, err := e.rcv.byICCID()
		if err != nil {
			t.Fatal(err)
		}
		done := true
		for iccid, w := range want {
			g := got[iccid]
			if len(g) > len(w) || !slices.Equal(g, w[:len(g)]) {
				t.Fatalf("callbacks for %s: %v, want %v in this order", iccid, g, w)
			}
			done = done && len(g) == len(w)
		}
		for iccid, g := range got {
			if _, ok := want[iccid]; !ok {
				t.Fatalf("callbacks %v for %s, which has no recorded step", g, iccid)
			}
		}
		switch {
		case done:
			return
		case time.Since(start) > timeout:
			t.Fatalf("after %v the operator has callbacks %v, want %v", timeout, got, want)
		case leases == expireStaleLeases && !expired && time.Since(start) > leaseWait:
			expired = true
			if n := e.expireLeases(t); n > 0 {
				t.Logf("ended the 2-minute leases of %d outbox messages (claimed before a kill or an outage, never marked)", n)
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// leasePolicy says whether checkCallbacks may end the outbox leases a fault left behind.
type leasePolicy bool

const (
	keepLeases        leasePolicy = false // no fault can have stranded a lease
	expireStaleLeases leasePolicy = true
)

// leaseWait is how long checkCallbacks waits before it ends leases: a delivery to a receiver
// that is up takes milliseconds.
const leaseWait = 5 * time.Second

// expireLeases makes the undelivered outbox messages that are leased (claimed, and not due for
// longer than any backoff these tests reach) due now, and returns how many it changed. It is the
// one write the tests make to the server's database, standing for the time a lease takes.
func (e *env) expireLeases(t *testing.T) int64 {
	t.Helper()
	driver, dsn := "sqlite", e.srv.dsn+"?_pragma=busy_timeout(10000)"
	if store.IsPostgresDSN(e.srv.dsn) {
		driver, dsn = "pgx", e.srv.dsn
	}
	db, err := sql.Open(driver, dsn) // drivers registered by package store
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	now := time.Now().UTC()
	res, err := db.Exec("UPDATE outbox_messages SET next_attempt_at = $1 WHERE delivered_at IS NULL AND attempts > 0 AND next_attempt_at > $2",
		now, now.Add(time.Minute))
	if err != nil {
		t.Fatalf("expiring outbox leases: %v", err)
	}
	n, _ := res.RowsAffected()
	return n
}

// receiver is the operator's ES2+ endpoint for HandleDownloadProgressInfo; it can go down and
// come back on the same address.
type receiver struct {
	addr string
	mu   sync.Mutex
	srv  *http.Server
	got  []progress.HandleDownloadProgressInfoRequest
}

func startReceiver(t *testing.T) *receiver {
	t.Helper()
	r := &receiver{addr: "127.0.0.1:0"}
	if err := r.start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.stop)
	return r
}

func (r *receiver) start() error {
	var ln net.Listener
	var err error
	for range 50 { // the address may take a moment to be free again
		if ln, err = net.Listen("tcp", r.addr); err == nil {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		var m progress.HandleDownloadProgressInfoRequest
		if err := json.NewDecoder(req.Body).Decode(&m); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		r.mu.Lock()
		r.got = append(r.got, m)
		r.mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	})}
	r.mu.Lock()
	r.addr, r.srv = ln.Addr().String(), srv
	r.mu.Unlock()
	go srv.Serve(ln)
	return nil
}

func (r *receiver) stop() {
	r.mu.Lock()
	srv := r.srv
	r.mu.Unlock()
	if srv != nil {
		srv.Close()
	}
}

// byICCID returns the callbacks received for each ICCID in arrival order, each
// functionCallIdentifier once: a repeat is the same message delivered again, which at-least-once
// delivery allows only before the next message of its ICCID.
func (r *receiver) byICCID() (map[string][]callback, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	seen := map[string]bool{}
	last := map[string]string{}
	out := map[string][]callback{}
	for _, m := range r.got {
		id := m.Header.FunctionCallIdentifier
		if seen[id] {
			if last[m.ICCID] != id {
				return nil, fmt.Errorf("callback %s for %s delivered again after a later one", id, m.ICCID)
			}
			continue
		}
		seen[id], last[m.ICCID] = true, id
		ok := m.NotificationPointStatus.Status == status.ExecutedSuccess
		out[m.ICCID] = append(out[m.ICCID], callback{m.NotificationPointID, ok})
	}
	return out, nil
}

// runConcurrently runs fn for each case as a subtest named by name, at most limit at a time. The
// cases mostly wait (for processes to start, sessions to end, backoffs), so they run beside each
// other whatever -parallel says; the parent returns when all have.
func runConcurrently[C any](t *testing.T, limit int, cases []C, name func(C) string, fn func(*testing.T, C)) {
	t.Helper()
	sem := make(chan struct{}, limit)
	var wg sync.WaitGroup
	for _, c := range cases {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			t.Run(name(c), func(t *testing.T) { fn(t, c) })
		}()
	}
	wg.Wait()
}
