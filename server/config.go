package server

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"os"
	"strings"
	"time"

	"github.com/eshopman/scopeguard/server/hubspot"
)

// EnvPrefix starts the environment variable that backs every flag: flag
// --max-recv-bytes is read from SCOPEGUARD_MAX_RECV_BYTES when not given.
const EnvPrefix = "SCOPEGUARD_"

// Config is everything `scopeguard serve` can be told. Defaults suit local
// development; every field but HubSpotRetry has a flag and an environment
// twin.
type Config struct {
	// Listen is the gRPC listen address.
	Listen string
	// LogFormat is "text" or "json".
	LogFormat string
	// LogLevel is "debug", "info", "warn" or "error".
	LogLevel string
	// LogCalls selects the calls that get a "finished call" log line:
	// LogCallsAll, LogCallsErrors or LogCallsNone.
	LogCalls string
	// MaxRecvBytes caps one request message.
	MaxRecvBytes int
	// MaxConcurrentStreams caps concurrent calls per client connection.
	MaxConcurrentStreams uint
	// ShutdownTimeout bounds graceful shutdown before open calls are cut.
	ShutdownTimeout time.Duration
	// ShutdownDrain is how long the server keeps serving while health
	// checks already say NOT_SERVING, so load balancers steer new calls
	// away before the listener closes.
	ShutdownDrain time.Duration
	// MetricsListen is the HTTP address serving Prometheus /metrics; empty
	// disables it.
	MetricsListen string
	// HTTPListen is the HTTP address serving REST, Connect, gRPC-Web,
	// /healthz and /openapi.yaml; empty disables it.
	HTTPListen string
	// HubSpotAPIURL is HubSpot's API base URL. It comes from configuration
	// only, never from a request.
	HubSpotAPIURL string
	// HubSpotOAuthVersion selects HubSpot's OAuth endpoints: "2026-03" or
	// "v1" (shut off by HubSpot on 2027-02-16).
	HubSpotOAuthVersion string
	// HubSpotTimeout bounds one HTTP attempt to HubSpot.
	HubSpotTimeout time.Duration
	// HubSpotRetry is how HubSpot calls are retried; the zero value is the
	// client's production policy. Not a flag: tests shorten the waits.
	HubSpotRetry hubspot.RetryPolicy
	// AppsFile names the OAuth apps file (name -> client id, secret,
	// redirect URI); empty configures no app.
	AppsFile string
	// RefreshSkew: a cached access token is handed out until this long
	// before it expires.
	RefreshSkew time.Duration

	// CallersFile names the callers file (caller id -> keys, client
	// certificate names, apps); empty lets anyone call (see
	// AllowAnonymousCallers).
	CallersFile string
	// AllowAnonymousCallers lets a server without a callers file listen on a
	// non-loopback address (for meshes that authenticate callers).
	AllowAnonymousCallers bool
	// CallerHubSpotRate is each caller's budget of HubSpot requests per
	// second (0: no limit); CallerHubSpotBurst how many it may make at once.
	CallerHubSpotRate  float64
	CallerHubSpotBurst int
	// HubSpotMaxConcurrent bounds the requests in flight to HubSpot, and the
	// connections to it.
	HubSpotMaxConcurrent int
	// TLSCertFile and TLSKeyFile, when set, serve the gRPC port over TLS;
	// the pair is read again when either file changes.
	TLSCertFile string
	TLSKeyFile  string
	// TLSClientCAFile, when set, verifies client certificates against these
	// CAs (mTLS); the callers file's cert_names map them to callers.
	TLSClientCAFile string
	// MaxConnections bounds the client connections served at once; more are
	// closed on arrival.
	MaxConnections int
	// MaxConnectionAge is how long a connection lives before the server asks
	// its client to reconnect (GOAWAY); MaxConnectionAgeGrace is how long
	// its open calls then have before it is closed.
	MaxConnectionAge      time.Duration
	MaxConnectionAgeGrace time.Duration
	// PProf serves /debug/pprof/ next to /metrics.
	PProf bool
	// Redis is the store replicas share; none by default.
	Redis RedisConfig
}

// DefaultConfig returns the configuration used when no flag or environment
// variable says otherwise.
func DefaultConfig() Config {
	return Config{
		Listen:    "127.0.0.1:50051",
		LogFormat: "text",
		LogLevel:  "info",
		// Successful calls are counted by the metrics; a line for each
		// would cost more server CPU than a CheckScopes answer.
		LogCalls: LogCallsErrors,
		// A request may carry 1,000 endpoints of up to 4 KiB each, or a
		// 1 MiB error body: 8 MiB leaves room for both.
		MaxRecvBytes:         8 << 20,
		MaxConcurrentStreams: 100,
		ShutdownTimeout:      10 * time.Second,
		ShutdownDrain:        5 * time.Second,
		HubSpotAPIURL:        "https://api.hubapi.com",
		HubSpotOAuthVersion:  "2026-03",
		HubSpotTimeout:       10 * time.Second,
		RefreshSkew:          5 * time.Minute,
		CallerHubSpotRate:    10,
		CallerHubSpotBurst:   20,
		HubSpotMaxConcurrent: 32,
		MaxConnections:       1024,
		// Clients reconnect on GOAWAY without failing calls; the grace
		// outlasts the slowest call (a refresh with its retries, ~20 s).
		MaxConnectionAge:      5 * time.Minute,
		MaxConnectionAgeGrace: 30 * time.Second,
		Redis:                 defaultRedisConfig(),
	}
}

// RegisterFlags defines the serve flags on fs, with c's values as defaults.
func (c *Config) RegisterFlags(fs *flag.FlagSet) {
	fs.StringVar(&c.Listen, "listen", c.Listen, "gRPC listen address (host:port)")
	fs.StringVar(&c.LogFormat, "log-format", c.LogFormat, `log format: "text" or "json"`)
	fs.StringVar(&c.LogLevel, "log-level", c.LogLevel, `lowest level logged: "debug", "info", "warn" or "error"`)
	fs.StringVar(&c.LogCalls, "log-calls", c.LogCalls, `calls that get a log line: "all", "errors" (those that did not end OK) or "none"`)
	fs.IntVar(&c.MaxRecvBytes, "max-recv-bytes", c.MaxRecvBytes, "largest request message accepted, in bytes")
	fs.UintVar(&c.MaxConcurrentStreams, "max-concurrent-streams", c.MaxConcurrentStreams, "concurrent calls allowed per client connection")
	fs.DurationVar(&c.ShutdownTimeout, "shutdown-timeout", c.ShutdownTimeout, "how long graceful shutdown waits for open calls before cutting them")
	fs.DurationVar(&c.ShutdownDrain, "shutdown-drain", c.ShutdownDrain, "on shutdown, how long to keep serving while health checks say NOT_SERVING, so load balancers move traffic away first (0 for none)")
	fs.StringVar(&c.MetricsListen, "metrics-listen", c.MetricsListen, "HTTP address (host:port) serving Prometheus /metrics; empty disables it")
	fs.StringVar(&c.HTTPListen, "http-listen", c.HTTPListen, "HTTP address (host:port) serving REST, Connect, gRPC-Web, /healthz and /openapi.yaml; empty disables it")
	fs.StringVar(&c.HubSpotAPIURL, "hubspot-api-url", c.HubSpotAPIURL, "HubSpot API base URL (point it at a fake HubSpot for tests and demos)")
	fs.StringVar(&c.HubSpotOAuthVersion, "hubspot-oauth-version", c.HubSpotOAuthVersion, `HubSpot OAuth API: "2026-03" or "v1" (v1 is shut off on 2027-02-16)`)
	fs.DurationVar(&c.HubSpotTimeout, "hubspot-timeout", c.HubSpotTimeout, "timeout of one HTTP attempt to HubSpot (failed attempts are retried with backoff)")
	fs.StringVar(&c.AppsFile, "apps-file", c.AppsFile, "YAML file of OAuth apps (name: client_id, client_secret or client_secret_env, redirect_uri); empty configures none")
	fs.DurationVar(&c.RefreshSkew, "refresh-skew", c.RefreshSkew, "a cached access token is handed out until this long before it expires")
	fs.StringVar(&c.CallersFile, "callers-file", c.CallersFile, "YAML file of callers (id: keys or client certificate names, apps); reloaded on SIGHUP; empty lets anyone call")
	fs.BoolVar(&c.AllowAnonymousCallers, "allow-anonymous-callers", c.AllowAnonymousCallers, "serve a non-loopback address without a callers file (when a mesh authenticates callers)")
	fs.Float64Var(&c.CallerHubSpotRate, "caller-hubspot-rate", c.CallerHubSpotRate, "HubSpot requests per second each caller may cause (0: no limit); answers from cache are free")
	fs.IntVar(&c.CallerHubSpotBurst, "caller-hubspot-burst", c.CallerHubSpotBurst, "HubSpot requests a caller may cause at once, beyond its rate")
	fs.IntVar(&c.HubSpotMaxConcurrent, "hubspot-max-concurrent", c.HubSpotMaxConcurrent, "HubSpot requests in flight at once (and connections to HubSpot); more wait their turn")
	fs.StringVar(&c.TLSCertFile, "tls-cert-file", c.TLSCertFile, "PEM certificate (chain) of the gRPC port; with --tls-key-file, serves TLS and reloads the pair when the files change")
	fs.StringVar(&c.TLSKeyFile, "tls-key-file", c.TLSKeyFile, "PEM private key for --tls-cert-file")
	fs.StringVar(&c.TLSClientCAFile, "tls-client-ca-file", c.TLSClientCAFile, "PEM CAs that client certificates must chain to (mTLS); the callers file's cert_names map them to callers")
	fs.IntVar(&c.MaxConnections, "max-connections", c.MaxConnections, "client connections served at once; more are closed on arrival")
	fs.DurationVar(&c.MaxConnectionAge, "max-connection-age", c.MaxConnectionAge, "a connection this old is asked to reconnect (GOAWAY), which bounds what one client holds")
	fs.DurationVar(&c.MaxConnectionAgeGrace, "max-connection-age-grace", c.MaxConnectionAgeGrace, "how long calls open on an aged connection may still run before it is closed")
	fs.BoolVar(&c.PProf, "pprof", c.PProf, "serve Go profiles at /debug/pprof/ on --metrics-listen")
	c.Redis.registerFlags(fs)
}

// EnvName is the environment variable backing the flag called name.
func EnvName(flagName string) string {
	return EnvPrefix + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// ApplyEnv sets every flag of fs that was not given on the command line from
// its environment twin (see EnvName), if that variable is set. Call it after
// fs.Parse. A value the flag rejects is an error naming the variable.
func ApplyEnv(fs *flag.FlagSet, lookup func(string) (string, bool)) error {
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	var errs []error
	fs.VisitAll(func(f *flag.Flag) {
		if given[f.Name] {
			return
		}
		name := EnvName(f.Name)
		value, ok := lookup(name)
		if !ok {
			return
		}
		if err := fs.Set(f.Name, value); err != nil {
			errs = append(errs, fmt.Errorf("environment variable %s: %w", name, err))
		}
	})
	return errors.Join(errs...)
}

// LookupEnv is os.LookupEnv, the lookup ApplyEnv uses outside tests.
var LookupEnv = os.LookupEnv

// Validate reports every problem with c at once.
func (c Config) Validate() error {
	var errs []error
	if _, _, err := net.SplitHostPort(c.Listen); err != nil {
		errs = append(errs, fmt.Errorf("--listen %q: %w", c.Listen, err))
	}
	if c.MetricsListen != "" {
		if _, _, err := net.SplitHostPort(c.MetricsListen); err != nil {
			errs = append(errs, fmt.Errorf("--metrics-listen %q: %w", c.MetricsListen, err))
		}
	}
	if c.HTTPListen != "" {
		if _, _, err := net.SplitHostPort(c.HTTPListen); err != nil {
			errs = append(errs, fmt.Errorf("--http-listen %q: %w", c.HTTPListen, err))
		}
	}
	if _, err := hubspot.New(hubspot.Options{BaseURL: c.HubSpotAPIURL}); err != nil {
		errs = append(errs, fmt.Errorf("--hubspot-api-url: %w", err))
	}
	if _, err := hubspot.ParseOAuthVersion(c.HubSpotOAuthVersion); err != nil {
		errs = append(errs, fmt.Errorf("--hubspot-oauth-version: %w", err))
	}
	if c.HubSpotTimeout <= 0 {
		errs = append(errs, fmt.Errorf("--hubspot-timeout %s: want a positive duration", c.HubSpotTimeout))
	}
	if c.RefreshSkew <= 0 {
		errs = append(errs, fmt.Errorf("--refresh-skew %s: want a positive duration", c.RefreshSkew))
	}
	if c.LogFormat != "text" && c.LogFormat != "json" {
		errs = append(errs, fmt.Errorf(`--log-format %q: want "text" or "json"`, c.LogFormat))
	}
	if _, err := parseLevel(c.LogLevel); err != nil {
		errs = append(errs, fmt.Errorf("--log-level: %w", err))
	}
	switch c.LogCalls {
	case LogCallsAll, LogCallsErrors, LogCallsNone:
	default:
		errs = append(errs, fmt.Errorf(`--log-calls %q: want "all", "errors" or "none"`, c.LogCalls))
	}
	if c.MaxRecvBytes < 64<<10 {
		errs = append(errs, fmt.Errorf("--max-recv-bytes %d: want at least 65536", c.MaxRecvBytes))
	}
	if c.MaxConcurrentStreams == 0 {
		errs = append(errs, errors.New("--max-concurrent-streams: want at least 1"))
	}
	if c.ShutdownTimeout <= 0 {
		errs = append(errs, fmt.Errorf("--shutdown-timeout %s: want a positive duration", c.ShutdownTimeout))
	}
	if c.ShutdownDrain < 0 {
		errs = append(errs, fmt.Errorf("--shutdown-drain %s: want 0 or a positive duration", c.ShutdownDrain))
	}
	if c.CallerHubSpotRate < 0 || math.IsNaN(c.CallerHubSpotRate) {
		errs = append(errs, fmt.Errorf("--caller-hubspot-rate %v: want 0 (no limit) or a positive rate", c.CallerHubSpotRate))
	}
	if c.CallerHubSpotBurst < 1 {
		errs = append(errs, fmt.Errorf("--caller-hubspot-burst %d: want at least 1", c.CallerHubSpotBurst))
	}
	if c.HubSpotMaxConcurrent < 1 {
		errs = append(errs, fmt.Errorf("--hubspot-max-concurrent %d: want at least 1", c.HubSpotMaxConcurrent))
	}
	if c.PProf && c.MetricsListen == "" {
		errs = append(errs, errors.New("--pprof needs --metrics-listen (profiles are served next to /metrics)"))
	}
	if c.MaxConnections < 1 {
		errs = append(errs, fmt.Errorf("--max-connections %d: want at least 1", c.MaxConnections))
	}
	if c.MaxConnectionAge <= 0 || c.MaxConnectionAgeGrace <= 0 {
		errs = append(errs, fmt.Errorf("--max-connection-age %s, --max-connection-age-grace %s: want positive durations", c.MaxConnectionAge, c.MaxConnectionAgeGrace))
	}
	if (c.TLSCertFile == "") != (c.TLSKeyFile == "") {
		errs = append(errs, errors.New("--tls-cert-file and --tls-key-file: give both or neither"))
	}
	if c.TLSClientCAFile != "" && c.TLSCertFile == "" {
		errs = append(errs, errors.New("--tls-client-ca-file needs --tls-cert-file and --tls-key-file (client certificates need TLS)"))
	}
	if c.CallersFile == "" && !c.AllowAnonymousCallers {
		for _, door := range []struct{ flag, addr string }{{"--listen", c.Listen}, {"--http-listen", c.HTTPListen}} {
			if door.addr != "" && !loopback(door.addr) {
				errs = append(errs, fmt.Errorf("%s %s is reachable from other hosts and there is no --callers-file: anyone who reaches the port "+
					"could mint access tokens for the configured apps and spend their HubSpot quota; give a --callers-file, "+
					"listen on a loopback address, or pass --allow-anonymous-callers if a mesh authenticates callers for you", door.flag, door.addr))
			}
		}
	}
	errs = append(errs, c.Redis.validate()...)
	return errors.Join(errs...)
}

// loopback reports whether a listen address only accepts connections from
// this host: localhost or a loopback IP. An empty host listens everywhere.
func loopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// LogValue lets the configuration be logged at startup. Client secrets live
// in the apps file, which is logged by name only; the shared store's
// secrets are redacted by RedisConfig.LogValue. Fields that ever hold a
// secret must be redacted here.
func (c Config) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("listen", c.Listen),
		slog.String("log_format", c.LogFormat),
		slog.String("log_level", c.LogLevel),
		slog.String("log_calls", c.LogCalls),
		slog.Int("max_recv_bytes", c.MaxRecvBytes),
		slog.Uint64("max_concurrent_streams", uint64(c.MaxConcurrentStreams)),
		slog.Duration("shutdown_timeout", c.ShutdownTimeout),
		slog.Duration("shutdown_drain", c.ShutdownDrain),
		slog.String("metrics_listen", c.MetricsListen),
		slog.String("http_listen", c.HTTPListen),
		slog.String("hubspot_api_url", c.HubSpotAPIURL),
		slog.String("hubspot_oauth_version", c.HubSpotOAuthVersion),
		slog.Duration("hubspot_timeout", c.HubSpotTimeout),
		slog.String("apps_file", c.AppsFile),
		slog.Duration("refresh_skew", c.RefreshSkew),
		slog.String("callers_file", c.CallersFile),
		slog.Bool("allow_anonymous_callers", c.AllowAnonymousCallers),
		slog.Float64("caller_hubspot_rate", c.CallerHubSpotRate),
		slog.Int("caller_hubspot_burst", c.CallerHubSpotBurst),
		slog.Int("hubspot_max_concurrent", c.HubSpotMaxConcurrent),
		slog.String("tls_cert_file", c.TLSCertFile),
		slog.String("tls_key_file", c.TLSKeyFile),
		slog.String("tls_client_ca_file", c.TLSClientCAFile),
		slog.Int("max_connections", c.MaxConnections),
		slog.Duration("max_connection_age", c.MaxConnectionAge),
		slog.Duration("max_connection_age_grace", c.MaxConnectionAgeGrace),
		slog.Bool("pprof", c.PProf),
		slog.Any("redis", c.Redis),
	)
}

// NewLogger builds the process logger the configuration asks for.
func (c Config) NewLogger(w io.Writer) (*slog.Logger, error) {
	level, err := parseLevel(c.LogLevel)
	if err != nil {
		return nil, err
	}
	opts := &slog.HandlerOptions{Level: level}
	if c.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return slog.New(slog.NewTextHandler(w, opts)), nil
}

func parseLevel(s string) (slog.Level, error) {
	var level slog.Level
	if err := level.UnmarshalText([]byte(s)); err != nil {
		return 0, fmt.Errorf("level %q: want debug, info, warn or error", s)
	}
	return level, nil
}
