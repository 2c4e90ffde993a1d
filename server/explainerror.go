package server

import (
	"context"
	"errors"
	"log/slog"
	"time"

	scopeguardv1 "github.com/eshopman/scopeguard/gen/scopeguard/v1"
	"github.com/eshopman/scopeguard/server/catalog"
	"github.com/eshopman/scopeguard/server/explain"
	"github.com/eshopman/scopeguard/server/hubspot"
)

// ExplainError diagnoses a failed HubSpot call: it reads HubSpot's error in
// whatever shape it came, weighs it against the catalog and the scopes the
// token really holds (given, or introspected from the token), and answers
// with the root cause and the steps that fix it.
func (s *Service) ExplainError(ctx context.Context, req *scopeguardv1.ExplainErrorRequest) (*scopeguardv1.ExplainErrorResponse, error) {
	if err := checkGrantedNames(ctx, req.GetGrantedScopes()); err != nil {
		return nil, err
	}
	in := explain.Input{
		HTTPStatus:  int(req.GetHttpStatus()),
		Body:        req.GetBody(),
		Headers:     req.GetHeaders(),
		Endpoint:    req.GetEndpoint(),
		AppType:     req.GetAppType(),
		ClientID:    req.GetClientId(),
		RedirectURI: req.GetRedirectUri(),
		ScopeFacts:  explain.CatalogScopeFacts(s.catalog),
		Now:         s.now(),
	}
	app, err := s.app(ctx, req.GetApp())
	if err != nil {
		return nil, toStatus(ctx, err)
	}
	// The only app, used without being named, lends its client id to the
	// re-authorization URL only to a caller it is granted to.
	if in.ClientID == "" && callerMayUse(ctx, app.Name) {
		in.ClientID, in.RedirectURI = app.ClientID, app.RedirectURI
	}

	in.Parsed = explain.Parse(in.HTTPStatus, in.Body, in.Headers)

	// The endpoint first: a request that names an unusable one is refused
	// before any HubSpot call. Without one, the call a client library's
	// error text names is looked up instead; an unusable one there only
	// costs the diagnosis the catalog.
	var match *catalog.Match
	ep, fromText := req.GetEndpoint(), false
	if ep == nil {
		ep, fromText = in.Parsed.Endpoint(), true
		in.Endpoint = ep
	}
	if ep != nil {
		m, err := s.catalog.Match(ep.GetMethod(), ep.GetPath())
		var unknown *catalog.UnknownEndpointError
		switch {
		case errors.As(err, &unknown), err != nil && fromText:
			// Not in the catalog: the diagnosis goes on from the body alone.
		case err != nil:
			return nil, endpointErrors(ctx, []*endpointError{{field: "endpoint.path", err: err}})
		default:
			match = &m
		}
	}

	switch token := req.GetAccessToken(); {
	case token != "":
		if err := s.explainToken(ctx, req.GetApp(), token, &in); err != nil {
			return nil, toStatus(ctx, err)
		}
	case len(req.GetGrantedScopes()) > 0:
		in.GrantedScopes, in.GrantedKnown = req.GetGrantedScopes(), true
	}

	// The catalog's facts for the app type, which the token may have set.
	var op *catalog.Operation
	if match != nil {
		op = match.Operation
		in.Catalog = &explain.EndpointFacts{
			Operation:    s.decider.partsFor(*match, in.AppType).operation,
			Alternatives: match.Requirement(in.AppType).Alternatives(),
		}
	}

	res := explain.Diagnose(in)
	s.metrics.countExplanation(res.Response.GetRootCause())
	if res.Catalog.Checked && !res.Catalog.Agrees {
		s.reportDisagreement(ctx, op, res.Catalog)
	}
	return res.Response, nil
}

// explainToken fills in what the failing token says: its shape, and its
// scopes from introspection. Any failure of the introspection itself
// (HubSpot unreachable, slow, rate limited, the caller's budget spent) only
// costs the diagnosis the token's scopes, and the answer says so; a request
// naming an unknown app or one the caller may not use, or one that cannot
// be introspected without app credentials, is the caller's to fix. Only the
// caller's own deadline or cancellation ends the call.
func (s *Service) explainToken(ctx context.Context, appName, token string, in *explain.Input) error {
	in.Secrets = []string{token}
	cred := hubspot.ClassifyCredential(token)
	in.Credential = explain.Credential{
		Type:          cred.Inner.CredentialType(),
		DoubledBearer: cred.Kind == hubspot.CredentialBearerPrefixed,
	}
	ictx, cancel := context.WithDeadline(ctx, introspectionDeadline(ctx, time.Now()))
	defer cancel()
	info, err := s.introspect(ictx, appName, token)
	var unknownApp *unknownAppError
	var notAllowed *appNotAllowedError
	var needCreds *hubspot.AppCredentialsRequiredError
	switch {
	case ctx.Err() != nil:
		return ctx.Err()
	case errors.As(err, &unknownApp), errors.As(err, &notAllowed), errors.As(err, &needCreds):
		return err
	case err != nil:
		in.TokenCheckFailure = tokenCheckFailure(err)
		s.log.WarnContext(ctx, "explaining without the token's scopes: introspection failed",
			slog.String("request_id", requestIDFrom(ctx)), slog.String("error", err.Error()))
		return nil
	}
	in.Token = tokenInfo(info, token)
	if in.AppType == scopeguardv1.AppType_APP_TYPE_UNSPECIFIED {
		in.AppType = appTypeOf(info.Credential)
	}
	if info.Active {
		in.GrantedScopes, in.GrantedKnown, in.GrantedFromToken = info.Scopes, true, true
	}
	return nil
}

// Introspection for ExplainError gets the caller's deadline less a reserve,
// so that a slow HubSpot still leaves time to answer from the body; without
// a caller deadline, it gets introspectionBudget.
const (
	introspectionBudget     = 10 * time.Second
	maxIntrospectionReserve = 500 * time.Millisecond
)

// introspectionDeadline ends the introspection a fifth of the remaining time
// (at most maxIntrospectionReserve) before the caller's deadline.
func introspectionDeadline(ctx context.Context, now time.Time) time.Time {
	deadline, ok := ctx.Deadline()
	if !ok {
		return now.Add(introspectionBudget)
	}
	return deadline.Add(-min(deadline.Sub(now)/5, maxIntrospectionReserve))
}

// tokenCheckFailure says, for the answer, why the introspection failed.
func tokenCheckFailure(err error) string {
	var (
		unavailable *hubspot.UnavailableError
		rateLimited *hubspot.RateLimitError
		malformed   *hubspot.MalformedResponseError
		budget      *callerRateLimitedError
	)
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return "HubSpot's token introspection did not answer in time"
	case errors.As(err, &budget):
		return "this caller's budget of HubSpot requests is spent; retry after " + budget.retryAfter.Round(time.Millisecond).String()
	case errors.As(err, &rateLimited):
		return "HubSpot rate limited the token introspection"
	case errors.As(err, &unavailable):
		return "HubSpot's token introspection was unreachable or failing"
	case errors.As(err, &malformed):
		return "HubSpot's token introspection answer could not be read"
	default:
		return "the token introspection failed"
	}
}

// reportDisagreement counts every body whose required scopes contradict
// the catalog, and logs the first one per operation, so that catalog drift
// shows in production without flooding the log.
func (s *Service) reportDisagreement(ctx context.Context, op *catalog.Operation, check explain.CatalogCheck) {
	s.metrics.countDisagreement(op.Method, op.Template)
	if _, seen := s.disagreements.LoadOrStore(op, struct{}{}); seen {
		return
	}
	s.log.WarnContext(ctx, "HubSpot's required scopes disagree with the catalog",
		slog.String("request_id", requestIDFrom(ctx)),
		slog.String("method", op.Method),
		slog.String("template", op.Template),
		slog.String("reason", check.Reason),
		slog.Any("only_in_body", check.OnlyInBody),
		slog.Any("only_in_catalog", check.OnlyInCatalog))
}
