package tokens

import (
	"strconv"
	"testing"
	"time"
)

func TestTTLCacheExpiresEntries(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
	c := newTTLCache[int](10)
	c.put("a", 1, now.Add(time.Minute), now)
	if v, ok := c.get("a", now.Add(59*time.Second)); !ok || v != 1 {
		t.Errorf("get before expiry = %v, %v; want 1, true", v, ok)
	}
	if _, ok := c.get("a", now.Add(time.Minute)); ok {
		t.Error("get at expiry hit")
	}
	if c.size() != 0 {
		t.Errorf("size after expired get = %d, want 0", c.size())
	}
	c.put("a", 2, now.Add(time.Minute), now)
	c.put("a", 3, now.Add(2*time.Minute), now)
	if v, ok := c.get("a", now.Add(90*time.Second)); !ok || v != 3 {
		t.Errorf("get after replace = %v, %v; want 3, true", v, ok)
	}
}

func TestTTLCacheStaysBounded(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
	c := newTTLCache[int](3)
	// Expiries 5, 1, 4, 2, 3 minutes out; the bound keeps the three that
	// expire last, dropping the soonest each time.
	for i, minutes := range []int{5, 1, 4, 2, 3} {
		c.put(strconv.Itoa(minutes), i, now.Add(time.Duration(minutes)*time.Minute), now)
		if c.size() > 3 {
			t.Fatalf("size = %d after %d puts, want at most 3", c.size(), i+1)
		}
	}
	for key, want := range map[string]bool{"1": false, "2": false, "3": true, "4": true, "5": true} {
		if _, ok := c.get(key, now); ok != want {
			t.Errorf("get(%s) hit = %v, want %v", key, ok, want)
		}
	}
	// At +3m01s "3" has expired: a new entry replaces it, not a live one.
	later := now.Add(3*time.Minute + time.Second)
	c.put("6", 6, later.Add(time.Hour), later)
	for key, want := range map[string]bool{"3": false, "4": true, "5": true, "6": true} {
		if _, ok := c.get(key, later); ok != want {
			t.Errorf("after expiry, get(%s) hit = %v, want %v", key, ok, want)
		}
	}
}

// size is the number of entries, expired ones not yet dropped included.
func (c *ttlCache[V]) size() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.entries)
}
