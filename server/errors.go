package server

import (
	"context"
	"errors"
	"strconv"

	"buf.build/go/protovalidate"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/protoadapt"

	scopeguardv1 "github.com/eshopman/scopeguard/gen/scopeguard/v1"
)

// ErrorDomain is google.rpc.ErrorInfo.domain on every error scopeguard sends.
const ErrorDomain = "scopeguard"

// statusError is the one way handlers and interceptors build an error
// status: code, a message safe to show (no secrets, no upstream bodies),
// ErrorInfo with reason and metadata (plus the request id), and any further
// details. If the details cannot be attached the plain status is returned.
func statusError(ctx context.Context, code codes.Code, reason scopeguardv1.ErrorReason, msg string, metadata map[string]string, details ...protoadapt.MessageV1) error {
	if metadata == nil {
		metadata = map[string]string{}
	}
	if id := requestIDFrom(ctx); id != "" {
		metadata["request_id"] = id
	}
	st := status.New(code, msg)
	info := &errdetails.ErrorInfo{Reason: reason.String(), Domain: ErrorDomain, Metadata: metadata}
	withDetails, err := st.WithDetails(append([]protoadapt.MessageV1{info}, details...)...)
	if err != nil {
		return st.Err()
	}
	return withDetails.Err()
}

// toStatus maps a domain error to its gRPC status. Errors that are already
// statuses pass through; anything unrecognised is a bug and becomes Internal
// without its text (which could carry details not meant for callers).
func toStatus(ctx context.Context, err error) error {
	if err == nil {
		return nil
	}
	if _, ok := status.FromError(err); ok {
		return err
	}
	var verr *protovalidate.ValidationError
	if errors.As(err, &verr) {
		return invalidRequest(ctx, verr)
	}
	if errors.Is(err, context.Canceled) {
		return status.Error(codes.Canceled, "the call was cancelled")
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return status.Error(codes.DeadlineExceeded, "the call's deadline passed")
	}
	return internalError(ctx)
}

// internalError is the answer to a bug: no text from the failure itself.
func internalError(ctx context.Context) error {
	return statusError(ctx, codes.Internal, scopeguardv1.ErrorReason_INTERNAL,
		"internal error; the server logged it under this call's request_id", nil)
}

// invalidRequest turns protovalidate's violations into InvalidArgument with
// a BadRequest field violation per broken rule.
func invalidRequest(ctx context.Context, verr *protovalidate.ValidationError) error {
	br := &errdetails.BadRequest{}
	for _, v := range verr.Violations {
		field := protovalidate.FieldPathString(v.Proto.GetField())
		if field == "" {
			// Message-level rules (CEL across fields) have no field path.
			field = "request"
		}
		br.FieldViolations = append(br.FieldViolations, &errdetails.BadRequest_FieldViolation{
			Field:       field,
			Description: v.Proto.GetMessage(),
			Reason:      v.Proto.GetRuleId(),
		})
	}
	msg := "invalid request"
	if len(br.FieldViolations) > 0 {
		msg += ": " + br.FieldViolations[0].Field + ": " + br.FieldViolations[0].Description
	}
	if n := len(br.FieldViolations); n > 1 {
		msg += " (and " + strconv.Itoa(n-1) + " more; see the BadRequest detail)"
	}
	return statusError(ctx, codes.InvalidArgument, scopeguardv1.ErrorReason_INVALID_REQUEST, msg,
		map[string]string{"violations": strconv.Itoa(len(br.FieldViolations))}, br)
}
