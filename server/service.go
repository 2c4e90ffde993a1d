package server

import (
	"fmt"
	"log/slog"
	"time"

	scopeguardv1 "github.com/eshopman/scopeguard/gen/scopeguard/v1"
	"github.com/eshopman/scopeguard/server/hubspot"
	"github.com/eshopman/scopeguard/server/tokens"
)

// Service implements scopeguard.v1.ScopeGuardService.
type Service struct {
	scopeguardv1.UnimplementedScopeGuardServiceServer

	refresher *tokens.Refresher
	apps      *tokens.Apps
	metrics   *Metrics
	log       *slog.Logger
	now       func() time.Time
}

// Deps are the service's collaborators. BuildService assembles them from a
// Config; tests assemble their own.
type Deps struct {
	// Refresher exchanges refresh tokens (RefreshToken).
	Refresher *tokens.Refresher
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
		refresher: d.Refresher,
		apps:      d.Apps,
		metrics:   d.Metrics,
		log:       d.Log,
		now:       d.Now,
	}
}

// BuildService assembles the production service from cfg: the HubSpot
// client, the token caches and the apps file, all reporting to metrics.
func BuildService(cfg Config, log *slog.Logger, metrics *Metrics) (*Service, error) {
	version, err := hubspot.ParseOAuthVersion(cfg.HubSpotOAuthVersion)
	if err != nil {
		return nil, err
	}
	client, err := hubspot.New(hubspot.Options{
		BaseURL:      cfg.HubSpotAPIURL,
		OAuthVersion: version,
		Timeout:      cfg.HubSpotTimeout,
		Logger:       log,
		OnCall:       metrics.countHubSpotCall,
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
	refresher, err := tokens.NewRefresher(tokens.RefresherOptions{
		Client: client,
		Skew:   cfg.RefreshSkew,
		Hooks:  tokens.Hooks{OnRefresh: metrics.countRefresh},
		Logger: log,
	})
	if err != nil {
		return nil, err
	}
	return NewService(Deps{Refresher: refresher, Apps: apps, Metrics: metrics, Log: log}), nil
}
