package explain

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"google.golang.org/protobuf/encoding/protojson"

	scopeguardv1 "github.com/eshopman/scopeguard/gen/scopeguard/v1"
)

func TestCompareWithCatalog(t *testing.T) {
	t.Parallel()
	anyOf := scopeguardv1.Requirement_REQUIREMENT_ANY_OF
	allOf := scopeguardv1.Requirement_REQUIREMENT_ALL_OF
	unstated := scopeguardv1.Requirement_REQUIREMENT_UNSPECIFIED
	tests := []struct {
		name         string
		requirement  scopeguardv1.Requirement
		required     []string
		alternatives [][]string
		granted      []string
		scopeRefusal bool
		want         CatalogCheck
	}{
		{
			name:        "ANY_OF union containing every catalog alternative agrees",
			requirement: anyOf, required: []string{"crm.schemas.deals.read", "crm.objects.deals.read", "crm.objects.deals.sensitive.read.v2"},
			alternatives: [][]string{{"crm.objects.deals.read"}, {"crm.objects.deals.sensitive.read.v2"}},
			want:         CatalogCheck{Checked: true, Agrees: true, OnlyInBody: []string{"crm.schemas.deals.read"}},
		},
		{
			name:        "ANY_OF naming a legacy scope the catalog does not list disagrees",
			requirement: anyOf, required: []string{"contacts"}, alternatives: [][]string{{"crm.objects.owners.read"}},
			want: CatalogCheck{Checked: true, OnlyInBody: []string{"contacts"}, OnlyInCatalog: []string{"crm.objects.owners.read"}},
		},
		{
			name:        "ANY_OF flattening an AND pair agrees",
			requirement: anyOf, required: []string{"crm.objects.line_items.write", "e-commerce"},
			alternatives: [][]string{{"crm.objects.line_items.write", "e-commerce"}},
			want:         CatalogCheck{Checked: true, Agrees: true},
		},
		{
			name:        "ALL_OF equal to an alternative agrees, .v2 ignored",
			requirement: allOf, required: []string{"crm.objects.contacts.sensitive.read.v2"},
			alternatives: [][]string{{"crm.objects.contacts.read"}, {"crm.objects.contacts.sensitive.read"}},
			want:         CatalogCheck{Checked: true, Agrees: true, OnlyInCatalog: []string{"crm.objects.contacts.read"}},
		},
		{
			name:        "ALL_OF that is no alternative disagrees",
			requirement: allOf, required: []string{"a.read", "b.read"}, alternatives: [][]string{{"a.read"}},
			want: CatalogCheck{Checked: true, OnlyInBody: []string{"b.read"}},
		},
		{
			name:        "missing list plus granted scopes fitting an alternative agrees",
			requirement: unstated, required: []string{"crm.objects.deals.write"}, granted: []string{"crm.objects.deals.read"},
			alternatives: [][]string{{"crm.objects.deals.read", "crm.objects.deals.write"}},
			want:         CatalogCheck{Checked: true, Agrees: true, OnlyInCatalog: []string{"crm.objects.deals.read"}},
		},
		{
			name:         "no list agrees",
			alternatives: [][]string{{"tickets"}},
			scopeRefusal: true,
			want:         CatalogCheck{Checked: true, Agrees: true},
		},
		{
			name:         "scope refusal where the catalog needs no scope disagrees",
			scopeRefusal: true,
			want:         CatalogCheck{Checked: true},
		},
		{
			name:        "scopes named where the catalog needs none disagrees",
			requirement: anyOf, required: []string{"oauth"},
			want: CatalogCheck{Checked: true, OnlyInBody: []string{"oauth"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p := &Parsed{Requirement: tt.requirement, RequiredScopes: tt.required}
			got := compareWithCatalog(p, &EndpointFacts{Alternatives: tt.alternatives}, newScopeSet(tt.required), newScopeSet(tt.granted), tt.scopeRefusal)
			if got.Agrees == (got.Reason != "") {
				t.Errorf("Agrees=%v with reason %q", got.Agrees, got.Reason)
			}
			if diff := cmp.Diff(tt.want, got, cmpopts.EquateEmpty(), cmpopts.IgnoreFields(CatalogCheck{}, "Reason")); diff != "" {
				t.Errorf("compareWithCatalog() mismatch (-want +got):\n%s", diff)
			}
		})
	}
	if got := compareWithCatalog(&Parsed{}, nil, nil, nil, true); got.Checked || got.Agrees {
		t.Errorf("no endpoint facts: got %+v", got)
	}
}

func TestRetryAfter(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 9, 1, 12, 0, 0, 0, time.UTC)
	newYork, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		status int
		body   string
		header string
		now    time.Time
		zone   *time.Location
		want   time.Duration
	}{
		{name: "delay seconds", status: 429, header: "30", want: 30 * time.Second},
		{name: "HTTP date", status: 429, header: "Tue, 01 Sep 2026 12:01:30 GMT", want: 90 * time.Second},
		{name: "HTTP date in the past", status: 429, header: "Tue, 01 Sep 2026 11:00:00 GMT", want: 0},
		{name: "absurd delay is capped at a week", status: 429, header: "99999999", want: 7 * 24 * time.Hour},
		{name: "unreadable header falls back to the window", status: 429, header: "soon", want: 10 * time.Second},
		{name: "daily in UTC", status: 429, body: `{"policyName":"DAILY"}`, want: 12 * time.Hour},
		{name: "daily across a DST change in the account zone", status: 429, body: `{"policyName":"DAILY"}`,
			now: time.Date(2026, 11, 1, 4, 30, 0, 0, time.UTC), zone: newYork, want: 24*time.Hour + 30*time.Minute},
		{name: "locked waits at least 2s", status: 423, header: "1", want: 2 * time.Second},
		{name: "migration honours Retry-After", status: 477, header: "120", want: 2 * time.Minute},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			in := Input{HTTPStatus: tt.status, Body: tt.body, Now: now, AccountTimeZone: tt.zone}
			if !tt.now.IsZero() {
				in.Now = tt.now
			}
			if tt.header != "" {
				in.Headers = map[string]string{"Retry-After": tt.header}
			}
			r := Explain(in)
			if !r.GetRetryable() {
				t.Fatalf("not retryable: %v %s", r.GetRootCause(), r.GetSummary())
			}
			if got := r.GetRetryAfter().AsDuration(); got != tt.want {
				t.Errorf("retry_after = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestNeverEchoesCredentials(t *testing.T) {
	t.Parallel()
	const token = "CJSP5qf1KhICAQEYs-gDIIGOBii1hQIyGQAf3xBKmlwHjX7OIpuIFEavB2-qYAGQsF4"
	const pat = "pat-na1-0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"
	bodies := []string{
		`{"status":"error","message":"Bearer ` + token + ` refused","correlationId":"` + token + `","category":"MISSING_SCOPES","errors":[{"message":"One or more of the following scopes are required.","context":{"requiredScopes":["` + pat + `","crm.objects.contacts.read"],"token":["` + token + `"]}}]}`,
		`{"status":"error","message":"This oauth-token (` + token + `) does not have proper permissions! (requires any of [` + pat + `])"}`,
		"GET https://api.hubapi.com/crm/v3/objects/contacts?hapikey=" + pat + " failed: 401",
		`{"status":"BAD_REFRESH_TOKEN","message":"missing or invalid refresh token ` + token + `"}`,
		`{"status":"error","message":"Contact already exists. Existing ID: 1 ` + pat + `","category":"CONFLICT"}`,
		`{"status":"error","message":"resource ` + token + ` not found"}`,
	}
	for i, body := range bodies {
		for _, status := range []int{0, 401, 403, 404} {
			r := Explain(Input{
				HTTPStatus: status, Body: body, Secrets: []string{token, pat},
				GrantedScopes: []string{"oauth"}, GrantedKnown: true, ClientID: "c",
				Endpoint: &scopeguardv1.Endpoint{Method: "GET", Path: "/crm/v3/objects/contacts/1"},
			})
			wire, err := protojson.Marshal(r)
			if err != nil {
				t.Fatal(err)
			}
			for _, secret := range []string{token, pat, "0a1b2c3d-4e5f"} {
				if strings.Contains(string(wire), secret) {
					t.Errorf("body %d, status %d: response echoes %q:\n%s", i, status, secret, wire)
				}
			}
		}
	}
	if got := Parse(403, bodies[0], nil).RequiredScopes; !cmp.Equal(got, []string{"crm.objects.contacts.read"}) {
		t.Errorf("a token-shaped scope name was kept: %q", got)
	}
}

func TestDiagnoseDefaults(t *testing.T) {
	t.Parallel()
	// No clock given: retry_after still comes out, from time.Now.
	r := Diagnose(Input{HTTPStatus: 429, Body: `{"policyName":"DAILY"}`})
	if d := r.Response.GetRetryAfter().AsDuration(); d <= 0 || d > 24*time.Hour {
		t.Errorf("daily retry_after %v outside (0, 24h]", d)
	}
	// A parsed error is used as given; the input status wins over its own.
	p := Parse(0, `{"message":"resource not found"}`, nil)
	if got := Explain(Input{Parsed: p, HTTPStatus: 404}).GetRootCause(); got != scopeguardv1.RootCause_ROOT_CAUSE_NOT_FOUND {
		t.Errorf("root cause %v, want NOT_FOUND", got)
	}
	// Nothing at all is still an answer.
	if got := Explain(Input{}); got.GetRootCause() != scopeguardv1.RootCause_ROOT_CAUSE_UNKNOWN || len(got.GetRemediations()) == 0 {
		t.Errorf("empty input: %v with %d remediations", got.GetRootCause(), len(got.GetRemediations()))
	}
}

func TestGrantedScopeItemsAreSplit(t *testing.T) {
	t.Parallel()
	r := Explain(Input{
		HTTPStatus: 403, GrantedKnown: true,
		GrantedScopes: []string{"oauth crm.objects.contacts.read", "account-info.security.read,tickets"},
		Body:          `{"category":"MISSING_SCOPES","errors":[{"message":"All of the following scopes are required.","context":{"requiredGranularScopes":["account-info.security.read"]}}]}`,
	})
	if got := r.GetRootCause(); got != scopeguardv1.RootCause_ROOT_CAUSE_SCOPE_GRANTED_BUT_FORBIDDEN {
		t.Errorf("root cause %v, want GRANTED_BUT_FORBIDDEN", got)
	}
	want := []string{"account-info.security.read", "crm.objects.contacts.read", "oauth", "tickets"}
	if diff := cmp.Diff(want, r.GetGrantedScopes()); diff != "" {
		t.Errorf("granted scopes mismatch (-want +got):\n%s", diff)
	}
}

func TestFormatDuration(t *testing.T) {
	t.Parallel()
	for d, want := range map[time.Duration]string{
		0: "0s", 500 * time.Millisecond: "500ms", time.Second: "1s", 10 * time.Second: "10s",
		90 * time.Second: "1m30s", time.Hour: "1h", 5*time.Hour + 30*time.Minute: "5h30m",
		48 * time.Hour: "2 days", 19884 * 24 * time.Hour: "19884 days",
	} {
		if got := formatDuration(d); got != want {
			t.Errorf("formatDuration(%v) = %q, want %q", d, got, want)
		}
	}
}
