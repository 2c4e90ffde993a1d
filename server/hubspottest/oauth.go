package hubspottest

import (
	"net/http"
	"strconv"
	"strings"
	"time"
)

// clientLocked checks the form's client id and secret.
func (f *Fake) clientLocked(form map[string][]string) (App, bool) {
	id, secret := first(form, "client_id"), first(form, "client_secret")
	app, ok := f.apps[id]
	return app, ok && id != "" && app.ClientSecret == secret
}

func first(form map[string][]string, key string) string {
	if v := form[key]; len(v) > 0 {
		return v[0]
	}
	return ""
}

// token serves both grants of POST /oauth/{v1,2026-03}/token.
func (f *Fake) token(w http.ResponseWriter, _ *http.Request, req Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	app, ok := f.clientLocked(req.Form)
	if !ok {
		oauthError(w, req.Version, "BAD_CLIENT_ID", "invalid_client", "missing or invalid client id or secret")
		return
	}
	now := f.opts.Now()
	var refresh string
	switch first(req.Form, "grant_type") {
	case "refresh_token":
		refresh = first(req.Form, "refresh_token")
		st, ok := f.lookupLocked(refresh, kindRefresh)
		if !ok || st.revoked || st.grant.ClientID != app.ClientID {
			oauthError(w, req.Version, "BAD_REFRESH_TOKEN", "invalid_grant", "missing or invalid refresh token")
			return
		}
		if f.opts.RotateRefreshTokens {
			st.revoked = true
			refresh = f.mintLocked(kindRefresh, st.grant, time.Time{})
		}
	case "authorization_code":
		st, ok := f.lookupLocked(first(req.Form, "code"), kindAuthCode)
		switch {
		case !ok || st.revoked || st.used || st.grant.ClientID != app.ClientID:
			oauthError(w, req.Version, "BAD_AUTH_CODE", "invalid_grant", "missing or unknown auth code")
			return
		case st.expired(now):
			oauthError(w, req.Version, "EXPIRED_AUTH_CODE", "invalid_grant", "auth code is expired")
			return
		}
		st.used = true
		refresh = f.mintLocked(kindRefresh, st.grant, time.Time{})
	default:
		oauthError(w, req.Version, "BAD_GRANT_TYPE", "unsupported_grant_type", "unsupported grant_type")
		return
	}
	grant := f.tokens[refresh].grant
	access := f.mintLocked(kindAccess, grant, now.Add(f.opts.AccessTokenLifetime))
	body := map[string]any{
		"token_type":    "bearer",
		"token_use":     "access_token",
		"refresh_token": refresh,
		"access_token":  access,
		"expires_in":    int64(f.opts.AccessTokenLifetime.Seconds()),
	}
	if !f.opts.OmitTokenMetadata {
		body["hub_id"] = grant.HubID
		body["user_id"] = grant.UserID
		body["scopes"] = grant.Scopes
	}
	writeJSON(w, http.StatusOK, body)
}

// introspect serves POST /oauth/2026-03/token/introspect. Tokens issued to
// another app, expired, revoked or unknown are {"active": false} (RFC 7662).
func (f *Fake) introspect(w http.ResponseWriter, _ *http.Request, req Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	app, ok := f.clientLocked(req.Form)
	if !ok {
		oauthError(w, req.Version, "BAD_CLIENT_ID", "invalid_client", "missing or invalid client id or secret")
		return
	}
	token := first(req.Form, "token")
	st, ok := f.tokens[token]
	if !ok || st.revoked || st.expired(f.opts.Now()) || st.grant.ClientID != app.ClientID ||
		(st.kind != kindAccess && st.kind != kindRefresh) {
		writeJSON(w, http.StatusOK, map[string]any{"active": false})
		return
	}
	g := st.grant
	body := map[string]any{
		"active": true, "token": token, "token_type": "bearer", "hub_id": g.HubID, "user_id": g.UserID,
		"client_id": app.ClientID, "app_id": g.AppID, "scopes": g.Scopes, "user": g.User, "hub_domain": g.HubDomain,
	}
	if st.kind == kindAccess {
		body["token_use"] = "access_token"
		body["expires_in"] = int64(st.expiresAt.Sub(f.opts.Now()).Seconds())
		body["is_private_distribution"] = g.PrivateDistribution
	} else {
		body["token_use"] = "refresh_token"
	}
	writeJSON(w, http.StatusOK, body)
}

// revoke serves DELETE /oauth/v1/refresh-tokens/{token} (204, or
// BAD_REFRESH_TOKEN when unknown) and POST /oauth/2026-03/token/revoke (200
// whether or not the token was known, as RFC 7009 asks).
func (f *Fake) revoke(w http.ResponseWriter, _ *http.Request, req Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if req.Version == "v1" {
		st, ok := f.lookupLocked(strings.TrimPrefix(req.Path, "/oauth/v1/refresh-tokens/"), kindRefresh)
		if !ok || st.revoked {
			oauthError(w, req.Version, "BAD_REFRESH_TOKEN", "invalid_grant", "missing or invalid refresh token")
			return
		}
		st.revoked = true
		w.WriteHeader(http.StatusNoContent)
		return
	}
	app, ok := f.clientLocked(req.Form)
	if !ok {
		oauthError(w, req.Version, "BAD_CLIENT_ID", "invalid_client", "missing or invalid client id or secret")
		return
	}
	if st, ok := f.lookupLocked(first(req.Form, "token"), kindRefresh); ok && st.grant.ClientID == app.ClientID {
		st.revoked = true
	}
	w.WriteHeader(http.StatusOK)
}

// accessTokenInfoV1 serves GET /oauth/v1/access-tokens/{token}. A value that
// is not an OAuth access token (a pat-... token, say) gets HubSpot's 400 "must
// have the correct format" (HubSpot/hubspot-api-nodejs#530); an expired one
// the 401 EXPIRED_AUTHENTICATION body; a revoked or unknown one 401
// INVALID_AUTHENTICATION.
func (f *Fake) accessTokenInfoV1(w http.ResponseWriter, _ *http.Request, req Request) {
	token := strings.TrimPrefix(req.Path, "/oauth/v1/access-tokens/")
	f.mu.Lock()
	defer f.mu.Unlock()
	now := f.opts.Now()
	if !strings.HasPrefix(token, "C") || strings.HasPrefix(token, "pat-") {
		writeJSON(w, http.StatusBadRequest, map[string]any{
			"status": "error", "message": "The access token must have the correct format", "correlationId": uuid(),
		})
		return
	}
	st, ok := f.lookupLocked(token, kindAccess)
	switch {
	case !ok || st.revoked:
		authenticationError(w)
		return
	case st.expired(now):
		expiredError(w, now, st.expiresAt)
		return
	}
	g := st.grant
	writeJSON(w, http.StatusOK, map[string]any{
		"token": token, "user": g.User, "hub_domain": g.HubDomain, "scopes": g.Scopes, "hub_id": g.HubID,
		"app_id": g.AppID, "expires_in": int64(st.expiresAt.Sub(now).Seconds()), "user_id": g.UserID,
		"token_type": "access", "is_private_distribution": g.PrivateDistribution,
	})
}

// refreshTokenInfoV1 serves GET /oauth/v1/refresh-tokens/{token}.
func (f *Fake) refreshTokenInfoV1(w http.ResponseWriter, _ *http.Request, req Request) {
	token := strings.TrimPrefix(req.Path, "/oauth/v1/refresh-tokens/")
	f.mu.Lock()
	defer f.mu.Unlock()
	st, ok := f.lookupLocked(token, kindRefresh)
	if !ok || st.revoked {
		oauthError(w, req.Version, "BAD_REFRESH_TOKEN", "invalid_grant", "missing or invalid refresh token")
		return
	}
	g := st.grant
	writeJSON(w, http.StatusOK, map[string]any{
		"token": token, "user": g.User, "hub_domain": g.HubDomain, "scopes": g.Scopes, "hub_id": g.HubID,
		"client_id": g.ClientID, "user_id": g.UserID, "token_type": "refresh",
	})
}

// privateAppTokenInfo serves POST /oauth/v2/private-apps/get/access-token-info
// ({"tokenKey": "pat-..."} → {userId, hubId, appId, scopes}).
func (f *Fake) privateAppTokenInfo(w http.ResponseWriter, _ *http.Request, req Request) {
	key, _ := req.JSON["tokenKey"].(string)
	if key == "" {
		validationError(w, "tokenKey is required")
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	st, ok := f.lookupLocked(key, kindPrivateApp)
	if !ok || st.revoked {
		authenticationError(w)
		return
	}
	g := st.grant
	writeJSON(w, http.StatusOK, map[string]any{"userId": g.UserID, "hubId": g.HubID, "appId": g.AppID, "scopes": g.Scopes})
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
