package tokens

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/eshopman/scopeguard/server/hubspot"
	"github.com/eshopman/scopeguard/server/hubspottest"
)

// callerCounts are the concurrency levels BENCHMARKS.md reports.
var callerCounts = []int{1, 10, 100, 1000}

// refreshBurst starts callers goroutines that refresh the same new refresh
// token at once and returns how many requests reached HubSpot's token
// endpoint.
func refreshBurst(tb testing.TB, env *testEnv, r *Refresher, callers int) int {
	tb.Helper()
	before := env.srv.Calls(hubspottest.EndpointToken)
	req := RefreshRequest{App: env.app, RefreshToken: hubspot.Secret(env.srv.MintRefreshToken(env.grant))}
	start := make(chan struct{})
	var wg sync.WaitGroup
	for range callers {
		wg.Go(func() {
			<-start
			if _, err := r.Refresh(context.Background(), req); err != nil {
				tb.Errorf("refresh: %v", err)
			}
		})
	}
	close(start)
	wg.Wait()
	return env.srv.Calls(hubspottest.EndpointToken) - before
}

// TestUpstreamCallsPerCallers is the measurement behind BENCHMARKS.md: each
// burst of concurrent callers on one refresh token reaches HubSpot once. The
// fake answers after 20 ms, so the callers overlap the way they do against
// the real HubSpot. Run with -v to print the table.
func TestUpstreamCallsPerCallers(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t, hubspottest.Options{})
	env.srv.InjectFault(hubspottest.EndpointToken, hubspottest.Fault{Latency: 20 * time.Millisecond})
	r := env.refresher(t, env.client(t, hubspot.OAuthVersion202603))
	t.Log("callers  upstream token calls")
	for _, callers := range callerCounts {
		calls := refreshBurst(t, env, r, callers)
		t.Logf("%7d  %d", callers, calls)
		if calls != 1 {
			t.Errorf("%d concurrent callers made %d upstream calls, want 1", callers, calls)
		}
	}
}

// BenchmarkRefreshBurst measures one burst of concurrent callers on a new
// refresh token, HubSpot answering after 20 ms: time per burst and upstream
// calls per burst (upstream/op).
func BenchmarkRefreshBurst(b *testing.B) {
	for _, callers := range callerCounts {
		b.Run(fmt.Sprintf("callers=%d", callers), func(b *testing.B) {
			env := newTestEnv(b, hubspottest.Options{})
			env.srv.InjectFault(hubspottest.EndpointToken, hubspottest.Fault{Latency: 20 * time.Millisecond})
			r := env.refresher(b, env.client(b, hubspot.OAuthVersion202603))
			var upstream int
			b.ResetTimer()
			for b.Loop() {
				upstream += refreshBurst(b, env, r, callers)
			}
			b.ReportMetric(float64(upstream)/float64(b.N), "upstream/op")
			b.ReportMetric(float64(callers), "callers/op")
		})
	}
}

// BenchmarkRefreshCached measures serving a fresh token from memory.
func BenchmarkRefreshCached(b *testing.B) {
	env := newTestEnv(b, hubspottest.Options{})
	r := env.refresher(b, env.client(b, hubspot.OAuthVersion202603))
	req := RefreshRequest{App: env.app, RefreshToken: hubspot.Secret(env.srv.MintRefreshToken(env.grant))}
	if _, err := r.Refresh(context.Background(), req); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := r.Refresh(context.Background(), req); err != nil {
				b.Error(err)
			}
		}
	})
}
