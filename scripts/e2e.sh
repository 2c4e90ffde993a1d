#!/usr/bin/env bash
# End-to-end test of the built binary: start `scopeguard serve` on free
# ports, then drive it the way people and probes do (grpcurl through server
# reflection, grpc-health-probe; curl and PHP on the HTTP port), then run the
# README's server examples (scripts/readme.sh). Needs bin/scopeguard,
# bin/fakehubspot, grpcurl and grpc-health-probe on PATH (make e2e provides
# them), curl, jq and php with php-curl.
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

start_scopeguard "$work/server.log" --metrics-listen 127.0.0.1:0 --http-listen 127.0.0.1:0 || fail "server did not start listening"
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
expect_contains "metrics count calls, by code" "$out" 'grpc_server_handled_total{grpc_code="InvalidArgument",grpc_method="CheckScopes"'
expect_contains "metrics count decisions" "$out" 'scopeguard_decisions_total{verdict="VERDICT_MISSING_SCOPES"}'
expect_contains "metrics count explanations" "$out" 'scopeguard_explanations_total{root_cause="ROOT_CAUSE_SCOPE_GRANTED_BUT_FORBIDDEN"} 1'
code=$(curl -s -o /dev/null -w '%{http_code}' "http://$metrics_addr/debug/pprof/")
[[ "$code" == 404 ]] || fail "profiles served without --pprof (HTTP $code)"
echo "e2e: ok: no profiles without --pprof"

# The HTTP port: REST routes, Connect, gRPC-Web, /healthz and /openapi.yaml
# reach the same service through the same interceptors.
base="http://$http_addr"
# http GET|POST PATH [CURL ARGS...]: the body (compacted by jq when JSON),
# then the HTTP status on its own line.
http() {
  local method=$1 path=$2 body
  shift 2
  body=$(curl -sS -X "$method" -o - -w '\n%{http_code}' "$@" "$base$path")
  local code=${body##*$'\n'}
  body=${body%$'\n'*}
  if jq -e . >/dev/null 2>&1 <<<"$body"; then body=$(jq -c . <<<"$body"); fi
  printf '%s\n%s' "$body" "$code"
}
# rest PATH JSON: one REST call.
rest() { http POST "$1" -H 'Content-Type: application/json' -d "$2"; }

out=$(http GET /healthz)
expect_contains "GET /healthz while serving" "$out" $'{"status":"SERVING"}\n200'
out=$(http GET /openapi.yaml)
expect_contains "GET /openapi.yaml is OpenAPI 3" "$out" "openapi: 3.0.3"
for route in /v1/scopes:check /v1/scopes:plan /v1/errors:explain /v1/tokens:refresh; do
  expect_contains "openapi.yaml documents POST $route" "$out" "    $route:"$'\n'"        post:"
done

out=$(rest /v1/scopes:check '{"endpoints":[{"method":"GET","path":"/crm/v3/objects/contacts"},{"method":"GET","path":"/crm/v3/objects/deals"}],"grantedScopes":["crm.objects.contacts.read"]}')
expect_contains "REST scopes:check answers" "$out" '"allowed":false,'
expect_contains "REST scopes:check names the missing scope" "$out" $'"missingScopes":["crm.objects.deals.read"]'
expect_contains "REST scopes:check is 200" "$out" $'\n200'
out=$(rest /v1/scopes:plan '{"endpoints":[{"method":"GET","path":"/crm/v3/objects/contacts"},{"method":"PATCH","path":"/crm/v3/objects/contacts/42"}]}')
expect_contains "REST scopes:plan" "$out" '"requiredScopes":["crm.objects.contacts.read","crm.objects.contacts.write"]'
explain_request='{"httpStatus":403,"body":"{\"status\":\"error\",\"category\":\"MISSING_SCOPES\",\"errors\":[{\"message\":\"All of the following scopes are required.\",\"context\":{\"requiredGranularScopes\":[\"account-info.security.read\"]}}]}","endpoint":{"method":"GET","path":"/account-info/v3/activity/audit-logs"},"grantedScopes":["oauth","account-info.security.read"]}'
out=$(rest /v1/errors:explain "$explain_request")
expect_contains "REST errors:explain on the seed case" "$out" '"rootCause":"ROOT_CAUSE_SCOPE_GRANTED_BUT_FORBIDDEN"'
out=$(rest /v1/tokens:refresh '{"refreshToken":"na1-0000","app":"shop"}')
expect_contains "REST tokens:refresh with no apps file is 404" "$out" $'\n404'
expect_contains "REST errors are google.rpc.Status with ErrorInfo" "$out" '"code":5,'
expect_contains "REST errors carry the reason" "$out" '"@type":"type.googleapis.com/google.rpc.ErrorInfo","reason":"UNKNOWN_APP"'
out=$(rest /v1/scopes:check '{}')
expect_contains "REST validation is 400" "$out" $'\n400'
expect_contains "REST validation has BadRequest" "$out" '"@type":"type.googleapis.com/google.rpc.BadRequest","fieldViolations":[{"field":"endpoints",'
out=$(rest /v1/scopes:check 'endpoints=GET')
expect_contains "REST body that is not JSON is 400 INVALID_REQUEST" "$out" '"reason":"INVALID_REQUEST"'

procedure=/scopeguard.v1.ScopeGuardService/CheckScopes
check_request='{"endpoints":[{"method":"GET","path":"/crm/v3/objects/contacts"}],"grantedScopes":["crm.objects.contacts.read"]}'
out=$(http POST "$procedure" -H 'Content-Type: application/json' -H 'Connect-Protocol-Version: 1' -d "$check_request")
expect_contains "Connect JSON CheckScopes" "$out" '"allowed":true,'
out=$(http GET "$procedure" -G -H 'Connect-Protocol-Version: 1' --data-urlencode connect=v1 --data-urlencode encoding=json --data-urlencode "message=$check_request")
expect_contains "Connect GET CheckScopes" "$out" '"allowed":true,'
out=$(http POST "$procedure" -H 'Content-Type: application/json' -H 'Connect-Protocol-Version: 1' -d '{}')
expect_contains "Connect errors are Connect's JSON" "$out" '"code":"invalid_argument"'

# gRPC-Web, framed by hand: CheckScopesRequest{endpoints: [{GET
# /crm/v3/objects/contacts}], granted_scopes: [crm.objects.contacts.read]}
# in protobuf, behind the 5-byte frame header (flags 0, big-endian length).
# pb_field NUMBER TEXT: one length-delimited field, tag and length under 128.
pb_field() { printf "\\x$(printf %02x $(($1 << 3 | 2)))\\x$(printf %02x ${#2})%s" "$2"; }
grpcweb_endpoint=$(pb_field 1 GET; pb_field 2 /crm/v3/objects/contacts)
grpcweb_message=$(pb_field 1 "$grpcweb_endpoint"; pb_field 2 crm.objects.contacts.read)
{ printf '\x00\x00\x00\x00'; printf "\\x$(printf %02x ${#grpcweb_message})"; printf '%s' "$grpcweb_message"; } >"$work/grpcweb.bin"
curl -sS -o "$work/grpcweb.out" -D "$work/grpcweb.headers" -H 'Content-Type: application/grpc-web+proto' -H 'X-Grpc-Web: 1' \
  --data-binary @"$work/grpcweb.bin" "$base$procedure" || fail "gRPC-Web call failed"
expect_contains "gRPC-Web answers application/grpc-web+proto" "$(cat "$work/grpcweb.headers")" "Content-Type: application/grpc-web+proto"
expect_contains "gRPC-Web answers the decision" "$(tr -d '\0' <"$work/grpcweb.out")" "GET /crm/v3/objects/contacts is allowed by crm.objects.contacts.read."
# The trailer frame holds header lines; names are case-insensitive.
expect_contains "gRPC-Web trailer frame says OK" "$(tr -d '\0 ' <"$work/grpcweb.out" | tr 'A-Z' 'a-z')" $'grpc-status:0\r'

# The PHP example: php-curl on the REST port.
out=$(php examples/php/demo.php "$base" 2>&1) || fail "PHP example failed:
$out"
expect_contains "PHP: CheckScopes" "$out" "missing: crm.objects.deals.read"
expect_contains "PHP: ExplainError" "$out" "root cause: ROOT_CAUSE_SCOPE_GRANTED_BUT_FORBIDDEN"
expect_contains "PHP: errors decode ErrorInfo and BadRequest" "$out" "rejected: HTTP 400, gRPC code 3, reason INVALID_REQUEST, request id present
  endpoints: must contain at least 1 item(s) (repeated.min_items)"

out=$(curl -fsS "http://$metrics_addr/metrics")
expect_contains "metrics count the HTTP port's calls" "$out" 'grpc_server_handled_total{grpc_code="NotFound",grpc_method="RefreshToken"'


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

# Callers, TLS and reloads: the README's TLS example, driven like an operator
# would. An address other hosts can reach needs a callers file.
if out=$(bin/scopeguard serve --listen 0.0.0.0:0 2>&1); then
  fail "an exposed server without callers started"
fi
expect_contains "protected mode refuses an exposed address without callers" "$out" "--allow-anonymous-callers"

(cd "$work" && go run "$(go env GOROOT)/src/crypto/tls/generate_cert.go" --host 127.0.0.1,localhost --ecdsa-curve P256 >/dev/null 2>&1) ||
  fail "could not generate a certificate"
key=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')
next_key=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')
cat >"$work/callers.yaml" <<YAML
callers:
  checkout:
    key_env: E2E_CHECKOUT_KEY
YAML
export E2E_CHECKOUT_KEY=$key E2E_NEXT_KEY=$next_key
start_scopeguard "$work/tls.log" --callers-file "$work/callers.yaml" \
  --tls-cert-file "$work/cert.pem" --tls-key-file "$work/key.pem" || fail "TLS server did not start"
server_pid=$scopeguard_pid
# -expand-headers reads the keys from the environment: they stay out of argv.
tls=(-cacert "$work/cert.pem" -expand-headers)
check='{"endpoints":[{"method":"GET","path":"/crm/v3/objects/contacts"}],"grantedScopes":["crm.objects.contacts.read"]}'

grpc-health-probe -addr "$addr" -tls -tls-ca-cert "$work/cert.pem" >/dev/null || fail "health over TLS without a key"
echo "e2e: ok: health over TLS needs no key"
if out=$(grpcurl "${tls[@]}" "$addr" list 2>&1); then
  fail "reflection without a key was answered: $out"
fi
expect_contains "reflection without a key is refused" "$out" "code = Unauthenticated"
# Reflection with the key (-reflect-header), the call itself without.
if out=$(grpcurl "${tls[@]}" -reflect-header 'authorization: Bearer ${E2E_CHECKOUT_KEY}' -d "$check" "$addr" scopeguard.v1.ScopeGuardService/CheckScopes 2>&1); then
  fail "a call without a key was answered: $out"
fi
expect_contains "a call without a key is refused" "$out" '"reason": "CALLER_UNAUTHENTICATED"'
out=$(grpcurl "${tls[@]}" -H 'authorization: Bearer ${E2E_CHECKOUT_KEY}' -d "$check" "$addr" scopeguard.v1.ScopeGuardService/CheckScopes)
expect_contains "the caller's key is accepted over TLS" "$out" '"allowed": true'
[[ "$(cat "$work/tls.log")" != *"$key"* ]] || fail "the key is in the log"
echo "e2e: ok: the key never reaches the log"

# Rotation: the file names the next key by its digest; SIGHUP swaps callers.
cat >"$work/callers.yaml" <<YAML
callers:
  checkout:
    key_sha256: $(printf %s "$next_key" | sha256sum | cut -d' ' -f1)
YAML
kill -HUP "$server_pid"
for _ in $(seq 100); do grep -q '"msg":"reloaded callers"' "$work/tls.log" && break; sleep 0.05; done
grep -q '"msg":"reloaded callers"' "$work/tls.log" || fail "SIGHUP did not reload the callers"
if grpcurl "${tls[@]}" -H 'authorization: Bearer ${E2E_CHECKOUT_KEY}' -d "$check" "$addr" scopeguard.v1.ScopeGuardService/CheckScopes >/dev/null 2>&1; then
  fail "the rotated-out key still works"
fi
out=$(grpcurl "${tls[@]}" -H 'authorization: Bearer ${E2E_NEXT_KEY}' -d "$check" "$addr" scopeguard.v1.ScopeGuardService/CheckScopes)
expect_contains "SIGHUP brings in the next key" "$out" '"allowed": true'

# A broken file keeps the callers in force.
echo "callers: [" >"$work/callers.yaml"
kill -HUP "$server_pid"
for _ in $(seq 100); do grep -q 'callers file not reloaded' "$work/tls.log" && break; sleep 0.05; done
grep -q 'callers file not reloaded' "$work/tls.log" || fail "a broken callers file was not reported"
out=$(grpcurl "${tls[@]}" -H 'authorization: Bearer ${E2E_NEXT_KEY}' -d "$check" "$addr" scopeguard.v1.ScopeGuardService/CheckScopes)
expect_contains "a broken callers file keeps the callers in force" "$out" '"allowed": true'
kill -TERM "$server_pid"
wait "$server_pid" || fail "TLS server exited non-zero on SIGTERM"
server_pid=""

# The README's server examples, as written (servers of their own).
scripts/readme.sh || fail "the README's examples differ from what the servers answer"

echo "e2e: all passed"
