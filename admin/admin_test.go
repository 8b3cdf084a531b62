package admin

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/smdpp/smdpp/internal/testenv"
	"github.com/smdpp/smdpp/inventory"
	"github.com/smdpp/smdpp/profiles"
	"github.com/smdpp/smdpp/store"
)

const token = "test-admin-token-0123456789"

var backends = []struct {
	name   string
	newDSN func(tb testing.TB) string
}{
	{store.BackendSQLite, func(tb testing.TB) string { return filepath.Join(tb.TempDir(), "smdpp.db") }},
	{store.BackendPostgres, testenv.FreshPostgres},
}

var testEpoch = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)

// env is a test server of the admin API on a fresh database.
type env struct {
	t    *testing.T
	db   *store.DB
	inv  *inventory.Service
	srv  *httptest.Server
	logs *syncBuffer
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func newEnv(t *testing.T, dsn string, opts ...Option) *env {
	t.Helper()
	clock := func() time.Time { return testEpoch }
	db, err := store.Open(context.Background(), dsn, store.WithClock(clock))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	logs := &syncBuffer{}
	log := slog.New(slog.NewTextHandler(logs, nil))
	inv := inventory.New(db, inventory.WithClock(clock), inventory.WithLogger(log))
	api, err := New(db, inv, token, append([]Option{WithLogger(log)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/admin/", http.StripPrefix("/admin", api.Handler()))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return &env{t: t, db: db, inv: inv, srv: srv, logs: logs}
}

// do sends a request with the token and returns the status and body.
func (e *env) do(method, path, contentType string, body io.Reader) (int, []byte) {
	e.t.Helper()
	return e.doAuth(method, path, contentType, body, "Bearer "+token)
}

func (e *env) doAuth(method, path, contentType string, body io.Reader, auth string) (int, []byte) {
	e.t.Helper()
	req, err := http.NewRequest(method, e.srv.URL+"/admin"+path, body)
	if err != nil {
		e.t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// json sends a JSON request and decodes the answer into out (when not nil), checking the status.
func (e *env) json(method, path string, in any, want int, out any) []byte {
	e.t.Helper()
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			e.t.Fatal(err)
		}
		body = bytes.NewReader(b)
	}
	code, b := e.do(method, path, "application/json", body)
	if code != want {
		e.t.Fatalf("%s %s: %d %s, want %d", method, path, code, b, want)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			e.t.Fatalf("%s %s: %v in %s", method, path, err, b)
		}
	}
	return b
}

// errorOf returns the error message of a JSON error body.
func errorOf(t *testing.T, b []byte) string {
	t.Helper()
	var v struct {
		Error string `json:"error"`
	}
	if err := json.Unmarshal(b, &v); err != nil || v.Error == "" {
		t.Fatalf("not a JSON error: %s", b)
	}
	return v.Error
}

func template(t *testing.T) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "testdata", "upp", "TS48v3_SAIP2.3_BERTLV.der"))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func iccid(i int) string { return profiles.WithLuhn(fmt.Sprintf("894450%012d", i)) }

// csvInput is a CSV input file of n profiles from first on.
func csvInput(first, n int) string {
	var b strings.Builder
	b.WriteString("iccid,imsi,ki,opc,pin1,puk1,pin2,puk2,adm1,region\n")
	for i := first; i < first+n; i++ {
		fmt.Fprintf(&b, "%s,23450%010d,%032x,%032x,1234,12345678,5678,87654321,55555555,eu\n", iccid(i), i, i, i)
	}
	return b.String()
}

// multipartImport builds a multipart import body.
func multipartImport(t *testing.T, fields map[string]string, files map[string][]byte) (string, io.Reader) {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for k, v := range fields {
		mw.WriteField(k, v)
	}
	for k, v := range files {
		fw, err := mw.CreateFormFile(k, k+".bin")
		if err != nil {
			t.Fatal(err)
		}
		fw.Write(v)
	}
	mw.Close()
	return mw.FormDataContentType(), &buf
}

func TestNewToken(t *testing.T) {
	if _, err := New(nil, nil, "short"); err == nil {
		t.Error("a short token was accepted")
	}
}

// TestUnauthorized sends requests without the token, with a wrong one, and with another scheme:
// all are 401 with a JSON error and a WWW-Authenticate challenge, before any routing.
func TestUnauthorized(t *testing.T) {
	e := newEnv(t, backends[0].newDSN(t))
	for _, auth := range []string{"", "Bearer", "Bearer ", "Bearer wrong-token-0123456789", "Basic " + token, "Bearer " + token + "x", token} {
		for _, rt := range []struct{ method, path string }{
			{"GET", "/operators"}, {"POST", "/operators"}, {"GET", "/profiles"}, {"POST", "/imports"},
			{"GET", "/usage"}, {"POST", "/profiles/" + iccid(1) + "/reset"}, {"GET", "/no-such-route"},
		} {
			t.Run(fmt.Sprintf("%q %s %s", auth, rt.method, rt.path), func(t *testing.T) {
				req, _ := http.NewRequest(rt.method, e.srv.URL+"/admin"+rt.path, strings.NewReader(`{"id":"x"}`))
				if auth != "" {
					req.Header.Set("Authorization", auth)
				}
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusUnauthorized || resp.Header.Get("WWW-Authenticate") == "" {
					t.Fatalf("status %d, challenge %q", resp.StatusCode, resp.Header.Get("WWW-Authenticate"))
				}
				errorOf(t, b)
			})
		}
	}
	// Nothing was created.
	if ops, _ := e.db.ListOperators(context.Background()); len(ops) != 0 {
		t.Errorf("operators created without a token: %v", ops)
	}
	// The scheme is case-insensitive (RFC 7235).
	if code, _ := e.doAuth("GET", "/operators", "", nil, "bearer "+token); code != http.StatusOK {
		t.Errorf("lower-case scheme: %d", code)
	}
}

func TestOperators(t *testing.T) {
	e := newEnv(t, backends[0].newDSN(t))
	var op Operator
	e.json("POST", "/operators", map[string]any{"id": "op1", "name": "One", "callbackUrl": "https://op1.example/es2"}, http.StatusCreated, &op)
	if op.ID != "op1" || op.CallbackURL != "https://op1.example/es2" || op.RedownloadLimit != store.DefaultRedownloadLimit {
		t.Errorf("created %+v", op)
	}
	for _, tc := range []struct {
		name string
		body string
		want int
	}{
		{"duplicate", `{"id":"op1"}`, http.StatusConflict},
		{"no id", `{"name":"x"}`, http.StatusBadRequest},
		{"id with slash", `{"id":"a/b"}`, http.StatusBadRequest},
		{"relative callback", `{"id":"op2","callbackUrl":"/es2"}`, http.StatusBadRequest},
		{"ftp callback", `{"id":"op2","callbackUrl":"ftp://x.example/"}`, http.StatusBadRequest},
		{"callback with password", `{"id":"op2","callbackUrl":"https://u:p@x.example/"}`, http.StatusBadRequest},
		{"negative limit", `{"id":"op2","redownloadLimit":-1}`, http.StatusBadRequest},
		{"unknown field", `{"id":"op2","colour":"red"}`, http.StatusBadRequest},
		{"not JSON", `{"id":`, http.StatusBadRequest},
		{"trailing data", `{"id":"op2"} {}`, http.StatusBadRequest},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, b := e.do("POST", "/operators", "application/json", strings.NewReader(tc.body))
			if code != tc.want {
				t.Fatalf("status %d %s, want %d", code, b, tc.want)
			}
			t.Log(errorOf(t, b))
		})
	}
	// PATCH changes only the fields given.
	e.json("PATCH", "/operators/op1", map[string]any{"callbackUrl": "https://new.example/es2"}, http.StatusOK, &op)
	if op.Name != "One" || op.CallbackURL != "https://new.example/es2" {
		t.Errorf("patched %+v", op)
	}
	e.json("PUT", "/operators/op1", map[string]any{"redownloadLimit": 0, "callbackUrl": ""}, http.StatusOK, &op)
	if op.Name != "One" || op.CallbackURL != "" || op.RedownloadLimit != 0 {
		t.Errorf("updated %+v", op)
	}
	e.json("PATCH", "/operators/nobody", map[string]any{"name": "x"}, http.StatusNotFound, nil)
	e.json("PATCH", "/operators/op1", map[string]any{"id": "op9"}, http.StatusBadRequest, nil)
	e.json("GET", "/operators/nobody", nil, http.StatusNotFound, nil)
	e.json("POST", "/operators", map[string]any{"id": "op0"}, http.StatusCreated, nil)
	var ops []Operator
	e.json("GET", "/operators", nil, http.StatusOK, &ops)
	if len(ops) != 2 || ops[0].ID != "op0" || ops[1].ID != "op1" {
		t.Errorf("list %+v", ops)
	}
	if !strings.Contains(e.logs.String(), "admin: operator updated") {
		t.Error("no audit line for the update")
	}
}

// TestImportAndProfiles drives an import through the API, in both body forms, and searches and
// resets the profiles it made, on both databases.
func TestImportAndProfiles(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, b.newDSN(t))
			e.json("POST", "/operators", map[string]any{"id": "op1"}, http.StatusCreated, nil)
			tpl := template(t)

			// Dry run with bad rows (multipart): 422 and the report lists every bad row.
			bad := strings.Split(csvInput(0, 5), "\n")
			bad[2] = strings.Replace(bad[2], ",1234,", ",12,", 1)         // row 3: PIN1
			bad[4] = strings.Replace(bad[4], iccid(3), iccid(1), 1)       // row 5: ICCID of row 3
			bad[5] = strings.Replace(bad[5], ",55555555,", ",5555,5,", 1) // row 6: field count
			ct, body := multipartImport(t, map[string]string{"operator": "op1", "profileType": "T", "dryRun": "true"},
				map[string][]byte{"template": tpl, "csv": []byte(strings.Join(bad, "\n"))})
			code, resp := e.do("POST", "/imports", ct, body)
			var rep inventory.Report
			if code != http.StatusUnprocessableEntity || json.Unmarshal(resp, &rep) != nil {
				t.Fatalf("dry run: %d %s", code, resp)
			}
			var rows []string
			for _, re := range rep.Errors {
				rows = append(rows, re.String())
			}
			want := "row 3: pin1: must be 4 to 8 decimal digits, got 2 characters|row 5: iccid: duplicate of row 3|row 6: 11 fields, the header has 10"
			if strings.Join(rows, "|") != want || rep.Valid != 2 || rep.Imported != 0 {
				t.Errorf("report errors %q (valid %d)", rows, rep.Valid)
			}

			// The same file for real: 422, nothing imported.
			ct, body = multipartImport(t, map[string]string{"operator": "op1", "profileType": "T"},
				map[string][]byte{"template": tpl, "csv": []byte(strings.Join(bad, "\n"))})
			if code, _ := e.do("POST", "/imports", ct, body); code != http.StatusUnprocessableEntity {
				t.Errorf("import with bad rows: %d", code)
			}
			var found []Profile
			e.json("GET", "/profiles", nil, http.StatusOK, &found)
			if len(found) != 0 {
				t.Fatalf("%d profiles after a refused import", len(found))
			}

			// A clean dry run (JSON body) is 200, a clean import 201.
			csv := csvInput(0, 6)
			e.json("POST", "/imports?dryRun=true", map[string]any{"operator": "op1", "profileType": "T", "template": tpl, "csv": csv}, http.StatusOK, &rep)
			if rep.Valid != 6 || rep.Imported != 0 {
				t.Errorf("dry run report %+v", rep)
			}
			ct, body = multipartImport(t, map[string]string{"operator": "op1", "profileType": "T"},
				map[string][]byte{"template": tpl, "csv": []byte(csv)})
			code, resp = e.do("POST", "/imports", ct, body)
			if code != http.StatusCreated || json.Unmarshal(resp, &rep) != nil || rep.Imported != 6 || rep.BatchID == "" {
				t.Fatalf("import: %d %s", code, resp)
			}
			// JSON form with profiles.
			e.json("POST", "/imports", map[string]any{"operator": "op1", "profileType": "U", "template": tpl,
				"profiles": []map[string]string{{"iccid": iccid(50), "imsi": "234500000000050", "ki": strings.Repeat("ab", 16),
					"opc": strings.Repeat("cd", 16), "pin1": "1111", "puk1": "11111111", "pin2": "2222", "puk2": "22222222", "adm1": "33333333"}},
			}, http.StatusCreated, &rep)

			// Import errors that are not rows.
			for _, tc := range []struct {
				name string
				body map[string]any
				want int
			}{
				{"unknown operator", map[string]any{"operator": "nobody", "template": tpl, "csv": csv}, http.StatusNotFound},
				{"no template", map[string]any{"operator": "op1", "csv": csv}, http.StatusBadRequest},
				{"bad template", map[string]any{"operator": "op1", "template": []byte{0x30, 0}, "csv": csv}, http.StatusBadRequest},
				{"no input", map[string]any{"operator": "op1", "template": tpl}, http.StatusBadRequest},
				{"both inputs", map[string]any{"operator": "op1", "template": tpl, "csv": csv, "profiles": []any{}}, http.StatusBadRequest},
				{"duplicates in the database", map[string]any{"operator": "op1", "template": tpl, "csv": csv}, http.StatusUnprocessableEntity},
			} {
				t.Run(tc.name, func(t *testing.T) { e.json("POST", "/imports", tc.body, tc.want, nil) })
			}
			if code, b := e.do("POST", "/imports", "text/plain", strings.NewReader(csv)); code != http.StatusBadRequest {
				t.Errorf("text/plain import: %d %s", code, b)
			}

			// Search.
			e.json("GET", "/profiles?operator=op1&type=T&state=Available", nil, http.StatusOK, &found)
			if len(found) != 6 || found[0].ICCID != iccid(0) || found[0].State != "Available" {
				t.Fatalf("search: %+v", found)
			}
			e.json("GET", "/orders?type=U", nil, http.StatusOK, &found)
			if len(found) != 1 || found[0].ICCID != iccid(50) {
				t.Errorf("orders search: %+v", found)
			}
			e.json("GET", "/profiles?limit=2", nil, http.StatusOK, &found)
			if len(found) != 2 {
				t.Errorf("limit 2: %d", len(found))
			}
			e.json("GET", "/profiles?state=Bogus", nil, http.StatusBadRequest, nil)
			e.json("GET", "/profiles?limit=0", nil, http.StatusBadRequest, nil)
			var one Profile
			e.json("GET", "/profiles/"+iccid(2), nil, http.StatusOK, &one)
			if one.Region != "eu" || one.ProfileType != "T" || one.Version != 1 {
				t.Errorf("profile %+v", one)
			}
			e.json("GET", "/profiles/"+iccid(99), nil, http.StatusNotFound, nil)

			// Reset: an Installed profile whose delete notification was lost goes back to the pool.
			ctx := context.Background()
			eid := "89049032123451234512345678901235"
			p, err := e.db.TransitionProfile(ctx, iccid(2), []store.State{store.StateAvailable}, store.StateInstalled, func(p *store.Profile) error {
				p.EID, p.MatchingID = eid, "MATCH-1"
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			e.json("GET", "/profiles?eid="+eid, nil, http.StatusOK, &found)
			if len(found) != 1 || found[0].MatchingID != "MATCH-1" {
				t.Errorf("search by EID: %+v", found)
			}
			path := "/profiles/" + iccid(2) + "/reset"
			e.json("POST", path, map[string]any{"from": "Installed", "to": "Available"}, http.StatusBadRequest, nil)
			e.json("POST", path, map[string]any{"from": "Installed", "to": "Released", "reason": "x"}, http.StatusBadRequest, nil)
			e.json("POST", path, map[string]any{"from": "Downloaded", "to": "Available", "reason": "x"}, http.StatusConflict, nil)
			e.json("POST", path, map[string]any{"from": "Installed", "to": "Available", "reason": "x", "version": p.Version + 5}, http.StatusConflict, nil)
			e.json("POST", "/profiles/"+iccid(98)+"/reset", map[string]any{"from": "Installed", "to": "Available", "reason": "x"}, http.StatusNotFound, nil)
			e.json("POST", path, map[string]any{"from": "Installed", "to": "Available", "reason": "delete notification lost", "version": p.Version}, http.StatusOK, &one)
			if one.State != "Available" || one.EID != "" || one.MatchingID != "" {
				t.Errorf("reset profile %+v", one)
			}
			var hist inventory.EIDHistory
			e.json("GET", "/eids/"+eid+"/history", nil, http.StatusOK, &hist)
			if len(hist.Profiles) != 1 || hist.Profiles[0].Events[0].Event != inventory.KindAdminReset {
				t.Errorf("history %+v", hist)
			}
			e.json("GET", "/eids/12345/history", nil, http.StatusBadRequest, nil)
		})
	}
}

func TestImportBodyLimit(t *testing.T) {
	e := newEnv(t, backends[0].newDSN(t), WithMaxImportBody(4096))
	e.json("POST", "/operators", map[string]any{"id": "op1"}, http.StatusCreated, nil)
	ct, body := multipartImport(t, map[string]string{"operator": "op1"}, map[string][]byte{"template": template(t), "csv": []byte(csvInput(0, 2))})
	code, b := e.do("POST", "/imports", ct, body)
	if code != http.StatusRequestEntityTooLarge {
		t.Fatalf("status %d %s", code, b)
	}
	t.Log(errorOf(t, b))
	code, b = e.do("POST", "/imports", "application/json", strings.NewReader(`{"operator":"op1","csv":"`+strings.Repeat("x", 5000)+`"}`))
	if code != http.StatusRequestEntityTooLarge {
		t.Fatalf("JSON: status %d %s", code, b)
	}
}

func TestPools(t *testing.T) {
	e := newEnv(t, backends[0].newDSN(t))
	e.json("POST", "/operators", map[string]any{"id": "op1"}, http.StatusCreated, nil)
	e.json("POST", "/imports", map[string]any{"operator": "op1", "profileType": "T", "template": template(t), "csv": csvInput(0, 4)}, http.StatusCreated, nil)
	var th struct {
		LowWater int  `json:"lowWater"`
		Low      bool `json:"low"`
	}
	e.json("PUT", "/pools/thresholds", map[string]any{"operator": "op1", "profileType": "T", "region": "eu", "lowWater": 10}, http.StatusOK, &th)
	if th.LowWater != 10 || !th.Low {
		t.Errorf("threshold %+v: 4 available is below 10", th)
	}
	e.json("PUT", "/pools/thresholds", map[string]any{"operator": "op1", "profileType": "T", "lowWater": 0}, http.StatusBadRequest, nil)
	e.json("PUT", "/pools/thresholds", map[string]any{"operator": "nobody", "profileType": "T", "lowWater": 1}, http.StatusNotFound, nil)
	var levels []PoolLevel
	e.json("GET", "/pools?operator=op1", nil, http.StatusOK, &levels)
	if len(levels) != 1 || levels[0].Available != 4 || levels[0].Region != "eu" || levels[0].LowWater != 10 || !levels[0].Low ||
		levels[0].Counts["Available"] != 4 {
		t.Errorf("levels %+v", levels)
	}
	if ev, _ := e.db.ListEvents(context.Background(), store.EventFilter{Kind: inventory.KindPoolLow}); len(ev) != 1 {
		t.Errorf("%d pool-low events", len(ev))
	}
	if code, b := e.do("DELETE", "/pools/thresholds?operator=op1&profileType=T&region=eu", "", nil); code != http.StatusNoContent {
		t.Errorf("delete: %d %s", code, b)
	}
	if code, _ := e.do("DELETE", "/pools/thresholds?operator=op1&profileType=T&region=eu", "", nil); code != http.StatusNotFound {
		t.Errorf("second delete: %d", code)
	}
	if code, _ := e.do("DELETE", "/pools/thresholds?operator=op1", "", nil); code != http.StatusBadRequest {
		t.Errorf("delete without type: %d", code)
	}
	var returned []Profile
	e.json("POST", "/pools/return-released", map[string]any{"maxAge": "72h"}, http.StatusOK, &returned)
	if len(returned) != 0 {
		t.Errorf("returned %+v", returned)
	}
	e.json("POST", "/pools/return-released", map[string]any{"maxAge": "soon"}, http.StatusBadRequest, nil)
	if code, _ := e.do("GET", "/pools/thresholds", "", nil); code != http.StatusMethodNotAllowed {
		t.Errorf("GET thresholds: %d", code)
	}
	if code, _ := e.do("GET", "/nothing", "", nil); code != http.StatusNotFound {
		t.Errorf("unknown route: %d", code)
	}
}

func TestUsageAndQuality(t *testing.T) {
	e := newEnv(t, backends[0].newDSN(t))
	ctx := context.Background()
	for _, ev := range []store.Event{
		{At: testEpoch.Add(-time.Hour), OperatorID: "op1", ICCID: iccid(1), Kind: "downloaded"},
		{At: testEpoch, OperatorID: "op1", ICCID: iccid(1), EID: "89049032123451234512345678901235", Kind: "downloaded"},
		{At: testEpoch.Add(time.Minute), OperatorID: "op1", ICCID: iccid(1), EID: "89049032123451234512345678901235", Kind: "Error", Detail: "bppCommandId 5, errorReason 10"},
		{At: testEpoch.Add(time.Minute), OperatorID: "op2", ICCID: iccid(2), Kind: "downloaded"},
	} {
		if _, err := e.db.RecordEvent(ctx, ev); err != nil {
			t.Fatal(err)
		}
	}
	code, b := e.do("GET", "/usage?operator=op1&from=2025-06-01T12:00:00Z&to=2025-06-02&format=csv", "", nil)
	want := "at,operator,iccid,eid,category,event,detail\n" +
		"2025-06-01T12:00:00.000000Z,op1," + iccid(1) + ",89049032123451234512345678901235,download,downloaded,\n" +
		"2025-06-01T12:01:00.000000Z,op1," + iccid(1) + ",89049032123451234512345678901235,install-failure,Error,\"bppCommandId 5, errorReason 10\"\n"
	if code != http.StatusOK || string(b) != want {
		t.Errorf("CSV usage: %d\n%s\nwant\n%s", code, b, want)
	}
	var doc struct {
		Records []inventory.UsageRecord `json:"records"`
		Totals  map[string]int          `json:"totals"`
	}
	e.json("GET", "/usage?operator=op1&from=2025-06-01T12:00:00Z&to=2025-06-02", nil, http.StatusOK, &doc)
	if len(doc.Records) != 2 || doc.Totals["download"] != 1 || doc.Totals["install-failure"] != 1 {
		t.Errorf("JSON usage %+v", doc)
	}
	for _, bad := range []string{"?format=xml", "?from=yesterday", "?from=2025-06-02&to=2025-06-01", "?to=2025-13-01"} {
		if code, b := e.do("GET", "/usage"+bad, "", nil); code != http.StatusBadRequest {
			t.Errorf("usage%s: %d %s", bad, code, b)
		}
	}
	var q inventory.Quality
	e.json("GET", "/quality?operator=op1&from=2025-06-01T12:00:00Z&to=2025-06-02", nil, http.StatusOK, &q)
	if len(q.Stages) != 5 || q.Stages[0].Success != 1 || q.Stages[1].Failure != 1 || len(q.FailuresByReason) != 1 ||
		q.FailuresByReason[0].Reason != "errorReason 10 (installFailedDueToInsufficientMemoryForProfile)" ||
		len(q.ByEUM) != 1 || q.ByEUM[0].EUM != "89049032" {
		t.Errorf("quality %+v", q)
	}
}

// TestInternalError closes the database under the API: the answer is a 500 with a generic
// message, and the detail is logged.
func TestInternalError(t *testing.T) {
	e := newEnv(t, backends[0].newDSN(t))
	e.db.Close()
	code, b := e.do("GET", "/operators", "", nil)
	if code != http.StatusInternalServerError || errorOf(t, b) != "internal error" {
		t.Errorf("status %d %s", code, b)
	}
	if !strings.Contains(e.logs.String(), "admin request failed") {
		t.Errorf("no log line: %s", e.logs.String())
	}
}
