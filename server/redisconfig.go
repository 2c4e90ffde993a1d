package server

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"time"

	"github.com/eshopman/scopeguard/server/tokens"
)

// The secrets of the shared store come from the environment only, never
// from flags (which other users of the machine can read).
const (
	EnvRedisPassword    = EnvPrefix + "REDIS_PASSWORD"
	EnvCacheKey         = EnvPrefix + "CACHE_KEY"
	EnvCacheKeyPrevious = EnvPrefix + "CACHE_KEY_PREVIOUS"
)

// RedisConfig is the shared store replicas keep their token caches and
// refresh leases in. An empty URL keeps everything in the process.
type RedisConfig struct {
	// URL is redis:// or rediss:// (TLS); empty disables the shared store.
	URL string
	// Timeout bounds every Redis call.
	Timeout time.Duration
	// LeaseTTL is how long a replica's refresh lease lasts; a replica that
	// dies mid-refresh holds the others up this long at most.
	LeaseTTL time.Duration
	// Password authenticates when the URL carries none
	// (SCOPEGUARD_REDIS_PASSWORD).
	Password string
	// CacheKey is the base64 of 32 random bytes that encrypts stored values
	// and keys their names (SCOPEGUARD_CACHE_KEY); required with URL.
	CacheKey string
	// PreviousCacheKey is the key CacheKey replaces, during a rotation
	// (SCOPEGUARD_CACHE_KEY_PREVIOUS).
	PreviousCacheKey string
}

func defaultRedisConfig() RedisConfig {
	return RedisConfig{Timeout: tokens.DefaultRedisTimeout, LeaseTTL: tokens.DefaultLeaseTTL}
}

func (r *RedisConfig) registerFlags(fs *flag.FlagSet) {
	fs.StringVar(&r.URL, "redis-url", r.URL, "Redis shared by replicas for tokens, introspections and refresh leases (redis:// or rediss://); empty keeps them in the process. Needs SCOPEGUARD_CACHE_KEY")
	fs.DurationVar(&r.Timeout, "redis-timeout", r.Timeout, "bound on every Redis call; past it the call is served from the process")
	fs.DurationVar(&r.LeaseTTL, "redis-lease-ttl", r.LeaseTTL, "how long a replica's refresh lease lasts (a replica dying mid-refresh holds the others up this long)")
}

// LoadSecrets reads the shared store's secrets from the environment.
func (r *RedisConfig) LoadSecrets(lookup func(string) (string, bool)) {
	for name, field := range map[string]*string{
		EnvRedisPassword: &r.Password, EnvCacheKey: &r.CacheKey, EnvCacheKeyPrevious: &r.PreviousCacheKey,
	} {
		if v, ok := lookup(name); ok {
			*field = v
		}
	}
}

func (r RedisConfig) validate() []error {
	if r.URL == "" {
		return nil
	}
	var errs []error
	if err := tokens.CheckRedisURL(r.URL); err != nil {
		errs = append(errs, fmt.Errorf("--redis-url: %w", err))
	}
	if r.CacheKey == "" {
		errs = append(errs, errors.New("--redis-url needs "+EnvCacheKey+": the base64 of 32 random bytes (openssl rand -base64 32), the same on every replica"))
	} else if _, err := tokens.ParseCacheKey(r.CacheKey); err != nil {
		errs = append(errs, fmt.Errorf("%s: %w", EnvCacheKey, err))
	}
	if r.PreviousCacheKey != "" {
		if _, err := tokens.ParseCacheKey(r.PreviousCacheKey); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", EnvCacheKeyPrevious, err))
		}
	}
	if r.Timeout <= 0 {
		errs = append(errs, fmt.Errorf("--redis-timeout %s: want a positive duration", r.Timeout))
	}
	if r.LeaseTTL <= 0 {
		errs = append(errs, fmt.Errorf("--redis-lease-ttl %s: want a positive duration", r.LeaseTTL))
	}
	return errs
}

// LogValue logs the shared store's settings with its secrets redacted.
func (r RedisConfig) LogValue() slog.Value {
	set := func(s string) string {
		if s == "" {
			return ""
		}
		return "[set]"
	}
	return slog.GroupValue(
		slog.String("url", tokens.RedactRedisURL(r.URL)),
		slog.Duration("timeout", r.Timeout),
		slog.Duration("lease_ttl", r.LeaseTTL),
		slog.String("password", set(r.Password)),
		slog.String("cache_key", set(r.CacheKey)),
		slog.String("cache_key_previous", set(r.PreviousCacheKey)),
	)
}

// sharedStore opens the Redis store cfg names, reporting its state to
// metrics; nil when none is configured. Validate has checked cfg.
func (r RedisConfig) sharedStore(log *slog.Logger, metrics *Metrics) (*tokens.RedisStore, error) {
	if r.URL == "" {
		return nil, nil
	}
	key, err := tokens.ParseCacheKey(r.CacheKey)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", EnvCacheKey, err)
	}
	var previous []byte
	if r.PreviousCacheKey != "" {
		if previous, err = tokens.ParseCacheKey(r.PreviousCacheKey); err != nil {
			return nil, fmt.Errorf("%s: %w", EnvCacheKeyPrevious, err)
		}
	}
	store, err := tokens.NewRedisStore(context.Background(), tokens.RedisOptions{
		URL: r.URL, Password: r.Password, CacheKey: key, PreviousCacheKey: previous,
		Timeout: r.Timeout, Logger: log, OnStateChange: metrics.sharedStoreUp,
	})
	if err != nil {
		return nil, fmt.Errorf("--redis-url: %w", err)
	}
	return store, nil
}
