// Package tokens keeps HubSpot tokens fresh and cheap to check: a Refresher
// exchanges refresh tokens for access tokens once per app and refresh token
// at a time, no matter how many callers ask, and serves still-fresh access
// tokens from its Store; an Introspector caches what HubSpot says about
// access tokens until they expire; Apps holds the OAuth app credentials the
// server is configured with.
//
// State lives behind the Store interface: MemoryStore (bounded, one
// process) or RedisStore, which replicas share: its entries are encrypted,
// its refresh leases carry fences so only the newest refresh is stored, and
// while Redis is unreachable it serves from memory.
//
// Keys are HMACs of the credentials, never the credentials themselves, and
// nothing here logs a token or secret.
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
	// DefaultLeaseTTL is how long a refresh lease lasts: a holder that dies
	// holds up the others this long at most.
	DefaultLeaseTTL = 15 * time.Second
)

// Polling for another holder's result starts at firstPoll and doubles up to
// maxPoll.
const (
	firstPoll = 5 * time.Millisecond
	maxPoll   = 100 * time.Millisecond
)

// Source says where an answer came from, for metrics.
type Source string

// The sources of an answer.
const (
	// SourceCache is an answer from the store, with no HubSpot call.
	SourceCache Source = "cache"
	// SourceShared is an answer from a HubSpot call another caller (or
	// another replica) started.
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
	// Store keeps the access tokens and orders refreshes; default a new
	// MemoryStore of MaxEntries.
	Store Store
	// MaxEntries bounds the default store; default 10,000.
	MaxEntries int
	// UpstreamTimeout bounds one shared refresh, retries, the scope lookup
	// and any wait for another replica's refresh included; default 30
	// seconds.
	UpstreamTimeout time.Duration
	// LeaseTTL is how long a refresh lease lasts; default 15 seconds.
	LeaseTTL time.Duration
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
// for the same app and refresh token share one HubSpot call (in the process
// through a single-flight, across replicas through the store's lease); a
// fresh access token is served from the store until Skew before it expires.
// Failures are never cached. It is safe for concurrent use.
type Refresher struct {
	client   *hubspot.Client
	skew     time.Duration
	timeout  time.Duration
	leaseTTL time.Duration
	now      func() time.Time
	hooks    Hooks
	log      *slog.Logger
	store    Store
	flights  flight[refreshResult]
}

type refreshResult struct {
	token     *Token
	fromCache bool
	// fromPeer: the token came from a refresh another holder of the lease
	// (another replica) made while this one waited.
	fromPeer bool
}

// NewRefresher returns a Refresher; opts.Client is required.
func NewRefresher(opts RefresherOptions) (*Refresher, error) {
	if opts.Client == nil {
		return nil, errors.New("tokens: RefresherOptions.Client is required")
	}
	r := &Refresher{
		client:   opts.Client,
		skew:     opts.Skew,
		timeout:  opts.UpstreamTimeout,
		now:      opts.Now,
		hooks:    opts.Hooks,
		log:      opts.Logger,
		store:    opts.Store,
		leaseTTL: opts.LeaseTTL,
	}
	if r.store == nil {
		r.store = NewMemoryStore(opts.MaxEntries)
	}
	if r.leaseTTL <= 0 {
		r.leaseTTL = DefaultLeaseTTL
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

// Refresh returns a fresh access token for req: from the store when one is
// fresh and req.Force is false, else from a HubSpot refresh shared with every
// concurrent caller for the same app and refresh token, on this replica and
// on the others sharing the store. If ctx ends first, Refresh returns ctx's
// error while the refresh goes on for the other callers. Errors are the
// hubspot package's typed errors (*hubspot.RefreshTokenError,
// *hubspot.ClientCredentialsError, *hubspot.RateLimitError,
// *hubspot.UnavailableError, ...), *LeaseTimeoutError, or ctx's error.
func (r *Refresher) Refresh(ctx context.Context, req RefreshRequest) (*Token, error) {
	// The client secret is part of the key: a caller holding the refresh
	// token but not the secret must not be served another caller's token.
	key := r.store.Key("refresh", req.App.ClientID, req.App.ClientSecret.Reveal(), req.RefreshToken.Reveal())
	if !req.Force {
		if tok, _, fresh := r.lookup(ctx, key); fresh {
			r.observe(SourceCache, nil)
			tok.Shared = true // decoded for this caller alone
			return tok, nil
		}
	}
	res, shared, err := r.flights.do(ctx, key.name, r.timeout, func(fctx context.Context) (refreshResult, error) {
		return r.coordinate(fctx, key, req)
	})
	source := SourceUpstream
	switch {
	case shared || res.fromPeer:
		source = SourceShared
	case res.fromCache:
		source = SourceCache
	}
	r.observe(source, err)
	if err != nil {
		return nil, err
	}
	return share(res.token, shared || res.fromCache || res.fromPeer), nil
}

// lookup reads key's token: fresh is false when there is none, or it is
// within Skew of expiring by this replica's clock. fence is the stored
// entry's, fresh or not (0 when none).
func (r *Refresher) lookup(ctx context.Context, key Key) (tok *Token, fence int64, fresh bool) {
	e, ok, err := r.store.Get(ctx, key)
	if err != nil || !ok {
		return nil, 0, false
	}
	tok, ok = decodeToken(e.Value)
	if !ok {
		return nil, e.Fence, false
	}
	return tok, e.Fence, r.now().Before(tok.ExpiresAt.Add(-r.skew))
}

// coordinate is one replica's flight for key: it takes the key's lease and
// refreshes, or, while another holder has the lease, waits for the token
// that holder stores (or for the lease to end, when it takes it). An answer
// must be newer than what req.Force was asked to skip.
func (r *Refresher) coordinate(ctx context.Context, key Key, req RefreshRequest) (refreshResult, error) {
	// Entries with a fence above after answer this request: any entry (-1),
	// or with Force one newer than the entry there now.
	after := int64(-1)
	if req.Force {
		_, after, _ = r.lookup(ctx, key)
	}
	poll, waited := firstPoll, false
	for {
		if tok, fence, fresh := r.lookup(ctx, key); fresh && fence > after {
			return refreshResult{token: tok, fromCache: !waited, fromPeer: waited}, nil
		}
		lease, held, err := r.store.Lease(ctx, key, r.leaseTTL)
		if err != nil {
			return refreshResult{}, r.waitEnded(ctx, waited, err)
		}
		if held {
			return r.refreshHolding(ctx, key, req, lease, after, waited)
		}
		waited = true
		timer := time.NewTimer(poll)
		select {
		case <-timer.C:
		case <-ctx.Done():
			timer.Stop()
			return refreshResult{}, r.waitEnded(ctx, waited, ctx.Err())
		}
		poll = min(2*poll, maxPoll)
	}
}

// waitEnded is the error of a flight that stopped with err: a
// LeaseTimeoutError when it ran out of time waiting on another holder.
func (r *Refresher) waitEnded(ctx context.Context, waited bool, err error) error {
	if waited && errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return &LeaseTimeoutError{Waited: r.timeout}
	}
	return err
}

// refreshHolding refreshes at HubSpot under lease and stores the result if
// the lease is still the newest. The token stored and returned carries the
// refresh token HubSpot returned.
func (r *Refresher) refreshHolding(ctx context.Context, key Key, req RefreshRequest, lease Lease, after int64, waited bool) (refreshResult, error) {
	defer func() { _ = lease.Release(context.WithoutCancel(ctx)) }()
	// The holder before may have stored its token just before letting go.
	if tok, fence, fresh := r.lookup(ctx, key); fresh && fence > after {
		return refreshResult{token: tok, fromCache: !waited, fromPeer: waited}, nil
	}
	tok, err := r.upstream(ctx, req)
	if err != nil {
		return refreshResult{}, err
	}
	if ttl := tok.ExpiresAt.Add(-r.skew).Sub(r.now()); ttl > 0 {
		if _, err := lease.Store(ctx, encodeToken(tok), ttl); err != nil {
			r.log.LogAttrs(ctx, slog.LevelWarn, "refreshed token not stored", slog.String("error", err.Error()))
		}
	}
	return refreshResult{token: tok}, nil
}

// LeaseTimeoutError means another holder of a refresh lease (another
// replica) kept it for the whole wait and stored no token. Retrying soon is
// safe: the lease ends by itself.
type LeaseTimeoutError struct {
	// Waited is how long the refresh waited.
	Waited time.Duration
}

func (e *LeaseTimeoutError) Error() string {
	return "tokens: another replica's refresh of this token did not finish within " + e.Waited.String()
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
