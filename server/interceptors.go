package server

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"runtime/debug"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"buf.build/go/protovalidate"
	"github.com/grpc-ecosystem/go-grpc-middleware/v2/interceptors/logging"
	"github.com/grpc-ecosystem/go-grpc-middleware/v2/interceptors/recovery"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"

	"github.com/eshopman/scopeguard/server/callers"
)

// RequestIDHeader is the metadata key carrying a call's request id, both
// ways: a caller may send one (it is kept when well-formed), and the server
// always answers with the id it logged the call under.
const RequestIDHeader = "x-request-id"

// callInfo is what the interceptor chain knows about one call; the
// outermost interceptor puts it in the call's context. It holds what the
// call's log line reports beyond the call itself: an inner interceptor that
// learns more about the call (who the caller is, say) records it here.
type callInfo struct {
	requestID string
}

type callInfoKey struct{}

func requestIDFrom(ctx context.Context) string {
	if call, ok := ctx.Value(callInfoKey{}).(*callInfo); ok {
		return call.requestID
	}
	return ""
}

// Minted request ids are a per-process random prefix (48 bits, so ids stay
// distinct across restarts and replicas) and a counter: unique, and
// nearly free to make, unlike a crypto/rand read per call.
var (
	requestIDPrefix = newRequestIDPrefix()
	requestIDCount  atomic.Uint64
)

func newRequestIDPrefix() string {
	var b [6]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails on supported platforms.
	return hex.EncodeToString(b[:]) + "-"
}

func mintRequestID() string {
	var b [32]byte
	id := append(b[:0], requestIDPrefix...)
	return string(strconv.AppendUint(id, requestIDCount.Add(1), 10))
}

// requestID picks the call's id: the caller's, when it is a short token of
// safe characters (so it cannot forge log lines), else a fresh one.
func requestID(ctx context.Context) string {
	if ids := metadata.ValueFromIncomingContext(ctx, RequestIDHeader); len(ids) > 0 && validRequestID(ids[0]) {
		return ids[0]
	}
	return mintRequestID()
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

// withCallInfo starts the call's callInfo and answers with its request id.
func withCallInfo(ctx context.Context, setHeader func(metadata.MD) error) context.Context {
	call := &callInfo{requestID: requestID(ctx)}
	_ = setHeader(metadata.MD{RequestIDHeader: {call.requestID}})
	return context.WithValue(ctx, callInfoKey{}, call)
}

func requestIDUnary(ctx context.Context, req any, _ *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	ctx = withCallInfo(ctx, func(md metadata.MD) error { return grpc.SetHeader(ctx, md) })
	return handler(ctx, req)
}

func requestIDStream(srv any, ss grpc.ServerStream, _ *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
	ctx := withCallInfo(ss.Context(), ss.SetHeader)
	return handler(srv, &contextStream{ServerStream: ss, ctx: ctx})
}

// contextStream is a ServerStream whose context carries values added by an
// interceptor.
type contextStream struct {
	grpc.ServerStream
	ctx context.Context
}

func (s *contextStream) Context() context.Context { return s.ctx }

// Values of --log-calls: which finished calls get a log line.
const (
	// LogCallsAll logs every call: successes at info (health checks at
	// debug), failures at their code's level.
	LogCallsAll = "all"
	// LogCallsErrors logs only the calls that did not end OK; successes
	// are counted by the metrics instead.
	LogCallsErrors = "errors"
	// LogCallsNone logs no call (panics are still logged).
	LogCallsNone = "none"
)

// callLogger writes a call's "finished call" line, the fields
// go-grpc-middleware's logging interceptor wrote before it. It does no work
// for a call it will not log: the mode and the level are settled before a
// single field is built.
type callLogger struct {
	log  *slog.Logger
	mode string // LogCallsAll, LogCallsErrors or LogCallsNone
}

func (l callLogger) unary(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	if l.mode == LogCallsNone {
		return handler(ctx, req)
	}
	start := time.Now()
	resp, err := handler(ctx, req)
	l.finished(ctx, info.FullMethod, start, err)
	return resp, err
}

func (l callLogger) stream(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
	if l.mode == LogCallsNone {
		return handler(srv, ss)
	}
	start := time.Now()
	err := handler(srv, ss)
	l.finished(ss.Context(), info.FullMethod, start, err)
	return err
}

func (l callLogger) finished(ctx context.Context, fullMethod string, start time.Time, err error) {
	code := status.Code(err)
	if code == codes.OK && l.mode != LogCallsAll {
		return
	}
	service, method, _ := strings.Cut(strings.TrimPrefix(fullMethod, "/"), "/")
	level := slog.Level(logging.DefaultServerCodeToLevel(code))
	// Health checks are logged at debug so that probes do not drown real
	// traffic.
	if level == slog.LevelInfo && service == grpc_health_v1.Health_ServiceDesc.ServiceName {
		level = slog.LevelDebug
	}
	if !l.log.Enabled(ctx, level) {
		return
	}
	attrs := make([]slog.Attr, 0, 9)
	attrs = append(attrs,
		slog.String("grpc.service", service),
		slog.String("grpc.method", method),
		slog.String("request_id", requestIDFrom(ctx)))
	if p, ok := peer.FromContext(ctx); ok && p.Addr != nil {
		attrs = append(attrs, slog.String("peer.address", p.Addr.String()))
	}
	attrs = append(attrs, slog.String("grpc.start_time", start.Format(time.RFC3339)))
	if deadline, ok := ctx.Deadline(); ok {
		attrs = append(attrs, slog.String("grpc.request.deadline", deadline.Format(time.RFC3339)))
	}
	caller := callers.Reserved // no callers file, or a call that named no caller
	if id, ok := CallerID(ctx); ok {
		caller = id
	}
	attrs = append(attrs, slog.String("caller", caller))
	attrs = append(attrs, slog.String("grpc.code", code.String()))
	if err != nil {
		attrs = append(attrs, slog.String("grpc.error", err.Error()))
	}
	attrs = append(attrs, slog.Float64("grpc.time_ms", float64(time.Since(start).Microseconds())/1000))
	l.log.LogAttrs(ctx, level, "finished call", attrs...)
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

// validationUnary enforces the protovalidate rules written in the proto
// (see validate), so handlers can assume valid input.
func validationUnary(v protovalidate.Validator) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, _ *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		if err := validate(v, req); err != nil {
			return nil, toStatus(ctx, err)
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
	if err := validate(s.validator, m); err != nil {
		return toStatus(s.Context(), err)
	}
	return nil
}
