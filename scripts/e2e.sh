#!/usr/bin/env bash
# End-to-end test of the built binary: start `scopeguard serve` on a free
# port, then drive it the way people and probes do (grpcurl through server
# reflection, grpc-health-probe). Needs bin/scopeguard, grpcurl and
# grpc-health-probe on PATH (make e2e provides them).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh

work=$(mktemp -d)
server_pid=""
cleanup() {
  if [[ -n "$server_pid" ]] && kill -0 "$server_pid" 2>/dev/null; then
    kill -TERM "$server_pid"
    wait "$server_pid" || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

fail() {
  echo "e2e: FAIL: $*" >&2
  echo "--- server log" >&2
  cat "$work/server.log" >&2 || true
  exit 1
}

# expect_contains NAME HAYSTACK NEEDLE
expect_contains() {
  [[ "$2" == *"$3"* ]] || fail "$1: output lacks '$3':
$2"
  echo "e2e: ok: $1"
}

start_scopeguard "$work/server.log" --metrics-listen 127.0.0.1:0 || fail "server did not start listening"
server_pid=$scopeguard_pid

grpc-health-probe -addr "$addr" >/dev/null || fail "grpc-health-probe (overall)"
echo "e2e: ok: grpc-health-probe overall"
grpc-health-probe -addr "$addr" -service scopeguard.v1.ScopeGuardService >/dev/null || fail "grpc-health-probe (service)"
echo "e2e: ok: grpc-health-probe scopeguard.v1.ScopeGuardService"

out=$(grpcurl -plaintext "$addr" list)
expect_contains "list shows the service" "$out" "scopeguard.v1.ScopeGuardService"
expect_contains "list shows health" "$out" "grpc.health.v1.Health"
expect_contains "list shows reflection" "$out" "grpc.reflection.v1.ServerReflection"

out=$(grpcurl -plaintext "$addr" describe scopeguard.v1.ScopeGuardService)
for rpc in CheckScopes ExplainError RefreshToken PlanScopes; do
  expect_contains "describe shows $rpc" "$out" "rpc $rpc ("
done

if out=$(grpcurl -plaintext -d '{}' "$addr" scopeguard.v1.ScopeGuardService/CheckScopes 2>&1); then
  fail "empty CheckScopes was accepted: $out"
fi
expect_contains "empty CheckScopes is InvalidArgument" "$out" "Code: InvalidArgument"
expect_contains "empty CheckScopes names the field" "$out" '"field": "endpoints"'
expect_contains "empty CheckScopes has ErrorInfo" "$out" '"reason": "INVALID_REQUEST"'

# The README's grpcurl recipes, one per RPC that needs no HubSpot account.
export SCOPEGUARD_ADDR=$addr
out=$(examples/grpcurl.sh check)
expect_contains "recipe: CheckScopes by scopes" "$out" '"verdict": "VERDICT_MISSING_SCOPES"'
expect_contains "recipe: CheckScopes names the missing scope" "$out" '"crm.objects.deals.read"'
out=$(examples/grpcurl.sh check-basic)
expect_contains "recipe: CheckScopes in the basic view" "$out" '"missingScopes": [
        "crm.objects.deals.read"'
if [[ "$out" == *'"operation"'* || "$out" == *'"explanation"'* ]]; then
  fail "recipe: the basic view carries full decisions: $out"
fi
out=$(examples/grpcurl.sh plan)
expect_contains "recipe: PlanScopes" "$out" '"crm.objects.contacts.write"'
expect_contains "recipe: PlanScopes install URL" "$out" '"authorizeUrl": "https://app.hubspot.com/oauth/authorize?client_id='
out=$(examples/grpcurl.sh explain)
expect_contains "recipe: ExplainError on the seed case" "$out" '"rootCause": "ROOT_CAUSE_SCOPE_GRANTED_BUT_FORBIDDEN"'

out=$(curl -fsS "http://$metrics_addr/metrics")
expect_contains "metrics count calls" "$out" 'grpc_server_handled_total{grpc_code="InvalidArgument",grpc_method="CheckScopes"'
expect_contains "metrics count decisions" "$out" 'scopeguard_decisions_total{verdict="VERDICT_MISSING_SCOPES"}'
expect_contains "metrics count explanations" "$out" 'scopeguard_explanations_total{root_cause="ROOT_CAUSE_SCOPE_GRANTED_BUT_FORBIDDEN"} 1'

# Graceful shutdown on SIGTERM: the process exits 0 and says so.
kill -TERM "$server_pid"
wait "$server_pid" || fail "server exited non-zero on SIGTERM"
server_pid=""
grep -q '"msg":"stopped gracefully"' "$work/server.log" || fail "no graceful stop logged"
echo "e2e: ok: SIGTERM stops gracefully"

# The demo: the binary pointed at the fake HubSpot (cmd/fakehubspot), the
# seed story by token, and RefreshToken.
out=$(examples/demo.sh 2>&1) || fail "demo failed:
$out"
expect_contains "demo: CheckScopes by token allows the audit log" "$out" '"verdict": "VERDICT_ALLOWED"'
expect_contains "demo: the token is introspected" "$out" '"credentialType": "CREDENTIAL_TYPE_OAUTH_ACCESS_TOKEN"'
expect_contains "demo: the fake answers the seed's 403" "$out" '"requiredGranularScopes":["account-info.security.read"]'
expect_contains "demo: ExplainError finds the real cause" "$out" '"rootCause": "ROOT_CAUSE_SCOPE_GRANTED_BUT_FORBIDDEN"'
expect_contains "demo: RefreshToken answers" "$out" '"tokenType": "bearer"'
expect_contains "demo: the second refresh is shared" "$out" '"shared": true'

echo "e2e: all passed"
