package loadgen

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/smdpp/smdpp/activation"
	"github.com/smdpp/smdpp/apdu"
	"github.com/smdpp/smdpp/es9plus/wire"
	"github.com/smdpp/smdpp/euicc"
	"github.com/smdpp/smdpp/lpa"
	"github.com/smdpp/smdpp/rsp"
	"github.com/smdpp/smdpp/status"
	"github.com/smdpp/smdpp/web"
)

// Mode is what each unit of work of a run is.
type Mode string

// The modes: a full download (SGP.22 §3.1.3, every ES9+ function including
// handleNotification), or ES9+.InitiateAuthentication alone, which leaves one open RSP session
// on the server per call (to measure what sessions cost in memory).
const (
	ModeDownload     Mode = "download"
	ModeInitiateOnly Mode = "initiate-only"
)

// Bounds of a run: every request loop stops by itself.
const (
	MaxConcurrency = 4096
	MaxCount       = 10000000
	MaxDuration    = time.Hour
	MaxTimeout     = 5 * time.Minute
)

// Config is one run. Fill it in and call Validate (Run does).
type Config struct {
	// Targets are the host:port addresses of the server's HTTPS listeners, loopback only. With
	// several, each download sends its successive ES9+ calls to successive targets, starting
	// from a different one per download.
	Targets []string
	// RootCAs verifies the server's TLS certificate (CERT.DP.TLS), normally the CI of the
	// server's NIST PKI.
	RootCAs *x509.CertPool
	Mode    Mode
	// Protocol is HTTP2 or HTTP11; both keep connections alive.
	Protocol Protocol
	// Concurrency is the number of downloads (or calls) in flight at once.
	Concurrency int
	// Clients is the number of independent HTTP clients the workers share, each with its own
	// keep-alive connection(s) to every target: Concurrency (the default, 0) gives each worker
	// its own, as each device has its own connection; 1 multiplexes every download over one
	// HTTP/2 connection per target.
	Clients int
	// Count is the number of downloads (or initiateAuthentication calls) to run, 1 to MaxCount;
	// a download run needs as many Codes.
	Count int
	// Duration stops a run early: no new download starts after it (1s to MaxDuration).
	Duration time.Duration
	// Rate, when positive, caps the starts per second (to measure latency below the peak).
	Rate float64
	// Timeout bounds each ES9+ request and ES10 call (1s to MaxTimeout).
	Timeout time.Duration

	// Authority and EUICCs are the virtual eUICCs; download i uses EUICCs[i mod len], each time
	// as a new, empty card.
	Authority *Authority
	EUICCs    []Identity
	// Codes are the released orders, one per download.
	Codes []activation.Code
	// Address is the smdpAddress of initiate-only calls (the server's --address).
	Address string

	// ServerPIDs are server processes on this machine to sample in /proc before and after.
	ServerPIDs []int
	// Progress, when set, is called about once a second while the run lasts.
	Progress func(Progress)
}

// Validate checks the configuration without touching the network.
func (c *Config) Validate() error {
	var errs []error
	if len(c.Targets) == 0 {
		errs = append(errs, errors.New("no target"))
	}
	if len(c.Targets) > 64 {
		errs = append(errs, errors.New("more than 64 targets"))
	}
	for _, t := range c.Targets {
		if err := CheckLoopback(t); err != nil {
			errs = append(errs, err)
		}
	}
	if c.RootCAs == nil {
		errs = append(errs, errors.New("no TLS trust anchor (RootCAs)"))
	}
	if c.Protocol != HTTP2 && c.Protocol != HTTP11 {
		errs = append(errs, fmt.Errorf("protocol %q is not %q or %q", c.Protocol, HTTP2, HTTP11))
	}
	if c.Concurrency < 1 || c.Concurrency > MaxConcurrency {
		errs = append(errs, fmt.Errorf("concurrency %d is not between 1 and %d", c.Concurrency, MaxConcurrency))
	}
	if c.Clients < 0 || c.Clients > c.Concurrency {
		errs = append(errs, fmt.Errorf("clients %d is not between 1 and the concurrency %d", c.Clients, c.Concurrency))
	}
	if c.Count < 1 || c.Count > MaxCount {
		errs = append(errs, fmt.Errorf("count %d is not between 1 and %d", c.Count, MaxCount))
	}
	if c.Duration < time.Second || c.Duration > MaxDuration {
		errs = append(errs, fmt.Errorf("duration %v is not between 1s and %v", c.Duration, MaxDuration))
	}
	if c.Timeout < time.Second || c.Timeout > MaxTimeout {
		errs = append(errs, fmt.Errorf("timeout %v is not between 1s and %v", c.Timeout, MaxTimeout))
	}
	if c.Rate < 0 || math.IsNaN(c.Rate) || math.IsInf(c.Rate, 0) {
		errs = append(errs, fmt.Errorf("rate %v is not a positive number", c.Rate))
	}
	if c.Authority == nil || len(c.EUICCs) == 0 {
		errs = append(errs, errors.New("no virtual eUICC identities"))
	}
	switch c.Mode {
	case ModeDownload:
		if len(c.Codes) < c.Count {
			errs = append(errs, fmt.Errorf("count %d needs as many released orders; %d given", c.Count, len(c.Codes)))
		}
	case ModeInitiateOnly:
		if c.Address == "" {
			errs = append(errs, errors.New("initiate-only needs the SM-DP+ address"))
		}
	default:
		errs = append(errs, fmt.Errorf("mode %q is not %q or %q", c.Mode, ModeDownload, ModeInitiateOnly))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("loadgen: invalid configuration: %w", err)
	}
	return nil
}

// Progress is the state of a run, reported about once a second.
type Progress struct {
	Elapsed   time.Duration
	Succeeded int
	Failed    int
	InFlight  int
	// Rate is the successes per second over the last interval.
	Rate float64
	// ServerCPU is the CPU the server processes used over the last interval, in cores
	// (1.0 = one core busy); -1 when no server PID is given.
	ServerCPU float64
}

// TargetCount is how many ES9+ requests one target received.
type TargetCount struct {
	Target   string `json:"target"`
	Requests int64  `json:"requests"`
}

// ServerUsage is what /proc says the server processes spent during the run.
type ServerUsage struct {
	PIDs []int `json:"pids"`
	// CPU is the CPU time of all of them over the run, in seconds; Cores the same divided by the
	// run's duration.
	CPU   float64 `json:"cpu_s"`
	Cores float64 `json:"cores"`
	// PerUnit is CPU per successful download (or call), in milliseconds; FloorRatio is PerUnit
	// over the crypto floor (downloads only).
	PerUnit    float64 `json:"cpu_per_unit_ms"`
	FloorRatio float64 `json:"floor_ratio,omitempty"`
	// RSS is the sum of VmRSS before and after the run; HWM the sum of VmHWM after it.
	RSSBefore int64 `json:"rss_before_bytes"`
	RSSAfter  int64 `json:"rss_after_bytes"`
	HWM       int64 `json:"hwm_bytes"`
	// RSSPerUnit is (RSSAfter − RSSBefore) per successful unit: per open session in
	// initiate-only mode.
	RSSPerUnit float64 `json:"rss_per_unit_bytes"`
}

// Report is the outcome of a run.
type Report struct {
	Mode        Mode     `json:"mode"`
	Protocol    Protocol `json:"protocol"`
	Targets     []string `json:"targets"`
	Concurrency int      `json:"concurrency"`
	Clients     int      `json:"clients"`
	Rate        float64  `json:"rate_limit,omitempty"`
	EUICCs      int      `json:"euiccs"`
	Elapsed     float64  `json:"elapsed_s"`
	Attempted   int      `json:"attempted"`
	Succeeded   int      `json:"succeeded"`
	Failed      int      `json:"failed"`
	// PerSecond is successful downloads (or calls) per second of the run.
	PerSecond float64 `json:"per_second"`
	// Functions are the latencies of successful ES9+ requests, by function.
	Functions []FunctionLatency `json:"functions"`
	// Whole is the latency of a whole successful download (card time included), or of one
	// initiateAuthentication call.
	Whole  Latency      `json:"whole"`
	Errors []ErrorCount `json:"errors"`
	// CrossedReplicas counts downloads whose calls went to more than one target.
	CrossedReplicas int           `json:"crossed_replicas"`
	PerTarget       []TargetCount `json:"per_target"`
	Server          *ServerUsage  `json:"server,omitempty"`
	// LoadgenCPU is the CPU time this process spent during the run, in seconds: the virtual
	// eUICCs, the LPA and the client side of TLS, which share the machine with the server.
	LoadgenCPU float64 `json:"loadgen_cpu_s"`
	// OtherCPU is the CPU, in cores, that other processes of this machine used during the run
	// (from /proc/stat): how much the measurement was disturbed.
	OtherCPU float64 `json:"other_cpu_cores"`
	Floor    *Floor  `json:"crypto_floor,omitempty"`
	// Warnings are what the run could not measure.
	Warnings []string `json:"warnings,omitempty"`
}

// Run runs the configured load and reports it. It returns an error only when the run could
// not start; failed downloads are counted in the Report.
func Run(ctx context.Context, cfg Config) (*Report, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	clients := cfg.Clients
	if clients == 0 {
		clients = cfg.Concurrency
	}
	transports := make([]*http.Transport, clients)
	for i := range transports {
		transports[i] = newTransport(&tls.Config{RootCAs: cfg.RootCAs}, cfg.Protocol, cfg.Concurrency/clients)
		defer transports[i].CloseIdleConnections()
	}
	perTarget := make([]atomic.Int64, len(cfg.Targets))

	var templates []*euicc.ISDR
	if cfg.Mode == ModeDownload {
		templates = make([]*euicc.ISDR, len(cfg.EUICCs))
		for i, id := range cfg.EUICCs {
			card, err := euicc.New(cfg.Authority.Config(id))
			if err != nil {
				return nil, err
			}
			templates[i] = card
		}
	}
	var info1 []byte
	if cfg.Mode == ModeInitiateOnly {
		var err error
		if info1, err = euiccInfo1(ctx, cfg.Authority.Config(cfg.EUICCs[0])); err != nil {
			return nil, err
		}
	}

	before, err := sampleServers(cfg.ServerPIDs)
	if err != nil {
		return nil, err
	}
	self0, _ := ReadProcess(os.Getpid())
	machine0, _ := MachineCPU()
	rec := newRecorder()
	var (
		next     atomic.Int64
		inFlight atomic.Int64
		wg       sync.WaitGroup
	)
	start := time.Now()
	stopAt := start.Add(cfg.Duration)

	// work runs unit i over transport, the worker's client; initiate-only calls go through the
	// worker's rotator calls, so successive calls alternate between targets.
	work := func(i int, transport *http.Transport, calls *rotator) {
		switch cfg.Mode {
		case ModeDownload:
			r := &rotator{base: transport, targets: cfg.Targets, perTarget: perTarget}
			r.next.Store(uint64(i))
			res, err := download(ctx, cfg, templates, r, i)
			rec.download(res.Timings, res.Total, err, r.replicas())
		case ModeInitiateOnly:
			t, err := initiate(ctx, calls.client(), cfg.Address, info1, cfg.Timeout)
			var timings []lpa.Timing
			if err == nil {
				timings = []lpa.Timing{{Function: lpa.FunctionInitiateAuthentication, Duration: t}}
			}
			rec.download(timings, t, err, 1)
		}
	}
	for w := range cfg.Concurrency {
		transport := transports[w%clients]
		calls := &rotator{base: transport, targets: cfg.Targets, perTarget: perTarget}
		calls.next.Store(uint64(w))
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= cfg.Count || ctx.Err() != nil || time.Now().After(stopAt) {
					return
				}
				if cfg.Rate > 0 {
					at := start.Add(time.Duration(float64(i) / cfg.Rate * float64(time.Second)))
					if at.After(stopAt) {
						return
					}
					if !sleepUntil(ctx, at) {
						return
					}
				}
				inFlight.Add(1)
				work(i, transport, calls)
				inFlight.Add(-1)
			}
		}()
	}

	done := make(chan struct{})
	var progressDone sync.WaitGroup
	if cfg.Progress != nil {
		progressDone.Add(1)
		go func() {
			defer progressDone.Done()
			reportProgress(done, start, rec, &inFlight, cfg.ServerPIDs, cfg.Progress)
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	close(done)
	progressDone.Wait()
	// A server that died during the run loses its usage figures, not the whole report.
	after, afterErr := sampleServers(cfg.ServerPIDs)

	self1, _ := ReadProcess(os.Getpid())
	machine1, _ := MachineCPU()
	ok, failed := rec.counts()
	funcs, whole, errs := rec.summary()
	if errs == nil {
		errs = []ErrorCount{}
	}
	rep := &Report{
		Mode: cfg.Mode, Protocol: cfg.Protocol, Targets: cfg.Targets, Concurrency: cfg.Concurrency, Clients: clients,
		Rate: cfg.Rate, EUICCs: len(cfg.EUICCs),
		Elapsed: math.Round(elapsed.Seconds()*1000) / 1000, Attempted: ok + failed, Succeeded: ok, Failed: failed,
		PerSecond: math.Round(float64(ok)/elapsed.Seconds()*10) / 10,
		Functions: funcs, Whole: whole, Errors: errs, CrossedReplicas: rec.crossed,
		LoadgenCPU: math.Round((self1.CPU-self0.CPU).Seconds()*100) / 100,
	}
	for i, t := range cfg.Targets {
		rep.PerTarget = append(rep.PerTarget, TargetCount{Target: t, Requests: perTarget[i].Load()})
	}
	other := machine1 - machine0 - (self1.CPU - self0.CPU)
	if afterErr != nil {
		rep.Warnings = append(rep.Warnings, "no server usage: "+afterErr.Error())
	} else if len(cfg.ServerPIDs) > 0 {
		rep.Server = usage(cfg.ServerPIDs, before, after, elapsed, ok)
		other -= time.Duration(rep.Server.CPU * float64(time.Second))
	}
	if machine1 > 0 {
		rep.OtherCPU = math.Round(max(other, 0).Seconds()/elapsed.Seconds()*100) / 100
	}
	return rep, nil
}

// AttachFloor adds the crypto floor to a report and sets the server's CPU per download against it.
func (r *Report) AttachFloor(f *Floor) {
	r.Floor = f
	if r.Server != nil && f != nil && f.PerDownload > 0 && r.Mode == ModeDownload {
		r.Server.FloorRatio = math.Round(r.Server.PerUnit/f.PerDownload*100) / 100
	}
}

func sleepUntil(ctx context.Context, at time.Time) bool {
	d := time.Until(at)
	if d <= 0 {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// download runs download i: a new card with identity i mod len (a Fresh copy of that
// identity's template, so the identity is checked once per run, not per download), the test
// LPA over the rotator, the whole of SGP.22 §3.1.3 with the PIR delivered by handleNotification.
func download(ctx context.Context, cfg Config, templates []*euicc.ISDR, r *rotator, i int) (*lpa.Result, error) {
	res := &lpa.Result{}
	card := templates[i%len(templates)].Fresh()
	es10, err := apdu.OpenES10(ctx, apdu.NewCardTransport(apdu.NewCard(card)))
	if err != nil {
		return res, err
	}
	l, err := lpa.New(es10, lpa.WithHTTPClient(r.client()), lpa.WithTimeout(cfg.Timeout))
	if err != nil {
		return res, err
	}
	res, err = l.Download(ctx, cfg.Codes[i], lpa.DownloadOptions{})
	if err == nil && (!res.Installed || !res.NotificationDelivered) {
		err = errors.New("download ended without an installed profile and a delivered notification")
	}
	return res, err
}

// euiccInfo1 asks a virtual eUICC for its EUICCInfo1 (ES10b.GetEUICCInfo), the same for every
// card of one PKI, to send with each initiate-only call.
func euiccInfo1(ctx context.Context, cfg euicc.Config) ([]byte, error) {
	card, err := euicc.New(cfg)
	if err != nil {
		return nil, err
	}
	es10, err := apdu.OpenES10(ctx, apdu.NewCardTransport(apdu.NewCard(card)))
	if err != nil {
		return nil, err
	}
	req, err := (&rsp.GetEuiccInfo1Request{}).Marshal()
	if err != nil {
		return nil, err
	}
	info1, err := es10.Call(ctx, req)
	if err != nil {
		return nil, fmt.Errorf("loadgen: ES10b.GetEUICCInfo: %w", err)
	}
	return info1, nil
}

// initiate sends one ES9+.InitiateAuthentication (SGP.22 §5.6.1) with a fresh euiccChallenge
// and returns its latency; failures come back as lpa's ServerError and TransportError, so
// ErrorKey groups them like a download's.
func initiate(ctx context.Context, client *http.Client, address string, info1 []byte, timeout time.Duration) (time.Duration, error) {
	const fn = lpa.FunctionInitiateAuthentication
	challenge := make([]byte, 16)
	rand.Read(challenge)
	body, err := json.Marshal(&wire.InitiateAuthenticationRequest{EUICCChallenge: challenge, EUICCInfo1: info1, SMDPAddress: address})
	if err != nil {
		return 0, err
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	u := url.URL{Scheme: "https", Host: address, Path: "/gsma/rsp2/es9plus/" + fn}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u.String(), bytes.NewReader(body))
	if err != nil {
		return 0, &lpa.TransportError{Function: fn, Err: err}
	}
	req.Header.Set("User-Agent", lpa.UserAgent)
	req.Header.Set(web.AdminProtocolHeader, lpa.AdminProtocol)
	req.Header.Set("Content-Type", "application/json")
	start := time.Now()
	resp, err := client.Do(req)
	if err != nil {
		return 0, &lpa.TransportError{Function: fn, Err: err}
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	resp.Body.Close()
	d := time.Since(start)
	if err != nil {
		return d, &lpa.TransportError{Function: fn, Err: err}
	}
	if resp.StatusCode != http.StatusOK {
		return d, &lpa.TransportError{Function: fn, StatusCode: resp.StatusCode, Err: errors.New(http.StatusText(resp.StatusCode))}
	}
	var out wire.InitiateAuthenticationResponse
	if err := json.Unmarshal(data, &out); err != nil {
		return d, &lpa.TransportError{Function: fn, Err: fmt.Errorf("response is not JSON: %w", err)}
	}
	fes := out.Header.FunctionExecutionStatus
	switch fes.Status {
	case status.ExecutedSuccess, status.ExecutedWithWarning:
	default:
		se := &lpa.ServerError{Function: fn, Status: fes.Status}
		if sc := fes.StatusCodeData; sc != nil {
			se.SubjectCode, se.ReasonCode, se.Message = sc.SubjectCode, sc.ReasonCode, sc.Message
		}
		return d, se
	}
	if len(out.TransactionID) == 0 {
		return d, fmt.Errorf("lpa: ES9+ %s: %w: no transactionId", fn, lpa.ErrMalformedResponse)
	}
	return d, nil
}

func sampleServers(pids []int) ([]ProcessSample, error) {
	out := make([]ProcessSample, 0, len(pids))
	for _, pid := range pids {
		s, err := ReadProcess(pid)
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, nil
}

func usage(pids []int, before, after []ProcessSample, elapsed time.Duration, units int) *ServerUsage {
	u := &ServerUsage{PIDs: pids}
	var cpu time.Duration
	for i := range before {
		cpu += after[i].CPU - before[i].CPU
		u.RSSBefore += before[i].RSS
		u.RSSAfter += after[i].RSS
		u.HWM += after[i].HWM
	}
	u.CPU = cpu.Seconds()
	u.Cores = math.Round(cpu.Seconds()/elapsed.Seconds()*100) / 100
	if units > 0 {
		u.PerUnit = math.Round(float64(cpu)/float64(units)/1e3) / 1e3
		u.RSSPerUnit = math.Round(float64(u.RSSAfter-u.RSSBefore) / float64(units))
	}
	return u
}

func reportProgress(done <-chan struct{}, start time.Time, rec *recorder, inFlight *atomic.Int64, pids []int, report func(Progress)) {
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	lastOK, lastAt := 0, start
	lastCPU := serverCPU(pids)
	for {
		select {
		case <-done:
			return
		case now := <-tick.C:
			ok, failed := rec.counts()
			p := Progress{Elapsed: now.Sub(start).Round(time.Second), Succeeded: ok, Failed: failed, InFlight: int(inFlight.Load()), ServerCPU: -1}
			if dt := now.Sub(lastAt).Seconds(); dt > 0 {
				p.Rate = float64(ok-lastOK) / dt
				if len(pids) > 0 {
					cpu := serverCPU(pids)
					p.ServerCPU = (cpu - lastCPU).Seconds() / dt
					lastCPU = cpu
				}
			}
			lastOK, lastAt = ok, now
			report(p)
		}
	}
}

func serverCPU(pids []int) time.Duration {
	var total time.Duration
	for _, pid := range pids {
		if s, err := ReadProcess(pid); err == nil {
			total += s.CPU
		}
	}
	return total
}
