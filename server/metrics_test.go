package server_test

import (
	"strings"
	"testing"
)

// TestMetricsStartAtZero: before any call, /metrics already shows every
// scopeguard series whose label values are known, at zero.
func TestMetricsStartAtZero(t *testing.T) {
	t.Parallel()
	body := scrape(t, offline(t).metrics)
	for _, series := range []string{
		`scopeguard_decisions_total{verdict="VERDICT_MISSING_SCOPES"} 0`,
		`scopeguard_explanations_total{root_cause="ROOT_CAUSE_SCOPE_NOT_GRANTED"} 0`,
		`scopeguard_hubspot_calls_total{endpoint="introspect",outcome="ok"} 0`,
		`scopeguard_hubspot_calls_total{endpoint="token",outcome="rate_limited"} 0`,
		`scopeguard_hubspot_calls_total{endpoint="private-app-token-info",outcome="network_error"} 0`,
		`scopeguard_refreshes_total{result="error",source="upstream"} 0`,
		`scopeguard_refreshes_total{result="ok",source="cache"} 0`,
		`scopeguard_cache_lookups_total{cache="access_token",result="hit"} 0`,
		`scopeguard_cache_lookups_total{cache="introspection",result="miss"} 0`,
	} {
		if !strings.Contains(body, series+"\n") {
			t.Errorf("/metrics lacks %s", series)
		}
	}
	if n := strings.Count(body, "\nscopeguard_hubspot_calls_total{"); n != 4*6 {
		t.Errorf("/metrics has %d scopeguard_hubspot_calls_total series, want 24 (4 endpoints, 6 outcomes)", n)
	}
}
