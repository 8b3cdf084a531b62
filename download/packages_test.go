package download

import (
	"bytes"
	"testing"
	"time"
)

func TestPackageCache(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	pkg := func(b byte, n int) []byte { return bytes.Repeat([]byte{b}, n) }

	t.Run("take once", func(t *testing.T) {
		c := newPackageCache(time.Minute, 100)
		c.put("A", pkg(1, 10), t0)
		if got, ok := c.take("A", t0.Add(time.Second)); !ok || !bytes.Equal(got, pkg(1, 10)) {
			t.Fatalf("take = %x, %v", got, ok)
		}
		if _, ok := c.take("A", t0); ok {
			t.Error("a package was taken twice")
		}
		if c.bytes != 0 || len(c.entries) != 0 {
			t.Errorf("after take: %d bytes, %d entries", c.bytes, len(c.entries))
		}
	})
	t.Run("expired", func(t *testing.T) {
		c := newPackageCache(time.Minute, 100)
		c.put("A", pkg(1, 10), t0)
		if _, ok := c.take("A", t0.Add(2*time.Minute)); ok {
			t.Error("took a package older than the TTL")
		}
		c.put("B", pkg(2, 10), t0)
		c.put("C", pkg(3, 10), t0.Add(2*time.Minute)) // drops B, expired
		if _, ok := c.entries["B"]; ok || c.bytes != 10 {
			t.Errorf("expired entry kept: %v, %d bytes", c.entries, c.bytes)
		}
	})
	t.Run("byte bound", func(t *testing.T) {
		c := newPackageCache(time.Minute, 25)
		c.put("A", pkg(1, 10), t0)
		c.put("B", pkg(2, 10), t0)
		c.put("C", pkg(3, 10), t0) // 30 > 25: A goes
		if _, ok := c.take("A", t0); ok {
			t.Error("the oldest entry survived beyond the bound")
		}
		for _, k := range []string{"B", "C"} {
			if _, ok := c.take(k, t0); !ok {
				t.Errorf("%s evicted", k)
			}
		}
		c.put("D", pkg(4, 26), t0)
		if _, ok := c.take("D", t0); ok {
			t.Error("a package larger than the whole bound was kept")
		}
	})
	t.Run("replaced", func(t *testing.T) {
		c := newPackageCache(time.Minute, 100)
		c.put("A", pkg(1, 10), t0)
		c.put("A", pkg(2, 20), t0.Add(time.Second))
		if c.bytes != 20 {
			t.Errorf("bytes = %d after replacing, want 20", c.bytes)
		}
		// The first insertion's queue entry must not evict the second.
		c.put("B", pkg(3, 10), t0.Add(61*time.Second))
		if got, ok := c.take("A", t0.Add(61*time.Second)); !ok || got[0] != 2 {
			t.Errorf("take(A) = %x, %v", got, ok)
		}
	})
}
