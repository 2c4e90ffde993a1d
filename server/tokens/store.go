package tokens

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"sync"
	"time"
)

// Store keeps the token caches' entries and orders the refreshes that write
// them. MemoryStore serves one process; RedisStore shares entries and leases
// between replicas. Values reach a Store already encoded; a Store that keeps
// them outside the process encrypts them.
type Store interface {
	// Key names the entry for parts (credentials and the like): keyed hashes
	// of them, never the parts themselves.
	Key(parts ...string) Key
	// Get returns key's entry; ok is false when there is none. Entries
	// vanish when their time to live ends.
	Get(ctx context.Context, key Key) (entry Entry, ok bool, err error)
	// Put stores value under key for ttl, with no ordering: for answers any
	// writer may replace (introspections).
	Put(ctx context.Context, key Key, value []byte, ttl time.Duration) error
	// Lease takes key's refresh lease for ttl unless another holder has it
	// (ok false). Every lease carries a fence newer than any earlier lease on
	// key; only the newest may store an entry.
	Lease(ctx context.Context, key Key, ttl time.Duration) (lease Lease, ok bool, err error)
}

// Lease is the right to refresh one key, granted by a Store.
type Lease interface {
	// Fence orders the leases on one key: a later lease has a greater fence.
	Fence() int64
	// Store writes value under the lease's key for ttl if no newer lease was
	// granted and no newer entry is stored; stored reports whether it was.
	Store(ctx context.Context, value []byte, ttl time.Duration) (stored bool, err error)
	// Release gives the lease up if it is still held.
	Release(ctx context.Context) error
}

// Key names one entry.
type Key struct {
	// name is the entry's keyed hash under the current key.
	name string
	// previous is the keyed hash under the previous key during a cache key
	// rotation; empty otherwise.
	previous string
}

// Entry is a stored value and the fence of the lease that wrote it (0 for
// values written with Put).
type Entry struct {
	Value []byte
	Fence int64
}

// MemoryStore is the Store of a single process: bounded, in memory, keyed
// by HMACs under a per-process random secret. Its zero value is not usable;
// call NewMemoryStore.
type MemoryStore struct {
	keys    keyer
	entries *ttlCache[Entry]
	now     func() time.Time

	mu      sync.Mutex
	leases  map[string]*memoryLease
	fences  map[string]int64 // the newest fence granted per key with a live lease or entry
	counter int64
}

// NewMemoryStore returns a store of at most maxEntries entries (default
// 10,000 when not positive).
func NewMemoryStore(maxEntries int) *MemoryStore {
	return &MemoryStore{
		keys:    newKeyer(),
		entries: newTTLCache[Entry](positiveOr(maxEntries, DefaultMaxEntries)),
		now:     time.Now,
		leases:  map[string]*memoryLease{},
		fences:  map[string]int64{},
	}
}

// Key implements Store.
func (s *MemoryStore) Key(parts ...string) Key { return Key{name: s.keys.key(parts...)} }

// Get implements Store; it never fails.
func (s *MemoryStore) Get(_ context.Context, key Key) (Entry, bool, error) {
	e, ok := s.entries.get(key.name, s.now())
	return e, ok, nil
}

// Put implements Store; it never fails.
func (s *MemoryStore) Put(_ context.Context, key Key, value []byte, ttl time.Duration) error {
	now := s.now()
	s.entries.put(key.name, Entry{Value: value}, now.Add(ttl), now)
	return nil
}

// Lease implements Store; it never fails. Fences come from one counter for
// every key, which is monotonic per key as a fence must be.
func (s *MemoryStore) Lease(_ context.Context, key Key, ttl time.Duration) (Lease, bool, error) {
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	if l, held := s.leases[key.name]; held && now.Before(l.expires) {
		return nil, false, nil
	}
	s.counter++
	l := &memoryLease{store: s, key: key.name, fence: s.counter, owner: randomOwner(), expires: now.Add(ttl)}
	s.leases[key.name] = l
	s.fences[key.name] = l.fence
	return l, true, nil
}

type memoryLease struct {
	store   *MemoryStore
	key     string
	fence   int64
	owner   string
	expires time.Time
}

func (l *memoryLease) Fence() int64 { return l.fence }

func (l *memoryLease) Store(_ context.Context, value []byte, ttl time.Duration) (bool, error) {
	s := l.store
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	if newest := s.fences[l.key]; l.fence < newest {
		return false, nil
	}
	if e, ok := s.entries.get(l.key, now); ok && e.Fence > l.fence {
		return false, nil
	}
	s.entries.put(l.key, Entry{Value: value, Fence: l.fence}, now.Add(ttl), now)
	return true, nil
}

func (l *memoryLease) Release(context.Context) error {
	s := l.store
	s.mu.Lock()
	defer s.mu.Unlock()
	if cur, ok := s.leases[l.key]; ok && cur.owner == l.owner {
		delete(s.leases, l.key)
		// The entry it stored, if any, carries the fence: the counter is
		// shared by every key, so forgetting this key's newest fence cannot
		// let an older lease in.
		delete(s.fences, l.key)
	}
	return nil
}

// randomOwner identifies one lease holder: 128 random bits.
func randomOwner() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b) // never fails on supported platforms
	return hex.EncodeToString(b)
}
