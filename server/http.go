package server

import (
	"errors"
	"log/slog"
	"net"
	"net/http"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/health"
	"google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/eshopman/scopeguard/server/openapi"
)

// newHTTPServer builds the HTTP port onto gs: the ScopeGuardService over
// REST, Connect and gRPC-Web (see transcoder), GET /healthz from the health
// server and GET /openapi.yaml. maxBytes caps one message.
func newHTTPServer(gs *grpc.Server, hs *health.Server, maxBytes int, log *slog.Logger) (*http.Server, error) {
	api, err := transcoder(gs, maxBytes, http.HandlerFunc(unknownRoute))
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	mux.Handle("GET /healthz", healthz(hs))
	mux.Handle("GET /openapi.yaml", openapi.Handler())
	mux.Handle("/", api)
	return &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: 5 * time.Second,
		// A whole request, at most twice maxBytes of JSON, arrives well
		// within this on any working network.
		ReadTimeout: 30 * time.Second,
		IdleTimeout: 2 * time.Minute,
		ErrorLog:    slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}, nil
}

// unknownRoute answers a request for no route as REST answers errors: 404
// with a google.rpc.Status body.
func unknownRoute(w http.ResponseWriter, r *http.Request) {
	writeStatus(w, http.StatusNotFound,
		status.Error(codes.NotFound, "no route for "+r.Method+" "+r.URL.Path+"; GET /openapi.yaml lists the routes"))
}

// writeStatus answers, with httpCode, an error that stops a request before
// it reaches the gRPC server the way REST answers errors: the
// google.rpc.Status as JSON.
func writeStatus(w http.ResponseWriter, httpCode int, err error) {
	body, merr := protojson.Marshal(status.Convert(err).Proto())
	if merr != nil {
		httpCode, body = http.StatusInternalServerError, []byte(`{"code":13,"message":"internal error"}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(httpCode)
	_, _ = w.Write(body) //nolint:gosec // G705: JSON, sent as application/json, never HTML
}

// healthz answers 200 while the server's overall health status is SERVING
// and 503 otherwise (before Serve, and from the start of Shutdown), with the
// status as JSON: {"status":"SERVING"}.
func healthz(hs *health.Server) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		resp, err := hs.Check(r.Context(), &grpc_health_v1.HealthCheckRequest{})
		if err != nil {
			resp = &grpc_health_v1.HealthCheckResponse{Status: grpc_health_v1.HealthCheckResponse_UNKNOWN}
		}
		code := http.StatusServiceUnavailable
		if resp.GetStatus() == grpc_health_v1.HealthCheckResponse_SERVING {
			code = http.StatusOK
		}
		body, _ := protojson.Marshal(resp) // cannot fail: one enum field.
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		w.WriteHeader(code)
		_, _ = w.Write(body)
	})
}

// ServeHTTPPort answers the HTTP port on lis until Shutdown, which lets
// open requests finish before the gRPC server stops, serving at most
// cfg.MaxConnections connections at once.
func (s *Server) ServeHTTPPort(lis net.Listener) error {
	if err := s.http.Serve(limitConnections(lis, s.cfg.MaxConnections, s.metrics)); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
