package server

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	scopeguardv1 "github.com/eshopman/scopeguard/gen/scopeguard/v1"
	"github.com/eshopman/scopeguard/server/hubspot"
	"github.com/eshopman/scopeguard/server/tokens"
)

// Metrics are the Prometheus series scopeguard exports on /metrics: the
// standard gRPC server metrics (see grpcMetrics), Go runtime and process
// metrics, and scopeguard's own counters.
type Metrics struct {
	registry *prometheus.Registry
	grpc     *grpcMetrics

	decisions            *prometheus.CounterVec
	decisionsByVerdict   map[scopeguardv1.Verdict]prometheus.Counter
	explanations         *prometheus.CounterVec
	explanationsByCause  map[scopeguardv1.RootCause]prometheus.Counter
	catalogDisagreements *prometheus.CounterVec
	upstreamCalls        *prometheus.CounterVec
	refreshes            *prometheus.CounterVec
	cacheLookups         *prometheus.CounterVec
	callerRejections     *prometheus.CounterVec
	callersReloads       *prometheus.CounterVec
	connectionsOpen      prometheus.Gauge
	connectionsRefused   prometheus.Counter
	undecodableRequests  *prometheus.CounterVec
	// sharedStore is registered only when a shared store is configured, so
	// a single replica exports no "down" store.
	sharedStore         prometheus.Gauge
	registerSharedStore sync.Once
}

// NewMetrics registers every series on a fresh registry.
func NewMetrics() *Metrics {
	reg := prometheus.NewRegistry()
	m := &Metrics{
		registry: reg,
		grpc:     newGRPCMetrics(),
		decisions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "scopeguard_decisions_total",
			Help: "Endpoint decisions made by CheckScopes and PlanScopes, by verdict.",
		}, []string{"verdict"}),
		explanations: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "scopeguard_explanations_total",
			Help: "ExplainError answers, by root cause.",
		}, []string{"root_cause"}),
		catalogDisagreements: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "scopeguard_catalog_disagreements_total",
			Help: "HubSpot error bodies whose required scopes disagree with the catalog, by catalog operation.",
		}, []string{"method", "template"}),
		upstreamCalls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "scopeguard_hubspot_calls_total",
			Help: "Requests sent to HubSpot (each retry counts), by endpoint and outcome.",
		}, []string{"endpoint", "outcome"}),
		refreshes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "scopeguard_refreshes_total",
			Help: "RefreshToken answers, by source (upstream: this call asked HubSpot; shared: joined another caller's or replica's request; cache: a fresh token from the store) and result (ok or error).",
		}, []string{"source", "result"}),
		cacheLookups: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "scopeguard_cache_lookups_total",
			Help: "Token cache lookups, by cache (access_token, introspection) and result (hit or miss).",
		}, []string{"cache", "result"}),
		callerRejections: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "scopeguard_caller_rejections_total",
			Help: "Calls refused for their caller, by caller (\"anonymous\" when the call named none) and reason (unauthenticated, app_not_allowed, rate_limited).",
		}, []string{"caller", "reason"}),
		callersReloads: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "scopeguard_callers_reloads_total",
			Help: "Reloads of the callers file (SIGHUP), by result (ok, or error: the previous callers stayed in force).",
		}, []string{"result"}),
		connectionsOpen: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "scopeguard_connections_open",
			Help: "Client connections open on the gRPC and HTTP ports.",
		}),
		connectionsRefused: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "scopeguard_connections_refused_total",
			Help: "Client connections closed on arrival because --max-connections were open on their port.",
		}),
		undecodableRequests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "scopeguard_undecodable_requests_total",
			Help: "Requests refused because they do not decode, by method and reason (utf8: a string field is not valid UTF-8; malformed: not the message's encoding).",
		}, []string{"method", "reason"}),
		sharedStore: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "scopeguard_shared_store_up",
			Help: "1 while the shared token store (Redis) answers, 0 while calls are served from this process instead. Present only with --redis-url.",
		}),
	}
	reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		m.grpc.started, m.grpc.handled, m.grpc.received, m.grpc.sent, m.grpc.handling,
		m.decisions, m.explanations, m.catalogDisagreements, m.upstreamCalls, m.refreshes, m.cacheLookups,
		m.callerRejections, m.callersReloads, m.connectionsOpen, m.connectionsRefused,
		m.undecodableRequests,
	)
	// Resolved once: a label lookup per decision would cost more than the
	// catalog match it counts.
	m.decisionsByVerdict = map[scopeguardv1.Verdict]prometheus.Counter{}
	for v := range scopeguardv1.Verdict_name {
		verdict := scopeguardv1.Verdict(v)
		if verdict != scopeguardv1.Verdict_VERDICT_UNSPECIFIED {
			m.decisionsByVerdict[verdict] = m.decisions.WithLabelValues(verdict.String())
		}
	}
	m.explanationsByCause = map[scopeguardv1.RootCause]prometheus.Counter{}
	for c := range scopeguardv1.RootCause_name {
		cause := scopeguardv1.RootCause(c)
		if cause != scopeguardv1.RootCause_ROOT_CAUSE_UNSPECIFIED {
			m.explanationsByCause[cause] = m.explanations.WithLabelValues(cause.String())
		}
	}
	m.startAtZero()
	return m
}

// startAtZero creates every series of a known label set at zero, so that
// /metrics shows them before their first event: an absent series reads as
// a broken exporter. Disagreements are labelled by catalog operation
// (thousands of them) and appear with the first one.
func (m *Metrics) startAtZero() {
	for _, endpoint := range []hubspot.Endpoint{
		hubspot.EndpointToken, hubspot.EndpointIntrospect, hubspot.EndpointAccessTokenInfo, hubspot.EndpointPrivateAppTokenInfo,
	} {
		for _, outcome := range []hubspot.Outcome{
			hubspot.OutcomeOK, hubspot.OutcomeRejected, hubspot.OutcomeRateLimited,
			hubspot.OutcomeServerError, hubspot.OutcomeNetworkError, hubspot.OutcomeMalformed,
		} {
			m.upstreamCalls.WithLabelValues(string(endpoint), string(outcome))
		}
	}
	for _, source := range []tokens.Source{tokens.SourceUpstream, tokens.SourceShared} {
		m.refreshes.WithLabelValues(string(source), "ok")
		m.refreshes.WithLabelValues(string(source), "error")
	}
	m.refreshes.WithLabelValues(string(tokens.SourceCache), "ok") // a cached token is never an error
	for _, cache := range []string{"access_token", "introspection"} {
		m.cacheLookups.WithLabelValues(cache, "hit")
		m.cacheLookups.WithLabelValues(cache, "miss")
	}
}

// Handler serves the registry in the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.registry, promhttp.HandlerOpts{Registry: m.registry})
}

// countDecision counts one endpoint decision.
func (m *Metrics) countDecision(v scopeguardv1.Verdict) {
	if c, ok := m.decisionsByVerdict[v]; ok {
		c.Inc()
	}
}

// countExplanation counts one ExplainError answer.
func (m *Metrics) countExplanation(c scopeguardv1.RootCause) {
	if counter, ok := m.explanationsByCause[c]; ok {
		counter.Inc()
	}
}

// countDisagreement counts a HubSpot body that contradicts the catalog.
// Labels are bounded: they are catalog templates, never request paths.
func (m *Metrics) countDisagreement(method, template string) {
	m.catalogDisagreements.WithLabelValues(method, template).Inc()
}

// countIntrospection is the Introspector's OnIntrospect hook.
func (m *Metrics) countIntrospection(source tokens.Source, _ error) {
	m.countCacheLookup("introspection", source)
}

// countHubSpotCall is the HubSpot client's OnCall hook.
func (m *Metrics) countHubSpotCall(endpoint hubspot.Endpoint, outcome hubspot.Outcome, _ time.Duration) {
	m.upstreamCalls.WithLabelValues(string(endpoint), string(outcome)).Inc()
}

// countRefresh is the Refresher's OnRefresh hook.
func (m *Metrics) countRefresh(source tokens.Source, err error) {
	m.refreshes.WithLabelValues(string(source), result(err)).Inc()
	m.countCacheLookup("access_token", source)
}

// sharedStoreUp is the shared store's OnStateChange hook.
func (m *Metrics) sharedStoreUp(up bool) {
	m.registerSharedStore.Do(func() { m.registry.MustRegister(m.sharedStore) })
	if up {
		m.sharedStore.Set(1)
	} else {
		m.sharedStore.Set(0)
	}
}

// countCacheLookup records whether an answer came from a cache.
func (m *Metrics) countCacheLookup(cache string, source tokens.Source) {
	switch source {
	case tokens.SourceCache:
		m.cacheLookups.WithLabelValues(cache, "hit").Inc()
	case tokens.SourceShared, tokens.SourceUpstream:
		m.cacheLookups.WithLabelValues(cache, "miss").Inc()
	default: // the credential's shape answered: no cache was asked
	}
}

func result(err error) string {
	if err != nil {
		return "error"
	}
	return "ok"
}

// countCallerRejection counts a call refused for its caller. Labels are
// bounded: caller ids come from the callers file.
func (m *Metrics) countCallerRejection(caller, reason string) {
	m.callerRejections.WithLabelValues(caller, reason).Inc()
}

// grpcMetrics are the standard gRPC server series, with the names, labels
// and help of go-grpc-middleware's prometheus provider (which dashboards
// know), kept by a leaner interceptor: every series of every registered
// method is resolved once, before serving, so a call costs a map read and
// a few atomic adds. The provider looked up five series by their label
// values and built a reporter on every call, the largest part of the
// interceptor chain's cost.
type grpcMetrics struct {
	started, handled, received, sent *prometheus.CounterVec
	handling                         *prometheus.HistogramVec
	// methods holds each registered method's series by full method name
	// ("/scopeguard.v1.ScopeGuardService/CheckScopes"). Written by
	// register before the server serves, read-only afterwards.
	methods map[string]*methodSeries
}

// methodSeries are one method's resolved series.
type methodSeries struct {
	started, received, sent prometheus.Counter
	handled                 [codes.Unauthenticated + 1]prometheus.Counter // by the codes gRPC defines
	handling                prometheus.Observer
	// handledOther counts a call that ended with a code gRPC does not
	// define (a handler may build any status).
	handledOther func(codes.Code) prometheus.Counter
}

func newGRPCMetrics() *grpcMetrics {
	labels := []string{"grpc_type", "grpc_service", "grpc_method"}
	return &grpcMetrics{
		started: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "grpc_server_started_total",
			Help: "Total number of RPCs started on the server.",
		}, labels),
		handled: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "grpc_server_handled_total",
			Help: "Total number of RPCs completed on the server, regardless of success or failure.",
		}, append(labels[:3:3], "grpc_code")),
		received: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "grpc_server_msg_received_total",
			Help: "Total number of RPC stream messages received on the server.",
		}, labels),
		sent: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "grpc_server_msg_sent_total",
			Help: "Total number of gRPC stream messages sent by the server.",
		}, labels),
		handling: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "grpc_server_handling_seconds",
			Help:    "Histogram of response latency (seconds) of gRPC that had been application-level handled by the server.",
			Buckets: []float64{0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.05, 0.25, 1, 5},
		}, labels),
		methods: map[string]*methodSeries{},
	}
}

// register resolves the series of every method gs serves (so each shows
// on /metrics from the start, at zero). Call it after registering the
// services and before serving.
func (g *grpcMetrics) register(gs *grpc.Server) {
	for service, info := range gs.GetServiceInfo() {
		for _, method := range info.Methods {
			g.methods["/"+service+"/"+method.Name] = g.series(methodType(method.IsClientStream, method.IsServerStream), service, method.Name)
		}
	}
}

func (g *grpcMetrics) series(typ, service, method string) *methodSeries {
	s := &methodSeries{
		started:  g.started.WithLabelValues(typ, service, method),
		received: g.received.WithLabelValues(typ, service, method),
		sent:     g.sent.WithLabelValues(typ, service, method),
		handling: g.handling.WithLabelValues(typ, service, method),
		handledOther: func(code codes.Code) prometheus.Counter {
			return g.handled.WithLabelValues(typ, service, method, code.String())
		},
	}
	for code := range s.handled {
		s.handled[code] = g.handled.WithLabelValues(typ, service, method, codes.Code(code).String())
	}
	return s
}

// seriesFor returns a call's series: resolved at registration, or (for a
// method no service registered, which gRPC does not route through
// interceptors today) looked up now.
func (g *grpcMetrics) seriesFor(fullMethod, typ string) *methodSeries {
	if s, ok := g.methods[fullMethod]; ok {
		return s
	}
	service, method, _ := strings.Cut(strings.TrimPrefix(fullMethod, "/"), "/")
	return g.series(typ, service, method)
}

func methodType(clientStream, serverStream bool) string {
	switch {
	case clientStream && serverStream:
		return "bidi_stream"
	case clientStream:
		return "client_stream"
	case serverStream:
		return "server_stream"
	}
	return "unary"
}

// finished counts a call's end: its code and how long it took.
func (s *methodSeries) finished(err error, start time.Time) {
	if code := status.Code(err); int(code) < len(s.handled) {
		s.handled[code].Inc()
	} else {
		s.handledOther(code).Inc()
	}
	s.handling.Observe(time.Since(start).Seconds())
}

func (g *grpcMetrics) unary(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	start := time.Now()
	s := g.seriesFor(info.FullMethod, "unary")
	s.started.Inc()
	s.received.Inc()
	resp, err := handler(ctx, req)
	if err == nil {
		s.sent.Inc()
	}
	s.finished(err, start)
	return resp, err
}

func (g *grpcMetrics) stream(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
	start := time.Now()
	s := g.seriesFor(info.FullMethod, methodType(info.IsClientStream, info.IsServerStream))
	s.started.Inc()
	err := handler(srv, &countedStream{ServerStream: ss, series: s})
	s.finished(err, start)
	return err
}

// countedStream counts a stream's messages.
type countedStream struct {
	grpc.ServerStream
	series *methodSeries
}

func (c *countedStream) SendMsg(m any) error {
	err := c.ServerStream.SendMsg(m)
	if err == nil {
		c.series.sent.Inc()
	}
	return err
}

func (c *countedStream) RecvMsg(m any) error {
	err := c.ServerStream.RecvMsg(m)
	if err == nil {
		c.series.received.Inc()
	}
	return err
}
