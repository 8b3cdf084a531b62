package download

import (
	"bytes"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/smdpp/smdpp/certs"
	"github.com/smdpp/smdpp/session"
	"github.com/smdpp/smdpp/store"
)

// Service runs ES9+ downloads. Create it with New.
type Service struct {
	address  string
	creds    []*Credentials
	roots    *certs.Roots
	db       *store.DB
	sessions session.Store
	log      *slog.Logger
	now      func() time.Time
	rand     io.Reader
	ttl      time.Duration
	hostID   []byte
	// maxCCAttempts is how many wrong confirmation codes end an order (SGP.22 §5.6.2: the SM-DP+
	// limits the attempts).
	maxCCAttempts int
	progress      Progress
	wake          func()
	events        Events
	// guesses locks out an EID that presents too many unknown matchingIds.
	guesses MatchingIDGuard
	// maxDownloads caps BPPs per order when its operator sets no re-download policy: the initial
	// download plus four re-downloads.
	maxDownloads int
	packages     *packageCache
	// eumSignatures spares verifying the same EUM certificate's signature on every download.
	eumSignatures *certs.VerifiedSignatures
}

// Option configures a Service.
type Option func(*Service)

// WithClock sets the clock used for certificate validity and session deadlines.
func WithClock(now func() time.Time) Option { return func(s *Service) { s.now = now } }

// WithRandom sets the source of challenges, transaction IDs and one-time keys (tests only).
func WithRandom(r io.Reader) Option { return func(s *Service) { s.rand = r } }

// WithSessionTTL sets how long an RSP session lives after InitiateAuthentication.
func WithSessionTTL(d time.Duration) Option { return func(s *Service) { s.ttl = d } }

// WithLogger sets the logger for audit events.
func WithLogger(l *slog.Logger) Option { return func(s *Service) { s.log = l } }

// MatchingIDGuard counts wrong matchingIds per eUICC and locks out one that keeps guessing
// (limits.Attempts implements it). The key is the EID, which AuthenticateClient has
// authenticated, so a guesser needs a genuine eUICC for every few guesses.
type MatchingIDGuard interface {
	Fail(key string) (locked bool)
	Locked(key string) (until time.Time, locked bool)
}

// WithMatchingIDGuard enables the matchingId guessing limit.
func WithMatchingIDGuard(g MatchingIDGuard) Option { return func(s *Service) { s.guesses = g } }

// WithMaxConfirmationCodeAttempts sets how many wrong confirmation codes end an order.
func WithMaxConfirmationCodeAttempts(n int) Option { return func(s *Service) { s.maxCCAttempts = n } }

// maxVerifiedEUMs bounds the EUM certificates whose signature is remembered; there are a few
// dozen EUMs.
const maxVerifiedEUMs = 1024

// New returns a Service answering for the SM-DP+ address (host or host:port, as in activation
// codes) with one credential set per CI it holds certificates under.
func New(address string, creds []*Credentials, db *store.DB, sessions session.Store, opts ...Option) (*Service, error) {
	if len(creds) == 0 {
		return nil, errors.New("download: no SM-DP+ credentials")
	}
	cis := make([]*certs.Certificate, len(creds))
	for i, c := range creds {
		cis[i] = c.CI
	}
	roots, err := certs.NewRoots(cis...)
	if err != nil {
		return nil, fmt.Errorf("download: %w", err)
	}
	s := &Service{
		address:       address,
		creds:         creds,
		roots:         roots,
		db:            db,
		sessions:      sessions,
		log:           slog.Default(),
		now:           time.Now,
		rand:          rand.Reader,
		ttl:           5 * time.Minute,
		hostID:        []byte("smdpp"),
		maxCCAttempts: 3,
		maxDownloads:  5,
	}
	for _, o := range opts {
		o(s)
	}
	s.packages = newPackageCache(s.ttl, defaultPackageCacheBytes)
	s.eumSignatures = certs.NewVerifiedSignatures(maxVerifiedEUMs)
	return s, nil
}

// credentialsFor returns the credential set under the CI with the given key identifier.
func (s *Service) credentialsFor(ciPKID []byte) *Credentials {
	for _, c := range s.creds {
		if bytes.Equal(c.CIPKID(), ciPKID) {
			return c
		}
	}
	return nil
}

// addressMatches compares an smdpAddress with ours: host names are case-insensitive (RFC 4343),
// and the port must match when either side names one.
func (s *Service) addressMatches(addr string) bool {
	return strings.EqualFold(strings.TrimSuffix(addr, "."), strings.TrimSuffix(s.address, "."))
}

func (s *Service) random(n int) ([]byte, error) {
	b := make([]byte, n)
	if _, err := io.ReadFull(s.rand, b); err != nil {
		return nil, fmt.Errorf("download: reading random bytes: %w", err)
	}
	return b, nil
}
