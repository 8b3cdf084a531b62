package loadgen

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net"
	"os"
	"slices"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/smdpp/smdpp/lpa"
)

// Percentile returns the p-th percentile (0 < p ≤ 100) of sorted by the nearest-rank method:
// the smallest sample with at least p percent of the samples at or below it. It returns 0 for
// no samples.
func Percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	if p <= 0 {
		return sorted[0]
	}
	rank := int(math.Ceil(p / 100 * float64(len(sorted))))
	if rank < 1 {
		rank = 1
	}
	if rank > len(sorted) {
		rank = len(sorted)
	}
	return sorted[rank-1]
}

// Latency summarises samples in milliseconds.
type Latency struct {
	Count int     `json:"count"`
	Mean  float64 `json:"mean_ms"`
	P50   float64 `json:"p50_ms"`
	P95   float64 `json:"p95_ms"`
	P99   float64 `json:"p99_ms"`
	Max   float64 `json:"max_ms"`
}

// Summarize computes a Latency; it sorts samples in place.
func Summarize(samples []time.Duration) Latency {
	if len(samples) == 0 {
		return Latency{}
	}
	slices.Sort(samples)
	var sum time.Duration
	for _, s := range samples {
		sum += s
	}
	return Latency{
		Count: len(samples),
		Mean:  ms(sum / time.Duration(len(samples))),
		P50:   ms(Percentile(samples, 50)),
		P95:   ms(Percentile(samples, 95)),
		P99:   ms(Percentile(samples, 99)),
		Max:   ms(samples[len(samples)-1]),
	}
}

func ms(d time.Duration) float64 { return math.Round(float64(d)/1e3) / 1e3 }

// recorder collects the samples and failures of a run; it is safe for concurrent use.
type recorder struct {
	mu        sync.Mutex
	functions map[string][]time.Duration
	whole     []time.Duration
	errors    map[string]int
	ok, fail  int
	crossed   int // downloads whose calls went to more than one target
}

func newRecorder() *recorder {
	return &recorder{functions: map[string][]time.Duration{}, errors: map[string]int{}}
}

// download records one finished download or, in initiate-only mode, one call: its successful
// ES9+ timings, its total when it succeeded, and its failure under ErrorKey.
func (r *recorder) download(timings []lpa.Timing, total time.Duration, err error, replicas int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, t := range timings {
		if !t.Failed {
			r.functions[t.Function] = append(r.functions[t.Function], t.Duration)
		}
	}
	if replicas > 1 {
		r.crossed++
	}
	if err != nil {
		r.fail++
		r.errors[ErrorKey(err)]++
		return
	}
	r.ok++
	r.whole = append(r.whole, total)
}

func (r *recorder) counts() (ok, fail int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.ok, r.fail
}

// ErrorCount is how often one kind of failure occurred.
type ErrorCount struct {
	Key   string `json:"key"`
	Count int    `json:"count"`
}

// FunctionLatency is the latency of one ES9+ function.
type FunctionLatency struct {
	Function string `json:"function"`
	Latency
}

// functionOrder is the order of the ES9+ functions in a download (SGP.22 §3.1.3).
var functionOrder = []string{
	lpa.FunctionInitiateAuthentication, lpa.FunctionAuthenticateClient,
	lpa.FunctionGetBoundProfilePackage, lpa.FunctionHandleNotification, lpa.FunctionCancelSession,
}

func (r *recorder) summary() (funcs []FunctionLatency, whole Latency, errs []ErrorCount) {
	r.mu.Lock()
	defer r.mu.Unlock()
	names := make([]string, 0, len(r.functions))
	for f := range r.functions {
		names = append(names, f)
	}
	sort.Slice(names, func(i, j int) bool {
		a, b := slices.Index(functionOrder, names[i]), slices.Index(functionOrder, names[j])
		if a != b {
			return uint(a) < uint(b) // unknown names (-1) last
		}
		return names[i] < names[j]
	})
	for _, f := range names {
		funcs = append(funcs, FunctionLatency{Function: f, Latency: Summarize(r.functions[f])})
	}
	for k, n := range r.errors {
		errs = append(errs, ErrorCount{Key: k, Count: n})
	}
	sort.Slice(errs, func(i, j int) bool {
		if errs[i].Count != errs[j].Count {
			return errs[i].Count > errs[j].Count
		}
		return errs[i].Key < errs[j].Key
	})
	return funcs, Summarize(r.whole), errs
}

// ErrorKey groups a failure for the report: an SGP.22 functionExecutionStatus by function,
// subjectCode and reasonCode ("authenticateClient 8.2.6/3.8 Failed"); a transport failure by
// function and HTTP status or network cause; a card or installation failure by ES10b function
// or errorReason.
func ErrorKey(err error) string {
	var (
		se *lpa.ServerError
		te *lpa.TransportError
		ce *lpa.CardError
		ie *lpa.InstallError
	)
	switch {
	case errors.As(err, &se):
		return fmt.Sprintf("%s %s/%s %s", se.Function, se.SubjectCode, se.ReasonCode, se.Status)
	case errors.As(err, &te):
		if te.StatusCode != 0 {
			return fmt.Sprintf("%s transport: HTTP %d", te.Function, te.StatusCode)
		}
		return fmt.Sprintf("%s transport: %s", te.Function, networkCause(te.Err))
	case errors.As(err, &ie):
		return fmt.Sprintf("install: bppCommandId %d errorReason %d", ie.BppCommandID, ie.ErrorReason)
	case errors.As(err, &ce):
		return fmt.Sprintf("card %s", ce.Function)
	case errors.Is(err, lpa.ErrMalformedResponse):
		return "malformed response"
	}
	msg := err.Error()
	if len(msg) > 80 {
		msg = msg[:80] + "…"
	}
	return "other: " + msg
}

// networkCause names a transport failure without the addresses and ports that would make every
// occurrence a group of its own.
func networkCause(err error) string {
	var ne net.Error
	switch {
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		return "timeout"
	case errors.Is(err, context.Canceled):
		return "cancelled"
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused"
	case errors.Is(err, syscall.ECONNRESET):
		return "connection reset"
	case errors.Is(err, ErrNotLoopback):
		return "target not loopback"
	case errors.Is(err, os.ErrDeadlineExceeded):
		return "timeout"
	}
	msg := err.Error()
	if i := strings.LastIndex(msg, ": "); i >= 0 {
		msg = msg[i+2:]
	}
	if len(msg) > 60 {
		msg = msg[:60] + "…"
	}
	return msg
}
