package server

import (
	"context"
	"encoding/base64"
	"log/slog"
	"strings"
	"testing"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	scopeguardv1 "github.com/eshopman/scopeguard/gen/scopeguard/v1"
	"github.com/eshopman/scopeguard/server/tokens"
)

func TestRedisConfigValidation(t *testing.T) {
	t.Parallel()
	key := base64.StdEncoding.EncodeToString(make([]byte, 32))
	for _, tt := range []struct {
		name    string
		redis   func(*RedisConfig)
		wantErr []string
	}{
		{name: "no Redis needs no key", redis: func(*RedisConfig) {}},
		{name: "a cache key without Redis is ignored", redis: func(r *RedisConfig) { r.CacheKey = "junk" }},
		{name: "Redis with a key", redis: func(r *RedisConfig) { r.URL = "redis://127.0.0.1:6379"; r.CacheKey = key }},
		{name: "TLS Redis with a password and a previous key", redis: func(r *RedisConfig) {
			r.URL = "rediss://:pw@redis.internal:6380/2"
			r.CacheKey, r.PreviousCacheKey = key, key
		}},
		{
			name:    "Redis without a key",
			redis:   func(r *RedisConfig) { r.URL = "redis://127.0.0.1:6379" },
			wantErr: []string{"--redis-url needs SCOPEGUARD_CACHE_KEY"},
		},
		{
			name: "bad keys, URL and durations",
			redis: func(r *RedisConfig) {
				r.URL, r.CacheKey, r.PreviousCacheKey = "tcp://:hunter2@127.0.0.1:6379", "c2hvcnQ=", "%%%"
				r.Timeout, r.LeaseTTL = 0, -time.Second
			},
			wantErr: []string{"--redis-url:", "SCOPEGUARD_CACHE_KEY: decodes to 5 bytes", "SCOPEGUARD_CACHE_KEY_PREVIOUS: not base64", "--redis-timeout", "--redis-lease-ttl"},
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cfg := DefaultConfig()
			tt.redis(&cfg.Redis)
			err := cfg.Validate()
			if len(tt.wantErr) == 0 {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatal("Validate accepted the configuration")
			}
			for _, want := range tt.wantErr {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("Validate error lacks %q: %v", want, err)
				}
			}
			if strings.Contains(err.Error(), "hunter2") {
				t.Errorf("Validate error quotes the password: %v", err)
			}
		})
	}
}

func TestRedisSecretsComeFromTheEnvironmentAndAreNotLogged(t *testing.T) {
	t.Parallel()
	env := map[string]string{
		"SCOPEGUARD_REDIS_PASSWORD":     "pw-from-env",
		"SCOPEGUARD_CACHE_KEY":          "a2V5LWZyb20tZW52LWtleS1mcm9tLWVudi1rZXktZnI=",
		"SCOPEGUARD_CACHE_KEY_PREVIOUS": "cHJldmlvdXMta2V5LXByZXZpb3VzLWtleS1wcmV2aW8=",
	}
	cfg := DefaultConfig()
	cfg.Redis.URL = "redis://user:pw-in-url@127.0.0.1:6379"
	cfg.Redis.LoadSecrets(func(k string) (string, bool) { v, ok := env[k]; return v, ok })
	if cfg.Redis.Password != env["SCOPEGUARD_REDIS_PASSWORD"] || cfg.Redis.CacheKey != env["SCOPEGUARD_CACHE_KEY"] ||
		cfg.Redis.PreviousCacheKey != env["SCOPEGUARD_CACHE_KEY_PREVIOUS"] {
		t.Fatalf("LoadSecrets = %+v", cfg.Redis)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	var logs strings.Builder
	slog.New(slog.NewJSONHandler(&logs, nil)).Info("starting", slog.Any("config", cfg))
	for _, secret := range append([]string{"pw-in-url"}, env["SCOPEGUARD_REDIS_PASSWORD"], env["SCOPEGUARD_CACHE_KEY"], env["SCOPEGUARD_CACHE_KEY_PREVIOUS"]) {
		if strings.Contains(logs.String(), secret) {
			t.Errorf("the startup log holds %q: %s", secret, logs.String())
		}
	}
	if !strings.Contains(logs.String(), `"cache_key":"[set]"`) || !strings.Contains(logs.String(), "127.0.0.1:6379") {
		t.Errorf("the startup log does not show the Redis settings: %s", logs.String())
	}
}

func TestLeaseTimeoutIsUnavailableWithRetryInfo(t *testing.T) {
	t.Parallel()
	err := toStatus(context.Background(), &tokens.LeaseTimeoutError{Waited: 30 * time.Second})
	st := status.Convert(err)
	if st.Code() != codes.Unavailable {
		t.Fatalf("code = %v, want Unavailable", st.Code())
	}
	var reason string
	var retry *errdetails.RetryInfo
	for _, d := range st.Details() {
		switch d := d.(type) {
		case *errdetails.ErrorInfo:
			reason = d.GetReason()
		case *errdetails.RetryInfo:
			retry = d
		}
	}
	if reason != scopeguardv1.ErrorReason_REFRESH_LEASE_TIMEOUT.String() || retry == nil || retry.GetRetryDelay().AsDuration() <= 0 {
		t.Errorf("details = %v, want ErrorInfo REFRESH_LEASE_TIMEOUT and a RetryInfo delay", st.Details())
	}
}
