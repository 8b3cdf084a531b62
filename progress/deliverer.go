package progress

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/smdpp/smdpp/store"
	"github.com/smdpp/smdpp/web"
)

// Sender delivers one kind of outbox message. Send returns nil once the receiver has accepted
// the message; any error makes the Deliverer try again later. Send must return when ctx ends.
type Sender interface {
	Send(ctx context.Context, m store.OutboxMessage) error
}

// Deliverer empties the outbox: it claims due messages (at most one per ICCID, the oldest),
// hands each to the Sender of its kind, and marks it delivered or reschedules it. Several
// Deliverers, in one process or in several replicas, may run on one database.
type Deliverer struct {
	db         *store.DB
	senders    map[string]Sender
	client     *http.Client
	log        *slog.Logger
	poll       time.Duration
	batch      int
	lease      time.Duration
	minBackoff time.Duration
	maxBackoff time.Duration
	now        func() time.Time
	wake       chan struct{}
}

// DelivererOption configures a Deliverer.
type DelivererOption func(*Deliverer)

// WithHTTPClient sets the client that calls operators (default: 10 s timeout, redirects not
// followed). Its timeout must be shorter than the lease.
func WithHTTPClient(c *http.Client) DelivererOption { return func(d *Deliverer) { d.client = c } }

// WithLogger sets the logger for deliveries and failures.
func WithLogger(l *slog.Logger) DelivererOption { return func(d *Deliverer) { d.log = l } }

// WithPollInterval sets how often an idle Deliverer looks for due messages (default 1 s).
func WithPollInterval(p time.Duration) DelivererOption { return func(d *Deliverer) { d.poll = p } }

// WithBatchSize sets how many messages one round claims and sends at once (default 16).
func WithBatchSize(n int) DelivererOption { return func(d *Deliverer) { d.batch = n } }

// WithLease sets how long a claimed message stays with its Deliverer before another may take it,
// should the first die while sending (default 2 min).
func WithLease(l time.Duration) DelivererOption { return func(d *Deliverer) { d.lease = l } }

// WithBackoff sets the delay after the first failed attempt and the cap of the delays; each
// further failure doubles the delay, of which a random half is added as jitter (default 1 s and
// 10 min).
func WithBackoff(first, max time.Duration) DelivererOption {
	return func(d *Deliverer) { d.minBackoff, d.maxBackoff = first, max }
}

// WithDelivererClock sets the clock for rescheduling; it must be the store's clock (default
// time.Now).
func WithDelivererClock(now func() time.Time) DelivererOption {
	return func(d *Deliverer) { d.now = now }
}

// NewDeliverer returns a Deliverer for db that sends HandleDownloadProgressInfo (Kind) to the
// operators' callback URLs. Other kinds are added with Handle.
func NewDeliverer(db *store.DB, opts ...DelivererOption) *Deliverer {
	d := &Deliverer{
		db:      db,
		senders: map[string]Sender{},
		client: &http.Client{
			Timeout:       10 * time.Second,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
		log:        slog.Default(),
		poll:       time.Second,
		batch:      16,
		lease:      2 * time.Minute,
		minBackoff: time.Second,
		maxBackoff: 10 * time.Minute,
		now:        time.Now,
		wake:       make(chan struct{}, 1),
	}
	for _, o := range opts {
		o(d)
	}
	d.senders[Kind] = &CallbackSender{DB: db, Client: d.client, Path: Path}
	d.senders[PoolLowKind] = &CallbackSender{DB: db, Client: d.client, Path: PoolLowPath}
	return d
}

// Handle makes s the Sender of the outbox messages of kind (the extension point for ES12).
// Call it before Run.
func (d *Deliverer) Handle(kind string, s Sender) { d.senders[kind] = s }

// wakeDelay is how long a woken Deliverer waits for further wake-ups before it claims: callbacks
// go out at most this much later, and a busy server claims at most this often.
const wakeDelay = 50 * time.Millisecond

// Wake makes a running Deliverer look for due messages now instead of at its next poll; call it
// after committing a transaction that enqueued messages.
func (d *Deliverer) Wake() {
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

// Run delivers until ctx ends, then returns ctx's error. Messages being sent when ctx ends are
// sent to the end (within the HTTP client's timeout) and recorded, so that a restart repeats as
// little as possible. Database failures are logged and retried at the poll interval.
func (d *Deliverer) Run(ctx context.Context) error {
	for {
		n, err := d.DeliverDue(ctx)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if err != nil {
			d.log.ErrorContext(ctx, "outbox delivery round failed", "error", err)
		}
		if n > 0 && err == nil {
			continue // the next message of each ICCID just served may be due now
		}
		t := time.NewTimer(d.poll)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-d.wake:
			t.Stop()
			// Coalesce the wake-ups of a burst of downloads into one claim instead of a
			// database round trip per committed step.
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(wakeDelay):
			}
		case <-t.C:
		}
	}
}

// DeliverDue runs one round: it claims up to the batch size of due messages, sends them at once
// (they belong to different ICCIDs), and records each outcome. It returns how many it claimed.
// Once claimed, messages are sent and recorded even if ctx ends meanwhile.
func (d *Deliverer) DeliverDue(ctx context.Context) (int, error) {
	msgs, err := d.db.ClaimOutbox(ctx, d.batch, d.lease)
	if err != nil {
		return 0, err
	}
	ctx = context.WithoutCancel(ctx)
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		errs []error
	)
	for _, m := range msgs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := d.deliver(ctx, m); err != nil {
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return len(msgs), errors.Join(errs...)
}

// deliver sends m and records the outcome; it returns only bookkeeping errors.
func (d *Deliverer) deliver(ctx context.Context, m store.OutboxMessage) error {
	var err error
	if s, ok := d.senders[m.Kind]; ok {
		err = s.Send(ctx, m)
	} else {
		err = fmt.Errorf("progress: no sender for outbox kind %q", m.Kind)
	}
	bctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	log := d.log.With("outboxId", m.ID, "kind", m.Kind, "operator", m.OperatorID, "iccid", m.ICCID, "attempt", m.Attempts)
	if err == nil {
		if err := d.db.MarkOutboxDelivered(bctx, m.ID); err != nil {
			return fmt.Errorf("progress: marking message %d delivered: %w", m.ID, err)
		}
		log.InfoContext(ctx, "outbox message delivered")
		return nil
	}
	next := d.now().Add(d.backoff(m.Attempts))
	if rerr := d.db.RescheduleOutbox(bctx, m.ID, next, err.Error()); rerr != nil {
		return fmt.Errorf("progress: rescheduling message %d: %w", m.ID, rerr)
	}
	log.WarnContext(ctx, "outbox message not delivered", "error", err, "next", next)
	return nil
}

// backoff is the delay after the attempt-th failed attempt: first·2^(attempt-1), capped, of
// which the upper half is random.
func (d *Deliverer) backoff(attempt int) time.Duration {
	delay := d.minBackoff
	for i := 1; i < attempt && delay < d.maxBackoff; i++ {
		delay *= 2
	}
	delay = min(delay, d.maxBackoff)
	half := delay / 2
	if half <= 0 {
		return delay
	}
	return half + rand.N(half+1)
}

// CallbackSender POSTs messages to the operator's callback URL (the store's
// Operator.CallbackURL, read at each attempt) at Path: HandleDownloadProgressInfo, or the pool
// alert. The operator must answer 204 No Content (SGP.22 §6.5) or 200.
type CallbackSender struct {
	DB     *store.DB
	Client *http.Client
	Path   string
}

var _ Sender = (*CallbackSender)(nil)

// Send implements Sender.
func (s *CallbackSender) Send(ctx context.Context, m store.OutboxMessage) error {
	op, err := s.DB.GetOperator(ctx, m.OperatorID)
	if err != nil {
		return fmt.Errorf("progress: operator %s: %w", m.OperatorID, err)
	}
	if op.CallbackURL == "" {
		return errNoCallback
	}
	target, err := callbackTarget(op.CallbackURL, s.Path)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(m.Payload))
	if err != nil {
		return fmt.Errorf("progress: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(web.AdminProtocolHeader, web.AdminProtocol)
	resp, err := s.Client.Do(req)
	if err != nil {
		return fmt.Errorf("progress: POST %s: %w", target, err)
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent && resp.StatusCode != http.StatusOK {
		return fmt.Errorf("progress: POST %s: HTTP %s", target, resp.Status)
	}
	return nil
}

// CallbackURL returns where HandleDownloadProgressInfo goes for an operator's callback URL: the
// URL itself when its path already ends in /handleDownloadProgressInfo, else the URL with Path
// appended.
func CallbackURL(base string) (string, error) { return callbackTarget(base, Path) }

// callbackTarget is the operator's endpoint for a path: the callback URL is the operator's ES2+
// base, or already the HandleDownloadProgressInfo URL, whose suffix is then replaced.
func callbackTarget(base, path string) (string, error) {
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return "", fmt.Errorf("progress: callback URL %q is not an http(s) URL", base)
	}
	if strings.HasSuffix(u.Path, "/handleDownloadProgressInfo") {
		if path == Path {
			return u.String(), nil
		}
		u.Path = strings.TrimSuffix(u.Path, Path)
		u.Path = strings.TrimSuffix(u.Path, "/handleDownloadProgressInfo")
	}
	u.Path = strings.TrimRight(u.Path, "/") + path
	u.RawPath = ""
	return u.String(), nil
}
