package main

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/testing/protocmp"

	scopeguardv1 "github.com/eshopman/scopeguard/gen/scopeguard/v1"
)

func TestOfflineCommands(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		args     []string
		wantCode int
		wantErr  string
		wantOut  []string
	}{
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
			wantErr:  "endpoints[0].method: does not match regex pattern `^(?i:GET|POST|PUT|PATCH|DELETE|HEAD|OPTIONS)$`",
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
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var stdout, stderr bytes.Buffer
			code, err := run(context.Background(), tt.args, &stdout, &stderr)
			if code != tt.wantCode {
				t.Errorf("exit code = %d, want %d\nstdout:\n%s\nstderr:\n%s", code, tt.wantCode, stdout.String(), stderr.String())
			}
			switch {
			case tt.wantErr == "" && err != nil:
				t.Errorf("unexpected error: %v", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Errorf("error = %v, want one containing %q", err, tt.wantErr)
			}
			for _, want := range tt.wantOut {
				if !strings.Contains(stdout.String(), want) {
					t.Errorf("stdout lacks %q:\n%s", want, stdout.String())
				}
			}
		})
	}
}

// TestCheckJSONIsTheResponse proves --json prints the exact CheckScopes
// response: it parses back into the message the service returns.
func TestCheckJSONIsTheResponse(t *testing.T) {
	t.Parallel()
	args := []string{"GET", "/crm/v3/objects/contacts", "POST", "/crm/v3/objects/deals/search"}
	var stdout, stderr bytes.Buffer
	code, err := run(context.Background(), append([]string{"check", "--json", "--scopes", "crm.objects.contacts.read"}, args...), &stdout, &stderr)
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
