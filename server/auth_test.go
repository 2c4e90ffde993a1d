package server_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	reflectionpb "google.golang.org/grpc/reflection/grpc_reflection_v1"
	"google.golang.org/grpc/status"

	scopeguardv1 "github.com/eshopman/scopeguard/gen/scopeguard/v1"
	"github.com/eshopman/scopeguard/internal/logbuf"
	"github.com/eshopman/scopeguard/server"
	"github.com/eshopman/scopeguard/server/hubspottest"
)

// The callers' keys in these tests; the callers files hold their SHA-256.
const (
	checkoutKey = "checkout-key-for-tests-0123456789abcdef"
	reportsKey  = "reports-key-for-tests-0123456789abcdef01"
)

func keyDigest(key string) string {
	sum := sha256.Sum256([]byte(key))
	return hex.EncodeToString(sum[:])
}

// checkoutOnlyYAML grants checkout the shop app; reports may use no app.
var checkoutOnlyYAML = `callers:
  checkout:
    key_sha256: ` + keyDigest(checkoutKey) + `
    apps: [shop]
  reports:
    key_sha256: ` + keyDigest(reportsKey) + `
`

// writeFile writes a file into the test's temporary directory.
func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// withKey sends key as the call's caller key.
func withKey(ctx context.Context, key string) context.Context {
	return metadata.AppendToOutgoingContext(ctx, server.AuthorizationHeader, "Bearer "+key)
}

// withCallers is a startScopeGuardWith configuration with a callers file.
func withCallers(t *testing.T, callersYAML string, more ...func(*server.Config)) func(*server.Config) {
	path := writeFile(t, "callers.yaml", callersYAML)
	return func(cfg *server.Config) {
		cfg.CallersFile = path
		for _, m := range more {
			m(cfg)
		}
	}
}

// wantDetail returns the status's detail of type D.
func wantDetail[D any](t *testing.T, err error) D {
	t.Helper()
	for _, d := range status.Convert(err).Details() {
		if d, ok := d.(D); ok {
			return d
		}
	}
	var none D
	t.Fatalf("status %v has no %T detail", err, none)
	return none
}

func TestCallersAreAuthenticated(t *testing.T) {
	t.Parallel()
	ts := startScopeGuardWith(t, "http://127.0.0.1:1", testAppsYAML, withCallers(t, checkoutOnlyYAML))
	req := &scopeguardv1.CheckScopesRequest{Endpoints: []*scopeguardv1.Endpoint{endpoint("GET", "/crm/v3/objects/contacts")}}
	const wrongKey = "wrong-key-0123456789abcdef0123456789abcdef"
	tests := []struct {
		name          string
		authorization []string
		problem       string
	}{
		{"no key", nil, "no_credentials"},
		{"a key no caller has", []string{"Bearer " + wrongKey}, "unknown_key"},
		{"a key differing in one character", []string{"Bearer " + checkoutKey[:len(checkoutKey)-1] + "X"}, "unknown_key"},
		{"another scheme", []string{"Basic " + checkoutKey}, "malformed_authorization"},
		{"an empty bearer", []string{"Bearer "}, "malformed_authorization"},
		{"two keys", []string{"Bearer " + checkoutKey, "Bearer " + reportsKey}, "malformed_authorization"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx := t.Context()
			for _, v := range tt.authorization {
				ctx = metadata.AppendToOutgoingContext(ctx, server.AuthorizationHeader, v)
			}
			_, err := ts.client().CheckScopes(ctx, req)
			wantStatus(t, err, codes.Unauthenticated, scopeguardv1.ErrorReason_CALLER_UNAUTHENTICATED, nil)
			if got := wantDetail[*errdetails.ErrorInfo](t, err).GetMetadata()["problem"]; got != tt.problem {
				t.Errorf("problem = %q, want %q", got, tt.problem)
			}
			ts.assertNoSecrets(t, err, wrongKey, checkoutKey, reportsKey)
		})
	}
	t.Run("the caller's key", func(t *testing.T) {
		t.Parallel()
		if _, err := ts.client().CheckScopes(withKey(t.Context(), checkoutKey), req); err != nil {
			t.Fatalf("CheckScopes with checkout's key: %v", err)
		}
		// The scheme is case-insensitive, as in HTTP.
		ctx := metadata.AppendToOutgoingContext(t.Context(), server.AuthorizationHeader, "bearer "+reportsKey)
		if _, err := ts.client().CheckScopes(ctx, req); err != nil {
			t.Fatalf("CheckScopes with reports' key: %v", err)
		}
	})
	t.Run("health stays open, reflection needs a key", func(t *testing.T) {
		t.Parallel()
		if _, err := grpc_health_v1.NewHealthClient(ts.conn).Check(t.Context(), &grpc_health_v1.HealthCheckRequest{}); err != nil {
			t.Errorf("health check without a key: %v", err)
		}
		listServices := func(ctx context.Context) error {
			stream, err := reflectionpb.NewServerReflectionClient(ts.conn).ServerReflectionInfo(ctx)
			if err == nil {
				err = stream.Send(&reflectionpb.ServerReflectionRequest{MessageRequest: &reflectionpb.ServerReflectionRequest_ListServices{}})
			}
			if err == nil {
				_, err = stream.Recv()
			}
			return err
		}
		if err := listServices(t.Context()); status.Code(err) != codes.Unauthenticated {
			t.Errorf("reflection without a key: %v, want Unauthenticated", err)
		}
		if err := listServices(withKey(t.Context(), checkoutKey)); err != nil {
			t.Errorf("reflection with a key: %v", err)
		}
	})
}

// TestCallerInLogsAndMetrics runs after TestCallersAreAuthenticated's calls
// on its own server, to count exactly.
func TestCallerInLogsAndMetrics(t *testing.T) {
	t.Parallel()
	ts := startScopeGuardWith(t, "http://127.0.0.1:1", testAppsYAML, withCallers(t, checkoutOnlyYAML))
	req := &scopeguardv1.CheckScopesRequest{Endpoints: []*scopeguardv1.Endpoint{endpoint("GET", "/crm/v3/objects/contacts")}}
	if _, err := ts.client().CheckScopes(withKey(t.Context(), checkoutKey), req); err != nil {
		t.Fatal(err)
	}
	if _, err := ts.client().CheckScopes(t.Context(), req); status.Code(err) != codes.Unauthenticated {
		t.Fatalf("keyless call: %v, want Unauthenticated", err)
	}
	logs := ts.logs.String()
	for _, want := range []string{`"caller":"checkout"`, `"grpc.code":"Unauthenticated"`, `"caller":"anonymous"`} {
		if !strings.Contains(logs, want) {
			t.Errorf("logs lack %s:\n%s", want, logs)
		}
	}
	metrics := scrape(t, ts.metrics)
	for _, series := range []string{
		`grpc_server_handled_total{grpc_code="OK",grpc_method="CheckScopes",grpc_service="scopeguard.v1.ScopeGuardService",grpc_type="unary"} 1`,
		`grpc_server_handled_total{grpc_code="Unauthenticated",grpc_method="CheckScopes",grpc_service="scopeguard.v1.ScopeGuardService",grpc_type="unary"} 1`,
		`scopeguard_caller_rejections_total{caller="anonymous",reason="unauthenticated"} 1`,
	} {
		if !strings.Contains(metrics, series) {
			t.Errorf("/metrics lacks %s", series)
		}
	}
}

// twoAppsYAML configures shop and a second app, other.
const twoAppsYAML = testAppsYAML + `  other:
    client_id: 0b7d2c4e-6f8a-4b1c-9d3e-5f7a9b1c3d5e
    client_secret: other-secret-1d2c3b4a
`

func TestCallersUseOnlyTheirApps(t *testing.T) {
	t.Parallel()
	fake := hubspottest.Start(t, hubspottest.Options{})
	fake.AddApp(hubspottest.App{ClientID: testClientID, ClientSecret: testClientSecret, AppID: 4242})
	refreshToken := fake.MintRefreshToken(shopGrant)
	token := fake.MintAccessToken(shopGrant, time.Time{})
	ts := startScopeGuardWith(t, fake.URL, twoAppsYAML, withCallers(t, checkoutOnlyYAML))
	c := ts.client()
	checkout := withKey(t.Context(), checkoutKey)
	contacts := []*scopeguardv1.Endpoint{endpoint("GET", "/crm/v3/objects/contacts")}
	denied := []struct {
		name string
		app  string
		call func(ctx context.Context, app string) error
	}{
		{"RefreshToken", "other", func(ctx context.Context, app string) error {
			_, err := c.RefreshToken(ctx, &scopeguardv1.RefreshTokenRequest{RefreshToken: refreshToken, App: app})
			return err
		}},
		{"RefreshToken naming no configured app", "nosuch", func(ctx context.Context, app string) error {
			_, err := c.RefreshToken(ctx, &scopeguardv1.RefreshTokenRequest{RefreshToken: refreshToken, App: app})
			return err
		}},
		{"CheckScopes by token", "other", func(ctx context.Context, app string) error {
			_, err := c.CheckScopes(ctx, &scopeguardv1.CheckScopesRequest{Endpoints: contacts, AccessToken: token, App: app})
			return err
		}},
		{"ExplainError by token", "other", func(ctx context.Context, app string) error {
			_, err := c.ExplainError(ctx, &scopeguardv1.ExplainErrorRequest{HttpStatus: 403, Body: "{}", AccessToken: token, App: app})
			return err
		}},
		{"ExplainError naming the app", "other", func(ctx context.Context, app string) error {
			_, err := c.ExplainError(ctx, &scopeguardv1.ExplainErrorRequest{HttpStatus: 403, Body: "{}", App: app})
			return err
		}},
	}
	for _, tt := range denied {
		err := tt.call(checkout, tt.app)
		st := wantStatus(t, err, codes.PermissionDenied, scopeguardv1.ErrorReason_APP_NOT_ALLOWED, nil)
		md := wantDetail[*errdetails.ErrorInfo](t, err).GetMetadata()
		if md["caller"] != "checkout" || md["app"] != tt.app {
			t.Errorf("%s: ErrorInfo metadata %v, want caller checkout and app %s", tt.name, md, tt.app)
		}
		if strings.Contains(st.Message(), "other-secret") {
			t.Errorf("%s: message leaks the app's secret: %q", tt.name, st.Message())
		}
		ts.assertNoSecrets(t, err, refreshToken, token, "other-secret-1d2c3b4a")
	}
	if n := upstreamCalls(fake); n != 0 {
		t.Errorf("HubSpot received %d requests for refused calls, want 0", n)
	}
	// The granted app works.
	if _, err := c.RefreshToken(checkout, &scopeguardv1.RefreshTokenRequest{RefreshToken: refreshToken, App: "shop"}); err != nil {
		t.Errorf("RefreshToken through the granted app: %v", err)
	}
	if _, err := c.CheckScopes(checkout, &scopeguardv1.CheckScopesRequest{Endpoints: contacts, AccessToken: token, App: "shop"}); err != nil {
		t.Errorf("CheckScopes by token through the granted app: %v", err)
	}
	if got := scrape(t, ts.metrics); !strings.Contains(got, `scopeguard_caller_rejections_total{caller="checkout",reason="app_not_allowed"} 5`) {
		t.Errorf("/metrics does not count the 5 refusals")
	}
}

func TestTheOnlyAppNeedsAGrantToo(t *testing.T) {
	t.Parallel()
	fake := hubspottest.Start(t, hubspottest.Options{})
	fake.AddApp(hubspottest.App{ClientID: testClientID, ClientSecret: testClientSecret, AppID: 4242})
	token := fake.MintAccessToken(shopGrant, time.Time{})
	ts := startScopeGuardWith(t, fake.URL, testAppsYAML, withCallers(t, checkoutOnlyYAML))
	req := &scopeguardv1.CheckScopesRequest{Endpoints: []*scopeguardv1.Endpoint{endpoint("GET", "/crm/v3/objects/contacts")}, AccessToken: token}
	// reports names no app, so the check would use the only one, shop,
	// which reports is not granted.
	_, err := ts.client().CheckScopes(withKey(t.Context(), reportsKey), req)
	wantStatus(t, err, codes.PermissionDenied, scopeguardv1.ErrorReason_APP_NOT_ALLOWED, nil)
	if got := wantDetail[*errdetails.ErrorInfo](t, err).GetMetadata()["app"]; got != "shop" {
		t.Errorf("refused app = %q, want shop", got)
	}
	if _, err := ts.client().CheckScopes(withKey(t.Context(), checkoutKey), req); err != nil {
		t.Errorf("checkout through the only app: %v", err)
	}
	// Checks by scopes use no app: every caller may make them.
	if _, err := ts.client().CheckScopes(withKey(t.Context(), reportsKey), &scopeguardv1.CheckScopesRequest{
		Endpoints: req.GetEndpoints(), GrantedScopes: []string{"crm.objects.contacts.read"},
	}); err != nil {
		t.Errorf("reports checking by scopes: %v", err)
	}
}

func TestCallersFileNamesOnlyConfiguredApps(t *testing.T) {
	t.Parallel()
	cfg := testConfig()
	cfg.AppsFile = writeFile(t, "apps.yaml", testAppsYAML)
	cfg.CallersFile = writeFile(t, "callers.yaml", strings.Replace(checkoutOnlyYAML, "[shop]", "[shpo]", 1))
	discard := slog.New(slog.DiscardHandler)
	svc, err := server.BuildService(cfg, discard, server.NewMetrics())
	if err != nil {
		t.Fatal(err)
	}
	_, err = server.New(cfg, discard, svc, server.NewMetrics())
	if err == nil || !strings.Contains(err.Error(), `"shpo" is not in the apps file`) {
		t.Errorf("server.New = %v, want the unknown app named", err)
	}
}

// gatedCheck holds one CheckScopes call until released; its other RPCs are
// unimplemented, which is enough to tell that authentication let them in.
type gatedCheck struct {
	scopeguardv1.UnimplementedScopeGuardServiceServer
	started, release chan struct{}
}

func (g *gatedCheck) CheckScopes(ctx context.Context, _ *scopeguardv1.CheckScopesRequest) (*scopeguardv1.CheckScopesResponse, error) {
	close(g.started)
	select {
	case <-g.release:
		return &scopeguardv1.CheckScopesResponse{Allowed: true}, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func TestCallersReload(t *testing.T) {
	t.Parallel()
	cfg := testConfig()
	cfg.CallersFile = writeFile(t, "callers.yaml", "callers:\n  checkout: {key_sha256: "+keyDigest(checkoutKey)+"}\n")
	logs := &logbuf.Buffer{}
	svc := &gatedCheck{started: make(chan struct{}), release: make(chan struct{})}
	ts := serveBufconn(t, cfg, slog.New(slog.NewJSONHandler(logs, nil)), svc, server.NewMetrics())
	c := ts.client()
	plan := func(key string) codes.Code {
		_, err := c.PlanScopes(withKey(t.Context(), key), &scopeguardv1.PlanScopesRequest{
			Endpoints: []*scopeguardv1.Endpoint{endpoint("GET", "/crm/v3/objects/contacts")},
		})
		return status.Code(err)
	}

	// A call in flight when the file changes keeps its caller.
	inFlight := make(chan error, 1)
	go func() {
		_, err := c.CheckScopes(withKey(context.Background(), checkoutKey), &scopeguardv1.CheckScopesRequest{
			Endpoints: []*scopeguardv1.Endpoint{endpoint("GET", "/crm/v3/objects/contacts")},
		})
		inFlight <- err
	}()
	select {
	case <-svc.started:
	case err := <-inFlight:
		t.Fatalf("the call meant to stay in flight ended: %v", err)
	}

	// checkout's key is rotated out and reports comes in.
	if err := os.WriteFile(cfg.CallersFile, []byte("callers:\n  reports: {key_sha256: "+keyDigest(reportsKey)+"}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := ts.srv.ReloadCallers(); err != nil {
		t.Fatalf("ReloadCallers: %v", err)
	}
	if got := plan(checkoutKey); got != codes.Unauthenticated {
		t.Errorf("checkout after the reload: %v, want Unauthenticated", got)
	}
	if got := plan(reportsKey); got != codes.Unimplemented {
		t.Errorf("reports after the reload: %v, want to pass authentication (Unimplemented)", got)
	}
	close(svc.release)
	if err := <-inFlight; err != nil {
		t.Errorf("call in flight across the reload: %v", err)
	}

	// A broken file keeps the callers in force, and says why.
	if err := os.WriteFile(cfg.CallersFile, []byte("callers:\n  reports: {key_env: UNSET_SCOPEGUARD_TEST_KEY}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	err := ts.srv.ReloadCallers()
	if err == nil || !strings.Contains(err.Error(), "UNSET_SCOPEGUARD_TEST_KEY") {
		t.Fatalf("ReloadCallers of a broken file = %v, want the unset variable named", err)
	}
	if got := plan(reportsKey); got != codes.Unimplemented {
		t.Errorf("reports after a failed reload: %v, want to pass authentication", got)
	}
	if !strings.Contains(logs.String(), "callers file not reloaded; the previous callers stay in force") {
		t.Errorf("failed reload not logged:\n%s", logs.String())
	}
}

func TestCallerHubSpotBudget(t *testing.T) {
	t.Parallel()
	fake := hubspottest.Start(t, hubspottest.Options{})
	fake.AddApp(hubspottest.App{ClientID: testClientID, ClientSecret: testClientSecret, AppID: 4242})
	bothYAML := strings.Replace(checkoutOnlyYAML, "    key_sha256: "+keyDigest(reportsKey)+"\n",
		"    key_sha256: "+keyDigest(reportsKey)+"\n    apps: [shop]\n", 1)
	ts := startScopeGuardWith(t, fake.URL, testAppsYAML, withCallers(t, bothYAML, func(cfg *server.Config) {
		cfg.CallerHubSpotRate = 0.001 // no refill within the test
		cfg.CallerHubSpotBurst = 2
	}))
	c := ts.client()
	checkByToken := func(key, token string) error {
		_, err := c.CheckScopes(withKey(t.Context(), key), &scopeguardv1.CheckScopesRequest{
			Endpoints: []*scopeguardv1.Endpoint{endpoint("GET", "/crm/v3/objects/contacts")}, AccessToken: token,
		})
		return err
	}
	tokens := make([]string, 4)
	for i := range tokens {
		tokens[i] = fake.MintAccessToken(shopGrant, time.Time{})
	}
	for i, token := range []string{tokens[0], tokens[0], tokens[0], tokens[1]} {
		if err := checkByToken(checkoutKey, token); err != nil {
			t.Fatalf("check %d within the budget (one introspection per token, the rest from cache): %v", i, err)
		}
	}
	err := checkByToken(checkoutKey, tokens[2])
	wantStatus(t, err, codes.ResourceExhausted, scopeguardv1.ErrorReason_CALLER_RATE_LIMITED, nil)
	if wait := wantDetail[*errdetails.RetryInfo](t, err).GetRetryDelay().AsDuration(); wait <= 0 {
		t.Errorf("RetryInfo delay = %v, want a positive wait", wait)
	}
	if subject := wantDetail[*errdetails.QuotaFailure](t, err).GetViolations()[0].GetSubject(); subject != "caller:checkout" {
		t.Errorf("QuotaFailure subject = %q, want caller:checkout", subject)
	}
	// Cached answers stay free, and other callers have budgets of their own.
	if err := checkByToken(checkoutKey, tokens[1]); err != nil {
		t.Errorf("cached token after the budget is spent: %v", err)
	}
	if err := checkByToken(reportsKey, tokens[2]); err != nil {
		t.Errorf("reports with its own budget: %v", err)
	}
	if n := fake.Calls(hubspottest.EndpointIntrospect); n != 3 {
		t.Errorf("HubSpot introspected %d tokens, want 3 (two for checkout, one for reports)", n)
	}
	// ExplainError still answers, from the body, and says why the token
	// went unchecked.
	resp, err := c.ExplainError(withKey(t.Context(), checkoutKey), &scopeguardv1.ExplainErrorRequest{
		HttpStatus: 403, Body: seedBody, AccessToken: tokens[3],
	})
	if err != nil {
		t.Fatalf("ExplainError with the budget spent: %v", err)
	}
	if got := resp.GetTokenCheckFailure(); !strings.Contains(got, "budget of HubSpot requests is spent") {
		t.Errorf("token_check_failure = %q, want the spent budget named", got)
	}
	if got := scrape(t, ts.metrics); !strings.Contains(got, `scopeguard_caller_rejections_total{caller="checkout",reason="rate_limited"} 2`) {
		t.Errorf("/metrics does not count the 2 budget refusals")
	}
}

// TestHTTPPortAuthenticatesCallers: the HTTP port reaches the same
// interceptors, so it needs the same key, in the same header, and
// /healthz stays open.
func TestHTTPPortAuthenticatesCallers(t *testing.T) {
	t.Parallel()
	ts := startScopeGuardWith(t, "http://127.0.0.1:1", testAppsYAML, withCallers(t, checkoutOnlyYAML))
	port := serveHTTPPort(t, ts.srv)
	path := restRoutes(t)["CheckScopes"]
	body := `{"endpoints":[{"method":"GET","path":"/crm/v3/objects/contacts"}],"grantedScopes":["crm.objects.contacts.read"]}`

	got := port.do(t, http.MethodPost, path, jsonHeader, body)
	if got.code != http.StatusUnauthorized {
		t.Fatalf("REST CheckScopes without a key = %d: %s", got.code, got.body)
	}
	st := restStatus(t, got.body)
	wantStatus(t, st.Err(), codes.Unauthenticated, scopeguardv1.ErrorReason_CALLER_UNAUTHENTICATED, nil)

	withKey := http.Header{"Content-Type": {"application/json"}, "Authorization": {"Bearer " + checkoutKey}}
	if got := port.do(t, http.MethodPost, path, withKey, body); got.code != http.StatusOK {
		t.Errorf("REST CheckScopes with checkout's key = %d: %s", got.code, got.body)
	}
	if got := port.do(t, http.MethodGet, "/healthz", nil, ""); got.code != http.StatusOK {
		t.Errorf("/healthz without a key = %d, want 200", got.code)
	}
	if !strings.Contains(ts.logs.String(), `"caller":"checkout"`) {
		t.Errorf("the HTTP call is not logged under its caller:\n%s", ts.logs.String())
	}
	ts.assertNoSecrets(t, nil, checkoutKey)
}
