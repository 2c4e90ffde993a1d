package server_test

import (
	"fmt"
	"strings"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/proto"

	scopeguardv1 "github.com/eshopman/scopeguard/gen/scopeguard/v1"
	"github.com/eshopman/scopeguard/server"
)

// scopeList is n one-letter names separated by sep: the cheapest way to
// make a request split into many names.
func scopeList(n int, sep string) string {
	return strings.Repeat("a"+sep, n-1) + "a"
}

// hugeGrants are granted_scopes that once cost seconds of CPU and megabytes
// of answer; each must be refused with a small answer.
var hugeGrants = []struct {
	name    string
	granted []string
	field   string
}{
	// One item just under the 8 MiB message limit: 4 million names.
	{"one 8 MiB item", []string{scopeList((server.DefaultConfig().MaxRecvBytes-4096)/2, ",")}, "granted_scopes[0]"},
	// Within the per-item bound, yet millions of names in all.
	{"1,000 items of 8 KiB", slicesOf(1000, scopeList(4096, " ")), "granted_scopes"},
	{"one name over the cap", []string{scopeList(500, " "), scopeList(501, ",")}, "granted_scopes"},
}

func slicesOf(n int, s string) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = s
	}
	return out
}

// TestHugeGrantedScopesAreRefusedCheaply: the answer is InvalidArgument
// naming the field, a few hundred bytes whatever was sent. (What the refusal
// costs in CPU is BenchmarkHugeGrantedScopes's to show.)
func TestHugeGrantedScopesAreRefusedCheaply(t *testing.T) {
	t.Parallel()
	ts := offline(t)
	endpoints := []*scopeguardv1.Endpoint{endpoint("GET", "/crm/v3/objects/contacts")}
	for _, tt := range hugeGrants {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := ts.client().CheckScopes(t.Context(), &scopeguardv1.CheckScopesRequest{Endpoints: endpoints, GrantedScopes: tt.granted},
				grpc.MaxCallSendMsgSize(16<<20))
			st := wantStatus(t, err, codes.InvalidArgument, scopeguardv1.ErrorReason_INVALID_REQUEST, []string{tt.field})
			if size := proto.Size(st.Proto()); size > 1024 {
				t.Errorf("refusal is %d bytes, want under 1 KiB", size)
			}
			_, err = ts.client().ExplainError(t.Context(), &scopeguardv1.ExplainErrorRequest{HttpStatus: 403, Body: "{}", GrantedScopes: tt.granted},
				grpc.MaxCallSendMsgSize(16<<20))
			wantStatus(t, err, codes.InvalidArgument, scopeguardv1.ErrorReason_INVALID_REQUEST, []string{tt.field})
		})
	}
}

// TestGrantedScopesAtTheCap: 1,000 names are accepted, and the answer
// echoing them stays well under 200 kB, long names clipped.
func TestGrantedScopesAtTheCap(t *testing.T) {
	t.Parallel()
	ts := offline(t)
	names := make([]string, 1000)
	for i := range names {
		names[i] = fmt.Sprintf("%04d", i) + strings.Repeat("x", 1020)
	}
	resp, err := ts.client().CheckScopes(t.Context(), &scopeguardv1.CheckScopesRequest{
		Endpoints:     []*scopeguardv1.Endpoint{endpoint("GET", "/crm/v3/objects/contacts")},
		GrantedScopes: names,
	})
	if err != nil {
		t.Fatalf("CheckScopes with 1,000 names: %v", err)
	}
	if got := len(resp.GetGrantedScopes()); got != 1000 {
		t.Errorf("%d granted names echoed, want 1000", got)
	}
	if got := len(resp.GetUnknownScopes()); got != 100 {
		t.Errorf("%d unknown names echoed, want the first 100", got)
	}
	if size := proto.Size(resp); size > 200_000 {
		t.Errorf("answer is %d bytes, want under 200 kB", size)
	}
}
