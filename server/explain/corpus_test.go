package explain

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/encoding/protojson"

	scopeguardv1 "github.com/eshopman/scopeguard/gen/scopeguard/v1"
)

// corpusCase is one file of testdata/cases (format in testdata/README.md).
type corpusCase struct {
	Name    string          `json:"name"`
	Source  string          `json:"source"`
	Notes   string          `json:"notes"`
	Request caseRequest     `json:"request"`
	Facts   caseFacts       `json:"facts"`
	Expect  json.RawMessage `json:"expect"`
	// ExpectCatalog overrides fields of Expect when Facts.Catalog is given.
	ExpectCatalog json.RawMessage `json:"expect_catalog"`
}

type caseRequest struct {
	HTTPStatus    int               `json:"http_status"`
	Headers       map[string]string `json:"headers"`
	Body          *string           `json:"body"`
	BodyJSON      json.RawMessage   `json:"body_json"`
	Endpoint      *caseEndpoint     `json:"endpoint"`
	GrantedScopes []string          `json:"granted_scopes"`
	AccessToken   string            `json:"access_token"`
	AppType       string            `json:"app_type"`
	ClientID      string            `json:"client_id"`
	RedirectURI   string            `json:"redirect_uri"`
}

type caseEndpoint struct {
	Method string `json:"method"`
	Path   string `json:"path"`
}

type caseFacts struct {
	GrantedKnown     *bool          `json:"granted_known"`
	GrantedFromToken bool           `json:"granted_from_token"`
	Credential       caseCredential `json:"credential"`
	Now              string         `json:"now"`
	AccountTimeZone  string         `json:"account_time_zone"`
	Catalog          *caseCatalog   `json:"catalog"`
}

type caseCredential struct {
	Type          string `json:"type"`
	DoubledBearer bool   `json:"doubled_bearer"`
}

type caseCatalog struct {
	Operation    json.RawMessage `json:"operation"`
	Alternatives [][]string      `json:"alternatives"`
}

// caseExpect is what a case asserts. Every field is checked; an absent
// field expects the zero value, except those marked optional.
type caseExpect struct {
	RootCause      string   `json:"root_cause"`
	Category       string   `json:"category"`
	Requirement    string   `json:"requirement"`
	RequiredScopes []string `json:"required_scopes"`
	MissingScopes  []string `json:"missing_scopes"`
	Actions        []string `json:"actions"`
	Retryable      bool     `json:"retryable"`
	RetryAfter     string   `json:"retry_after"`
	CatalogAgrees  bool     `json:"catalog_agrees"`
	// Optional checks.
	CorrelationID     *string  `json:"correlation_id"`
	SubCategory       *string  `json:"sub_category"`
	TokenExpiredAt    *string  `json:"token_expired_at"`
	SummaryContains   []string `json:"summary_contains"`
	MessageContains   []string `json:"message_contains"`
	URLContains       []string `json:"url_contains"`
	RemediationScopes []string `json:"remediation_scopes"`
	NeverEcho         []string `json:"never_echo"`
}

// result is the comparable projection of a response.
type result struct {
	RootCause      string
	Category       string
	Requirement    string
	RequiredScopes []string
	MissingScopes  []string
	Actions        []string
	Retryable      bool
	RetryAfter     string
	CatalogAgrees  bool
}

func project(r *scopeguardv1.ExplainErrorResponse) result {
	out := result{
		RootCause:      r.GetRootCause().String(),
		Category:       r.GetCategory(),
		Requirement:    r.GetRequirement().String(),
		RequiredScopes: r.GetRequiredScopes(),
		MissingScopes:  r.GetMissingScopes(),
		Retryable:      r.GetRetryable(),
		CatalogAgrees:  r.GetCatalogAgrees(),
	}
	if r.GetRetryAfter() != nil {
		out.RetryAfter = r.GetRetryAfter().AsDuration().String()
	}
	for _, rem := range r.GetRemediations() {
		out.Actions = append(out.Actions, rem.GetAction().String())
	}
	return out
}

func (e caseExpect) result() result {
	req := e.Requirement
	if req == "" {
		req = scopeguardv1.Requirement_REQUIREMENT_UNSPECIFIED.String()
	}
	return result{
		RootCause:      e.RootCause,
		Category:       e.Category,
		Requirement:    req,
		RequiredScopes: e.RequiredScopes,
		MissingScopes:  e.MissingScopes,
		Actions:        e.Actions,
		Retryable:      e.Retryable,
		RetryAfter:     e.RetryAfter,
		CatalogAgrees:  e.CatalogAgrees,
	}
}

// body returns the request body as the gRPC request would carry it.
func (r caseRequest) body(t *testing.T) string {
	t.Helper()
	if r.Body != nil && len(r.BodyJSON) > 0 {
		t.Fatal("give body or body_json, not both")
	}
	if r.Body != nil {
		return *r.Body
	}
	if len(r.BodyJSON) == 0 {
		return ""
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, r.BodyJSON); err != nil {
		t.Fatalf("body_json: %v", err)
	}
	return buf.String()
}

// input builds the Diagnose input of a case; withCatalog adds the catalog
// facts.
func (c corpusCase) input(t *testing.T, withCatalog bool) Input {
	t.Helper()
	in := Input{
		HTTPStatus:       c.Request.HTTPStatus,
		Body:             c.Request.body(t),
		Headers:          c.Request.Headers,
		GrantedScopes:    c.Request.GrantedScopes,
		GrantedKnown:     len(c.Request.GrantedScopes) > 0,
		GrantedFromToken: c.Facts.GrantedFromToken,
		ScopeFacts:       sharedScopeFacts(t),
		ClientID:         c.Request.ClientID,
		RedirectURI:      c.Request.RedirectURI,
		Now:              time.Date(2026, 9, 1, 12, 0, 0, 0, time.UTC),
	}
	if c.Facts.GrantedKnown != nil {
		in.GrantedKnown = *c.Facts.GrantedKnown
	}
	if c.Request.AccessToken != "" {
		in.Secrets = []string{c.Request.AccessToken}
	}
	if c.Request.AppType != "" {
		v, ok := scopeguardv1.AppType_value[c.Request.AppType]
		if !ok {
			t.Fatalf("unknown app_type %q", c.Request.AppType)
		}
		in.AppType = scopeguardv1.AppType(v)
	}
	if c.Request.Endpoint != nil {
		in.Endpoint = &scopeguardv1.Endpoint{Method: c.Request.Endpoint.Method, Path: c.Request.Endpoint.Path}
	}
	if ct := c.Facts.Credential.Type; ct != "" {
		v, ok := scopeguardv1.CredentialType_value[ct]
		if !ok {
			t.Fatalf("unknown credential type %q", ct)
		}
		in.Credential.Type = scopeguardv1.CredentialType(v)
	}
	in.Credential.DoubledBearer = c.Facts.Credential.DoubledBearer
	if c.Facts.Now != "" {
		now, err := time.Parse(time.RFC3339, c.Facts.Now)
		if err != nil {
			t.Fatalf("facts.now: %v", err)
		}
		in.Now = now
	}
	if c.Facts.AccountTimeZone != "" {
		loc, err := time.LoadLocation(c.Facts.AccountTimeZone)
		if err != nil {
			t.Fatalf("facts.account_time_zone: %v", err)
		}
		in.AccountTimeZone = loc
	}
	if withCatalog {
		op := &scopeguardv1.Operation{}
		if len(c.Facts.Catalog.Operation) > 0 {
			if err := protojson.Unmarshal(c.Facts.Catalog.Operation, op); err != nil {
				t.Fatalf("facts.catalog.operation: %v", err)
			}
		}
		in.Catalog = &EndpointFacts{Operation: op, Alternatives: c.Facts.Catalog.Alternatives}
	}
	return in
}

// expectation decodes expect, overlaid with expect_catalog when asked.
func (c corpusCase) expectation(t *testing.T, withCatalog bool) caseExpect {
	t.Helper()
	merged := map[string]json.RawMessage{}
	if err := json.Unmarshal(c.Expect, &merged); err != nil {
		t.Fatalf("expect: %v", err)
	}
	if withCatalog && len(c.ExpectCatalog) > 0 {
		var over map[string]json.RawMessage
		if err := json.Unmarshal(c.ExpectCatalog, &over); err != nil {
			t.Fatalf("expect_catalog: %v", err)
		}
		for k, v := range over {
			merged[k] = v
		}
	}
	raw, err := json.Marshal(merged)
	if err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	var e caseExpect
	if err := dec.Decode(&e); err != nil {
		t.Fatalf("expect: %v", err)
	}
	return e
}

func loadCorpus(t *testing.T) map[string]corpusCase {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("testdata", "cases", "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	cases := map[string]corpusCase{}
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.DisallowUnknownFields()
		var c corpusCase
		if err := dec.Decode(&c); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		cases[strings.TrimSuffix(filepath.Base(f), ".json")] = c
	}
	return cases
}

func TestCorpus(t *testing.T) {
	t.Parallel()
	cases := loadCorpus(t)
	if len(cases) < 40 {
		t.Errorf("corpus has %d cases, want at least 40", len(cases))
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			if !strings.HasPrefix(c.Source, "https://") {
				t.Errorf("source %q is not a URL", c.Source)
			}
			runs := []bool{false}
			if c.Facts.Catalog != nil {
				runs = append(runs, true)
			} else if len(c.ExpectCatalog) > 0 {
				t.Fatal("expect_catalog without facts.catalog")
			}
			for _, withCatalog := range runs {
				label := "without catalog"
				if withCatalog {
					label = "with catalog"
				}
				in := c.input(t, withCatalog)
				want := c.expectation(t, withCatalog)
				res := Diagnose(in)
				got := res.Response
				if diff := cmp.Diff(want.result(), project(got)); diff != "" {
					t.Errorf("%s: mismatch (-want +got):\n%s\nsummary: %s", label, diff, got.GetSummary())
				}
				checkOptional(t, label, want, got, c.Request.AccessToken)
				if withCatalog != res.Catalog.Checked {
					t.Errorf("%s: Catalog.Checked = %v", label, res.Catalog.Checked)
				}
				if res.Catalog.Agrees != got.GetCatalogAgrees() || (!res.Catalog.Agrees && withCatalog && res.Catalog.Reason == "") {
					t.Errorf("%s: catalog check %+v inconsistent with response", label, res.Catalog)
				}
				if got.GetSummary() == "" || len(got.GetRemediations()) == 0 {
					t.Errorf("%s: empty summary or remediations", label)
				}
			}
		})
	}
}

func checkOptional(t *testing.T, label string, want caseExpect, got *scopeguardv1.ExplainErrorResponse, token string) {
	t.Helper()
	if want.CorrelationID != nil && *want.CorrelationID != got.GetCorrelationId() {
		t.Errorf("%s: correlation id = %q, want %q", label, got.GetCorrelationId(), *want.CorrelationID)
	}
	if want.SubCategory != nil && *want.SubCategory != got.GetSubCategory() {
		t.Errorf("%s: sub category = %q, want %q", label, got.GetSubCategory(), *want.SubCategory)
	}
	if want.TokenExpiredAt != nil {
		gotAt := ""
		if got.GetTokenExpiredAt() != nil {
			gotAt = got.GetTokenExpiredAt().AsTime().Format(time.RFC3339Nano)
		}
		if gotAt != *want.TokenExpiredAt {
			t.Errorf("%s: token_expired_at = %q, want %q", label, gotAt, *want.TokenExpiredAt)
		}
	}
	for _, s := range want.SummaryContains {
		if !strings.Contains(strings.ToLower(got.GetSummary()), strings.ToLower(s)) {
			t.Errorf("%s: summary %q does not mention %q", label, got.GetSummary(), s)
		}
	}
	for _, s := range want.MessageContains {
		if !strings.Contains(got.GetMessage(), s) {
			t.Errorf("%s: message %q does not contain %q", label, got.GetMessage(), s)
		}
	}
	var urls []string
	var remScopes []string
	for _, r := range got.GetRemediations() {
		if r.GetUrl() != "" {
			urls = append(urls, r.GetUrl())
		}
		remScopes = append(remScopes, r.GetScopes()...)
	}
	for _, s := range want.URLContains {
		if !strings.Contains(strings.Join(urls, " "), s) {
			t.Errorf("%s: remediation urls %q do not contain %q", label, urls, s)
		}
	}
	for _, s := range want.RemediationScopes {
		if !slices.Contains(remScopes, s) {
			t.Errorf("%s: remediation scopes %q lack %q", label, remScopes, s)
		}
	}
	wire, err := protojson.Marshal(got)
	if err != nil {
		t.Fatal(err)
	}
	never := want.NeverEcho
	if token != "" {
		never = append(never, token)
	}
	for _, s := range never {
		if strings.Contains(string(wire), s) {
			t.Errorf("%s: response echoes %q", label, s)
		}
	}
}

// sharedScopeFacts reads ../shared/hubspot/scopes.json (relative to the
// repository root), the same table the catalog embeds.
var sharedScopeFacts = func() func(t testing.TB) ScopeFacts {
	var once sync.Once
	var facts map[string]ScopeFact
	var loadErr error
	return func(t testing.TB) ScopeFacts {
		t.Helper()
		once.Do(func() {
			raw, err := os.ReadFile(filepath.Join("..", "..", "..", "shared", "hubspot", "scopes.json"))
			if err != nil {
				loadErr = err
				return
			}
			var rows []struct {
				Name     string `json:"name"`
				Kind     string `json:"kind"`
				Requires string `json:"requires"`
			}
			if err := json.Unmarshal(raw, &rows); err != nil {
				loadErr = err
				return
			}
			facts = make(map[string]ScopeFact, len(rows))
			for _, r := range rows {
				facts[r.Name] = ScopeFact{Kind: r.Kind, TierNote: r.Requires}
			}
		})
		if loadErr != nil {
			t.Fatalf("scope facts: %v", loadErr)
		}
		return func(name string) (ScopeFact, bool) {
			f, ok := facts[name]
			return f, ok
		}
	}
}()
