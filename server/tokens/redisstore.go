package tokens

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strconv"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/maintnotifications"
)

// Defaults for RedisOptions.
const (
	// DefaultRedisTimeout bounds every Redis call: dial, write, read and the
	// wait for a pooled connection.
	DefaultRedisTimeout = 250 * time.Millisecond
	// DefaultProbeInterval is how often, while Redis is unreachable, one call
	// tries it again.
	DefaultProbeInterval = time.Second
)

// RedisOptions configure a RedisStore.
type RedisOptions struct {
	// URL is redis://[user:password@]host:port[/db] or rediss://... (TLS).
	URL string
	// Password authenticates when the URL carries none.
	Password string
	// CacheKey encrypts stored values and keys their names; CacheKeySize
	// bytes, required.
	CacheKey []byte
	// PreviousCacheKey is the key CacheKey replaces during a rotation: values
	// it sealed still open, under the names it gave them. Optional.
	PreviousCacheKey []byte
	// Timeout bounds every Redis call; default 250 ms.
	Timeout time.Duration
	// ProbeInterval is how often one call tries Redis again while it is
	// unreachable; default 1 second.
	ProbeInterval time.Duration
	// MaxEntries bounds the in-memory fallback used while Redis is
	// unreachable; default 10,000.
	MaxEntries int
	// Logger receives one warning per change between reachable and
	// unreachable; nil discards.
	Logger *slog.Logger
	// OnStateChange is called with true (reachable) or false once the
	// store's first call to Redis (a PING in NewRedisStore) has answered,
	// and on every change after. Optional.
	OnStateChange func(up bool)
}

// RedisStore is the Store replicas share: entries (sealed with AES-256-GCM
// under the cache key) and refresh leases live in Redis, under names that
// are HMACs of the credentials. Every Redis call is bounded by a timeout;
// while Redis is unreachable or slow, the store serves from memory (what a
// replica alone would do) and tries Redis again every ProbeInterval. It is
// safe for concurrent use; Close it when done.
type RedisStore struct {
	client     *redis.Client
	keys       []*sealKey // the current cache key first
	timeout    time.Duration
	probeEvery time.Duration
	local      *MemoryStore
	log        *slog.Logger
	onChange   func(up bool)

	mu        sync.Mutex
	up        bool
	nextProbe time.Time
	// generation counts state changes: a call's outcome changes the state
	// only if no change happened since the call started, so a slow call that
	// succeeded before Redis died cannot mark it reachable again.
	generation uint64
}

// NewRedisStore connects to Redis (lazily: an unreachable Redis is not an
// error, only a warning) and checks it with one PING. Errors name the
// problem, never the URL's password or a key.
func NewRedisStore(ctx context.Context, opts RedisOptions) (*RedisStore, error) {
	ropts, err := parseRedisURL(opts.URL)
	if err != nil {
		return nil, err
	}
	if ropts.Password == "" {
		ropts.Password = opts.Password
	}
	current, err := newSealKey(opts.CacheKey)
	if err != nil {
		return nil, err
	}
	keys := []*sealKey{current}
	if opts.PreviousCacheKey != nil {
		previous, err := newSealKey(opts.PreviousCacheKey)
		if err != nil {
			return nil, fmt.Errorf("previous %w", err)
		}
		keys = append(keys, previous)
	}
	timeout := opts.Timeout
	if timeout <= 0 {
		timeout = DefaultRedisTimeout
	}
	ropts.DialTimeout, ropts.ReadTimeout, ropts.WriteTimeout, ropts.PoolTimeout = timeout, timeout, timeout, timeout
	ropts.ContextTimeoutEnabled = true
	// No client-side retries: the scripts are not idempotent, and a failure
	// falls back to memory at once rather than after a retry backoff.
	ropts.MaxRetries = -1
	ropts.DialerRetries = 1
	ropts.DisableIdentity = true
	ropts.MaintNotificationsConfig = &maintnotifications.Config{Mode: maintnotifications.ModeDisabled}
	s := &RedisStore{
		client:     redis.NewClient(ropts),
		keys:       keys,
		timeout:    timeout,
		probeEvery: opts.ProbeInterval,
		local:      NewMemoryStore(opts.MaxEntries),
		log:        opts.Logger,
		onChange:   opts.OnStateChange,
	}
	if s.probeEvery <= 0 {
		s.probeEvery = DefaultProbeInterval
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.onChange == nil {
		s.onChange = func(bool) {}
	}
	// The client's own messages (failed dials and the like) are debug
	// detail: the store reports reachability itself, once per change.
	redis.SetLogger(debugLogger{s.log})
	pctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if err := s.client.Ping(pctx).Err(); err != nil {
		s.nextProbe = time.Now().Add(s.probeEvery)
		s.log.LogAttrs(ctx, slog.LevelWarn, "shared token store unreachable; caches and refresh coordination stay in this process until it answers",
			slog.String("redis", ropts.Addr), slog.String("error", err.Error()))
	} else {
		s.up = true
		s.log.LogAttrs(ctx, slog.LevelInfo, "shared token store connected", slog.String("redis", ropts.Addr))
	}
	s.onChange(s.up)
	return s, nil
}

// debugLogger passes go-redis's log lines to slog at debug level.
type debugLogger struct{ log *slog.Logger }

func (l debugLogger) Printf(ctx context.Context, format string, v ...any) {
	l.log.Log(ctx, slog.LevelDebug, fmt.Sprintf(format, v...), slog.String("component", "go-redis"))
}

// parseRedisURL reads a redis:// or rediss:// URL without ever quoting it
// in an error (it may hold a password).
func parseRedisURL(raw string) (*redis.Options, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, errors.New("redis URL does not parse")
	}
	if u.Scheme != "redis" && u.Scheme != "rediss" {
		return nil, errors.New(`redis URL: want scheme "redis" or "rediss" (TLS)`)
	}
	if u.Host == "" {
		return nil, errors.New("redis URL names no host")
	}
	opts, err := redis.ParseURL(raw)
	if err != nil {
		u.User = nil
		return nil, fmt.Errorf("redis URL %s: invalid (check the port, database number and query options)", u.Redacted())
	}
	return opts, nil
}

// CheckRedisURL reports what is wrong with a Redis URL, never quoting it.
func CheckRedisURL(raw string) error {
	_, err := parseRedisURL(raw)
	return err
}

// RedactRedisURL is raw with any password masked, for logs.
func RedactRedisURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparsable)"
	}
	return u.Redacted()
}

// Close closes the connections to Redis.
func (s *RedisStore) Close() error { return s.client.Close() }

// Key implements Store: HMACs under the current cache key, and under the
// previous one during a rotation.
func (s *RedisStore) Key(parts ...string) Key {
	k := Key{name: s.keys[0].names.key(parts...)}
	if len(s.keys) > 1 {
		k.previous = s.keys[1].names.key(parts...)
	}
	return k
}

// Redis key names. The hash tag {name} keeps an entry, its lease and its
// fence counter in one cluster slot, as the scripts need.
func entryKey(name string) string { return "scopeguard:{" + name + "}:entry" }
func leaseKey(name string) string { return "scopeguard:{" + name + "}:lease" }
func fenceKey(name string) string { return "scopeguard:{" + name + "}:fence" }

// Get implements Store. A value that does not open (another cache key, or
// tampered with) is no entry. With Redis unreachable it reads memory; it
// fails only when ctx ends.
func (s *RedisStore) Get(ctx context.Context, key Key) (Entry, bool, error) {
	gen, use := s.useRedis()
	if !use {
		return s.local.Get(ctx, key)
	}
	e, ok, err := s.get(ctx, key.name)
	if err == nil && !ok && key.previous != "" {
		e, ok, err = s.get(ctx, key.previous)
	}
	if s.observe(ctx, gen, err) {
		return e, ok, nil
	}
	if ctx.Err() != nil {
		return Entry{}, false, ctx.Err()
	}
	return s.local.Get(ctx, key)
}

func (s *RedisStore) get(ctx context.Context, name string) (Entry, bool, error) {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	vals, err := s.client.HMGet(ctx, entryKey(name), "f", "v").Result()
	if err != nil {
		return Entry{}, false, err
	}
	fence, _ := vals[0].(string)
	sealed, _ := vals[1].(string)
	if sealed == "" {
		return Entry{}, false, nil
	}
	plain, err := openSealed(s.keys, name, []byte(sealed))
	if err != nil {
		return Entry{}, false, nil
	}
	f, _ := strconv.ParseInt(fence, 10, 64)
	return Entry{Value: plain, Fence: f}, true, nil
}

// putScript stores an unordered entry: fence 0, a time to live.
var putScript = redis.NewScript(`
redis.call('HSET', KEYS[1], 'f', 0, 'v', ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1`)

// Put implements Store. With Redis unreachable it writes memory; it fails
// only when ctx ends.
func (s *RedisStore) Put(ctx context.Context, key Key, value []byte, ttl time.Duration) error {
	if gen, use := s.useRedis(); use {
		rctx, cancel := context.WithTimeout(ctx, s.timeout)
		err := putScript.Run(rctx, s.client, []string{entryKey(key.name)}, s.keys[0].seal(key.name, value), millis(ttl)).Err()
		cancel()
		if s.observe(ctx, gen, err) {
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
	}
	return s.local.Put(ctx, key, value, ttl)
}

// leaseScript takes the lease (SET NX PX) and, only then, the next fence
// from the key's counter, which lives at least as long as the lease.
var leaseScript = redis.NewScript(`
if not redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return 0 end
local fence = redis.call('INCR', KEYS[2])
if redis.call('PTTL', KEYS[2]) < tonumber(ARGV[2]) then redis.call('PEXPIRE', KEYS[2], ARGV[2]) end
return fence`)

// Lease implements Store. With Redis unreachable it leases from memory,
// where the process's own single-flight already orders refreshes; it fails
// only when ctx ends.
func (s *RedisStore) Lease(ctx context.Context, key Key, ttl time.Duration) (Lease, bool, error) {
	if gen, use := s.useRedis(); use {
		owner := randomOwner()
		rctx, cancel := context.WithTimeout(ctx, s.timeout)
		fence, err := leaseScript.Run(rctx, s.client, []string{leaseKey(key.name), fenceKey(key.name)}, owner, millis(ttl)).Int64()
		cancel()
		if s.observe(ctx, gen, err) {
			if fence == 0 {
				return nil, false, nil
			}
			return &redisLease{store: s, key: key, fence: fence, owner: owner}, true, nil
		}
		if ctx.Err() != nil {
			return nil, false, ctx.Err()
		}
	}
	return s.local.Lease(ctx, key, ttl)
}

type redisLease struct {
	store *RedisStore
	key   Key
	fence int64
	owner string
}

func (l *redisLease) Fence() int64 { return l.fence }

// storeScript is the fencing compare-and-set: the value is written only if
// no newer lease was granted (the counter) and no newer entry is stored.
// The counter is kept at least as long as the entry, at no less than the
// stored fence, so no later lease can draw an older fence while it lives.
var storeScript = redis.NewScript(`
local fence = tonumber(ARGV[1])
local newest = tonumber(redis.call('GET', KEYS[2]) or '0')
if fence < newest then return 0 end
local stored = tonumber(redis.call('HGET', KEYS[1], 'f') or '0')
if fence < stored then return 0 end
redis.call('HSET', KEYS[1], 'f', ARGV[1], 'v', ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
local keep = math.max(redis.call('PTTL', KEYS[2]), tonumber(ARGV[3]))
redis.call('SET', KEYS[2], ARGV[1], 'PX', keep)
return 1`)

// Store implements Lease. With Redis unreachable the value goes to memory,
// for this replica's next callers.
func (l *redisLease) Store(ctx context.Context, value []byte, ttl time.Duration) (bool, error) {
	s := l.store
	if gen, use := s.useRedis(); use {
		rctx, cancel := context.WithTimeout(ctx, s.timeout)
		stored, err := storeScript.Run(rctx, s.client, []string{entryKey(l.key.name), fenceKey(l.key.name)},
			l.fence, s.keys[0].seal(l.key.name, value), millis(ttl)).Int()
		cancel()
		if s.observe(ctx, gen, err) {
			return stored == 1, nil
		}
		if ctx.Err() != nil {
			return false, ctx.Err()
		}
	}
	return true, s.local.Put(ctx, l.key, value, ttl)
}

// releaseScript deletes the lease only if this holder still has it.
var releaseScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`)

// Release implements Lease. With Redis unreachable the lease is left to
// expire.
func (l *redisLease) Release(ctx context.Context) error {
	s := l.store
	gen, use := s.useRedis()
	if !use {
		return nil
	}
	rctx, cancel := context.WithTimeout(ctx, s.timeout)
	err := releaseScript.Run(rctx, s.client, []string{leaseKey(l.key.name)}, l.owner).Err()
	cancel()
	s.observe(ctx, gen, err)
	return nil
}

// useRedis is whether a call should go to Redis (always while it answers;
// while it does not, one call per probe interval), and the generation the
// call starts in.
func (s *RedisStore) useRedis() (generation uint64, use bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.up {
		return s.generation, true
	}
	if now := time.Now(); !now.Before(s.nextProbe) {
		s.nextProbe = now.Add(s.probeEvery)
		return s.generation, true
	}
	return s.generation, false
}

// observe records the outcome of a Redis call started in generation and
// reports whether it succeeded. A failure marks Redis unreachable and a
// success reachable, unless the state changed since the call started, or
// the failure is only ctx ending (the callers left), which says nothing
// about Redis.
func (s *RedisStore) observe(ctx context.Context, generation uint64, err error) bool {
	if err != nil && ctx.Err() != nil {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if generation != s.generation || (err == nil) == s.up {
		return err == nil
	}
	s.generation++
	s.up = err == nil
	if s.up {
		s.log.LogAttrs(ctx, slog.LevelWarn, "shared token store reachable again; sharing resumes")
	} else {
		s.nextProbe = time.Now().Add(s.probeEvery)
		s.log.LogAttrs(ctx, slog.LevelWarn, "shared token store unreachable; caches and refresh coordination stay in this process until it answers",
			slog.String("error", err.Error()))
	}
	s.onChange(s.up)
	return err == nil
}

// millis is a Redis time to live: whole milliseconds, at least one.
func millis(d time.Duration) int64 { return max(d.Milliseconds(), 1) }
