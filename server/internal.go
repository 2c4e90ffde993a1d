package server

import (
	"context"
	"errors"
	"log/slog"

	"google.golang.org/grpc"
	"google.golang.org/grpc/status"
)

// reportErrors makes sure no error leaves the server but as a status: one
// that is not a status yet (a handler forgot toStatus) is mapped now, so its
// text never reaches the caller. The cause of every Internal answer is
// logged under the request id; the answer itself only says so.
func reportErrors(log *slog.Logger) (grpc.UnaryServerInterceptor, grpc.StreamServerInterceptor) {
	report := func(ctx context.Context, method string, err error) error {
		if err == nil {
			return nil
		}
		if _, ok := status.FromError(err); !ok {
			err = toStatus(ctx, err)
		}
		var failure *internalStatusError
		if errors.As(err, &failure) && failure.cause != nil {
			log.ErrorContext(ctx, "internal error",
				slog.String("request_id", requestIDFrom(ctx)), slog.String("method", method),
				slog.String("error", failure.cause.Error()))
		}
		return err
	}
	unary := func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		resp, err := handler(ctx, req)
		return resp, report(ctx, info.FullMethod, err)
	}
	stream := func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
		return report(ss.Context(), info.FullMethod, handler(srv, ss))
	}
	return unary, stream
}
