package server_test

import (
	"fmt"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"

	scopeguardv1 "github.com/eshopman/scopeguard/gen/scopeguard/v1"
)

// TestCheckAndPlanValidation covers the request constraints the proto
// declares for CheckScopes and PlanScopes (TestValidationRejections covers
// the first few): each broken rule is INVALID_REQUEST naming the exact field.
func TestCheckAndPlanValidation(t *testing.T) {
	t.Parallel()
	ts := offline(t)
	c := ts.client()
	const plantedToken = "CJSP5qf1KhICAQEYs-gDIIGOBii1hQIyGQAf3xBKmlwHjX7OIpuIFEavB2-qYAGQsF4"
	// Runs once the parallel subtests are done, before the server stops.
	t.Cleanup(func() {
		if strings.Contains(ts.logs.String(), plantedToken) {
			t.Errorf("logs hold the access token:\n%s", ts.logs.String())
		}
	})
	ok := endpoint("GET", "/crm/v3/objects/contacts")
	endpoints := func(n int) []*scopeguardv1.Endpoint {
		out := make([]*scopeguardv1.Endpoint, n)
		for i := range out {
			out[i] = ok
		}
		return out
	}
	scopes := func(n int) []string {
		out := make([]string, n)
		for i := range out {
			out[i] = fmt.Sprintf("scope.%d", i)
		}
		return out
	}
	checkReq := func(mutate func(*scopeguardv1.CheckScopesRequest)) func() error {
		return func() error {
			req := &scopeguardv1.CheckScopesRequest{Endpoints: []*scopeguardv1.Endpoint{ok}}
			mutate(req)
			_, err := c.CheckScopes(t.Context(), req)
			return err
		}
	}
	planReq := func(mutate func(*scopeguardv1.PlanScopesRequest)) func() error {
		return func() error {
			req := &scopeguardv1.PlanScopesRequest{Endpoints: []*scopeguardv1.Endpoint{ok}}
			mutate(req)
			_, err := c.PlanScopes(t.Context(), req)
			return err
		}
	}
	tests := []struct {
		name   string
		call   func() error
		reason scopeguardv1.ErrorReason
		fields []string
	}{
		{
			name:   "check with more than 1000 granted scope items",
			call:   checkReq(func(r *scopeguardv1.CheckScopesRequest) { r.GrantedScopes = scopes(1001) }),
			fields: []string{"granted_scopes"},
		},
		{
			name:   "check with an access token over 4 KiB",
			call:   checkReq(func(r *scopeguardv1.CheckScopesRequest) { r.AccessToken = plantedToken + strings.Repeat("x", 4096) }),
			fields: []string{"access_token"},
		},
		{
			name:   "check with an app name over 128 characters",
			call:   checkReq(func(r *scopeguardv1.CheckScopesRequest) { r.App = strings.Repeat("a", 129) }),
			fields: []string{"app"},
		},
		{
			name:   "check with an undefined app type",
			call:   checkReq(func(r *scopeguardv1.CheckScopesRequest) { r.AppType = 7 }),
			fields: []string{"app_type"},
		},
		{
			name: "check with a token and scopes given together",
			call: checkReq(func(r *scopeguardv1.CheckScopesRequest) {
				r.AccessToken, r.GrantedScopes = plantedToken, []string{"oauth"}
			}),
			fields: []string{"request"},
		},
		{
			name: "check with a bad method deep in the batch",
			call: checkReq(func(r *scopeguardv1.CheckScopesRequest) {
				r.Endpoints = []*scopeguardv1.Endpoint{ok, ok, endpoint("FETCH", "/crm/v3/objects/contacts")}
			}),
			fields: []string{"endpoints[2].method"},
		},
		{
			name: "check lists every broken rule",
			call: checkReq(func(r *scopeguardv1.CheckScopesRequest) {
				r.Endpoints = []*scopeguardv1.Endpoint{endpoint("get", ""), ok, endpoint("", "/x")}
				r.App = strings.Repeat("a", 129)
				r.AppType = -1
			}),
			fields: []string{"endpoints[0].path", "endpoints[2].method", "app_type", "app"},
		},
		{
			name: "check with an endpoint the matcher cannot use",
			call: checkReq(func(r *scopeguardv1.CheckScopesRequest) {
				r.Endpoints = []*scopeguardv1.Endpoint{ok, endpoint("DELETE", "/crm/v3/objects/contacts/1/../../deals/2")}
			}),
			fields: []string{"endpoints[1].path"},
		},
		{
			name:   "plan with no endpoints",
			call:   planReq(func(r *scopeguardv1.PlanScopesRequest) { r.Endpoints = nil }),
			fields: []string{"endpoints"},
		},
		{
			name:   "plan with more than 1000 endpoints",
			call:   planReq(func(r *scopeguardv1.PlanScopesRequest) { r.Endpoints = endpoints(1001) }),
			fields: []string{"endpoints"},
		},
		{
			name:   "plan with more than 1000 optional endpoints",
			call:   planReq(func(r *scopeguardv1.PlanScopesRequest) { r.OptionalEndpoints = endpoints(1001) }),
			fields: []string{"optional_endpoints"},
		},
		{
			name: "plan with a bad optional endpoint method and an empty optional path",
			call: planReq(func(r *scopeguardv1.PlanScopesRequest) {
				r.OptionalEndpoints = []*scopeguardv1.Endpoint{ok, endpoint("SEND", "/crm/v3/objects/deals"), endpoint("GET", "")}
			}),
			fields: []string{"optional_endpoints[1].method", "optional_endpoints[2].path"},
		},
		{
			name: "plan with an optional path over 4 KiB",
			call: planReq(func(r *scopeguardv1.PlanScopesRequest) {
				r.OptionalEndpoints = []*scopeguardv1.Endpoint{endpoint("GET", "/"+strings.Repeat("p", 4096))}
			}),
			fields: []string{"optional_endpoints[0].path"},
		},
		{
			name:   "plan with a client id over 256 characters",
			call:   planReq(func(r *scopeguardv1.PlanScopesRequest) { r.ClientId = strings.Repeat("c", 257) }),
			fields: []string{"client_id"},
		},
		{
			name: "plan with a redirect uri over 2 KiB",
			call: planReq(func(r *scopeguardv1.PlanScopesRequest) {
				r.ClientId, r.RedirectUri = "app", "https://shop.example/"+strings.Repeat("r", 2048)
			}),
			fields: []string{"redirect_uri"},
		},
		{
			name: "plan with an optional endpoint the matcher cannot use",
			call: planReq(func(r *scopeguardv1.PlanScopesRequest) {
				r.OptionalEndpoints = []*scopeguardv1.Endpoint{ok, endpoint("GET", "/crm/v3/objects/%2E/contacts")}
			}),
			fields: []string{"optional_endpoints[1].path"},
		},
		{
			name: "plan with an optional endpoint on a foreign host",
			call: planReq(func(r *scopeguardv1.PlanScopesRequest) {
				r.OptionalEndpoints = []*scopeguardv1.Endpoint{endpoint("GET", "https://api.example.com/crm/v3/objects/contacts")}
			}),
			reason: scopeguardv1.ErrorReason_UNSUPPORTED_HOST,
			fields: []string{"optional_endpoints[0].path"},
		},
		{
			name: "plan names unusable required and optional endpoints alike",
			call: planReq(func(r *scopeguardv1.PlanScopesRequest) {
				r.Endpoints = []*scopeguardv1.Endpoint{ok, endpoint("GET", "/crm/v3/objects/%2e%2e/contacts")}
				r.OptionalEndpoints = []*scopeguardv1.Endpoint{endpoint("GET", "/crm/v3/objects/./deals")}
			}),
			fields: []string{"endpoints[1].path", "optional_endpoints[0].path"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			reason := tt.reason
			if reason == scopeguardv1.ErrorReason_ERROR_REASON_UNSPECIFIED {
				reason = scopeguardv1.ErrorReason_INVALID_REQUEST
			}
			err := tt.call()
			st := wantStatus(t, err, codes.InvalidArgument, reason, tt.fields)
			if strings.Contains(st.Message(), plantedToken) || strings.Contains(fmt.Sprint(st.Details()), plantedToken) {
				t.Errorf("status echoes the access token: %v", st)
			}
		})
	}
}
