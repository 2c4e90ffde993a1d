package server_test

import (
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/testing/protocmp"

	scopeguardv1 "github.com/eshopman/scopeguard/gen/scopeguard/v1"
	"github.com/eshopman/scopeguard/server"
	"github.com/eshopman/scopeguard/server/catalog"
)

// checkDay is the date the offline CheckScopes and PlanScopes tests judge
// sunsets on: after HubSpot ended contact lists v1 (2026-04-30), before
// the numbered v1-v3 APIs end (2027-09).
var checkDay = time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)

// offlineOn serves the service with the embedded catalog, no HubSpot and a
// clock stopped at now, so that sunset answers do not depend on the day the
// tests run.
func offlineOn(t *testing.T, now time.Time) *testServer {
	t.Helper()
	return startServer(t, func(log *slog.Logger, m *server.Metrics) scopeguardv1.ScopeGuardServiceServer {
		return server.NewService(server.Deps{
			Catalog: catalog.Default(),
			Metrics: m,
			Log:     log,
			Now:     func() time.Time { return now },
		})
	})
}

func endpoint(method, path string) *scopeguardv1.Endpoint {
	return &scopeguardv1.Endpoint{Method: method, Path: path}
}

// sets builds the alternatives of a decision: each argument is one ScopeSet.
func sets(alternatives ...[]string) []*scopeguardv1.ScopeSet {
	out := make([]*scopeguardv1.ScopeSet, len(alternatives))
	for i, scopes := range alternatives {
		out[i] = &scopeguardv1.ScopeSet{Scopes: scopes}
	}
	return out
}

func set(scopes ...string) *scopeguardv1.ScopeSet { return &scopeguardv1.ScopeSet{Scopes: scopes} }

// The OAuth requirement alternatives of the standard object endpoints, as
// HubSpot's spec lists them (the deals list is the one HubSpot's documented
// 403 body quotes, FACTS.md §1.2).
var (
	contactsReadOAuth = sets(
		[]string{"crm.objects.contacts.read"},
		[]string{"crm.objects.contacts.sensitive.read.v2"},
		[]string{"crm.objects.contacts.highly_sensitive.read.v2"})
	dealsReadOAuth = sets(
		[]string{"crm.objects.deals.read"},
		[]string{"crm.objects.deals.sensitive.read.v2"},
		[]string{"crm.objects.deals.highly_sensitive.read.v2"})
)

// decisionCore compares what a decision concludes (endpoint, verdict,
// alternatives, satisfying set, missing scopes) and leaves the descriptive
// fields to the tests about them.
var decisionCore = protocmp.IgnoreFields(&scopeguardv1.EndpointDecision{}, "operation", "explanation", "notices", "suggestions")

// check asks CheckScopes for the full answer to req, and again for the
// basic view, which must be exactly the full answer's verdicts, satisfying
// sets and missing scopes: every test that checks through it proves both
// views agree. (So each check counts its decisions twice in the metrics.)
func check(t *testing.T, ts *testServer, req *scopeguardv1.CheckScopesRequest) *scopeguardv1.CheckScopesResponse {
	t.Helper()
	resp, err := ts.client().CheckScopes(t.Context(), req)
	if err != nil {
		t.Fatalf("CheckScopes: %v", err)
	}
	if len(resp.GetDecisions()) != len(req.GetEndpoints()) {
		t.Fatalf("%d decisions for %d endpoints", len(resp.GetDecisions()), len(req.GetEndpoints()))
	}
	basicReq := proto.CloneOf(req)
	basicReq.View = scopeguardv1.DecisionView_DECISION_VIEW_BASIC
	basic, err := ts.client().CheckScopes(t.Context(), basicReq)
	if err != nil {
		t.Fatalf("CheckScopes in the basic view: %v", err)
	}
	if diff := cmp.Diff(basicCheck(resp), basic, protocmp.Transform()); diff != "" {
		t.Errorf("basic view differs from the full answer's verdicts and missing scopes (-full +basic):\n%s", diff)
	}
	return resp
}

// basicCheck is what the basic view keeps of a full CheckScopes answer.
func basicCheck(full *scopeguardv1.CheckScopesResponse) *scopeguardv1.CheckScopesResponse {
	return &scopeguardv1.CheckScopesResponse{
		Allowed:       full.GetAllowed(),
		Decisions:     basicDecisions(full.GetDecisions()),
		MissingScopes: full.GetMissingScopes(),
	}
}

// basicDecisions is what the basic view keeps of full decisions.
func basicDecisions(full []*scopeguardv1.EndpointDecision) []*scopeguardv1.EndpointDecision {
	out := make([]*scopeguardv1.EndpointDecision, len(full))
	for i, d := range full {
		out[i] = &scopeguardv1.EndpointDecision{
			Verdict:       d.GetVerdict(),
			SatisfiedBy:   d.GetSatisfiedBy(),
			MissingScopes: d.GetMissingScopes(),
		}
	}
	return out
}

func TestCheckScopesVerdicts(t *testing.T) {
	t.Parallel()
	ts := offlineOn(t, checkDay)
	tests := []struct {
		name     string
		endpoint *scopeguardv1.Endpoint
		granted  []string
		app      scopeguardv1.AppType
		want     *scopeguardv1.EndpointDecision
		template string // the matched operation's template; empty for unknown endpoints
		explains string // part of the explanation
	}{
		{
			name:     "allowed by the granular read scope",
			endpoint: endpoint("GET", "/crm/v3/objects/contacts"),
			granted:  []string{"crm.objects.contacts.read"},
			want: &scopeguardv1.EndpointDecision{
				Verdict:      scopeguardv1.Verdict_VERDICT_ALLOWED,
				Alternatives: contactsReadOAuth,
				SatisfiedBy:  set("crm.objects.contacts.read"),
			},
			template: "/crm/v3/objects/contacts",
			explains: "GET /crm/v3/objects/contacts is allowed by crm.objects.contacts.read.",
		},
		{
			name:     "allowed by a sensitive alternative, which is what satisfied it",
			endpoint: endpoint("GET", "/crm/v3/objects/contacts/42"),
			granted:  []string{"crm.objects.contacts.sensitive.read.v2"},
			want: &scopeguardv1.EndpointDecision{
				Verdict:      scopeguardv1.Verdict_VERDICT_ALLOWED,
				Alternatives: contactsReadOAuth,
				SatisfiedBy:  set("crm.objects.contacts.sensitive.read.v2"),
			},
			template: "/crm/v3/objects/contacts/{contactId}",
			explains: "is allowed by crm.objects.contacts.sensitive.read.v2.",
		},
		{
			name:     "missing names the least privileged of three alternatives",
			endpoint: endpoint("POST", "/crm/v3/objects/deals/search"),
			granted:  []string{"crm.objects.contacts.read"},
			want: &scopeguardv1.EndpointDecision{
				Verdict:       scopeguardv1.Verdict_VERDICT_MISSING_SCOPES,
				Alternatives:  dealsReadOAuth,
				MissingScopes: []string{"crm.objects.deals.read"},
			},
			template: "/crm/v3/objects/deals/search",
			explains: "needs crm.objects.deals.read (the least privileged of 3 ways to satisfy it); request it and have the account re-authorize the app.",
		},
		{
			name:     "missing only the ungranted half of an all-of requirement",
			endpoint: endpoint("POST", "/media-bridge/2026-09/objects"),
			granted:  []string{"files"},
			want: &scopeguardv1.EndpointDecision{
				Verdict:       scopeguardv1.Verdict_VERDICT_MISSING_SCOPES,
				Alternatives:  sets([]string{"files", "media_bridge.write"}),
				MissingScopes: []string{"media_bridge.write"},
			},
			template: "/media-bridge/2026-09/objects",
			explains: "needs media_bridge.write;",
		},
		{
			name:     "missing the whole all-of requirement when nothing is granted",
			endpoint: endpoint("POST", "/media-bridge/2026-09/objects"),
			want: &scopeguardv1.EndpointDecision{
				Verdict:       scopeguardv1.Verdict_VERDICT_MISSING_SCOPES,
				Alternatives:  sets([]string{"files", "media_bridge.write"}),
				MissingScopes: []string{"files", "media_bridge.write"},
			},
			template: "/media-bridge/2026-09/objects",
			explains: "needs files + media_bridge.write;",
		},
		{
			name:     "a retired endpoint is never allowed, whatever the scopes",
			endpoint: endpoint("POST", "/contacts/v1/lists/7/add"),
			granted:  []string{"crm.lists.write"},
			want: &scopeguardv1.EndpointDecision{
				Verdict:      scopeguardv1.Verdict_VERDICT_RETIRED,
				Alternatives: sets([]string{"crm.lists.write"}),
			},
			template: "/contacts/v1/lists/{listId}/add",
			explains: "was retired by HubSpot on 2026-04-30: it answers 404 whatever the scopes",
		},
		{
			name:     "unknown endpoint is an answer with suggestions",
			endpoint: endpoint("GET", "/crm/v3/objectz/contacts"),
			granted:  []string{"crm.objects.contacts.read"},
			want:     &scopeguardv1.EndpointDecision{Verdict: scopeguardv1.Verdict_VERDICT_UNKNOWN_ENDPOINT},
			explains: "No HubSpot endpoint GET /crm/v3/objectz/contacts is known; closest: ",
		},
		{
			name:     "the OAuth token endpoint needs no scope",
			endpoint: endpoint("POST", "/oauth/2026-03/token"),
			want:     &scopeguardv1.EndpointDecision{Verdict: scopeguardv1.Verdict_VERDICT_NO_SCOPES_REQUIRED},
			template: "/oauth/2026-03/token",
			explains: "POST /oauth/2026-03/token needs no scope.",
		},
		{
			name:     "a developer API key cannot call a CRM record endpoint",
			endpoint: endpoint("GET", "/crm/v3/objects/contacts"),
			granted:  []string{"crm.objects.contacts.read"},
			app:      scopeguardv1.AppType_APP_TYPE_DEVELOPER,
			want:     &scopeguardv1.EndpointDecision{Verdict: scopeguardv1.Verdict_VERDICT_WRONG_CREDENTIAL_TYPE},
			template: "/crm/v3/objects/contacts",
			explains: "cannot be called with a developer API key whatever its scopes; use an OAuth access token or a private-app token.",
		},
		{
			name:     "an OAuth token cannot call a developer-key-only endpoint",
			endpoint: endpoint("GET", "/app-webhooks/2025-09/1234/settings"),
			granted:  []string{"developers-read"},
			app:      scopeguardv1.AppType_APP_TYPE_PUBLIC,
			want:     &scopeguardv1.EndpointDecision{Verdict: scopeguardv1.Verdict_VERDICT_WRONG_CREDENTIAL_TYPE},
			template: "/app-webhooks/2025-09/{appId}/settings",
			explains: "cannot be called with an OAuth access token whatever its scopes; use a developer API key.",
		},
		{
			name:     "a private-app token cannot call a developer-key-only endpoint",
			endpoint: endpoint("GET", "/app-webhooks/2025-09/1234/settings"),
			app:      scopeguardv1.AppType_APP_TYPE_PRIVATE,
			want:     &scopeguardv1.EndpointDecision{Verdict: scopeguardv1.Verdict_VERDICT_WRONG_CREDENTIAL_TYPE},
			template: "/app-webhooks/2025-09/{appId}/settings",
			explains: "cannot be called with a private-app token whatever its scopes; use a developer API key.",
		},
		{
			name:     "a developer API key on its own endpoint needs no scope",
			endpoint: endpoint("GET", "/app-webhooks/2025-09/1234/settings"),
			app:      scopeguardv1.AppType_APP_TYPE_DEVELOPER,
			want:     &scopeguardv1.EndpointDecision{Verdict: scopeguardv1.Verdict_VERDICT_NO_SCOPES_REQUIRED},
			template: "/app-webhooks/2025-09/{appId}/settings",
			explains: "needs no scope.",
		},
		{
			name:     "a known endpoint no source gives scopes for cannot be vouched for",
			endpoint: endpoint("GET", "/account-info/v3/api-usage/daily"),
			granted:  []string{"oauth"},
			want:     &scopeguardv1.EndpointDecision{Verdict: scopeguardv1.Verdict_VERDICT_REQUIREMENT_UNKNOWN},
			template: "/account-info/v3/api-usage/daily",
			explains: "is a known endpoint, but no HubSpot source says which scopes it needs",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			resp := check(t, ts, &scopeguardv1.CheckScopesRequest{
				Endpoints: []*scopeguardv1.Endpoint{tt.endpoint}, GrantedScopes: tt.granted, AppType: tt.app,
			})
			got := resp.GetDecisions()[0]
			tt.want.Endpoint = tt.endpoint
			if diff := cmp.Diff(tt.want, got, protocmp.Transform(), decisionCore); diff != "" {
				t.Errorf("decision (-want +got):\n%s", diff)
			}
			if got.GetOperation().GetPathTemplate() != tt.template {
				t.Errorf("matched template %q, want %q", got.GetOperation().GetPathTemplate(), tt.template)
			}
			if !strings.Contains(got.GetExplanation(), tt.explains) {
				t.Errorf("explanation %q does not say %q", got.GetExplanation(), tt.explains)
			}
			unknown := tt.want.GetVerdict() == scopeguardv1.Verdict_VERDICT_UNKNOWN_ENDPOINT
			if unknown != (len(got.GetSuggestions()) > 0) {
				t.Errorf("suggestions %q for verdict %v", got.GetSuggestions(), got.GetVerdict())
			}
			wantAllowed := tt.want.GetVerdict() == scopeguardv1.Verdict_VERDICT_ALLOWED || tt.want.GetVerdict() == scopeguardv1.Verdict_VERDICT_NO_SCOPES_REQUIRED
			if resp.GetAllowed() != wantAllowed {
				t.Errorf("allowed = %v, want %v", resp.GetAllowed(), wantAllowed)
			}
			if diff := cmp.Diff(tt.want.GetMissingScopes(), resp.GetMissingScopes()); diff != "" {
				t.Errorf("response missing_scopes (-want +got):\n%s", diff)
			}
		})
	}
}

func TestCheckScopesBatchKeepsOrderAndUnitesMissingScopes(t *testing.T) {
	t.Parallel()
	ts := offlineOn(t, checkDay)
	endpoints := []*scopeguardv1.Endpoint{
		endpoint("GET", "/crm/v3/objects/contacts"),
		endpoint("POST", "/crm/v3/objects/deals/search"),
		endpoint("GET", "/crm/v3/widgets/7"),
		endpoint("POST", "/oauth/v1/token"),
		endpoint("GET", "/crm/v3/objects/0-3/9"),
		endpoint("POST", "/contacts/v1/lists"),
		endpoint("GET", "/account-info/v3/api-usage/daily"),
		endpoint("POST", "/crm/v3/objects/companies"),
		endpoint("GET", "/app-webhooks/2025-09/1234/subscriptions"),
	}
	resp := check(t, ts, &scopeguardv1.CheckScopesRequest{
		Endpoints:     endpoints,
		GrantedScopes: []string{"crm.objects.contacts.read", "crm.lists.read"},
	})
	type outcome struct {
		Path    string
		Verdict scopeguardv1.Verdict
		Missing []string
	}
	want := []outcome{
		{"/crm/v3/objects/contacts", scopeguardv1.Verdict_VERDICT_ALLOWED, nil},
		{"/crm/v3/objects/deals/search", scopeguardv1.Verdict_VERDICT_MISSING_SCOPES, []string{"crm.objects.deals.read"}},
		{"/crm/v3/widgets/7", scopeguardv1.Verdict_VERDICT_UNKNOWN_ENDPOINT, nil},
		{"/oauth/v1/token", scopeguardv1.Verdict_VERDICT_NO_SCOPES_REQUIRED, nil},
		{"/crm/v3/objects/0-3/9", scopeguardv1.Verdict_VERDICT_MISSING_SCOPES, []string{"crm.objects.deals.read"}},
		{"/contacts/v1/lists", scopeguardv1.Verdict_VERDICT_RETIRED, nil},
		{"/account-info/v3/api-usage/daily", scopeguardv1.Verdict_VERDICT_REQUIREMENT_UNKNOWN, nil},
		{"/crm/v3/objects/companies", scopeguardv1.Verdict_VERDICT_MISSING_SCOPES, []string{"crm.objects.companies.write"}},
		{"/app-webhooks/2025-09/1234/subscriptions", scopeguardv1.Verdict_VERDICT_WRONG_CREDENTIAL_TYPE, nil},
	}
	var got []outcome
	for _, d := range resp.GetDecisions() {
		got = append(got, outcome{d.GetEndpoint().GetPath(), d.GetVerdict(), d.GetMissingScopes()})
		if d.GetExplanation() == "" {
			t.Errorf("%s has no explanation", d.GetEndpoint().GetPath())
		}
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("decisions in request order (-want +got):\n%s", diff)
	}
	wantMissing := []string{"crm.objects.companies.write", "crm.objects.deals.read"}
	if diff := cmp.Diff(wantMissing, resp.GetMissingScopes()); diff != "" {
		t.Errorf("union of missing scopes, sorted and de-duplicated (-want +got):\n%s", diff)
	}
	if resp.GetAllowed() {
		t.Error("allowed = true for a batch with missing scopes")
	}
}

func TestCheckScopesAllowedOnlyWhenEveryEndpointIs(t *testing.T) {
	t.Parallel()
	ts := offlineOn(t, checkDay)
	granted := []string{"crm.objects.contacts.read", "crm.objects.deals.read"}
	fine := []*scopeguardv1.Endpoint{
		endpoint("GET", "/crm/v3/objects/contacts"),
		endpoint("POST", "/oauth/2026-03/token"),
		endpoint("POST", "/crm/v3/objects/deals/search"),
	}
	tests := []struct {
		name    string
		extra   *scopeguardv1.Endpoint
		allowed bool
	}{
		{name: "allowed and no-scope endpoints only", allowed: true},
		{name: "plus an unknown endpoint", extra: endpoint("GET", "/crm/v3/widgets")},
		{name: "plus an endpoint whose requirement is unknown", extra: endpoint("GET", "/account-info/v3/api-usage/daily")},
		{name: "plus an endpoint the credential kind cannot call", extra: endpoint("GET", "/app-webhooks/2025-09/1/settings")},
		{name: "plus an endpoint missing a scope", extra: endpoint("PATCH", "/crm/v3/objects/deals/5")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			endpoints := fine
			if tt.extra != nil {
				endpoints = append(append([]*scopeguardv1.Endpoint{}, fine...), tt.extra)
			}
			resp := check(t, ts, &scopeguardv1.CheckScopesRequest{Endpoints: endpoints, GrantedScopes: granted})
			if resp.GetAllowed() != tt.allowed {
				t.Errorf("allowed = %v, want %v (verdicts %v)", resp.GetAllowed(), tt.allowed, verdicts(resp.GetDecisions()))
			}
		})
	}
}

func verdicts(decisions []*scopeguardv1.EndpointDecision) []scopeguardv1.Verdict {
	out := make([]scopeguardv1.Verdict, len(decisions))
	for i, d := range decisions {
		out[i] = d.GetVerdict()
	}
	return out
}

func TestCheckScopesSuggestsForTheFirstEightUnknownEndpoints(t *testing.T) {
	t.Parallel()
	ts := offlineOn(t, checkDay)
	endpoints := []*scopeguardv1.Endpoint{endpoint("GET", "/crm/v3/objects/contacts")}
	for i := range 10 {
		endpoints = append(endpoints, endpoint("GET", fmt.Sprintf("/crm/v3/objects/contacts/%d/unknown-%d", i, i)))
	}
	resp := check(t, ts, &scopeguardv1.CheckScopesRequest{Endpoints: endpoints})
	for i, d := range resp.GetDecisions()[1:] {
		if d.GetVerdict() != scopeguardv1.Verdict_VERDICT_UNKNOWN_ENDPOINT {
			t.Fatalf("endpoint %d: verdict %v, want unknown", i+1, d.GetVerdict())
		}
		if got, want := len(d.GetSuggestions()) > 0, i < 8; got != want {
			t.Errorf("unknown endpoint #%d has suggestions = %v, want %v (%q)", i, got, want, d.GetSuggestions())
		}
		if !strings.HasPrefix(d.GetExplanation(), "No HubSpot endpoint GET /crm/v3/objects/contacts/") {
			t.Errorf("unknown endpoint #%d explanation %q", i, d.GetExplanation())
		}
	}
}

func TestCheckScopesNormalisesGrantedScopes(t *testing.T) {
	t.Parallel()
	ts := offlineOn(t, checkDay)
	endpoints := []*scopeguardv1.Endpoint{
		endpoint("GET", "/crm/v3/objects/contacts"),
		endpoint("POST", "/crm/v3/objects/contacts"),
	}
	allowed, missing := scopeguardv1.Verdict_VERDICT_ALLOWED, scopeguardv1.Verdict_VERDICT_MISSING_SCOPES
	tests := []struct {
		name     string
		granted  []string
		want     *scopeguardv1.CheckScopesResponse
		verdicts []scopeguardv1.Verdict
	}{
		{
			name:     "one space-separated string, as HubSpot's scope parameter writes it",
			granted:  []string{"crm.objects.contacts.read crm.objects.contacts.write"},
			want:     &scopeguardv1.CheckScopesResponse{Allowed: true, GrantedScopes: []string{"crm.objects.contacts.read", "crm.objects.contacts.write"}},
			verdicts: []scopeguardv1.Verdict{allowed, allowed},
		},
		{
			name:     "one comma-separated string with padding",
			granted:  []string{"  crm.objects.contacts.write ,crm.objects.contacts.read "},
			want:     &scopeguardv1.CheckScopesResponse{Allowed: true, GrantedScopes: []string{"crm.objects.contacts.read", "crm.objects.contacts.write"}},
			verdicts: []scopeguardv1.Verdict{allowed, allowed},
		},
		{
			name:    "duplicates within and across items",
			granted: []string{"crm.objects.contacts.read", " crm.objects.contacts.read", "crm.objects.contacts.read,crm.objects.contacts.read"},
			want: &scopeguardv1.CheckScopesResponse{
				GrantedScopes: []string{"crm.objects.contacts.read"},
				MissingScopes: []string{"crm.objects.contacts.write"},
			},
			verdicts: []scopeguardv1.Verdict{allowed, missing},
		},
		{
			name:     "empty items and mixed separators",
			granted:  []string{"", " , ", "oauth,,crm.objects.contacts.write\tcrm.objects.contacts.read"},
			want:     &scopeguardv1.CheckScopesResponse{Allowed: true, GrantedScopes: []string{"crm.objects.contacts.read", "crm.objects.contacts.write", "oauth"}},
			verdicts: []scopeguardv1.Verdict{allowed, allowed},
		},
		{
			name:    "typos are reported back and allow nothing",
			granted: []string{"crm.objects.contact.read", "CRM.OBJECTS.CONTACTS.WRITE", "oauth"},
			want: &scopeguardv1.CheckScopesResponse{
				GrantedScopes: []string{"CRM.OBJECTS.CONTACTS.WRITE", "crm.objects.contact.read", "oauth"},
				UnknownScopes: []string{"CRM.OBJECTS.CONTACTS.WRITE", "crm.objects.contact.read"},
				MissingScopes: []string{"crm.objects.contacts.read", "crm.objects.contacts.write"},
			},
			verdicts: []scopeguardv1.Verdict{missing, missing},
		},
		{
			name:     "no scopes at all",
			want:     &scopeguardv1.CheckScopesResponse{MissingScopes: []string{"crm.objects.contacts.read", "crm.objects.contacts.write"}},
			verdicts: []scopeguardv1.Verdict{missing, missing},
		},
		{
			name:    "junk is echoed back clipped",
			granted: []string{strings.Repeat("x", 300), "crm.objects.contacts.read"},
			want: &scopeguardv1.CheckScopesResponse{
				GrantedScopes: []string{"crm.objects.contacts.read", strings.Repeat("x", 128) + "…"},
				UnknownScopes: []string{strings.Repeat("x", 128) + "…"},
				MissingScopes: []string{"crm.objects.contacts.write"},
			},
			verdicts: []scopeguardv1.Verdict{allowed, missing},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			resp := check(t, ts, &scopeguardv1.CheckScopesRequest{Endpoints: endpoints, GrantedScopes: tt.granted})
			if diff := cmp.Diff(tt.want, resp, protocmp.Transform(),
				protocmp.IgnoreFields(&scopeguardv1.CheckScopesResponse{}, "decisions")); diff != "" {
				t.Errorf("response (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.verdicts, verdicts(resp.GetDecisions())); diff != "" {
				t.Errorf("verdicts (-want +got):\n%s", diff)
			}
		})
	}
}

func TestCheckScopesAcceptsEveryFormOfOneEndpoint(t *testing.T) {
	t.Parallel()
	ts := offlineOn(t, checkDay)
	granted := []string{"crm.objects.deals.read"}
	groups := []struct {
		name  string
		forms []*scopeguardv1.Endpoint // the first is the reference
	}{
		{
			name: "a deal record",
			forms: []*scopeguardv1.Endpoint{
				endpoint("GET", "/crm/v3/objects/deals/55"),
				endpoint("get", "/crm/v3/objects/deals/55"),
				endpoint("HEAD", "/crm/v3/objects/deals/55"),
				endpoint("GET", "/crm/v3/objects/0-3/55"),
				endpoint("GET", "/crm/v3/objects/deal/55"),
				endpoint("GET", "/crm/v3/objects/de%61ls/55"),
				endpoint("GET", "/crm/v3/objects/deals/55/"),
				endpoint("GET", "//crm/v3//objects/deals/55"),
				endpoint("GET", "/crm/v3/objects/deals/55?archived=false&properties=amount#top"),
				endpoint("GET", "https://api.hubapi.com/crm/v3/objects/deals/55?archived=false"),
				endpoint("GET", "https://api.hubspot.com/crm/v3/objects/0-3/55"),
				endpoint("GET", "https://api-eu1.hubapi.com/crm/v3/objects/0-3/55?archived=true#fragment"),
				endpoint("GET", "https://api.hubapi.com:443/crm/v3/objects/deals/55"),
				endpoint("GET", "//api.hubapi.com/crm/v3/objects/deals/55"),
			},
		},
		{
			name: "the deals list",
			forms: []*scopeguardv1.Endpoint{
				endpoint("GET", "/crm/v3/objects/deals"),
				endpoint("GET", "/crm/v3/objects/0-3"),
				endpoint("GET", "https://api-eu1.hubapi.com/crm/v3/objects/0-3?limit=100"),
			},
		},
		{
			name: "a deal on the 2026-03 API",
			forms: []*scopeguardv1.Endpoint{
				endpoint("GET", "/crm/objects/2026-03/deals/55"),
				endpoint("GET", "/crm/objects/2026-03/0-3/55"),
				endpoint("GET", "https://api.hubapi.com/crm/objects/2026-03/0-3/55?idProperty=hs_object_id"),
			},
		},
	}
	for _, g := range groups {
		t.Run(g.name, func(t *testing.T) {
			t.Parallel()
			resp := check(t, ts, &scopeguardv1.CheckScopesRequest{Endpoints: g.forms, GrantedScopes: granted})
			ref := resp.GetDecisions()[0]
			if ref.GetVerdict() != scopeguardv1.Verdict_VERDICT_ALLOWED || ref.GetOperation().GetObjectType() != "deals" {
				t.Fatalf("reference %s: verdict %v, object %q; want allowed on deals", g.forms[0].GetPath(), ref.GetVerdict(), ref.GetOperation().GetObjectType())
			}
			for i, d := range resp.GetDecisions()[1:] {
				want := &scopeguardv1.EndpointDecision{
					Endpoint:     g.forms[i+1],
					Verdict:      ref.GetVerdict(),
					Operation:    ref.GetOperation(),
					Alternatives: ref.GetAlternatives(),
					SatisfiedBy:  ref.GetSatisfiedBy(),
					Explanation:  ref.GetExplanation(),
					Notices:      ref.GetNotices(),
				}
				if diff := cmp.Diff(want, d, protocmp.Transform()); diff != "" {
					t.Errorf("%s %s differs from %s (-want +got):\n%s", g.forms[i+1].GetMethod(), g.forms[i+1].GetPath(), g.forms[0].GetPath(), diff)
				}
			}
		})
	}
}

func TestCheckScopesRefusesUnusableEndpoints(t *testing.T) {
	t.Parallel()
	ts := offlineOn(t, checkDay)
	ok := endpoint("GET", "/crm/v3/objects/contacts")
	tests := []struct {
		name      string
		endpoints []*scopeguardv1.Endpoint
		reason    scopeguardv1.ErrorReason
		fields    []string
		host      string // ErrorInfo metadata "host" for UNSUPPORTED_HOST
	}{
		{
			name:      "a foreign host",
			endpoints: []*scopeguardv1.Endpoint{ok, endpoint("GET", "https://evil.example/crm/v3/objects/contacts")},
			reason:    scopeguardv1.ErrorReason_UNSUPPORTED_HOST,
			fields:    []string{"endpoints[1].path"},
			host:      "evil.example",
		},
		{
			name:      "HubSpot's web app host is not an API host",
			endpoints: []*scopeguardv1.Endpoint{endpoint("GET", "https://app.hubspot.com/crm/v3/objects/contacts")},
			reason:    scopeguardv1.ErrorReason_UNSUPPORTED_HOST,
			fields:    []string{"endpoints[0].path"},
			host:      "app.hubspot.com",
		},
		{
			name:      "a look-alike host",
			endpoints: []*scopeguardv1.Endpoint{endpoint("GET", "https://api.hubapi.com.evil.example/crm/v3/objects/contacts")},
			reason:    scopeguardv1.ErrorReason_UNSUPPORTED_HOST,
			fields:    []string{"endpoints[0].path"},
			host:      "api.hubapi.com.evil.example",
		},
		{
			name:      "a HubSpot host on another port",
			endpoints: []*scopeguardv1.Endpoint{endpoint("GET", "https://api.hubapi.com:8443/crm/v3/objects/contacts")},
			reason:    scopeguardv1.ErrorReason_UNSUPPORTED_HOST,
			fields:    []string{"endpoints[0].path"},
			host:      "api.hubapi.com:8443",
		},
		{
			name:      "dot segments",
			endpoints: []*scopeguardv1.Endpoint{endpoint("GET", "/crm/v3/objects/contacts/../deals")},
			reason:    scopeguardv1.ErrorReason_INVALID_REQUEST,
			fields:    []string{"endpoints[0].path"},
		},
		{
			name:      "percent-encoded dot segments",
			endpoints: []*scopeguardv1.Endpoint{ok, ok, endpoint("GET", "/crm/v3/objects/contacts/%2e%2e/deals")},
			reason:    scopeguardv1.ErrorReason_INVALID_REQUEST,
			fields:    []string{"endpoints[2].path"},
		},
		{
			name:      "user credentials in the URL",
			endpoints: []*scopeguardv1.Endpoint{endpoint("GET", "https://admin:hunter2@api.hubapi.com/crm/v3/objects/contacts")},
			reason:    scopeguardv1.ErrorReason_INVALID_REQUEST,
			fields:    []string{"endpoints[0].path"},
		},
		{
			name:      "a control character",
			endpoints: []*scopeguardv1.Endpoint{endpoint("GET", "/crm/v3/objects/contacts\x00")},
			reason:    scopeguardv1.ErrorReason_INVALID_REQUEST,
			fields:    []string{"endpoints[0].path"},
		},
		{
			name:      "a path of blanks",
			endpoints: []*scopeguardv1.Endpoint{endpoint("GET", "   ")},
			reason:    scopeguardv1.ErrorReason_INVALID_REQUEST,
			fields:    []string{"endpoints[0].path"},
		},
		{
			name:      "a method HubSpot's API does not use is refused by validation",
			endpoints: []*scopeguardv1.Endpoint{ok, endpoint("OPTIONS", "/crm/v3/objects/contacts")},
			reason:    scopeguardv1.ErrorReason_INVALID_REQUEST,
			fields:    []string{"endpoints[1].method"},
		},
		{
			name: "every unusable endpoint is listed, and a foreign host sets the reason",
			endpoints: []*scopeguardv1.Endpoint{
				endpoint("GET", "/crm/v3/objects/./contacts"), ok, endpoint("GET", "http://localhost:8080/crm/v3/objects/contacts"),
			},
			reason: scopeguardv1.ErrorReason_UNSUPPORTED_HOST,
			fields: []string{"endpoints[0].path", "endpoints[2].path"},
			host:   "localhost:8080",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := ts.client().CheckScopes(t.Context(), &scopeguardv1.CheckScopesRequest{Endpoints: tt.endpoints})
			st := wantStatus(t, err, codes.InvalidArgument, tt.reason, tt.fields)
			info := errorInfo(t, st)
			if tt.host != "" {
				if info.GetMetadata()["host"] != tt.host || info.GetMetadata()["field"] != tt.fields[len(tt.fields)-1] {
					t.Errorf("ErrorInfo metadata %v, want host %q and field %q", info.GetMetadata(), tt.host, tt.fields[len(tt.fields)-1])
				}
			}
			if strings.Contains(st.Message(), "hunter2") || strings.Contains(fmt.Sprint(st.Details()), "hunter2") {
				t.Errorf("status leaks the URL's password: %v", st)
			}
		})
	}
}

func errorInfo(t *testing.T, st *status.Status) *errdetails.ErrorInfo {
	t.Helper()
	for _, d := range st.Details() {
		if info, ok := d.(*errdetails.ErrorInfo); ok {
			return info
		}
	}
	t.Fatalf("status %v has no ErrorInfo", st)
	return nil
}

func TestCheckScopesSunsetsAndDeprecations(t *testing.T) {
	t.Parallel()
	const (
		legacyAPIs   = "https://developers.hubspot.com/changelog/legacy-apis-and-legacy-apps-whats-going-unsupported-and-when"
		contactLists = "https://developers.hubspot.com/changelog/extension-contact-lists-api-v1-sunset-moved-to-april-30-2026"
		pipelinesV1  = "https://developers.hubspot.com/changelog/pipelines-api-v1-sunset"
		// pipelinesV1Replacement is what HubSpot names for reading pipelines.
		pipelinesV1Replacement = "GET /crm/pipelines/2026-09/{objectType}"
		ended                  = "HubSpot's support for it ended"
	)
	tests := []struct {
		name       string
		day        time.Time
		endpoint   *scopeguardv1.Endpoint
		granted    []string
		verdict    scopeguardv1.Verdict
		operation  *scopeguardv1.Operation // compared on deprecated, sunset_date and sunset_url
		notices    []string
		explains   string // part of the explanation; "" means it must not say support ended
		deprecated bool
		retired    bool // the explanation says it was retired, not that support ended
	}{
		{
			name:      "a v3 endpoint carries the announced end of the numbered versions",
			day:       checkDay,
			endpoint:  endpoint("GET", "/crm/v3/objects/contacts"),
			granted:   []string{"crm.objects.contacts.read"},
			verdict:   scopeguardv1.Verdict_VERDICT_ALLOWED,
			operation: &scopeguardv1.Operation{SunsetDate: "2027-09", SunsetUrl: legacyAPIs},
			notices:   []string{"HubSpot ends support for v3 of this API: 2027-09."},
		},
		{
			name:      "contact lists v1 past its switch-off is retired even with every scope",
			day:       checkDay,
			endpoint:  endpoint("GET", "/contacts/v1/lists"),
			granted:   []string{"crm.lists.read"},
			verdict:   scopeguardv1.Verdict_VERDICT_RETIRED,
			operation: &scopeguardv1.Operation{SunsetDate: "2026-04-30", SunsetUrl: contactLists, Retires: true, Replacement: "POST /crm/v3/lists/search"},
			notices:   []string{"HubSpot's switch-off date for this endpoint: 2026-04-30; its replacement: POST /crm/v3/lists/search."},
			explains:  "was retired by HubSpot on 2026-04-30: it answers 404 whatever the scopes, so no scope can make the call work; use POST /crm/v3/lists/search instead",
			retired:   true,
		},
		{
			name:      "contact lists v1 past its switch-off is retired, not missing a scope",
			day:       checkDay,
			endpoint:  endpoint("POST", "/contacts/v1/lists"),
			verdict:   scopeguardv1.Verdict_VERDICT_RETIRED,
			operation: &scopeguardv1.Operation{SunsetDate: "2026-04-30", SunsetUrl: contactLists, Retires: true, Replacement: "POST /crm/v3/lists"},
			notices:   []string{"HubSpot's switch-off date for this endpoint: 2026-04-30; its replacement: POST /crm/v3/lists."},
			explains:  "was retired by HubSpot on 2026-04-30",
			retired:   true,
		},
		{
			name:      "contact lists v1 the day before its switch-off keeps its decision and announces it",
			day:       time.Date(2026, 4, 29, 23, 0, 0, 0, time.UTC),
			endpoint:  endpoint("GET", "/contacts/v1/lists"),
			granted:   []string{"crm.lists.read"},
			verdict:   scopeguardv1.Verdict_VERDICT_ALLOWED,
			operation: &scopeguardv1.Operation{SunsetDate: "2026-04-30", SunsetUrl: contactLists, Retires: true, Replacement: "POST /crm/v3/lists/search"},
			notices:   []string{"HubSpot's switch-off date for this endpoint: 2026-04-30; its replacement: POST /crm/v3/lists/search."},
		},
		{
			name:      "the contact feeds the lists v1 switch-off excepts stay live after it",
			day:       checkDay,
			endpoint:  endpoint("GET", "/contacts/v1/lists/recently_updated/contacts/recent?count=100"),
			granted:   []string{"crm.objects.contacts.read"},
			verdict:   scopeguardv1.Verdict_VERDICT_ALLOWED,
			operation: &scopeguardv1.Operation{SunsetDate: "2027-09", SunsetUrl: legacyAPIs},
			notices:   []string{"HubSpot ends support for v1 of this API: 2027-09."},
		},
		{
			name:      "pipelines v1 the day before its switch-off is still allowed",
			day:       time.Date(2026, 12, 3, 23, 59, 0, 0, time.UTC),
			endpoint:  endpoint("GET", "/crm-pipelines/v1/pipelines/deals"),
			granted:   []string{"crm.schemas.deals.read"},
			verdict:   scopeguardv1.Verdict_VERDICT_ALLOWED,
			operation: &scopeguardv1.Operation{SunsetDate: "2026-12-04", SunsetUrl: pipelinesV1, Retires: true, Replacement: pipelinesV1Replacement},
			notices:   []string{"HubSpot's switch-off date for this endpoint: 2026-12-04; its replacement: " + pipelinesV1Replacement + "."},
		},
		{
			name:      "pipelines v1 on its switch-off day is retired",
			day:       time.Date(2026, 12, 4, 0, 0, 0, 0, time.UTC),
			endpoint:  endpoint("GET", "/crm-pipelines/v1/pipelines/deals"),
			granted:   []string{"crm.schemas.deals.read"},
			verdict:   scopeguardv1.Verdict_VERDICT_RETIRED,
			operation: &scopeguardv1.Operation{SunsetDate: "2026-12-04", SunsetUrl: pipelinesV1, Retires: true, Replacement: pipelinesV1Replacement},
			notices:   []string{"HubSpot's switch-off date for this endpoint: 2026-12-04; its replacement: " + pipelinesV1Replacement + "."},
			explains:  "was retired by HubSpot on 2026-12-04",
			retired:   true,
		},
		{
			name:      "a sunset announced by month has passed once that month starts",
			day:       time.Date(2027, 9, 15, 0, 0, 0, 0, time.UTC),
			endpoint:  endpoint("GET", "/crm/v3/objects/contacts"),
			granted:   []string{"crm.objects.contacts.read"},
			verdict:   scopeguardv1.Verdict_VERDICT_ALLOWED,
			operation: &scopeguardv1.Operation{SunsetDate: "2027-09", SunsetUrl: legacyAPIs},
			notices:   []string{"HubSpot ends support for v3 of this API: 2027-09."},
			explains:  ended + " (2027-09)",
		},
		{
			name:      "a month-precision sunset has not passed the month before",
			day:       time.Date(2027, 8, 31, 23, 59, 0, 0, time.UTC),
			endpoint:  endpoint("GET", "/crm/v3/objects/contacts"),
			granted:   []string{"crm.objects.contacts.read"},
			verdict:   scopeguardv1.Verdict_VERDICT_ALLOWED,
			operation: &scopeguardv1.Operation{SunsetDate: "2027-09", SunsetUrl: legacyAPIs},
			notices:   []string{"HubSpot ends support for v3 of this API: 2027-09."},
		},
		{
			name:      "a deprecated endpoint says so",
			day:       checkDay,
			endpoint:  endpoint("POST", "/crm/v3/timeline/events"),
			granted:   []string{"timeline"},
			verdict:   scopeguardv1.Verdict_VERDICT_ALLOWED,
			operation: &scopeguardv1.Operation{Deprecated: true, SunsetDate: "2027-09", SunsetUrl: legacyAPIs},
			notices: []string{
				"HubSpot marks this endpoint deprecated.",
				"HubSpot ends support for v3 of this API: 2027-09.",
			},
		},
		{
			name:      "a date-versioned endpoint has no sunset",
			day:       checkDay,
			endpoint:  endpoint("GET", "/crm/objects/2026-03/contacts"),
			granted:   []string{"crm.objects.contacts.read"},
			verdict:   scopeguardv1.Verdict_VERDICT_ALLOWED,
			operation: &scopeguardv1.Operation{},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ts := offlineOn(t, tt.day)
			resp := check(t, ts, &scopeguardv1.CheckScopesRequest{Endpoints: []*scopeguardv1.Endpoint{tt.endpoint}, GrantedScopes: tt.granted})
			d := resp.GetDecisions()[0]
			if d.GetVerdict() != tt.verdict {
				t.Errorf("verdict %v, want %v", d.GetVerdict(), tt.verdict)
			}
			if diff := cmp.Diff(tt.operation, d.GetOperation(), protocmp.Transform(),
				protocmp.IgnoreFields(&scopeguardv1.Operation{}, "method", "path_template", "api", "version", "product_tiers",
					"tier_notes", "object_type", "source_url", "accepted_app_types")); diff != "" {
				t.Errorf("operation's deprecation facts (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.notices, d.GetNotices()); diff != "" {
				t.Errorf("notices (-want +got):\n%s", diff)
			}
			if (tt.explains == "" || tt.retired) && strings.Contains(d.GetExplanation(), ended) {
				t.Errorf("explanation %q says support ended on %s", d.GetExplanation(), tt.day.Format(time.DateOnly))
			}
			if !strings.Contains(d.GetExplanation(), tt.explains) {
				t.Errorf("explanation %q does not say %q", d.GetExplanation(), tt.explains)
			}
		})
	}
}

func TestCheckScopesAppTypes(t *testing.T) {
	t.Parallel()
	ts := offlineOn(t, checkDay)
	const (
		public      = scopeguardv1.AppType_APP_TYPE_PUBLIC
		private     = scopeguardv1.AppType_APP_TYPE_PRIVATE
		unspecified = scopeguardv1.AppType_APP_TYPE_UNSPECIFIED
	)
	tests := []struct {
		name     string
		endpoint *scopeguardv1.Endpoint
		app      scopeguardv1.AppType
		granted  []string
		want     *scopeguardv1.EndpointDecision // compared on verdict, satisfied_by and missing_scopes
		explains string
	}{
		{
			// HubSpot's spec lists only oauth2 for GET /crm/objects/2026-03/contacts
			// (FACTS.md §0 caveat 4): private apps fall back to that list.
			name:     "a private app falls back to the OAuth list where the spec has no private entry",
			endpoint: endpoint("GET", "/crm/objects/2026-03/contacts"),
			app:      private,
			granted:  []string{"crm.objects.contacts.read"},
			want:     &scopeguardv1.EndpointDecision{Verdict: scopeguardv1.Verdict_VERDICT_ALLOWED, SatisfiedBy: set("crm.objects.contacts.read")},
		},
		{
			name:     "a private app's sensitive scope has no .v2 suffix",
			endpoint: endpoint("GET", "/crm/objects/2026-03/contacts"),
			app:      private,
			granted:  []string{"crm.objects.contacts.sensitive.read"},
			want:     &scopeguardv1.EndpointDecision{Verdict: scopeguardv1.Verdict_VERDICT_ALLOWED, SatisfiedBy: set("crm.objects.contacts.sensitive.read")},
		},
		{
			name:     "an OAuth app's sensitive scope has the .v2 suffix",
			endpoint: endpoint("GET", "/crm/objects/2026-03/contacts"),
			app:      public,
			granted:  []string{"crm.objects.contacts.sensitive.read.v2"},
			want:     &scopeguardv1.EndpointDecision{Verdict: scopeguardv1.Verdict_VERDICT_ALLOWED, SatisfiedBy: set("crm.objects.contacts.sensitive.read.v2")},
		},
		{
			name:     "an OAuth app holding the private-app spelling is missing a scope",
			endpoint: endpoint("GET", "/crm/objects/2026-03/contacts"),
			app:      public,
			granted:  []string{"crm.objects.contacts.sensitive.read"},
			want:     &scopeguardv1.EndpointDecision{Verdict: scopeguardv1.Verdict_VERDICT_MISSING_SCOPES, MissingScopes: []string{"crm.objects.contacts.read"}},
			explains: "request it and have the account re-authorize the app.",
		},
		{
			name:     "an unspecified app type is judged as OAuth",
			endpoint: endpoint("GET", "/crm/objects/2026-03/contacts"),
			app:      unspecified,
			granted:  []string{"crm.objects.contacts.sensitive.read"},
			want:     &scopeguardv1.EndpointDecision{Verdict: scopeguardv1.Verdict_VERDICT_MISSING_SCOPES, MissingScopes: []string{"crm.objects.contacts.read"}},
			explains: "request it and have the account re-authorize the app.",
		},
		{
			name:     "a private app missing a scope is told to add it to the app",
			endpoint: endpoint("POST", "/crm/v3/objects/tickets"),
			app:      private,
			want:     &scopeguardv1.EndpointDecision{Verdict: scopeguardv1.Verdict_VERDICT_MISSING_SCOPES, MissingScopes: []string{"tickets"}},
			explains: "add it to the private app's scopes and use the token shown afterwards.",
		},
		{
			name:     "a private app calls the owners API with the OAuth scope",
			endpoint: endpoint("GET", "/crm/v3/owners/12"),
			app:      private,
			granted:  []string{"crm.objects.owners.read"},
			want:     &scopeguardv1.EndpointDecision{Verdict: scopeguardv1.Verdict_VERDICT_ALLOWED, SatisfiedBy: set("crm.objects.owners.read")},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			resp := check(t, ts, &scopeguardv1.CheckScopesRequest{Endpoints: []*scopeguardv1.Endpoint{tt.endpoint}, GrantedScopes: tt.granted, AppType: tt.app})
			d := resp.GetDecisions()[0]
			if diff := cmp.Diff(tt.want, d, protocmp.Transform(), decisionCore,
				protocmp.IgnoreFields(&scopeguardv1.EndpointDecision{}, "endpoint", "alternatives")); diff != "" {
				t.Errorf("decision (-want +got):\n%s", diff)
			}
			if !strings.Contains(d.GetExplanation(), tt.explains) {
				t.Errorf("explanation %q does not say %q", d.GetExplanation(), tt.explains)
			}
		})
	}

	t.Run("the alternatives use each scheme's spelling", func(t *testing.T) {
		t.Parallel()
		alternatives := func(app scopeguardv1.AppType) []string {
			resp := check(t, ts, &scopeguardv1.CheckScopesRequest{
				Endpoints: []*scopeguardv1.Endpoint{endpoint("GET", "/crm/objects/2026-03/contacts")}, AppType: app,
			})
			var names []string
			for _, alt := range resp.GetDecisions()[0].GetAlternatives() {
				names = append(names, strings.Join(alt.GetScopes(), "+"))
			}
			return names
		}
		oauth := alternatives(public)
		if diff := cmp.Diff([]string{
			"crm.objects.contacts.read", "crm.objects.contacts.sensitive.read.v2", "crm.objects.contacts.highly_sensitive.read.v2",
		}, oauth); diff != "" {
			t.Errorf("OAuth alternatives, least privileged first (-want +got):\n%s", diff)
		}
		privateAlts := alternatives(private)
		for _, name := range []string{"crm.objects.contacts.read", "crm.objects.contacts.sensitive.read", "crm.objects.contacts.highly_sensitive.read"} {
			if !slices.Contains(privateAlts, name) {
				t.Errorf("private-app alternatives %q lack %s", privateAlts, name)
			}
		}
		if privateAlts[0] != "crm.objects.contacts.read" {
			t.Errorf("private-app alternatives %q do not start with the least privileged", privateAlts)
		}
	})
}

func TestCheckScopesKeepsObjectsAndAccessApart(t *testing.T) {
	t.Parallel()
	ts := offlineOn(t, checkDay)
	tests := []struct {
		name     string
		endpoint *scopeguardv1.Endpoint
		granted  []string
		missing  []string // nil: allowed
	}{
		{name: "a deals scope never allows the contacts list", endpoint: endpoint("GET", "/crm/v3/objects/contacts"),
			granted: []string{"crm.objects.deals.read", "crm.objects.deals.write"}, missing: []string{"crm.objects.contacts.read"}},
		{name: "a deals scope never allows a contact by type id", endpoint: endpoint("GET", "/crm/v3/objects/0-1/7"),
			granted: []string{"crm.objects.deals.read"}, missing: []string{"crm.objects.contacts.read"}},
		{name: "a deals scope allows a deal by type id", endpoint: endpoint("GET", "/crm/v3/objects/0-3/7"),
			granted: []string{"crm.objects.deals.read"}},
		{name: "a contacts scope never allows companies search", endpoint: endpoint("POST", "/crm/v3/objects/companies/search"),
			granted: []string{"crm.objects.contacts.read"}, missing: []string{"crm.objects.companies.read"}},
		{name: "read never allows create", endpoint: endpoint("POST", "/crm/v3/objects/contacts"),
			granted: []string{"crm.objects.contacts.read"}, missing: []string{"crm.objects.contacts.write"}},
		{name: "read never allows a batch upsert", endpoint: endpoint("POST", "/crm/v3/objects/0-1/batch/upsert"),
			granted: []string{"crm.objects.contacts.read"}, missing: []string{"crm.objects.contacts.write"}},
		{name: "read never allows an update on the 2026-03 API", endpoint: endpoint("PATCH", "/crm/objects/2026-03/contacts/7"),
			granted: []string{"crm.objects.contacts.read"}, missing: []string{"crm.objects.contacts.write"}},
		{name: "write does not imply read", endpoint: endpoint("GET", "/crm/v3/objects/contacts/7"),
			granted: []string{"crm.objects.contacts.write"}, missing: []string{"crm.objects.contacts.read"}},
		{name: "batch read is a read", endpoint: endpoint("POST", "/crm/v3/objects/contacts/batch/read"),
			granted: []string{"crm.objects.contacts.read"}},
		{name: "associations are judged on the object they start from", endpoint: endpoint("GET", "/crm/v4/objects/contacts/7/associations/deals"),
			granted: []string{"crm.objects.deals.read"}, missing: []string{"crm.objects.contacts.read"}},
		{name: "an upper-case object name is still that object", endpoint: endpoint("GET", "/crm/v3/objects/DEALS/7"),
			granted: []string{"crm.objects.contacts.read"}, missing: []string{"crm.objects.deals.read"}},
		{name: "a line items scope never allows products", endpoint: endpoint("GET", "/crm/v3/objects/products/3"),
			granted: []string{"crm.objects.line_items.read"}, missing: []string{"crm.objects.products.read"}},
		{name: "a custom object needs the custom-object scopes", endpoint: endpoint("GET", "/crm/v3/objects/2-123456/9"),
			granted: []string{"crm.objects.contacts.read", "crm.objects.deals.read"}, missing: []string{"crm.objects.custom.read"}},
		{name: "a tickets scope never allows deals on the generic path", endpoint: endpoint("DELETE", "/crm/v3/objects/deals/9"),
			granted: []string{"tickets"}, missing: []string{"crm.objects.deals.write"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			resp := check(t, ts, &scopeguardv1.CheckScopesRequest{Endpoints: []*scopeguardv1.Endpoint{tt.endpoint}, GrantedScopes: tt.granted})
			d := resp.GetDecisions()[0]
			want := scopeguardv1.Verdict_VERDICT_ALLOWED
			if tt.missing != nil {
				want = scopeguardv1.Verdict_VERDICT_MISSING_SCOPES
			}
			if d.GetVerdict() != want {
				t.Errorf("verdict %v, want %v (%s)", d.GetVerdict(), want, d.GetExplanation())
			}
			if diff := cmp.Diff(tt.missing, d.GetMissingScopes()); diff != "" {
				t.Errorf("missing scopes (-want +got):\n%s", diff)
			}
		})
	}
}

func TestCheckScopesCountsDecisionsByVerdict(t *testing.T) {
	t.Parallel()
	ts := offlineOn(t, checkDay)
	check(t, ts, &scopeguardv1.CheckScopesRequest{
		Endpoints: []*scopeguardv1.Endpoint{
			endpoint("GET", "/crm/v3/objects/contacts"),
			endpoint("GET", "/crm/v3/objects/contacts/1"),
			endpoint("POST", "/crm/v3/objects/contacts"),
			endpoint("GET", "/crm/v3/widgets"),
			endpoint("POST", "/oauth/v1/token"),
			endpoint("GET", "/account-info/v3/api-usage/daily"),
		},
		GrantedScopes: []string{"crm.objects.contacts.read"},
	})
	// check asks twice, in the full and the basic view: both count.
	body := scrape(t, ts.metrics)
	for _, series := range []string{
		`scopeguard_decisions_total{verdict="VERDICT_ALLOWED"} 4`,
		`scopeguard_decisions_total{verdict="VERDICT_MISSING_SCOPES"} 2`,
		`scopeguard_decisions_total{verdict="VERDICT_UNKNOWN_ENDPOINT"} 2`,
		`scopeguard_decisions_total{verdict="VERDICT_NO_SCOPES_REQUIRED"} 2`,
		`scopeguard_decisions_total{verdict="VERDICT_REQUIREMENT_UNKNOWN"} 2`,
		`scopeguard_decisions_total{verdict="VERDICT_WRONG_CREDENTIAL_TYPE"} 0`,
	} {
		if !strings.Contains(body, series+"\n") {
			t.Errorf("/metrics lacks %s", series)
		}
	}
}

// TestCheckScopesViews pins what each view carries: unspecified is the
// full answer, the basic one is the verdicts and missing scopes alone (the
// check helper proves they agree everywhere), and an undefined view is
// refused.
func TestCheckScopesViews(t *testing.T) {
	t.Parallel()
	ts := offlineOn(t, checkDay)
	req := &scopeguardv1.CheckScopesRequest{
		Endpoints: []*scopeguardv1.Endpoint{
			endpoint("GET", "/crm/v3/objects/contacts/123?archived=false"),
			endpoint("POST", "/crm/v3/objects/deals/search"),
			endpoint("GET", "/crm/v3/objects/contacts/123/widgets"),
		},
		GrantedScopes: []string{"crm.objects.contacts.read", "not.a.scope"},
	}
	ask := func(view scopeguardv1.DecisionView) *scopeguardv1.CheckScopesResponse {
		r := proto.CloneOf(req)
		r.View = view
		resp, err := ts.client().CheckScopes(t.Context(), r)
		if err != nil {
			t.Fatalf("CheckScopes(view %v): %v", view, err)
		}
		return resp
	}
	unspecified := ask(scopeguardv1.DecisionView_DECISION_VIEW_UNSPECIFIED)
	full := ask(scopeguardv1.DecisionView_DECISION_VIEW_FULL)
	if diff := cmp.Diff(full, unspecified, protocmp.Transform()); diff != "" {
		t.Errorf("unspecified view differs from the full one (-full +unspecified):\n%s", diff)
	}
	basic := ask(scopeguardv1.DecisionView_DECISION_VIEW_BASIC)
	want := &scopeguardv1.CheckScopesResponse{
		Decisions: []*scopeguardv1.EndpointDecision{
			{Verdict: scopeguardv1.Verdict_VERDICT_ALLOWED, SatisfiedBy: set("crm.objects.contacts.read")},
			{Verdict: scopeguardv1.Verdict_VERDICT_MISSING_SCOPES, MissingScopes: []string{"crm.objects.deals.read"}},
			{Verdict: scopeguardv1.Verdict_VERDICT_UNKNOWN_ENDPOINT},
		},
		MissingScopes: []string{"crm.objects.deals.read"},
	}
	if diff := cmp.Diff(want, basic, protocmp.Transform()); diff != "" {
		t.Errorf("basic answer (-want +got):\n%s", diff)
	}
	if len(full.GetDecisions()[2].GetSuggestions()) == 0 || len(full.GetUnknownScopes()) != 1 {
		t.Errorf("full answer lacks the suggestions or the unknown scope this test relies on: %v", full)
	}
	if size := proto.Size(basic); size >= 100 {
		t.Errorf("basic answer is %d bytes, want under 100 (the full one is %d)", size, proto.Size(full))
	}

	r := proto.CloneOf(req)
	r.View = 3
	_, err := ts.client().CheckScopes(t.Context(), r)
	wantStatus(t, err, codes.InvalidArgument, scopeguardv1.ErrorReason_INVALID_REQUEST, []string{"view"})
}
