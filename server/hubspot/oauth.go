package hubspot

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
)

// TokenResponse is HubSpot's answer to a refresh.
type TokenResponse struct {
	// AccessToken is the new bearer token.
	AccessToken Secret
	// RefreshToken is the refresh token to use next time; HubSpot normally
	// returns the one that was sent, and when it returns none the sent one is
	// kept.
	RefreshToken Secret
	// ExpiresIn is the access token's lifetime as HubSpot stated it.
	ExpiresIn time.Duration
	// ExpiresAt is the client's clock at the answer plus ExpiresIn.
	ExpiresAt time.Time
	// TokenType is HubSpot's token_type, normally "bearer".
	TokenType string
	// HubID is the account the token belongs to; 0 when the answer omitted it.
	HubID int64
	// UserID is the installing user's id; 0 when omitted.
	UserID int64
	// Scopes are the token's scopes, sorted; nil when the answer omitted them
	// (answers before 2025-08 did), empty when it listed none.
	Scopes []string
}

// InactiveReason says why a token is not active.
type InactiveReason string

// The reasons a token is inactive.
const (
	// InactiveExpired means the token's lifetime ended.
	InactiveExpired InactiveReason = "expired"
	// InactiveRevokedOrUnknown means HubSpot does not know the token (never
	// issued, revoked, app uninstalled, private-app token rotated).
	InactiveRevokedOrUnknown InactiveReason = "revoked or unknown"
	// InactiveMalformed means HubSpot said the value is not a token of the
	// kind the endpoint takes.
	InactiveMalformed InactiveReason = "malformed"
	// InactiveNotBearerToken means the value is a credential that is never
	// sent as a bearer token (refresh token, developer API key, personal
	// access key).
	InactiveNotBearerToken InactiveReason = "not a bearer token"
	// InactiveBearerPrefixed means the value itself starts with "Bearer ",
	// so the Authorization header HubSpot receives reads "Bearer Bearer …".
	InactiveBearerPrefixed InactiveReason = `already prefixed with "Bearer " (HubSpot would receive "Bearer Bearer …")`
)

// TokenInfo is what introspection says about an access token. It never holds
// the token itself.
type TokenInfo struct {
	// Active is false when the token is expired, revoked, unknown or not a
	// bearer token.
	Active bool
	// InactiveReason says why Active is false; empty when active.
	InactiveReason InactiveReason
	// Credential is the token's kind, from HubSpot's answer and its shape.
	Credential CredentialKind
	// TokenUse is HubSpot's token_use ("access_token", "refresh_token") when
	// the endpoint reports it.
	TokenUse string
	// HubID is the account (portal) id; 0 when not reported.
	HubID int64
	// AppID is the app the token was issued to; 0 when not reported.
	AppID int64
	// UserID is the installing user's id; 0 when not reported.
	UserID int64
	// User is the installing user's email, when reported.
	User string
	// HubDomain is the account's domain, when reported.
	HubDomain string
	// ClientID is the app's client id, when reported.
	ClientID string
	// Scopes are the granted scopes, sorted and de-duplicated.
	Scopes []string
	// ExpiresAt is when the token stops (or stopped) working; zero for tokens
	// that do not expire or when HubSpot did not say.
	ExpiresAt time.Time
	// PrivateDistribution is HubSpot's is_private_distribution flag.
	PrivateDistribution bool
}

// errorBody is every field scopeguard reads from HubSpot's OAuth and general
// error bodies.
type errorBody struct {
	Status           string                     `json:"status"`
	Message          string                     `json:"message"`
	Error            string                     `json:"error"`
	ErrorDescription string                     `json:"error_description"`
	Category         string                     `json:"category"`
	CorrelationID    string                     `json:"correlationId"`
	PolicyName       string                     `json:"policyName"`
	Context          map[string]json.RawMessage `json:"context"`
}

func parseErrorBody(body []byte) errorBody {
	var eb errorBody
	if json.Unmarshal(body, &eb) != nil {
		return errorBody{}
	}
	return eb
}

func decodeRejection(resp *response, secrets []Secret) Rejection {
	eb := parseErrorBody(resp.body)
	msg := eb.ErrorDescription
	if msg == "" {
		msg = eb.Message
	}
	status := eb.Status
	if strings.EqualFold(status, "error") {
		status = ""
	}
	return Rejection{
		HTTPStatus:    resp.status,
		Status:        scrub(status, secrets...),
		Code:          scrub(eb.Error, secrets...),
		Category:      scrub(eb.Category, secrets...),
		Message:       scrub(msg, secrets...),
		CorrelationID: scrub(eb.CorrelationID, secrets...),
	}
}

func decodePolicyName(body []byte) string { return parseErrorBody(body).PolicyName }

// clientRejected reports whether HubSpot refused the app's credentials.
func clientRejected(rej Rejection) bool {
	switch rej.Status {
	case "BAD_CLIENT_ID", "UNAUTHORIZED":
		return true
	case "":
		return rej.Code == "invalid_client" || (rej.Code == "" && rej.HTTPStatus == http.StatusUnauthorized)
	}
	return false
}

// refreshTokenRejected reports whether HubSpot refused the refresh token. A
// legacy status, when present, decides: invalid_grant alone also covers other
// grant problems only when no status says otherwise.
func refreshTokenRejected(rej Rejection) bool {
	if rej.Status != "" {
		return rej.Status == "BAD_REFRESH_TOKEN"
	}
	return rej.Code == "invalid_grant"
}

// RefreshAccessToken exchanges refreshToken for a new access token with the
// app's credentials (redirect URI included when set). Errors:
// *AppCredentialsRequiredError, *RefreshTokenError, *ClientCredentialsError,
// *RequestRejectedError, *RateLimitError, *UnavailableError,
// *MalformedResponseError, or the caller's context error.
func (c *Client) RefreshAccessToken(ctx context.Context, app AppCredentials, refreshToken Secret) (*TokenResponse, error) {
	if !app.Complete() {
		return nil, &AppCredentialsRequiredError{Endpoint: EndpointToken, OAuthVersion: c.version}
	}
	form := url.Values{
		"grant_type":    {"refresh_token"},
		"client_id":     {app.ClientID},
		"client_secret": {app.ClientSecret.Reveal()},
		"refresh_token": {refreshToken.Reveal()},
	}
	if app.RedirectURI != "" {
		form.Set("redirect_uri", app.RedirectURI)
	}
	secrets := []Secret{refreshToken, app.ClientSecret}
	resp, err := c.send(ctx, request{
		endpoint: EndpointToken, method: http.MethodPost,
		path: "/oauth/" + string(c.version) + "/token", form: form, secrets: secrets,
	})
	if err != nil {
		return nil, err
	}
	if resp.status >= 400 {
		rej := decodeRejection(resp, secrets)
		switch {
		case refreshTokenRejected(rej):
			return nil, &RefreshTokenError{Rejection: rej}
		case clientRejected(rej):
			return nil, &ClientCredentialsError{Endpoint: EndpointToken, Rejection: rej}
		default:
			return nil, &RequestRejectedError{Endpoint: EndpointToken, Rejection: rej}
		}
	}
	var body struct {
		AccessToken  string   `json:"access_token"`
		RefreshToken string   `json:"refresh_token"`
		ExpiresIn    *int64   `json:"expires_in"`
		TokenType    string   `json:"token_type"`
		HubID        int64    `json:"hub_id"`
		UserID       int64    `json:"user_id"`
		Scopes       []string `json:"scopes"`
	}
	if err := json.Unmarshal(resp.body, &body); err != nil {
		return nil, malformed(EndpointToken, resp, "body is not a token response")
	}
	if body.AccessToken == "" || body.ExpiresIn == nil || *body.ExpiresIn <= 0 {
		return nil, malformed(EndpointToken, resp, "access_token or a positive expires_in is missing")
	}
	out := &TokenResponse{
		AccessToken:  Secret(body.AccessToken),
		RefreshToken: Secret(body.RefreshToken),
		ExpiresIn:    time.Duration(*body.ExpiresIn) * time.Second,
		TokenType:    body.TokenType,
		HubID:        body.HubID,
		UserID:       body.UserID,
		Scopes:       normalizeScopes(body.Scopes),
	}
	out.ExpiresAt = c.now().Add(out.ExpiresIn)
	if out.RefreshToken == "" {
		out.RefreshToken = refreshToken
	}
	return out, nil
}

// IntrospectAccessToken asks HubSpot about an OAuth access token: with OAuth
// 2026-03 through the introspection endpoint (app credentials required), with
// v1 through GET /oauth/v1/access-tokens/{token} (no credentials). An
// expired, revoked or unknown token is an answer (Active false), not an
// error. Errors: *AppCredentialsRequiredError, *ClientCredentialsError,
// *RequestRejectedError, *RateLimitError, *UnavailableError,
// *MalformedResponseError, or the caller's context error.
func (c *Client) IntrospectAccessToken(ctx context.Context, app AppCredentials, token Secret) (*TokenInfo, error) {
	if c.version == OAuthVersionV1 {
		return c.accessTokenInfoV1(ctx, token)
	}
	if !app.Complete() {
		return nil, &AppCredentialsRequiredError{Endpoint: EndpointIntrospect, OAuthVersion: c.version}
	}
	secrets := []Secret{token, app.ClientSecret}
	resp, err := c.send(ctx, request{
		endpoint: EndpointIntrospect, method: http.MethodPost,
		path: "/oauth/" + string(c.version) + "/token/introspect",
		form: url.Values{
			"client_id":       {app.ClientID},
			"client_secret":   {app.ClientSecret.Reveal()},
			"token":           {token.Reveal()},
			"token_type_hint": {"access_token"},
		},
		secrets: secrets,
	})
	if err != nil {
		return nil, err
	}
	if resp.status >= 400 {
		rej := decodeRejection(resp, secrets)
		if clientRejected(rej) {
			return nil, &ClientCredentialsError{Endpoint: EndpointIntrospect, Rejection: rej}
		}
		return c.inactiveFromRejection(EndpointIntrospect, resp, token, rej)
	}
	var body struct {
		Active              *bool    `json:"active"`
		TokenUse            string   `json:"token_use"`
		HubID               int64    `json:"hub_id"`
		UserID              int64    `json:"user_id"`
		AppID               int64    `json:"app_id"`
		ClientID            string   `json:"client_id"`
		User                string   `json:"user"`
		HubDomain           string   `json:"hub_domain"`
		Scopes              []string `json:"scopes"`
		ExpiresIn           *int64   `json:"expires_in"`
		IsPrivateDistribute bool     `json:"is_private_distribution"`
	}
	if err := json.Unmarshal(resp.body, &body); err != nil || body.Active == nil {
		return nil, malformed(EndpointIntrospect, resp, "body is not an introspection response")
	}
	if !*body.Active {
		return &TokenInfo{InactiveReason: InactiveRevokedOrUnknown, Credential: ClassifyCredential(token.Reveal()).Inner}, nil
	}
	info := &TokenInfo{
		Active: true, Credential: CredentialOAuthAccessToken, TokenUse: body.TokenUse,
		HubID: body.HubID, AppID: body.AppID, UserID: body.UserID, User: body.User,
		HubDomain: body.HubDomain, ClientID: body.ClientID, Scopes: normalizeScopes(body.Scopes),
		PrivateDistribution: body.IsPrivateDistribute,
	}
	if body.TokenUse == "refresh_token" {
		info.Credential = CredentialRefreshToken
	}
	if body.ExpiresIn != nil {
		info.ExpiresAt = c.now().Add(time.Duration(*body.ExpiresIn) * time.Second)
	}
	return info, nil
}

func (c *Client) accessTokenInfoV1(ctx context.Context, token Secret) (*TokenInfo, error) {
	secrets := []Secret{token}
	resp, err := c.send(ctx, request{
		endpoint: EndpointAccessTokenInfo, method: http.MethodGet,
		path: "/oauth/v1/access-tokens/" + url.PathEscape(token.Reveal()), secrets: secrets,
	})
	if err != nil {
		return nil, err
	}
	if resp.status >= 400 {
		return c.inactiveFromRejection(EndpointAccessTokenInfo, resp, token, decodeRejection(resp, secrets))
	}
	var body struct {
		HubID               int64    `json:"hub_id"`
		UserID              int64    `json:"user_id"`
		AppID               int64    `json:"app_id"`
		User                string   `json:"user"`
		HubDomain           string   `json:"hub_domain"`
		Scopes              []string `json:"scopes"`
		ExpiresIn           *int64   `json:"expires_in"`
		IsPrivateDistribute bool     `json:"is_private_distribution"`
	}
	if err := json.Unmarshal(resp.body, &body); err != nil || body.ExpiresIn == nil {
		return nil, malformed(EndpointAccessTokenInfo, resp, "body is not access-token metadata")
	}
	info := &TokenInfo{
		Active: *body.ExpiresIn > 0, Credential: CredentialOAuthAccessToken, TokenUse: "access_token",
		HubID: body.HubID, AppID: body.AppID, UserID: body.UserID, User: body.User, HubDomain: body.HubDomain,
		Scopes: normalizeScopes(body.Scopes), ExpiresAt: c.now().Add(time.Duration(*body.ExpiresIn) * time.Second),
		PrivateDistribution: body.IsPrivateDistribute,
	}
	if !info.Active {
		info.InactiveReason = InactiveExpired
	}
	return info, nil
}

// IntrospectPrivateAppToken asks HubSpot about a private-app (pat-...) token.
// The token goes in the JSON body and, as EU accounts require, in the bearer
// header. An unknown or rotated token is an answer (Active false). Errors:
// *RequestRejectedError, *RateLimitError, *UnavailableError,
// *MalformedResponseError, or the caller's context error.
func (c *Client) IntrospectPrivateAppToken(ctx context.Context, token Secret) (*TokenInfo, error) {
	secrets := []Secret{token}
	resp, err := c.send(ctx, request{
		endpoint: EndpointPrivateAppTokenInfo, method: http.MethodPost,
		path: "/oauth/v2/private-apps/get/access-token-info",
		json: struct {
			TokenKey string `json:"tokenKey"`
		}{token.Reveal()},
		bearer: token, secrets: secrets,
	})
	if err != nil {
		return nil, err
	}
	if resp.status >= 400 {
		return c.inactiveFromRejection(EndpointPrivateAppTokenInfo, resp, token, decodeRejection(resp, secrets))
	}
	var body struct {
		UserID int64    `json:"userId"`
		HubID  *int64   `json:"hubId"`
		AppID  int64    `json:"appId"`
		Scopes []string `json:"scopes"`
	}
	if err := json.Unmarshal(resp.body, &body); err != nil || body.HubID == nil || body.Scopes == nil {
		return nil, malformed(EndpointPrivateAppTokenInfo, resp, "body is not private-app token metadata")
	}
	info := &TokenInfo{
		Active: true, Credential: CredentialPrivateAppToken, HubID: *body.HubID, AppID: body.AppID,
		UserID: body.UserID, Scopes: normalizeScopes(body.Scopes),
	}
	return info, nil
}

// inactiveFromRejection reads a 400, 401 or 404 from an introspection
// endpoint as "this token is not active" (expired when HubSpot says so, with
// the expiry from context["expire time"]); other statuses are errors.
func (c *Client) inactiveFromRejection(ep Endpoint, resp *response, token Secret, rej Rejection) (*TokenInfo, error) {
	switch resp.status {
	case http.StatusBadRequest, http.StatusUnauthorized, http.StatusNotFound:
	default:
		return nil, &RequestRejectedError{Endpoint: ep, Rejection: rej}
	}
	info := &TokenInfo{InactiveReason: InactiveRevokedOrUnknown, Credential: ClassifyCredential(token.Reveal()).Inner}
	lower := strings.ToLower(rej.Message)
	switch {
	case rej.Category == "EXPIRED_AUTHENTICATION" || strings.Contains(lower, "expired"):
		info.InactiveReason = InactiveExpired
		info.ExpiresAt = expireTime(resp.body)
	case strings.Contains(lower, "format"):
		info.InactiveReason = InactiveMalformed
	}
	return info, nil
}

// expireTime reads context["expire time"][0] from an EXPIRED_AUTHENTICATION
// body; zero when absent or unreadable.
func expireTime(body []byte) time.Time {
	raw, ok := parseErrorBody(body).Context["expire time"]
	if !ok {
		return time.Time{}
	}
	var values []string
	if json.Unmarshal(raw, &values) != nil || len(values) == 0 {
		return time.Time{}
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.000Z0700", "2006-01-02T15:04:05Z0700"} {
		if t, err := time.Parse(layout, values[0]); err == nil {
			return t
		}
	}
	return time.Time{}
}

func malformed(ep Endpoint, resp *response, reason string) error {
	return &MalformedResponseError{Endpoint: ep, Status: resp.status, Reason: reason}
}

func normalizeScopes(scopes []string) []string {
	if scopes == nil {
		return nil
	}
	out := make([]string, 0, len(scopes))
	for _, s := range scopes {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}
