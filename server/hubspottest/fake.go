// Package hubspottest is a fake HubSpot for tests, end-to-end runs and demos.
// It serves the OAuth endpoints of both API generations (v1 and 2026-03),
// private-app token metadata, and a generic API surface that answers like
// HubSpot does (200, 401 INVALID_AUTHENTICATION / EXPIRED_AUTHENTICATION,
// 403 MISSING_SCOPES, 429 RATE_LIMITS with the X-HubSpot-RateLimit-*
// headers), using the body shapes documented in ../shared/hubspot/FACTS.md.
//
// Which scopes an endpoint needs is not this package's knowledge: the caller
// injects an Authorizer (scopeguard's catalog in production use). Tests mint
// apps, tokens and authorization codes, revoke them, move the fake's clock,
// inject faults (latency, 5xx, 429, malformed JSON, connection resets, slow
// bodies, held requests) and count the calls each endpoint received.
package hubspottest

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"testing"
	"time"
)

// DefaultAccessTokenLifetime is HubSpot's access-token lifetime (expires_in
// 1800) since the change from 6 hours to 30 minutes.
const DefaultAccessTokenLifetime = 30 * time.Minute

// AuthorizeRequest is one generic API call to decide.
type AuthorizeRequest struct {
	// Method is the HTTP method in upper case.
	Method string
	// Path is the request path without query.
	Path string
	// Scopes are the calling token's scopes.
	Scopes []string
	// PrivateApp is true when the token is a private-app token, so the
	// private-app scope lists apply.
	PrivateApp bool
}

// Decision is an Authorizer's answer.
type Decision struct {
	// Known is false when no endpoint matches; the fake answers 404.
	Known bool
	// Allowed is true when the scopes satisfy the endpoint.
	Allowed bool
	// Required are the scopes the 403 body lists in
	// errors[0].context.requiredGranularScopes.
	Required []string
	// AllOf selects "All of the following scopes are required." instead of
	// "One or more of the following scopes are required.".
	AllOf bool
}

// Authorizer decides generic API calls; scopeguard's catalog supplies one.
type Authorizer func(AuthorizeRequest) Decision

// Options configure a Fake.
type Options struct {
	// Authorize decides generic API calls; nil makes every generic path
	// unknown (404).
	Authorize Authorizer
	// Now is the fake's clock (token expiry, rate-limit windows); default
	// time.Now. Clock.Now fits.
	Now func() time.Time
	// AccessTokenLifetime is expires_in for tokens the token endpoint issues;
	// default 30 minutes.
	AccessTokenLifetime time.Duration
	// OmitTokenMetadata leaves hub_id, user_id and scopes out of token
	// responses, as HubSpot did before 2025-08.
	OmitTokenMetadata bool
	// Hublet is the data-centre label in minted tokens; default "na1".
	Hublet string
	// RotateRefreshTokens makes every refresh return a new refresh token and
	// revoke the one sent, as some OAuth servers do (HubSpot normally
	// returns the same one).
	RotateRefreshTokens bool
}

// App is an OAuth app the token endpoint accepts.
type App struct {
	// ClientID is the app's client id.
	ClientID string
	// ClientSecret is the app's client secret.
	ClientSecret string
	// AppID is HubSpot's numeric app id, reported by introspection.
	AppID int64
}

// Grant is who a minted token or code belongs to and what it may do.
type Grant struct {
	// ClientID is the OAuth app (must be added with AddApp for refresh and
	// code exchange); empty for private-app tokens.
	ClientID string
	// AppID is the app id; for OAuth grants it defaults to the app's.
	AppID int64
	// HubID is the account id.
	HubID int64
	// UserID is the installing user's id.
	UserID int64
	// User is the installing user's email.
	User string
	// HubDomain is the account's domain.
	HubDomain string
	// Scopes are the granted scopes.
	Scopes []string
	// PrivateDistribution is reported as is_private_distribution.
	PrivateDistribution bool
}

type tokenKind int

const (
	kindAccess tokenKind = iota
	kindRefresh
	kindPrivateApp
	kindAuthCode
)

type tokenState struct {
	kind      tokenKind
	grant     Grant
	expiresAt time.Time // zero: never
	revoked   bool
	used      bool // authorization codes are single-use
}

// Fake is the fake HubSpot's state and HTTP handler. It is safe for
// concurrent use. Serve it with Start in tests or any http.Server.
type Fake struct {
	opts Options

	mu        sync.Mutex
	apps      map[string]App
	tokens    map[string]*tokenState
	faults    map[Endpoint][]*Fault
	calls     map[Endpoint]int
	requests  map[Endpoint][]Request
	rateLimit RateLimit
	windows   map[string][]time.Time
	daily     map[string]dailyCount
	forbidden []forbiddenRule
}

// New returns a Fake with no apps or tokens.
func New(opts Options) *Fake {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.AccessTokenLifetime <= 0 {
		opts.AccessTokenLifetime = DefaultAccessTokenLifetime
	}
	if opts.Hublet == "" {
		opts.Hublet = "na1"
	}
	return &Fake{
		opts:     opts,
		apps:     map[string]App{},
		tokens:   map[string]*tokenState{},
		faults:   map[Endpoint][]*Fault{},
		calls:    map[Endpoint]int{},
		requests: map[Endpoint][]Request{},
		windows:  map[string][]time.Time{},
		daily:    map[string]dailyCount{},
	}
}

// Server is a Fake listening on a local httptest server.
type Server struct {
	*Fake
	// URL is the base URL to give scopeguard's --hubspot-api-url.
	URL string
	srv *httptest.Server
}

// Start serves a new Fake on 127.0.0.1 until the test ends.
func Start(t testing.TB, opts Options) *Server {
	t.Helper()
	f := New(opts)
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	return &Server{Fake: f, URL: srv.URL, srv: srv}
}

// Close stops the server early (it also stops when the test ends).
func (s *Server) Close() { s.srv.Close() }

// Client is an HTTP client for the server; closing the server closes its
// connections.
func (s *Server) Client() *http.Client { return s.srv.Client() }

// AddApp registers an OAuth app.
func (f *Fake) AddApp(app App) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.apps[app.ClientID] = app
}

// MintAccessToken issues an OAuth access token for g that expires at
// expiresAt (zero: now plus the access-token lifetime; a past time mints an
// expired token).
func (f *Fake) MintAccessToken(g Grant, expiresAt time.Time) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	if expiresAt.IsZero() {
		expiresAt = f.opts.Now().Add(f.opts.AccessTokenLifetime)
	}
	return f.mintLocked(kindAccess, g, expiresAt)
}

// MintRefreshToken issues a refresh token for g; g.ClientID names the app
// that may use it.
func (f *Fake) MintRefreshToken(g Grant) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.mintLocked(kindRefresh, g, time.Time{})
}

// MintPrivateAppToken issues a private-app token ("pat-<hublet>-<uuid>").
func (f *Fake) MintPrivateAppToken(g Grant) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.mintLocked(kindPrivateApp, g, time.Time{})
}

// MintAuthCode issues a single-use authorization code for g, valid for ten
// minutes of the fake's clock.
func (f *Fake) MintAuthCode(g Grant) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.mintLocked(kindAuthCode, g, f.opts.Now().Add(10*time.Minute))
}

// Revoke makes a token or code unusable; false when unknown.
func (f *Fake) Revoke(token string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	st, ok := f.tokens[token]
	if ok {
		st.revoked = true
	}
	return ok
}

func (f *Fake) mintLocked(kind tokenKind, g Grant, expiresAt time.Time) string {
	if app, ok := f.apps[g.ClientID]; ok && g.AppID == 0 {
		g.AppID = app.AppID
	}
	g.Scopes = append([]string{}, g.Scopes...)
	var token string
	switch kind {
	case kindAccess:
		// URL-safe base64 of a protobuf-like message whose first byte is the
		// varint tag 0x08, the shape of HubSpot's access tokens.
		token = base64.RawURLEncoding.EncodeToString(append([]byte{0x08}, randomBytes(60)...))
	case kindRefresh:
		// "<hublet>-xxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx", like "na1-8649-43d7-...".
		u := uuid()
		token = f.opts.Hublet + "-" + u[4:8] + "-" + u[9:]
	case kindPrivateApp:
		token = "pat-" + f.opts.Hublet + "-" + uuid()
	case kindAuthCode:
		token = uuid()
	}
	f.tokens[token] = &tokenState{kind: kind, grant: g, expiresAt: expiresAt}
	return token
}

func (f *Fake) lookupLocked(token string, kind tokenKind) (*tokenState, bool) {
	st, ok := f.tokens[token]
	if !ok || st.kind != kind {
		return nil, false
	}
	return st, true
}

func (st *tokenState) expired(now time.Time) bool {
	return !st.expiresAt.IsZero() && !now.Before(st.expiresAt)
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	_, _ = rand.Read(b) // never fails on supported platforms
	return b
}

// uuid returns a random version-4 UUID in its 8-4-4-4-12 form.
func uuid() string {
	b := randomBytes(16)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b)
	return fmt.Sprintf("%s-%s-%s-%s-%s", h[0:8], h[8:12], h[12:16], h[16:20], h[20:32])
}

// Clock is a manual clock for the fake and for code under test: it moves only
// when told.
type Clock struct {
	mu  sync.Mutex
	now time.Time
}

// NewClock returns a clock reading start.
func NewClock(start time.Time) *Clock { return &Clock{now: start} }

// Now reads the clock.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Advance moves the clock forward by d.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// Request is one request the fake received, recorded for assertions. Form
// holds the parsed form body (OAuth endpoints) and JSON the decoded JSON body
// (private-app token info).
type Request struct {
	// Method is the HTTP method.
	Method string
	// Path is the request path.
	Path string
	// Version is the OAuth API version in the path ("v1", "2026-03"); empty
	// for other endpoints.
	Version string
	// Query is the query string, parsed.
	Query url.Values
	// Form is the form body, parsed.
	Form url.Values
	// Header is the request's headers.
	Header http.Header
	// JSON is the JSON body's top-level fields, for JSON endpoints.
	JSON map[string]any
}
