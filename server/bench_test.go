package server_test

import (
	"fmt"
	"io"
	"log/slog"
	"strings"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	scopeguardv1 "github.com/eshopman/scopeguard/gen/scopeguard/v1"
	"github.com/eshopman/scopeguard/server"
)

// benchServer is the production service over bufconn, logging JSON at info
// as in production (to io.Discard, so the benchmark measures formatting,
// not the disk).
func benchServer(b *testing.B) *testServer {
	b.Helper()
	log := slog.New(slog.NewJSONHandler(io.Discard, &slog.HandlerOptions{Level: slog.LevelInfo}))
	metrics := server.NewMetrics()
	cfg := testConfig()
	svc, err := server.BuildService(cfg, log, metrics)
	if err != nil {
		b.Fatal(err)
	}
	return serveBufconn(b, cfg, log, svc, metrics)
}

// BenchmarkUnaryCalls compares each RPC's full server path (interceptors,
// validation, handler, marshalling) with the health check's.
func BenchmarkUnaryCalls(b *testing.B) {
	ts := benchServer(b)
	health := grpc_health_v1.NewHealthClient(ts.conn)
	c := ts.client()
	check := &scopeguardv1.CheckScopesRequest{
		Endpoints: []*scopeguardv1.Endpoint{
			{Method: "GET", Path: "/crm/v3/objects/contacts/123?archived=false"},
			{Method: "POST", Path: "/crm/v3/objects/deals/search"},
		},
		GrantedScopes: []string{"crm.objects.contacts.read", "crm.objects.deals.read"},
	}
	b.Run("Health", func(b *testing.B) {
		for b.Loop() {
			if _, err := health.Check(b.Context(), &grpc_health_v1.HealthCheckRequest{}); err != nil {
				b.Fatal(err)
			}
		}
	})
	for _, view := range []scopeguardv1.DecisionView{scopeguardv1.DecisionView_DECISION_VIEW_BASIC, scopeguardv1.DecisionView_DECISION_VIEW_FULL} {
		for _, n := range []int{2, 100} {
			req := proto.CloneOf(check)
			req.View = view
			req.Endpoints = nil
			for i := range n {
				req.Endpoints = append(req.Endpoints, check.GetEndpoints()[i%2])
			}
			b.Run(fmt.Sprintf("CheckScopes/%s/%d", strings.TrimPrefix(view.String(), "DECISION_VIEW_"), n), func(b *testing.B) {
				for b.Loop() {
					if _, err := c.CheckScopes(b.Context(), req); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// BenchmarkHugeGrantedScopes is the CPU a refused oversized granted_scopes
// costs the server (decoding included); answer-bytes is the refusal's size.
func BenchmarkHugeGrantedScopes(b *testing.B) {
	ts := benchServer(b)
	c := ts.client()
	endpoints := []*scopeguardv1.Endpoint{{Method: "GET", Path: "/crm/v3/objects/contacts"}}
	for _, tt := range hugeGrants {
		req := &scopeguardv1.CheckScopesRequest{Endpoints: endpoints, GrantedScopes: tt.granted}
		b.Run(tt.name, func(b *testing.B) {
			var answer int
			for b.Loop() {
				_, err := c.CheckScopes(b.Context(), req, grpc.MaxCallSendMsgSize(16<<20))
				if status.Code(err) != codes.InvalidArgument {
					b.Fatalf("CheckScopes = %v, want InvalidArgument", err)
				}
				answer = proto.Size(status.Convert(err).Proto())
			}
			b.ReportMetric(float64(answer), "answer-bytes")
		})
	}
}
