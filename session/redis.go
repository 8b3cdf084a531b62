package session

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
)

// Redis is a [Store] in Redis, shared by every SM-DP+ replica so that the ES9+ calls of one
// download may reach different replicas. Each session is one string key, prefix ‖ upper-case hex
// of the transactionId, holding the encoded session and expiring at its deadline (SET … PXAT,
// the one-command form of PEXPIREAT; Redis 6.2 or later). Every operation touches one key, so
// the store also works on Redis Cluster.
//
// The values include the SM-DP+'s one-time private keys in the clear: give the SM-DP+ its own
// Redis (or ACL user and key prefix), reached over TLS (rediss://) when it is not on loopback.
type Redis struct {
	c      redis.UniversalClient
	prefix string
	now    func() time.Time
}

var _ Store = (*Redis)(nil)

// DefaultKeyPrefix starts the key of every session in a [Redis] store unless [WithKeyPrefix]
// says otherwise.
const DefaultKeyPrefix = "smdpp:rsp:"

// RedisOption configures a [Redis] store.
type RedisOption func(*Redis)

// WithKeyPrefix sets the prefix of the store's keys (default [DefaultKeyPrefix]). Stores with
// different prefixes do not see each other's sessions.
func WithKeyPrefix(prefix string) RedisOption { return func(r *Redis) { r.prefix = prefix } }

// WithRedisClock sets the clock the store checks deadlines with, besides Redis's own expiry
// (default time.Now).
func WithRedisClock(now func() time.Time) RedisOption { return func(r *Redis) { r.now = now } }

// NewRedis returns a store that keeps sessions through client, which the caller owns and closes.
func NewRedis(client redis.UniversalClient, opts ...RedisOption) *Redis {
	r := &Redis{c: client, prefix: DefaultKeyPrefix, now: time.Now}
	for _, o := range opts {
		o(r)
	}
	return r
}

// OpenRedis connects to the Redis server named by a redis:// or rediss:// URL
// (redis://[user:password@]host:port/db) and checks it answers PING, waiting at most 5 seconds
// unless ctx ends sooner. The error names the server without its password.
func OpenRedis(ctx context.Context, rawURL string) (*redis.Client, error) {
	opt, err := redis.ParseURL(rawURL)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // url.Error repeats the URL, password included
		}
		return nil, fmt.Errorf("session: invalid Redis URL: %w", err)
	}
	c := redis.NewClient(opt)
	pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := c.Ping(pctx).Err(); err != nil {
		_ = c.Close()
		return nil, fmt.Errorf("session: Redis at %s is unreachable: %w", redactURL(rawURL), err)
	}
	return c, nil
}

func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparsable URL)"
	}
	return u.Redacted()
}

// key returns the Redis key of a transactionId: prefix ‖ upper-case hex.
func (r *Redis) key(id []byte) string {
	const digits = "0123456789ABCDEF"
	b := make([]byte, 0, len(r.prefix)+2*len(id))
	b = append(b, r.prefix...)
	for _, c := range id {
		b = append(b, digits[c>>4], digits[c&0xF])
	}
	return string(b)
}

// unixMilliCeil is t in Unix milliseconds rounded up, and at least 1 (PXAT rejects 0), so that
// Redis never expires a session before its deadline; Get checks the exact deadline.
func unixMilliCeil(t time.Time) int64 {
	ms := t.UnixMilli()
	if t.Nanosecond()%int(time.Millisecond) != 0 {
		ms++
	}
	return max(ms, 1)
}

// Create implements [Store.Create] with SET NX PXAT: one atomic command.
func (r *Redis) Create(ctx context.Context, s *Session) error {
	if s == nil {
		return errNilSession
	}
	if err := s.validate(); err != nil {
		return err
	}
	if now := r.now(); !s.Deadline.After(now) {
		return errDeadlinePassed(s, now)
	}
	err := r.c.Do(ctx, "SET", r.key(s.TransactionID), encode(s), "NX", "PXAT", unixMilliCeil(s.Deadline)).Err()
	switch {
	case errors.Is(err, redis.Nil):
		return ErrExists
	case err != nil:
		return fmt.Errorf("session: redis SET: %w", err)
	}
	return nil
}

// Get implements [Store.Get]. Stored bytes that do not decode give an error wrapping
// [ErrCorrupt] that names the key.
func (r *Redis) Get(ctx context.Context, transactionID []byte) (*Session, error) {
	s, _, err := r.get(ctx, transactionID)
	return s, err
}

// get returns the live session of id and the stored bytes it was decoded from.
func (r *Redis) get(ctx context.Context, id []byte) (*Session, []byte, error) {
	if len(id) == 0 || len(id) > MaxTransactionIDLen {
		return nil, nil, ErrNotFound
	}
	key := r.key(id)
	data, err := r.c.Get(ctx, key).Bytes()
	switch {
	case errors.Is(err, redis.Nil):
		return nil, nil, ErrNotFound
	case err != nil:
		return nil, nil, fmt.Errorf("session: redis GET: %w", err)
	}
	s, err := decode(data)
	if err != nil {
		return nil, nil, fmt.Errorf("redis key %q: %w", key, err)
	}
	if r.now().After(s.Deadline) { // Redis expires keys a little later, to the millisecond
		return nil, nil, ErrNotFound
	}
	return s, data, nil
}

// casScript replaces a session only if its stored bytes are still those that were read:
// KEYS[1] the session's key, ARGV[1] the bytes read, ARGV[2] the new bytes, ARGV[3] the new
// deadline in Unix milliseconds. It returns 1 when it wrote and 0 when the key changed or is gone.
var casScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) ~= ARGV[1] then
	return 0
end
redis.call('SET', KEYS[1], ARGV[2], 'PXAT', ARGV[3])
return 1
`)

// Advance implements [Store.Advance] optimistically: it reads the session, applies the step
// change and update in this process, and writes the result with a Lua script (EVALSHA, falling
// back to EVAL) that compares the whole stored value first. If the session changed in between,
// Advance starts over, so update may run more than once and must depend only on the session it
// is given. Two concurrent calls from the same step to another: the loser's second round sees
// the new step and fails with ErrStepMismatch. Advance with from == to is allowed and serialises
// concurrent updates without losing any.
func (r *Redis) Advance(ctx context.Context, transactionID []byte, from, to Step, update func(*Session) error) (*Session, error) {
	if err := checkAdvance(transactionID, from, to); err != nil {
		return nil, err
	}
	key := r.key(transactionID)
	for range maxAdvanceAttempts {
		s, old, err := r.get(ctx, transactionID)
		if err != nil {
			return nil, err
		}
		if err := advance(s, from, to, update); err != nil {
			return nil, err
		}
		ok, err := casScript.Run(ctx, r.c, []string{key}, old, encode(s), unixMilliCeil(s.Deadline)).Int()
		if err != nil {
			return nil, fmt.Errorf("session: redis compare-and-set: %w", err)
		}
		if ok == 1 {
			return s, nil
		}
	}
	return nil, errContended(transactionID)
}

// Delete implements [Store.Delete].
func (r *Redis) Delete(ctx context.Context, transactionID []byte) error {
	if len(transactionID) == 0 || len(transactionID) > MaxTransactionIDLen {
		return nil
	}
	if err := r.c.Del(ctx, r.key(transactionID)).Err(); err != nil {
		return fmt.Errorf("session: redis DEL: %w", err)
	}
	return nil
}

// Count implements [Store.Count] by SCAN over the keys that start with the prefix (every master
// of a Redis Cluster or shard of a Ring). SCAN walks the whole keyspace of the database, not only
// the sessions, in batches of 1000 keys: about 100 round trips per 100,000 keys. That suits a
// metrics scrape every few seconds, not a call per request. Keys that expire during the walk may
// or may not be counted.
func (r *Redis) Count(ctx context.Context) (int, error) {
	var n atomic.Int64
	scan := func(ctx context.Context, c redis.Cmdable) error {
		it := c.Scan(ctx, 0, scanPattern(r.prefix), 1000).Iterator()
		for it.Next(ctx) {
			n.Add(1)
		}
		return it.Err()
	}
	var err error
	switch c := r.c.(type) {
	case *redis.ClusterClient:
		err = c.ForEachMaster(ctx, func(ctx context.Context, c *redis.Client) error { return scan(ctx, c) })
	case *redis.Ring:
		err = c.ForEachShard(ctx, func(ctx context.Context, c *redis.Client) error { return scan(ctx, c) })
	default:
		err = scan(ctx, c)
	}
	if err != nil {
		return 0, fmt.Errorf("session: redis SCAN: %w", err)
	}
	return int(n.Load()), nil
}

// scanPattern is the SCAN MATCH pattern of keys that start with prefix, its glob characters
// escaped.
func scanPattern(prefix string) string {
	var b strings.Builder
	for _, c := range []byte(prefix) {
		switch c {
		case '*', '?', '[', ']', '\\':
			b.WriteByte('\\')
		}
		b.WriteByte(c)
	}
	b.WriteByte('*')
	return b.String()
}
