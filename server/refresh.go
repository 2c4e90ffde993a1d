package server

import (
	"context"
	"math"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	scopeguardv1 "github.com/eshopman/scopeguard/gen/scopeguard/v1"
	"github.com/eshopman/scopeguard/server/hubspot"
	"github.com/eshopman/scopeguard/server/tokens"
)

// RefreshToken exchanges a refresh token for an access token, sharing one
// HubSpot call among concurrent callers and serving fresh tokens from
// memory.
func (s *Service) RefreshToken(ctx context.Context, req *scopeguardv1.RefreshTokenRequest) (*scopeguardv1.RefreshTokenResponse, error) {
	app, err := s.refreshCredentials(ctx, req)
	if err != nil {
		return nil, toStatus(ctx, err)
	}
	tok, err := s.refresher.Refresh(ctx, tokens.RefreshRequest{
		App:          app,
		RefreshToken: hubspot.Secret(req.GetRefreshToken()),
		Force:        req.GetForce(),
	})
	if err != nil {
		return nil, toStatus(ctx, err)
	}
	return &scopeguardv1.RefreshTokenResponse{
		AccessToken:  tok.AccessToken.Reveal(),
		RefreshToken: tok.RefreshToken.Reveal(),
		ExpiresAt:    timestamppb.New(tok.ExpiresAt),
		ExpiresIn:    secondsUntil(tok.ExpiresAt, s.now()),
		Scopes:       tok.Scopes,
		HubId:        tok.HubID,
		TokenType:    tok.TokenType,
		Shared:       tok.Shared,
	}, nil
}

// refreshCredentials picks the app credentials for a refresh: the named
// configured app, or the client id and secret in the request (validation
// guarantees exactly one of the two). A redirect URI in the request wins
// over the app's. The caller must be granted a named app.
func (s *Service) refreshCredentials(ctx context.Context, req *scopeguardv1.RefreshTokenRequest) (hubspot.AppCredentials, error) {
	creds := hubspot.AppCredentials{
		ClientID:     req.GetClientId(),
		ClientSecret: hubspot.Secret(req.GetClientSecret()),
	}
	if name := req.GetApp(); name != "" {
		app, err := s.app(ctx, name)
		if err != nil {
			return hubspot.AppCredentials{}, err
		}
		creds = app.AppCredentials
	}
	if uri := req.GetRedirectUri(); uri != "" {
		creds.RedirectURI = uri
	}
	return creds, nil
}

// secondsUntil is expires_in: whole seconds from now to t, rounded up so a
// token is never reported as expiring earlier than it does; 0 once past.
func secondsUntil(t, now time.Time) int64 {
	d := t.Sub(now)
	if d <= 0 {
		return 0
	}
	return int64(math.Ceil(d.Seconds()))
}
