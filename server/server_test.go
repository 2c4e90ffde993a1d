package server_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	reflectionpb "google.golang.org/grpc/reflection/grpc_reflection_v1"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/test/bufconn"
	"google.golang.org/protobuf/testing/protocmp"

	scopeguardv1 "github.com/eshopman/scopeguard/gen/scopeguard/v1"
	"github.com/eshopman/scopeguard/internal/logbuf"
	"github.com/eshopman/scopeguard/server"
)

// testServer is the real server (same constructor and interceptors as
// `scopeguard serve`) on an in-memory listener.
type testServer struct {
	srv     *server.Server
	conn    *grpc.ClientConn
	logs    *logbuf.Buffer
	metrics *server.Metrics
}

func (ts *testServer) client() scopeguardv1.ScopeGuardServiceClient {
	return scopeguardv1.NewScopeGuardServiceClient(ts.conn)
}

// assertNoSecrets fails if a secret shows in the server's logs, in err's
// message or in its details. The test apps' client secret is always checked.
func (ts *testServer) assertNoSecrets(t *testing.T, err error, secrets ...string) {
	t.Helper()
	secrets = append(secrets, testClientSecret)
	where := []string{ts.logs.String()}
	if err != nil {
		where = append(where, err.Error())
		for _, d := range status.Convert(err).Details() {
			where = append(where, fmt.Sprint(d))
		}
	}
	for _, text := range where {
		for _, secret := range secrets {
			if secret != "" && strings.Contains(text, secret) {
				t.Errorf("secret %.8s… leaked into %q", secret, text)
			}
		}
	}
}

// testConfig is the default configuration without the shutdown drain,
// which would add its seconds to every test server's cleanup.
func testConfig() server.Config {
	cfg := server.DefaultConfig()
	cfg.ShutdownDrain = 0
	// Tests read the call lines of successful calls too.
	cfg.LogCalls = "all"
	return cfg
}

// startServer serves the service build returns (given the server's logger
// and metrics) until the test ends.
func startServer(t *testing.T, build func(*slog.Logger, *server.Metrics) scopeguardv1.ScopeGuardServiceServer) *testServer {
	t.Helper()
	return startServerWith(t, testConfig(), build)
}

// startServerWith is startServer with the server configured by cfg.
func startServerWith(t *testing.T, cfg server.Config, build func(*slog.Logger, *server.Metrics) scopeguardv1.ScopeGuardServiceServer) *testServer {
	t.Helper()
	logs := &logbuf.Buffer{}
	log := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	metrics := server.NewMetrics()
	ts := serveBufconn(t, cfg, log, build(log, metrics), metrics)
	ts.logs = logs
	return ts
}

// serveBufconn serves svc with the real server until the test or
// benchmark ends.
func serveBufconn(t testing.TB, cfg server.Config, log *slog.Logger, svc scopeguardv1.ScopeGuardServiceServer, metrics *server.Metrics) *testServer {
	t.Helper()
	srv, err := server.New(cfg, log, svc, metrics)
	if err != nil {
		t.Fatalf("server.New: %v", err)
	}
	lis := bufconn.Listen(1 << 20)
	served := make(chan error, 1)
	go func() { served <- srv.Serve(lis) }()
	conn, err := grpc.NewClient("passthrough:///bufconn",
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatalf("grpc.NewClient: %v", err)
	}
	t.Cleanup(func() {
		_ = conn.Close()
		srv.Shutdown(context.Background())
		if err := <-served; err != nil {
			t.Errorf("Serve returned %v", err)
		}
	})
	return &testServer{srv: srv, conn: conn, metrics: metrics}
}

// startScopeGuard serves the production service (server.BuildService)
// against the fake HubSpot at hubspotURL, with the apps file appsYAML
// (none when empty).
func startScopeGuard(t *testing.T, hubspotURL, appsYAML string) *testServer {
	t.Helper()
	return startScopeGuardWith(t, hubspotURL, appsYAML, func(*server.Config) {})
}

// offline serves the production service with HubSpot out of reach: enough
// for everything that needs no HubSpot call.
func offline(t *testing.T) *testServer {
	t.Helper()
	return startScopeGuard(t, "http://127.0.0.1:1", "")
}

// serving returns a startServer builder for a fixed service.
func serving(svc scopeguardv1.ScopeGuardServiceServer) func(*slog.Logger, *server.Metrics) scopeguardv1.ScopeGuardServiceServer {
	return func(*slog.Logger, *server.Metrics) scopeguardv1.ScopeGuardServiceServer { return svc }
}

func TestHealthServing(t *testing.T) {
	t.Parallel()
	ts := offline(t)
	hc := grpc_health_v1.NewHealthClient(ts.conn)
	for _, svc := range []string{"", "scopeguard.v1.ScopeGuardService"} {
		resp, err := hc.Check(t.Context(), &grpc_health_v1.HealthCheckRequest{Service: svc})
		if err != nil {
			t.Fatalf("Check(%q): %v", svc, err)
		}
		if resp.GetStatus() != grpc_health_v1.HealthCheckResponse_SERVING {
			t.Errorf("Check(%q) = %v, want SERVING", svc, resp.GetStatus())
		}
	}
}

// callLine is the part of a "finished call" log line TestLogCalls reads.
type callLine struct {
	Level     string   `json:"level"`
	Service   string   `json:"grpc.service"`
	Method    string   `json:"grpc.method"`
	Code      string   `json:"grpc.code"`
	Error     string   `json:"grpc.error"`
	RequestID string   `json:"request_id"`
	Peer      string   `json:"peer.address"`
	Start     string   `json:"grpc.start_time"`
	Deadline  string   `json:"grpc.request.deadline"`
	TimeMS    *float64 `json:"grpc.time_ms"`
}

// TestLogCalls covers --log-calls: which calls get a "finished call" line,
// at which level (health checks at debug), and what the line says.
func TestLogCalls(t *testing.T) {
	t.Parallel()
	health := callLine{Level: "DEBUG", Service: "grpc.health.v1.Health", Method: "Check", Code: "OK"}
	checked := callLine{Level: "INFO", Service: "scopeguard.v1.ScopeGuardService", Method: "CheckScopes", Code: "OK"}
	refused := callLine{Level: "INFO", Service: "scopeguard.v1.ScopeGuardService", Method: "CheckScopes", Code: "InvalidArgument", RequestID: "refused-1"}
	tests := []struct {
		mode string
		want []callLine
	}{
		{mode: server.LogCallsAll, want: []callLine{health, checked, refused}},
		{mode: server.LogCallsErrors, want: []callLine{refused}},
		{mode: server.LogCallsNone},
	}
	for _, tt := range tests {
		t.Run(tt.mode, func(t *testing.T) {
			t.Parallel()
			logs := &logbuf.Buffer{}
			log := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
			cfg := server.DefaultConfig()
			cfg.LogCalls = tt.mode
			svc, err := server.BuildService(cfg, log, server.NewMetrics())
			if err != nil {
				t.Fatal(err)
			}
			ts := serveBufconn(t, cfg, log, svc, server.NewMetrics())
			ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
			defer cancel()
			if _, err := grpc_health_v1.NewHealthClient(ts.conn).Check(ctx, &grpc_health_v1.HealthCheckRequest{}); err != nil {
				t.Fatal(err)
			}
			var header metadata.MD
			if _, err := ts.client().CheckScopes(ctx, &scopeguardv1.CheckScopesRequest{
				Endpoints: []*scopeguardv1.Endpoint{endpoint("GET", "/crm/v3/objects/contacts")},
			}, grpc.Header(&header)); err != nil {
				t.Fatal(err)
			}
			mintedID := header.Get(server.RequestIDHeader)
			if _, err := ts.client().CheckScopes(metadata.AppendToOutgoingContext(ctx, server.RequestIDHeader, "refused-1"),
				&scopeguardv1.CheckScopesRequest{}); status.Code(err) != codes.InvalidArgument {
				t.Fatalf("empty CheckScopes: %v, want InvalidArgument", err)
			}

			var got []callLine
			for _, line := range strings.Split(strings.TrimSpace(logs.String()), "\n") {
				var rec struct {
					Msg string `json:"msg"`
				}
				var call callLine
				if err := json.Unmarshal([]byte(line), &rec); err != nil || json.Unmarshal([]byte(line), &call) != nil {
					t.Fatalf("log line %q is not JSON: %v", line, err)
				}
				if rec.Msg != "finished call" {
					continue
				}
				if call.Peer == "" || call.Start == "" || call.Deadline == "" || call.TimeMS == nil || call.RequestID == "" {
					t.Errorf("line lacks a field: %s", line)
				}
				if (call.Code == "OK") != (call.Error == "") {
					t.Errorf("grpc.error %q with grpc.code %s", call.Error, call.Code)
				}
				if call.Method == "CheckScopes" && call.Code == "OK" && !slices.Equal(mintedID, []string{call.RequestID}) {
					t.Errorf("line's request_id %q, answered %q", call.RequestID, mintedID)
				}
				if call.Code == "OK" {
					call.RequestID = "" // minted: compared with the header above
				}
				call.Error, call.Peer, call.Start, call.Deadline, call.TimeMS = "", "", "", "", nil
				got = append(got, call)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("finished-call lines (-want +got):\n%s", diff)
			}
		})
	}
}

func TestReflectionListsServices(t *testing.T) {
	t.Parallel()
	ts := offline(t)
	stream, err := reflectionpb.NewServerReflectionClient(ts.conn).ServerReflectionInfo(t.Context())
	if err != nil {
		t.Fatalf("ServerReflectionInfo: %v", err)
	}
	if err := stream.Send(&reflectionpb.ServerReflectionRequest{
		MessageRequest: &reflectionpb.ServerReflectionRequest_ListServices{},
	}); err != nil {
		t.Fatalf("Send: %v", err)
	}
	resp, err := stream.Recv()
	if err != nil {
		t.Fatalf("Recv: %v", err)
	}
	var got []string
	for _, s := range resp.GetListServicesResponse().GetService() {
		got = append(got, s.GetName())
	}
	want := []string{"grpc.health.v1.Health", "grpc.reflection.v1.ServerReflection", "grpc.reflection.v1alpha.ServerReflection", "scopeguard.v1.ScopeGuardService"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("listed services (-want +got):\n%s", diff)
	}
}

// wantStatus asserts an error's code, ErrorInfo reason and BadRequest fields.
func wantStatus(t *testing.T, err error, code codes.Code, reason scopeguardv1.ErrorReason, fields []string) *status.Status {
	t.Helper()
	st, ok := status.FromError(err)
	if !ok {
		t.Fatalf("error %v is not a status", err)
	}
	if st.Code() != code {
		t.Fatalf("code = %v (%q), want %v", st.Code(), st.Message(), code)
	}
	var info *errdetails.ErrorInfo
	var gotFields []string
	for _, d := range st.Details() {
		switch d := d.(type) {
		case *errdetails.ErrorInfo:
			info = d
		case *errdetails.BadRequest:
			for _, v := range d.GetFieldViolations() {
				gotFields = append(gotFields, v.GetField())
				if v.GetDescription() == "" {
					t.Errorf("field violation %q has no description", v.GetField())
				}
			}
		}
	}
	if info == nil {
		t.Fatalf("status %v has no ErrorInfo", st)
	}
	if info.GetDomain() != server.ErrorDomain || info.GetReason() != reason.String() {
		t.Errorf("ErrorInfo = %s/%s, want %s/%s", info.GetDomain(), info.GetReason(), server.ErrorDomain, reason)
	}
	if info.GetMetadata()["request_id"] == "" {
		t.Errorf("ErrorInfo metadata has no request_id: %v", info.GetMetadata())
	}
	if diff := cmp.Diff(fields, gotFields); diff != "" {
		t.Errorf("BadRequest fields (-want +got):\n%s", diff)
	}
	return st
}

func TestValidationRejections(t *testing.T) {
	t.Parallel()
	ts := offline(t)
	c := ts.client()
	ctx := t.Context()
	endpoint := &scopeguardv1.Endpoint{Method: "GET", Path: "/crm/v3/objects/contacts"}
	tooMany := make([]*scopeguardv1.Endpoint, 1001)
	for i := range tooMany {
		tooMany[i] = endpoint
	}
	tests := []struct {
		name   string
		call   func() error
		fields []string
	}{
		{
			name:   "check with no endpoints",
			call:   func() error { _, err := c.CheckScopes(ctx, &scopeguardv1.CheckScopesRequest{}); return err },
			fields: []string{"endpoints"},
		},
		{
			name: "check with more than 1000 endpoints",
			call: func() error {
				_, err := c.CheckScopes(ctx, &scopeguardv1.CheckScopesRequest{Endpoints: tooMany})
				return err
			},
			fields: []string{"endpoints"},
		},
		{
			name: "check with a bad method and an empty path",
			call: func() error {
				_, err := c.CheckScopes(ctx, &scopeguardv1.CheckScopesRequest{Endpoints: []*scopeguardv1.Endpoint{{Method: "FETCH"}}})
				return err
			},
			fields: []string{"endpoints[0].method", "endpoints[0].path"},
		},
		{
			name: "check with a path over 4 KiB",
			call: func() error {
				_, err := c.CheckScopes(ctx, &scopeguardv1.CheckScopesRequest{Endpoints: []*scopeguardv1.Endpoint{{Method: "get", Path: "/" + strings.Repeat("a", 4096)}}})
				return err
			},
			fields: []string{"endpoints[0].path"},
		},
		{
			name: "check with both scopes and a token",
			call: func() error {
				_, err := c.CheckScopes(ctx, &scopeguardv1.CheckScopesRequest{
					Endpoints: []*scopeguardv1.Endpoint{endpoint}, GrantedScopes: []string{"oauth"}, AccessToken: "secret-token",
				})
				return err
			},
			fields: []string{"request"},
		},
		{
			name: "explain with an impossible status",
			call: func() error {
				_, err := c.ExplainError(ctx, &scopeguardv1.ExplainErrorRequest{HttpStatus: 99, Body: "{}"})
				return err
			},
			fields: []string{"http_status"},
		},
		{
			name: "explain with neither status nor body",
			call: func() error {
				_, err := c.ExplainError(ctx, &scopeguardv1.ExplainErrorRequest{})
				return err
			},
			fields: []string{"request"},
		},
		{
			name: "explain with a body over 1 MiB",
			call: func() error {
				_, err := c.ExplainError(ctx, &scopeguardv1.ExplainErrorRequest{HttpStatus: 403, Body: strings.Repeat("x", 1<<20+1)})
				return err
			},
			fields: []string{"body"},
		},
		{
			name: "refresh without credentials",
			call: func() error {
				_, err := c.RefreshToken(ctx, &scopeguardv1.RefreshTokenRequest{RefreshToken: "rt"})
				return err
			},
			fields: []string{"request"},
		},
		{
			name: "refresh with an app and a secret",
			call: func() error {
				_, err := c.RefreshToken(ctx, &scopeguardv1.RefreshTokenRequest{RefreshToken: "rt", App: "shop", ClientSecret: "s3cret"})
				return err
			},
			fields: []string{"request"},
		},
		{
			name: "plan with a relative redirect uri",
			call: func() error {
				_, err := c.PlanScopes(ctx, &scopeguardv1.PlanScopesRequest{Endpoints: []*scopeguardv1.Endpoint{endpoint}, ClientId: "id", RedirectUri: "not a uri"})
				return err
			},
			fields: []string{"redirect_uri"},
		},
		{
			name: "plan with an undefined app type",
			call: func() error {
				_, err := c.PlanScopes(ctx, &scopeguardv1.PlanScopesRequest{Endpoints: []*scopeguardv1.Endpoint{endpoint}, AppType: 42})
				return err
			},
			fields: []string{"app_type"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			st := wantStatus(t, tt.call(), codes.InvalidArgument, scopeguardv1.ErrorReason_INVALID_REQUEST, tt.fields)
			if strings.Contains(st.Message(), "secret-token") || strings.Contains(st.Message(), "s3cret") {
				t.Errorf("message leaks request content: %q", st.Message())
			}
		})
	}
}

// panicking is a ScopeGuardService whose CheckScopes panics, to prove the
// recovery interceptor.
type panicking struct {
	scopeguardv1.UnimplementedScopeGuardServiceServer
}

func (panicking) CheckScopes(context.Context, *scopeguardv1.CheckScopesRequest) (*scopeguardv1.CheckScopesResponse, error) {
	panic("boom: secret-detail")
}

func TestPanicBecomesInternal(t *testing.T) {
	t.Parallel()
	ts := startServer(t, serving(panicking{}))
	var header metadata.MD
	_, err := ts.client().CheckScopes(t.Context(), &scopeguardv1.CheckScopesRequest{
		Endpoints: []*scopeguardv1.Endpoint{{Method: "GET", Path: "/crm/v3/objects/contacts"}},
	}, grpc.Header(&header))
	st := wantStatus(t, err, codes.Internal, scopeguardv1.ErrorReason_INTERNAL, nil)
	if strings.Contains(st.Message(), "boom") || strings.Contains(st.Message(), "goroutine") {
		t.Errorf("Internal message leaks the panic: %q", st.Message())
	}
	logs := ts.logs.String()
	if !strings.Contains(logs, "recovered from panic") || !strings.Contains(logs, header.Get(server.RequestIDHeader)[0]) {
		t.Errorf("panic not logged under the request id %v:\n%s", header.Get(server.RequestIDHeader), logs)
	}
	// The server keeps serving after a panic.
	if _, err := grpc_health_v1.NewHealthClient(ts.conn).Check(t.Context(), &grpc_health_v1.HealthCheckRequest{}); err != nil {
		t.Errorf("health after panic: %v", err)
	}
}

func TestRequestIDIsKeptOrMinted(t *testing.T) {
	t.Parallel()
	ts := offline(t)
	tests := []struct {
		name, sent string
		kept       bool
	}{
		{name: "well-formed id is kept", sent: "req-42.a_b", kept: true},
		{name: "id with spaces is replaced", sent: "evil id level=ERROR"},
		{name: "no id gets one"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := t.Context()
			if tt.sent != "" {
				ctx = metadata.AppendToOutgoingContext(ctx, server.RequestIDHeader, tt.sent)
			}
			var header metadata.MD
			_, err := ts.client().CheckScopes(ctx, &scopeguardv1.CheckScopesRequest{}, grpc.Header(&header))
			st := wantStatus(t, err, codes.InvalidArgument, scopeguardv1.ErrorReason_INVALID_REQUEST, []string{"endpoints"})
			got := header.Get(server.RequestIDHeader)
			if len(got) != 1 || got[0] == "" {
				t.Fatalf("response header %s = %q, want one id", server.RequestIDHeader, got)
			}
			if (got[0] == tt.sent) != tt.kept {
				t.Errorf("id %q sent, %q answered; kept want %v", tt.sent, got[0], tt.kept)
			}
			var info *errdetails.ErrorInfo
			for _, d := range st.Details() {
				if i, ok := d.(*errdetails.ErrorInfo); ok {
					info = i
				}
			}
			if diff := cmp.Diff(got[0], info.GetMetadata()["request_id"], protocmp.Transform()); diff != "" {
				t.Errorf("ErrorInfo request_id differs from the header (-header +info):\n%s", diff)
			}
		})
	}
}

// slowCheck blocks CheckScopes until released, to observe shutdown.
type slowCheck struct {
	scopeguardv1.UnimplementedScopeGuardServiceServer
	started chan struct{}
	release chan struct{}
}

func (s *slowCheck) CheckScopes(ctx context.Context, _ *scopeguardv1.CheckScopesRequest) (*scopeguardv1.CheckScopesResponse, error) {
	close(s.started)
	select {
	case <-s.release:
		return &scopeguardv1.CheckScopesResponse{Allowed: true}, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func TestGracefulShutdownFinishesOpenCalls(t *testing.T) {
	t.Parallel()
	svc := &slowCheck{started: make(chan struct{}), release: make(chan struct{})}
	ts := startServer(t, serving(svc))
	result := make(chan error, 1)
	go func() {
		resp, err := ts.client().CheckScopes(context.Background(), &scopeguardv1.CheckScopesRequest{
			Endpoints: []*scopeguardv1.Endpoint{{Method: "GET", Path: "/crm/v3/objects/contacts"}},
		})
		if err == nil && !resp.GetAllowed() {
			err = status.Error(codes.Unknown, "open call lost its answer")
		}
		result <- err
	}()
	<-svc.started
	stopped := make(chan struct{})
	go func() {
		ts.srv.Shutdown(context.Background())
		close(stopped)
	}()
	// Health turns NOT_SERVING as soon as shutdown starts, while the open
	// call is still running.
	hc := grpc_health_v1.NewHealthClient(ts.conn)
	for {
		resp, err := hc.Check(t.Context(), &grpc_health_v1.HealthCheckRequest{})
		if err != nil || resp.GetStatus() == grpc_health_v1.HealthCheckResponse_NOT_SERVING {
			break
		}
		time.Sleep(time.Millisecond)
	}
	select {
	case <-stopped:
		t.Fatal("shutdown finished while a call was still open")
	default:
	}
	close(svc.release)
	if err := <-result; err != nil {
		t.Errorf("open call during shutdown: %v", err)
	}
	<-stopped
}

func TestShutdownTimeoutCutsStuckCalls(t *testing.T) {
	t.Parallel()
	svc := &slowCheck{started: make(chan struct{}), release: make(chan struct{})}
	logs := &logbuf.Buffer{}
	cfg := testConfig()
	cfg.ShutdownTimeout = 50 * time.Millisecond
	ts := serveBufconn(t, cfg, slog.New(slog.NewJSONHandler(logs, nil)), svc, server.NewMetrics())
	result := make(chan error, 1)
	go func() {
		_, err := ts.client().CheckScopes(context.Background(), &scopeguardv1.CheckScopesRequest{
			Endpoints: []*scopeguardv1.Endpoint{{Method: "GET", Path: "/crm/v3/objects/contacts"}},
		})
		result <- err
	}()
	<-svc.started
	ts.srv.Shutdown(context.Background()) // the call never finishes on its own
	if err := <-result; status.Code(err) == codes.OK {
		t.Errorf("stuck call succeeded after a forced stop")
	}
	if !strings.Contains(logs.String(), "graceful stop timed out") {
		t.Errorf("forced stop not logged:\n%s", logs.String())
	}
}

// TestShutdownEndsHealthWatches: a Watch stream hears NOT_SERVING when
// shutdown starts and ends once the drain is over, so it does not hold the
// graceful stop to its timeout.
func TestShutdownEndsHealthWatches(t *testing.T) {
	t.Parallel()
	logs := &logbuf.Buffer{}
	cfg := testConfig()
	cfg.ShutdownTimeout = time.Minute
	ts := serveBufconn(t, cfg, slog.New(slog.NewJSONHandler(logs, nil)), panicking{}, server.NewMetrics())
	watch, err := grpc_health_v1.NewHealthClient(ts.conn).Watch(t.Context(), &grpc_health_v1.HealthCheckRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if resp, err := watch.Recv(); err != nil || resp.GetStatus() != grpc_health_v1.HealthCheckResponse_SERVING {
		t.Fatalf("first watch answer = %v, %v; want SERVING", resp, err)
	}
	stopped := make(chan struct{})
	go func() {
		ts.srv.Shutdown(context.Background())
		close(stopped)
	}()
	if resp, err := watch.Recv(); err != nil || resp.GetStatus() != grpc_health_v1.HealthCheckResponse_NOT_SERVING {
		t.Fatalf("watch answer at shutdown = %v, %v; want NOT_SERVING", resp, err)
	}
	if _, err := watch.Recv(); status.Code(err) != codes.Unavailable {
		t.Errorf("watch after the drain = %v, want Unavailable (the stream ends)", err)
	}
	<-stopped
	if !strings.Contains(logs.String(), "stopped gracefully") {
		t.Errorf("shutdown with a watch open did not stop gracefully:\n%s", logs.String())
	}
}

// TestShutdownDrainKeepsServing: during the drain health says NOT_SERVING
// while calls are still answered; Shutdown's context cuts the drain short.
func TestShutdownDrainKeepsServing(t *testing.T) {
	t.Parallel()
	cfg := testConfig()
	cfg.HubSpotAPIURL = "http://127.0.0.1:1"
	cfg.ShutdownDrain = time.Hour
	logs := &logbuf.Buffer{}
	log := slog.New(slog.NewJSONHandler(logs, nil))
	metrics := server.NewMetrics()
	svc, err := server.BuildService(cfg, log, metrics)
	if err != nil {
		t.Fatal(err)
	}
	ts := serveBufconn(t, cfg, log, svc, metrics)
	hc := grpc_health_v1.NewHealthClient(ts.conn)
	if resp, err := hc.Check(t.Context(), &grpc_health_v1.HealthCheckRequest{}); err != nil || resp.GetStatus() != grpc_health_v1.HealthCheckResponse_SERVING {
		t.Fatalf("health before shutdown = %v, %v; want SERVING", resp, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel() // a failure below must not leave the hour-long drain to the cleanup
	stopped := make(chan struct{})
	go func() {
		ts.srv.Shutdown(ctx)
		close(stopped)
	}()
	eventually(t, "health to say NOT_SERVING", func() bool {
		resp, err := hc.Check(t.Context(), &grpc_health_v1.HealthCheckRequest{})
		return err == nil && resp.GetStatus() == grpc_health_v1.HealthCheckResponse_NOT_SERVING
	})
	if _, err := ts.client().CheckScopes(t.Context(), contactsCheck); err != nil {
		t.Errorf("CheckScopes during the drain: %v", err)
	}
	select {
	case <-stopped:
		t.Fatal("shutdown finished during its drain")
	default:
	}
	cancel()
	<-stopped
	if !strings.Contains(logs.String(), "draining: health checks say NOT_SERVING") {
		t.Errorf("drain not logged:\n%s", logs.String())
	}
}

// failing is a ScopeGuardService whose CheckScopes fails with an error no
// mapping knows: a bug.
type failing struct {
	scopeguardv1.UnimplementedScopeGuardServiceServer
}

func (failing) CheckScopes(context.Context, *scopeguardv1.CheckScopesRequest) (*scopeguardv1.CheckScopesResponse, error) {
	return nil, errors.New("cache index out of step")
}

func TestInternalErrorsAreLoggedUnderTheRequestID(t *testing.T) {
	t.Parallel()
	ts := startServer(t, serving(failing{}))
	ctx := metadata.AppendToOutgoingContext(t.Context(), server.RequestIDHeader, "req-internal-1")
	_, err := ts.client().CheckScopes(ctx, &scopeguardv1.CheckScopesRequest{
		Endpoints: []*scopeguardv1.Endpoint{{Method: "GET", Path: "/crm/v3/objects/contacts"}},
	})
	st := wantStatus(t, err, codes.Internal, scopeguardv1.ErrorReason_INTERNAL, nil)
	if strings.Contains(st.Message(), "cache index") {
		t.Errorf("Internal message leaks the cause: %q", st.Message())
	}
	var logged bool
	for _, line := range strings.Split(ts.logs.String(), "\n") {
		if strings.Contains(line, `"msg":"internal error"`) && strings.Contains(line, `"request_id":"req-internal-1"`) &&
			strings.Contains(line, "cache index out of step") {
			logged = true
		}
	}
	if !logged {
		t.Errorf("the internal error is not logged with its cause under the request id:\n%s", ts.logs.String())
	}
}

// TestProfilesOnlyWithPProf: /debug/pprof/ is served next to /metrics only
// when --pprof asks for it.
func TestProfilesOnlyWithPProf(t *testing.T) {
	t.Parallel()
	for _, pprof := range []bool{false, true} {
		t.Run(fmt.Sprintf("pprof=%v", pprof), func(t *testing.T) {
			t.Parallel()
			cfg := testConfig()
			cfg.Listen, cfg.MetricsListen, cfg.PProf = "127.0.0.1:0", "127.0.0.1:0", pprof
			logs := &logbuf.Buffer{}
			log := slog.New(slog.NewJSONHandler(logs, nil))
			metrics := server.NewMetrics()
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			go func() { done <- server.Run(ctx, cfg, log, panicking{}, metrics, nil) }()
			defer func() {
				cancel()
				if err := <-done; err != nil {
					t.Errorf("Run: %v", err)
				}
			}()
			var metricsAddr string
			eventually(t, "the metrics listener", func() bool {
				for _, line := range strings.Split(logs.String(), "\n") {
					var rec struct{ Msg, Addr string }
					if json.Unmarshal([]byte(line), &rec) == nil && rec.Msg == "serving metrics" {
						metricsAddr = rec.Addr
					}
				}
				return metricsAddr != ""
			})
			for path, want := range map[string]int{"/metrics": http.StatusOK, "/debug/pprof/": map[bool]int{false: http.StatusNotFound, true: http.StatusOK}[pprof]} {
				req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, "http://"+metricsAddr+path, nil)
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				_ = resp.Body.Close()
				if resp.StatusCode != want {
					t.Errorf("GET %s = %d, want %d", path, resp.StatusCode, want)
				}
			}
		})
	}
}

// TestShutdownBeforeServeStaysNotServing: a server whose shutdown began
// before Serve, and is still draining, never reports SERVING.
func TestShutdownBeforeServeStaysNotServing(t *testing.T) {
	t.Parallel()
	cfg := testConfig()
	cfg.ShutdownDrain = time.Hour
	logs := &logbuf.Buffer{}
	srv, err := server.New(cfg, slog.New(slog.NewJSONHandler(logs, nil)), panicking{}, server.NewMetrics())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	stopped := make(chan struct{})
	go func() {
		srv.Shutdown(ctx)
		close(stopped)
	}()
	eventually(t, "the drain to start", func() bool { return strings.Contains(logs.String(), "draining") })
	lis := bufconn.Listen(1 << 16)
	served := make(chan error, 1)
	go func() { served <- srv.Serve(lis) }()
	conn, err := grpc.NewClient("passthrough:///bufconn",
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = conn.Close() }()
	resp, err := grpc_health_v1.NewHealthClient(conn).Check(t.Context(), &grpc_health_v1.HealthCheckRequest{})
	if err != nil || resp.GetStatus() != grpc_health_v1.HealthCheckResponse_NOT_SERVING {
		t.Errorf("health during a drain that began before Serve = %v, %v; want NOT_SERVING", resp, err)
	}
	cancel()
	<-stopped
	if err := <-served; err != nil {
		t.Errorf("Serve: %v", err)
	}
}

// TestGRPCMetrics covers the standard gRPC server series: every method's
// are there from the start, and unary and streaming calls are counted by
// code, message and latency.
func TestGRPCMetrics(t *testing.T) {
	t.Parallel()
	ts := offline(t)
	before := scrape(t, ts.metrics)
	for _, series := range []string{
		`grpc_server_handled_total{grpc_code="DataLoss",grpc_method="PlanScopes",grpc_service="scopeguard.v1.ScopeGuardService",grpc_type="unary"} 0`,
		`grpc_server_started_total{grpc_method="ServerReflectionInfo",grpc_service="grpc.reflection.v1.ServerReflection",grpc_type="bidi_stream"} 0`,
	} {
		if !strings.Contains(before, series+"\n") {
			t.Errorf("/metrics lacks %s before any call", series)
		}
	}

	c := ts.client()
	if _, err := c.CheckScopes(t.Context(), &scopeguardv1.CheckScopesRequest{Endpoints: []*scopeguardv1.Endpoint{endpoint("GET", "/crm/v3/objects/contacts")}}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.CheckScopes(t.Context(), &scopeguardv1.CheckScopesRequest{}); status.Code(err) != codes.InvalidArgument {
		t.Fatalf("empty CheckScopes: %v", err)
	}
	stream, err := reflectionpb.NewServerReflectionClient(ts.conn).ServerReflectionInfo(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if err := stream.Send(&reflectionpb.ServerReflectionRequest{MessageRequest: &reflectionpb.ServerReflectionRequest_ListServices{}}); err != nil {
			t.Fatal(err)
		}
		if _, err := stream.Recv(); err != nil {
			t.Fatal(err)
		}
	}
	if err := stream.CloseSend(); err != nil {
		t.Fatal(err)
	}
	if _, err := stream.Recv(); err == nil {
		t.Fatal("reflection stream did not end")
	}

	check := `grpc_method="CheckScopes",grpc_service="scopeguard.v1.ScopeGuardService",grpc_type="unary"`
	reflect := `grpc_method="ServerReflectionInfo",grpc_service="grpc.reflection.v1.ServerReflection",grpc_type="bidi_stream"`
	after := scrape(t, ts.metrics)
	for _, series := range []string{
		`grpc_server_started_total{` + check + `} 2`,
		`grpc_server_handled_total{grpc_code="OK",` + check + `} 1`,
		`grpc_server_handled_total{grpc_code="InvalidArgument",` + check + `} 1`,
		`grpc_server_msg_received_total{` + check + `} 2`,
		`grpc_server_msg_sent_total{` + check + `} 1`,
		`grpc_server_handling_seconds_count{` + check + `} 2`,
		`grpc_server_started_total{` + reflect + `} 1`,
		`grpc_server_handled_total{grpc_code="OK",` + reflect + `} 1`,
		`grpc_server_msg_received_total{` + reflect + `} 2`,
		`grpc_server_msg_sent_total{` + reflect + `} 2`,
	} {
		if !strings.Contains(after, series+"\n") {
			t.Errorf("/metrics lacks %s", series)
		}
	}
}
