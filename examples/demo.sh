#!/usr/bin/env bash
# The seed story, end to end, against the fake HubSpot: an app holds
# account-info.security.read, HubSpot still answers 403 MISSING_SCOPES on
# the audit log, and scopeguard says why. Then a refresh, shared.
#
# Starts bin/fakehubspot and bin/scopeguard on free ports (make demo builds
# them) and stops both at the end. Needs grpcurl and curl on PATH.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh

work=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

# field NAME: a string field of the fake's seed line.
field() { sed -n 's/.*"'"$1"'":"\([^"]*\)".*/\1/p' "$work/seed.json"; }
step() { printf '\n== %s\n' "$*"; }

bin/fakehubspot >"$work/seed.json" 2>"$work/fake.log" &
pids+=($!)
for _ in $(seq 100); do [[ -s "$work/seed.json" ]] && break; sleep 0.05; done
hubspot=$(field url)
access_token=$(field access_token)

start_scopeguard "$work/scopeguard.log" --hubspot-api-url "$hubspot" --apps-file examples/fakehubspot-apps.yaml ||
  { cat "$work/scopeguard.log" >&2; exit 1; }
pids+=("$scopeguard_pid")
export SCOPEGUARD_ADDR=$addr ACCESS_TOKEN=$access_token APP=demo
echo "fake HubSpot at $hubspot; scopeguard at $addr"

step "1. Before the call: may this token read the audit log? (CheckScopes by token)"
examples/grpcurl.sh check-token

step "2. The call: HubSpot answers 403 MISSING_SCOPES although the token holds the scope"
echo "\$ curl -H 'Authorization: Bearer ${access_token:0:6}…' $hubspot/account-info/v3/activity/audit-logs"
body=$(curl -s -H "Authorization: Bearer $access_token" "$hubspot/account-info/v3/activity/audit-logs")
echo "$body"

step "3. After the call: why? (ExplainError with HubSpot's body and the token)"
examples/grpcurl.sh explain "$body"

step "4. Keeping the token fresh: RefreshToken, twice (the second answer is shared)"
export REFRESH_TOKEN
REFRESH_TOKEN=$(field refresh_token)
examples/grpcurl.sh refresh
examples/grpcurl.sh refresh | grep -E '"shared"|^\$'
