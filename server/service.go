package server

import (
	"fmt"
	"log/slog"
	"sync"
	"time"

	scopeguardv1 "github.com/eshopman/scopeguard/gen/scopeguard/v1"
	"github.com/eshopman/scopeguard/server/catalog"
	"github.com/eshopman/scopeguard/server/hubspot"
	"github.com/eshopman/scopeguard/server/tokens"
)

// Service implements scopeguard.v1.ScopeGuardService.
type Service struct {
	scopeguardv1.UnimplementedScopeGuardServiceServer

	catalog      *catalog.Catalog
	decider      *decider
	refresher    *tokens.Refresher
	introspector *tokens.Introspector
	apps         *tokens.Apps
	metrics      *Metrics
	log          *slog.Logger
	now          func() time.Time
	// sharedStore is the Redis store BuildService opened; nil without one.
	sharedStore *tokens.RedisStore

	// disagreements holds the operations whose catalog disagreement with
	// HubSpot has been logged (each is logged once; all are counted).
	disagreements sync.Map
}

// Deps are the service's collaborators. BuildService assembles them from a
// Config; tests assemble their own.
type Deps struct {
	// Catalog is the endpoint-to-scope catalog.
	Catalog *catalog.Catalog
	// Refresher exchanges refresh tokens (RefreshToken).
	Refresher *tokens.Refresher
	// Introspector reads access tokens' scopes (CheckScopes and
	// ExplainError by token).
	Introspector *tokens.Introspector
	// Apps are the configured OAuth apps; nil means none.
	Apps *tokens.Apps
	// Metrics receives the service's counters.
	Metrics *Metrics
	// Log receives the service's own log lines (never a token or secret).
	Log *slog.Logger
	// Now is the clock; default time.Now.
	Now func() time.Time
}

// NewService builds the service from its collaborators.
func NewService(d Deps) *Service {
	if d.Now == nil {
		d.Now = time.Now
	}
	return &Service{
		catalog:      d.Catalog,
		decider:      &decider{catalog: d.Catalog, now: d.Now},
		refresher:    d.Refresher,
		introspector: d.Introspector,
		apps:         d.Apps,
		metrics:      d.Metrics,
		log:          d.Log,
		now:          d.Now,
	}
}

// AppNames lists the configured apps' names, sorted.
func (s *Service) AppNames() []string { return s.apps.Names() }

// BuildService assembles the production service from cfg: the embedded
// catalog, the HubSpot client, the token caches and the apps file, all
// reporting to metrics.
func BuildService(cfg Config, log *slog.Logger, metrics *Metrics) (*Service, error) {
	version, err := hubspot.ParseOAuthVersion(cfg.HubSpotOAuthVersion)
	if err != nil {
		return nil, err
	}
	client, err := hubspot.New(hubspot.Options{
		BaseURL:       cfg.HubSpotAPIURL,
		OAuthVersion:  version,
		Timeout:       cfg.HubSpotTimeout,
		Retry:         cfg.HubSpotRetry,
		Logger:        log,
		OnCall:        metrics.countHubSpotCall,
		Admit:         hubspotAdmission(metrics),
		MaxConcurrent: cfg.HubSpotMaxConcurrent,
	})
	if err != nil {
		return nil, fmt.Errorf("hubspot client: %w", err)
	}
	var apps *tokens.Apps
	if cfg.AppsFile != "" {
		if apps, err = tokens.LoadApps(cfg.AppsFile, LookupEnv); err != nil {
			return nil, fmt.Errorf("--apps-file: %w", err)
		}
		log.Info("loaded apps", slog.Any("apps", apps))
	}
	loadStart := time.Now()
	cat, err := catalog.Load()
	if err != nil {
		return nil, fmt.Errorf("embedded catalog: %w", err)
	}
	shared, err := cfg.Redis.sharedStore(log, metrics)
	if err != nil {
		return nil, err
	}
	var store tokens.Store // nil: each cache in memory
	if shared != nil {
		store = shared
	}
	hooks := tokens.Hooks{OnRefresh: metrics.countRefresh, OnIntrospect: metrics.countIntrospection}
	refresher, err := tokens.NewRefresher(tokens.RefresherOptions{
		Client: client, Skew: cfg.RefreshSkew, Hooks: hooks, Logger: log, Store: store, LeaseTTL: cfg.Redis.LeaseTTL,
	})
	if err != nil {
		return nil, err
	}
	introspector, err := tokens.NewIntrospector(tokens.IntrospectorOptions{Client: client, Hooks: hooks, Store: store, Logger: log})
	if err != nil {
		return nil, err
	}
	log.Info("loaded catalog", slog.Duration("took", time.Since(loadStart)))
	svc := NewService(Deps{
		Catalog:      cat,
		Refresher:    refresher,
		Introspector: introspector,
		Apps:         apps,
		Metrics:      metrics,
		Log:          log,
	})
	svc.sharedStore = shared
	return svc, nil
}

// Close releases what BuildService opened (the connections to a shared
// store); call it once the server has stopped.
func (s *Service) Close() error {
	if s.sharedStore == nil {
		return nil
	}
	return s.sharedStore.Close()
}
