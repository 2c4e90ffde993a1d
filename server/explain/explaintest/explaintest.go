// Package explaintest reads the ExplainError case corpus
// (server/explain/testdata/cases; the format is in testdata/README.md there)
// and checks answers against it.
//
// The explain package's table test runs every case through Diagnose and the
// server's gRPC test runs the same files through
// ScopeGuardService.ExplainError. Both use this package's loader, request
// builders and comparison, so the two runs assert exactly the same things.
// It is test support: only tests import it.
package explaintest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/encoding/protojson"

	scopeguardv1 "github.com/eshopman/scopeguard/gen/scopeguard/v1"
	"github.com/eshopman/scopeguard/server/catalog"
	"github.com/eshopman/scopeguard/server/explain"
)

// DefaultNow is the clock of a case that gives no facts.now.
var DefaultNow = time.Date(2026, 9, 1, 12, 0, 0, 0, time.UTC)

// Case is one file of the corpus.
type Case struct {
	// Name is free text.
	Name string `json:"name"`
	// Source is the URL where the body's shape was seen.
	Source string `json:"source"`
	// Notes say why the case exists and what it pins.
	Notes string `json:"notes"`
	// Request is the ExplainErrorRequest, field for field.
	Request Request `json:"request"`
	// Facts are what the gRPC layer looks up elsewhere.
	Facts Facts `json:"facts"`
	// Expect is the answer without catalog facts.
	Expect json.RawMessage `json:"expect"`
	// ExpectCatalog overrides fields of Expect when the catalog knows the
	// endpoint (Facts.Catalog is given).
	ExpectCatalog json.RawMessage `json:"expect_catalog"`
	// KnownBug names a reported bug that makes some run of the case answer
	// differently from Expect; empty when none. Runs that mismatch are
	// skipped with it, and a case whose every run matches must drop it.
	KnownBug string `json:"known_bug"`
}

// Request is a case's ExplainErrorRequest.
type Request struct {
	// HTTPStatus is HubSpot's status; 0 means unknown (a pasted body).
	HTTPStatus int `json:"http_status"`
	// Headers are HubSpot's response headers.
	Headers map[string]string `json:"headers"`
	// Body is the body as text; give it or BodyJSON.
	Body *string `json:"body"`
	// BodyJSON is the body as a JSON value, sent compacted.
	BodyJSON json.RawMessage `json:"body_json"`
	// Endpoint is the call that failed; nil when not given.
	Endpoint *Endpoint `json:"endpoint"`
	// GrantedScopes are the scopes the caller says the token holds.
	GrantedScopes []string `json:"granted_scopes"`
	// AccessToken is a fake token; it must never come back in a response.
	AccessToken string `json:"access_token"`
	// AppType is an AppType enum name; empty means unspecified.
	AppType string `json:"app_type"`
	// ClientID is the public app's client id, for install URLs.
	ClientID string `json:"client_id"`
	// RedirectURI is the public app's redirect URI, for install URLs.
	RedirectURI string `json:"redirect_uri"`
}

// Endpoint is the HubSpot call that failed.
type Endpoint struct {
	// Method is the HTTP method.
	Method string `json:"method"`
	// Path is a bare path or a full URL.
	Path string `json:"path"`
}

// Facts are what the gRPC layer learns outside the request: from token
// introspection, the token's shape, its clock and the catalog.
type Facts struct {
	// GrantedKnown overrides "the grant is known iff granted_scopes is
	// non-empty".
	GrantedKnown *bool `json:"granted_known"`
	// GrantedFromToken is true when the granted scopes came from
	// introspecting the failing token itself.
	GrantedFromToken bool `json:"granted_from_token"`
	// Credential is what the token's shape says.
	Credential Credential `json:"credential"`
	// Now is the clock (RFC 3339); empty means DefaultNow.
	Now string `json:"now"`
	// AccountTimeZone is the HubSpot account's IANA time zone; empty means
	// unknown.
	AccountTimeZone string `json:"account_time_zone"`
	// Catalog is the catalog's entry for the request's endpoint; nil when the
	// catalog does not know it.
	Catalog *CatalogFacts `json:"catalog"`
}

// Credential is the kind of credential the token's shape shows.
type Credential struct {
	// Type is a CredentialType enum name; empty means unspecified.
	Type string `json:"type"`
	// DoubledBearer is true when the token itself starts with "Bearer ".
	DoubledBearer bool `json:"doubled_bearer"`
}

// CatalogFacts are the catalog's knowledge of a case's endpoint.
type CatalogFacts struct {
	// Operation is the matched entry, as protojson of scopeguard.v1.Operation.
	Operation json.RawMessage `json:"operation"`
	// Alternatives are the requirement alternatives for the request's app
	// type, least privileged first.
	Alternatives [][]string `json:"alternatives"`
}

// Expect is what a case asserts about the answer. Every field up to
// CatalogAgrees is always checked (an absent field expects the zero value);
// the others only when present.
type Expect struct {
	// RootCause, Category and Requirement are enum names or HubSpot's text
	// (an empty Requirement is REQUIREMENT_UNSPECIFIED).
	RootCause   string `json:"root_cause"`
	Category    string `json:"category"`
	Requirement string `json:"requirement"`
	// RequiredScopes and MissingScopes are compared in order.
	RequiredScopes []string `json:"required_scopes"`
	MissingScopes  []string `json:"missing_scopes"`
	// Actions are the remediations' actions, in order.
	Actions []string `json:"actions"`
	// Retryable and RetryAfter (Go duration text, "" = unset).
	Retryable  bool   `json:"retryable"`
	RetryAfter string `json:"retry_after"`
	// CatalogAgrees is always false without catalog facts.
	CatalogAgrees bool `json:"catalog_agrees"`

	// CorrelationID, SubCategory, TokenExpiredAt (RFC 3339), Confidence (an
	// enum name) and Endpoint ("METHOD PATH", the call the diagnosis is
	// about) must equal the answer's when present.
	CorrelationID  *string `json:"correlation_id"`
	SubCategory    *string `json:"sub_category"`
	TokenExpiredAt *string `json:"token_expired_at"`
	Confidence     *string `json:"confidence"`
	Endpoint       *string `json:"endpoint"`
	// SummaryContains are case-insensitive substrings of the summary.
	SummaryContains []string `json:"summary_contains"`
	// MessageContains are substrings of HubSpot's message as answered.
	MessageContains []string `json:"message_contains"`
	// URLContains are substrings of the remediations' URLs.
	URLContains []string `json:"url_contains"`
	// RemediationScopes must each appear in some remediation.
	RemediationScopes []string `json:"remediation_scopes"`
	// NeverEcho must not appear anywhere in the protojson answer (the
	// request's access token never may, listed or not).
	NeverEcho []string `json:"never_echo"`
}

// Load reads every case file (*.json) in dir, keyed by file name without
// the extension. Unknown fields are errors.
func Load(t testing.TB, dir string) map[string]Case {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatalf("no case files in %s", dir)
	}
	cases := make(map[string]Case, len(files))
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var c Case
		if err := decodeStrict(raw, &c); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		cases[strings.TrimSuffix(filepath.Base(f), ".json")] = c
	}
	return cases
}

func decodeStrict(raw []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	return dec.Decode(v)
}

// BodyText returns the body as the gRPC request carries it (body_json
// compacted).
func (r Request) BodyText(t testing.TB) string {
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

// AppTypeValue is the request's app type as the enum.
func (r Request) AppTypeValue(t testing.TB) scopeguardv1.AppType {
	t.Helper()
	if r.AppType == "" {
		return scopeguardv1.AppType_APP_TYPE_UNSPECIFIED
	}
	v, ok := scopeguardv1.AppType_value[r.AppType]
	if !ok {
		t.Fatalf("unknown app_type %q", r.AppType)
	}
	return scopeguardv1.AppType(v)
}

// CredentialType is the credential kind the facts give.
func (f Facts) CredentialType(t testing.TB) scopeguardv1.CredentialType {
	t.Helper()
	if f.Credential.Type == "" {
		return scopeguardv1.CredentialType_CREDENTIAL_TYPE_UNSPECIFIED
	}
	v, ok := scopeguardv1.CredentialType_value[f.Credential.Type]
	if !ok {
		t.Fatalf("unknown credential type %q", f.Credential.Type)
	}
	return scopeguardv1.CredentialType(v)
}

// Clock is the case's current time: facts.now, else DefaultNow.
func (f Facts) Clock(t testing.TB) time.Time {
	t.Helper()
	if f.Now == "" {
		return DefaultNow
	}
	now, err := time.Parse(time.RFC3339, f.Now)
	if err != nil {
		t.Fatalf("facts.now: %v", err)
	}
	return now
}

// CatalogOperation decodes facts.catalog.operation; nil when the case has
// no catalog facts.
func (f Facts) CatalogOperation(t testing.TB) *scopeguardv1.Operation {
	t.Helper()
	if f.Catalog == nil {
		return nil
	}
	op := &scopeguardv1.Operation{}
	if len(f.Catalog.Operation) > 0 {
		if err := protojson.Unmarshal(f.Catalog.Operation, op); err != nil {
			t.Fatalf("facts.catalog.operation: %v", err)
		}
	}
	return op
}

// Input builds the Diagnose input of a case; withCatalog adds the catalog
// facts. scopeFacts are the scope table's tier notes and kinds.
func (c Case) Input(t testing.TB, withCatalog bool, scopeFacts explain.ScopeFacts) explain.Input {
	t.Helper()
	in := explain.Input{
		HTTPStatus:       c.Request.HTTPStatus,
		Body:             c.Request.BodyText(t),
		Headers:          c.Request.Headers,
		GrantedScopes:    c.Request.GrantedScopes,
		GrantedKnown:     len(c.Request.GrantedScopes) > 0,
		GrantedFromToken: c.Facts.GrantedFromToken,
		AppType:          c.Request.AppTypeValue(t),
		ScopeFacts:       scopeFacts,
		ClientID:         c.Request.ClientID,
		RedirectURI:      c.Request.RedirectURI,
		Now:              c.Facts.Clock(t),
		Credential: explain.Credential{
			Type:          c.Facts.CredentialType(t),
			DoubledBearer: c.Facts.Credential.DoubledBearer,
		},
	}
	if c.Facts.GrantedKnown != nil {
		in.GrantedKnown = *c.Facts.GrantedKnown
	}
	if c.Request.AccessToken != "" {
		in.Secrets = []string{c.Request.AccessToken}
	}
	if ep := c.Request.Endpoint; ep != nil {
		in.Endpoint = &scopeguardv1.Endpoint{Method: ep.Method, Path: ep.Path}
	}
	if c.Facts.AccountTimeZone != "" {
		loc, err := time.LoadLocation(c.Facts.AccountTimeZone)
		if err != nil {
			t.Fatalf("facts.account_time_zone: %v", err)
		}
		in.AccountTimeZone = loc
	}
	if withCatalog {
		if c.Facts.Catalog == nil {
			t.Fatal("catalog facts asked for, but the case has no facts.catalog")
		}
		in.Catalog = &explain.EndpointFacts{Operation: c.Facts.CatalogOperation(t), Alternatives: c.Facts.Catalog.Alternatives}
	}
	return in
}

// ExplainErrorRequest builds the case's gRPC request, field for field.
func (c Case) ExplainErrorRequest(t testing.TB) *scopeguardv1.ExplainErrorRequest {
	t.Helper()
	r := c.Request
	req := &scopeguardv1.ExplainErrorRequest{
		HttpStatus:    int32(r.HTTPStatus),
		Body:          r.BodyText(t),
		Headers:       r.Headers,
		GrantedScopes: r.GrantedScopes,
		AccessToken:   r.AccessToken,
		AppType:       r.AppTypeValue(t),
		ClientId:      r.ClientID,
		RedirectUri:   r.RedirectURI,
	}
	if r.Endpoint != nil {
		req.Endpoint = &scopeguardv1.Endpoint{Method: r.Endpoint.Method, Path: r.Endpoint.Path}
	}
	return req
}

// Expectation decodes expect, overlaid with expect_catalog when withCatalog.
func (c Case) Expectation(t testing.TB, withCatalog bool) Expect {
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
	var e Expect
	if err := decodeStrict(raw, &e); err != nil {
		t.Fatalf("expect: %v", err)
	}
	return e
}

// result is the always-checked projection of an answer.
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

func (e Expect) result() result {
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

// Mismatches lists every way got differs from want; token is the request's
// access token, which must not appear anywhere in the answer.
func Mismatches(want Expect, got *scopeguardv1.ExplainErrorResponse, token string) []string {
	var out []string
	if diff := cmp.Diff(want.result(), project(got)); diff != "" {
		out = append(out, fmt.Sprintf("mismatch (-want +got):\n%s\nsummary: %s", diff, got.GetSummary()))
	}
	if want.CorrelationID != nil && *want.CorrelationID != got.GetCorrelationId() {
		out = append(out, fmt.Sprintf("correlation id = %q, want %q", got.GetCorrelationId(), *want.CorrelationID))
	}
	if want.SubCategory != nil && *want.SubCategory != got.GetSubCategory() {
		out = append(out, fmt.Sprintf("sub category = %q, want %q", got.GetSubCategory(), *want.SubCategory))
	}
	if want.Confidence != nil && *want.Confidence != got.GetConfidence().String() {
		out = append(out, fmt.Sprintf("confidence = %s, want %s", got.GetConfidence(), *want.Confidence))
	}
	if want.Endpoint != nil {
		gotEP := ""
		if ep := got.GetEndpoint(); ep != nil {
			gotEP = ep.GetMethod() + " " + ep.GetPath()
		}
		if gotEP != *want.Endpoint {
			out = append(out, fmt.Sprintf("endpoint = %q, want %q", gotEP, *want.Endpoint))
		}
	}
	if want.TokenExpiredAt != nil {
		gotAt := ""
		if got.GetTokenExpiredAt() != nil {
			gotAt = got.GetTokenExpiredAt().AsTime().Format(time.RFC3339Nano)
		}
		if gotAt != *want.TokenExpiredAt {
			out = append(out, fmt.Sprintf("token_expired_at = %q, want %q", gotAt, *want.TokenExpiredAt))
		}
	}
	for _, s := range want.SummaryContains {
		if !strings.Contains(strings.ToLower(got.GetSummary()), strings.ToLower(s)) {
			out = append(out, fmt.Sprintf("summary %q does not mention %q", got.GetSummary(), s))
		}
	}
	for _, s := range want.MessageContains {
		if !strings.Contains(got.GetMessage(), s) {
			out = append(out, fmt.Sprintf("message %q does not contain %q", got.GetMessage(), s))
		}
	}
	var urls, remScopes []string
	for _, r := range got.GetRemediations() {
		if r.GetUrl() != "" {
			urls = append(urls, r.GetUrl())
		}
		remScopes = append(remScopes, r.GetScopes()...)
	}
	for _, s := range want.URLContains {
		if !strings.Contains(strings.Join(urls, " "), s) {
			out = append(out, fmt.Sprintf("remediation urls %q do not contain %q", urls, s))
		}
	}
	for _, s := range want.RemediationScopes {
		if !slices.Contains(remScopes, s) {
			out = append(out, fmt.Sprintf("remediation scopes %q lack %q", remScopes, s))
		}
	}
	wire, err := protojson.Marshal(got)
	if err != nil {
		return append(out, fmt.Sprintf("response does not marshal: %v", err))
	}
	never := slices.Clone(want.NeverEcho)
	if token != "" {
		never = append(never, token)
	}
	for _, s := range never {
		if strings.Contains(string(wire), s) {
			out = append(out, fmt.Sprintf("response echoes %q", s))
		}
	}
	return out
}

// ScopeFacts looks scope names up in the embedded catalog's scope table,
// as the server does: the corpus needs nothing outside the repository.
func ScopeFacts() explain.ScopeFacts { return explain.CatalogScopeFacts(catalog.Default()) }
