package hubspot

import (
	"encoding/base64"
	"regexp"
	"strings"

	scopeguardv1 "github.com/eshopman/scopeguard/gen/scopeguard/v1"
)

// CredentialKind is the kind of HubSpot credential a string looks like, judged
// by its shape alone (no HubSpot call).
type CredentialKind int

// The shapes below come from HubSpot's documentation and from the patterns
// public secret scanners use for HubSpot credentials:
//   - OAuth access tokens are URL-safe base64 of a protobuf message whose first
//     field is a varint, so they start with "C" followed by one of A-P (e.g.
//     "CJSP5qf1KhICAQEY...", the example in
//     https://developers.hubspot.com/docs/methods/oauth2/using-access-tokens).
//   - Private-app tokens (and static tokens) are "pat-<hublet>-<uuid>"
//     (https://docs.gitguardian.com/secrets-detection/secrets-detection-engine/detectors/specifics/hubspot_private_app_token).
//   - Developer API keys (and the sunset account API keys) are bare UUIDs
//     (gitleaks' hubspot-api-key rule). Client secrets and refresh tokens
//     issued before hublet prefixes share that shape.
//   - CLI personal access keys are URL-safe base64 of a protobuf message whose
//     first field is a string starting with the hublet, so they start "CiR"
//     ("CiRuYTEt..." decodes to "\n$na1-...")
//     (https://docs.gitguardian.com/secrets-detection/secrets-detection-engine/detectors/specifics/hubspot_personal_access_key).
//   - Refresh tokens are "<hublet>-xxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx" in hex,
//     e.g. "na1-8649-43d7-456c-a15c-305ec7f11101".
const (
	// CredentialUnknown is a value that matches no shape HubSpot is known to
	// issue. It may still be a valid token of a newer format.
	CredentialUnknown CredentialKind = iota
	// CredentialEmpty is an empty or all-whitespace value.
	CredentialEmpty
	// CredentialOAuthAccessToken is an access token from the OAuth flow.
	CredentialOAuthAccessToken
	// CredentialPrivateAppToken is a private-app or static token
	// ("pat-<hublet>-<uuid>").
	CredentialPrivateAppToken
	// CredentialDeveloperAPIKey is a bare UUID: a developer API key (sent as
	// the hapikey query parameter, never as a bearer token), or another
	// UUID-shaped secret such as a client secret or an old refresh token.
	CredentialDeveloperAPIKey
	// CredentialPersonalAccessKey is a HubSpot CLI personal access key; it is
	// exchanged for an access token and is not a bearer token itself.
	CredentialPersonalAccessKey
	// CredentialRefreshToken is an OAuth refresh token: exchanged for an
	// access token, never sent as a bearer token.
	CredentialRefreshToken
	// CredentialBearerPrefixed is a value that already starts with "Bearer ",
	// which produces a doubled "Bearer Bearer ..." header. Credential.Inner is
	// the kind of what follows the prefix.
	CredentialBearerPrefixed
)

var credentialKindNames = map[CredentialKind]string{ //nolint:gosec // G101: the names of credential kinds, not credentials
	CredentialUnknown:           "unknown",
	CredentialEmpty:             "empty",
	CredentialOAuthAccessToken:  "oauth_access_token",
	CredentialPrivateAppToken:   "private_app_token",
	CredentialDeveloperAPIKey:   "developer_api_key",
	CredentialPersonalAccessKey: "personal_access_key",
	CredentialRefreshToken:      "refresh_token",
	CredentialBearerPrefixed:    "bearer_prefixed",
}

// String is a stable snake_case label for logs and metrics.
func (k CredentialKind) String() string {
	if name, ok := credentialKindNames[k]; ok {
		return name
	}
	return "unknown"
}

// CredentialType maps the kind onto the API's enum; kinds the API has no value
// for (empty, unknown, Bearer-prefixed) map to CREDENTIAL_TYPE_UNSPECIFIED.
func (k CredentialKind) CredentialType() scopeguardv1.CredentialType {
	switch k {
	case CredentialOAuthAccessToken:
		return scopeguardv1.CredentialType_CREDENTIAL_TYPE_OAUTH_ACCESS_TOKEN
	case CredentialPrivateAppToken:
		return scopeguardv1.CredentialType_CREDENTIAL_TYPE_PRIVATE_APP_TOKEN
	case CredentialDeveloperAPIKey:
		return scopeguardv1.CredentialType_CREDENTIAL_TYPE_DEVELOPER_API_KEY
	case CredentialPersonalAccessKey:
		return scopeguardv1.CredentialType_CREDENTIAL_TYPE_PERSONAL_ACCESS_KEY
	case CredentialRefreshToken:
		return scopeguardv1.CredentialType_CREDENTIAL_TYPE_REFRESH_TOKEN
	default:
		return scopeguardv1.CredentialType_CREDENTIAL_TYPE_UNSPECIFIED
	}
}

// Bearer reports whether HubSpot accepts this kind in an
// "Authorization: Bearer" header. Unknown shapes count as possibly valid.
func (k CredentialKind) Bearer() bool {
	return k == CredentialOAuthAccessToken || k == CredentialPrivateAppToken || k == CredentialUnknown
}

// Credential is what a credential string's shape says about it.
type Credential struct {
	// Kind is the shape's kind.
	Kind CredentialKind
	// Inner is the kind of the value after the "Bearer " prefix(es) when Kind
	// is CredentialBearerPrefixed; otherwise equal to Kind.
	Inner CredentialKind
	// Hublet is HubSpot's data-centre label ("na1", "eu1", ...) when the shape
	// carries one.
	Hublet string
	// Untrimmed is true when the value had leading or trailing whitespace
	// (classification looks at the trimmed value).
	Untrimmed bool
}

var (
	hubletPattern            = `[a-z]{2}[0-9]`
	uuidPattern              = `[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}`
	privateAppTokenShape     = regexp.MustCompile(`^(?i:pat)-(` + hubletPattern + `)-(?i:` + uuidPattern + `)$`)
	uuidShape                = regexp.MustCompile(`^(?i:` + uuidPattern + `)$`)
	refreshTokenShape        = regexp.MustCompile(`^(` + hubletPattern + `)-(?i:[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$`)
	base64URLShape           = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)
	hubletPrefix             = regexp.MustCompile(`^(` + hubletPattern + `)-`)
	bearerPrefix             = regexp.MustCompile(`^(?i:bearer)\s+`)
	minEncodedCredentialSize = 32
)

// ClassifyCredential reports the kind of credential s looks like. It is pure
// and cheap; s is never logged or kept.
func ClassifyCredential(s string) Credential {
	trimmed := strings.TrimSpace(s)
	c := Credential{Untrimmed: trimmed != s}
	if loc := bearerPrefix.FindStringIndex(trimmed); loc != nil {
		inner := ClassifyCredential(trimmed[loc[1]:])
		c.Kind, c.Inner, c.Hublet = CredentialBearerPrefixed, inner.Inner, inner.Hublet
		return c
	}
	c.Kind, c.Hublet = classifyTrimmed(trimmed)
	c.Inner = c.Kind
	return c
}

func classifyTrimmed(s string) (CredentialKind, string) {
	if s == "" {
		return CredentialEmpty, ""
	}
	if m := privateAppTokenShape.FindStringSubmatch(s); m != nil {
		return CredentialPrivateAppToken, strings.ToLower(m[1])
	}
	if uuidShape.MatchString(s) {
		return CredentialDeveloperAPIKey, ""
	}
	if m := refreshTokenShape.FindStringSubmatch(s); m != nil {
		return CredentialRefreshToken, m[1]
	}
	if len(s) < minEncodedCredentialSize || !base64URLShape.MatchString(s) {
		return CredentialUnknown, ""
	}
	// Both encoded kinds are protobuf messages; the first byte is the tag of
	// field 1: 0x08 (varint) for access tokens, 0x0a (string) for personal
	// access keys, whose string starts with the hublet.
	head, err := base64.RawURLEncoding.DecodeString(s[:8])
	if err != nil {
		return CredentialUnknown, ""
	}
	switch head[0] {
	case 0x08:
		return CredentialOAuthAccessToken, ""
	case 0x0a:
		if m := hubletPrefix.FindSubmatch(head[2:]); m != nil {
			return CredentialPersonalAccessKey, string(m[1])
		}
	}
	return CredentialUnknown, ""
}
