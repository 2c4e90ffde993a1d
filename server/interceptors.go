package server

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"runtime/debug"

	"buf.build/go/protovalidate"
	"github.com/grpc-ecosystem/go-grpc-middleware/v2/interceptors/logging"
	"github.com/grpc-ecosystem/go-grpc-middleware/v2/interceptors/recovery"
	"google.golang.org/grpc"
	"google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/proto"
)

// RequestIDHeader is the metadata key carrying a call's request id, both
// ways: a caller may send one (it is kept when well-formed), and the server
// always answers with the id it logged the call under.
const RequestIDHeader = "x-request-id"

type requestIDKey struct{}

func requestIDFrom(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey{}).(string)
	return id
}

// requestID picks the call's id: the caller's, when it is a short token of
// safe characters (so it cannot forge log lines), else a fresh random one.
func requestID(ctx context.Context) string {
	if md, ok := metadata.FromIncomingContext(ctx); ok {
		if ids := md.Get(RequestIDHeader); len(ids) > 0 && validRequestID(ids[0]) {
			return ids[0]
		}
	}
	var b [8]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails on supported platforms.
	return hex.EncodeToString(b[:])
}

func validRequestID(id string) bool {
	if id == "" || len(id) > 64 {
		return false
	}
	for i := range len(id) {
		switch c := id[i]; {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '-', c == '_', c == '.':
		default:
			return false
		}
	}
	return true
}

func withRequestID(ctx context.Context) context.Context {
	id := requestID(ctx)
	ctx = context.WithValue(ctx, requestIDKey{}, id)
	return logging.InjectFields(ctx, logging.Fields{"request_id", id})
}

func requestIDUnary(ctx context.Context, req any, _ *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	ctx = withRequestID(ctx)
	_ = grpc.SetHeader(ctx, metadata.Pairs(RequestIDHeader, requestIDFrom(ctx)))
	return handler(ctx, req)
}

func requestIDStream(srv any, ss grpc.ServerStream, _ *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
	ctx := withRequestID(ss.Context())
	_ = ss.SetHeader(metadata.Pairs(RequestIDHeader, requestIDFrom(ctx)))
	return handler(srv, &contextStream{ServerStream: ss, ctx: ctx})
}

// contextStream is a ServerStream whose context carries values added by an
// interceptor.
type contextStream struct {
	grpc.ServerStream
	ctx context.Context
}

func (s *contextStream) Context() context.Context { return s.ctx }

// slogLogger adapts slog to go-grpc-middleware's logging interceptor. Health
// checks are logged at debug so that probes do not drown real traffic.
func slogLogger(l *slog.Logger) logging.Logger {
	return logging.LoggerFunc(func(ctx context.Context, level logging.Level, msg string, fields ...any) {
		if level == logging.LevelInfo && isHealthCall(fields) {
			level = logging.LevelDebug
		}
		l.Log(ctx, slog.Level(level), msg, fields...)
	})
}

func isHealthCall(fields []any) bool {
	for i := 0; i+1 < len(fields); i += 2 {
		if fields[i] == logging.ServiceFieldKey {
			return fields[i+1] == grpc_health_v1.Health_ServiceDesc.ServiceName
		}
	}
	return false
}

// recoveryHandler turns a panic into Internal: the panic and its stack go to
// the log under the request id, never to the caller.
func recoveryHandler(l *slog.Logger) recovery.RecoveryHandlerFuncContext {
	return func(ctx context.Context, p any) error {
		l.ErrorContext(ctx, "recovered from panic",
			slog.String("request_id", requestIDFrom(ctx)),
			slog.Any("panic", p),
			slog.String("stack", string(debug.Stack())))
		return internalError(ctx, nil)
	}
}

// validationUnary enforces the protovalidate rules written in the proto, so
// handlers can assume valid input.
func validationUnary(v protovalidate.Validator) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, _ *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		if msg, ok := req.(proto.Message); ok {
			if err := v.Validate(msg); err != nil {
				return nil, toStatus(ctx, err)
			}
		}
		return handler(ctx, req)
	}
}

// validationStream is validationUnary for every message a stream receives.
func validationStream(v protovalidate.Validator) grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, _ *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
		return handler(srv, &validatingStream{ServerStream: ss, validator: v})
	}
}

type validatingStream struct {
	grpc.ServerStream
	validator protovalidate.Validator
}

func (s *validatingStream) RecvMsg(m any) error {
	if err := s.ServerStream.RecvMsg(m); err != nil {
		return err
	}
	if msg, ok := m.(proto.Message); ok {
		if err := s.validator.Validate(msg); err != nil {
			return toStatus(s.Context(), err)
		}
	}
	return nil
}
