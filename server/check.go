package server

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"google.golang.org/protobuf/types/known/timestamppb"

	scopeguardv1 "github.com/eshopman/scopeguard/gen/scopeguard/v1"
	"github.com/eshopman/scopeguard/server/catalog"
	"github.com/eshopman/scopeguard/server/hubspot"
)

// CheckScopes decides, endpoint by endpoint, whether the granted scopes (or
// the scopes of an access token, introspected once and cached) allow the
// call. Missing scopes and unknown endpoints are answers, not errors. The
// basic view gets the same verdicts and missing scopes without the rest.
func (s *Service) CheckScopes(ctx context.Context, req *scopeguardv1.CheckScopesRequest) (*scopeguardv1.CheckScopesResponse, error) {
	if err := checkGrantedNames(ctx, req.GetGrantedScopes()); err != nil {
		return nil, err
	}
	resp := &scopeguardv1.CheckScopesResponse{}
	full := isFull(req.GetView())
	app := req.GetAppType()
	var grants catalog.Grants
	var inactive *hubspot.TokenInfo // the introspected token, when HubSpot says it is inactive
	if token := req.GetAccessToken(); token != "" {
		info, err := s.introspect(ctx, req.GetApp(), token)
		if err != nil {
			return nil, toStatus(ctx, err)
		}
		if !info.Active {
			inactive = info
		}
		if full {
			resp.Token = tokenInfo(info, token)
		}
		if app == scopeguardv1.AppType_APP_TYPE_UNSPECIFIED {
			app = appTypeOf(info.Credential)
		}
		grants = s.catalog.NewGrants(info.Scopes...)
	} else {
		grants = s.catalog.NewGrants(req.GetGrantedScopes()...)
	}
	if full {
		resp.GrantedScopes = clipNames(grants.Scopes(), maxGrantedNames)
		resp.UnknownScopes = clipNames(grants.Unknown(), maxEchoedUnknown)
		resp.RetiredScopes = retiredScopes(grants.Retired())
	}

	b, bad := s.decider.decideAll("endpoints", req.GetEndpoints(), app, grants, req.GetView())
	if len(bad) > 0 {
		return nil, endpointErrors(ctx, bad)
	}
	resp.Decisions = b.decisions
	resp.Allowed = true
	for _, d := range b.decisions {
		if inactive != nil {
			markInactive(d, inactive.InactiveReason, full)
		}
		switch d.GetVerdict() {
		case scopeguardv1.Verdict_VERDICT_ALLOWED, scopeguardv1.Verdict_VERDICT_NO_SCOPES_REQUIRED:
		default:
			resp.Allowed = false
		}
		resp.MissingScopes = append(resp.MissingScopes, d.GetMissingScopes()...)
		s.metrics.countDecision(d.GetVerdict())
	}
	if len(resp.MissingScopes) > 1 {
		slices.Sort(resp.MissingScopes)
		resp.MissingScopes = slices.Compact(resp.MissingScopes)
	}
	return resp, nil
}

// markInactive turns a decision for an expired, revoked or misused token
// into VERDICT_TOKEN_INACTIVE, keeping what the endpoint would need, and in
// the full view says what to do about the token.
func markInactive(d *scopeguardv1.EndpointDecision, reason hubspot.InactiveReason, full bool) {
	if d.GetVerdict() == scopeguardv1.Verdict_VERDICT_UNKNOWN_ENDPOINT {
		return
	}
	d.Verdict = scopeguardv1.Verdict_VERDICT_TOKEN_INACTIVE
	d.SatisfiedBy = nil
	d.MissingScopes = nil
	if !full {
		return
	}
	var fix string
	switch reason {
	case hubspot.InactiveBearerPrefixed:
		fix = "send the token without the extra \"Bearer \" (the HTTP client adds it)."
	case hubspot.InactiveNotBearerToken:
		fix = "send an access token: refresh tokens are exchanged for one (ScopeGuardService.RefreshToken), developer API keys go in the hapikey parameter, personal access keys are exchanged by the HubSpot CLI."
	case hubspot.InactiveExpired:
		fix = "refresh it (ScopeGuardService.RefreshToken)."
	default:
		fix = "refresh it (ScopeGuardService.RefreshToken) or, if the refresh token is refused too, have the account install the app again; for a private app, use its current token."
	}
	d.Explanation = "The access token is " + string(reason) + ", so no call can succeed with it whatever its scopes; " + fix
}

// introspect asks HubSpot (or the cache) about an access token, with the
// named app's credentials, else the only configured app's, else none (enough
// for private-app tokens and OAuth v1).
func (s *Service) introspect(ctx context.Context, appName, token string) (*hubspot.TokenInfo, error) {
	app, err := s.app(ctx, appName)
	if err != nil {
		return nil, err
	}
	if appName == "" && app.Name != "" {
		if err := s.mayUseApp(ctx, app.Name); err != nil {
			return nil, err
		}
	}
	return s.introspector.Introspect(ctx, app.AppCredentials, hubspot.Secret(token))
}

// tokenInfo is the API's view of an introspection answer; the token itself
// is only ever shown as its fingerprint.
func tokenInfo(info *hubspot.TokenInfo, token string) *scopeguardv1.TokenInfo {
	t := &scopeguardv1.TokenInfo{
		Active:         info.Active,
		CredentialType: info.Credential.CredentialType(),
		HubId:          info.HubID,
		AppId:          info.AppID,
		User:           info.User,
		UserId:         info.UserID,
		HubDomain:      info.HubDomain,
		Scopes:         info.Scopes,
		// The token as introspected and cached: surrounding whitespace is
		// not part of it.
		Fingerprint:    hubspot.Secret(strings.TrimSpace(token)).Fingerprint(),
		InactiveReason: string(info.InactiveReason),
	}
	if !info.ExpiresAt.IsZero() {
		t.ExpiresAt = timestamppb.New(info.ExpiresAt)
	}
	return t
}

// appTypeOf is the app type a credential implies.
func appTypeOf(kind hubspot.CredentialKind) scopeguardv1.AppType {
	switch kind {
	case hubspot.CredentialPrivateAppToken:
		return scopeguardv1.AppType_APP_TYPE_PRIVATE
	case hubspot.CredentialDeveloperAPIKey:
		return scopeguardv1.AppType_APP_TYPE_DEVELOPER
	default:
		return scopeguardv1.AppType_APP_TYPE_PUBLIC
	}
}

// Scope names are echoed back to the caller, who may have sent anything up
// to the message-size limit: no name longer than this, and no more unknown
// names than that.
const (
	maxEchoedNameSize = 128
	maxEchoedUnknown  = 100
)

// Bounds on granted_scopes beyond the proto's 1,000 items: HubSpot has a
// few hundred scopes, and every name costs a sort, a lookup and an echo, so
// a request splitting into millions of them is refused before any of that
// work. They are checked by hand: protovalidate evaluates per-item rules
// with CEL, on every call.
const (
	maxGrantedItemBytes = 8 << 10
	maxGrantedNames     = 1000
)

// checkGrantedNames refuses a granted_scopes item over maxGrantedItemBytes,
// and items that split into more than maxGrantedNames names. It counts as
// Catalog.NewGrants splits (on spaces, commas, tabs and line breaks),
// without allocating, and stops at the first problem.
func checkGrantedNames(ctx context.Context, items []string) error {
	names := 0
	for i, item := range items {
		if len(item) > maxGrantedItemBytes {
			return endpointErrors(ctx, []*endpointError{{field: "granted_scopes[" + strconv.Itoa(i) + "]",
				err: fmt.Errorf("longer than %d bytes; one item holds at most a scope list", maxGrantedItemBytes)}})
		}
		inName := false
		for i := range len(item) {
			switch item[i] {
			case ' ', ',', '\t', '\n', '\r':
				inName = false
			default:
				if !inName {
					inName = true
					if names++; names > maxGrantedNames {
						return endpointErrors(ctx, []*endpointError{{field: "granted_scopes",
							err: fmt.Errorf("more than %d scope names once split; HubSpot has far fewer scopes", maxGrantedNames)}})
					}
				}
			}
		}
	}
	return nil
}

// clipNames bounds caller-given names for echoing: at most limit of them,
// each clipped to maxEchoedNameSize bytes. names may be shared; it is
// copied before any name is shortened.
func clipNames(names []string, limit int) []string {
	names = names[:min(len(names), limit)]
	if !slices.ContainsFunc(names, func(n string) bool { return len(n) > maxEchoedNameSize }) {
		return names
	}
	clipped := slices.Clone(names)
	for i, n := range clipped {
		if len(n) > maxEchoedNameSize {
			clipped[i] = strings.ToValidUTF8(n[:maxEchoedNameSize], "") + "…"
		}
	}
	return clipped
}

// retiredScopes describes granted scopes HubSpot has retired.
func retiredScopes(held []catalog.Scope) []*scopeguardv1.RetiredScope {
	out := make([]*scopeguardv1.RetiredScope, len(held))
	for i, s := range held {
		out[i] = &scopeguardv1.RetiredScope{Name: s.Name, RetiredDate: s.Retired.Date, Replacements: s.Retired.ReplacedBy, SourceUrl: s.Retired.SourceURL}
	}
	return out
}
