package tokens

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/eshopman/scopeguard/server/hubspot"
)

func TestTokenCodecRoundTrips(t *testing.T) {
	t.Parallel()
	for _, tok := range []*Token{
		{AccessToken: "CIrs-access", RefreshToken: "na1-refresh", ExpiresAt: epoch.Add(30 * time.Minute),
			Scopes: []string{"crm.objects.contacts.read", "oauth"}, HubID: 777, TokenType: "bearer"},
		{AccessToken: "a", Scopes: []string{}}, // scopes known to be none
		{AccessToken: "a", ExpiresAt: epoch},   // scopes unknown (nil)
	} {
		b := encodeToken(tok)
		got, ok := decodeToken(b)
		if !ok {
			t.Fatalf("decodeToken(encodeToken(%v)) failed", tok)
		}
		if diff := cmp.Diff(tok, got); diff != "" {
			t.Errorf("round trip (-want +got):\n%s", diff)
		}
		if (tok.Scopes == nil) != (got.Scopes == nil) {
			t.Errorf("scopes nil = %v after the round trip, want %v", got.Scopes == nil, tok.Scopes == nil)
		}
		for n := range len(b) {
			if _, ok := decodeToken(b[:n]); ok {
				t.Errorf("a value cut to %d of %d bytes decoded", n, len(b))
			}
		}
		if _, ok := decodeToken(append(b, 0)); ok {
			t.Error("a value with a trailing byte decoded")
		}
	}
	if _, ok := decodeToken(encodeInfo(&hubspot.TokenInfo{Active: true}, epoch)); ok {
		t.Error("an introspection answer decoded as a token")
	}
}

func TestInfoCodecRoundTrips(t *testing.T) {
	t.Parallel()
	for _, info := range []*hubspot.TokenInfo{
		{Active: true, Credential: hubspot.CredentialOAuthAccessToken, TokenUse: "access_token", HubID: 1, AppID: 2, UserID: 3,
			User: "u@shop.example", HubDomain: "shop.example", ClientID: "c", Scopes: []string{"oauth"},
			ExpiresAt: epoch.Add(time.Hour), PrivateDistribution: true},
		{InactiveReason: hubspot.InactiveNotBearerToken, Credential: hubspot.CredentialRefreshToken},
	} {
		b := encodeInfo(info, epoch.Add(time.Minute))
		got, until, ok := decodeInfo(b)
		if !ok || !until.Equal(epoch.Add(time.Minute)) {
			t.Fatalf("decodeInfo = %v, %v; want the answer kept until %v", ok, until, epoch.Add(time.Minute))
		}
		if diff := cmp.Diff(info, got); diff != "" {
			t.Errorf("round trip (-want +got):\n%s", diff)
		}
		for n := range len(b) {
			if _, _, ok := decodeInfo(b[:n]); ok {
				t.Errorf("a value cut to %d of %d bytes decoded", n, len(b))
			}
		}
	}
}
