package server

import (
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"regexp"
	"strings"

	"connectrpc.com/connect"
	"connectrpc.com/vanguard"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	scopeguardv1 "github.com/eshopman/scopeguard/gen/scopeguard/v1"
)

// transcoder is the seam to connectrpc.com/vanguard (alpha; the only file
// that imports it). It answers REST (the google.api.http routes in the
// proto), Connect (JSON and binary) and gRPC-Web for the ScopeGuardService
// by turning each request into a gRPC call on gs itself, so every call runs
// through the same interceptor chain as on the gRPC port. Health and
// reflection stay on the gRPC port. maxBytes is the gRPC port's message
// limit, which the gRPC server still enforces on every request; vanguard
// buffers up to twice that (proto JSON is larger than binary) and answers
// more with ResourceExhausted. Requests for any other path go to unknown.
func transcoder(gs *grpc.Server, maxBytes int, unknown http.Handler) (http.Handler, error) {
	svc := vanguard.NewService(scopeguardv1.ScopeGuardService_ServiceDesc.ServiceName, gs,
		vanguard.WithTargetProtocols(vanguard.ProtocolGRPC),
		vanguard.WithTargetCodecs(vanguard.CodecProto),
		vanguard.WithMaxMessageBufferBytes(uint32(min(2*maxBytes, 1<<31))), //nolint:gosec // G115: capped at 1<<31; Validate keeps maxBytes positive
	)
	t, err := vanguard.NewTranscoder([]*vanguard.Service{svc},
		vanguard.WithCodec(jsonCodec),
		vanguard.WithUnknownHandler(unknown))
	if err != nil {
		return nil, fmt.Errorf("build the HTTP transcoder: %w", err)
	}
	return shapeRequests(t), nil
}

// restPrefix starts every google.api.http route in the proto.
const restPrefix = "/v1/"

// shapeRequests adjusts two kinds of request that vanguard v0.4.0
// mishandles. Every REST route takes its whole request from the body (body
// "*"), so a query string has no field to bind to: it is refused as
// InvalidArgument (vanguard answers an unknown name as Unknown). An empty
// JSON body, REST or Connect, is the empty message, so it becomes "{}" and
// meets validation (vanguard answers Internal: no request message).
func shapeRequests(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, restPrefix) && r.URL.RawQuery != "" {
			writeStatus(w, http.StatusBadRequest, statusError(r.Context(), codes.InvalidArgument, scopeguardv1.ErrorReason_INVALID_REQUEST,
				"invalid request: query: REST routes take every field from the JSON body",
				map[string]string{"violations": "1"},
				&errdetails.BadRequest{FieldViolations: []*errdetails.BadRequest_FieldViolation{
					{Field: "query", Description: "REST routes take every field from the JSON body, not the query string", Reason: "rest.query"},
				}}))
			return
		}
		if r.Method == http.MethodPost && r.ContentLength == 0 && isJSON(r.Header.Get("Content-Type")) {
			r.Body = io.NopCloser(strings.NewReader("{}"))
			r.ContentLength = 2
		}
		next.ServeHTTP(w, r)
	})
}

// isJSON reports whether contentType is application/json, with or without
// parameters.
func isJSON(contentType string) bool {
	mediaType, _, err := mime.ParseMediaType(contentType)
	return err == nil && mediaType == "application/json"
}

// jsonCodec is proto JSON for REST and Connect: lowerCamelCase names,
// enums by name, every scalar and list written even when empty (so "allowed":
// false is there to read) but no nulls for unset messages; unknown request
// fields are ignored, as the binary format ignores them.
func jsonCodec(res vanguard.TypeResolver) vanguard.Codec {
	return requestJSONCodec{&vanguard.JSONCodec{
		MarshalOptions:   protojson.MarshalOptions{Resolver: res, EmitDefaultValues: true},
		UnmarshalOptions: protojson.UnmarshalOptions{Resolver: res, DiscardUnknown: true},
	}}
}

// requestJSONCodec turns a body that is not proto JSON into the error the
// validation interceptor gives a bad request (InvalidArgument, ErrorInfo
// INVALID_REQUEST, a BadRequest violation) instead of vanguard's Unknown.
// Such a body never reaches the gRPC server, as a malformed binary message
// never reaches the interceptors on the gRPC port.
type requestJSONCodec struct{ *vanguard.JSONCodec }

// jsonErrorPosition is the "(line 1:15)" in protojson's errors. The rest of
// the error can quote the request (a mistyped token, say), so only the
// position is repeated.
var jsonErrorPosition = regexp.MustCompile(`\(line \d+:\d+\)`)

func (c requestJSONCodec) Unmarshal(data []byte, msg proto.Message) error {
	err := c.JSONCodec.Unmarshal(data, msg)
	if err == nil {
		return nil
	}
	description := "not valid proto JSON for " + string(msg.ProtoReflect().Descriptor().FullName())
	if at := jsonErrorPosition.FindString(err.Error()); at != "" {
		description += " " + at
	}
	cerr := connect.NewError(connect.CodeInvalidArgument, errors.New("invalid request: body: "+description))
	for _, detail := range []proto.Message{
		&errdetails.ErrorInfo{
			Reason:   scopeguardv1.ErrorReason_INVALID_REQUEST.String(),
			Domain:   ErrorDomain,
			Metadata: map[string]string{"violations": "1"},
		},
		&errdetails.BadRequest{FieldViolations: []*errdetails.BadRequest_FieldViolation{
			{Field: "body", Description: description, Reason: "json.syntax"},
		}},
	} {
		if d, derr := connect.NewErrorDetail(detail); derr == nil {
			cerr.AddDetail(d)
		}
	}
	return cerr
}
