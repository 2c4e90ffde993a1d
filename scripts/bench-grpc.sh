#!/usr/bin/env bash
# Server-side cost of scopeguard's RPCs over the bare grpc-go floor: a
# grpc-go server of the same version serving only health
# (scripts/barehealth), run beside scopeguard under the same load.
#
# ghz (the load generator) shares the machine's cores with the servers, so
# client-observed throughput mostly measures the client. The figure that
# matters is each server's own CPU time per call, read from
# /proc/<pid>/stat (utime+stime) before and after each run. Runs alternate
# floor, RPC, floor, RPC, ... so drift on a shared machine hits both alike;
# each ratio is taken within its pair, and the tables give medians over the
# rounds.
#
# Usage: scripts/bench-grpc.sh [calls-per-run] [rounds]
#   BENCH_PARTS        parts to run (default "ratios profile scale startup"):
#                        ratios   each RPC over the floor
#                        profile  where a call's server CPU goes (CPU profiles; needs go tool pprof)
#                        scale    CheckScopes at 1-1,000 endpoints and 1-50 connections
#                        gc       the collector's CPU per call and peak RSS for several GOGC/GOMEMLIMIT
#                        startup  exec to SERVING, catalog load, RSS
#                        compare  the ratios of other scopeguard builds side by side with this one
#                                 (only with BENCH_COMPARE)
#   BENCH_COMPARE      builds for compare, as NAME=BINARY... (e.g. "main=/tmp/main/scopeguard")
#   BENCH_RPCS         ratio rows (default "Health CheckScopesBasic CheckScopesFull ExplainError PlanScopes")
#   BENCH_CONCURRENCY  concurrent calls of the ratio runs (default 16)
#   BENCH_SERVE_FLAGS  extra flags for scopeguard serve (e.g. "--log-calls all")
#   BENCH_SERVE_ENV    environment for scopeguard serve (e.g. "GOGC=100")
# Needs bin/scopeguard, bin/barehealth and ghz on PATH (make bench provides them).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh

calls=${1:-20000}
rounds=${2:-5}
parts=${BENCH_PARTS:-ratios profile scale gc startup}
concurrency=${BENCH_CONCURRENCY:-16}
read -r -a serve_flags <<<"${BENCH_SERVE_FLAGS:-}"
read -r -a serve_env <<<"${BENCH_SERVE_ENV:-}"
tick_ns=$((1000000000 / $(getconf CLK_TCK)))
work=$(mktemp -d)
scopeguard_pid="" bare_pid=""
cleanup() {
  for pid in $scopeguard_pid $bare_pid; do
    kill -TERM "$pid" 2>/dev/null && wait "$pid" 2>/dev/null || true
  done
  rm -rf "$work"
}
trap cleanup EXIT

# start_bare: the floor server; sets $bare_pid and $bare_addr.
start_bare() {
  bin/barehealth >"$work/bare.out" 2>&1 &
  bare_pid=$!
  for _ in $(seq 200); do
    bare_addr=$(awk '$1=="serving" {print $2}' "$work/bare.out")
    [[ -n "$bare_addr" ]] && return 0
    sleep 0.01
  done
  cat "$work/bare.out" >&2
  return 1
}

# start_sg: scopeguard as in production (JSON logs at info to a file, the
# default --log-calls) plus BENCH_SERVE_FLAGS; sets $scopeguard_pid, $addr.
start_sg() {
  if ((${#serve_env[@]})); then
    export "${serve_env[@]}"
  fi
  start_scopeguard "$work/server.log" --log-level info --metrics-listen 127.0.0.1:0 "${serve_flags[@]}" && [[ -n "$metrics_addr" ]] || {
    cat "$work/server.log" >&2
    echo "scopeguard did not start" >&2
    return 1
  }
  if ((${#serve_env[@]})); then
    unset "${serve_env[@]%%=*}"
  fi
}

stop_servers() {
  for pid in $scopeguard_pid $bare_pid; do
    kill -TERM "$pid" 2>/dev/null && wait "$pid" 2>/dev/null || true
  done
  scopeguard_pid="" bare_pid=""
}

cpu_ns() { awk -v t="$tick_ns" '{printf "%.0f\n", ($14 + $15) * t}' "/proc/$1/stat"; }
rss_kib() { awk -v k="$2" '$1==k":" {print $2}' "/proc/$1/status"; }

# ghz_run PID ADDR METHOD DATAFILE CALLS CONCURRENCY CONNECTIONS: one ghz
# run; prints "server_ns_per_call rps". Fails if any call did not succeed.
ghz_run() {
  local pid=$1 target=$2 method=$3 data=$4 n=$5 c=$6 conns=$7 before after rps codes
  before=$(cpu_ns "$pid")
  ghz --insecure --call "$method" -D "$data" -n "$n" -c "$c" --connections "$conns" \
    --format json "$target" >"$work/ghz.json"
  after=$(cpu_ns "$pid")
  rps=$(sed -n 's/.*"rps":\([0-9.]*\).*/\1/p' "$work/ghz.json")
  codes=$(grep -o '"statusCodeDistribution":{[^}]*}' "$work/ghz.json")
  if [[ "$codes" != '"statusCodeDistribution":{"OK":'* || "$codes" == *,* ]]; then
    echo "$method: calls failed: $codes" >&2
    return 1
  fi
  echo "$(((after - before) / n)) $rps"
}

median() { sort -g | awk '{a[NR]=$1} END {if (NR==0) print "nan"; else print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
# col FILE NAME COLUMN: the median of COLUMN over FILE's rows named NAME.
col() { awk -v n="$2" -v c="$3" '$1==n {print $c}' "$1" | median; }

health='grpc.health.v1.Health/Check'
service='scopeguard.v1.ScopeGuardService'
echo '{}' >"$work/health.json"
two_endpoints='"endpoints":[{"method":"GET","path":"/crm/v3/objects/contacts/123?archived=false"},{"method":"POST","path":"/crm/v3/objects/deals/search"}],"grantedScopes":["crm.objects.contacts.read","crm.objects.deals.read"]'
echo "{$two_endpoints,\"view\":\"DECISION_VIEW_BASIC\"}" >"$work/CheckScopesBasic.json"
# No view: unspecified is the full view, and builds from before views answer it too (compare).
echo "{$two_endpoints}" >"$work/CheckScopesFull.json"
cp scripts/testdata/bench-explain.json "$work/ExplainError.json"
echo '{"endpoints":[{"method":"GET","path":"/crm/v3/objects/contacts"},{"method":"PATCH","path":"/crm/v3/objects/contacts/1"},{"method":"POST","path":"/crm/v3/objects/deals/search"},{"method":"POST","path":"/crm/v3/objects/line_items/batch/create"},{"method":"GET","path":"/crm/v3/objects/products/7"}],"clientId":"demo-client","redirectUri":"https://shop.example/oauth/callback"}' >"$work/PlanScopes.json"
declare -A rpc_method=(
  [Health]="$health" [CheckScopesBasic]="$service/CheckScopes" [CheckScopesFull]="$service/CheckScopes"
  [ExplainError]="$service/ExplainError" [PlanScopes]="$service/PlanScopes"
)
declare -A rpc_data=([Health]="$work/health.json")
declare -A rpc_label=(
  [Health]="grpc.health.v1.Health/Check" [CheckScopesBasic]="CheckScopes, DECISION_VIEW_BASIC"
  [CheckScopesFull]="CheckScopes, full view (unspecified)" [ExplainError]="ExplainError (seed 403)" [PlanScopes]="PlanScopes"
)
declare -A rpc_target=([Health]="1.10" [CheckScopesBasic]="1.30" [CheckScopesFull]="1.60" [ExplainError]="3.0" [PlanScopes]="")

# endpoints_json N VIEW: a CheckScopes request of N endpoints (a mix of
# records, searches, updates and associations; some allowed, some missing
# scopes) in VIEW.
endpoints_json() {
  awk -v n="$1" -v view="$2" 'BEGIN {
    printf "{\"endpoints\":["
    for (i = 0; i < n; i++) {
      if (i) printf ","
      k = i % 5
      if (k == 0) printf "{\"method\":\"GET\",\"path\":\"/crm/v3/objects/contacts/%d?archived=false\"}", 1000 + i
      if (k == 1) printf "{\"method\":\"POST\",\"path\":\"/crm/v3/objects/deals/search\"}"
      if (k == 2) printf "{\"method\":\"PATCH\",\"path\":\"/crm/v3/objects/companies/%d\"}", 2000 + i
      if (k == 3) printf "{\"method\":\"GET\",\"path\":\"https://api.hubapi.com/crm/v3/objects/line_items/%d\"}", 3000 + i
      if (k == 4) printf "{\"method\":\"PUT\",\"path\":\"/crm/v4/objects/contact/%d/associations/default/company/%d\"}", 4000 + i, 5000 + i
    }
    printf "],\"grantedScopes\":[\"crm.objects.contacts.read\",\"crm.objects.contacts.write\",\"crm.objects.deals.read\",\"crm.objects.companies.read\"],\"view\":\"%s\"}\n", view
  }'
}

ratios() {
  local results="$work/ratios" name data pair bare_out sg_out
  : >"$results"
  read -r -a rows <<<"${BENCH_RPCS:-Health CheckScopesBasic CheckScopesFull ExplainError PlanScopes}"
  for round in $(seq "$rounds"); do
    for name in "${rows[@]}"; do
      data=${rpc_data[$name]:-$work/$name.json}
      bare_out=$(ghz_run "$bare_pid" "$bare_addr" "$health" "$work/health.json" "$calls" "$concurrency" 2)
      sg_out=$(ghz_run "$scopeguard_pid" "$addr" "${rpc_method[$name]}" "$data" "$calls" "$concurrency" 2)
      read -r bare_ns _ <<<"$bare_out"
      read -r sg_ns sg_rps <<<"$sg_out"
      echo "$name $sg_ns $bare_ns $(awk -v a="$sg_ns" -v b="$bare_ns" 'BEGIN {print a / b}') $sg_rps" >>"$results"
    done
    echo "ratios: round $round/$rounds done" >&2
  done
  echo
  echo "| call | server CPU per call (µs) | bare floor, same runs (µs) | ratio to the floor | target | scopeguard calls/s |"
  echo "|---|---:|---:|---:|---:|---:|"
  for name in "${rows[@]}"; do
    printf '| %s | %.1f | %.1f | %.2f | %s | %.0f |\n' "${rpc_label[$name]}" \
      "$(echo "$(col "$results" "$name" 2) / 1000" | bc -l)" "$(echo "$(col "$results" "$name" 3) / 1000" | bc -l)" \
      "$(col "$results" "$name" 4)" "${rpc_target[$name]:+≤ ${rpc_target[$name]}×}" "$(col "$results" "$name" 5)"
  done
  echo
  echo "calls per run: $calls, rounds: $rounds, concurrency $concurrency over 2 connections; each RPC run is paired with a floor run just before it; medians (the ratio is the median of the per-pair ratios)"
}

scale() {
  local results="$work/scale" conns c n view data calls_n bare_ns out
  : >"$results"
  for conns in 1 4 50; do
    c=$((conns > 16 ? conns : 16))
    read -r bare_ns _ <<<"$(ghz_run "$bare_pid" "$bare_addr" "$health" "$work/health.json" "$calls" "$c" "$conns")"
    echo "floor $conns $bare_ns" >>"$results"
    for n in 1 10 100 1000; do
      for view in BASIC FULL; do
        data="$work/scale-$n-$view.json"
        [[ -f "$data" ]] || endpoints_json "$n" "DECISION_VIEW_$view" >"$data"
        calls_n=$((calls / n > 1000 ? calls / n : 1000))
        read -r out _ <<<"$(ghz_run "$scopeguard_pid" "$addr" "$service/CheckScopes" "$data" "$calls_n" "$c" "$conns")"
        echo "$view $conns $n $out $bare_ns" >>"$results"
      done
    done
    echo "scale: $conns connection(s) done" >&2
  done
  echo
  echo "| view | connections | endpoints per request | server CPU per call (µs) | per endpoint (µs) | per added endpoint (µs) | ratio to the floor |"
  echo "|---|---:|---:|---:|---:|---:|---:|"
  awk '$1=="BASIC" || $1=="FULL" {
      key = $1 " " $2
      if ($3 == 1) one[key] = $4
      added = ($3 == 1) ? "" : sprintf("%.2f", ($4 - one[key]) / ($3 - 1) / 1000)
      printf "| %s | %d | %d | %.1f | %.2f | %s | %.2f |\n", $1, $2, $3, $4 / 1000, $4 / $3 / 1000, added, $4 / $5
    }' "$results" | sort -t'|' -k2,2 -k3n -k4n
  echo
  echo "floor (bare health) per call: $(awk '$1=="floor" {printf "%s conn: %.1f µs; ", $2, $3 / 1000}' "$results")"
  echo "calls per run: max(1000, $calls / endpoints), concurrency max(16, connections), one run each"
}

# compare: the ratio rows for each build in BENCH_COMPARE and this one,
# each started as start_sg starts this one, every run paired with a floor
# run. A call a build cannot answer (a field it does not know) is n/a.
compare() {
  local results="$work/compare" spec name row data out bare_ns ns
  local -a builds=() pids=() addrs=()
  : >"$results"
  read -r -a rows <<<"${BENCH_RPCS:-Health CheckScopesBasic CheckScopesFull ExplainError PlanScopes}"
  for spec in ${BENCH_COMPARE:-}; do
    SCOPEGUARD_BIN=${spec#*=} start_scopeguard "$work/compare-${spec%%=*}.log" --log-level info "${serve_flags[@]}" || {
      cat "$work/compare-${spec%%=*}.log" >&2
      return 1
    }
    builds+=("${spec%%=*}") pids+=("$scopeguard_pid") addrs+=("$addr")
  done
  builds+=(this) pids+=("$main_pid") addrs+=("$main_addr")
  for round in $(seq "$rounds"); do
    for row in "${rows[@]}"; do
      data=${rpc_data[$row]:-$work/$row.json}
      for i in "${!builds[@]}"; do
        read -r bare_ns _ <<<"$(ghz_run "$bare_pid" "$bare_addr" "$health" "$work/health.json" "$calls" "$concurrency" 2)"
        if out=$(ghz_run "${pids[$i]}" "${addrs[$i]}" "${rpc_method[$row]}" "$data" "$calls" "$concurrency" 2 2>/dev/null); then
          read -r ns _ <<<"$out"
          echo "$row ${builds[$i]} $ns $(awk -v a="$ns" -v b="$bare_ns" 'BEGIN {print a / b}')" >>"$results"
        fi
      done
    done
    echo "compare: round $round/$rounds done" >&2
  done
  for i in "${!builds[@]}"; do
    if [[ ${builds[$i]} != this ]]; then
      kill -TERM "${pids[$i]}" 2>/dev/null && wait "${pids[$i]}" 2>/dev/null || true
    fi
  done
  scopeguard_pid=$main_pid addr=$main_addr
  echo
  printf '| call |'; printf ' %s: µs per call (ratio) |' "${builds[@]}"; echo
  printf '|---|'; printf -- '---:|%.0s' "${builds[@]}"; echo
  for row in "${rows[@]}"; do
    printf '| %s |' "${rpc_label[$row]}"
    for name in "${builds[@]}"; do
      if grep -q "^$row $name " "$results"; then
        printf ' %.1f (%.2f) |' "$(echo "$(awk -v r="$row" -v n="$name" '$1==r && $2==n {print $3}' "$results" | median) / 1000" | bc -l)" \
          "$(awk -v r="$row" -v n="$name" '$1==r && $2==n {print $4}' "$results" | median)"
      else
        printf ' n/a |'
      fi
    done
    echo
  done
  echo
  echo "calls per run: $calls, rounds: $rounds, concurrency $concurrency over 2 connections; every run paired with a floor run; medians (ratio: of the per-pair ratios)"
}

# profile: a CPU profile of scopeguard under each RPC's load, split into
# where the time goes, as microseconds of server CPU per call (the
# profile's shares of the CPU per call measured over the same run). The
# parts nest, so each is taken as its own cumulative time minus what it
# calls that is listed separately: the interceptors exclude validation and
# the handler, "other" is what is left (gRPC's own dispatch, contexts,
# scheduling).
profile() {
  local name out total count cpu before after
  echo
  echo "| call | CPU per call (µs) | handler | validation | interceptors | log line | unmarshal | marshal | HTTP/2 read | HTTP/2 write | GC (background) | other |"
  echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
  for name in Health CheckScopesBasic CheckScopesFull; do
    before=$(cpu_ns "$scopeguard_pid")
    ghz --insecure --call "${rpc_method[$name]}" -D "${rpc_data[$name]:-$work/$name.json}" -z 20s -c "$concurrency" --connections 2 \
      --format json "$addr" >"$work/ghz-profile.json" &
    local ghz_pid=$!
    sleep 2
    curl -fsS -o "$work/$name.pprof" "http://$metrics_addr/debug/pprof/profile?seconds=15"
    wait "$ghz_pid"
    after=$(cpu_ns "$scopeguard_pid")
    count=$(grep -o '"count":[0-9]*' "$work/ghz-profile.json" | head -n1 | cut -d: -f2)
    cpu=$(((after - before) / count))
    go tool pprof -top -cum -unit=ms -nodefraction=0 -edgefraction=0 -nodecount=100000 bin/scopeguard "$work/$name.pprof" 2>/dev/null |
      awk -v name="${rpc_label[$name]}" -v cpu="$cpu" '
        $5 ~ /^[0-9.]+%$/ { flat = $1; sub(/ms$/, "", flat); total += flat; c = $4; sub(/ms$/, "", c); fn = $6; for (i = 7; i <= NF; i++) fn = fn " " $i
          if (fn ~ /health\.\(\*Server\)\.Check$|server\.\(\*Service\)\.(CheckScopes|ExplainError|PlanScopes)$/) handler += c
          else if (fn ~ /server\.validate$/) validation = c
          else if (fn ~ /server\.requestIDUnary$/) chain = c
          else if (fn ~ /server\.callLogger\.finished$/) logline = c
          else if (fn ~ /encoding\/proto\.\(\*codecV2\)\.Unmarshal$/) unmarshal = c
          else if (fn ~ /encoding\/proto\.\(\*codecV2\)\.Marshal$/) marshal = c
          else if (fn ~ /transport\.\(\*http2Server\)\.HandleStreams$/) read = c
          else if (fn ~ /transport\.\(\*loopyWriter\)\.run$/) write = c
          else if (fn ~ /^runtime\.gcBgMarkWorker$/) gc = c }
        END {
          us = cpu / 1000 / total
          inter = chain - validation - handler - logline
          other = total - handler - validation - inter - logline - unmarshal - marshal - read - write - gc
          printf "| %s | %.1f | %.1f | %.1f | %.1f | %.1f | %.1f | %.1f | %.1f | %.1f | %.1f | %.1f |\n", name, cpu / 1000,
            handler * us, validation * us, inter * us, logline * us, unmarshal * us, marshal * us, read * us, write * us, gc * us, other * us
        }'
  done
  echo
  echo "one 20 s ghz run per call (concurrency $concurrency over 2 connections), a 15 s CPU profile in its middle; µs of server CPU per call"
}

# gc: the garbage collector's own CPU per call (summed from GODEBUG=gctrace
# lines: every phase's CPU, assists and idle marking included), the
# server's CPU per call and its peak RSS, for Go's defaults (GOGC=100, no
# memory limit), GOGC=200 and 400 without a limit, and serve's defaults
# (GOGC=400, GOMEMLIMIT=256MiB), one server each. The last row of each is a
# burst: 50 connections each sending 1,000-endpoint full checks.
gc() {
  local setting name data n c conns before cpu0 cpu1 label
  [[ -f "$work/scale-100-FULL.json" ]] || endpoints_json 100 DECISION_VIEW_FULL >"$work/scale-100-FULL.json"
  [[ -f "$work/scale-1000-FULL.json" ]] || endpoints_json 1000 DECISION_VIEW_FULL >"$work/scale-1000-FULL.json"
  echo
  echo "| settings | call | GC CPU per call (µs) | server CPU per call (µs) | GC share | peak RSS so far (MiB) |"
  echo "|---|---|---:|---:|---:|---:|"
  for setting in "GOGC=100 GOMEMLIMIT=off" "GOGC=200 GOMEMLIMIT=off" "GOGC=400 GOMEMLIMIT=off" "serve's defaults"; do
    if [[ $setting == GOGC* ]]; then
      # shellcheck disable=SC2086 # two assignments
      export $setting
    fi
    export GODEBUG=gctrace=1
    start_sg
    unset GOGC GOMEMLIMIT GODEBUG
    ghz --insecure --call "$service/CheckScopes" -D "$work/CheckScopesFull.json" -n 2000 -c "$concurrency" "$addr" >/dev/null
    for name in CheckScopesBasic CheckScopesFull CheckScopes100 Burst; do
      data=$work/$name.json n=$calls c=$concurrency conns=2 label=${rpc_label[$name]:-}
      case $name in
      CheckScopes100) data=$work/scale-100-FULL.json n=$((calls / 10)) label="CheckScopes, 100 endpoints, DECISION_VIEW_FULL" ;;
      Burst) data=$work/scale-1000-FULL.json n=$((calls / 20)) c=50 conns=50 label="burst: CheckScopes, 1,000 endpoints, DECISION_VIEW_FULL, 50 connections" ;;
      esac
      before=$(grep -c '^gc ' "$work/server.log" || true)
      cpu0=$(cpu_ns "$scopeguard_pid")
      ghz --insecure --call "$service/CheckScopes" -D "$data" -n "$n" -c "$c" --connections "$conns" "$addr" >/dev/null
      cpu1=$(cpu_ns "$scopeguard_pid")
      grep '^gc ' "$work/server.log" | tail -n +$((before + 1)) |
        awk -v setting="$setting" -v n="$n" -v cpu="$(((cpu1 - cpu0) / n))" -v label="$label" '{
            split($0, a, " ms clock, "); split(a[2], b, " ms cpu"); gsub(/[+\/]/, " ", b[1])
            k = split(b[1], p, " "); for (i = 1; i <= k; i++) ms += p[i] }
          END { printf "| %s | %s | %.1f | %.1f | %.0f%% |", setting, label, ms * 1000 / n, cpu / 1000, ms * 1e8 / n / cpu }'
      echo " $(($(rss_kib "$scopeguard_pid" VmHWM) / 1024)) |"
    done
    stop_servers
  done
  echo
  echo "calls per run: $calls ($((calls / 10)) at 100 endpoints, $((calls / 20)) in the burst), concurrency $concurrency over 2 connections (the burst: 50 over 50)"
}

# startup: exec to SERVING (the "serving" line: health turns SERVING just
# before it is written), for both servers, 5 times each; the catalog load
# time scopeguard logs; medians.
startup() {
  local results="$work/startup" t0 line t1
  : >"$results"
  for _ in 1 2 3 4 5; do
    t0=$(date +%s%N)
    start_bare
    t1=$(awk '$1=="serving" {print $3}' "$work/bare.out")
    echo "bare $(((t1 - t0) / 1000)) " >>"$results"
    stop_servers
    t0=$(date +%s%N)
    start_sg
    line=$(grep '"msg":"serving"' "$work/server.log")
    t1=$(date -d "$(sed -n 's/.*"time":"\([^"]*\)".*/\1/p' <<<"$line")" +%s%N)
    load=$(sed -n 's/.*"msg":"loaded catalog".*"took":\([0-9]*\).*/\1/p' "$work/server.log")
    echo "scopeguard $(((t1 - t0) / 1000)) $((load / 1000))" >>"$results"
    stop_servers
  done
  echo
  echo "exec to SERVING, median of 5 starts: bare grpc-go $(echo "$(col "$results" bare 2) / 1000" | bc -l | xargs printf '%.1f') ms;" \
    "scopeguard $(echo "$(col "$results" scopeguard 2) / 1000" | bc -l | xargs printf '%.1f') ms" \
    "(of which catalog load $(echo "$(col "$results" scopeguard 3) / 1000" | bc -l | xargs printf '%.1f') ms)"
}

start_bare
start_sg
main_pid=$scopeguard_pid main_addr=$addr
idle_rss=$(rss_kib "$scopeguard_pid" VmRSS)
bare_idle_rss=$(rss_kib "$bare_pid" VmRSS)
# Warm up both (connections, caches, page faults).
ghz --insecure --call "$health" -d '{}' -n 2000 -c "$concurrency" "$bare_addr" >/dev/null
ghz --insecure --call "$service/CheckScopes" -D "$work/CheckScopesFull.json" -n 2000 -c "$concurrency" "$addr" >/dev/null
[[ -n "${BENCH_COMPARE:-}" && " $parts " != *" compare "* ]] && parts+=" compare"
for part in $parts; do
  [[ "$part" == startup || "$part" == gc ]] && continue
  "$part"
done
echo
echo "RSS: scopeguard idle $((idle_rss / 1024)) MiB, after the load $(($(rss_kib "$scopeguard_pid" VmRSS) / 1024)) MiB, peak $(($(rss_kib "$scopeguard_pid" VmHWM) / 1024)) MiB;" \
  "bare grpc-go idle $((bare_idle_rss / 1024)) MiB, peak $(($(rss_kib "$bare_pid" VmHWM) / 1024)) MiB"
echo "scopeguard serve flags: --log-level info ${serve_flags[*]:-} ${serve_env[*]:+(env ${serve_env[*]})}"
stop_servers
if [[ " $parts " == *" gc "* ]]; then
  gc
fi
if [[ " $parts " == *" startup "* ]]; then
  startup
fi
