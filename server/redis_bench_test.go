package server_test

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	scopeguardv1 "github.com/eshopman/scopeguard/gen/scopeguard/v1"
	"github.com/eshopman/scopeguard/server"
	"github.com/eshopman/scopeguard/server/hubspottest"
)

// processCPU is this process's CPU time (user and system).
func processCPU(b *testing.B) time.Duration {
	b.Helper()
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkRefreshTokenCacheHit serves a fresh access token through the
// whole server (bufconn, interceptors, handler) from the in-process store
// and from Redis, side by side. cpu-µs/op is this process's CPU (client and
// server), redis-cpu-µs/op the redis-server's.
func BenchmarkRefreshTokenCacheHit(b *testing.B) {
	for _, store := range []string{"memory", "redis"} {
		b.Run("store="+store, func(b *testing.B) {
			fake := hubspottest.Start(b, hubspottest.Options{})
			fake.AddApp(hubspottest.App{ClientID: testClientID, ClientSecret: testClientSecret, AppID: 4242})
			cfg := server.DefaultConfig()
			cfg.HubSpotAPIURL = fake.URL
			cfg.AppsFile = filepath.Join(b.TempDir(), "apps.yaml")
			if err := os.WriteFile(cfg.AppsFile, []byte(testAppsYAML), 0o600); err != nil {
				b.Fatal(err)
			}
			var c *cluster
			if store == "redis" {
				c = newCluster(b, 0, nil)
				cfg.Redis.URL, cfg.Redis.CacheKey = c.redis.URL(), c.cacheKey
			}
			log := slog.New(slog.NewJSONHandler(io.Discard, &slog.HandlerOptions{Level: slog.LevelInfo}))
			metrics := server.NewMetrics()
			svc, err := server.BuildService(cfg, log, metrics)
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { _ = svc.Close() })
			client := serveBufconn(b, cfg, log, svc, metrics).client()
			req := &scopeguardv1.RefreshTokenRequest{RefreshToken: fake.MintRefreshToken(shopGrant), App: "shop"}
			if _, err := client.RefreshToken(b.Context(), req); err != nil {
				b.Fatal(err)
			}
			var redisBefore time.Duration
			if c != nil {
				redisBefore = c.redis.CPUTime(b)
			}
			cpuBefore := processCPU(b)
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				resp, err := client.RefreshToken(b.Context(), req)
				if err != nil || !resp.GetShared() {
					b.Fatalf("cache hit = %v, %v", resp, err)
				}
			}
			b.StopTimer()
			b.ReportMetric(float64((processCPU(b)-cpuBefore).Microseconds())/float64(b.N), "cpu-µs/op")
			if c != nil {
				b.ReportMetric(float64((c.redis.CPUTime(b)-redisBefore).Microseconds())/float64(b.N), "redis-cpu-µs/op")
			}
			if n := fake.Calls(hubspottest.EndpointToken); n != 1 {
				b.Fatalf("upstream refreshes = %d, want 1", n)
			}
		})
	}
}

// BenchmarkRedisReplicaBurst measures bursts of concurrent RefreshToken
// calls for one new refresh token spread over three replicas sharing
// Redis, HubSpot answering after 20 ms: upstream/op is HubSpot refreshes per
// burst (without sharing it would be callers/op; with per-replica
// single-flight only, 3).
func BenchmarkRedisReplicaBurst(b *testing.B) {
	for _, perReplica := range []int{1, 10, 70, 333} {
		b.Run(fmt.Sprintf("callers=%d", 3*perReplica), func(b *testing.B) {
			c := newCluster(b, 3, func(cfg *server.Config) { cfg.Redis.Timeout = server.DefaultConfig().Redis.Timeout })
			c.fake.InjectFault(hubspottest.EndpointToken, hubspottest.Fault{Latency: 20 * time.Millisecond})
			upstream := 0
			for b.Loop() {
				before := c.upstreamRefreshes()
				req := &scopeguardv1.RefreshTokenRequest{RefreshToken: c.fake.MintRefreshToken(shopGrant), App: "shop"}
				start := make(chan struct{})
				var wg sync.WaitGroup
				for i := range 3 * perReplica {
					client := c.replicas[i%3].client()
					wg.Go(func() {
						<-start
						if _, err := client.RefreshToken(b.Context(), req); err != nil {
							b.Error(err)
						}
					})
				}
				close(start)
				wg.Wait()
				upstream += c.upstreamRefreshes() - before
			}
			b.ReportMetric(float64(upstream)/float64(b.N), "upstream/op")
			b.ReportMetric(float64(3*perReplica), "callers/op")
		})
	}
}
