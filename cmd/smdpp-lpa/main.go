// Command smdpp-lpa is a test LPA (package lpa): it downloads a Profile from an SM-DP+ into a
// virtual eUICC, and delivers the card's pending notifications, printing one lpac-style JSON
// line with the outcome.
//
//	smdpp-lpa download [flags] 'LPA:1$127.0.0.1:8443$MATCHING-ID'
//	smdpp-lpa notification process [flags]
//
// The card is either a virtual eUICC in this process (--card-pki DIR --eid EID, the layout
// `smdpp pki init` writes, with --card-state FILE to keep its Profiles and notifications between
// runs) or a card process speaking lpac's stdio APDU protocol on its standard input and output
// (--card-stdio 'smdpp-euicc --pki DIR --eid EID --state FILE').
//
// The result line is {"type":"lpa","payload":{"code":0,"message":"success","data":{…}}} on
// success (exit status 0) and {"type":"lpa","payload":{"code":-1,"message":ERROR,"data":{…}}}
// on failure (exit status 1). This package only wires the others together.
package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/smdpp/smdpp/activation"
	"github.com/smdpp/smdpp/apdu"
	"github.com/smdpp/smdpp/euicc"
	"github.com/smdpp/smdpp/lpa"
)

const usage = `usage:
  smdpp-lpa download [flags] ACTIVATION-CODE
  smdpp-lpa notification process [flags]

ACTIVATION-CODE is 1$SM-DP+ address$matching ID[$OID[$1]], with or without the LPA: prefix;
quote it for the shell.

flags (before or after the activation code):
  --ca FILE                  PEM CA certificate(s) the SM-DP+ TLS certificate must chain to
                             (default: the system roots)
  --insecure                 accept any SM-DP+ TLS certificate, as lpac does
  --confirmation-code CODE   confirmation code, when the SM-DP+ requires one
  --imei DIGITS              IMEI (15) or IMEISV (16 digits) to send in deviceInfo
  --timeout DURATION         bound on each ES9+ request and ES10 call (default 30s)
  --card-pki DIR --eid EID   in-process virtual eUICC from a development PKI directory
  --card-state FILE          with --card-pki: load the card's Profiles and notifications from
                             FILE if it exists, and save them there afterwards
  --card-stdio 'CMD ARGS'    run CMD (split on spaces) as the card, speaking lpac's stdio APDU
                             protocol on its standard input and output
  -v                         log each step to standard error
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// options are the command-line flags.
type options struct {
	ca, confirmationCode, imei string
	insecure, verbose          bool
	timeout                    time.Duration
	cardPKI, eid, cardState    string
	cardStdio                  string
	positional                 []string
}

// run executes one command and returns the exit status: 0 success, 1 failure.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 1
	}
	cmd := args[0]
	args = args[1:]
	switch cmd {
	case "download":
	case "notification":
		if len(args) == 0 || args[0] != "process" {
			fmt.Fprint(stderr, usage)
			return 1
		}
		args = args[1:]
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	default:
		fmt.Fprintf(stderr, "smdpp-lpa: unknown command %q\n%s", cmd, usage)
		return 1
	}
	opts, err := parseFlags(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		fmt.Fprint(stdout, usage)
		return 0
	}
	if err != nil {
		fmt.Fprintf(stderr, "smdpp-lpa: %v\n", err)
		return 1
	}
	var out payload
	if cmd == "download" {
		out = download(ctx, opts, stderr)
	} else {
		out = processNotifications(ctx, opts, stderr)
	}
	if err := writeLine(stdout, out); err != nil {
		fmt.Fprintf(stderr, "smdpp-lpa: %v\n", err)
		return 1
	}
	if out.Code != 0 {
		return 1
	}
	return 0
}

// parseFlags reads the flags, which may come before and after the positional arguments.
func parseFlags(args []string, stderr io.Writer) (*options, error) {
	o := &options{}
	fs := flag.NewFlagSet("smdpp-lpa", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&o.ca, "ca", "", "")
	fs.BoolVar(&o.insecure, "insecure", false, "")
	fs.StringVar(&o.confirmationCode, "confirmation-code", "", "")
	fs.StringVar(&o.imei, "imei", "", "")
	fs.DurationVar(&o.timeout, "timeout", lpa.DefaultTimeout, "")
	fs.StringVar(&o.cardPKI, "card-pki", "", "")
	fs.StringVar(&o.eid, "eid", "", "")
	fs.StringVar(&o.cardState, "card-state", "", "")
	fs.StringVar(&o.cardStdio, "card-stdio", "", "")
	fs.BoolVar(&o.verbose, "v", false, "")
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		if fs.NArg() == 0 {
			break
		}
		o.positional = append(o.positional, fs.Arg(0))
		args = fs.Args()[1:]
	}
	switch {
	case o.ca != "" && o.insecure:
		return nil, errors.New("--ca and --insecure exclude each other")
	case (o.cardPKI != "") == (o.cardStdio != ""):
		return nil, errors.New("give exactly one card: --card-pki DIR --eid EID, or --card-stdio CMD")
	case o.cardPKI != "" && o.eid == "":
		return nil, errors.New("--card-pki needs --eid")
	case o.cardPKI == "" && (o.eid != "" || o.cardState != ""):
		return nil, errors.New("--eid and --card-state go with --card-pki")
	case o.cardStdio != "" && len(strings.Fields(o.cardStdio)) == 0:
		return nil, errors.New("--card-stdio: empty command")
	}
	return o, nil
}

// payload is the "payload" of lpac's final output line.
type payload struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
	Data    any    `json:"data"`
}

func writeLine(w io.Writer, p payload) error {
	b, err := json.Marshal(struct {
		Type    string  `json:"type"`
		Payload payload `json:"payload"`
	}{"lpa", p})
	if err != nil {
		return err
	}
	_, err = w.Write(append(b, '\n'))
	return err
}

func failure(err error, data map[string]any) payload {
	if data == nil {
		data = map[string]any{}
	}
	var (
		se *lpa.ServerError
		te *lpa.TransportError
		ce *lpa.CardError
		ie *lpa.InstallError
	)
	switch {
	case errors.As(err, &se):
		data["function"], data["status"] = se.Function, se.Status
		data["subjectCode"], data["reasonCode"] = se.SubjectCode, se.ReasonCode
		if se.SubjectIdentifier != "" {
			data["subjectIdentifier"] = se.SubjectIdentifier
		}
	case errors.As(err, &te):
		data["function"] = te.Function
		if te.StatusCode != 0 {
			data["httpStatus"] = te.StatusCode
		}
	case errors.As(err, &ce):
		data["function"] = ce.Function
		if sw, ok := apdu.StatusWord(err); ok {
			data["sw"] = fmt.Sprintf("%04X", sw)
		}
	}
	if errors.As(err, &ie) {
		data["bppCommandId"], data["errorReason"] = ie.BppCommandID, ie.ErrorReason
	}
	return payload{Code: -1, Message: err.Error(), Data: data}
}

// newLPA opens the card and returns an LPA on it, and a function that releases the card.
func newLPA(ctx context.Context, o *options, stderr io.Writer) (*lpa.LPA, func() error, error) {
	tlsConfig := &tls.Config{}
	switch {
	case o.insecure:
		tlsConfig.InsecureSkipVerify = true
	case o.ca != "":
		pemData, err := os.ReadFile(o.ca)
		if err != nil {
			return nil, nil, err
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pemData) {
			return nil, nil, fmt.Errorf("--ca %s: no PEM certificate", o.ca)
		}
		tlsConfig.RootCAs = pool
	}
	level := slog.LevelInfo
	if o.verbose {
		level = slog.LevelDebug
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))

	es10, release, err := openCard(ctx, o, log)
	if err != nil {
		return nil, nil, err
	}
	l, err := lpa.New(es10, lpa.WithTLSConfig(tlsConfig), lpa.WithTimeout(o.timeout), lpa.WithLogger(log))
	if err != nil {
		return nil, nil, errors.Join(err, release())
	}
	return l, release, nil
}

// openCard opens an ES10 client to the card the flags name.
func openCard(ctx context.Context, o *options, log *slog.Logger) (*apdu.ES10, func() error, error) {
	if o.cardStdio != "" {
		return openStdioCard(ctx, strings.Fields(o.cardStdio), o.timeout)
	}
	cfg, err := euicc.LoadDir(o.cardPKI, o.eid)
	if err != nil {
		return nil, nil, err
	}
	cfg.Logger = log
	if o.cardState != "" {
		b, err := os.ReadFile(o.cardState)
		switch {
		case err == nil:
			var st euicc.State
			if err := json.Unmarshal(b, &st); err != nil {
				return nil, nil, fmt.Errorf("--card-state %s: %w", o.cardState, err)
			}
			cfg.State = &st
		case !errors.Is(err, os.ErrNotExist):
			return nil, nil, err
		}
	}
	isdr, err := euicc.New(cfg)
	if err != nil {
		return nil, nil, err
	}
	es10, err := apdu.OpenES10(ctx, apdu.NewCardTransport(apdu.NewCard(isdr)))
	if err != nil {
		return nil, nil, err
	}
	release := func() error {
		err := es10.Close(context.WithoutCancel(ctx))
		if o.cardState == "" {
			return err
		}
		b, merr := json.MarshalIndent(isdr.State(), "", "  ")
		if merr != nil {
			return errors.Join(err, merr)
		}
		return errors.Join(err, os.WriteFile(o.cardState, append(b, '\n'), 0o600))
	}
	return es10, release, nil
}

// openStdioCard starts argv as a card process and opens an ES10 client to it over lpac's stdio
// APDU protocol (the process reads requests on its standard input and answers on its standard
// output; its standard error is passed through).
func openStdioCard(ctx context.Context, argv []string, timeout time.Duration) (*apdu.ES10, func() error, error) {
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stderr = os.Stderr
	cmd.WaitDelay = 5 * time.Second
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, nil, fmt.Errorf("--card-stdio: %w", err)
	}
	t := apdu.NewStdioTransport(stdout, stdin)
	stopProcess := func() error {
		stdin.Close()
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case err := <-done:
			return err
		case <-time.After(timeout):
			_ = cmd.Process.Kill()
			return fmt.Errorf("--card-stdio: card process did not exit: %w", <-done)
		}
	}
	cctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if err := t.Connect(cctx); err != nil {
		return nil, nil, errors.Join(err, stopProcess())
	}
	es10, err := apdu.OpenES10(cctx, t)
	if err != nil {
		return nil, nil, errors.Join(err, stopProcess())
	}
	release := func() error {
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), timeout)
		defer cancel()
		err := es10.Close(rctx)
		if err == nil {
			err = t.Disconnect(rctx)
		}
		return errors.Join(err, stopProcess())
	}
	return es10, release, nil
}

func download(ctx context.Context, o *options, stderr io.Writer) payload {
	if len(o.positional) != 1 {
		return payload{Code: -1, Message: "download needs exactly one activation code", Data: nil}
	}
	code, err := activation.Parse(o.positional[0])
	if err != nil {
		return failure(err, nil)
	}
	l, release, err := newLPA(ctx, o, stderr)
	if err != nil {
		return failure(err, nil)
	}
	res, err := l.Download(ctx, code, lpa.DownloadOptions{ConfirmationCode: o.confirmationCode, IMEI: o.imei})
	if rerr := release(); rerr != nil {
		fmt.Fprintf(stderr, "smdpp-lpa: releasing the card: %v\n", rerr)
	}
	data := resultData(res)
	if err != nil {
		if res.CancelErr != nil {
			data["cancelError"] = res.CancelErr.Error()
		}
		return failure(err, data)
	}
	return payload{Code: 0, Message: "success", Data: data}
}

// resultData is the "data" object of a download: lpac's fields (seqNumber, iccid, and for a
// failed installation bppCommandId, errorReason) and ours.
func resultData(r *lpa.Result) map[string]any {
	d := map[string]any{"totalMs": ms(r.Total)}
	if r.TransactionID != nil {
		d["transactionId"] = fmt.Sprintf("%X", r.TransactionID)
	}
	if r.ICCID != "" {
		d["iccid"], d["profileName"], d["serviceProviderName"] = r.ICCID, r.ProfileName, r.ServiceProviderName
	}
	if r.PIR {
		d["seqNumber"], d["installed"] = r.SeqNumber, r.Installed
		d["notificationDelivered"], d["notificationRemoved"] = r.NotificationDelivered, r.NotificationRemoved
		if r.AID != nil {
			d["aid"] = fmt.Sprintf("%X", r.AID)
		}
		if r.BppCommandID != nil {
			d["bppCommandId"], d["errorReason"] = *r.BppCommandID, *r.ErrorReason
		}
	}
	if r.Cancelled {
		d["cancelled"] = true
	}
	if len(r.Timings) > 0 {
		t := map[string]float64{}
		for _, x := range r.Timings {
			t[x.Function] += ms(x.Duration)
		}
		d["timingsMs"] = t
	}
	return d
}

func processNotifications(ctx context.Context, o *options, stderr io.Writer) payload {
	if len(o.positional) != 0 {
		return payload{Code: -1, Message: "notification process takes no arguments"}
	}
	l, release, err := newLPA(ctx, o, stderr)
	if err != nil {
		return failure(err, nil)
	}
	results, err := l.ProcessNotifications(ctx)
	if rerr := release(); rerr != nil {
		fmt.Fprintf(stderr, "smdpp-lpa: releasing the card: %v\n", rerr)
	}
	list := make([]map[string]any, 0, len(results))
	for _, r := range results {
		m := map[string]any{"seqNumber": r.SeqNumber, "profileManagementOperation": r.Operation,
			"notificationAddress": r.Address, "delivered": r.Delivered, "removed": r.Removed}
		if r.Err != nil {
			m["error"] = r.Err.Error()
		}
		list = append(list, m)
	}
	if err != nil {
		return failure(err, map[string]any{"notifications": list})
	}
	return payload{Code: 0, Message: "success", Data: map[string]any{"notifications": list}}
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
