#!/usr/bin/env bash
# Server-side cost of scopeguard's RPCs next to the gRPC health check, the
# framework's own floor, on one server under the same load.
#
# ghz (the load generator) shares the machine's cores with the server, so
# client-observed throughput mostly measures the client. The figure that
# matters is the server's own CPU time per call, read from
# /proc/<pid>/stat (utime+stime) before and after each run. Runs alternate
# health, RPC, health, RPC, ... so drift on a shared machine hits both alike;
# the table gives medians over the rounds.
#
# Usage: scripts/bench-grpc.sh [calls-per-run] [rounds]
# BENCH_RPCS selects the RPCs (default "CheckScopes ExplainError PlanScopes");
# BENCH_CONCURRENCY the concurrent calls (default 16).
# Needs bin/scopeguard and ghz on PATH (make bench provides them).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh

calls=${1:-20000}
rounds=${2:-5}
concurrency=${BENCH_CONCURRENCY:-16}
tick_us=$((1000000 / $(getconf CLK_TCK)))
work=$(mktemp -d)
server_pid=""
cleanup() {
  [[ -n "$server_pid" ]] && kill -TERM "$server_pid" 2>/dev/null && wait "$server_pid" || true
  rm -rf "$work"
}
trap cleanup EXIT

# Production-like: JSON logs at info, written to a file.
start_scopeguard "$work/server.log" --log-level info || { cat "$work/server.log"; echo "server did not start" >&2; exit 1; }
server_pid=$scopeguard_pid

cpu_ticks() { awk '{print $14 + $15}' "/proc/$server_pid/stat"; }

# run_ghz NAME METHOD DATA: one ghz run; appends "NAME us_per_call rps" to $work/results.
run_ghz() {
  local name=$1 method=$2 data=$3 before after rps
  before=$(cpu_ticks)
  ghz --insecure --call "$method" -d "$data" -n "$calls" -c "$concurrency" --connections 2 \
    --format json "$addr" >"$work/ghz.json"
  after=$(cpu_ticks)
  rps=$(sed -n 's/.*"rps":\([0-9.]*\).*/\1/p' "$work/ghz.json")
  errors=$(grep -o '"statusCodeDistribution":{[^}]*}' "$work/ghz.json")
  if [[ "$errors" != '"statusCodeDistribution":{"OK":'* || "$errors" == *,* ]]; then
    echo "$name: calls failed: $errors" >&2
    exit 1
  fi
  echo "$name $(((after - before) * tick_us * 1000 / calls)) $rps" >>"$work/results"
}

health='grpc.health.v1.Health/Check'
declare -A rpcs=(
  [CheckScopes]='{"endpoints":[{"method":"GET","path":"/crm/v3/objects/contacts/123?archived=false"},{"method":"POST","path":"/crm/v3/objects/deals/search"}],"grantedScopes":["crm.objects.contacts.read","crm.objects.deals.read"]}'
  [ExplainError]="$(cat scripts/testdata/bench-explain.json)"
  [PlanScopes]='{"endpoints":[{"method":"GET","path":"/crm/v3/objects/contacts"},{"method":"PATCH","path":"/crm/v3/objects/contacts/1"},{"method":"POST","path":"/crm/v3/objects/deals/search"},{"method":"POST","path":"/crm/v3/objects/line_items/batch/create"},{"method":"GET","path":"/crm/v3/objects/products/7"}],"clientId":"demo-client","redirectUri":"https://shop.example/oauth/callback"}'
)
read -r -a order <<<"${BENCH_RPCS:-CheckScopes ExplainError PlanScopes}"

# Warm up both sides (connections, caches, JIT-free but page faults).
ghz --insecure --call "$health" -d '{}' -n 2000 -c "$concurrency" "$addr" >/dev/null

for round in $(seq "$rounds"); do
  for name in "${order[@]}"; do
    run_ghz "Health/Check" "$health" '{}'
    run_ghz "$name" "scopeguard.v1.ScopeGuardService/$name" "${rpcs[$name]}"
  done
  echo "round $round/$rounds done" >&2
done

median() { sort -n | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }

health_cpu=$(awk '$1=="Health/Check" {print $2}' "$work/results" | median)
health_rps=$(awk '$1=="Health/Check" {print $3}' "$work/results" | median)
echo
echo "| call | server CPU per call (ns) | ratio to health | throughput (calls/s) |"
echo "|---|---:|---:|---:|"
printf '| %s | %d | %.2f | %.0f |\n' "grpc.health.v1.Health/Check" "$health_cpu" 1 "$health_rps"
for name in "${order[@]}"; do
  cpu=$(awk -v n="$name" '$1==n {print $2}' "$work/results" | median)
  rps=$(awk -v n="$name" '$1==n {print $3}' "$work/results" | median)
  printf '| %s | %d | %.2f | %.0f |\n' "$name" "$cpu" "$(echo "$cpu $health_cpu" | awk '{print $1/$2}')" "$rps"
done
echo
echo "calls per run: $calls, rounds: $rounds (alternated with health), concurrency: $concurrency over 2 connections; medians"
