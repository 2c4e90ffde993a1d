package catalog

import (
	"strings"
	"testing"
)

// TestLegacyFamilies covers every legacy API family the curated overlay
// (or, where the spec has them, the path-form aliases) must serve: one call
// each, a scope that allows it and one that must not.
func TestLegacyFamilies(t *testing.T) {
	t.Parallel()
	c := Default()
	tests := []struct {
		family       string
		method, path string
		allow        string
		deny         string
		wantTemplate string
		wantSunset   string
		wantSource   bool
	}{
		{"contacts v1", "GET", "/contacts/v1/lists/all/contacts/all?count=100", "crm.objects.contacts.read", "crm.objects.deals.read", "/contacts/v1/lists/all/contacts/all", "2027-09", true},
		{"contacts v1 write", "POST", "/contacts/v1/contact/createOrUpdate/email/a@b.c", "crm.objects.contacts.write", "crm.objects.contacts.read", "/contacts/v1/contact/createOrUpdate/email/{email}", "2027-09", true},
		{"contact lists v1", "POST", "/contacts/v1/lists/12/add", "crm.lists.write", "crm.lists.read", "/contacts/v1/lists/{listId}/add", "2026-04-30", true},
		{"companies v2", "PUT", "/companies/v2/companies/55", "crm.objects.companies.write", "crm.objects.contacts.write", "/companies/v2/companies/{companyId}", "2027-09", true},
		{"companies v2 search by domain reads", "POST", "/companies/v2/domains/hubspot.com/companies", "crm.objects.companies.read", "crm.objects.companies.write", "/companies/v2/domains/{domain}/companies", "2027-09", true},
		{"deals v1", "GET", "/deals/v1/deal/paged", "crm.objects.deals.read", "crm.objects.contacts.read", "/deals/v1/deal/paged", "2027-09", true},
		{"engagements v1", "POST", "/engagements/v1/engagements", "crm.objects.contacts.write", "crm.objects.contacts.read", "/engagements/v1/engagements", "2027-09", true},
		{"owners v2", "GET", "/owners/v2/owners", "crm.objects.owners.read", "crm.objects.contacts.read", "/owners/v2/owners", "2025-03-24", true},
		{"properties v1", "GET", "/properties/v1/contacts/properties", "crm.schemas.contacts.read", "crm.schemas.deals.read", "/properties/v1/contacts/properties", "2027-09", true},
		{"properties v2", "GET", "/properties/v2/companies/properties", "crm.schemas.companies.read", "crm.schemas.contacts.read", "/properties/v2/{objectType}/properties", "2027-09", true},
		{"forms v2", "GET", "/forms/v2/forms", "forms", "content", "/forms/v2/forms", "2027-09", true},
		{"workflows v3", "GET", "/automation/v3/workflows", "automation", "forms", "/automation/v3/workflows", "2027-09", true},
		{"crm objects v1 products", "GET", "/crm-objects/v1/objects/products/paged", "crm.objects.products.read", "crm.objects.line_items.read", "/crm-objects/v1/objects/{objectType}/paged", "2027-09", true},
		{"crm objects v1 line items", "POST", "/crm-objects/v1/objects/line_items/batch-create", "crm.objects.line_items.write", "crm.objects.line_items.read", "/crm-objects/v1/objects/{objectType}/batch-create", "2027-09", true},
		{"crm objects v1 tickets", "GET", "/crm-objects/v1/objects/tickets/1", "tickets", "crm.objects.products.read", "/crm-objects/v1/objects/{objectType}/{objectId}", "2027-09", true},
		{"settings v3 users (SDK path form)", "GET", "/settings/v3/users", "settings.users.read", "settings.users.write", "/settings/v3/users", "2027-09", false},
		{"timeline v3 (docs path form)", "POST", "/crm/v3/timeline/events", "timeline", "crm.objects.contacts.read", "/crm/v3/timeline/events", "2027-09", false},
		{"files v3", "GET", "/files/v3/files/123", "files.read", "files.write", "/files/v3/files/{fileId}", "2027-09", false},
		{"crm associations v3", "POST", "/crm/v3/associations/contacts/companies/batch/read", "crm.objects.contacts.read", "crm.objects.companies.read", "/crm/v3/associations/{fromObjectType}/{toObjectType}/batch/read", "2027-09", false},
		{"email events", "GET", "/email/public/v1/events", "content", "forms", "/email/public/v1/events", "2027-09", true},
		{"oauth token introspection needs no scope", "GET", "/oauth/v1/access-tokens/abc", "", "", "/oauth/v1/access-tokens/{token}", "2027-02-16", false},
		{"oauth token endpoint needs no scope", "POST", "/oauth/v1/token", "", "", "/oauth/v1/token", "2027-02-16", false},
		{"oauth 2026-09 token endpoint corrected to no scope", "POST", "/oauth/2026-09/token", "", "", "/oauth/2026-09/token", "", true},
		{"private app token info needs no scope", "POST", "/oauth/v2/private-apps/get/access-token-info", "", "", "/oauth/v2/private-apps/get/access-token-info", "2027-09", true},
	}
	for _, tt := range tests {
		t.Run(tt.family, func(t *testing.T) {
			t.Parallel()
			m, err := c.Match(tt.method, tt.path)
			if err != nil {
				t.Fatalf("Match: %v", err)
			}
			op := m.Operation
			if op.Template != tt.wantTemplate {
				t.Errorf("Template = %s, want %s", op.Template, tt.wantTemplate)
			}
			if op.SunsetDate != tt.wantSunset {
				t.Errorf("SunsetDate = %q, want %q", op.SunsetDate, tt.wantSunset)
			}
			if (op.SourceURL != "") != tt.wantSource || (tt.wantSource && !strings.HasPrefix(op.SourceURL, "https://")) {
				t.Errorf("SourceURL = %q, want one: %v", op.SourceURL, tt.wantSource)
			}
			r := m.Requirement(public)
			if tt.allow == "" {
				if !r.NoScopesRequired() {
					t.Errorf("NoScopesRequired = false; alternatives %v", r.Alternatives())
				}
				return
			}
			if got := r.Evaluate(c.NewGrants(tt.allow)); !got.Allowed {
				t.Errorf("%q not allowed; alternatives %v", tt.allow, r.Alternatives())
			}
			if got := r.Evaluate(c.NewGrants(tt.deny)); got.Allowed {
				t.Errorf("%q allowed; alternatives %v", tt.deny, r.Alternatives())
			}
		})
	}
}

func TestTierNotes(t *testing.T) {
	t.Parallel()
	c := Default()
	tests := []struct {
		name, method, path string
		opNote, objectNote string
	}{
		{"audit logs are Enterprise only", "GET", "/account-info/v3/activity/audit-logs", "Enterprise accounts only", ""},
		{"partner clients are partner only", "GET", "/crm/v3/objects/partner_clients/1", "", "HubSpot Solutions Partner accounts only; records can be read and updated, not created or deleted"},
		{"custom objects need Enterprise", "GET", "/crm/v3/objects/2-7", "", "custom objects need an Enterprise account"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			m, err := c.Match(tt.method, tt.path)
			if err != nil {
				t.Fatal(err)
			}
			if tt.opNote != "" && !contains(m.Operation.TierNotes, tt.opNote) {
				t.Errorf("TierNotes = %v, want %q", m.Operation.TierNotes, tt.opNote)
			}
			if tt.objectNote != "" && (m.Object == nil || !contains(m.Object.Notes, tt.objectNote)) {
				t.Errorf("object notes lack %q (object %+v)", tt.objectNote, m.Object)
			}
		})
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
