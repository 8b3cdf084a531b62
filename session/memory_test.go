package session

import (
	"context"
	"encoding/binary"
	"errors"
	"runtime"
	"testing"
	"time"
)

// memLen is the number of entries a Memory holds, expired or not.
func memLen(m *Memory) int {
	n := 0
	for i := range m.shards {
		sh := &m.shards[i]
		sh.mu.Lock()
		n += len(sh.m)
		sh.mu.Unlock()
	}
	return n
}

func TestMemoryExpiryBoundary(t *testing.T) {
	clk := newFakeClock()
	m := NewMemory(WithClock(clk.Now))
	h := &harness{store: m, now: clk.Now}
	s := newSession(t, h)
	s.Deadline = clk.Now().Add(time.Minute)
	mustCreate(t, m, s)

	clk.Add(time.Minute) // exactly at the deadline: still live
	mustGet(t, m, s.TransactionID)
	wantCount(t, m, 1)

	clk.Add(time.Nanosecond) // after it: gone, and dropped on access
	if _, err := m.Get(context.Background(), s.TransactionID); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Get after the deadline = %v, want ErrNotFound", err)
	}
	if n := memLen(m); n != 0 {
		t.Errorf("%d entries left after Get of an expired session, want 0", n)
	}
}

func TestMemorySweep(t *testing.T) {
	clk := newFakeClock()
	m := NewMemory(WithClock(clk.Now))
	h := &harness{store: m, now: clk.Now}
	for i := range 10 {
		s := newSession(t, h)
		s.Deadline = clk.Now().Add(time.Duration(i+1) * time.Minute)
		mustCreate(t, m, s)
	}
	if n := m.Sweep(clk.Now()); n != 0 {
		t.Errorf("Sweep before any deadline removed %d", n)
	}
	if n := m.Sweep(clk.Now().Add(4*time.Minute + time.Second)); n != 4 {
		t.Errorf("Sweep removed %d, want 4", n)
	}
	if n := memLen(m); n != 6 {
		t.Errorf("%d entries left, want 6", n)
	}
	wantCount(t, m, 6)
}

func TestMemorySweeper(t *testing.T) {
	clk := newFakeClock()
	m := NewMemory(WithClock(clk.Now), WithSweepInterval(time.Millisecond))
	h := &harness{store: m, now: clk.Now}
	for range 3 {
		mustCreate(t, m, newSession(t, h))
	}
	clk.Add(2 * time.Hour)
	for deadline := time.Now().Add(10 * time.Second); memLen(m) != 0; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the sweeper left %d expired entries", memLen(m))
		}
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	if err := m.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	// Closed, the store still works.
	mustCreate(t, m, newSession(t, h))
	wantCount(t, m, 1)
}

// footprint returns the heap bytes per session of a Memory holding n sessions shaped like proto,
// and the length of proto's encoding.
func footprint(tb testing.TB, n int, proto *Session) (perSession float64, encoded int) {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	m := NewMemory(WithClock(newFakeClock().Now))
	s := *proto
	for i := range n {
		s.TransactionID = binary.BigEndian.AppendUint64(make([]byte, 8, 16), uint64(i))
		if err := m.Create(context.Background(), &s); err != nil {
			tb.Fatal(err)
		}
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	if got := memLen(m); got != n {
		tb.Fatalf("%d sessions stored, want %d", got, n)
	}
	runtime.KeepAlive(m)
	return float64(int64(after.HeapAlloc)-int64(before.HeapAlloc)) / float64(n), len(encode(proto))
}

func footprintShapes(tb testing.TB) []struct {
	name  string
	proto *Session
} {
	h := &harness{now: newFakeClock().Now}
	return []struct {
		name  string
		proto *Session
	}{
		{"initiated", newSession(tb, h)},          // after InitiateAuthentication
		{"with certificates", fullSession(tb, h)}, // after AuthenticateClient and GetBoundProfilePackage
	}
}

// TestMemoryFootprint reports what 100,000 in-memory sessions cost. It asserts nothing about the
// number, only that the store holds them.
func TestMemoryFootprint(t *testing.T) {
	if testing.Short() {
		t.Skip("allocates 100,000 sessions")
	}
	for _, sh := range footprintShapes(t) {
		per, enc := footprint(t, 100_000, sh.proto)
		t.Logf("100,000 %s sessions: %.0f heap bytes/session (%d encoded, %.0f overhead)", sh.name, per, enc, per-float64(enc))
	}
}

func BenchmarkMemory100k(b *testing.B) {
	for _, sh := range footprintShapes(b) {
		b.Run(sh.name, func(b *testing.B) {
			var per float64
			for b.Loop() {
				per, _ = footprint(b, 100_000, sh.proto)
			}
			b.ReportMetric(per, "heapB/session")
		})
	}
}
