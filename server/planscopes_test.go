package server_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/testing/protocmp"

	scopeguardv1 "github.com/eshopman/scopeguard/gen/scopeguard/v1"
	"github.com/eshopman/scopeguard/server/catalog"
	"github.com/eshopman/scopeguard/server/hubspot"
)

var update = flag.Bool("update", false, "rewrite testdata/plans/*.json with the plans PlanScopes gives (the brute-force check still runs)")

// planGolden is one file under testdata/plans: a PlanScopes request for a
// realistic integration and the plan it must get.
type planGolden struct {
	// Description says what the integration does and what the case shows.
	Description string `json:"description"`
	// Request is the PlanScopesRequest in protojson.
	Request json.RawMessage `json:"request"`
	// Want is the expected plan.
	Want planWant `json:"want"`
}

type planWant struct {
	RequiredScopes []string `json:"requiredScopes"`
	OptionalScopes []string `json:"optionalScopes"`
	AuthorizeURL   string   `json:"authorizeUrl"`
	Exact          bool     `json:"exact"`
	// Verdicts are the decisions' verdicts, one per endpoint in order.
	Verdicts []string `json:"verdicts"`
	// OptionalVerdicts are the optional decisions' verdicts.
	OptionalVerdicts []string `json:"optionalVerdicts"`
}

func TestPlanScopesGoldens(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob(filepath.Join("testdata", "plans", "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 8 {
		t.Fatalf("found %d plan goldens, want at least 8", len(files))
	}
	ts := offlineOn(t, checkDay)
	cat := catalog.Default()
	for _, file := range files {
		t.Run(strings.TrimSuffix(filepath.Base(file), ".json"), func(t *testing.T) {
			t.Parallel()
			golden, req := readPlanGolden(t, file)
			resp, err := ts.client().PlanScopes(t.Context(), req)
			if err != nil {
				t.Fatalf("PlanScopes: %v", err)
			}
			got := planWant{
				RequiredScopes:   resp.GetRequiredScopes(),
				OptionalScopes:   resp.GetOptionalScopes(),
				AuthorizeURL:     resp.GetAuthorizeUrl(),
				Exact:            resp.GetExact(),
				Verdicts:         verdictNames(resp.GetDecisions()),
				OptionalVerdicts: verdictNames(resp.GetOptionalDecisions()),
			}
			if *update {
				golden.Want = got
				writePlanGolden(t, file, golden)
			}

			// The golden answer is checked against an exhaustive search of
			// the catalog's own requirements, so it cannot merely be what
			// the code printed when it was written.
			required := plannableRequirements(t, cat, req.GetEndpoints(), req.GetAppType())
			optional := plannableRequirements(t, cat, req.GetOptionalEndpoints(), req.GetAppType())
			assertOptimal(t, "required_scopes", golden.Want.RequiredScopes, nil, required, cat.Privilege)
			assertOptimal(t, "optional_scopes", golden.Want.OptionalScopes, golden.Want.RequiredScopes, optional, cat.Privilege)
			if !golden.Want.Exact {
				t.Errorf("golden plan is not exact; these inputs are small enough to be")
			}
			assertAuthorizeURL(t, golden.Want, req)

			want := &scopeguardv1.PlanScopesResponse{
				RequiredScopes: golden.Want.RequiredScopes,
				OptionalScopes: golden.Want.OptionalScopes,
				AuthorizeUrl:   golden.Want.AuthorizeURL,
				Exact:          golden.Want.Exact,
			}
			if diff := cmp.Diff(want, resp, protocmp.Transform(),
				protocmp.IgnoreFields(&scopeguardv1.PlanScopesResponse{}, "decisions", "optional_decisions")); diff != "" {
				t.Errorf("plan (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(golden.Want.Verdicts, got.Verdicts); diff != "" {
				t.Errorf("verdicts (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(golden.Want.OptionalVerdicts, got.OptionalVerdicts); diff != "" {
				t.Errorf("optional verdicts (-want +got):\n%s", diff)
			}
			assertCovered(t, "decisions", resp.GetDecisions(), req.GetEndpoints())
			assertCovered(t, "optional_decisions", resp.GetOptionalDecisions(), req.GetOptionalEndpoints())

			// The basic view is the same plan with trimmed decisions.
			basicReq := proto.CloneOf(req)
			basicReq.View = scopeguardv1.DecisionView_DECISION_VIEW_BASIC
			basic, err := ts.client().PlanScopes(t.Context(), basicReq)
			if err != nil {
				t.Fatalf("PlanScopes in the basic view: %v", err)
			}
			wantBasic := proto.CloneOf(resp)
			wantBasic.Decisions = basicDecisions(resp.GetDecisions())
			wantBasic.OptionalDecisions = basicDecisions(resp.GetOptionalDecisions())
			if diff := cmp.Diff(wantBasic, basic, protocmp.Transform()); diff != "" {
				t.Errorf("basic view (-full, trimmed +basic):\n%s", diff)
			}
		})
	}
}

func readPlanGolden(t *testing.T, file string) (*planGolden, *scopeguardv1.PlanScopesRequest) {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var golden planGolden
	if err := dec.Decode(&golden); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	req := &scopeguardv1.PlanScopesRequest{}
	if err := protojson.Unmarshal(golden.Request, req); err != nil {
		t.Fatalf("%s: request: %v", file, err)
	}
	if golden.Description == "" {
		t.Errorf("%s has no description", file)
	}
	return &golden, req
}

func writePlanGolden(t *testing.T, file string, golden *planGolden) {
	t.Helper()
	// Empty lists read better as [] than as null.
	for _, list := range []*[]string{&golden.Want.RequiredScopes, &golden.Want.OptionalScopes, &golden.Want.Verdicts, &golden.Want.OptionalVerdicts} {
		if *list == nil {
			*list = []string{}
		}
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(golden); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(file, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

func verdictNames(decisions []*scopeguardv1.EndpointDecision) []string {
	out := make([]string, len(decisions))
	for i, d := range decisions {
		out[i] = d.GetVerdict().String()
	}
	return out
}

// plannableRequirements are the requirement alternatives of the endpoints
// a plan must cover, straight from the catalog: unknown endpoints and those
// that need no scope, that the credential kind cannot call or whose
// requirement nobody knows add nothing. Identical requirements count once.
func plannableRequirements(t *testing.T, cat *catalog.Catalog, endpoints []*scopeguardv1.Endpoint, app scopeguardv1.AppType) [][][]string {
	t.Helper()
	var reqs [][][]string
	seen := map[string]bool{}
	for _, ep := range endpoints {
		m, err := cat.Match(ep.GetMethod(), ep.GetPath())
		if err != nil {
			continue
		}
		r := m.Requirement(app)
		if m.Operation.RetiredBy(checkDay.Format(time.DateOnly)) || !r.Accepted() || r.Unknown() || r.NoScopesRequired() {
			continue
		}
		alts := r.Alternatives()
		key, err := json.Marshal(alts)
		if err != nil {
			t.Fatal(err)
		}
		if !seen[string(key)] {
			seen[string(key)] = true
			reqs = append(reqs, alts)
		}
	}
	return reqs
}

// bruteForceLimit bounds the choices the exhaustive search tries; a golden
// bigger than this is not a small input.
const bruteForceLimit = 2_000_000

// bruteForce tries every choice of one alternative per requirement and
// returns the cheapest plan's cost and size (scopes beyond have), ordering
// plans by the total Privilege of their scopes, then by how many there are.
func bruteForce(t *testing.T, reqs [][][]string, have []string, cost func(string) int) (bestCost, bestSize int) {
	t.Helper()
	held := map[string]bool{}
	for _, s := range have {
		held[s] = true
	}
	var open [][][]string
	choices := 1
	for _, alts := range reqs {
		satisfied := slices.ContainsFunc(alts, func(alt []string) bool {
			return !slices.ContainsFunc(alt, func(s string) bool { return !held[s] })
		})
		if !satisfied {
			open = append(open, alts)
			choices *= len(alts)
			if choices > bruteForceLimit {
				t.Fatalf("%d+ choices: too many for an exhaustive check", choices)
			}
		}
	}
	t.Logf("exhaustive search over %d choices", choices)
	count := map[string]int{} // how many chosen alternatives name each scope
	curCost, curSize := 0, 0
	bestCost, bestSize = -1, 0
	var walk func(i int)
	walk = func(i int) {
		if i == len(open) {
			if bestCost < 0 || curCost < bestCost || curCost == bestCost && curSize < bestSize {
				bestCost, bestSize = curCost, curSize
			}
			return
		}
		for _, alt := range open[i] {
			for _, s := range alt {
				if held[s] {
					continue
				}
				if count[s] == 0 {
					curCost += max(cost(s), 1)
					curSize++
				}
				count[s]++
			}
			walk(i + 1)
			for _, s := range alt {
				if held[s] {
					continue
				}
				count[s]--
				if count[s] == 0 {
					curCost -= max(cost(s), 1)
					curSize--
				}
			}
		}
	}
	walk(0)
	return bestCost, bestSize
}

// assertOptimal checks that plan (with have) satisfies every requirement,
// adds nothing have holds, and is as cheap and as small as the exhaustive
// search's best.
func assertOptimal(t *testing.T, what string, plan, have []string, reqs [][][]string, cost func(string) int) {
	t.Helper()
	if !slices.IsSorted(plan) || len(slices.Compact(slices.Clone(plan))) != len(plan) {
		t.Errorf("%s %q are not sorted and distinct", what, plan)
	}
	granted := map[string]bool{}
	planCost := 0
	for _, s := range plan {
		if slices.Contains(have, s) {
			t.Errorf("%s repeat %s, already required", what, s)
		}
		granted[s] = true
		planCost += max(cost(s), 1)
	}
	for _, s := range have {
		granted[s] = true
	}
	for _, alts := range reqs {
		if !slices.ContainsFunc(alts, func(alt []string) bool {
			return !slices.ContainsFunc(alt, func(s string) bool { return !granted[s] })
		}) {
			t.Errorf("%s %q satisfy none of %q", what, plan, alts)
		}
	}
	bestCost, bestSize := bruteForce(t, reqs, have, cost)
	if planCost != bestCost || len(plan) != bestSize {
		t.Errorf("%s %q cost %d in %d scopes; the exhaustive search's best costs %d in %d", what, plan, planCost, len(plan), bestCost, bestSize)
	}
}

// assertAuthorizeURL checks the install URL by parsing it: HubSpot's
// authorize page, the request's client id and redirect URI, and the plan's
// scopes space-separated; no URL for private apps or without a client id.
func assertAuthorizeURL(t *testing.T, want planWant, req *scopeguardv1.PlanScopesRequest) {
	t.Helper()
	app := req.GetAppType()
	if req.GetClientId() == "" || app == scopeguardv1.AppType_APP_TYPE_PRIVATE || app == scopeguardv1.AppType_APP_TYPE_DEVELOPER {
		if want.AuthorizeURL != "" {
			t.Errorf("authorize URL %q for a request that cannot install by OAuth", want.AuthorizeURL)
		}
		return
	}
	u, err := url.Parse(want.AuthorizeURL)
	if err != nil {
		t.Fatalf("authorize URL: %v", err)
	}
	if u.Scheme+"://"+u.Host+u.Path != hubspot.AuthorizeURLBase || strings.Contains(u.RawQuery, "+") {
		t.Errorf("authorize URL %q: want %s with %%20-separated values", want.AuthorizeURL, hubspot.AuthorizeURLBase)
	}
	q := u.Query()
	gotQuery := map[string][]string{}
	for k, v := range q {
		gotQuery[k] = v
	}
	wantQuery := map[string][]string{
		"client_id": {req.GetClientId()},
		"scope":     {strings.Join(want.RequiredScopes, " ")},
	}
	if req.GetRedirectUri() != "" {
		wantQuery["redirect_uri"] = []string{req.GetRedirectUri()}
	}
	if len(want.OptionalScopes) > 0 {
		wantQuery["optional_scope"] = []string{strings.Join(want.OptionalScopes, " ")}
	}
	if diff := cmp.Diff(wantQuery, gotQuery); diff != "" {
		t.Errorf("authorize URL query (-want +got):\n%s", diff)
	}
}

// assertCovered checks that every endpoint the plan had to cover is allowed
// by it.
func assertCovered(t *testing.T, what string, decisions []*scopeguardv1.EndpointDecision, endpoints []*scopeguardv1.Endpoint) {
	t.Helper()
	if len(decisions) != len(endpoints) {
		t.Fatalf("%d %s for %d endpoints", len(decisions), what, len(endpoints))
	}
	for i, d := range decisions {
		if diff := cmp.Diff(endpoints[i], d.GetEndpoint(), protocmp.Transform()); diff != "" {
			t.Errorf("%s[%d] endpoint (-want +got):\n%s", what, i, diff)
		}
		switch d.GetVerdict() {
		case scopeguardv1.Verdict_VERDICT_MISSING_SCOPES, scopeguardv1.Verdict_VERDICT_UNSPECIFIED, scopeguardv1.Verdict_VERDICT_TOKEN_INACTIVE:
			t.Errorf("%s[%d] %s %s: %v under the plan (%s)", what, i, d.GetEndpoint().GetMethod(), d.GetEndpoint().GetPath(), d.GetVerdict(), d.GetExplanation())
		default: // covered, or not coverable at all
		}
	}
}

// TestBruteForceFindsTheJointOptimum proves the checker on a hand-solved
// case where choosing each requirement's cheapest alternative alone is not
// the cheapest plan.
func TestBruteForceFindsTheJointOptimum(t *testing.T) {
	t.Parallel()
	cost := func(s string) int { return map[string]int{"a": 10, "b": 10, "shared": 15}[s] }
	reqs := [][][]string{
		{{"a"}, {"shared"}},
		{{"b"}, {"shared"}},
		{{"a", "b"}},
	}
	if c, n := bruteForce(t, reqs, nil, cost); c != 20 || n != 2 {
		t.Errorf("with a+b forced: cost %d in %d scopes, want 20 in 2 (a, b)", c, n)
	}
	if c, n := bruteForce(t, reqs[:2], nil, cost); c != 15 || n != 1 {
		t.Errorf("cost %d in %d scopes, want 15 in 1 (shared beats a + b)", c, n)
	}
	if c, n := bruteForce(t, reqs[:2], []string{"a"}, cost); c != 10 || n != 1 {
		t.Errorf("holding a: cost %d in %d scopes, want 10 in 1 (b)", c, n)
	}
}

// TestPlanScopesAcceptanceCase pins issue 4's acceptance answer in code, so
// that regenerating the goldens cannot quietly change it.
func TestPlanScopesAcceptanceCase(t *testing.T) {
	t.Parallel()
	ts := offlineOn(t, checkDay)
	resp, err := ts.client().PlanScopes(t.Context(), &scopeguardv1.PlanScopesRequest{
		Endpoints: []*scopeguardv1.Endpoint{
			endpoint("GET", "/crm/v3/objects/contacts"),
			endpoint("POST", "/crm/v3/objects/contacts"),
			endpoint("POST", "/crm/v3/objects/deals/search"),
		},
		ClientId:    "app-123",
		RedirectUri: "https://shop.example/cb",
	})
	if err != nil {
		t.Fatalf("PlanScopes: %v", err)
	}
	want := &scopeguardv1.PlanScopesResponse{
		RequiredScopes: []string{"crm.objects.contacts.read", "crm.objects.contacts.write", "crm.objects.deals.read"},
		AuthorizeUrl: "https://app.hubspot.com/oauth/authorize?client_id=app-123&redirect_uri=https%3A%2F%2Fshop.example%2Fcb" +
			"&scope=crm.objects.contacts.read%20crm.objects.contacts.write%20crm.objects.deals.read",
		Exact: true,
	}
	if diff := cmp.Diff(want, resp, protocmp.Transform(),
		protocmp.IgnoreFields(&scopeguardv1.PlanScopesResponse{}, "decisions")); diff != "" {
		t.Errorf("plan (-want +got):\n%s", diff)
	}
	for _, d := range resp.GetDecisions() {
		if d.GetVerdict() != scopeguardv1.Verdict_VERDICT_ALLOWED || d.GetSatisfiedBy() == nil {
			t.Errorf("%s %s under the plan: %v, satisfied by %v", d.GetEndpoint().GetMethod(), d.GetEndpoint().GetPath(), d.GetVerdict(), d.GetSatisfiedBy())
		}
	}
}

// TestPlanScopesNoURLWithoutScopes: an install URL with an empty scope
// parameter would only earn the user an error page from HubSpot.
func TestPlanScopesNoURLWithoutScopes(t *testing.T) {
	t.Parallel()
	ts := offlineOn(t, checkDay)
	resp, err := ts.client().PlanScopes(t.Context(), &scopeguardv1.PlanScopesRequest{
		Endpoints: []*scopeguardv1.Endpoint{endpoint("POST", "/oauth/2026-03/token"), endpoint("GET", "/nope/v1/things")},
		ClientId:  "app-123",
	})
	if err != nil {
		t.Fatalf("PlanScopes: %v", err)
	}
	if resp.GetAuthorizeUrl() != "" || len(resp.GetRequiredScopes()) != 0 {
		t.Errorf("plan with nothing to request = scopes %v, URL %q; want neither", resp.GetRequiredScopes(), resp.GetAuthorizeUrl())
	}
}
