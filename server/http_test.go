package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"slices"
	"strings"
	"testing"

	"connectrpc.com/connect"
	"github.com/google/go-cmp/cmp"
	"go.yaml.in/yaml/v3"
	"google.golang.org/genproto/googleapis/api/annotations"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	spb "google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/test/bufconn"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/testing/protocmp"

	scopeguardv1 "github.com/eshopman/scopeguard/gen/scopeguard/v1"
	"github.com/eshopman/scopeguard/internal/logbuf"
	"github.com/eshopman/scopeguard/server"
	"github.com/eshopman/scopeguard/server/hubspottest"
)

// httpPort is a test server's HTTP port on a real loopback listener.
type httpPort struct {
	base   string // http://127.0.0.1:port
	client *http.Client
}

// serveHTTPPort serves ts's HTTP port until the test ends. Cleanup shuts the
// whole server down (the HTTP port first, as in production).
func serveHTTPPort(t *testing.T, srv *server.Server) *httpPort {
	t.Helper()
	lis, err := new(net.ListenConfig).Listen(t.Context(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- srv.ServeHTTPPort(lis) }()
	transport := &http.Transport{}
	t.Cleanup(func() {
		srv.Shutdown(context.Background())
		if err := <-served; err != nil {
			t.Errorf("ServeHTTPPort returned %v", err)
		}
		transport.CloseIdleConnections()
	})
	return &httpPort{base: "http://" + lis.Addr().String(), client: &http.Client{Transport: transport}}
}

// httpAnswer is an HTTP response, its body read.
type httpAnswer struct {
	code   int
	header http.Header
	body   []byte
}

// send sends one request; safe to call from any goroutine.
func (p *httpPort) send(ctx context.Context, method, path string, header http.Header, body string) (httpAnswer, error) {
	req, err := http.NewRequestWithContext(ctx, method, p.base+path, strings.NewReader(body))
	if err != nil {
		return httpAnswer{}, err
	}
	for name, values := range header {
		req.Header[name] = values
	}
	resp, err := p.client.Do(req)
	if err != nil {
		return httpAnswer{}, err
	}
	data, err := io.ReadAll(resp.Body)
	if cerr := resp.Body.Close(); err == nil {
		err = cerr
	}
	return httpAnswer{code: resp.StatusCode, header: resp.Header, body: data}, err
}

// do sends one request and fails the test if it gets no answer.
func (p *httpPort) do(t *testing.T, method, path string, header http.Header, body string) httpAnswer {
	t.Helper()
	got, err := p.send(t.Context(), method, path, header, body)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	return got
}

var jsonHeader = http.Header{"Content-Type": {"application/json"}}

// postJSON POSTs a JSON body, as REST callers do.
func (p *httpPort) postJSON(t *testing.T, path, body string) httpAnswer {
	t.Helper()
	return p.do(t, http.MethodPost, path, jsonHeader, body)
}

// restRoutes are the google.api.http routes in the proto, by method name.
func restRoutes(t *testing.T) map[string]string {
	t.Helper()
	routes := map[string]string{}
	methods := scopeguardv1.File_scopeguard_v1_service_proto.Services().ByName("ScopeGuardService").Methods()
	for i := range methods.Len() {
		m := methods.Get(i)
		rule, _ := proto.GetExtension(m.Options(), annotations.E_Http).(*annotations.HttpRule)
		if rule.GetPost() == "" || rule.GetBody() != "*" {
			t.Fatalf("%s has no POST route with body \"*\": %v", m.Name(), rule)
		}
		routes[string(m.Name())] = rule.GetPost()
	}
	return routes
}

// restStatus decodes a REST error body: a google.rpc.Status as proto JSON.
func restStatus(t *testing.T, body []byte) *status.Status {
	t.Helper()
	var st spb.Status
	if err := protojson.Unmarshal(body, &st); err != nil {
		t.Fatalf("error body is not a google.rpc.Status: %v\n%s", err, body)
	}
	return status.FromProto(&st)
}

func TestHTTPRESTRoutesAnswerAsGRPCDoes(t *testing.T) {
	t.Parallel()
	env := newRefreshEnv(t)
	port := serveHTTPPort(t, env.srv)
	routes := restRoutes(t)
	ctx := t.Context()

	tests := []struct {
		rpc  string
		req  proto.Message
		grpc func() (proto.Message, error)
		resp proto.Message
	}{
		{
			rpc: "CheckScopes",
			req: &scopeguardv1.CheckScopesRequest{
				Endpoints:     []*scopeguardv1.Endpoint{endpoint("GET", "/crm/v3/objects/contacts"), endpoint("POST", "/crm/v3/objects/0-3/search")},
				GrantedScopes: []string{"crm.objects.contacts.read"},
			},
			resp: &scopeguardv1.CheckScopesResponse{},
		},
		{
			rpc: "PlanScopes",
			req: &scopeguardv1.PlanScopesRequest{
				Endpoints: []*scopeguardv1.Endpoint{endpoint("GET", "/crm/v3/objects/contacts"), endpoint("PATCH", "/crm/v3/objects/contacts/42")},
				ClientId:  testClientID, RedirectUri: "https://shop.example/oauth/callback",
			},
			resp: &scopeguardv1.PlanScopesResponse{},
		},
		{
			rpc: "ExplainError",
			req: &scopeguardv1.ExplainErrorRequest{
				HttpStatus: 403, Body: seedBody, Endpoint: auditLogs,
				GrantedScopes: []string{"oauth", "account-info.security.read"},
			},
			resp: &scopeguardv1.ExplainErrorResponse{},
		},
	}
	c := env.client()
	for _, tt := range tests {
		t.Run(tt.rpc, func(t *testing.T) {
			body, err := protojson.Marshal(tt.req)
			if err != nil {
				t.Fatal(err)
			}
			got := port.postJSON(t, routes[tt.rpc], string(body))
			if got.code != http.StatusOK || got.header.Get("Content-Type") != "application/json" {
				t.Fatalf("POST %s = %d %s: %s", routes[tt.rpc], got.code, got.header.Get("Content-Type"), got.body)
			}
			if err := protojson.Unmarshal(got.body, tt.resp); err != nil {
				t.Fatalf("response is not a %T in proto JSON: %v", tt.resp, err)
			}
			var want proto.Message
			switch req := tt.req.(type) {
			case *scopeguardv1.CheckScopesRequest:
				want, err = c.CheckScopes(ctx, req)
			case *scopeguardv1.PlanScopesRequest:
				want, err = c.PlanScopes(ctx, req)
			case *scopeguardv1.ExplainErrorRequest:
				want, err = c.ExplainError(ctx, req)
			}
			if err != nil {
				t.Fatalf("the same call over gRPC: %v", err)
			}
			if diff := cmp.Diff(want, tt.resp, protocmp.Transform()); diff != "" {
				t.Errorf("REST answer differs from gRPC's (-gRPC +REST):\n%s", diff)
			}
		})
	}

	t.Run("RefreshToken", func(t *testing.T) {
		got := port.postJSON(t, routes["RefreshToken"], `{"refreshToken":"`+env.refreshToken+`","app":"shop"}`)
		if got.code != http.StatusOK {
			t.Fatalf("POST %s = %d: %s", routes["RefreshToken"], got.code, got.body)
		}
		var viaREST scopeguardv1.RefreshTokenResponse
		if err := protojson.Unmarshal(got.body, &viaREST); err != nil {
			t.Fatal(err)
		}
		// The gRPC port shares the token the REST call refreshed: one
		// service, one cache.
		viaGRPC, err := c.RefreshToken(ctx, &scopeguardv1.RefreshTokenRequest{RefreshToken: env.refreshToken, App: "shop"})
		if err != nil {
			t.Fatal(err)
		}
		if viaREST.GetAccessToken() == "" || viaREST.GetShared() || viaGRPC.GetAccessToken() != viaREST.GetAccessToken() || !viaGRPC.GetShared() {
			t.Errorf("REST refresh %v then gRPC refresh %v: want one fresh token, then the same one shared", &viaREST, viaGRPC)
		}
		if n := env.fake.Calls(hubspottest.EndpointToken); n != 1 {
			t.Errorf("HubSpot token calls = %d, want 1", n)
		}
	})
}

func TestHTTPRESTErrors(t *testing.T) {
	t.Parallel()
	routes := restRoutes(t)
	const typedToken = "pat-na1-11111111-2222-3333-4444-555555555555"
	tests := []struct {
		name     string
		setup    func(env *refreshEnv)
		path     string
		body     func(env *refreshEnv) string
		httpCode int
		code     codes.Code
		reason   scopeguardv1.ErrorReason
		fields   []string
		// early: refused before the gRPC server (no request_id).
		early     bool
		retryInfo bool
	}{
		{
			name: "validation", path: routes["CheckScopes"], body: constBody(`{}`),
			httpCode: http.StatusBadRequest, code: codes.InvalidArgument, reason: scopeguardv1.ErrorReason_INVALID_REQUEST, fields: []string{"endpoints"},
		},
		{
			name: "empty body is the empty message", path: routes["ExplainError"], body: constBody(``),
			httpCode: http.StatusBadRequest, code: codes.InvalidArgument, reason: scopeguardv1.ErrorReason_INVALID_REQUEST, fields: []string{"request"},
		},
		{
			name: "not JSON", path: routes["PlanScopes"], body: constBody(`endpoints=GET+/crm/v3/objects/contacts`),
			httpCode: http.StatusBadRequest, code: codes.InvalidArgument, reason: scopeguardv1.ErrorReason_INVALID_REQUEST, fields: []string{"body"}, early: true,
		},
		{
			// protojson's error would quote the unquoted token.
			name: "malformed JSON is not echoed", path: routes["CheckScopes"], body: constBody(`{"endpoints":[{"method":"GET","path":"/crm/v3/objects/contacts"}],"accessToken":` + typedToken + `}`),
			httpCode: http.StatusBadRequest, code: codes.InvalidArgument, reason: scopeguardv1.ErrorReason_INVALID_REQUEST, fields: []string{"body"}, early: true,
		},
		{
			name: "a query string", path: routes["CheckScopes"] + "?grantedScopes=oauth", body: constBody(`{"endpoints":[{"method":"GET","path":"/crm/v3/objects/contacts"}]}`),
			httpCode: http.StatusBadRequest, code: codes.InvalidArgument, reason: scopeguardv1.ErrorReason_INVALID_REQUEST, fields: []string{"query"}, early: true,
		},
		{
			name: "unsupported host", path: routes["CheckScopes"], body: constBody(`{"endpoints":[{"method":"GET","path":"https://example.com/crm/v3/objects/contacts"}],"grantedScopes":["oauth"]}`),
			httpCode: http.StatusBadRequest, code: codes.InvalidArgument, reason: scopeguardv1.ErrorReason_UNSUPPORTED_HOST, fields: []string{"endpoints[0].path"},
		},
		{
			name: "unknown app", path: routes["RefreshToken"],
			body:     func(env *refreshEnv) string { return `{"refreshToken":"` + env.refreshToken + `","app":"warehouse"}` },
			httpCode: http.StatusNotFound, code: codes.NotFound, reason: scopeguardv1.ErrorReason_UNKNOWN_APP,
		},
		{
			name:     "revoked refresh token",
			setup:    func(env *refreshEnv) { env.fake.Revoke(env.refreshToken) },
			path:     routes["RefreshToken"],
			body:     func(env *refreshEnv) string { return `{"refreshToken":"` + env.refreshToken + `","app":"shop"}` },
			httpCode: http.StatusUnauthorized, code: codes.Unauthenticated, reason: scopeguardv1.ErrorReason_REFRESH_TOKEN_INVALID,
		},
		{
			name: "HubSpot rate limits every attempt",
			setup: func(env *refreshEnv) {
				env.fake.InjectFault(hubspottest.EndpointToken, hubspottest.Fault{Status: 429, RetryAfter: "0"})
			},
			path:     routes["RefreshToken"],
			body:     func(env *refreshEnv) string { return `{"refreshToken":"` + env.refreshToken + `","app":"shop"}` },
			httpCode: http.StatusTooManyRequests, code: codes.ResourceExhausted, reason: scopeguardv1.ErrorReason_HUBSPOT_RATE_LIMITED, retryInfo: true,
		},
		{
			name:     "HubSpot down",
			setup:    func(env *refreshEnv) { env.fake.InjectFault(hubspottest.EndpointToken, hubspottest.Fault{Status: 503}) },
			path:     routes["RefreshToken"],
			body:     func(env *refreshEnv) string { return `{"refreshToken":"` + env.refreshToken + `","app":"shop"}` },
			httpCode: http.StatusServiceUnavailable, code: codes.Unavailable, reason: scopeguardv1.ErrorReason_HUBSPOT_UNAVAILABLE, retryInfo: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			env := newRefreshEnv(t)
			port := serveHTTPPort(t, env.srv)
			if tt.setup != nil {
				tt.setup(env)
			}
			got := port.postJSON(t, tt.path, tt.body(env))
			if got.code != tt.httpCode || got.header.Get("Content-Type") != "application/json" {
				t.Fatalf("HTTP %d %s, want %d application/json: %s", got.code, got.header.Get("Content-Type"), tt.httpCode, got.body)
			}
			st := restStatus(t, got.body)
			if tt.early {
				assertEarlyRejection(t, st, tt.fields)
			} else {
				st = wantStatus(t, st.Err(), tt.code, tt.reason, tt.fields)
				if id := got.header.Get(server.RequestIDHeader); id == "" || id != errorInfo(t, st).GetMetadata()["request_id"] {
					t.Errorf("X-Request-Id %q, ErrorInfo request_id %q: want one id", id, errorInfo(t, st).GetMetadata()["request_id"])
				}
			}
			hasRetryInfo := slices.ContainsFunc(st.Details(), func(d any) bool { _, ok := d.(*errdetails.RetryInfo); return ok })
			if hasRetryInfo != tt.retryInfo {
				t.Errorf("RetryInfo present = %v, want %v: %s", hasRetryInfo, tt.retryInfo, got.body)
			}
			env.assertNoSecrets(t, st.Err(), typedToken)
		})
	}
}

// constBody is a request body that does not depend on the environment.
func constBody(body string) func(*refreshEnv) string {
	return func(*refreshEnv) string { return body }
}

// assertEarlyRejection checks an InvalidArgument given before the call
// reaches the gRPC server: ErrorInfo INVALID_REQUEST and one BadRequest
// violation per field, as validation answers, but no request_id (no call
// was logged).
func assertEarlyRejection(t *testing.T, st *status.Status, fields []string) {
	t.Helper()
	if st.Code() != codes.InvalidArgument {
		t.Fatalf("code = %v (%q), want InvalidArgument", st.Code(), st.Message())
	}
	info := errorInfo(t, st)
	if info.GetDomain() != server.ErrorDomain || info.GetReason() != scopeguardv1.ErrorReason_INVALID_REQUEST.String() {
		t.Errorf("ErrorInfo = %v, want %s/INVALID_REQUEST", info, server.ErrorDomain)
	}
	var got []string
	for _, d := range st.Details() {
		if br, ok := d.(*errdetails.BadRequest); ok {
			for _, v := range br.GetFieldViolations() {
				got = append(got, v.GetField())
			}
		}
	}
	if diff := cmp.Diff(fields, got); diff != "" {
		t.Errorf("BadRequest fields (-want +got):\n%s", diff)
	}
}

func TestHTTPUnknownRoutes(t *testing.T) {
	t.Parallel()
	port := serveHTTPPort(t, offline(t).srv)
	for _, path := range []string{"/v1/scopes:guess", "/scopeguard.v1.ScopeGuardService/GuessScopes", "/grpc.health.v1.Health/Check", "/"} {
		got := port.postJSON(t, path, `{}`)
		if got.code != http.StatusNotFound {
			t.Errorf("POST %s = %d, want 404: %s", path, got.code, got.body)
			continue
		}
		if st := restStatus(t, got.body); st.Code() != codes.NotFound || !strings.Contains(st.Message(), "/openapi.yaml") {
			t.Errorf("POST %s answered %v, want NotFound pointing at /openapi.yaml", path, st)
		}
	}
}

// TestHTTPCallsRunThroughTheInterceptors shows the HTTP port's calls are
// the gRPC server's calls: the caller's request id is kept and echoed, the
// call is logged and counted like any other.
func TestHTTPCallsRunThroughTheInterceptors(t *testing.T) {
	t.Parallel()
	ts := offline(t)
	port := serveHTTPPort(t, ts.srv)
	header := http.Header{"Content-Type": {"application/json"}, "X-Request-Id": {"rest-call-1"}}
	got := port.do(t, http.MethodPost, restRoutes(t)["CheckScopes"], header,
		`{"endpoints":[{"method":"GET","path":"/crm/v3/objects/contacts"}],"grantedScopes":["crm.objects.contacts.read"]}`)
	if got.code != http.StatusOK {
		t.Fatalf("CheckScopes = %d: %s", got.code, got.body)
	}
	if got := got.header.Get(server.RequestIDHeader); got != "rest-call-1" {
		t.Errorf("X-Request-Id = %q, want the caller's rest-call-1", got)
	}
	logged := false
	for _, line := range strings.Split(strings.TrimSpace(ts.logs.String()), "\n") {
		var rec struct {
			Msg       string `json:"msg"`
			Method    string `json:"grpc.method"`
			Code      string `json:"grpc.code"`
			RequestID string `json:"request_id"`
		}
		if err := json.Unmarshal([]byte(line), &rec); err == nil && rec.Msg == "finished call" && rec.RequestID == "rest-call-1" {
			logged = rec.Method == "CheckScopes" && rec.Code == "OK"
		}
	}
	if !logged {
		t.Errorf("no finished-call log line for rest-call-1:\n%s", ts.logs.String())
	}
	metrics := scrape(t, ts.metrics)
	if want := `grpc_server_handled_total{grpc_code="OK",grpc_method="CheckScopes",grpc_service="scopeguard.v1.ScopeGuardService",grpc_type="unary"} 1`; !strings.Contains(metrics, want) {
		t.Errorf("/metrics lacks %s", want)
	}
}

// TestHTTPConnectAndGRPCWeb calls the service as Connect (JSON and binary)
// and gRPC-Web clients do, with connect-go's generic client.
func TestHTTPConnectAndGRPCWeb(t *testing.T) {
	t.Parallel()
	ts := offline(t)
	port := serveHTTPPort(t, ts.srv)
	procedure := port.base + "/" + scopeguardv1.ScopeGuardService_ServiceDesc.ServiceName + "/CheckScopes"
	req := &scopeguardv1.CheckScopesRequest{
		Endpoints:     []*scopeguardv1.Endpoint{endpoint("GET", "/crm/v3/objects/contacts"), endpoint("GET", "/crm/v3/objects/deals")},
		GrantedScopes: []string{"crm.objects.contacts.read"},
	}
	want, err := ts.client().CheckScopes(t.Context(), req)
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name string
		opts []connect.ClientOption
	}{
		{"Connect JSON", []connect.ClientOption{connect.WithProtoJSON()}},
		{"Connect binary", nil},
		{"Connect GET", []connect.ClientOption{connect.WithHTTPGet()}},
		{"gRPC-Web binary", []connect.ClientOption{connect.WithGRPCWeb()}},
		{"gRPC-Web JSON", []connect.ClientOption{connect.WithGRPCWeb(), connect.WithProtoJSON()}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			client := connect.NewClient[scopeguardv1.CheckScopesRequest, scopeguardv1.CheckScopesResponse](port.client, procedure, tt.opts...)
			got, err := client.CallUnary(t.Context(), connect.NewRequest(req))
			if err != nil {
				t.Fatalf("CheckScopes: %v", err)
			}
			if diff := cmp.Diff(want, got.Msg, protocmp.Transform()); diff != "" {
				t.Errorf("answer differs from gRPC's (-gRPC +%s):\n%s", tt.name, diff)
			}

			_, err = client.CallUnary(t.Context(), connect.NewRequest(&scopeguardv1.CheckScopesRequest{}))
			var cerr *connect.Error
			if !errors.As(err, &cerr) || cerr.Code() != connect.CodeInvalidArgument {
				t.Fatalf("empty request: %v, want invalid_argument", err)
			}
			var reasons, fields []string
			for _, d := range cerr.Details() {
				switch v, _ := d.Value(); v := v.(type) {
				case *errdetails.ErrorInfo:
					reasons = append(reasons, v.GetReason())
				case *errdetails.BadRequest:
					for _, fv := range v.GetFieldViolations() {
						fields = append(fields, fv.GetField())
					}
				}
			}
			if diff := cmp.Diff([]string{"INVALID_REQUEST"}, reasons); diff != "" {
				t.Errorf("ErrorInfo reasons (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff([]string{"endpoints"}, fields); diff != "" {
				t.Errorf("BadRequest fields (-want +got):\n%s", diff)
			}
		})
	}
}

// TestHTTPHealthz follows the health server: 503 until Serve, 200 while
// serving.
func TestHTTPHealthz(t *testing.T) {
	t.Parallel()
	log := slog.New(slog.NewJSONHandler(&logbuf.Buffer{}, nil))
	metrics := server.NewMetrics()
	srv, err := server.New(server.DefaultConfig(), log, scopeguardv1.UnimplementedScopeGuardServiceServer{}, metrics)
	if err != nil {
		t.Fatal(err)
	}
	port := serveHTTPPort(t, srv)
	healthz := func(wantCode int, wantBody string) {
		t.Helper()
		got := port.do(t, http.MethodGet, "/healthz", nil, "")
		if got.code != wantCode || string(got.body) != wantBody || got.header.Get("Content-Type") != "application/json" {
			t.Errorf("GET /healthz = %d %s %s, want %d %s", got.code, got.header.Get("Content-Type"), got.body, wantCode, wantBody)
		}
	}
	healthz(http.StatusServiceUnavailable, `{"status":"NOT_SERVING"}`)

	lis := bufconn.Listen(1 << 20)
	served := make(chan error, 1)
	go func() { served <- srv.Serve(lis) }()
	t.Cleanup(func() {
		srv.Shutdown(context.Background())
		if err := <-served; err != nil {
			t.Errorf("Serve returned %v", err)
		}
	})
	conn, err := grpc.NewClient("passthrough:///bufconn",
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	// Serve marks the server SERVING before it answers its first call.
	if _, err := grpc_health_v1.NewHealthClient(conn).Check(t.Context(), &grpc_health_v1.HealthCheckRequest{}); err != nil {
		t.Fatal(err)
	}
	healthz(http.StatusOK, `{"status":"SERVING"}`)
}

// TestHTTPOpenAPI checks the served document is the committed one and that
// its paths are exactly the proto's routes, each answered by the server.
func TestHTTPOpenAPI(t *testing.T) {
	t.Parallel()
	port := serveHTTPPort(t, offline(t).srv)
	got := port.do(t, http.MethodGet, "/openapi.yaml", nil, "")
	if got.code != http.StatusOK || got.header.Get("Content-Type") != "application/yaml" {
		t.Fatalf("GET /openapi.yaml = %d %s", got.code, got.header.Get("Content-Type"))
	}
	committed, err := os.ReadFile("openapi/openapi.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got.body, committed) {
		t.Error("served document differs from server/openapi/openapi.yaml")
	}
	var doc struct {
		OpenAPI string                    `yaml:"openapi"`
		Paths   map[string]map[string]any `yaml:"paths"`
	}
	if err := yaml.Unmarshal(got.body, &doc); err != nil {
		t.Fatalf("not YAML: %v", err)
	}
	if !strings.HasPrefix(doc.OpenAPI, "3.") {
		t.Errorf("openapi = %q, want 3.x", doc.OpenAPI)
	}
	var documented, routes []string
	for path, ops := range doc.Paths {
		for op := range ops {
			documented = append(documented, strings.ToUpper(op)+" "+path)
		}
	}
	for _, path := range restRoutes(t) {
		routes = append(routes, "POST "+path)
		// Every route is served: an empty request meets validation, not 404.
		if got := port.postJSON(t, path, `{}`); got.code != http.StatusBadRequest {
			t.Errorf("POST %s {} = %d, want 400 from validation: %s", path, got.code, got.body)
		}
	}
	slices.Sort(documented)
	slices.Sort(routes)
	if diff := cmp.Diff(routes, documented); diff != "" {
		t.Errorf("documented operations differ from the proto's routes (-proto +openapi.yaml):\n%s", diff)
	}
}

// blockingService holds CheckScopes open until release is closed.
type blockingService struct {
	scopeguardv1.UnimplementedScopeGuardServiceServer
	entered chan struct{}
	release chan struct{}
}

func (s *blockingService) CheckScopes(ctx context.Context, _ *scopeguardv1.CheckScopesRequest) (*scopeguardv1.CheckScopesResponse, error) {
	close(s.entered)
	select {
	case <-s.release:
		return &scopeguardv1.CheckScopesResponse{Allowed: true}, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// TestHTTPShutdownLetsOpenRequestsFinish: Shutdown stops the HTTP port
// before the gRPC server, whose stop would cut the HTTP calls running on it.
func TestHTTPShutdownLetsOpenRequestsFinish(t *testing.T) {
	t.Parallel()
	svc := &blockingService{entered: make(chan struct{}), release: make(chan struct{})}
	ts := startServer(t, serving(svc))
	port := serveHTTPPort(t, ts.srv)

	type answer struct {
		httpAnswer
		err error
	}
	answered := make(chan answer, 1)
	go func() {
		got, err := port.send(context.Background(), http.MethodPost, "/v1/scopes:check", jsonHeader,
			`{"endpoints":[{"method":"GET","path":"/crm/v3/objects/contacts"}],"grantedScopes":["oauth"]}`)
		answered <- answer{got, err}
	}()
	<-svc.entered

	// The watch must end before the gRPC server can stop gracefully.
	watchCtx, endWatch := context.WithCancel(t.Context())
	defer endWatch()
	watch, err := grpc_health_v1.NewHealthClient(ts.conn).Watch(watchCtx, &grpc_health_v1.HealthCheckRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if first, err := watch.Recv(); err != nil || first.GetStatus() != grpc_health_v1.HealthCheckResponse_SERVING {
		t.Fatalf("health = %v, %v; want SERVING", first, err)
	}
	stopped := make(chan struct{})
	go func() {
		ts.srv.Shutdown(context.Background())
		close(stopped)
	}()
	// Shutdown has begun once health says NOT_SERVING; the call is still open.
	if next, err := watch.Recv(); err != nil || next.GetStatus() != grpc_health_v1.HealthCheckResponse_NOT_SERVING {
		t.Fatalf("health = %v, %v; want NOT_SERVING", next, err)
	}
	endWatch()
	close(svc.release)
	got := <-answered
	var resp scopeguardv1.CheckScopesResponse
	if got.err != nil || got.code != http.StatusOK || protojson.Unmarshal(got.body, &resp) != nil || !resp.GetAllowed() {
		t.Errorf("the open call answered %d %s (%v), want 200 allowed", got.code, got.body, got.err)
	}
	<-stopped
}

// TestHTTPRunFailsWhenItsPortIsTaken: Run refuses to start without its HTTP
// port and leaves nothing running (TestMain checks for leaked goroutines).
func TestHTTPRunFailsWhenItsPortIsTaken(t *testing.T) {
	t.Parallel()
	taken, err := new(net.ListenConfig).Listen(t.Context(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = taken.Close() }()
	cfg := server.DefaultConfig()
	cfg.Listen = "127.0.0.1:0"
	cfg.MetricsListen = "127.0.0.1:0"
	cfg.HTTPListen = taken.Addr().String()
	log := slog.New(slog.NewJSONHandler(&logbuf.Buffer{}, nil))
	metrics := server.NewMetrics()
	err = server.Run(t.Context(), cfg, log, scopeguardv1.UnimplementedScopeGuardServiceServer{}, metrics, nil)
	if err == nil || !strings.Contains(err.Error(), "listen on "+cfg.HTTPListen) {
		t.Errorf("Run = %v, want the HTTP port's listen error", err)
	}
}
