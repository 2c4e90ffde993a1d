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
	"os"
	"os/signal"
	"slices"
	"sync"
	"syscall"
	"time"

	"buf.build/go/protovalidate"
	"github.com/grpc-ecosystem/go-grpc-middleware/v2/interceptors/auth"
	"github.com/grpc-ecosystem/go-grpc-middleware/v2/interceptors/recovery"
	"github.com/grpc-ecosystem/go-grpc-middleware/v2/interceptors/selector"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/experimental"
	"google.golang.org/grpc/health"
	"google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/keepalive"
	"google.golang.org/grpc/mem"
	"google.golang.org/grpc/reflection"
	"google.golang.org/grpc/status"

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
// reflection registered, and the HTTP port onto it (see ServeHTTPPort).
// Health reports NOT_SERVING until Serve starts.
type Server struct {
	cfg     Config
	log     *slog.Logger
	grpc    *grpc.Server
	health  *health.Server
	metrics *Metrics
	callers *callerRegistry
	http    *http.Server
	// endWatches ends the health Watch streams, which would otherwise
	// hold GracefulStop until its timeout.
	endWatches context.CancelFunc
	shutdown   sync.Once
	// mu orders Serve's SERVING after a Shutdown that came first: health
	// must then stay NOT_SERVING.
	mu           sync.Mutex
	shuttingDown bool
}

// appLister is implemented by services that hold configured apps (Service),
// so that the callers file can be checked against their names.
type appLister interface{ AppNames() []string }

// New builds the server: the interceptor chain (outermost first: request
// id, caller identity, metrics, the call's log line, recovery, error reporting,
// authentication, undecodable requests, validation), explicit limits, the
// service, health and reflection. svc is the ScopeGuardService
// implementation; metrics receives the gRPC server series.
func New(cfg Config, log *slog.Logger, svc scopeguardv1.ScopeGuardServiceServer, metrics *Metrics) (*Server, error) {
	validator, err := protovalidate.New()
	if err != nil {
		return nil, fmt.Errorf("build request validator: %w", err)
	}
	calls := callLogger{log: log, mode: cfg.LogCalls}
	recoverOpts := []recovery.Option{recovery.WithRecoveryHandlerContext(recoveryHandler(log))}
	var knownApp func(string) bool
	if apps, ok := svc.(appLister); ok {
		names := apps.AppNames()
		knownApp = func(name string) bool { return slices.Contains(names, name) }
	}
	callers, err := newCallerRegistry(cfg, log, metrics, knownApp)
	if err != nil {
		return nil, fmt.Errorf("--callers-file: %w", err)
	}
	// Health checks need no caller.
	authenticated := selector.MatchFunc(needsCaller)
	tc, err := tlsConfig(cfg, log)
	if err != nil {
		return nil, err
	}
	creds := insecure.NewCredentials()
	if tc != nil {
		creds = credentials.NewTLS(tc)
	} else if cfg.CallersFile != "" && !loopback(cfg.Listen) {
		log.Warn("callers' keys cross the network in clear text: serve TLS (--tls-cert-file, --tls-key-file) unless a mesh encrypts the traffic")
	}
	codec := newRequestCodec(log, metrics)
	errorsUnary, errorsStream := reportErrors(log)
	gs := grpc.NewServer(
		grpc.Creds(creds),
		grpc.ForceServerCodecV2(codec),
		grpc.ChainUnaryInterceptor(
			requestIDUnary,
			callers.identifyUnary,
			metrics.grpc.unary,
			calls.unary,
			recovery.UnaryServerInterceptor(recoverOpts...),
			errorsUnary,
			selector.UnaryServerInterceptor(auth.UnaryServerInterceptor(callers.authenticate), authenticated),
			codec.rejectUndecodableUnary,
			validationUnary(validator),
		),
		grpc.ChainStreamInterceptor(
			requestIDStream,
			callers.identifyStream,
			metrics.grpc.stream,
			calls.stream,
			recovery.StreamServerInterceptor(recoverOpts...),
			errorsStream,
			selector.StreamServerInterceptor(auth.StreamServerInterceptor(callers.authenticate), authenticated),
			codec.rejectUndecodableStream,
			validationStream(validator),
		),
		grpc.MaxRecvMsgSize(cfg.MaxRecvBytes),
		grpc.MaxSendMsgSize(maxAnswerBytes),
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
			MaxConnectionIdle:     15 * time.Minute,
			MaxConnectionAge:      cfg.MaxConnectionAge,
			MaxConnectionAgeGrace: cfg.MaxConnectionAgeGrace,
			Time:                  2 * time.Minute,
			Timeout:               20 * time.Second,
		}),
	)
	hs := health.NewServer()
	hs.SetServingStatus("", grpc_health_v1.HealthCheckResponse_NOT_SERVING)
	hs.SetServingStatus(scopeguardv1.ScopeGuardService_ServiceDesc.ServiceName, grpc_health_v1.HealthCheckResponse_NOT_SERVING)
	watching, endWatches := context.WithCancel(context.Background())

	scopeguardv1.RegisterScopeGuardServiceServer(gs, svc)
	grpc_health_v1.RegisterHealthServer(gs, &healthService{Server: hs, stopping: watching})
	reflection.Register(gs)
	metrics.grpc.register(gs)
	httpServer, err := newHTTPServer(gs, hs, cfg.MaxRecvBytes, log)
	if err != nil {
		endWatches()
		return nil, err
	}
	return &Server{cfg: cfg, log: log, grpc: gs, health: hs, metrics: metrics, callers: callers, http: httpServer, endWatches: endWatches}, nil
}

// healthService is grpc-go's health service whose Watch streams end, with
// UNAVAILABLE, once stopping is done.
type healthService struct {
	*health.Server
	stopping context.Context
}

func (h *healthService) Watch(req *grpc_health_v1.HealthCheckRequest, stream grpc_health_v1.Health_WatchServer) error {
	ctx, cancel := context.WithCancel(stream.Context())
	defer cancel()
	defer context.AfterFunc(h.stopping, cancel)()
	err := h.Server.Watch(req, &watchStream{Health_WatchServer: stream, ctx: ctx})
	if h.stopping.Err() != nil {
		return status.Error(codes.Unavailable, "the server is shutting down; watch another instance")
	}
	return err
}

type watchStream struct {
	grpc_health_v1.Health_WatchServer
	ctx context.Context
}

func (s *watchStream) Context() context.Context { return s.ctx }

// ReloadCallers reads the callers file again; calls in flight keep the
// callers they started with. A file that does not load leaves the callers
// in force, and the error (also logged) says why.
func (s *Server) ReloadCallers() error { return s.callers.reload() }

// Serve reports SERVING and answers calls on lis until Shutdown, serving at
// most cfg.MaxConnections connections at once.
func (s *Server) Serve(lis net.Listener) error {
	s.mu.Lock()
	if !s.shuttingDown {
		s.health.Resume()
	}
	s.mu.Unlock()
	s.log.Info("serving", slog.String("addr", lis.Addr().String()))
	return s.grpc.Serve(limitConnections(lis, s.cfg.MaxConnections, s.metrics))
}

// Shutdown reports NOT_SERVING (health Watch streams and /healthz hear it at
// once), keeps serving for the configured drain so load balancers move
// traffic away, ends the Watch streams, lets open calls finish for up to the
// configured timeout, then cuts what is left. The HTTP port stops first: its
// calls run on the gRPC server, which cuts them when it stops. ctx ending
// cuts the drain and the wait short. Later calls wait for the first to
// finish.
func (s *Server) Shutdown(ctx context.Context) {
	s.shutdown.Do(func() { s.stop(ctx) })
}

func (s *Server) stop(ctx context.Context) {
	s.mu.Lock()
	s.shuttingDown = true
	s.health.Shutdown()
	s.mu.Unlock()
	if s.cfg.ShutdownDrain > 0 {
		s.log.Info("draining: health checks say NOT_SERVING", slog.Duration("drain", s.cfg.ShutdownDrain))
		drained := time.NewTimer(s.cfg.ShutdownDrain)
		select {
		case <-drained.C:
		case <-ctx.Done():
			drained.Stop()
		}
	}
	s.endWatches()
	ctx, cancel := context.WithTimeout(ctx, s.cfg.ShutdownTimeout)
	defer cancel()
	if err := s.http.Shutdown(ctx); err != nil {
		s.log.Warn("http graceful stop timed out; closing open requests", slog.Duration("timeout", s.cfg.ShutdownTimeout))
		_ = s.http.Close()
	}
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

// Run listens on cfg.Listen (and cfg.MetricsListen and cfg.HTTPListen, when
// set) and serves until ctx is done, then shuts down gracefully. ready, when
// not nil, is called with the bound gRPC address once the listener is open
// (useful with port 0).
func Run(ctx context.Context, cfg Config, log *slog.Logger, svc scopeguardv1.ScopeGuardServiceServer, metrics *Metrics, ready func(net.Addr)) error {
	srv, err := New(cfg, log, svc, metrics)
	if err != nil {
		return err
	}
	lis, err := new(net.ListenConfig).Listen(ctx, "tcp", cfg.Listen)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.Listen, err)
	}
	serveErr := make(chan error, 3)
	var metricsServer *http.Server
	if cfg.MetricsListen != "" {
		mlis, err := new(net.ListenConfig).Listen(ctx, "tcp", cfg.MetricsListen)
		if err != nil {
			_ = lis.Close()
			return fmt.Errorf("listen on %s: %w", cfg.MetricsListen, err)
		}
		mux := http.NewServeMux()
		mux.Handle("GET /metrics", metrics.Handler())
		if cfg.PProf {
			// Profiles, for finding where a call's CPU goes under real
			// load. Off by default: they expose the process's internals
			// and cost CPU while they run.
			mux.HandleFunc("GET /debug/pprof/", pprof.Index)
			mux.HandleFunc("GET /debug/pprof/profile", pprof.Profile)
		}
		metricsServer = &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
		log.Info("serving metrics", slog.String("addr", mlis.Addr().String()))
		go func() {
			if err := metricsServer.Serve(mlis); !errors.Is(err, http.ErrServerClosed) {
				serveErr <- fmt.Errorf("serve metrics: %w", err)
			}
		}()
	}
	if cfg.HTTPListen != "" {
		hlis, err := new(net.ListenConfig).Listen(ctx, "tcp", cfg.HTTPListen)
		if err != nil {
			_ = lis.Close()
			if metricsServer != nil {
				_ = metricsServer.Close()
			}
			srv.grpc.Stop()
			return fmt.Errorf("listen on %s: %w", cfg.HTTPListen, err)
		}
		log.Info("serving http", slog.String("addr", hlis.Addr().String()))
		go func() {
			if err := srv.ServeHTTPPort(hlis); err != nil {
				serveErr <- fmt.Errorf("serve http: %w", err)
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
	// SIGHUP reloads the callers file.
	hangups := make(chan os.Signal, 1)
	signal.Notify(hangups, syscall.SIGHUP)
	defer signal.Stop(hangups)
	for {
		select {
		case <-hangups:
			_ = srv.ReloadCallers() // logged; the previous callers stay in force
		case err := <-serveErr:
			_ = srv.http.Close()
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
}
