package main

import "testing"

func TestCatalogCommand(t *testing.T) {
	t.Parallel()
	runCases(t, []cliCase{
		{
			name:     "a retired family lists its operations as retired with their scopes",
			args:     []string{"catalog", "--family", "HUBDB-V2"},
			wantCode: exitOK,
			wantOut:  []string{"GET    /hubdb/api/v2/tables  [hubdb-v2] retired 2024-12-16", "needs: hubdb"},
		},
		{
			name:     "a path prefix lists live and retired operations, replacements included",
			args:     []string{"catalog", "/contacts/v1/lists"},
			wantCode: exitOK,
			wantOut: []string{
				"GET    /contacts/v1/lists  [contact-lists-v1] retired 2026-04-30, replacement: POST /crm/v3/lists/search",
				"GET    /contacts/v1/lists/all/contacts/all  [contacts-v1] supported until 2027-09",
			},
		},
		{
			name:     "private-app scopes use the private spelling of sensitive scopes",
			args:     []string{"catalog", "--app", "private", "/crm/v3/objects/contacts/search"},
			wantCode: exitOK,
			wantOut:  []string{"crm.objects.contacts.sensitive.read"},
		},
		{
			name:     "an object-typed path says the object decides",
			args:     []string{"catalog", "/crm/v3/objects/{objectType}/search"},
			wantCode: exitOK,
			wantOut:  []string{"the scopes of the object type in the path"},
		},
		{
			name:     "no argument lists the families",
			args:     []string{"catalog"},
			wantCode: exitOK,
			wantOut:  []string{"hubdb-v2", "CRM/Objects"},
		},
		{
			name:     "nothing under a prefix is an error naming the way out",
			args:     []string{"catalog", "/nope/v1"},
			wantCode: exitNotAllowed,
			wantErr:  `run "scopeguard catalog" for the families`,
		},
		{
			name:     "a bad app type is a usage error",
			args:     []string{"catalog", "--app", "developer", "/crm"},
			wantCode: exitUsage,
			wantErr:  "--app must be public or private",
		},
	})
}
