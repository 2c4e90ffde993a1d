package tokens

import (
	"container/heap"
	"sync"
	"time"
)

// ttlCache is a bounded map whose entries expire at their own time. When
// full, it drops expired entries first and then the entry closest to expiry,
// the least valuable one.
type ttlCache[V any] struct {
	mu      sync.Mutex
	max     int
	entries map[string]*cacheEntry[V]
	order   expiryHeap[V]
}

type cacheEntry[V any] struct {
	key     string
	val     V
	expires time.Time
	index   int
}

func newTTLCache[V any](maxEntries int) *ttlCache[V] {
	return &ttlCache[V]{max: maxEntries, entries: map[string]*cacheEntry[V]{}}
}

// get returns key's value if it has not expired at now.
func (c *ttlCache[V]) get(key string, now time.Time) (V, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[key]
	if !ok {
		var zero V
		return zero, false
	}
	if !now.Before(e.expires) {
		c.removeLocked(e)
		var zero V
		return zero, false
	}
	return e.val, true
}

// put stores val under key until expires.
func (c *ttlCache[V]) put(key string, val V, expires, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.entries[key]; ok {
		e.val, e.expires = val, expires
		heap.Fix(&c.order, e.index)
		return
	}
	for len(c.order) > 0 && (len(c.entries) >= c.max || !now.Before(c.order[0].expires)) {
		c.removeLocked(c.order[0])
	}
	e := &cacheEntry[V]{key: key, val: val, expires: expires}
	heap.Push(&c.order, e)
	c.entries[key] = e
}

func (c *ttlCache[V]) removeLocked(e *cacheEntry[V]) {
	heap.Remove(&c.order, e.index)
	delete(c.entries, e.key)
}

// expiryHeap orders entries by expiry, soonest first.
type expiryHeap[V any] []*cacheEntry[V]

func (h expiryHeap[V]) Len() int           { return len(h) }
func (h expiryHeap[V]) Less(i, j int) bool { return h[i].expires.Before(h[j].expires) }
func (h expiryHeap[V]) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].index, h[j].index = i, j
}
func (h *expiryHeap[V]) Push(x any) {
	e := x.(*cacheEntry[V]) //nolint:forcetypeassert // container/heap hands back only what this cache pushes
	e.index = len(*h)
	*h = append(*h, e)
}
func (h *expiryHeap[V]) Pop() any {
	old := *h
	e := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	return e
}
