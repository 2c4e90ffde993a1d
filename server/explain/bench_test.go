package explain_test

import (
	"strings"
	"testing"
	"time"

	scopeguardv1 "github.com/eshopman/scopeguard/gen/scopeguard/v1"
	"github.com/eshopman/scopeguard/server/explain"
	"github.com/eshopman/scopeguard/server/explain/explaintest"
)

// bench403 is a typical 1 KiB 403: HubSpot's MISSING_SCOPES object for a
// line-items write, whose errors[] lists the union HubSpot checks.
const bench403 = `{"status":"error","message":"This app hasn't been granted all required scopes to make this call. Read more about required scopes here: https://developers.hubspot.com/scopes.","correlationId":"8f1c3a2e-7b44-4c1e-9d0a-3e5b6f7a8c9d","errors":[{"message":"One or more of the following scopes are required.","context":{"requiredGranularScopes":["crm.objects.line_items.write","e-commerce","crm.objects.line_items.read","crm.schemas.line_items.read","crm.objects.deals.write","crm.objects.deals.sensitive.write.v2","crm.objects.deals.highly_sensitive.write.v2","crm.objects.quotes.write","crm.objects.products.write","crm.objects.orders.write","crm.objects.carts.write","crm.objects.invoices.write","crm.objects.subscriptions.write","crm.objects.commercepayments.write","crm.objects.companies.write","tickets","crm.objects.leads.write","crm.objects.custom.write","crm.objects.contacts.write"]}}],"links":{"scopes":"https://developers.hubspot.com/scopes"},"category":"MISSING_SCOPES"}`

var benchHeaders = map[string]string{
	"Content-Type":                              "application/json;charset=utf-8",
	"Date":                                      "Tue, 01 Sep 2026 12:00:00 GMT",
	"X-HubSpot-Correlation-Id":                  "8f1c3a2e-7b44-4c1e-9d0a-3e5b6f7a8c9d",
	"X-HubSpot-RateLimit-Max":                   "190",
	"X-HubSpot-RateLimit-Remaining":             "189",
	"X-HubSpot-RateLimit-Interval-Milliseconds": "10000",
	"CF-Ray": "709484709bad8251-IAD",
	"Vary":   "origin, Accept-Encoding",
}

func benchInput(b *testing.B) explain.Input {
	b.Helper()
	if n := len(bench403); n < 900 || n > 1100 {
		b.Fatalf("bench body is %d bytes, want about 1 KiB", n)
	}
	return explain.Input{
		HTTPStatus: 403,
		Body:       bench403,
		Headers:    benchHeaders,
		Endpoint:   &scopeguardv1.Endpoint{Method: "POST", Path: "/crm/v3/objects/line_items"},
		Catalog: &explain.EndpointFacts{
			Operation: &scopeguardv1.Operation{
				Method: "POST", PathTemplate: "/crm/v3/objects/line_items", Api: "CRM/Line Items", Version: "v3",
				ObjectType: "line_items", AcceptedAppTypes: []scopeguardv1.AppType{scopeguardv1.AppType_APP_TYPE_PUBLIC, scopeguardv1.AppType_APP_TYPE_PRIVATE},
			},
			Alternatives: [][]string{{"crm.objects.line_items.write"}, {"crm.objects.line_items.write", "e-commerce"}},
		},
		GrantedScopes: []string{"oauth", "crm.objects.contacts.read", "crm.objects.contacts.write", "crm.objects.deals.read", "crm.objects.line_items.read", "crm.objects.products.read"},
		GrantedKnown:  true,
		AppType:       scopeguardv1.AppType_APP_TYPE_PUBLIC,
		ScopeFacts:    explaintest.ScopeFacts(),
		ClientID:      "sg-test-client",
		RedirectURI:   "https://shop.example/hubspot/callback",
		Now:           time.Date(2026, 9, 1, 12, 0, 0, 0, time.UTC),
		Secrets:       []string{"CJSP5qf1KhICAQEYs-gDIIGOBii1hQIyGQAf3xBKmlwHjX7OIpuIFEavB2-qYAGQsF4"},
	}
}

// BenchmarkParseExplain403 is ExplainError's domain work on a typical
// 1 KiB 403 body: parse, diagnose, build the response.
func BenchmarkParseExplain403(b *testing.B) {
	in := benchInput(b)
	if got := explain.Explain(in).GetRootCause(); got != scopeguardv1.RootCause_ROOT_CAUSE_SCOPE_NOT_GRANTED {
		b.Fatalf("root cause %v", got)
	}
	b.ReportAllocs()
	defer reportCPU(b)()
	for b.Loop() {
		explain.Explain(in)
	}
}

// reportCPU adds a cpu-ns/op metric: process CPU time per iteration
// (including the garbage collector's), steadier than ns/op on a busy
// machine. Call as defer reportCPU(b)().
func reportCPU(b *testing.B) func() {
	start, ok := processCPU()
	return func() {
		end, ok2 := processCPU()
		if ok && ok2 && b.N > 0 {
			b.ReportMetric(float64(end-start)/float64(b.N), "cpu-ns/op")
		}
	}
}

// BenchmarkDiagnose403 is the diagnosis alone, on the same body parsed
// once beforehand.
func BenchmarkDiagnose403(b *testing.B) {
	in := benchInput(b)
	in.Parsed = explain.Parse(in.HTTPStatus, in.Body, in.Headers)
	b.ReportAllocs()
	defer reportCPU(b)()
	for b.Loop() {
		explain.Explain(in)
	}
}

// BenchmarkParse403 is the parser alone on the same body.
func BenchmarkParse403(b *testing.B) {
	b.ReportAllocs()
	defer reportCPU(b)()
	for b.Loop() {
		explain.Parse(403, bench403, benchHeaders)
	}
}

// BenchmarkParseExplain1MiBText bounds the worst case: a 1 MiB text body
// full of bracketed lists and braces.
func BenchmarkParseExplain1MiBText(b *testing.B) {
	body := strings.Repeat("requires any of [a.b, c.d] {x ", (1<<20)/31)
	b.ReportAllocs()
	defer reportCPU(b)()
	for b.Loop() {
		explain.Explain(explain.Input{HTTPStatus: 403, Body: body})
	}
}
