package server

import (
	"context"
	"log/slog"
	"math"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/grpc-ecosystem/go-grpc-middleware/v2/interceptors"
	"github.com/grpc-ecosystem/go-grpc-middleware/v2/interceptors/logging"
	"golang.org/x/time/rate"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"

	scopeguardv1 "github.com/eshopman/scopeguard/gen/scopeguard/v1"
	"github.com/eshopman/scopeguard/server/callers"
	"github.com/eshopman/scopeguard/server/hubspot"
)

// Callers are established in two steps. identify, early in the chain (right
// after the request id), reads the call's credentials, so that logs and
// metrics label every call with its caller, rejected ones included.
// authenticate, where the chain authenticates (go-grpc-middleware's auth
// interceptor behind a selector that leaves health checks open),
// refuses a call that named no caller. Both read the same callers table,
// swapped whole on reload, so a call never sees half a file.

// AuthorizationHeader is the metadata key carrying "Bearer <key>".
const AuthorizationHeader = "authorization"

// caller is who made a call.
type caller struct {
	id string
	// entry is the caller's callers-file entry; nil for the anonymous
	// caller of a server without a callers file, who may use every app.
	entry *callers.Caller
	// hubspot is the caller's budget of HubSpot requests; nil means no limit.
	hubspot *rate.Limiter
}

func newCaller(id string, entry *callers.Caller, budget *rate.Limiter) *caller {
	return &caller{id: id, entry: entry, hubspot: budget}
}

func (c *caller) mayUse(app string) bool { return c.entry == nil || c.entry.MayUse(app) }

// identity is what identify found: a caller, or why there is none.
type identity struct {
	caller  *caller
	problem string // a CALLER_UNAUTHENTICATED "problem"; empty when caller is set
}

// The problems a call's credentials can have.
const (
	problemNoCredentials = "no_credentials"
	problemUnknownKey    = "unknown_key"
	problemMalformed     = "malformed_authorization"
	problemConflicting   = "conflicting_credentials"
)

type identityKey struct{}

// CallerID returns the id of the caller that made the call, from its
// context: the callers file's id, callers.Reserved ("anonymous") on a server
// without a callers file, and false when the call named no caller.
func CallerID(ctx context.Context) (string, bool) {
	c := callerFrom(ctx)
	if c == nil {
		return "", false
	}
	return c.id, true
}

func callerFrom(ctx context.Context) *caller {
	id, _ := ctx.Value(identityKey{}).(identity)
	return id.caller
}

// callerTable is one loaded callers file with each caller's budget.
type callerTable struct {
	set     *callers.Set
	callers map[*callers.Caller]*caller
}

// callerRegistry holds the callers in force and reloads them.
type callerRegistry struct {
	path      string
	lookupEnv func(string) (string, bool)
	knownApp  func(string) bool
	rate      rate.Limit
	burst     int
	log       *slog.Logger
	metrics   *Metrics

	// anonymous is every call's caller when there is no callers file.
	anonymous *caller
	table     atomic.Pointer[callerTable]

	mu      sync.Mutex // serialises reloads and guards budgets
	budgets map[string]*rate.Limiter
}

// newCallerRegistry loads cfg.CallersFile, if any. knownApp says whether an
// app name is configured; nil accepts every name.
func newCallerRegistry(cfg Config, log *slog.Logger, metrics *Metrics, knownApp func(string) bool) (*callerRegistry, error) {
	if knownApp == nil {
		knownApp = func(string) bool { return true }
	}
	r := &callerRegistry{
		path:      cfg.CallersFile,
		lookupEnv: LookupEnv,
		knownApp:  knownApp,
		rate:      budgetRate(cfg.CallerHubSpotRate),
		burst:     cfg.CallerHubSpotBurst,
		log:       log,
		metrics:   metrics,
		budgets:   map[string]*rate.Limiter{},
	}
	if r.path == "" {
		r.anonymous = newCaller(callers.Reserved, nil, rate.NewLimiter(r.rate, r.burst))
		return r, nil
	}
	set, err := callers.Load(r.path, r.lookupEnv, r.knownApp)
	if err != nil {
		return nil, err
	}
	r.install(set)
	log.Info("loaded callers", slog.Any("callers", set))
	return r, nil
}

// budgetRate turns a requests-per-second setting into a limit; 0 is none.
func budgetRate(perSecond float64) rate.Limit {
	if perSecond == 0 {
		return rate.Inf
	}
	return rate.Limit(perSecond)
}

// reload reads the callers file again. A file that does not load leaves the
// callers in force untouched; the error says why.
func (r *callerRegistry) reload() error {
	if r.path == "" {
		r.log.Warn("no callers file to reload (--callers-file is not set)")
		return nil
	}
	set, err := callers.Load(r.path, r.lookupEnv, r.knownApp)
	if err != nil {
		r.metrics.callersReloads.WithLabelValues("error").Inc()
		r.log.Error("callers file not reloaded; the previous callers stay in force", slog.String("error", err.Error()))
		return err
	}
	r.install(set)
	r.metrics.callersReloads.WithLabelValues("ok").Inc()
	r.log.Info("reloaded callers", slog.Any("callers", set))
	return nil
}

// install makes set the callers in force. A caller that stays keeps its
// budget (what it has spent), under its new limits.
func (r *callerRegistry) install(set *callers.Set) {
	r.mu.Lock()
	defer r.mu.Unlock()
	t := &callerTable{set: set, callers: map[*callers.Caller]*caller{}}
	budgets := map[string]*rate.Limiter{}
	for _, id := range set.IDs() {
		entry, _ := set.Lookup(id)
		limit, burst := r.rate, r.burst
		if entry.HubSpotRate != nil {
			limit = budgetRate(*entry.HubSpotRate)
		}
		if entry.HubSpotBurst != nil {
			burst = *entry.HubSpotBurst
		}
		budget, ok := r.budgets[id]
		if ok {
			budget.SetLimit(limit)
			budget.SetBurst(burst)
		} else {
			budget = rate.NewLimiter(limit, burst)
		}
		budgets[id] = budget
		t.callers[entry] = newCaller(id, entry, budget)
	}
	r.budgets = budgets
	r.table.Store(t)
}

// identify finds the call's caller from its credentials: the key in
// "authorization: Bearer <key>" and the names of a verified client
// certificate. Any credential presented must be valid, and a key and a
// certificate must agree.
func (r *callerRegistry) identify(ctx context.Context) identity {
	t := r.table.Load()
	if t == nil {
		return identity{caller: r.anonymous}
	}
	var byKey, byCert *callers.Caller
	switch values := metadata.ValueFromIncomingContext(ctx, AuthorizationHeader); len(values) {
	case 0:
	case 1:
		scheme, key, ok := strings.Cut(values[0], " ")
		key = strings.TrimSpace(key)
		if !ok || !strings.EqualFold(scheme, "Bearer") || key == "" {
			return identity{problem: problemMalformed}
		}
		if byKey, ok = t.set.Authenticate(key); !ok {
			return identity{problem: problemUnknownKey}
		}
	default:
		return identity{problem: problemMalformed}
	}
	if names := verifiedCertNames(ctx); len(names) > 0 {
		var err error
		if byCert, err = t.set.ByCertNames(names); err != nil {
			return identity{problem: problemConflicting}
		}
	}
	switch {
	case byKey != nil && byCert != nil && byKey != byCert:
		return identity{problem: problemConflicting}
	case byKey != nil:
		return identity{caller: t.callers[byKey]}
	case byCert != nil:
		return identity{caller: t.callers[byCert]}
	default:
		return identity{problem: problemNoCredentials}
	}
}

// verifiedCertNames are the SAN DNS names and URIs (SPIFFE ids among them)
// of the client certificate, if the TLS handshake verified one against
// --tls-client-ca-file.
func verifiedCertNames(ctx context.Context) []string {
	p, ok := peer.FromContext(ctx)
	if !ok {
		return nil
	}
	info, ok := p.AuthInfo.(credentials.TLSInfo)
	if !ok || len(info.State.VerifiedChains) == 0 || len(info.State.PeerCertificates) == 0 {
		return nil
	}
	leaf := info.State.PeerCertificates[0]
	names := make([]string, 0, len(leaf.DNSNames)+len(leaf.URIs))
	names = append(names, leaf.DNSNames...)
	for _, u := range leaf.URIs {
		names = append(names, u.String())
	}
	return names
}

func (r *callerRegistry) withIdentity(ctx context.Context) context.Context {
	id := r.identify(ctx)
	ctx = context.WithValue(ctx, identityKey{}, id)
	label := callers.Reserved
	if id.caller != nil {
		label = id.caller.id
	}
	return logging.InjectFields(ctx, logging.Fields{"caller", label})
}

func (r *callerRegistry) identifyUnary(ctx context.Context, req any, _ *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	return handler(r.withIdentity(ctx), req)
}

func (r *callerRegistry) identifyStream(srv any, ss grpc.ServerStream, _ *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
	return handler(srv, &contextStream{ServerStream: ss, ctx: r.withIdentity(ss.Context())})
}

var unauthenticatedMessages = map[string]string{
	problemNoCredentials: "this server needs to know its caller: send \"authorization: Bearer <key>\" metadata with a key from its callers file, or a client certificate the callers file names",
	problemUnknownKey:    "the key in the authorization metadata matches no caller in the server's callers file",
	problemMalformed:     "the authorization metadata must be one value of the form \"Bearer <key>\"",
	problemConflicting:   "the call's key and client certificate name different callers",
}

// authenticate is the auth interceptor's check: a call that named no caller
// is refused. It never says more about a presented key than that it matched
// nothing.
func (r *callerRegistry) authenticate(ctx context.Context) (context.Context, error) {
	id, _ := ctx.Value(identityKey{}).(identity)
	if id.caller != nil {
		return ctx, nil
	}
	r.metrics.countCallerRejection(callers.Reserved, "unauthenticated")
	return nil, statusError(ctx, codes.Unauthenticated, scopeguardv1.ErrorReason_CALLER_UNAUTHENTICATED,
		unauthenticatedMessages[id.problem], map[string]string{"problem": id.problem})
}

// needsCaller selects the calls authenticate checks: all but health checks,
// since load balancers and probes hold no key. Reflection needs a caller too
// (grpcurl sends -H headers with its reflection requests): its answers are
// large for the request, and a client that never reads them would pin them.
func needsCaller(_ context.Context, call interceptors.CallMeta) bool {
	return call.Service != grpc_health_v1.Health_ServiceDesc.ServiceName
}

// appNotAllowedError means the caller used an app it is not granted.
type appNotAllowedError struct{ caller, app string }

func (e *appNotAllowedError) Error() string {
	return "caller " + e.caller + " may not use app " + e.app
}

// callerMayUse reports whether the call's caller is granted app. Calls
// without a caller in their context (the offline CLI) use any app.
func callerMayUse(ctx context.Context, app string) bool {
	c := callerFrom(ctx)
	return c == nil || c.mayUse(app)
}

// mayUseApp refuses, and counts, an app the call's caller is not granted.
func (s *Service) mayUseApp(ctx context.Context, app string) error {
	if callerMayUse(ctx, app) {
		return nil
	}
	c := callerFrom(ctx)
	s.metrics.countCallerRejection(c.id, "app_not_allowed")
	return &appNotAllowedError{caller: c.id, app: app}
}

// callerRateLimitedError means the caller's HubSpot budget is spent.
type callerRateLimitedError struct {
	caller     string
	retryAfter time.Duration
}

func (e *callerRateLimitedError) Error() string {
	return "caller " + e.caller + " spent its HubSpot budget; retry after " + e.retryAfter.String()
}

// retryAfterSeconds is the wait in whole seconds, rounded up.
func (e *callerRateLimitedError) retryAfterSeconds() int64 {
	return int64(math.Ceil(e.retryAfter.Seconds()))
}

// hubspotAdmission is the HubSpot client's Admit hook: each request to
// HubSpot spends one token of the calling caller's budget (answers from
// cache spend nothing, and a refresh shared by several callers is charged to
// the one who started it). Calls without a caller are not limited.
func hubspotAdmission(metrics *Metrics) func(context.Context, hubspot.Endpoint) error {
	return func(ctx context.Context, _ hubspot.Endpoint) error {
		c := callerFrom(ctx)
		if c == nil || c.hubspot == nil {
			return nil
		}
		res := c.hubspot.Reserve() // always OK: bursts are at least 1
		if wait := res.Delay(); wait > 0 {
			res.Cancel()
			metrics.countCallerRejection(c.id, "rate_limited")
			return &callerRateLimitedError{caller: c.id, retryAfter: wait}
		}
		return nil
	}
}
