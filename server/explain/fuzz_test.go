package explain

import (
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	scopeguardv1 "github.com/eshopman/scopeguard/gen/scopeguard/v1"
)

// fuzzSecret is a token the fuzzer may place anywhere; it must never come
// back in a response.
const fuzzSecret = "pat-na1-0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"

// FuzzParse feeds arbitrary statuses, bodies and a header to Parse and
// Diagnose. The seed corpus in testdata/fuzz/FuzzParse holds every shape of
// the case corpus plus malformed variants. The oracle flags only real
// defects: a status out of range, unbounded results, a call read from text
// that is not a method and a bare path, a time no Timestamp can carry, an
// answer without a cause, confidence, summary or remediation, an answer
// that does not marshal (binary or JSON), and an echoed token.
func FuzzParse(f *testing.F) {
	catalog := &EndpointFacts{
		Operation: &scopeguardv1.Operation{
			Method: "GET", PathTemplate: "/crm/v3/objects/deals", ObjectType: "deals",
			AcceptedAppTypes: []scopeguardv1.AppType{scopeguardv1.AppType_APP_TYPE_PUBLIC, scopeguardv1.AppType_APP_TYPE_PRIVATE},
		},
		Alternatives: [][]string{{"crm.objects.deals.read"}, {"crm.objects.deals.sensitive.read.v2"}},
	}
	now := time.Date(2026, 9, 1, 12, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, status int, body, headerName, headerValue string) {
		headers := map[string]string{headerName: headerValue}
		p := Parse(status, body, headers)
		if p.HTTPStatus != 0 && (p.HTTPStatus < 100 || p.HTTPStatus > 599) {
			t.Fatalf("status %d out of range", p.HTTPStatus)
		}
		if len(p.Message) > maxMessageLen+len("…") || len(p.Details) > maxDetails || len(p.RequiredScopes) > maxScopes || len(p.Fields) > maxFields {
			t.Fatalf("unbounded result: message %d, details %d, scopes %d, fields %d", len(p.Message), len(p.Details), len(p.RequiredScopes), len(p.Fields))
		}
		if !slices.Contains([]string{"", "GET", "POST", "PUT", "PATCH", "DELETE"}, p.RequestMethod) {
			t.Fatalf("request method %q", p.RequestMethod)
		}
		if path := p.RequestPath; path != "" && (path[0] != '/' || strings.ContainsAny(path, "?# \t\n\r") || len(path) > 1+1000) {
			t.Fatalf("request path %q is not a bare path", path)
		}
		if (p.Endpoint() == nil) != (p.RequestPath == "") {
			t.Fatalf("endpoint %v for method %q path %q", p.Endpoint(), p.RequestMethod, p.RequestPath)
		}
		for _, at := range []time.Time{p.ExpiredAt, p.ReportedAt} {
			if !at.IsZero() && !representable(at) {
				t.Fatalf("time %v cannot be a Timestamp", at)
			}
		}
		for _, in := range []Input{
			{Parsed: p, HTTPStatus: status},
			{
				Parsed: p, HTTPStatus: status, Endpoint: &scopeguardv1.Endpoint{Method: "GET", Path: "/crm/v3/objects/deals/1"},
				Catalog: catalog, GrantedScopes: []string{"crm.objects.contacts.read", "oauth"}, GrantedKnown: true,
				AppType: scopeguardv1.AppType_APP_TYPE_PUBLIC, ClientID: "client", Now: now, Secrets: []string{fuzzSecret},
			},
		} {
			r := Diagnose(in).Response
			if r.GetRootCause() == scopeguardv1.RootCause_ROOT_CAUSE_UNSPECIFIED || r.GetConfidence() == scopeguardv1.Confidence_CONFIDENCE_UNSPECIFIED ||
				r.GetSummary() == "" || len(r.GetRemediations()) == 0 {
				t.Fatalf("incomplete answer: %v %v %q %d remediations", r.GetRootCause(), r.GetConfidence(), r.GetSummary(), len(r.GetRemediations()))
			}
			if !utf8.ValidString(body) || !utf8.ValidString(headerName) || !utf8.ValidString(headerValue) {
				continue
			}
			if _, err := proto.Marshal(r); err != nil {
				t.Fatalf("response does not marshal: %v", err)
			}
			// The token is looked for in JSON, not in the wire format: a
			// length byte between two fields can spell part of it, a quote
			// cannot.
			text, err := protojson.Marshal(r)
			if err != nil {
				t.Fatalf("response does not marshal as JSON: %v", err)
			}
			if len(in.Secrets) > 0 && strings.Contains(string(text), fuzzSecret) {
				t.Fatal("response echoes the token")
			}
		}
	})
}
