package hubspottest_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/eshopman/scopeguard/server/catalog"
	"github.com/eshopman/scopeguard/server/hubspottest"
)

func TestCatalogAuthorizer(t *testing.T) {
	t.Parallel()
	authorize := hubspottest.CatalogAuthorizer(catalog.Default())
	tests := []struct {
		name string
		req  hubspottest.AuthorizeRequest
		want hubspottest.Decision
	}{
		{
			name: "granted read",
			req:  hubspottest.AuthorizeRequest{Method: "GET", Path: "/crm/v3/objects/contacts/1", Scopes: []string{"crm.objects.contacts.read"}},
			want: hubspottest.Decision{Known: true, Allowed: true},
		},
		{
			name: "another object's scope lists the object's own, one or more of",
			req:  hubspottest.AuthorizeRequest{Method: "GET", Path: "/crm/v3/objects/0-3", Scopes: []string{"crm.objects.contacts.read"}},
			want: hubspottest.Decision{Known: true, Required: []string{"crm.objects.deals.read", "crm.objects.deals.sensitive.read.v2", "crm.objects.deals.highly_sensitive.read.v2"}},
		},
		{
			name: "the seed endpoint names its one scope",
			req:  hubspottest.AuthorizeRequest{Method: "GET", Path: "/account-info/v3/activity/audit-logs"},
			want: hubspottest.Decision{Known: true, Required: []string{"account-info.security.read"}, AllOf: true},
		},
		{
			name: "unknown endpoint",
			req:  hubspottest.AuthorizeRequest{Method: "GET", Path: "/nope/v1/things"},
			want: hubspottest.Decision{},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if diff := cmp.Diff(tt.want, authorize(tt.req)); diff != "" {
				t.Errorf("decision (-want +got):\n%s", diff)
			}
		})
	}
}
