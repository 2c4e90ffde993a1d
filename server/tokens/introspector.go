package tokens

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/eshopman/scopeguard/server/hubspot"
)

// Defaults for IntrospectorOptions.
const (
	// DefaultStaticTokenTTL is how long an answer about a token without an
	// expiry (private-app tokens) is kept: such tokens can be rotated or
	// deactivated at any time.
	DefaultStaticTokenTTL = 5 * time.Minute
	// DefaultInactiveTTL is how long an "inactive" answer is kept.
	DefaultInactiveTTL = 30 * time.Second
)

// IntrospectorOptions configure an Introspector.
type IntrospectorOptions struct {
	// Client calls HubSpot; required.
	Client *hubspot.Client
	// Store keeps the answers; default a new MemoryStore of MaxEntries.
	Store Store
	// MaxEntries bounds the default store; default 10,000.
	MaxEntries int
	// StaticTokenTTL bounds how long an answer without an expiry is kept;
	// default 5 minutes.
	StaticTokenTTL time.Duration
	// InactiveTTL is how long an inactive answer is kept; default 30
	// seconds; negative keeps none.
	InactiveTTL time.Duration
	// UpstreamTimeout bounds one shared HubSpot call; default 30 seconds.
	UpstreamTimeout time.Duration
	// Now is the clock deciding expiry; default time.Now.
	Now func() time.Time
	// Hooks observe answers (OnIntrospect).
	Hooks Hooks
	// Logger receives internal errors (a panic in a shared call); nil
	// discards them. Tokens are never logged.
	Logger *slog.Logger
}

// Introspector asks HubSpot what an access token may do, once per token at a
// time, and keeps the answer until the token expires (bounded for tokens
// without expiry, brief for inactive answers). Errors are never cached. It is
// safe for concurrent use.
type Introspector struct {
	client      *hubspot.Client
	staticTTL   time.Duration
	inactiveTTL time.Duration
	timeout     time.Duration
	now         func() time.Time
	hooks       Hooks
	store       Store
	flights     flight[*hubspot.TokenInfo]
}

// NewIntrospector returns an Introspector; opts.Client is required.
func NewIntrospector(opts IntrospectorOptions) (*Introspector, error) {
	if opts.Client == nil {
		return nil, errors.New("tokens: IntrospectorOptions.Client is required")
	}
	i := &Introspector{
		client:      opts.Client,
		staticTTL:   opts.StaticTokenTTL,
		inactiveTTL: opts.InactiveTTL,
		timeout:     opts.UpstreamTimeout,
		now:         opts.Now,
		hooks:       opts.Hooks,
		store:       opts.Store,
		flights:     flight[*hubspot.TokenInfo]{log: opts.Logger},
	}
	if i.store == nil {
		i.store = NewMemoryStore(opts.MaxEntries)
	}
	if i.staticTTL <= 0 {
		i.staticTTL = DefaultStaticTokenTTL
	}
	if i.inactiveTTL == 0 {
		i.inactiveTTL = DefaultInactiveTTL
	}
	if i.timeout <= 0 {
		i.timeout = DefaultUpstreamTimeout
	}
	if i.now == nil {
		i.now = time.Now
	}
	return i, nil
}

// Introspect returns what HubSpot says about token. Private-app tokens go to
// the private-app endpoint; OAuth access tokens, and values of no known shape,
// to OAuth introspection with app's credentials (needed with OAuth 2026-03).
// Values that are never bearer tokens (refresh tokens, developer API keys,
// personal access keys) and values with their own "Bearer " prefix are
// answered inactive from their shape, without a HubSpot call. Surrounding whitespace is
// ignored. An expired, revoked or unknown token is an answer (Active false),
// not an error. Errors are the hubspot package's typed errors
// (*hubspot.AppCredentialsRequiredError, *hubspot.ClientCredentialsError,
// *hubspot.RateLimitError, *hubspot.UnavailableError, ...) or ctx's error.
func (i *Introspector) Introspect(ctx context.Context, app hubspot.AppCredentials, token hubspot.Secret) (*hubspot.TokenInfo, error) {
	token = hubspot.Secret(strings.TrimSpace(token.Reveal()))
	cred := hubspot.ClassifyCredential(token.Reveal())
	if cred.Kind == hubspot.CredentialBearerPrefixed {
		i.observe(SourceShape, nil)
		return &hubspot.TokenInfo{InactiveReason: hubspot.InactiveBearerPrefixed, Credential: cred.Inner}, nil
	}
	if !cred.Kind.Bearer() {
		i.observe(SourceShape, nil)
		return &hubspot.TokenInfo{InactiveReason: hubspot.InactiveNotBearerToken, Credential: cred.Kind}, nil
	}
	private := cred.Kind == hubspot.CredentialPrivateAppToken
	// OAuth 2026-03 answers depend on the app asking (a token of another
	// app is inactive to it); the other endpoints do not.
	clientID := ""
	if !private && i.client.OAuthVersion() == hubspot.OAuthVersion202603 {
		clientID = app.ClientID
	}
	key := i.store.Key("introspect", clientID, token.Reveal())
	if info, ok := i.cached(ctx, key); ok {
		i.observe(SourceCache, nil)
		return info, nil
	}
	info, shared, err := i.flights.do(ctx, key.name, i.timeout, func(fctx context.Context) (*hubspot.TokenInfo, error) {
		var (
			info *hubspot.TokenInfo
			err  error
		)
		if private {
			info, err = i.client.IntrospectPrivateAppToken(fctx, token)
		} else {
			info, err = i.client.IntrospectAccessToken(fctx, app, token)
		}
		if err != nil {
			return nil, err
		}
		if info.Active && info.TokenUse == "refresh_token" {
			info = &hubspot.TokenInfo{InactiveReason: hubspot.InactiveNotBearerToken, Credential: hubspot.CredentialRefreshToken}
		}
		if until := i.keepUntil(info); i.now().Before(until) {
			// Best effort: a store that cannot keep the answer costs a
			// HubSpot call later, not this answer.
			_ = i.store.Put(fctx, key, encodeInfo(info, until), until.Sub(i.now()))
		}
		return info, nil
	})
	source := SourceUpstream
	if shared {
		source = SourceShared
	}
	i.observe(source, err)
	if err != nil {
		return nil, err
	}
	return cloneInfo(info), nil
}

// cached reads key's answer if it is still to be served by this replica's
// clock.
func (i *Introspector) cached(ctx context.Context, key Key) (*hubspot.TokenInfo, bool) {
	e, ok, err := i.store.Get(ctx, key)
	if err != nil || !ok {
		return nil, false
	}
	info, until, ok := decodeInfo(e.Value)
	if !ok || !i.now().Before(until) {
		return nil, false
	}
	return info, true
}

// keepUntil is when a cached answer stops being served.
func (i *Introspector) keepUntil(info *hubspot.TokenInfo) time.Time {
	now := i.now()
	switch {
	case !info.Active:
		return now.Add(i.inactiveTTL)
	case info.ExpiresAt.IsZero():
		return now.Add(i.staticTTL)
	default:
		return info.ExpiresAt
	}
}

func (i *Introspector) observe(source Source, err error) {
	if i.hooks.OnIntrospect != nil {
		i.hooks.OnIntrospect(source, err)
	}
}

func cloneInfo(info *hubspot.TokenInfo) *hubspot.TokenInfo {
	out := *info
	out.Scopes = slices.Clone(info.Scopes)
	return &out
}
