package lpa

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"time"

	"github.com/smdpp/smdpp/apdu"
)

// Card is the ES10x interface of an eUICC as the LPA uses it: one complete DER request in, the
// complete DER response out (SGP.22 §5.7).
type Card interface {
	Call(ctx context.Context, request []byte) ([]byte, error)
}

var _ Card = (*apdu.ES10)(nil)

// DefaultTimeout bounds each ES9+ request and each ES10 call unless WithTimeout says otherwise.
const DefaultTimeout = 30 * time.Second

// Values of the HTTP headers every ES9+ request carries (SGP.22 §6.3, §6.5), as lpac sends them.
const (
	UserAgent     = "gsma-rsp-lpad"
	AdminProtocol = "gsma/rsp/v2.2.2"
)

// defaultTAC is the type allocation code lpac sends when it is given no IMEI: 35290611, in the
// same BCD packing.
var defaultTAC = []byte{0x35, 0x29, 0x06, 0x11}

// LPA runs Profile downloads and notification delivery for one card.
type LPA struct {
	card    Card
	client  *http.Client
	timeout time.Duration
	tac     []byte
	tacSet  bool // WithTAC given: an IMEI does not replace it
	now     func() time.Time
	log     *slog.Logger
}

type config struct {
	client    *http.Client
	tlsConfig *tls.Config
	timeout   time.Duration
	tac       string
	now       func() time.Time
	log       *slog.Logger
}

// Option configures an LPA.
type Option func(*config)

// WithHTTPClient sets the HTTP client for ES9+; it replaces WithTLSConfig. Its transport should
// set ForceAttemptHTTP2 if it has a custom TLS configuration, as NewHTTPClient's does.
func WithHTTPClient(c *http.Client) Option { return func(cfg *config) { cfg.client = c } }

// WithTLSConfig sets the TLS client configuration of the default HTTP client (see
// NewHTTPClient): RootCAs for a private CA, VerifyPeerCertificate for a custom check, or
// InsecureSkipVerify to accept any server certificate as lpac does. Without it the system roots
// are used.
func WithTLSConfig(c *tls.Config) Option { return func(cfg *config) { cfg.tlsConfig = c } }

// WithTimeout bounds each ES9+ request and each ES10 call (default DefaultTimeout). The cleanup
// of a failed download (the two CancelSession calls) gets the same bound even when the caller's
// context is already done.
func WithTimeout(d time.Duration) Option { return func(cfg *config) { cfg.timeout = d } }

// WithTAC sets the type allocation code sent in deviceInfo, 8 decimal digits (default lpac's
// 35290611, or the first 8 digits of the IMEI of a download that has one).
func WithTAC(tac string) Option { return func(cfg *config) { cfg.tac = tac } }

// WithClock sets the clock the timings of a Result are measured with (default time.Now).
func WithClock(now func() time.Time) Option { return func(cfg *config) { cfg.now = now } }

// WithLogger sets a logger for one debug record per step (default: none).
func WithLogger(l *slog.Logger) Option { return func(cfg *config) { cfg.log = l } }

// New returns an LPA driving card.
func New(card Card, opts ...Option) (*LPA, error) {
	if card == nil {
		return nil, errors.New("lpa: nil card")
	}
	cfg := config{timeout: DefaultTimeout, now: time.Now}
	for _, o := range opts {
		o(&cfg)
	}
	if cfg.timeout <= 0 {
		return nil, fmt.Errorf("lpa: timeout %v is not positive", cfg.timeout)
	}
	l := &LPA{card: card, client: cfg.client, timeout: cfg.timeout, tac: defaultTAC, now: cfg.now, log: cfg.log}
	if cfg.tac != "" {
		tac, err := bcdTAC(cfg.tac)
		if err != nil {
			return nil, err
		}
		l.tac, l.tacSet = tac, true
	}
	if l.client == nil {
		l.client = NewHTTPClient(cfg.tlsConfig)
	}
	if l.now == nil {
		l.now = time.Now
	}
	if l.log == nil {
		l.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return l, nil
}

// NewHTTPClient returns the HTTP client an LPA uses by default: tlsConfig (cloned; nil means
// the system roots) with TLS 1.2 at least, HTTP/2 when the server offers it in ALPN, proxies from
// the environment, and redirects not followed (an ES9+ redirect is a transport error).
func NewHTTPClient(tlsConfig *tls.Config) *http.Client {
	var tc *tls.Config
	if tlsConfig != nil {
		tc = tlsConfig.Clone()
	} else {
		tc = &tls.Config{}
	}
	if tc.MinVersion < tls.VersionTLS12 {
		tc.MinVersion = tls.VersionTLS12
	}
	return &http.Client{
		Transport: &http.Transport{
			Proxy:               http.ProxyFromEnvironment,
			TLSClientConfig:     tc,
			ForceAttemptHTTP2:   true,
			TLSHandshakeTimeout: 10 * time.Second,
			MaxIdleConns:        100,
			MaxIdleConnsPerHost: 32,
			IdleConnTimeout:     90 * time.Second,
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// bcdTAC packs an 8-digit type allocation code as lpac does: two digits per octet, the first in
// the high nibble.
func bcdTAC(tac string) ([]byte, error) {
	if len(tac) != 8 || !allDigits(tac) {
		return nil, fmt.Errorf("lpa: TAC %q is not 8 decimal digits", tac)
	}
	out := make([]byte, 4)
	for i := range out {
		out[i] = (tac[2*i]-'0')<<4 | (tac[2*i+1] - '0')
	}
	return out, nil
}

// bcdIMEI packs an IMEI (15 digits) or IMEISV (16 digits) as 3GPP TS 24.008 BCD, the way lpac
// does: two digits per octet, the first in the low nibble, padded with F to 8 octets.
func bcdIMEI(imei string) ([]byte, error) {
	if (len(imei) != 15 && len(imei) != 16) || !allDigits(imei) {
		return nil, fmt.Errorf("lpa: IMEI %q is not 15 or 16 decimal digits", imei)
	}
	out := make([]byte, 8)
	for i := range out {
		lo, hi := byte(0xF), byte(0xF)
		if 2*i < len(imei) {
			lo = imei[2*i] - '0'
		}
		if 2*i+1 < len(imei) {
			hi = imei[2*i+1] - '0'
		}
		out[i] = hi<<4 | lo
	}
	return out, nil
}

// iccidString decodes an ICCID as EF ICCID holds it (BCD, nibble-swapped, F-padded).
func iccidString(b []byte) string {
	out := make([]byte, 0, 2*len(b))
	for _, x := range b {
		for _, n := range []byte{x & 0xF, x >> 4} {
			switch {
			case n == 0xF:
				return string(out)
			case n <= 9:
				out = append(out, '0'+n)
			default:
				out = append(out, "0123456789ABCDEF"[n])
			}
		}
	}
	return string(out)
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}
