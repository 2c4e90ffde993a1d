package server_test

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc/health/grpc_health_v1"

	scopeguardv1 "github.com/eshopman/scopeguard/gen/scopeguard/v1"
	"github.com/eshopman/scopeguard/internal/logbuf"
	"github.com/eshopman/scopeguard/internal/redistest"
	"github.com/eshopman/scopeguard/server"
	"github.com/eshopman/scopeguard/server/hubspottest"
)

// cluster is replicas of scopeguard, each its own process state (service,
// token caches, store), sharing one fake HubSpot and one real Redis.
type cluster struct {
	fake     *hubspottest.Server
	redis    *redistest.Server
	replicas []*replica
	cacheKey string
}

type replica struct {
	*testServer
	svc *server.Service
}

func newCluster(tb testing.TB, replicas int, configure func(*server.Config)) *cluster {
	tb.Helper()
	fake := hubspottest.Start(tb, hubspottest.Options{})
	fake.AddApp(hubspottest.App{ClientID: testClientID, ClientSecret: testClientSecret, AppID: 4242})
	c := &cluster{fake: fake, redis: redistest.Start(tb, redistest.Options{}), cacheKey: newCacheKey(tb)}
	appsFile := filepath.Join(tb.TempDir(), "apps.yaml")
	if err := os.WriteFile(appsFile, []byte(testAppsYAML), 0o600); err != nil {
		tb.Fatal(err)
	}
	for range replicas {
		cfg := server.DefaultConfig()
		cfg.HubSpotAPIURL = fake.URL
		cfg.AppsFile = appsFile
		cfg.Redis.URL = c.redis.URL()
		cfg.Redis.CacheKey = c.cacheKey
		// A loaded test machine (-race, parallel tests) can stall a Redis
		// call past the default bound; these tests are about sharing.
		// Killed Redis fails fast (connection refused) whatever the bound.
		cfg.Redis.Timeout = 5 * time.Second
		if configure != nil {
			configure(&cfg)
		}
		c.replicas = append(c.replicas, startReplica(tb, cfg))
	}
	return c
}

// startReplica serves the production service built from cfg over bufconn,
// logging JSON at debug into the replica's log buffer.
func startReplica(tb testing.TB, cfg server.Config) *replica {
	tb.Helper()
	if err := cfg.Validate(); err != nil {
		tb.Fatal(err)
	}
	logs := &logbuf.Buffer{}
	log := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	metrics := server.NewMetrics()
	svc, err := server.BuildService(cfg, log, metrics)
	if err != nil {
		tb.Fatalf("BuildService: %v", err)
	}
	tb.Cleanup(func() { _ = svc.Close() }) // runs after the server stops
	ts := serveBufconn(tb, cfg, log, svc, metrics)
	ts.logs = logs
	return &replica{testServer: ts, svc: svc}
}

func newCacheKey(tb testing.TB) string {
	tb.Helper()
	k := make([]byte, 32)
	if _, err := rand.Read(k); err != nil {
		tb.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString(k)
}

// callsPerReplica is each replica's share of a burst: 3 x 70 calls.
const callsPerReplica = 70

// burst sends callsPerReplica concurrent RefreshToken calls for
// refreshToken to each replica (ctx bounds them) and returns the answers and errors, in
// replica order. Before it returns it waits, when hold is set, until every
// call reached its server, then closes hold so HubSpot answers.
func (c *cluster) burst(ctx context.Context, t *testing.T, refreshToken string, hold chan struct{}) ([]*scopeguardv1.RefreshTokenResponse, []error) {
	t.Helper()
	const perReplica = callsPerReplica
	n := perReplica * len(c.replicas)
	answers, errs := make([]*scopeguardv1.RefreshTokenResponse, n), make([]error, n)
	started := make([]float64, len(c.replicas))
	for i, r := range c.replicas {
		started[i] = startedRefreshes(t, r)
	}
	var wg sync.WaitGroup
	for i := range n {
		client := c.replicas[i/perReplica].client()
		wg.Go(func() {
			answers[i], errs[i] = client.RefreshToken(ctx, &scopeguardv1.RefreshTokenRequest{RefreshToken: refreshToken, App: "shop"})
		})
	}
	if hold != nil {
		for i, r := range c.replicas {
			waitUntil(t, fmt.Sprintf("%d calls on replica %d", perReplica, i), func() bool {
				return startedRefreshes(t, r) == started[i]+float64(perReplica)
			})
		}
		close(hold)
	}
	wg.Wait()
	return answers, errs
}

var startedSeries = regexp.MustCompile(`(?m)^grpc_server_started_total\{[^}]*grpc_method="RefreshToken",[^}]*\} (\d+)$`)

// startedRefreshes is how many RefreshToken calls a replica has received,
// whatever their caller label.
func startedRefreshes(t *testing.T, r *replica) float64 {
	t.Helper()
	total := 0.0
	for _, m := range startedSeries.FindAllStringSubmatch(scrape(t, r.metrics), -1) {
		n, _ := strconv.ParseFloat(m[1], 64)
		total += n
	}
	return total
}

// sharedStoreUp reads a replica's scopeguard_shared_store_up gauge.
func sharedStoreUp(t *testing.T, r *replica) string {
	t.Helper()
	m := regexp.MustCompile(`(?m)^scopeguard_shared_store_up (\S+)$`).FindStringSubmatch(scrape(t, r.metrics))
	if m == nil {
		return "absent"
	}
	return m[1]
}

// waitUntil polls cond until it holds, failing after 20 seconds.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func (c *cluster) upstreamRefreshes() int { return c.fake.Calls(hubspottest.EndpointToken) }

// TestRedisReplicasShareOneRefresh is the acceptance test: three
// replicas, 70 concurrent RefreshToken calls each for one refresh token,
// exactly one refresh reaches HubSpot; a later call on any replica is
// served from the shared cache.
func TestRedisReplicasShareOneRefresh(t *testing.T) {
	t.Parallel()
	c := newCluster(t, 3, nil)
	rt := c.fake.MintRefreshToken(shopGrant)
	hold := make(chan struct{})
	c.fake.InjectFault(hubspottest.EndpointToken, hubspottest.Fault{Block: hold, Times: 1})

	answers, errs := c.burst(t.Context(), t, rt, hold)
	leaders := 0
	for i := range answers {
		if errs[i] != nil {
			t.Fatalf("call %d: %v", i, errs[i])
		}
		if answers[i].GetAccessToken() != answers[0].GetAccessToken() {
			for j, r := range c.replicas {
				t.Logf("replica %d warnings: %v", j, regexp.MustCompile(`.*"level":"WARN".*`).FindAllString(r.logs.String(), -1))
			}
			t.Fatalf("call %d got another access token", i)
		}
		if !answers[i].GetShared() {
			leaders++
		}
	}
	if n := c.upstreamRefreshes(); n != 1 {
		t.Errorf("upstream refreshes for 3 x 70 concurrent calls = %d, want 1", n)
	}
	if leaders != 1 {
		t.Errorf("%d answers not shared, want 1 (the call whose replica refreshed)", leaders)
	}
	for i, r := range c.replicas {
		later, err := r.client().RefreshToken(t.Context(), &scopeguardv1.RefreshTokenRequest{RefreshToken: rt, App: "shop"})
		if err != nil {
			t.Fatal(err)
		}
		if !later.GetShared() || later.GetAccessToken() != answers[0].GetAccessToken() {
			t.Errorf("later call on replica %d: shared %v, same token %v; want true, true", i, later.GetShared(), later.GetAccessToken() == answers[0].GetAccessToken())
		}
		if up := sharedStoreUp(t, r); up != "1" {
			t.Errorf("replica %d: scopeguard_shared_store_up = %s, want 1", i, up)
		}
	}
	if n := c.upstreamRefreshes(); n != 1 {
		t.Errorf("upstream refreshes after the later calls = %d, want 1", n)
	}
}

// TestRedisLeaseHolderKilledMidRefresh kills the replica whose refresh is
// at HubSpot, without it letting go of the lease: the other replicas take
// over once the lease runs out and every one of their calls is answered.
func TestRedisLeaseHolderKilledMidRefresh(t *testing.T) {
	t.Parallel()
	const leaseTTL = time.Second
	c := newCluster(t, 3, func(cfg *server.Config) { cfg.Redis.LeaseTTL = leaseTTL })
	rt := c.fake.MintRefreshToken(shopGrant)
	c.fake.InjectFault(hubspottest.EndpointToken, hubspottest.Fault{Block: make(chan struct{}), Times: 1}) // never answers

	holder := c.replicas[0]
	holderCtx, killHolder := context.WithCancel(t.Context())
	holderDone := make(chan error, 1)
	go func() {
		_, err := holder.client().RefreshToken(holderCtx, &scopeguardv1.RefreshTokenRequest{RefreshToken: rt, App: "shop"})
		holderDone <- err
	}()
	waitUntil(t, "the holder's refresh at HubSpot", func() bool { return c.upstreamRefreshes() == 1 })

	// The others start waiting on the held lease.
	survivors := &cluster{fake: c.fake, redis: c.redis, replicas: c.replicas[1:]}
	type result struct {
		answers []*scopeguardv1.RefreshTokenResponse
		errs    []error
	}
	results := make(chan result, 1)
	// Bounded: the survivors must finish well within a few lease lifetimes.
	ctx, cancel := context.WithTimeout(t.Context(), 10*leaseTTL)
	defer cancel()
	go func() {
		answers, errs := survivors.burst(ctx, t, rt, nil)
		results <- result{answers, errs}
	}()

	// Kill the holder: its connections to Redis go first, so it cannot
	// release the lease, then its calls.
	if err := holder.svc.Close(); err != nil {
		t.Fatal(err)
	}
	killHolder()
	if err := <-holderDone; err == nil {
		t.Error("the killed holder's call succeeded")
	}

	res := <-results
	for i := range res.answers {
		if res.errs[i] != nil {
			t.Fatalf("survivor call %d: %v", i, res.errs[i])
		}
		if res.answers[i].GetAccessToken() != res.answers[0].GetAccessToken() {
			t.Fatalf("survivor call %d got another access token", i)
		}
	}
	if n := c.upstreamRefreshes(); n != 2 {
		t.Errorf("upstream refreshes = %d, want 2 (the killed holder's, one survivor's)", n)
	}
}

// TestRedisKilledMidBurst kills Redis while a burst waits on HubSpot: every
// call is still answered, from each replica's own single-flight; health
// stays SERVING; each replica warns once and reports the store down. With
// Redis back the replicas share again.
func TestRedisKilledMidBurst(t *testing.T) {
	t.Parallel()
	c := newCluster(t, 3, nil)
	rt := c.fake.MintRefreshToken(shopGrant)
	hold := make(chan struct{})
	c.fake.InjectFault(hubspottest.EndpointToken, hubspottest.Fault{Block: hold, Times: 1})

	killed := make(chan struct{})
	go func() {
		waitUntil(t, "the first refresh at HubSpot", func() bool { return c.upstreamRefreshes() == 1 })
		c.redis.Kill()
		close(killed)
	}()
	// Hold HubSpot's first answer until every call arrived and Redis is gone.
	gate := make(chan struct{})
	go func() {
		<-gate
		<-killed
		close(hold)
	}()
	answers, errs := c.burst(t.Context(), t, rt, gate)
	for i := range answers {
		if errs[i] != nil || answers[i].GetAccessToken() == "" {
			t.Fatalf("call %d with Redis killed: %v, %v", i, answers[i], errs[i])
		}
	}
	if n := c.upstreamRefreshes(); n < 1 || n > 3 {
		t.Errorf("upstream refreshes with Redis killed = %d, want 1 to 3 (at most one per replica)", n)
	}
	for i, r := range c.replicas {
		// A replica whose calls all joined the first refresh has not
		// needed Redis since; one more call finds it gone.
		if _, err := r.client().RefreshToken(t.Context(), &scopeguardv1.RefreshTokenRequest{RefreshToken: rt, App: "shop"}); err != nil {
			t.Fatalf("replica %d after the burst: %v", i, err)
		}
		if up := sharedStoreUp(t, r); up != "0" {
			t.Errorf("replica %d: scopeguard_shared_store_up = %s with Redis down, want 0", i, up)
		}
		hc, err := grpc_health_v1.NewHealthClient(r.conn).Check(t.Context(), &grpc_health_v1.HealthCheckRequest{})
		if err != nil || hc.GetStatus() != grpc_health_v1.HealthCheckResponse_SERVING {
			t.Errorf("replica %d health with Redis down = %v, %v; want SERVING", i, hc.GetStatus(), err)
		}
	}

	c.redis.Restart(t)
	for i, r := range c.replicas {
		waitUntil(t, fmt.Sprintf("replica %d to reach Redis again", i), func() bool {
			// Each call reads the store: while it is down, one call per
			// probe interval tries Redis.
			_, _ = r.client().RefreshToken(t.Context(), &scopeguardv1.RefreshTokenRequest{RefreshToken: rt, App: "shop"})
			return sharedStoreUp(t, r) == "1"
		})
		if n := strings.Count(r.logs.String(), `"level":"WARN","msg":"shared token store`); n != 2 {
			t.Errorf("replica %d logged %d shared-store warnings, want 2 (down, back)", i, n)
		}
	}

	before := c.upstreamRefreshes()
	rt2 := c.fake.MintRefreshToken(shopGrant)
	hold2 := make(chan struct{})
	c.fake.InjectFault(hubspottest.EndpointToken, hubspottest.Fault{Block: hold2, Times: 1})
	answers, errs = c.burst(t.Context(), t, rt2, hold2)
	for i := range answers {
		if errs[i] != nil || answers[i].GetAccessToken() != answers[0].GetAccessToken() {
			t.Fatalf("call %d after Redis came back: %v, %v", i, answers[i], errs[i])
		}
	}
	if n := c.upstreamRefreshes() - before; n != 1 {
		t.Errorf("upstream refreshes for a burst after Redis came back = %d, want 1", n)
	}
}

// TestRedisHoldsNoSecrets scans every key and value in Redis after
// refreshes and token checks: no access token, refresh token or client
// secret appears, and every key expires.
func TestRedisHoldsNoSecrets(t *testing.T) {
	t.Parallel()
	c := newCluster(t, 2, func(cfg *server.Config) { cfg.HubSpotOAuthVersion = "2026-03" })
	rt := c.fake.MintRefreshToken(shopGrant)
	access := c.fake.MintAccessToken(shopGrant, time.Time{})
	secrets := []string{rt, access, testClientSecret}
	for _, r := range c.replicas {
		resp, err := r.client().RefreshToken(t.Context(), &scopeguardv1.RefreshTokenRequest{RefreshToken: rt, App: "shop"})
		if err != nil {
			t.Fatal(err)
		}
		secrets = append(secrets, resp.GetAccessToken(), resp.GetRefreshToken())
		check, err := r.client().CheckScopes(t.Context(), &scopeguardv1.CheckScopesRequest{
			Endpoints:   []*scopeguardv1.Endpoint{{Method: "GET", Path: "/crm/v3/objects/contacts"}},
			AccessToken: access,
		})
		if err != nil || !check.GetAllowed() {
			t.Fatalf("CheckScopes by token = %v, %v", check, err)
		}
	}
	if n := c.fake.Calls(hubspottest.EndpointIntrospect); n != 1 {
		t.Errorf("introspections for one token checked on two replicas = %d, want 1 (shared)", n)
	}
	dump := c.redis.Dump(t)
	if len(dump) == 0 {
		t.Fatal("Redis is empty: nothing was shared")
	}
	for key, rec := range dump {
		if rec.TTL <= 0 {
			t.Errorf("key %s never expires", key)
		}
		for _, text := range append([]string{key}, rec.Values...) {
			for _, secret := range secrets {
				if strings.Contains(text, secret) {
					t.Errorf("Redis key %s holds secret %.6s… in the clear", key, secret)
				}
			}
		}
	}
}
