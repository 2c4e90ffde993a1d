package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/testing/protocmp"

	scopeguardv1 "github.com/eshopman/scopeguard/gen/scopeguard/v1"
)

func TestOfflineCommands(t *testing.T) {
	t.Parallel()
	runCases(t, []cliCase{
		{
			name:     "check allowed",
			args:     []string{"check", "GET", "/crm/v3/objects/contacts", "--scopes", "crm.objects.contacts.read"},
			wantCode: exitOK,
			wantOut:  []string{"ALLOWED", "allowed by crm.objects.contacts.read", "allowed: yes"},
		},
		{
			name:     "check with flags before and after endpoints",
			args:     []string{"check", "--app-type", "private", "GET", "/crm/v3/objects/contacts", "--scopes", "crm.objects.contacts.sensitive.read"},
			wantCode: exitOK,
			wantOut:  []string{"allowed by crm.objects.contacts.sensitive.read"},
		},
		{
			name:     "check not allowed exits 1 and names the scopes to add",
			args:     []string{"check", "--scopes", "crm.objects.contacts.read,oauth", "POST", "https://api.hubapi.com/crm/v3/objects/0-3/search"},
			wantCode: exitNotAllowed,
			wantOut:  []string{"MISSING_SCOPES", "crm.objects.deals.read", "allowed: no; add: crm.objects.deals.read"},
		},
		{
			name:     "check unknown endpoint suggests",
			args:     []string{"check", "GET", "/crm/v3/objectz/contacts"},
			wantCode: exitNotAllowed,
			wantOut:  []string{"UNKNOWN_ENDPOINT", "closest: GET /crm/v3/objects/contacts"},
		},
		{
			name:     "check reports unknown scope names",
			args:     []string{"check", "GET", "/crm/v3/objects/contacts", "--scopes", "crm.objects.contacts.read crm.objcts.deals.read"},
			wantCode: exitOK,
			wantOut:  []string{"unknown scope names (typos?): crm.objcts.deals.read"},
		},
		{
			name:     "check refuses a foreign host",
			args:     []string{"check", "GET", "https://evil.example/crm/v3/objects/contacts"},
			wantCode: exitUsage,
			wantErr:  "endpoints[0].path: host \"evil.example\" is not a HubSpot API host",
		},
		{
			name:     "check refuses an odd argument count",
			args:     []string{"check", "GET"},
			wantCode: exitUsage,
			wantErr:  "METHOD PATH pairs",
		},
		{
			name:     "check refuses a bad method",
			args:     []string{"check", "FETCH", "/crm/v3/objects/contacts"},
			wantCode: exitUsage,
			wantErr:  "endpoints[0].method: does not match regex pattern `^(?i:GET|POST|PUT|PATCH|DELETE|HEAD)$`",
		},
		{
			name:     "check in the basic view names the scopes, without explanations",
			args:     []string{"check", "--view", "basic", "--scopes", "crm.objects.contacts.read", "GET", "/crm/v3/objects/contacts", "POST", "/crm/v3/objects/deals/search"},
			wantCode: exitNotAllowed,
			wantOut: []string{
				"ALLOWED              GET /crm/v3/objects/contacts\n  allowed by crm.objects.contacts.read\n",
				"MISSING_SCOPES       POST /crm/v3/objects/deals/search\n  missing crm.objects.deals.read\nallowed: no; add: crm.objects.deals.read\n",
			},
		},
		{
			name:     "check refuses an unknown view",
			args:     []string{"check", "--view", "wide", "GET", "/crm/v3/objects/contacts"},
			wantCode: exitUsage,
			wantErr:  `--view "wide"`,
		},
		{
			name:     "check refuses a bad app type",
			args:     []string{"check", "--app-type", "robot", "GET", "/crm/v3/objects/contacts"},
			wantCode: exitUsage,
			wantErr:  "--app-type",
		},
		{
			name: "plan the issue's acceptance case with an install URL",
			args: []string{"plan", "GET", "/crm/v3/objects/contacts", "PATCH", "/crm/v3/objects/contacts/5", "POST", "/crm/v3/objects/deals/search",
				"--client-id", "abc", "--redirect-uri", "https://shop.example/cb", "--optional", "GET /crm/v3/objects/line_items/1"},
			wantCode: exitOK,
			wantOut: []string{
				"required scopes: crm.objects.contacts.read crm.objects.contacts.write crm.objects.deals.read\n",
				"optional scopes: crm.objects.line_items.read\n",
				"install URL: https://app.hubspot.com/oauth/authorize?client_id=abc&optional_scope=crm.objects.line_items.read&redirect_uri=https%3A%2F%2Fshop.example%2Fcb&scope=crm.objects.contacts.read%20crm.objects.contacts.write%20crm.objects.deals.read\n",
			},
		},
		{
			name:     "plan in the basic view keeps the plan",
			args:     []string{"plan", "--view", "basic", "GET", "/crm/v3/objects/contacts", "--optional", "GET /crm/v3/objects/line_items/1"},
			wantCode: exitOK,
			wantOut: []string{
				"required scopes: crm.objects.contacts.read\noptional scopes: crm.objects.line_items.read\n",
				"ALLOWED              GET /crm/v3/objects/contacts\n  allowed by crm.objects.contacts.read\nALLOWED              GET /crm/v3/objects/line_items/1\n  allowed by crm.objects.line_items.read\n",
			},
		},
		{
			name:     "plan with an unknown endpoint exits 1",
			args:     []string{"plan", "GET", "/crm/v3/objects/contacts", "GET", "/nope/v9/things"},
			wantCode: exitNotAllowed,
			wantOut:  []string{"required scopes: crm.objects.contacts.read\n", "UNKNOWN_ENDPOINT"},
		},
		{
			name:     "plan refuses a malformed optional endpoint",
			args:     []string{"plan", "GET", "/crm/v3/objects/contacts", "--optional", "GET"},
			wantCode: exitUsage,
			wantErr:  `want "METHOD PATH"`,
		},
	})
}

// TestCheckJSONIsTheResponse proves --json prints the exact CheckScopes
// response: it parses back into the message the service returns.
func TestCheckJSONIsTheResponse(t *testing.T) {
	t.Parallel()
	args := []string{"GET", "/crm/v3/objects/contacts", "POST", "/crm/v3/objects/deals/search"}
	var stdout, stderr bytes.Buffer
	code, err := run(context.Background(), append([]string{"check", "--json", "--scopes", "crm.objects.contacts.read"}, args...), strings.NewReader(""), &stdout, &stderr)
	if err != nil || code != exitNotAllowed {
		t.Fatalf("check --json = %d, %v (stderr %s)", code, err, stderr.String())
	}
	var got scopeguardv1.CheckScopesResponse
	if err := protojson.Unmarshal(stdout.Bytes(), &got); err != nil {
		t.Fatalf("output is not a CheckScopesResponse: %v\n%s", err, stdout.String())
	}
	o, err := newOffline()
	if err != nil {
		t.Fatal(err)
	}
	want, err := o.svc.CheckScopes(context.Background(), &scopeguardv1.CheckScopesRequest{
		Endpoints:     []*scopeguardv1.Endpoint{{Method: "GET", Path: "/crm/v3/objects/contacts"}, {Method: "POST", Path: "/crm/v3/objects/deals/search"}},
		GrantedScopes: []string{"crm.objects.contacts.read"},
		AppType:       scopeguardv1.AppType_APP_TYPE_PUBLIC,
	})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, &got, protocmp.Transform()); diff != "" {
		t.Errorf("--json output differs from the service's response (-service +cli):\n%s", diff)
	}
}

func TestExplainCommand(t *testing.T) {
	t.Parallel()
	seed := `{"status":"error","message":"This app hasn't been granted all required scopes to make this call.","correlationId":"0b8f3c2e-6a1d-4f5e-9c3b-2d7e8f9a1b4c","errors":[{"message":"All of the following scopes are required.","context":{"requiredGranularScopes":["account-info.security.read"]}}],"category":"MISSING_SCOPES"}`
	file := filepath.Join(t.TempDir(), "body.json")
	if err := os.WriteFile(file, []byte(seed), 0o600); err != nil {
		t.Fatal(err)
	}
	seedArgs := []string{"--status", "403", "--method", "GET", "--path", "/account-info/v3/activity/audit-logs", "--scopes", "account-info.security.read,oauth"}
	runCases(t, []cliCase{
		{
			name:     "seed case from a file",
			args:     append([]string{"explain", "--body", "@" + file}, seedArgs...),
			wantCode: exitOK,
			wantOut:  []string{"SCOPE_GRANTED_BUT_FORBIDDEN (HubSpot: MISSING_SCOPES)", "Enterprise", "confidence: inferred", "correlation id: 0b8f3c2e-6a1d-4f5e-9c3b-2d7e8f9a1b4c", "catalog agrees: true"},
		},
		{
			name:     "no scopes and no endpoint: the answer says what was not checked",
			args:     []string{"explain", "--status", "403", "--body", seed},
			wantCode: exitOK,
			wantOut:  []string{"SCOPE_NOT_GRANTED", "not checked", "confidence: stated", "token's scopes: not checked", "catalog: not consulted"},
		},
		{
			name:     "the endpoint read from an SDK's text",
			args:     []string{"explain", "--scopes", "oauth", "--body", "403 Client Error: Forbidden for url: https://api.hubapi.com/crm/v3/objects/deals?limit=10"},
			wantCode: exitOK,
			wantOut:  []string{"SCOPE_NOT_GRANTED", "endpoint: GET /crm/v3/objects/deals", "missing scopes: crm.objects.deals.read", "confidence: inferred", "catalog agrees: true"},
		},
		{
			name:     "seed case from standard input",
			args:     append([]string{"explain", "--body", "-"}, seedArgs...),
			stdin:    seed,
			wantCode: exitOK,
			wantOut:  []string{"SCOPE_GRANTED_BUT_FORBIDDEN"},
		},
		{
			name:     "rate limit from a literal body and a header",
			args:     []string{"explain", "--status", "429", "--header", "Retry-After: 3", "--body", `{"status":"error","message":"You have reached your ten_secondly_rolling limit.","category":"RATE_LIMITS","policyName":"TEN_SECONDLY_ROLLING"}`},
			wantCode: exitOK,
			wantOut:  []string{"RATE_LIMITED", "retryable after 3s"},
		},
		{
			name:     "status out of range",
			args:     []string{"explain", "--status", "700", "--body", "x"},
			wantCode: exitUsage,
			wantErr:  "http_status: must be 0 (unknown) or an HTTP status from 100 to 599",
		},
		{
			name:     "malformed header",
			args:     []string{"explain", "--header", "Retry-After", "--body", "x"},
			wantCode: exitUsage,
			wantErr:  `want "Name: value"`,
		},
		{
			name:     "missing body file",
			args:     []string{"explain", "--status", "403", "--body", "@/nonexistent/body.json"},
			wantCode: exitUsage,
			wantErr:  "nonexistent",
		},
	})
}
