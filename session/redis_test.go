package session

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

// TestRedisCorrupt stores bytes that are not a session under a session's key: Get and Advance
// report ErrCorrupt naming the key, never panic, and Delete still removes the key.
func TestRedisCorrupt(t *testing.T) {
	h := openRedis(t)
	ctx := context.Background()
	valid := encode(fullSession(t, h))
	for _, tc := range []struct {
		name string
		data []byte
	}{
		{"empty", nil},
		{"garbage", []byte("not a session")},
		{"JSON", []byte(`{"step":"initiated"}`)},
		{"future version", append([]byte{2}, valid[1:]...)},
		{"truncated", valid[:len(valid)/2]},
		{"trailing byte", append(append([]byte(nil), valid...), 0)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			id := randBytes(t, 16)
			store := h.store.(*Redis)
			key := store.key(id)
			if err := h.redis.Set(ctx, key, tc.data, time.Minute).Err(); err != nil {
				t.Fatal(err)
			}
			_, err := h.store.Get(ctx, id)
			if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), key) {
				t.Errorf("Get = %v, want ErrCorrupt naming %s", err, key)
			}
			_, err = h.store.Advance(ctx, id, StepInitiated, StepAuthenticated, func(*Session) error {
				t.Error("update ran on a corrupt session")
				return nil
			})
			if !errors.Is(err, ErrCorrupt) {
				t.Errorf("Advance = %v, want ErrCorrupt", err)
			}
			if got, _ := h.redis.Get(ctx, key).Bytes(); string(got) != string(tc.data) {
				t.Error("Advance changed the corrupt value")
			}
			if err := h.store.Delete(ctx, id); err != nil {
				t.Fatal(err)
			}
			if n := h.redis.Exists(ctx, key).Val(); n != 0 {
				t.Error("Delete left the corrupt key")
			}
		})
	}
	t.Run("wrong type", func(t *testing.T) {
		id := randBytes(t, 16)
		if err := h.redis.RPush(ctx, h.store.(*Redis).key(id), "x").Err(); err != nil {
			t.Fatal(err)
		}
		if _, err := h.store.Get(ctx, id); err == nil || errors.Is(err, ErrNotFound) {
			t.Errorf("Get of a list = %v, want an error", err)
		}
		if _, err := h.store.Advance(ctx, id, StepInitiated, StepAuthenticated, nil); err == nil || errors.Is(err, ErrNotFound) {
			t.Errorf("Advance of a list = %v, want an error", err)
		}
	})
}

// TestRedisKeys checks the key layout and that keys expire at the session's deadline.
func TestRedisKeys(t *testing.T) {
	h := openRedis(t)
	ctx := context.Background()
	s := newSession(t, h)
	s.TransactionID = []byte{0x00, 0x1a, 0xb2, 0xff, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x09}
	s.Deadline = time.Now().Add(time.Hour).Truncate(time.Millisecond).Add(time.Microsecond)
	mustCreate(t, h.store, s)
	key := h.prefix + "001AB2FF000000000000000000000009"
	if n := h.redis.Exists(ctx, key).Val(); n != 1 {
		t.Fatalf("no key %s", key)
	}
	wantExpireAt := func(want time.Time) {
		t.Helper()
		got, err := h.redis.Do(ctx, "PEXPIRETIME", key).Int64()
		if err != nil {
			t.Fatal(err)
		}
		if got != want.UnixMilli() {
			t.Errorf("key expires at %d ms, want %d (deadline rounded up)", got, want.UnixMilli())
		}
	}
	wantExpireAt(s.Deadline.Truncate(time.Millisecond).Add(time.Millisecond))

	later := s.Deadline.Add(time.Hour).Truncate(time.Millisecond)
	if _, err := h.store.Advance(ctx, s.TransactionID, StepInitiated, StepAuthenticated, func(s *Session) error {
		s.Deadline = later
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	wantExpireAt(later)
}

// TestRedisClock: Get also checks the deadline itself, for the millisecond by which Redis expires
// keys late.
func TestRedisClock(t *testing.T) {
	h := openRedis(t)
	s := newSession(t, h)
	mustCreate(t, h.store, s)
	late := NewRedis(h.redis, WithKeyPrefix(h.prefix), WithRedisClock(func() time.Time { return s.Deadline.Add(time.Nanosecond) }))
	if _, err := late.Get(context.Background(), s.TransactionID); !errors.Is(err, ErrNotFound) {
		t.Errorf("Get past the deadline by the store's clock = %v, want ErrNotFound", err)
	}
	mustGet(t, h.store, s.TransactionID)
}

// TestRedisPrefixes: stores with different prefixes are separate, even when a prefix holds glob
// characters that SCAN MATCH would otherwise interpret.
func TestRedisPrefixes(t *testing.T) {
	h := openRedis(t)
	glob := NewRedis(h.redis, WithKeyPrefix(h.prefix+"a*b:"))
	plain := NewRedis(h.redis, WithKeyPrefix(h.prefix+"aXb:"))
	s := newSession(t, h)
	mustCreate(t, glob, s)
	for range 2 {
		mustCreate(t, plain, newSession(t, h))
	}
	wantCount(t, glob, 1)
	wantCount(t, plain, 2)
	wantCount(t, h.store, 3) // h.prefix is a prefix of both
	if _, err := plain.Get(context.Background(), s.TransactionID); !errors.Is(err, ErrNotFound) {
		t.Errorf("Get through another prefix = %v, want ErrNotFound", err)
	}
}

// TestRedisScriptFlushed: Advance still works after the server forgets its scripts (EVALSHA
// falls back to EVAL).
func TestRedisScriptFlushed(t *testing.T) {
	h := openRedis(t)
	ctx := context.Background()
	s := newSession(t, h)
	mustCreate(t, h.store, s)
	if err := h.redis.ScriptFlush(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	if _, err := h.store.Advance(ctx, s.TransactionID, StepInitiated, StepAuthenticated, nil); err != nil {
		t.Fatal(err)
	}
}

func TestOpenRedisErrors(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, url, want string
	}{
		{"not redis", "http://u:s3cret@127.0.0.1:6379", "invalid Redis URL"},
		{"unparsable", "redis://u:s3cret@127.0.0.1:%zz", "invalid Redis URL"},
		{"unreachable", "redis://u:s3cret@127.0.0.1:1/0", "unreachable"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := OpenRedis(context.Background(), tc.url)
			if err == nil {
				c.Close()
				t.Fatal("OpenRedis succeeded")
			}
			if !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "s3cret") {
				t.Errorf("error %q: want %q and no password", err, tc.want)
			}
			t.Log(err)
		})
	}
}

func TestScanPattern(t *testing.T) {
	for prefix, want := range map[string]string{
		"smdpp:rsp:": "smdpp:rsp:*",
		`a*b?[c]\:`:  `a\*b\?\[c\]\\:*`,
		"":           "*",
	} {
		if got := scanPattern(prefix); got != want {
			t.Errorf("scanPattern(%q) = %q, want %q", prefix, got, want)
		}
	}
}

func TestUnixMilliCeil(t *testing.T) {
	for _, tc := range []struct {
		t    time.Time
		want int64
	}{
		{time.UnixMilli(1_700_000_000_000), 1_700_000_000_000},
		{time.UnixMilli(1_700_000_000_000).Add(time.Nanosecond), 1_700_000_000_001},
		{time.UnixMilli(1_700_000_000_000).Add(-time.Nanosecond), 1_700_000_000_000},
		{time.Unix(0, 0), 1},
		{time.Unix(-5, 0), 1},
	} {
		if got := unixMilliCeil(tc.t); got != tc.want {
			t.Errorf("unixMilliCeil(%v) = %d, want %d", tc.t, got, tc.want)
		}
	}
}
