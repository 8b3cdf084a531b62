package loadgen

import (
	"context"
	"errors"
	"fmt"
	"syscall"
	"testing"
	"time"

	"github.com/smdpp/smdpp/lpa"
)

func durations(ms ...int) []time.Duration {
	out := make([]time.Duration, len(ms))
	for i, m := range ms {
		out[i] = time.Duration(m) * time.Millisecond
	}
	return out
}

func TestPercentile(t *testing.T) {
	hundred := make([]time.Duration, 100)
	for i := range hundred {
		hundred[i] = time.Duration(i+1) * time.Millisecond
	}
	tests := []struct {
		name    string
		samples []time.Duration
		p       float64
		want    time.Duration
	}{
		{"empty", nil, 50, 0},
		{"one sample p50", durations(7), 50, 7 * time.Millisecond},
		{"one sample p99", durations(7), 99, 7 * time.Millisecond},
		{"two samples p50", durations(1, 2), 50, 1 * time.Millisecond},
		{"two samples p51", durations(1, 2), 51, 2 * time.Millisecond},
		{"1..100 p50", hundred, 50, 50 * time.Millisecond},
		{"1..100 p95", hundred, 95, 95 * time.Millisecond},
		{"1..100 p99", hundred, 99, 99 * time.Millisecond},
		{"1..100 p100", hundred, 100, 100 * time.Millisecond},
		{"1..100 p99.5", hundred, 99.5, 100 * time.Millisecond},
		{"p0 is the minimum", durations(3, 4, 5), 0, 3 * time.Millisecond},
		{"negative p is the minimum", durations(3, 4, 5), -5, 3 * time.Millisecond},
		{"p above 100 is the maximum", durations(3, 4, 5), 250, 5 * time.Millisecond},
		{"ten samples p95", durations(1, 2, 3, 4, 5, 6, 7, 8, 9, 10), 95, 10 * time.Millisecond},
		{"ten samples p90", durations(1, 2, 3, 4, 5, 6, 7, 8, 9, 10), 90, 9 * time.Millisecond},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := Percentile(tc.samples, tc.p); got != tc.want {
				t.Errorf("Percentile(p%v) = %v, want %v", tc.p, got, tc.want)
			}
		})
	}
}

func TestSummarize(t *testing.T) {
	l := Summarize(durations(5, 1, 4, 2, 3))
	want := Latency{Count: 5, Mean: 3, P50: 3, P95: 5, P99: 5, Max: 5}
	if l != want {
		t.Errorf("Summarize = %+v, want %+v", l, want)
	}
	if l := Summarize(nil); l != (Latency{}) {
		t.Errorf("Summarize(nil) = %+v", l)
	}
	if l := Summarize([]time.Duration{1500 * time.Microsecond}); l.P50 != 1.5 {
		t.Errorf("1.5ms summarised as %v ms", l.P50)
	}
}

func TestErrorKey(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want string
	}{
		{"server error", &lpa.ServerError{Function: "authenticateClient", Status: "Failed", SubjectCode: "8.2.6", ReasonCode: "3.8"}, "authenticateClient 8.2.6/3.8 Failed"},
		{"wrapped server error", fmt.Errorf("x: %w", &lpa.ServerError{Function: "initiateAuthentication", Status: "Failed", SubjectCode: "8.8.1", ReasonCode: "3.8"}), "initiateAuthentication 8.8.1/3.8 Failed"},
		{"HTTP status", &lpa.TransportError{Function: "getBoundProfilePackage", StatusCode: 502, Err: errors.New("Bad Gateway")}, "getBoundProfilePackage transport: HTTP 502"},
		{"timeout", &lpa.TransportError{Function: "handleNotification", Err: fmt.Errorf("Post: %w", context.DeadlineExceeded)}, "handleNotification transport: timeout"},
		{"refused", &lpa.TransportError{Function: "initiateAuthentication", Err: fmt.Errorf("dial tcp 127.0.0.1:1: %w", syscall.ECONNREFUSED)}, "initiateAuthentication transport: connection refused"},
		{"not loopback", &lpa.TransportError{Function: "initiateAuthentication", Err: fmt.Errorf("target: %w", ErrNotLoopback)}, "initiateAuthentication transport: target not loopback"},
		{"other network", &lpa.TransportError{Function: "initiateAuthentication", Err: errors.New("Post \"https://127.0.0.1:5/x\": tls: bad certificate")}, "initiateAuthentication transport: bad certificate"},
		{"card", &lpa.CardError{Function: "PrepareDownload", Err: errors.New("6A80")}, "card PrepareDownload"},
		{"install", &lpa.InstallError{BppCommandID: 3, ErrorReason: 8}, "install: bppCommandId 3 errorReason 8"},
		{"malformed", fmt.Errorf("lpa: %w: no transactionId", lpa.ErrMalformedResponse), "malformed response"},
		{"other", errors.New("boom"), "other: boom"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := ErrorKey(tc.err); got != tc.want {
				t.Errorf("ErrorKey = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestRecorder(t *testing.T) {
	r := newRecorder()
	ok := []lpa.Timing{
		{Function: lpa.FunctionHandleNotification, Duration: 3 * time.Millisecond},
		{Function: lpa.FunctionInitiateAuthentication, Duration: time.Millisecond},
	}
	r.download(ok, 10*time.Millisecond, nil, 2)
	failed := []lpa.Timing{
		{Function: lpa.FunctionInitiateAuthentication, Duration: 2 * time.Millisecond},
		{Function: lpa.FunctionAuthenticateClient, Duration: 9 * time.Millisecond, Failed: true},
		{Function: lpa.FunctionCancelSession, Duration: time.Millisecond},
	}
	se := &lpa.ServerError{Function: "authenticateClient", Status: "Failed", SubjectCode: "8.2.6", ReasonCode: "3.8"}
	r.download(failed, 20*time.Millisecond, se, 1)
	r.download(nil, 0, se, 1)
	funcs, whole, errs := r.summary()
	var order []string
	for _, f := range funcs {
		order = append(order, f.Function)
	}
	if fmt.Sprint(order) != "[initiateAuthentication handleNotification cancelSession]" {
		t.Errorf("functions %v", order)
	}
	if funcs[0].Count != 2 {
		t.Errorf("initiateAuthentication count %d, want 2", funcs[0].Count)
	}
	if whole.Count != 1 || whole.Max != 10 {
		t.Errorf("whole %+v", whole)
	}
	if len(errs) != 1 || errs[0].Count != 2 || errs[0].Key != "authenticateClient 8.2.6/3.8 Failed" {
		t.Errorf("errors %+v", errs)
	}
	if okN, failN := r.counts(); okN != 1 || failN != 2 || r.crossed != 1 {
		t.Errorf("counts %d %d crossed %d", okN, failN, r.crossed)
	}
}
