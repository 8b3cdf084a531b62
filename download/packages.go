package download

import (
	"sync"
	"time"
)

// packageCache hands the profile package AuthenticateClient read to the GetBoundProfilePackage
// of the same session, when both reach this process, so the package (kilobytes, read from the
// database) is read once per download instead of twice. A profile's package never changes after
// import (store transitions leave it alone), so an entry keyed by ICCID cannot go stale; a miss
// — another replica, a retried call, an evicted entry — reads the database as before.
type packageCache struct {
	mu       sync.Mutex
	ttl      time.Duration
	maxBytes int
	bytes    int
	entries  map[string]cachedPackage
	// order lists keys by insertion, oldest first; with one TTL for all, that is expiry order.
	// A key taken early stays here until it reaches the front.
	order []cachedKey
}

type cachedPackage struct {
	pkg   []byte
	added time.Time
}

type cachedKey struct {
	iccid string
	added time.Time
}

// defaultPackageCacheBytes bounds the packages held at once: a few thousand downloads between
// authentication and BPP at TS.48 sizes.
const defaultPackageCacheBytes = 64 << 20

func newPackageCache(ttl time.Duration, maxBytes int) *packageCache {
	return &packageCache{ttl: ttl, maxBytes: maxBytes, entries: make(map[string]cachedPackage)}
}

// put keeps pkg for iccid, dropping expired entries and, beyond the byte bound, the oldest.
func (c *packageCache) put(iccid string, pkg []byte, now time.Time) {
	if len(pkg) > c.maxBytes {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.remove(iccid)
	for len(c.order) > 0 && (c.bytes+len(pkg) > c.maxBytes || now.Sub(c.order[0].added) > c.ttl) {
		oldest := c.order[0]
		c.order = c.order[1:]
		if e, ok := c.entries[oldest.iccid]; ok && e.added.Equal(oldest.added) {
			c.remove(oldest.iccid)
		}
	}
	c.entries[iccid] = cachedPackage{pkg: pkg, added: now}
	c.order = append(c.order, cachedKey{iccid, now})
	c.bytes += len(pkg)
}

// take returns and forgets the package kept for iccid, if it is there and younger than the TTL.
func (c *packageCache) take(iccid string, now time.Time) ([]byte, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[iccid]
	if !ok {
		return nil, false
	}
	c.remove(iccid)
	if now.Sub(e.added) > c.ttl {
		return nil, false
	}
	return e.pkg, true
}

func (c *packageCache) remove(iccid string) {
	if e, ok := c.entries[iccid]; ok {
		c.bytes -= len(e.pkg)
		delete(c.entries, iccid)
	}
}
