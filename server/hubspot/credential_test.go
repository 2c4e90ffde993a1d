package hubspot_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	scopeguardv1 "github.com/eshopman/scopeguard/gen/scopeguard/v1"
	"github.com/eshopman/scopeguard/server/hubspot"
)

func TestClassifyCredential(t *testing.T) {
	t.Parallel()
	// Shapes from HubSpot's docs and public examples (see credential.go); the
	// random parts are made up.
	const (
		oauthDocsExample = "CJSP5qf1KhICAQEYs-gDIIGOBii1hQIyGQAf3xBKmlwHjX7OIpuIFEavB2-qYAGQsF4"
		oauthLong        = "CN2zlYnmLBICAQIYgZXFLyCWp1Yoy_9GMhkAgddk-zDc-H_rOad1X2s6Qv3fmG1spSY0Og0ACgJBAAADAIADAAABQhkAgddk"
		pat              = "pat-na1-70271006-11d8-4a5d-9169-b12f4327e5b0"
		patEU            = "pat-eu1-0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"
		pak              = "CiRuYTEtMDAwMC0xMTExLTIyMjItMzMzMy00NDQ0NTU1NTY2NjYQ9tCdGBiyi5IpKhkABeaRgrnYhLANmqYCJHr-JDl02TIqZcvQSgNuYTE"
		pakEU            = "CiRldTEtMDAwMC0xMTExLTIyMjItMzMzMy00NDQ0NTU1NTY2NjYQ9tCdGBiyi5IpKhkABeaRgrnYhLANmqYCJHr"
		devKey           = "9dd2ad79-efc6-4bba-9459-156720ba23e0"
		refresh          = "na1-8649-43d7-456c-a15c-305ec7f11101"
	)
	tests := []struct {
		name  string
		input string
		want  hubspot.Credential
	}{
		{"oauth access token from the docs", oauthDocsExample, hubspot.Credential{Kind: hubspot.CredentialOAuthAccessToken, Inner: hubspot.CredentialOAuthAccessToken}},
		{"longer oauth access token", oauthLong, hubspot.Credential{Kind: hubspot.CredentialOAuthAccessToken, Inner: hubspot.CredentialOAuthAccessToken}},
		{"private app token na1", pat, hubspot.Credential{Kind: hubspot.CredentialPrivateAppToken, Inner: hubspot.CredentialPrivateAppToken, Hublet: "na1"}},
		{"private app token eu1", patEU, hubspot.Credential{Kind: hubspot.CredentialPrivateAppToken, Inner: hubspot.CredentialPrivateAppToken, Hublet: "eu1"}},
		{"private app token with upper-case hex", "pat-na1-70271006-11D8-4A5D-9169-B12F4327E5B0", hubspot.Credential{Kind: hubspot.CredentialPrivateAppToken, Inner: hubspot.CredentialPrivateAppToken, Hublet: "na1"}},
		{"truncated private app token", "pat-na1-70271006-11d8-4a5d-9169", hubspot.Credential{Kind: hubspot.CredentialUnknown, Inner: hubspot.CredentialUnknown}},
		{"personal access key na1", pak, hubspot.Credential{Kind: hubspot.CredentialPersonalAccessKey, Inner: hubspot.CredentialPersonalAccessKey, Hublet: "na1"}},
		{"personal access key eu1", pakEU, hubspot.Credential{Kind: hubspot.CredentialPersonalAccessKey, Inner: hubspot.CredentialPersonalAccessKey, Hublet: "eu1"}},
		{"developer api key", devKey, hubspot.Credential{Kind: hubspot.CredentialDeveloperAPIKey, Inner: hubspot.CredentialDeveloperAPIKey}},
		{"refresh token", refresh, hubspot.Credential{Kind: hubspot.CredentialRefreshToken, Inner: hubspot.CredentialRefreshToken, Hublet: "na1"}},
		{"doubled bearer prefix on an oauth token", "Bearer " + oauthDocsExample, hubspot.Credential{Kind: hubspot.CredentialBearerPrefixed, Inner: hubspot.CredentialOAuthAccessToken}},
		{"lower-case bearer prefix on a private app token", "bearer  " + pat, hubspot.Credential{Kind: hubspot.CredentialBearerPrefixed, Inner: hubspot.CredentialPrivateAppToken, Hublet: "na1"}},
		{"two bearer prefixes", "Bearer Bearer " + pat, hubspot.Credential{Kind: hubspot.CredentialBearerPrefixed, Inner: hubspot.CredentialPrivateAppToken, Hublet: "na1"}},
		{"bearer prefix alone", "Bearer ", hubspot.Credential{Kind: hubspot.CredentialUnknown, Inner: hubspot.CredentialUnknown, Untrimmed: true}},
		{"trailing newline from an env file", pat + "\n", hubspot.Credential{Kind: hubspot.CredentialPrivateAppToken, Inner: hubspot.CredentialPrivateAppToken, Hublet: "na1", Untrimmed: true}},
		{"empty", "", hubspot.Credential{Kind: hubspot.CredentialEmpty, Inner: hubspot.CredentialEmpty}},
		{"whitespace only", " \t", hubspot.Credential{Kind: hubspot.CredentialEmpty, Inner: hubspot.CredentialEmpty, Untrimmed: true}},
		{"short garbage", "token123", hubspot.Credential{Kind: hubspot.CredentialUnknown, Inner: hubspot.CredentialUnknown}},
		{"placeholder from a README", "YOUR_ACCESS_TOKEN_HERE_PLEASE_REPLACE_ME", hubspot.Credential{Kind: hubspot.CredentialUnknown, Inner: hubspot.CredentialUnknown}},
		{"jwt is not a hubspot shape", "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U", hubspot.Credential{Kind: hubspot.CredentialUnknown, Inner: hubspot.CredentialUnknown}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if diff := cmp.Diff(tt.want, hubspot.ClassifyCredential(tt.input)); diff != "" {
				t.Errorf("ClassifyCredential() mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestCredentialKindMapping(t *testing.T) {
	t.Parallel()
	tests := []struct {
		kind       hubspot.CredentialKind
		label      string
		credential scopeguardv1.CredentialType
		bearer     bool
	}{
		{hubspot.CredentialUnknown, "unknown", scopeguardv1.CredentialType_CREDENTIAL_TYPE_UNSPECIFIED, true},
		{hubspot.CredentialEmpty, "empty", scopeguardv1.CredentialType_CREDENTIAL_TYPE_UNSPECIFIED, false},
		{hubspot.CredentialOAuthAccessToken, "oauth_access_token", scopeguardv1.CredentialType_CREDENTIAL_TYPE_OAUTH_ACCESS_TOKEN, true},
		{hubspot.CredentialPrivateAppToken, "private_app_token", scopeguardv1.CredentialType_CREDENTIAL_TYPE_PRIVATE_APP_TOKEN, true},
		{hubspot.CredentialDeveloperAPIKey, "developer_api_key", scopeguardv1.CredentialType_CREDENTIAL_TYPE_DEVELOPER_API_KEY, false},
		{hubspot.CredentialPersonalAccessKey, "personal_access_key", scopeguardv1.CredentialType_CREDENTIAL_TYPE_PERSONAL_ACCESS_KEY, false},
		{hubspot.CredentialRefreshToken, "refresh_token", scopeguardv1.CredentialType_CREDENTIAL_TYPE_REFRESH_TOKEN, false},
		{hubspot.CredentialBearerPrefixed, "bearer_prefixed", scopeguardv1.CredentialType_CREDENTIAL_TYPE_UNSPECIFIED, false},
	}
	for _, tt := range tests {
		t.Run(tt.label, func(t *testing.T) {
			t.Parallel()
			if got := tt.kind.String(); got != tt.label {
				t.Errorf("String() = %q, want %q", got, tt.label)
			}
			if got := tt.kind.CredentialType(); got != tt.credential {
				t.Errorf("CredentialType() = %v, want %v", got, tt.credential)
			}
			if got := tt.kind.Bearer(); got != tt.bearer {
				t.Errorf("Bearer() = %v, want %v", got, tt.bearer)
			}
		})
	}
}

func FuzzClassifyCredential(f *testing.F) {
	for _, seed := range []string{"", "Bearer x", "pat-na1-70271006-11d8-4a5d-9169-b12f4327e5b0", "CiRuYTEtAAAA", "C\x00\xff", "Bearer Bearer Bearer "} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c := hubspot.ClassifyCredential(s)
		if c.Kind != hubspot.CredentialBearerPrefixed && c.Inner != c.Kind {
			t.Fatalf("Inner %v differs from Kind %v without a Bearer prefix", c.Inner, c.Kind)
		}
	})
}
