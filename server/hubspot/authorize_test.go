package hubspot

import (
	"net/url"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestAuthorizeURL(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		clientID    string
		redirectURI string
		scopes      []string
		optional    []string
		want        string
	}{
		{
			name:     "scopes only",
			clientID: "abc-123",
			scopes:   []string{"crm.objects.contacts.read", "crm.objects.deals.read"},
			want:     "https://app.hubspot.com/oauth/authorize?client_id=abc-123&scope=crm.objects.contacts.read%20crm.objects.deals.read",
		},
		{
			name:        "redirect and optional scopes are encoded",
			clientID:    "abc",
			redirectURI: "https://shop.example/cb?x=1&y=a b",
			scopes:      []string{"oauth"},
			optional:    []string{"e-commerce", "files"},
			want:        "https://app.hubspot.com/oauth/authorize?client_id=abc&optional_scope=e-commerce%20files&redirect_uri=https%3A%2F%2Fshop.example%2Fcb%3Fx%3D1%26y%3Da%20b&scope=oauth",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := AuthorizeURL(tt.clientID, tt.redirectURI, tt.scopes, tt.optional)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("AuthorizeURL() mismatch (-want +got):\n%s", diff)
			}
			u, err := url.Parse(got)
			if err != nil {
				t.Fatalf("AuthorizeURL() is not a URL: %v", err)
			}
			if u.Query().Get("redirect_uri") != tt.redirectURI {
				t.Errorf("redirect_uri round-trips to %q, want %q", u.Query().Get("redirect_uri"), tt.redirectURI)
			}
		})
	}
}
