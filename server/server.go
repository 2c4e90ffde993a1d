// Package server is scopeguard's gRPC service: the ScopeGuardService
// handlers, the interceptor chain, the mapping from domain errors to gRPC
// statuses, and the wiring of health checks and reflection.
package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"time"

	"buf.build/go/protovalidate"
	"github.com/grpc-ecosystem/go-grpc-middleware/v2/interceptors/recovery"
	"google.golang.org/grpc"
	"google.golang.org/grpc/experimental"
	"google.golang.org/grpc/health"
	"google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/keepalive"
	"google.golang.org/grpc/mem"
	"google.golang.org/grpc/reflection"

	scopeguardv1 "github.com/eshopman/scopeguard/gen/scopeguard/v1"
)

// init gives gRPC (its transport and its proto codec, for every server
// and client in the process) buffer tiers at every power of two from 256 B
// to 1 MiB instead of its default 256 B, 4 KiB, 16 KiB, 32 KiB and 1 MiB.
// Pooled buffers are zeroed whole on every reuse, so with the default tiers
// a 65 KB answer (CheckScopes of 100 endpoints) zeroed a 1 MiB buffer;
// now it zeroes 128 KiB. SetDefaultBufferPool may only be called from init.
func init() {
	pool, err := mem.NewBinaryTieredBufferPool(8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20)
	if err != nil {
		panic(err) // the exponents are constants: a failure is a bug
	}
	experimental.SetDefaultBufferPool(pool)
}

// Server is a configured gRPC server with the ScopeGuardService, health and
// reflection registered. Health reports NOT_SERVING until Serve starts.
type Server struct {
	cfg     Config
	log     *slog.Logger
	grpc    *grpc.Server
	health  *health.Server
	metrics *Metrics
}

// New builds the server: the interceptor chain (request id, metrics, the
// call's log line, recovery, validation; outermost first), explicit
// limits, the service, health and reflection. svc is the ScopeGuardService
// implementation; metrics receives the gRPC server series.
func New(cfg Config, log *slog.Logger, svc scopeguardv1.ScopeGuardServiceServer, metrics *Metrics) (*Server, error) {
	validator, err := protovalidate.New()
	if err != nil {
		return nil, fmt.Errorf("build request validator: %w", err)
	}
	calls := callLogger{log: log, mode: cfg.LogCalls}
	recoverOpts := []recovery.Option{recovery.WithRecoveryHandlerContext(recoveryHandler(log))}
	gs := grpc.NewServer(
		grpc.ChainUnaryInterceptor(
			requestIDUnary,
			metrics.grpc.unary,
			calls.unary,
			recovery.UnaryServerInterceptor(recoverOpts...),
			validationUnary(validator),
		),
		grpc.ChainStreamInterceptor(
			requestIDStream,
			metrics.grpc.stream,
			calls.stream,
			recovery.StreamServerInterceptor(recoverOpts...),
			validationStream(validator),
		),
		grpc.MaxRecvMsgSize(cfg.MaxRecvBytes),
		// A fixed pool of stream workers keeps its goroutines, and with them
		// their grown stacks: without it every call starts on a fresh 8 KiB
		// stack, and the interceptor chain plus protovalidate's CEL
		// evaluation grow it by copying, call after call.
		grpc.NumStreamWorkers(uint32(64)),
		grpc.MaxConcurrentStreams(uint32(min(cfg.MaxConcurrentStreams, 1<<31))),
		grpc.KeepaliveEnforcementPolicy(keepalive.EnforcementPolicy{
			MinTime:             10 * time.Second,
			PermitWithoutStream: true,
		}),
		grpc.KeepaliveParams(keepalive.ServerParameters{
			MaxConnectionIdle: 15 * time.Minute,
			Time:              2 * time.Minute,
			Timeout:           20 * time.Second,
		}),
	)
	hs := health.NewServer()
	hs.SetServingStatus("", grpc_health_v1.HealthCheckResponse_NOT_SERVING)
	hs.SetServingStatus(scopeguardv1.ScopeGuardService_ServiceDesc.ServiceName, grpc_health_v1.HealthCheckResponse_NOT_SERVING)

	scopeguardv1.RegisterScopeGuardServiceServer(gs, svc)
	grpc_health_v1.RegisterHealthServer(gs, hs)
	reflection.Register(gs)
	metrics.grpc.register(gs)
	return &Server{cfg: cfg, log: log, grpc: gs, health: hs, metrics: metrics}, nil
}

// Serve reports SERVING and answers calls on lis until Shutdown.
func (s *Server) Serve(lis net.Listener) error {
	s.health.Resume()
	s.log.Info("serving", slog.String("addr", lis.Addr().String()))
	return s.grpc.Serve(lis)
}

// Shutdown reports NOT_SERVING, lets open calls finish for up to the
// configured timeout (or until ctx ends), then cuts what is left.
func (s *Server) Shutdown(ctx context.Context) {
	s.health.Shutdown()
	ctx, cancel := context.WithTimeout(ctx, s.cfg.ShutdownTimeout)
	defer cancel()
	done := make(chan struct{})
	go func() {
		s.grpc.GracefulStop()
		close(done)
	}()
	select {
	case <-done:
		s.log.Info("stopped gracefully")
	case <-ctx.Done():
		s.log.Warn("graceful stop timed out; closing open calls", slog.Duration("timeout", s.cfg.ShutdownTimeout))
		s.grpc.Stop()
		<-done
	}
}

// Run listens on cfg.Listen (and cfg.MetricsListen, when set) and serves
// until ctx is done, then shuts down gracefully. ready, when not nil, is
// called with the bound gRPC address once the listener is open (useful with
// port 0).
func Run(ctx context.Context, cfg Config, log *slog.Logger, svc scopeguardv1.ScopeGuardServiceServer, metrics *Metrics, ready func(net.Addr)) error {
	srv, err := New(cfg, log, svc, metrics)
	if err != nil {
		return err
	}
	lis, err := new(net.ListenConfig).Listen(ctx, "tcp", cfg.Listen)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.Listen, err)
	}
	serveErr := make(chan error, 2)
	var metricsServer *http.Server
	if cfg.MetricsListen != "" {
		mlis, err := new(net.ListenConfig).Listen(ctx, "tcp", cfg.MetricsListen)
		if err != nil {
			_ = lis.Close()
			return fmt.Errorf("listen on %s: %w", cfg.MetricsListen, err)
		}
		mux := http.NewServeMux()
		mux.Handle("GET /metrics", metrics.Handler())
		// Profiles, for finding where a call's CPU goes under real load.
		mux.HandleFunc("GET /debug/pprof/", pprof.Index)
		mux.HandleFunc("GET /debug/pprof/profile", pprof.Profile)
		metricsServer = &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
		log.Info("serving metrics", slog.String("addr", mlis.Addr().String()))
		go func() {
			if err := metricsServer.Serve(mlis); !errors.Is(err, http.ErrServerClosed) {
				serveErr <- fmt.Errorf("serve metrics: %w", err)
			}
		}()
	}
	if ready != nil {
		ready(lis.Addr())
	}
	go func() {
		if err := srv.Serve(lis); err != nil {
			serveErr <- fmt.Errorf("serve: %w", err)
		}
	}()
	select {
	case err := <-serveErr:
		srv.grpc.Stop()
		return err
	case <-ctx.Done():
		log.Info("shutting down", slog.String("reason", context.Cause(ctx).Error()))
		srv.Shutdown(context.WithoutCancel(ctx))
		if metricsServer != nil {
			shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Second)
			defer cancel()
			_ = metricsServer.Shutdown(shutdownCtx)
		}
		return nil
	}
}
