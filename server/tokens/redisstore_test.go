package tokens

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/eshopman/scopeguard/internal/logbuf"
	"github.com/eshopman/scopeguard/internal/redistest"
)

// stateLog records a RedisStore's state changes.
type stateLog struct {
	mu     sync.Mutex
	states []bool
}

func (s *stateLog) record(up bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.states = append(s.states, up)
}

func (s *stateLog) get() []bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]bool(nil), s.states...)
}

// newRedisStore is one replica's store on srv, closed when the test ends.
func newRedisStore(t testing.TB, srv *redistest.Server, cacheKey []byte, adjust ...func(*RedisOptions)) *RedisStore {
	t.Helper()
	// A loaded test machine (-race, parallel tests) can stall a call past
	// the default bound; a killed Redis fails fast whatever the bound.
	opts := RedisOptions{URL: srv.URL(), CacheKey: cacheKey, ProbeInterval: 5 * time.Millisecond, Timeout: 5 * time.Second}
	for _, f := range adjust {
		f(&opts)
	}
	s, err := NewRedisStore(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func TestRedisStoreRejectsBadOptions(t *testing.T) {
	t.Parallel()
	key := randomCacheKey(t)
	for _, tt := range []struct {
		name, wantErr string
		opts          RedisOptions
	}{
		{name: "wrong scheme", opts: RedisOptions{URL: "http://u:hunter2@127.0.0.1:6379", CacheKey: key}, wantErr: `want scheme "redis" or "rediss"`},
		{name: "no host", opts: RedisOptions{URL: "redis://", CacheKey: key}, wantErr: "names no host"},
		{name: "bad database", opts: RedisOptions{URL: "redis://u:hunter2@127.0.0.1:6379/db", CacheKey: key}, wantErr: "invalid"},
		{name: "unparsable", opts: RedisOptions{URL: "redis://u:hunter2@127.0.0.1:port", CacheKey: key}, wantErr: "does not parse"},
		{name: "no cache key", opts: RedisOptions{URL: "redis://127.0.0.1:6379"}, wantErr: "cache key is 0 bytes"},
		{name: "short previous key", opts: RedisOptions{URL: "redis://127.0.0.1:6379", CacheKey: key, PreviousCacheKey: key[:8]}, wantErr: "previous"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s, err := NewRedisStore(context.Background(), tt.opts)
			if err == nil {
				_ = s.Close()
				t.Fatalf("NewRedisStore accepted %+v", tt.opts)
			}
			if !strings.Contains(err.Error(), tt.wantErr) || strings.Contains(err.Error(), "hunter2") {
				t.Errorf("error = %q, want one containing %q and no password", err, tt.wantErr)
			}
		})
	}
}

// TestRedisStoreLeasesAreFenced is the ordering contract two replicas rely
// on: one lease at a time, a later lease has a greater fence, a holder whose
// lease was overtaken stores nothing, and releasing cannot free another
// holder's lease.
func TestRedisStoreLeasesAreFenced(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t, redistest.Options{})
	cacheKey := randomCacheKey(t)
	a, b := newRedisStore(t, srv, cacheKey), newRedisStore(t, srv, cacheKey)
	ctx := context.Background()
	key := a.Key("refresh", "client", "secret", "refresh-token")
	if key != b.Key("refresh", "client", "secret", "refresh-token") {
		t.Fatal("two replicas with one cache key name an entry differently")
	}

	first, ok, err := a.Lease(ctx, key, time.Minute)
	if err != nil || !ok {
		t.Fatalf("first lease: %v, %v", ok, err)
	}
	if _, ok, _ := b.Lease(ctx, key, time.Minute); ok {
		t.Fatal("a second replica got the lease while the first held it")
	}
	// The first lease runs out (deleted here rather than waited for).
	raw := srv.Client()
	defer func() { _ = raw.Close() }()
	if err := raw.Del(ctx, leaseKey(key.name)).Err(); err != nil {
		t.Fatal(err)
	}
	second, ok, err := b.Lease(ctx, key, time.Minute)
	if err != nil || !ok || second.Fence() <= first.Fence() {
		t.Fatalf("lease after expiry: ok %v, err %v, fence %v after %d; want a greater fence", ok, err, second, first.Fence())
	}
	// The overtaken holder finishes first: its write must not land.
	if stored, err := first.Store(ctx, []byte("old"), time.Minute); err != nil || stored {
		t.Fatalf("overtaken lease stored = %v, %v; want false", stored, err)
	}
	if stored, err := second.Store(ctx, []byte("new"), time.Minute); err != nil || !stored {
		t.Fatalf("newest lease stored = %v, %v; want true", stored, err)
	}
	if stored, _ := first.Store(ctx, []byte("old"), time.Minute); stored {
		t.Fatal("an older lease overwrote a newer entry")
	}
	if err := first.Release(ctx); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := a.Lease(ctx, key, time.Minute); ok {
		t.Fatal("releasing an overtaken lease freed the newer holder's lease")
	}
	for _, s := range []*RedisStore{a, b} {
		e, ok, err := s.Get(ctx, key)
		if err != nil || !ok || string(e.Value) != "new" || e.Fence != second.Fence() {
			t.Errorf("Get = %q (fence %d), %v, %v; want \"new\" with fence %d", e.Value, e.Fence, ok, err, second.Fence())
		}
	}
	if err := second.Release(ctx); err != nil {
		t.Fatal(err)
	}
	third, ok, _ := a.Lease(ctx, key, time.Minute)
	if !ok || third.Fence() <= second.Fence() {
		t.Fatalf("lease after release: ok %v; want one with a greater fence", ok)
	}
	// Even with the counter gone (evicted), the stored fence keeps order.
	if err := raw.Del(ctx, fenceKey(key.name), leaseKey(key.name)).Err(); err != nil {
		t.Fatal(err)
	}
	fourth, ok, _ := b.Lease(ctx, key, time.Minute)
	if !ok {
		t.Fatal("no lease after the counter was lost")
	}
	if stored, _ := fourth.Store(ctx, []byte("regressed"), time.Minute); stored || fourth.Fence() >= second.Fence() {
		t.Errorf("lease with fence %d (stored entry: %d) stored = %v; want an older fence, refused", fourth.Fence(), second.Fence(), stored)
	}

	// Every key expires.
	for name, rec := range srv.Dump(t) {
		if rec.TTL <= 0 {
			t.Errorf("key %s has no expiry (%v)", name, rec.TTL)
		}
	}
}

func TestRedisStoreRotationKeepsEntriesReadable(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t, redistest.Options{})
	oldKey, newKey := randomCacheKey(t), randomCacheKey(t)
	before := newRedisStore(t, srv, oldKey)
	during := newRedisStore(t, srv, newKey, func(o *RedisOptions) { o.PreviousCacheKey = oldKey })
	after := newRedisStore(t, srv, newKey)
	ctx := context.Background()
	if err := before.Put(ctx, before.Key("introspect", "t"), []byte("sealed under the old key"), time.Minute); err != nil {
		t.Fatal(err)
	}
	if e, ok, _ := during.Get(ctx, during.Key("introspect", "t")); !ok || string(e.Value) != "sealed under the old key" {
		t.Errorf("during rotation: Get = %q, %v; want the old key's entry", e.Value, ok)
	}
	if _, ok, _ := after.Get(ctx, after.Key("introspect", "t")); ok {
		t.Error("after rotation (previous key dropped) the old entry is still read")
	}
	if err := during.Put(ctx, during.Key("introspect", "u"), []byte("new"), time.Minute); err != nil {
		t.Fatal(err)
	}
	if e, ok, _ := after.Get(ctx, after.Key("introspect", "u")); !ok || string(e.Value) != "new" {
		t.Errorf("entry written during rotation: Get = %q, %v; want it under the new key", e.Value, ok)
	}
}

func TestRedisStorePassword(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t, redistest.Options{Password: "s3cret-pass"})
	key := randomCacheKey(t)
	ctx := context.Background()
	for _, tt := range []struct {
		name string
		opts func(*RedisOptions)
		up   bool
	}{
		{name: "from the option", opts: func(o *RedisOptions) { o.Password = "s3cret-pass" }, up: true},
		{name: "from the URL", opts: func(o *RedisOptions) { o.URL = "redis://:s3cret-pass@" + srv.Addr }, up: true},
		{name: "missing", opts: func(*RedisOptions) {}, up: false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var states stateLog
			logs := &logbuf.Buffer{}
			s := newRedisStore(t, srv, key, tt.opts, func(o *RedisOptions) {
				o.OnStateChange = states.record
				o.Logger = slog.New(slog.NewTextHandler(logs, nil))
			})
			if got := states.get(); len(got) != 1 || got[0] != tt.up {
				t.Errorf("states = %v, want [%v]", got, tt.up)
			}
			if strings.Contains(logs.String(), "s3cret-pass") {
				t.Errorf("the password is in the logs: %s", logs)
			}
			// Unauthenticated or not, calls are answered.
			if err := s.Put(ctx, s.Key("introspect", tt.name), []byte("v"), time.Minute); err != nil {
				t.Fatal(err)
			}
			if _, ok, err := s.Get(ctx, s.Key("introspect", tt.name)); !ok || err != nil {
				t.Errorf("Get after Put = %v, %v", ok, err)
			}
		})
	}
}

// TestRedisStoreFallsBackAndRecovers kills Redis under a store: calls keep
// working from memory, the state flips once each way with one warning
// each, and Redis serves again once it is back.
func TestRedisStoreFallsBackAndRecovers(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t, redistest.Options{})
	var states stateLog
	logs := &logbuf.Buffer{}
	s := newRedisStore(t, srv, randomCacheKey(t), func(o *RedisOptions) {
		o.OnStateChange = states.record
		o.Logger = slog.New(slog.NewTextHandler(logs, nil))
	})
	ctx := context.Background()
	key := s.Key("introspect", "token")
	if err := s.Put(ctx, key, []byte("in redis"), time.Minute); err != nil {
		t.Fatal(err)
	}

	srv.Kill()
	for i := range 20 {
		if _, ok, err := s.Get(ctx, key); err != nil || ok {
			t.Fatalf("Get %d with Redis down = %v, %v; want a miss from memory, no error", i, ok, err)
		}
	}
	if err := s.Put(ctx, key, []byte("in memory"), time.Minute); err != nil {
		t.Fatal(err)
	}
	lease, held, err := s.Lease(ctx, key, time.Minute)
	if err != nil || !held {
		t.Fatalf("Lease with Redis down = %v, %v; want a lease from memory", held, err)
	}
	if stored, err := lease.Store(ctx, []byte("refreshed in memory"), time.Minute); err != nil || !stored {
		t.Fatalf("Store with Redis down = %v, %v", stored, err)
	}
	if err := lease.Release(ctx); err != nil {
		t.Fatal(err)
	}

	srv.Restart(t)
	waitFor(t, "the store to use Redis again", func() bool {
		e, ok, _ := s.Get(ctx, key)
		return !ok || string(e.Value) != "refreshed in memory" // a fresh Redis has no entry
	})
	if err := s.Put(ctx, key, []byte("in redis again"), time.Minute); err != nil {
		t.Fatal(err)
	}
	if n := len(srv.Dump(t)); n != 1 {
		t.Errorf("Redis holds %d keys after recovery, want the 1 entry just put", n)
	}
	want := []bool{true, false, true}
	if got := states.get(); len(got) != len(want) || got[0] != want[0] || got[1] != want[1] || got[2] != want[2] {
		t.Errorf("state changes = %v, want %v", got, want)
	}
	if n := strings.Count(logs.String(), "level=WARN"); n != 2 {
		t.Errorf("%d warnings, want 2 (one per change):\n%s", n, logs)
	}
}
