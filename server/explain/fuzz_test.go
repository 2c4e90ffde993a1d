package explain

import (
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"google.golang.org/protobuf/encoding/protojson"

	scopeguardv1 "github.com/eshopman/scopeguard/gen/scopeguard/v1"
)

// fuzzSecret is a token the fuzzer may place anywhere; it must never come
// back in a response.
const fuzzSecret = "pat-na1-0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"

// FuzzParse feeds arbitrary statuses, bodies and a header to Parse and
// Diagnose. The seed corpus in testdata/fuzz/FuzzParse holds every shape of
// the case corpus plus malformed variants.
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
		for _, in := range []Input{
			{Parsed: p, HTTPStatus: status},
			{
				Parsed: p, HTTPStatus: status, Endpoint: &scopeguardv1.Endpoint{Method: "GET", Path: "/crm/v3/objects/deals/1"},
				Catalog: catalog, GrantedScopes: []string{"crm.objects.contacts.read", "oauth"}, GrantedKnown: true,
				AppType: scopeguardv1.AppType_APP_TYPE_PUBLIC, ClientID: "client", Now: now, Secrets: []string{fuzzSecret},
			},
		} {
			r := Diagnose(in).Response
			if r.GetRootCause() == scopeguardv1.RootCause_ROOT_CAUSE_UNSPECIFIED || r.GetSummary() == "" || len(r.GetRemediations()) == 0 {
				t.Fatalf("incomplete answer: %v %q %d remediations", r.GetRootCause(), r.GetSummary(), len(r.GetRemediations()))
			}
			if !utf8.ValidString(body) || !utf8.ValidString(headerName) || !utf8.ValidString(headerValue) {
				continue
			}
			// JSON, not the wire format: a length byte between two
			// fields can spell part of the token, a quote cannot.
			wire, err := protojson.Marshal(r)
			if err != nil {
				t.Fatalf("response does not marshal: %v", err)
			}
			if len(in.Secrets) > 0 && strings.Contains(string(wire), fuzzSecret) {
				t.Fatal("response echoes the token")
			}
		}
	})
}
