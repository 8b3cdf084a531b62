// Command smdpp-euicc is a virtual eUICC (package euicc) served on lpac's stdio APDU driver: it
// reads lpac's requests on its standard input and writes the replies on its standard output,
// so that lpac, run with LPAC_APDU=stdio, drives it as it drives a physical card.
//
//	smdpp-euicc --pki DIR [--eid EID] [--state FILE] [--free-nv BYTES] [flags]
//	smdpp-euicc --sgp26 DIR [--curve nist|brainpool] [--state FILE] [flags]
//
// --pki names a development PKI in the layout `smdpp pki init` writes (euicc/<EID>.crt and .key,
// eum.crt, ci.crt); --eid may be left out when the directory holds one eUICC. --sgp26 names a
// copy of the GSMA SGP.26 test certificates (testdata/certs) and makes the card the SGP.26 test
// eUICC, EID 89049032123451234512345678901235. With --state the card's Profiles and pending
// notifications are read from FILE (when it exists) and written back after every change, so
// one lpac run can install a Profile and the next one list, enable or delete it.
//
// lpac writes both its APDU requests and its own output lines (progress, result) on its standard
// output, so the two programs must be connected both ways; lpac's own lines are copied to the
// card's standard error (or to --lpac-output FILE). With a bash coprocess:
//
//	coproc CARD { smdpp-euicc --pki ./pki --eid 89049999000000000000000000000012 --state card.json; }
//	LPAC_APDU=stdio lpac chip info <&"${CARD[0]}" >&"${CARD[1]}"
//	wait
//
// or with two named pipes:
//
//	mkfifo to-card to-lpac
//	smdpp-euicc --pki ./pki --state card.json <to-card >to-lpac &
//	LPAC_APDU=stdio lpac profile download -a 'LPA:1$localhost:8443$MATCHING-ID' >to-card <to-lpac
//
// Our own test LPA starts it itself: smdpp-lpa download --card-stdio 'smdpp-euicc --pki ./pki
// --state card.json' 'LPA:1$…'. The card process ends when its standard input ends. This
// package only wires the others together.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/smdpp/smdpp/apdu"
	"github.com/smdpp/smdpp/devpki"
	"github.com/smdpp/smdpp/euicc"
	"github.com/smdpp/smdpp/rsp"
)

const usage = `usage:
  smdpp-euicc --pki DIR [--eid EID] [flags]
  smdpp-euicc --sgp26 DIR [--curve nist|brainpool] [flags]

Serves a virtual eUICC on lpac's stdio APDU protocol (LPAC_APDU=stdio): requests on standard
input, replies on standard output, lpac's other output lines copied to standard error.

flags:
  --pki DIR                 development PKI directory (smdpp pki init layout)
  --eid EID                 the eUICC of --pki (default: the only one in DIR/euicc)
  --sgp26 DIR               GSMA SGP.26 test certificates (testdata/certs): the SGP.26 test eUICC
  --curve nist|brainpool    with --sgp26 (default nist)
  --state FILE              load the card's Profiles and notifications from FILE if it exists,
                            and save them there after every change
  --free-nv BYTES           free non-volatile memory of the empty card (default 524288)
  --free-ram BYTES          free volatile memory reported (default 16384)
  --svn X.Y.Z               SGP.22 version reported (default 2.2.2)
  --default-smdp ADDRESS    default SM-DP+ address (ES10a)
  --accept-invalid-profile  install any decrypted profile package without SAIP checks
  --now RFC3339             fix the card's clock (default: the system clock)
  --lpac-output FILE        where lpac's own output lines go (default: standard error)
  -v                        log each ES10 function to standard error
`

// options are the command line, one field per flag.
type options struct {
	pki, eid, sgp26, curve, state, svn, defaultDp, now, lpacOutput string
	freeNV, freeRAM                                                int64
	acceptInvalid, verbose                                         bool
}

func parse(args []string, stderr io.Writer) (*options, error) {
	o := &options{}
	fs := flag.NewFlagSet("smdpp-euicc", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, usage) }
	fs.StringVar(&o.pki, "pki", "", "")
	fs.StringVar(&o.eid, "eid", "", "")
	fs.StringVar(&o.sgp26, "sgp26", "", "")
	fs.StringVar(&o.curve, "curve", "nist", "")
	fs.StringVar(&o.state, "state", "", "")
	fs.Int64Var(&o.freeNV, "free-nv", 0, "")
	fs.Int64Var(&o.freeRAM, "free-ram", 0, "")
	fs.StringVar(&o.svn, "svn", "", "")
	fs.StringVar(&o.defaultDp, "default-smdp", "", "")
	fs.BoolVar(&o.acceptInvalid, "accept-invalid-profile", false, "")
	fs.StringVar(&o.now, "now", "", "")
	fs.StringVar(&o.lpacOutput, "lpac-output", "", "")
	fs.BoolVar(&o.verbose, "v", false, "")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	switch {
	case fs.NArg() > 0:
		return nil, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	case (o.pki == "") == (o.sgp26 == ""):
		return nil, errors.New("give exactly one of --pki and --sgp26")
	case o.sgp26 != "" && o.eid != "":
		return nil, errors.New("--eid goes with --pki; the SGP.26 test eUICC has its own")
	case o.freeNV < 0 || o.freeRAM < 0:
		return nil, errors.New("--free-nv and --free-ram must not be negative")
	}
	return o, nil
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	if errors.Is(err, flag.ErrHelp) {
		os.Exit(0)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "smdpp-euicc:", err)
		os.Exit(1)
	}
}

// run serves the card described by args on in and out until in ends.
func run(ctx context.Context, args []string, in io.Reader, out, stderr io.Writer) error {
	o, err := parse(args, stderr)
	if err != nil {
		return err
	}
	level := slog.LevelWarn
	if o.verbose {
		level = slog.LevelDebug
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))

	cfg, err := loadConfig(o)
	if err != nil {
		return err
	}
	cfg.Logger = log
	if o.state != "" {
		b, err := os.ReadFile(o.state)
		switch {
		case err == nil:
			var st euicc.State
			if err := json.Unmarshal(b, &st); err != nil {
				return fmt.Errorf("--state %s: %w", o.state, err)
			}
			cfg.State = &st
		case !errors.Is(err, os.ErrNotExist):
			return fmt.Errorf("--state: %w", err)
		}
	}
	isdr, err := euicc.New(cfg)
	if err != nil {
		return err
	}
	lpacOut := stderr
	if o.lpacOutput != "" {
		f, err := os.OpenFile(o.lpacOutput, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
		if err != nil {
			return fmt.Errorf("--lpac-output: %w", err)
		}
		defer f.Close()
		lpacOut = f
	}
	var applet apdu.Applet = isdr
	var p *persisting
	if o.state != "" {
		p = &persisting{isdr: isdr, path: o.state, log: log}
		if p.last, err = json.Marshal(isdr.State()); err != nil {
			return err
		}
		applet = p
	}
	log.Debug("virtual eUICC ready", "eid", isdr.EID())
	serveErr := apdu.ServeStdio(ctx, apdu.NewCard(applet), in, out, lpacOut)
	if p != nil {
		if err := p.save(); err != nil {
			return errors.Join(serveErr, err)
		}
	}
	return serveErr
}

// loadConfig builds the card's configuration from the flags.
func loadConfig(o *options) (euicc.Config, error) {
	var cfg euicc.Config
	var err error
	if o.sgp26 != "" {
		if cfg, err = euicc.LoadSGP26(o.sgp26, o.curve); err != nil {
			return cfg, err
		}
	} else {
		eid := o.eid
		if eid == "" {
			if eid, err = onlyEUICC(o.pki); err != nil {
				return cfg, err
			}
		}
		if cfg, err = euicc.LoadDir(o.pki, eid); err != nil {
			return cfg, err
		}
	}
	cfg.FreeNonVolatileMemory = o.freeNV
	cfg.FreeVolatileMemory = o.freeRAM
	cfg.DefaultDpAddress = o.defaultDp
	cfg.AcceptInvalidProfile = o.acceptInvalid
	if o.svn != "" {
		if cfg.SVN, err = parseVersion(o.svn); err != nil {
			return cfg, fmt.Errorf("--svn: %w", err)
		}
	}
	if o.now != "" {
		now, err := time.Parse(time.RFC3339, o.now)
		if err != nil {
			return cfg, fmt.Errorf("--now: %w", err)
		}
		cfg.Now = func() time.Time { return now }
	}
	return cfg, nil
}

// onlyEUICC returns the EID of the only eUICC certificate of a PKI directory.
func onlyEUICC(dir string) (string, error) {
	certs, err := filepath.Glob(filepath.Join(dir, devpki.EUICCDir, "*"+devpki.CertSuffix))
	if err != nil {
		return "", err
	}
	if len(certs) != 1 {
		return "", fmt.Errorf("--pki %s holds %d eUICC certificates: name one with --eid", dir, len(certs))
	}
	return strings.TrimSuffix(filepath.Base(certs[0]), devpki.CertSuffix), nil
}

// parseVersion reads "2.2.2".
func parseVersion(s string) (rsp.VersionType, error) {
	var v rsp.VersionType
	parts := strings.Split(s, ".")
	if len(parts) != 3 {
		return v, fmt.Errorf("%q is not X.Y.Z", s)
	}
	for i, p := range parts {
		n, err := strconv.ParseUint(p, 10, 8)
		if err != nil {
			return v, fmt.Errorf("%q is not X.Y.Z", s)
		}
		v[i] = byte(n)
	}
	return v, nil
}

// persisting is the card's applet with its state written to a file after every request that
// changed it, as a real card keeps its content in non-volatile memory.
type persisting struct {
	isdr *euicc.ISDR
	path string
	log  *slog.Logger
	last []byte // the state last written (or read)
}

var _ apdu.Applet = (*persisting)(nil)

func (p *persisting) Process(ctx context.Context, req []byte) ([]byte, error) {
	resp, err := p.isdr.Process(ctx, req)
	if serr := p.save(); serr != nil {
		p.log.Error("saving the card state", "file", p.path, "err", serr)
	}
	return resp, err
}

// save writes the state when it differs from what was last written, through a temporary file
// renamed into place.
func (p *persisting) save() error {
	b, err := json.MarshalIndent(p.isdr.State(), "", "  ")
	if err != nil {
		return err
	}
	if bytes.Equal(b, p.last) {
		return nil
	}
	tmp, err := os.CreateTemp(filepath.Dir(p.path), "."+filepath.Base(p.path)+".tmp*")
	if err != nil {
		return err
	}
	_, werr := tmp.Write(append(b, '\n'))
	cerr := tmp.Close()
	if err := errors.Join(werr, cerr); err != nil {
		os.Remove(tmp.Name())
		return err
	}
	if err := os.Rename(tmp.Name(), p.path); err != nil {
		os.Remove(tmp.Name())
		return err
	}
	p.last = b
	return nil
}
