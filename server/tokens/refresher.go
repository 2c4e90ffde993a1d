// Package tokens keeps HubSpot tokens fresh and cheap to check: a Refresher
// exchanges refresh tokens for access tokens once per app and refresh token
// at a time, no matter how many callers ask, and serves still-fresh access
// tokens from memory; an Introspector caches what HubSpot says about access
// tokens until they expire; Apps holds the OAuth app credentials the server
// is configured with. State is in memory and bounded.
//
// Keys are HMACs of the credentials under a per-process random key, never
// the credentials themselves, and nothing here logs a token or secret.
package tokens

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"time"

	"github.com/eshopman/scopeguard/server/hubspot"
)

// Defaults for RefresherOptions and IntrospectorOptions.
const (
	// DefaultSkew is how long before expiry a cached access token stops
	// being handed out.
	DefaultSkew = 5 * time.Minute
	// DefaultMaxEntries bounds each cache.
	DefaultMaxEntries = 10_000
	// DefaultUpstreamTimeout bounds one shared HubSpot call, retries
	// included, whoever waits for it.
	DefaultUpstreamTimeout = 30 * time.Second
)

// Source says where an answer came from, for metrics.
type Source string

// The sources of an answer.
const (
	// SourceCache is an answer from memory, with no HubSpot call.
	SourceCache Source = "cache"
	// SourceShared is an answer from a HubSpot call another caller started.
	SourceShared Source = "shared"
	// SourceUpstream is an answer from a HubSpot call this caller started.
	SourceUpstream Source = "upstream"
	// SourceShape is an answer from the credential's shape alone: a value
	// that is not a bearer token needs no HubSpot call.
	SourceShape Source = "shape"
)

// Hooks observe answers for metrics. Nil fields are skipped.
type Hooks struct {
	// OnRefresh is called once per Refresh call with where the answer came
	// from and its error (nil on success).
	OnRefresh func(source Source, err error)
	// OnIntrospect is called once per Introspect call likewise.
	OnIntrospect func(source Source, err error)
}

// RefresherOptions configure a Refresher.
type RefresherOptions struct {
	// Client calls HubSpot; required.
	Client *hubspot.Client
	// Skew: a cached access token is served until Skew before it expires.
	// Default 5 minutes.
	Skew time.Duration
	// MaxEntries bounds the access-token cache; default 10,000.
	MaxEntries int
	// UpstreamTimeout bounds one shared refresh, retries and the scope
	// lookup included; default 30 seconds.
	UpstreamTimeout time.Duration
	// Now is the clock deciding freshness; default time.Now.
	Now func() time.Time
	// Hooks observe answers.
	Hooks Hooks
	// Logger receives warnings; nil discards. Tokens are never logged.
	Logger *slog.Logger
}

// RefreshRequest asks for an access token.
type RefreshRequest struct {
	// App is the OAuth app's credentials (and redirect URI, sent when set).
	App hubspot.AppCredentials
	// RefreshToken is the install's refresh token.
	RefreshToken hubspot.Secret
	// Force skips the cached access token (a refresh already in flight is
	// still shared).
	Force bool
}

// Token is a fresh access token.
type Token struct {
	// AccessToken is the bearer token.
	AccessToken hubspot.Secret
	// RefreshToken is the refresh token to use next time.
	RefreshToken hubspot.Secret
	// ExpiresAt is when AccessToken stops working.
	ExpiresAt time.Time
	// Scopes are the token's scopes, sorted; from the token response, or from
	// introspection when the response had none; nil when neither said.
	Scopes []string
	// HubID is the account the token belongs to; 0 when unknown.
	HubID int64
	// TokenType is HubSpot's token_type, normally "bearer".
	TokenType string
	// Shared is true when the answer came from the cache or from a refresh
	// another caller started.
	Shared bool
}

// Refresher exchanges refresh tokens for access tokens. Concurrent requests
// for the same app and refresh token share one HubSpot call; a fresh access
// token is served from memory until Skew before it expires. Failures are
// never cached. It is safe for concurrent use.
type Refresher struct {
	client  *hubspot.Client
	skew    time.Duration
	timeout time.Duration
	now     func() time.Time
	hooks   Hooks
	log     *slog.Logger
	keys    keyer
	cache   *ttlCache[*Token]
	flights flight[refreshResult]
}

type refreshResult struct {
	token     *Token
	fromCache bool
}

// NewRefresher returns a Refresher; opts.Client is required.
func NewRefresher(opts RefresherOptions) (*Refresher, error) {
	if opts.Client == nil {
		return nil, errors.New("tokens: RefresherOptions.Client is required")
	}
	r := &Refresher{
		client:  opts.Client,
		skew:    opts.Skew,
		timeout: opts.UpstreamTimeout,
		now:     opts.Now,
		hooks:   opts.Hooks,
		log:     opts.Logger,
		keys:    newKeyer(),
		cache:   newTTLCache[*Token](positiveOr(opts.MaxEntries, DefaultMaxEntries)),
	}
	if r.skew <= 0 {
		r.skew = DefaultSkew
	}
	if r.timeout <= 0 {
		r.timeout = DefaultUpstreamTimeout
	}
	if r.now == nil {
		r.now = time.Now
	}
	if r.log == nil {
		r.log = slog.New(slog.DiscardHandler)
	}
	r.flights.log = r.log
	return r, nil
}

func positiveOr(n, def int) int {
	if n <= 0 {
		return def
	}
	return n
}

// Refresh returns a fresh access token for req: from memory when one is
// fresh and req.Force is false, else from a HubSpot refresh shared with every
// concurrent caller for the same app and refresh token. If ctx ends first,
// Refresh returns ctx's error while the refresh goes on for the other
// callers. Errors are the hubspot package's typed errors
// (*hubspot.RefreshTokenError, *hubspot.ClientCredentialsError,
// *hubspot.RateLimitError, *hubspot.UnavailableError, ...) or ctx's error.
func (r *Refresher) Refresh(ctx context.Context, req RefreshRequest) (*Token, error) {
	// The client secret is part of the key: a caller holding the refresh
	// token but not the secret must not be served another caller's token.
	key := r.keys.key(req.App.ClientID, req.App.ClientSecret.Reveal(), req.RefreshToken.Reveal())
	if !req.Force {
		if tok, ok := r.cache.get(key, r.now()); ok {
			r.observe(SourceCache, nil)
			return share(tok, true), nil
		}
	}
	res, shared, err := r.flights.do(ctx, key, r.timeout, func(fctx context.Context) (refreshResult, error) {
		if !req.Force {
			// Another flight may have cached a token since this caller looked.
			if tok, ok := r.cache.get(key, r.now()); ok {
				return refreshResult{token: tok, fromCache: true}, nil
			}
		}
		tok, err := r.upstream(fctx, req)
		if err != nil {
			return refreshResult{}, err
		}
		if fresh := tok.ExpiresAt.Add(-r.skew); r.now().Before(fresh) {
			r.cache.put(key, tok, fresh, r.now())
		}
		return refreshResult{token: tok}, nil
	})
	source := SourceUpstream
	switch {
	case shared:
		source = SourceShared
	case res.fromCache:
		source = SourceCache
	}
	r.observe(source, err)
	if err != nil {
		return nil, err
	}
	return share(res.token, shared || res.fromCache), nil
}

// upstream refreshes at HubSpot and fills in scopes and hub id from
// introspection when the token response lacks them.
func (r *Refresher) upstream(ctx context.Context, req RefreshRequest) (*Token, error) {
	resp, err := r.client.RefreshAccessToken(ctx, req.App, req.RefreshToken)
	if err != nil {
		return nil, err
	}
	tok := &Token{
		AccessToken: resp.AccessToken, RefreshToken: resp.RefreshToken, ExpiresAt: resp.ExpiresAt,
		Scopes: resp.Scopes, HubID: resp.HubID, TokenType: resp.TokenType,
	}
	if tok.Scopes != nil && tok.HubID != 0 {
		return tok, nil
	}
	info, err := r.client.IntrospectAccessToken(ctx, req.App, resp.AccessToken)
	switch {
	case err != nil:
		// The token is good; only its metadata is missing.
		r.log.LogAttrs(ctx, slog.LevelWarn, "refreshed token's scopes unknown: introspection failed",
			slog.String("client_id", req.App.ClientID), slog.String("error", err.Error()))
	case !info.Active:
		r.log.LogAttrs(ctx, slog.LevelWarn, "refreshed token's scopes unknown: introspection says inactive",
			slog.String("client_id", req.App.ClientID), slog.String("reason", string(info.InactiveReason)))
	default:
		if tok.Scopes == nil {
			tok.Scopes = info.Scopes
		}
		if tok.HubID == 0 {
			tok.HubID = info.HubID
		}
	}
	return tok, nil
}

func (r *Refresher) observe(source Source, err error) {
	if r.hooks.OnRefresh != nil {
		r.hooks.OnRefresh(source, err)
	}
}

// share returns the caller's own copy of a cached or shared token.
func share(tok *Token, shared bool) *Token {
	out := *tok
	out.Scopes = slices.Clone(tok.Scopes)
	out.Shared = shared
	return &out
}
