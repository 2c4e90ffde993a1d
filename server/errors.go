package server

import (
	"context"
	"errors"
	"math"
	"strconv"
	"time"

	"buf.build/go/protovalidate"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/protoadapt"
	"google.golang.org/protobuf/types/known/durationpb"

	scopeguardv1 "github.com/eshopman/scopeguard/gen/scopeguard/v1"
	"github.com/eshopman/scopeguard/server/catalog"
	"github.com/eshopman/scopeguard/server/hubspot"
	"github.com/eshopman/scopeguard/server/tokens"
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
	if st := hubspotStatus(ctx, err); st != nil {
		return st
	}
	var leaseErr *tokens.LeaseTimeoutError
	if errors.As(err, &leaseErr) {
		return statusError(ctx, codes.Unavailable, scopeguardv1.ErrorReason_REFRESH_LEASE_TIMEOUT,
			"another replica is refreshing this token and its result did not arrive within "+leaseErr.Waited.String()+"; retry shortly",
			map[string]string{"waited_seconds": strconv.FormatInt(int64(math.Ceil(leaseErr.Waited.Seconds())), 10)},
			&errdetails.RetryInfo{RetryDelay: durationpb.New(defaultLeaseWait)})
	}
	var unknownApp *unknownAppError
	if errors.As(err, &unknownApp) {
		return statusError(ctx, codes.NotFound, scopeguardv1.ErrorReason_UNKNOWN_APP,
			"no app named "+strconv.Quote(unknownApp.name)+" is configured; check the server's --apps-file",
			map[string]string{"app": unknownApp.name})
	}
	var notAllowed *appNotAllowedError
	if errors.As(err, &notAllowed) {
		return statusError(ctx, codes.PermissionDenied, scopeguardv1.ErrorReason_APP_NOT_ALLOWED,
			"caller "+strconv.Quote(notAllowed.caller)+" may not use app "+strconv.Quote(notAllowed.app)+"; the server's callers file lists the apps each caller may use",
			map[string]string{"caller": notAllowed.caller, "app": notAllowed.app})
	}
	var limited *callerRateLimitedError
	if errors.As(err, &limited) {
		return statusError(ctx, codes.ResourceExhausted, scopeguardv1.ErrorReason_CALLER_RATE_LIMITED,
			"caller "+strconv.Quote(limited.caller)+" has spent its budget of HubSpot requests; retry after "+limited.retryAfter.Round(time.Millisecond).String(),
			map[string]string{"caller": limited.caller, "retry_after_seconds": strconv.FormatInt(limited.retryAfterSeconds(), 10)},
			&errdetails.RetryInfo{RetryDelay: durationpb.New(limited.retryAfter)},
			&errdetails.QuotaFailure{Violations: []*errdetails.QuotaFailure_Violation{{
				Subject:     "caller:" + limited.caller,
				Description: "scopeguard's per-caller budget of HubSpot requests",
			}}})
	}
	if errors.Is(err, context.Canceled) {
		return status.Error(codes.Canceled, "the call was cancelled")
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return status.Error(codes.DeadlineExceeded, "the call's deadline passed")
	}
	return internalError(ctx, err)
}

// internalError is the answer to a bug: no text from the failure itself
// reaches the caller; the reportErrors interceptor logs cause (nil for
// a panic, which the recovery handler logs) under the request id.
func internalError(ctx context.Context, cause error) error {
	st := status.Convert(statusError(ctx, codes.Internal, scopeguardv1.ErrorReason_INTERNAL,
		"internal error; the server logged it under this call's request_id", nil))
	return &internalStatusError{status: st, cause: cause}
}

// internalStatusError is an Internal status that keeps its cause for the log.
type internalStatusError struct {
	status *status.Status
	cause  error
}

func (e *internalStatusError) Error() string { return e.status.Message() }

// GRPCStatus is what the caller gets: the status, never the cause.
func (e *internalStatusError) GRPCStatus() *status.Status { return e.status }

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

// unknownAppError means a request named an app the apps file lacks.
type unknownAppError struct{ name string }

func (e *unknownAppError) Error() string { return "unknown app " + strconv.Quote(e.name) }

// Retry hints for HubSpot failures that do not say how long to wait.
const (
	defaultRateLimitWait   = 10 * time.Second // HubSpot's rolling window
	defaultUnavailableWait = 2 * time.Second
	defaultLeaseWait       = time.Second // the lease ends by itself; the next try usually finds the token
)

// hubspotStatus maps the hubspot package's typed errors; nil when err is
// none of them. Messages say what happened and what to do; they never quote
// HubSpot's body or any credential.
func hubspotStatus(ctx context.Context, err error) error {
	var (
		refreshErr   *hubspot.RefreshTokenError
		clientErr    *hubspot.ClientCredentialsError
		rateErr      *hubspot.RateLimitError
		unavailErr   *hubspot.UnavailableError
		malformedErr *hubspot.MalformedResponseError
		credsErr     *hubspot.AppCredentialsRequiredError
		rejectedErr  *hubspot.RequestRejectedError
	)
	switch {
	case errors.As(err, &refreshErr):
		return statusError(ctx, codes.Unauthenticated, scopeguardv1.ErrorReason_REFRESH_TOKEN_INVALID,
			"HubSpot refused the refresh token ("+refreshErr.Reason()+"): it is revoked, expired or was never valid; "+
				"the account must install the app again to get a new one",
			withCorrelation(map[string]string{
				"hubspot_status": refreshErr.Reason(),
				"remediation":    "reinstall the app: send the account's admin through the app's install URL",
			}, refreshErr.Rejection))
	case errors.As(err, &clientErr):
		return statusError(ctx, codes.Unauthenticated, scopeguardv1.ErrorReason_CLIENT_CREDENTIALS_INVALID,
			"HubSpot refused the app's client id or secret ("+clientErr.Reason()+"); check them in the app's auth settings",
			withCorrelation(map[string]string{
				"hubspot_status":   clientErr.Reason(),
				"hubspot_endpoint": string(clientErr.Endpoint),
			}, clientErr.Rejection))
	case errors.As(err, &rateErr):
		wait := rateErr.RetryAfter
		if wait <= 0 {
			wait = defaultRateLimitWait
		}
		policy := rateErr.Policy
		if policy == "" {
			policy = "unknown"
		}
		return statusError(ctx, codes.ResourceExhausted, scopeguardv1.ErrorReason_HUBSPOT_RATE_LIMITED,
			"HubSpot rate limited the "+string(rateErr.Endpoint)+" call ("+policy+" policy) after "+strconv.Itoa(rateErr.Attempts)+
				" attempts; retry after "+wait.String(),
			map[string]string{
				"policy":              policy,
				"retry_after_seconds": strconv.FormatInt(int64(math.Ceil(wait.Seconds())), 10),
				"hubspot_endpoint":    string(rateErr.Endpoint),
			},
			&errdetails.RetryInfo{RetryDelay: durationpb.New(wait)},
			&errdetails.QuotaFailure{Violations: []*errdetails.QuotaFailure_Violation{{
				Subject:     "hubspot:" + string(rateErr.Endpoint),
				Description: "HubSpot " + policy + " rate limit",
			}}})
	case errors.As(err, &unavailErr):
		what := "could not be reached"
		if unavailErr.Status != 0 {
			what = "answered HTTP " + strconv.Itoa(unavailErr.Status)
		}
		return statusError(ctx, codes.Unavailable, scopeguardv1.ErrorReason_HUBSPOT_UNAVAILABLE,
			"HubSpot "+what+" on the "+string(unavailErr.Endpoint)+" call after "+strconv.Itoa(unavailErr.Attempts)+" attempts; retry later",
			map[string]string{
				"hubspot_status":   strconv.Itoa(unavailErr.Status),
				"hubspot_endpoint": string(unavailErr.Endpoint),
			},
			&errdetails.RetryInfo{RetryDelay: durationpb.New(defaultUnavailableWait)})
	case errors.As(err, &malformedErr):
		return statusError(ctx, codes.Unavailable, scopeguardv1.ErrorReason_HUBSPOT_BAD_RESPONSE,
			"HubSpot's answer to the "+string(malformedErr.Endpoint)+" call could not be read ("+malformedErr.Reason+"); retry later",
			map[string]string{
				"hubspot_status":   strconv.Itoa(malformedErr.Status),
				"hubspot_endpoint": string(malformedErr.Endpoint),
			},
			&errdetails.RetryInfo{RetryDelay: durationpb.New(defaultUnavailableWait)})
	case errors.As(err, &credsErr):
		return statusError(ctx, codes.FailedPrecondition, scopeguardv1.ErrorReason_APP_CREDENTIALS_REQUIRED,
			"the "+string(credsErr.Endpoint)+" call needs an OAuth app's client id and secret (OAuth "+string(credsErr.OAuthVersion)+
				"); configure the app in the server's --apps-file and name it in the request's app field",
			map[string]string{"oauth_version": string(credsErr.OAuthVersion)},
			&errdetails.PreconditionFailure{Violations: []*errdetails.PreconditionFailure_Violation{{
				Type:        "APP_CREDENTIALS",
				Subject:     "oauth/" + string(credsErr.OAuthVersion),
				Description: "configure the app in --apps-file and name it in the request's app field (RefreshToken also takes client_id and client_secret)",
			}}})
	case errors.As(err, &rejectedErr):
		return statusError(ctx, codes.FailedPrecondition, scopeguardv1.ErrorReason_HUBSPOT_REJECTED,
			"HubSpot refused the "+string(rejectedErr.Endpoint)+" call (HTTP "+strconv.Itoa(rejectedErr.HTTPStatus)+" "+rejectedErr.Reason()+
				"); sending it again unchanged will not help",
			withCorrelation(map[string]string{
				"hubspot_status":   rejectedErr.Reason(),
				"hubspot_endpoint": string(rejectedErr.Endpoint),
			}, rejectedErr.Rejection))
	}
	return nil
}

// withCorrelation adds HubSpot's correlation id, which support asks for.
func withCorrelation(md map[string]string, r hubspot.Rejection) map[string]string {
	if r.CorrelationID != "" {
		md["correlation_id"] = r.CorrelationID
	}
	return md
}

// endpointErrors refuses a request whose endpoints the matcher cannot use:
// InvalidArgument with a BadRequest violation per field, reason
// UNSUPPORTED_HOST when a URL names a foreign host, else INVALID_REQUEST.
func endpointErrors(ctx context.Context, bad []*endpointError) error {
	br := &errdetails.BadRequest{}
	reason := scopeguardv1.ErrorReason_INVALID_REQUEST
	metadata := map[string]string{"violations": strconv.Itoa(len(bad))}
	for _, e := range bad {
		br.FieldViolations = append(br.FieldViolations, &errdetails.BadRequest_FieldViolation{Field: e.field, Description: e.err.Error()})
		var host *catalog.HostError
		if errors.As(e.err, &host) && reason != scopeguardv1.ErrorReason_UNSUPPORTED_HOST {
			reason = scopeguardv1.ErrorReason_UNSUPPORTED_HOST
			metadata = map[string]string{"host": host.Host, "field": e.field}
		}
	}
	msg := "invalid request: " + bad[0].field + ": " + bad[0].err.Error()
	if len(bad) > 1 {
		msg += " (and " + strconv.Itoa(len(bad)-1) + " more; see the BadRequest detail)"
	}
	return statusError(ctx, codes.InvalidArgument, reason, msg, metadata, br)
}
