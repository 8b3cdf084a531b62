package metrics_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-chi/chi/v5"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/smdpp/smdpp/es2plus"
	"github.com/smdpp/smdpp/es9plus"
	"github.com/smdpp/smdpp/metrics"
	"github.com/smdpp/smdpp/session"
	"github.com/smdpp/smdpp/status"
	"github.com/smdpp/smdpp/web"
)

// The session store is what the lead passes to WithSessionCount.
var _ metrics.Counter = session.Store(nil)

// Response bodies as web.FunctionHandler and es2plus write them (copied from web_test.go).
const (
	bodySuccess       = `{"header":{"functionExecutionStatus":{"status":"Executed-Success"}},"transactionId":"AB12"}`
	bodyTxMissing     = `{"header":{"functionExecutionStatus":{"status":"Failed","statusCodeData":{"subjectCode":"8.10.1","reasonCode":"2.2","message":"transactionId missing"}}}}`
	bodyInternal      = `{"header":{"functionExecutionStatus":{"status":"Failed","statusCodeData":{"subjectCode":"1.6","reasonCode":"4.2","message":"internal error"}}}}`
	bodyContentType   = `{"header":{"functionExecutionStatus":{"status":"Failed","statusCodeData":{"subjectCode":"1.2.1","reasonCode":"2.1","message":"Content-Type must be application/json"}}}}`
	bodyProtocol      = `{"header":{"functionExecutionStatus":{"status":"Failed","statusCodeData":{"subjectCode":"1.2.2","reasonCode":"3.1","message":"X-Admin-Protocol gsma/rsp/v1.0 is not supported"}}}}`
	bodyMalformed     = `{"header":{"functionExecutionStatus":{"status":"Failed","statusCodeData":{"subjectCode":"1.2","reasonCode":"2.1","message":"request body is not a valid JSON object"}}}}`
	bodyWarning       = `{"header":{"functionExecutionStatus":{"status":"Executed-WithWarning","statusCodeData":{"subjectCode":"8.2","reasonCode":"4.3","message":"stopped on warning"}}}}`
	bodyExpired       = `{"header":{"functionExecutionStatus":{"status":"Expired","statusCodeData":{"subjectCode":"8.8.5","reasonCode":"4.10","message":"ttl expired"}}}}`
	bodyUnauthorized  = `{"header":{"functionExecutionStatus":{"status":"Failed","statusCodeData":{"subjectCode":"1.1","reasonCode":"1.1","message":"invalid credentials"}}}}`
	bodyHeaderLast    = `{"iccid":"8901234567890123456","nested":{"header":{"functionExecutionStatus":{"status":"Executed-Success"}}},"header":{"functionExecutionStatus":{"status":"Failed","statusCodeData":{"subjectCode":"8.2.1","reasonCode":"3.9"}}}}`
	bodyUnknownCodes  = `{"header":{"functionExecutionStatus":{"status":"Failed","statusCodeData":{"subjectCode":"9.9.9.9","reasonCode":"<script>"}}}}`
	bodyNoHeader      = `{"transactionId":"AB12"}`
	bodyNotJSONObject = `["header"]`
	jsonType          = "application/json;charset=UTF-8"
	textType          = "text/plain; charset=utf-8"
)

// labels of one smdpp_function_requests_total series.
type series struct{ iface, function, outcome, subject, reason string }

func TestMiddleware(t *testing.T) {
	bigBPP := `{"header":{"functionExecutionStatus":{"status":"Executed-Success"}},"transactionId":"AB12","boundProfilePackage":"` +
		strings.Repeat("vzaB", 100<<10) + `"}`
	es9 := "/gsma/rsp2/es9plus/"
	es2 := "/gsma/rsp2/es2plus/"
	tests := []struct {
		name, path  string
		code        int
		ctype, body string
		want        *series // nil: no function series at all
	}{
		{"success", es9 + "initiateAuthentication", 200, jsonType, bodySuccess,
			&series{"es9plus", "initiateAuthentication", "success", "none", "none"}},
		{"function failure is HTTP 200", es9 + "authenticateClient", 200, jsonType, bodyTxMissing,
			&series{"es9plus", "authenticateClient", "failed", "8.10.1", "2.2"}},
		{"internal error", es9 + "getBoundProfilePackage", 200, jsonType, bodyInternal,
			&series{"es9plus", "getBoundProfilePackage", "failed", "1.6", "4.2"}},
		{"bad content type", es9 + "handleNotification", 200, jsonType, bodyContentType,
			&series{"es9plus", "handleNotification", "failed", "1.2.1", "2.1"}},
		{"v1 protocol", es9 + "cancelSession", 200, jsonType, bodyProtocol,
			&series{"es9plus", "cancelSession", "failed", "1.2.2", "3.1"}},
		{"malformed request", es2 + "confirmOrder", 200, "application/json", bodyMalformed,
			&series{"es2plus", "confirmOrder", "failed", "1.2", "2.1"}},
		{"warning is a success", es2 + "cancelOrder", 200, jsonType, bodyWarning,
			&series{"es2plus", "cancelOrder", "success", "8.2", "4.3"}},
		{"expired is a failure", es2 + "releaseProfile", 200, jsonType, bodyExpired,
			&series{"es2plus", "releaseProfile", "failed", "8.8.5", "4.10"}},
		{"es2plus 401 with SGP.22 body", es2 + "downloadOrder", 401, jsonType, bodyUnauthorized,
			&series{"es2plus", "downloadOrder", "failed", "1.1", "1.1"}},
		{"header after other members", es2 + "downloadOrder", 200, jsonType, bodyHeaderLast,
			&series{"es2plus", "downloadOrder", "failed", "8.2.1", "3.9"}},
		{"unknown codes are other", es9 + "authenticateClient", 200, jsonType, bodyUnknownCodes,
			&series{"es9plus", "authenticateClient", "failed", "other", "other"}},
		{"JSON without header", es9 + "initiateAuthentication", 200, jsonType, bodyNoHeader,
			&series{"es9plus", "initiateAuthentication", "success", "none", "none"}},
		{"JSON array", es9 + "initiateAuthentication", 200, jsonType, bodyNotJSONObject,
			&series{"es9plus", "initiateAuthentication", "success", "none", "none"}},
		{"truncated JSON", es9 + "initiateAuthentication", 200, jsonType, bodyTxMissing[:60],
			&series{"es9plus", "initiateAuthentication", "success", "none", "none"}},
		{"failure header in a text body is not read", es9 + "initiateAuthentication", 200, textType, bodyTxMissing,
			&series{"es9plus", "initiateAuthentication", "success", "none", "none"}},
		{"large BPP", es9 + "getBoundProfilePackage", 200, jsonType, bigBPP,
			&series{"es9plus", "getBoundProfilePackage", "success", "none", "none"}},
		{"no content", es9 + "handleNotification", 204, "", "",
			&series{"es9plus", "handleNotification", "success", "none", "none"}},
		{"body too large", es9 + "handleNotification", 413, textType, "request body too large\n",
			&series{"es9plus", "handleNotification", "failed", "none", "none"}},
		{"method not allowed", es2 + "downloadOrder", 405, textType, "method not allowed\n",
			&series{"es2plus", "downloadOrder", "failed", "none", "none"}},
		{"unknown ES9+ function", es9 + "getEverything", 404, textType, "404 page not found\n",
			&series{"es9plus", "other", "failed", "none", "none"}},
		{"nested ES2+ path", es2 + "downloadOrder/x", 404, textType, "404 page not found\n",
			&series{"es2plus", "other", "failed", "none", "none"}},
		{"bare prefix", es9, 404, textType, "404 page not found\n",
			&series{"es9plus", "other", "failed", "none", "none"}},
		{"health is not a function", "/healthz", 200, textType, "ok\n", nil},
		{"lookalike prefix", "/gsma/rsp2/es9plusX/initiateAuthentication", 404, textType, "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := metrics.New()
			h := m.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if tt.ctype != "" {
					w.Header().Set("Content-Type", tt.ctype)
				}
				w.WriteHeader(tt.code)
				// Write in pieces, as a streaming encoder would.
				for b := []byte(tt.body); len(b) > 0; {
					n := min(len(b), 1000)
					w.Write(b[:n])
					b = b[n:]
				}
			}))
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest("POST", tt.path, strings.NewReader("{}")))
			if rec.Code != tt.code || rec.Body.String() != tt.body {
				t.Fatalf("middleware changed the response: %d %.80q", rec.Code, rec.Body.String())
			}
			fams := scrape(t, m)
			got := functionSeries(fams)
			if tt.want == nil {
				if len(got) != 0 {
					t.Errorf("function series %v, want none", got)
				}
			} else if len(got) != 1 || got[*tt.want] != 1 {
				t.Errorf("function series %v, want {%v: 1}", got, *tt.want)
			}
			iface := "other"
			if tt.want != nil {
				iface = tt.want.iface
				hist := find(fams, "smdpp_function_duration_seconds", map[string]string{
					"interface": iface, "function": tt.want.function, "outcome": tt.want.outcome})
				if hist == nil || hist.GetHistogram().GetSampleCount() != 1 {
					t.Errorf("duration histogram: %v", hist)
				}
			}
			code := find(fams, "smdpp_http_responses_total", map[string]string{"interface": iface, "code": fmt.Sprint(tt.code)})
			if code.GetCounter().GetValue() != 1 {
				t.Errorf("smdpp_http_responses_total{interface=%q,code=%d} = %v, want 1", iface, tt.code, code)
			}
			if v := find(fams, "smdpp_http_requests_in_flight", nil).GetGauge().GetValue(); v != 0 {
				t.Errorf("in flight after the request: %v", v)
			}
		})
	}
}

// echo is an ES9+-like function for web.FunctionHandler, as in web's tests.
func echo(r *http.Request) (*echoResponse, error) {
	var req struct {
		TransactionID string `json:"transactionId"`
	}
	if err := web.DecodeJSON(r, &req); err != nil {
		return nil, err
	}
	switch req.TransactionID {
	case "":
		return nil, status.New(status.SubjectTransactionID, status.ReasonMandatoryElementMissing, "transactionId missing")
	case "NOCONTENT":
		return nil, nil
	case "INTERNAL":
		return nil, errors.New("secret database detail")
	case "PANIC":
		panic("boom")
	}
	return &echoResponse{TransactionID: req.TransactionID}, nil
}

type echoResponse struct {
	web.Response
	TransactionID string `json:"transactionId"`
}

// TestMiddlewareWithFunctionHandler runs the real adapter and request log behind the middleware,
// in both orders.
func TestMiddlewareWithFunctionHandler(t *testing.T) {
	requests := []struct{ ctype, body string }{
		{"application/json", `{"transactionId":"AB12"}`},
		{"application/json", `{}`},
		{"application/json", `{"transactionId":"INTERNAL"}`},
		{"application/json", `{"transactionId":"NOCONTENT"}`},
		{"text/plain", `{"transactionId":"AB12"}`},
		{"application/json", `{"transactionId":"` + strings.Repeat("A", 5000) + `"}`},
		{"application/json", `{"transactionId":"PANIC"}`},
	}
	want := map[series]float64{
		{"es9plus", "initiateAuthentication", "success", "none", "none"}: 2, // AB12, NOCONTENT
		{"es9plus", "initiateAuthentication", "failed", "8.10.1", "2.2"}: 1,
		{"es9plus", "initiateAuthentication", "failed", "1.6", "4.2"}:    1,
		{"es9plus", "initiateAuthentication", "failed", "1.2.1", "2.1"}:  1,
		{"es9plus", "initiateAuthentication", "failed", "none", "none"}:  2, // 413, panic 500
	}
	wantHTTP := map[string]float64{"200": 4, "204": 1, "413": 1, "500": 1}
	for _, outside := range []bool{true, false} {
		t.Run(fmt.Sprintf("metrics outside the request log: %v", outside), func(t *testing.T) {
			m := metrics.New()
			log := slog.New(slog.NewJSONHandler(io.Discard, nil))
			r := chi.NewRouter()
			if outside {
				r.Use(m.Middleware, web.RequestLog(log))
			} else {
				r.Use(web.RequestLog(log), m.Middleware)
			}
			r.Method("POST", "/gsma/rsp2/es9plus/initiateAuthentication", web.FunctionHandler(4096, log, echo))
			for _, req := range requests {
				hr := httptest.NewRequest("POST", "/gsma/rsp2/es9plus/initiateAuthentication", strings.NewReader(req.body))
				hr.Header.Set("Content-Type", req.ctype)
				r.ServeHTTP(httptest.NewRecorder(), hr)
			}
			fams := scrape(t, m)
			if got := functionSeries(fams); !equalMaps(got, want) {
				t.Errorf("function series\n got %v\nwant %v", got, want)
			}
			for code, n := range wantHTTP {
				c := find(fams, "smdpp_http_responses_total", map[string]string{"interface": "es9plus", "code": code})
				if c.GetCounter().GetValue() != n {
					t.Errorf("HTTP %s: %v, want %v", code, c, n)
				}
			}
		})
	}
}

// TestMiddlewarePassesPanics checks that a panic below the middleware reaches the handler
// above it (web.RequestLog recovers it) after being counted.
func TestMiddlewarePassesPanics(t *testing.T) {
	m := metrics.New()
	h := m.Middleware(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { panic("boom") }))
	func() {
		defer func() {
			if p := recover(); p != "boom" {
				t.Errorf("recovered %v, want boom", p)
			}
		}()
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("POST", "/gsma/rsp2/es9plus/cancelSession", nil))
	}()
	got := functionSeries(scrape(t, m))
	if got[series{"es9plus", "cancelSession", "failed", "none", "none"}] != 1 {
		t.Errorf("panic not counted as a failure: %v", got)
	}
}

func TestCardinalityBounded(t *testing.T) {
	m := metrics.New()
	h := m.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"header":{"functionExecutionStatus":{"status":"Failed","statusCodeData":{"subjectCode":%q,"reasonCode":%q}}}}`,
			r.URL.Query().Get("s"), r.URL.Query().Get("r"))
	}))
	for i := range 500 {
		for _, p := range []string{"/gsma/rsp2/es9plus/f%d", "/gsma/rsp2/es2plus/f%d", "/x/%d", "/gsma/rsp2/es9plus/initiateAuthentication/%d"} {
			path := fmt.Sprintf(p, i) + fmt.Sprintf("?s=9.%d&r=9%d.9", i, i)
			h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("POST", path, nil))
		}
	}
	fams := scrape(t, m)
	got := functionSeries(fams)
	want := map[series]float64{
		{"es9plus", "other", "failed", "other", "other"}: 1000,
		{"es2plus", "other", "failed", "other", "other"}: 500,
	}
	if !equalMaps(got, want) {
		t.Errorf("function series %v, want %v", got, want)
	}
	if n := len(fams["smdpp_http_responses_total"].GetMetric()); n != 3 {
		t.Errorf("%d HTTP response series, want 3 (es9plus, es2plus and other, all 200)", n)
	}
}

// TestRoutesAreKnown walks the routes the ES9+ and ES2+ front ends mount: every one must get its
// own function label, so adding a function without teaching the metrics fails here.
func TestRoutesAreKnown(t *testing.T) {
	r := chi.NewRouter()
	es9plus.Routes(r, nil, 4096, slog.Default())
	es2plus.Routes(r, nil, nil, nil, 4096, slog.Default())
	routes := map[string]bool{}
	err := chi.Walk(r, func(method, route string, _ http.Handler, _ ...func(http.Handler) http.Handler) error {
		iface, function := metrics.Classify(route)
		if iface == metrics.InterfaceOther || function == metrics.Other || !strings.HasSuffix(route, "/"+function) {
			t.Errorf("route %s %s classified as %s/%s", method, route, iface, function)
		}
		routes[route] = true
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(routes) != 9 {
		t.Errorf("walked %d routes %v, want the 5 ES9+ and 4 ES2+ functions", len(routes), routes)
	}
}

type countFunc struct {
	calls atomic.Int32
	n     atomic.Int32
	err   error
}

func (c *countFunc) Count(ctx context.Context) (int, error) {
	c.calls.Add(1)
	return int(c.n.Load()), c.err
}

func TestCollectorsAtScrape(t *testing.T) {
	sessions, outbox := &countFunc{}, &countFunc{}
	var poolCalls atomic.Int32
	pool := metrics.PoolCounterFunc(func(ctx context.Context) ([]metrics.PoolLevel, error) {
		poolCalls.Add(1)
		return []metrics.PoolLevel{
			{OperatorID: "mno1", ProfileType: "consumer", State: "Available", Count: 1000 + int(poolCalls.Load())},
			{OperatorID: "mno1", ProfileType: "consumer", State: "Installed", Count: 7},
			{OperatorID: "mno2", ProfileType: "iot", Region: "eu", State: "Available", Count: 0},
		}, nil
	})
	m := metrics.New(metrics.WithSessionCount(sessions), metrics.WithOutboxBacklog(outbox), metrics.WithPoolLevels(pool))
	if sessions.calls.Load() != 0 || outbox.calls.Load() != 0 || poolCalls.Load() != 0 {
		t.Fatal("counted before any scrape")
	}
	for i, want := range []struct{ sessions, outbox, available float64 }{{3, 0, 1001}, {42, 5, 1002}} {
		sessions.n.Store(int32(want.sessions))
		outbox.n.Store(int32(want.outbox))
		fams := scrape(t, m)
		checks := []struct {
			name   string
			labels map[string]string
			want   float64
		}{
			{"smdpp_rsp_sessions", nil, want.sessions},
			{"smdpp_outbox_pending", nil, want.outbox},
			{"smdpp_profiles", map[string]string{"operator": "mno1", "profile_type": "consumer", "state": "Available"}, want.available},
			{"smdpp_profiles", map[string]string{"operator": "mno1", "profile_type": "consumer", "state": "Installed"}, 7},
			{"smdpp_profiles", map[string]string{"operator": "mno2", "profile_type": "iot", "region": "eu", "state": "Available"}, 0},
			{"smdpp_collector_up", map[string]string{"collector": "sessions"}, 1},
			{"smdpp_collector_up", map[string]string{"collector": "outbox"}, 1},
			{"smdpp_collector_up", map[string]string{"collector": "pool"}, 1},
		}
		for _, c := range checks {
			got := find(fams, c.name, c.labels)
			if got == nil || got.GetGauge().GetValue() != c.want {
				t.Errorf("scrape %d: %s%v = %v, want %v", i, c.name, c.labels, got, c.want)
			}
		}
		if sessions.calls.Load() != int32(i+1) || outbox.calls.Load() != int32(i+1) || poolCalls.Load() != int32(i+1) {
			t.Errorf("scrape %d: calls %d %d %d, want one each per scrape", i, sessions.calls.Load(), outbox.calls.Load(), poolCalls.Load())
		}
	}
}

func TestCollectorFailure(t *testing.T) {
	var logs bytes.Buffer
	blocked := metrics.CountFunc(func(ctx context.Context) (int, error) {
		<-ctx.Done()
		return 0, ctx.Err()
	})
	pool := metrics.PoolCounterFunc(func(context.Context) ([]metrics.PoolLevel, error) {
		return nil, errors.New("database down")
	})
	m := metrics.New(metrics.WithSessionCount(&countFunc{}), metrics.WithOutboxBacklog(blocked),
		metrics.WithPoolLevels(pool), metrics.WithScrapeTimeout(50*time.Millisecond),
		metrics.WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))
	fams := scrape(t, m)
	if fams["smdpp_outbox_pending"] != nil || fams["smdpp_profiles"] != nil {
		t.Error("a failed count was still reported")
	}
	if find(fams, "smdpp_rsp_sessions", nil) == nil {
		t.Error("a failing collector dropped the others")
	}
	for c, want := range map[string]float64{"sessions": 1, "outbox": 0, "pool": 0} {
		if got := find(fams, "smdpp_collector_up", map[string]string{"collector": c}).GetGauge().GetValue(); got != want {
			t.Errorf("smdpp_collector_up{collector=%q} = %v, want %v", c, got, want)
		}
	}
	if !strings.Contains(logs.String(), "database down") || !strings.Contains(logs.String(), "deadline exceeded") {
		t.Errorf("failures not logged: %s", logs.String())
	}
}

func TestHandlerOutput(t *testing.T) {
	m := metrics.New(metrics.WithSessionCount(&countFunc{}), metrics.WithOutboxBacklog(&countFunc{}),
		metrics.WithPoolLevels(metrics.PoolCounterFunc(func(context.Context) ([]metrics.PoolLevel, error) { return nil, nil })))
	h := m.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", jsonType)
		io.WriteString(w, bodyTxMissing)
	}))
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("POST", "/gsma/rsp2/es9plus/authenticateClient", nil))
	fams := scrape(t, m)
	want := map[string]dto.MetricType{
		"smdpp_function_requests_total":   dto.MetricType_COUNTER,
		"smdpp_function_duration_seconds": dto.MetricType_HISTOGRAM,
		"smdpp_http_responses_total":      dto.MetricType_COUNTER,
		"smdpp_http_requests_in_flight":   dto.MetricType_GAUGE,
		"smdpp_rsp_sessions":              dto.MetricType_GAUGE,
		"smdpp_outbox_pending":            dto.MetricType_GAUGE,
		"smdpp_collector_up":              dto.MetricType_GAUGE,
		"process_cpu_seconds_total":       dto.MetricType_COUNTER,
		"process_resident_memory_bytes":   dto.MetricType_GAUGE,
		"go_goroutines":                   dto.MetricType_GAUGE,
		"go_memstats_alloc_bytes":         dto.MetricType_GAUGE,
	}
	for name, typ := range want {
		f := fams[name]
		if f == nil {
			t.Errorf("missing %s", name)
			continue
		}
		if f.GetType() != typ || f.GetHelp() == "" {
			t.Errorf("%s: type %v help %q", name, f.GetType(), f.GetHelp())
		}
	}
	// An empty pool reports no series, not a scrape error.
	if fams["smdpp_profiles"] != nil {
		t.Error("smdpp_profiles without levels")
	}
	var names []string
	for n := range fams {
		names = append(names, n)
	}
	sort.Strings(names)
	t.Logf("families: %s", strings.Join(names, " "))
}

func TestRegistryIsPrivate(t *testing.T) {
	a, b := metrics.New(), metrics.New() // would panic on duplicate registration if global
	h := a.Middleware(http.NotFoundHandler())
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/gsma/rsp2/es9plus/x", nil))
	if got := functionSeries(scrape(t, b)); len(got) != 0 {
		t.Errorf("second Metrics saw the first's requests: %v", got)
	}
}

// scrape GETs /metrics and parses it as Prometheus text.
func scrape(t *testing.T, m *metrics.Metrics) map[string]*dto.MetricFamily {
	t.Helper()
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	if rec.Code != 200 {
		t.Fatalf("/metrics: %d %s", rec.Code, rec.Body)
	}
	if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
		t.Fatalf("/metrics Content-Type %q", ct)
	}
	p := expfmt.NewTextParser(model.LegacyValidation)
	fams, err := p.TextToMetricFamilies(rec.Body)
	if err != nil {
		t.Fatalf("parsing /metrics: %v", err)
	}
	return fams
}

// find returns the metric of family name whose labels include labels, or nil.
func find(fams map[string]*dto.MetricFamily, name string, labels map[string]string) *dto.Metric {
	for _, m := range fams[name].GetMetric() {
		ok := true
		for k, v := range labels {
			if label(m, k) != v {
				ok = false
			}
		}
		if ok {
			return m
		}
	}
	return nil
}

func label(m *dto.Metric, name string) string {
	for _, l := range m.GetLabel() {
		if l.GetName() == name {
			return l.GetValue()
		}
	}
	return ""
}

// functionSeries returns smdpp_function_requests_total by labels.
func functionSeries(fams map[string]*dto.MetricFamily) map[series]float64 {
	out := map[series]float64{}
	for _, m := range fams["smdpp_function_requests_total"].GetMetric() {
		s := series{label(m, "interface"), label(m, "function"), label(m, "outcome"), label(m, "subject_code"), label(m, "reason_code")}
		out[s] = m.GetCounter().GetValue()
	}
	return out
}

func equalMaps(a, b map[series]float64) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

func TestAudit(t *testing.T) {
	var buf bytes.Buffer
	a := metrics.Audit(slog.New(slog.NewJSONHandler(&buf, nil)))
	ctx := context.Background()
	a.DownloadOrder(ctx, "mno1", "8901234567890123456", "", "consumer", nil)
	a.ConfirmOrder(ctx, "mno1", "8901234567890123456", "89049032123451234512345678901235", true, nil)
	a.CancelOrder(ctx, "mno1", "8901234567890123456", "Available", errors.New("wrong state"))
	a.ReleaseProfile(ctx, "mno1", "8901234567890123456", nil)
	a.AuthenticationFailed(ctx, "192.0.2.1:443", "", "no credentials")
	a.ProfilesImported(ctx, "mno1", "consumer", 100, nil)
	a.OperatorsSynced(ctx, []string{"mno1", "mno2"}, nil)
	a.CredentialsLoaded(ctx, "/etc/smdpp/pki/nist", "F54172BDF98A95D65CBEB88A38A1C11D800A85C3", "1", "2", "3")
	a.PKIGenerated(ctx, "smdpp-data/pki/nist", "nist")
	wantActions := []string{metrics.ActionDownloadOrder, metrics.ActionConfirmOrder, metrics.ActionCancelOrder,
		metrics.ActionReleaseProfile, metrics.ActionAuthFailure, metrics.ActionProfilesImport,
		metrics.ActionOperatorsSync, metrics.ActionCredentials, metrics.ActionPKIGenerated}
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != len(wantActions) {
		t.Fatalf("%d records, want %d:\n%s", len(lines), len(wantActions), buf.String())
	}
	for i, line := range lines {
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatal(err)
		}
		if rec["audit"] != true || rec["action"] != wantActions[i] || rec["msg"] != "audit" {
			t.Errorf("record %d: %s", i, line)
		}
		wantOutcome, wantLevel := "success", "INFO"
		if wantActions[i] == metrics.ActionCancelOrder {
			wantOutcome, wantLevel = "failed", "WARN"
			if rec["error"] != "wrong state" {
				t.Errorf("failure without its error: %s", line)
			}
		}
		if rec["outcome"] != wantOutcome || rec["level"] != wantLevel {
			t.Errorf("record %d: outcome %v level %v, want %s %s", i, rec["outcome"], rec["level"], wantOutcome, wantLevel)
		}
	}
}
