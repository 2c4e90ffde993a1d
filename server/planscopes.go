package server

import (
	"context"
	"slices"

	scopeguardv1 "github.com/eshopman/scopeguard/gen/scopeguard/v1"
	"github.com/eshopman/scopeguard/server/catalog"
	"github.com/eshopman/scopeguard/server/hubspot"
	"github.com/eshopman/scopeguard/server/plan"
)

// PlanScopes finds the least-privileged scope set covering the endpoints an
// integration needs, the extra scopes its optional endpoints would add, and
// the install URL requesting both. The view trims the decisions, never the
// plan.
func (s *Service) PlanScopes(ctx context.Context, req *scopeguardv1.PlanScopesRequest) (*scopeguardv1.PlanScopesResponse, error) {
	app := req.GetAppType()
	required, requiredBad := s.decider.decideAll("endpoints", req.GetEndpoints(), app, catalog.Grants{}, req.GetView())
	optional, optionalBad := s.decider.decideAll("optional_endpoints", req.GetOptionalEndpoints(), app, catalog.Grants{}, req.GetView())
	if bad := slices.Concat(requiredBad, optionalBad); len(bad) > 0 {
		return nil, endpointErrors(ctx, bad)
	}

	requiredPlan := plan.Cover(required.plannable(), nil, s.catalog.Privilege)
	optionalPlan := plan.Cover(optional.plannable(), requiredPlan.Scopes, s.catalog.Privilege)
	resp := &scopeguardv1.PlanScopesResponse{
		RequiredScopes:    requiredPlan.Scopes,
		OptionalScopes:    optionalPlan.Scopes,
		Decisions:         required.decisions,
		OptionalDecisions: optional.decisions,
		Exact:             requiredPlan.Exact && optionalPlan.Exact,
	}
	oauth := app != scopeguardv1.AppType_APP_TYPE_PRIVATE && app != scopeguardv1.AppType_APP_TYPE_DEVELOPER
	if req.GetClientId() != "" && oauth && len(resp.GetRequiredScopes())+len(resp.GetOptionalScopes()) > 0 {
		resp.AuthorizeUrl = hubspot.AuthorizeURL(req.GetClientId(), req.GetRedirectUri(), resp.GetRequiredScopes(), resp.GetOptionalScopes())
	}

	// Each endpoint is shown against the plan: required ones against the
	// required scopes, optional ones against both sets.
	requiredGrants := s.catalog.NewGrants(resp.GetRequiredScopes()...)
	for i := range required.decisions {
		required.judge(i, app, requiredGrants)
		s.metrics.countDecision(required.decisions[i].GetVerdict())
	}
	allGrants := s.catalog.NewGrants(append(slices.Clone(resp.GetRequiredScopes()), resp.GetOptionalScopes()...)...)
	for i := range optional.decisions {
		optional.judge(i, app, allGrants)
		s.metrics.countDecision(optional.decisions[i].GetVerdict())
	}
	return resp, nil
}
