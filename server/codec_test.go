package server_test

import (
	"fmt"
	"strings"
	"testing"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/mem"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	scopeguardv1 "github.com/eshopman/scopeguard/gen/scopeguard/v1"
)

// rawCodec sends a []byte request as it is, so tests can send what no
// protobuf library would encode; answers decode as usual.
type rawCodec struct{}

func (rawCodec) Marshal(v any) (mem.BufferSlice, error) {
	b, ok := v.([]byte)
	if !ok {
		return nil, fmt.Errorf("rawCodec sends []byte, not %T", v)
	}
	return mem.BufferSlice{mem.SliceBuffer(b)}, nil
}

func (rawCodec) Unmarshal(data mem.BufferSlice, v any) error {
	msg, ok := v.(proto.Message)
	if !ok {
		return fmt.Errorf("rawCodec decodes into messages, not %T", v)
	}
	return proto.Unmarshal(data.Materialize(), msg)
}

func (rawCodec) Name() string { return "proto" }

// Hand encodings of requests, field by field.
func stringField(b []byte, num protowire.Number, s string) []byte {
	return protowire.AppendString(protowire.AppendTag(b, num, protowire.BytesType), s)
}

func messageField(b []byte, num protowire.Number, msg []byte) []byte {
	return protowire.AppendBytes(protowire.AppendTag(b, num, protowire.BytesType), msg)
}

func rawEndpoint(method, path string) []byte {
	return stringField(stringField(nil, 1, method), 2, path)
}

func TestUndecodableRequestsAreInvalidArgument(t *testing.T) {
	t.Parallel()
	ts := offline(t)
	contacts := rawEndpoint("GET", "/crm/v3/objects/contacts")
	tests := []struct {
		name, method string
		request      []byte
		reply        proto.Message
		field        string
		reason       string
	}{
		{
			name:    "a granted scope that is not UTF-8",
			method:  "/scopeguard.v1.ScopeGuardService/CheckScopes",
			request: stringField(stringField(messageField(nil, 1, contacts), 2, "crm.objects.contacts.read"), 2, "crm.\xff\xfe.read"),
			reply:   &scopeguardv1.CheckScopesResponse{}, field: "granted_scopes[1]", reason: "utf8",
		},
		{
			name:    "an endpoint path that is not UTF-8",
			method:  "/scopeguard.v1.ScopeGuardService/PlanScopes",
			request: messageField(messageField(nil, 1, contacts), 1, rawEndpoint("GET", "/crm/v3/objects/\xc3\x28")),
			reply:   &scopeguardv1.PlanScopesResponse{}, field: "endpoints[1].path", reason: "utf8",
		},
		{
			name:    "a header value that is not UTF-8",
			method:  "/scopeguard.v1.ScopeGuardService/ExplainError",
			request: messageField(stringField(nil, 2, "{}"), 3, stringField(stringField(nil, 1, "Retry-After"), 2, "\x80")),
			reply:   &scopeguardv1.ExplainErrorResponse{}, field: "headers", reason: "utf8",
		},
		{
			name:    "bytes that are no message",
			method:  "/scopeguard.v1.ScopeGuardService/CheckScopes",
			request: []byte{0x0a, 0xff, 0xff, 0xff},
			reply:   &scopeguardv1.CheckScopesResponse{}, field: "request", reason: "malformed",
		},
		{
			name:    "a health check for a service name that is not UTF-8",
			method:  "/grpc.health.v1.Health/Check",
			request: stringField(nil, 1, "scopeguard\xff"),
			reply:   &grpc_health_v1.HealthCheckResponse{}, field: "service", reason: "utf8",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := ts.conn.Invoke(t.Context(), tt.method, tt.request, tt.reply, grpc.ForceCodecV2(rawCodec{}))
			wantStatus(t, err, codes.InvalidArgument, scopeguardv1.ErrorReason_INVALID_REQUEST, []string{tt.field})
			if got := wantDetail[*errdetails.BadRequest](t, err).GetFieldViolations()[0].GetReason(); got != tt.reason {
				t.Errorf("violation reason %q, want %q", got, tt.reason)
			}
		})
	}
	t.Run("a health watch that is not UTF-8", func(t *testing.T) {
		t.Parallel()
		stream, err := ts.conn.NewStream(t.Context(), &grpc_health_v1.Health_ServiceDesc.Streams[0], "/grpc.health.v1.Health/Watch", grpc.ForceCodecV2(rawCodec{}))
		if err != nil {
			t.Fatal(err)
		}
		if err := stream.SendMsg(stringField(nil, 1, "\xff")); err != nil {
			t.Fatal(err)
		}
		_ = stream.CloseSend()
		err = stream.RecvMsg(&grpc_health_v1.HealthCheckResponse{})
		wantStatus(t, err, codes.InvalidArgument, scopeguardv1.ErrorReason_INVALID_REQUEST, []string{"service"})
	})
}

func TestUndecodableRequestsAreLoggedAndCounted(t *testing.T) {
	t.Parallel()
	ts := offline(t)
	request := stringField(messageField(nil, 1, rawEndpoint("GET", "/crm/v3/objects/contacts")), 2, "\xff")
	err := ts.conn.Invoke(t.Context(), "/scopeguard.v1.ScopeGuardService/CheckScopes", request, &scopeguardv1.CheckScopesResponse{}, grpc.ForceCodecV2(rawCodec{}))
	wantStatus(t, err, codes.InvalidArgument, scopeguardv1.ErrorReason_INVALID_REQUEST, []string{"granted_scopes[0]"})
	logs := ts.logs.String()
	for _, want := range []string{`"msg":"refused a request that does not decode"`, `"field":"granted_scopes[0]"`, `"grpc.code":"InvalidArgument"`} {
		if !strings.Contains(logs, want) {
			t.Errorf("logs lack %s:\n%s", want, logs)
		}
	}
	metrics := scrape(t, ts.metrics)
	for _, series := range []string{
		`scopeguard_undecodable_requests_total{method="/scopeguard.v1.ScopeGuardService/CheckScopes",reason="utf8"} 1`,
		`grpc_server_handled_total{grpc_code="InvalidArgument",grpc_method="CheckScopes",grpc_service="scopeguard.v1.ScopeGuardService",grpc_type="unary"} 1`,
	} {
		if !strings.Contains(metrics, series) {
			t.Errorf("/metrics lacks %s", series)
		}
	}
}
