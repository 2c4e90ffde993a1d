#!/usr/bin/env bash
# End-to-end test of replicas sharing state through Redis: a real
# redis-server, the fake HubSpot and three `scopeguard serve` processes on
# free loopback ports. One refresh serves all three; with Redis killed
# (SIGKILL) every replica still answers and stays SERVING; with Redis back
# sharing resumes. Needs bin/scopeguard, bin/fakehubspot, grpcurl,
# grpc-health-probe, jq and redis-server (skipped without it, except under
# CI).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh

if ! command -v redis-server >/dev/null; then
  if [[ -n "${CI:-}" ]]; then
    echo "e2e-redis: FAIL: redis-server is not installed (apt-get install redis-server)" >&2
    exit 1
  fi
  echo "e2e-redis: SKIP: redis-server is not installed (apt-get install redis-server)"
  exit 0
fi

work=$(mktemp -d)
pids=()
redis_pid=""
cleanup() {
  for pid in "${pids[@]}" $redis_pid; do
    kill -TERM "$pid" 2>/dev/null && wait "$pid" 2>/dev/null || true
  done
  rm -rf "$work"
}
trap cleanup EXIT

fail() {
  echo "e2e-redis: FAIL: $*" >&2
  for log in "$work"/*.log; do
    echo "--- $log" >&2
    cat "$log" >&2 || true
  done
  exit 1
}

ok() { echo "e2e-redis: ok: $*"; }

redis_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
start_redis() {
  redis-server --port "$redis_port" --bind 127.0.0.1 --dir "$work" --save '' --appendonly no \
    --logfile "$work/redis.log" &
  redis_pid=$!
  for _ in $(seq 200); do
    redis-cli -p "$redis_port" ping >/dev/null 2>&1 && return 0
    sleep 0.05
  done
  fail "redis-server did not start"
}
start_redis

bin/fakehubspot --listen 127.0.0.1:0 >"$work/seed.json" 2>"$work/fake.log" &
pids+=($!)
for _ in $(seq 200); do [[ -s "$work/seed.json" ]] && break; sleep 0.05; done
jq -r '"apps:\n  demo:\n    client_id: \(.client_id)\n    client_secret: \(.client_secret)"' "$work/seed.json" >"$work/apps.yaml"
refresh_token=$(jq -r .refresh_token "$work/seed.json")

SCOPEGUARD_CACHE_KEY=$(openssl rand -base64 32)
export SCOPEGUARD_CACHE_KEY
addrs=() metrics=()
for i in 1 2 3; do
  start_scopeguard "$work/replica-$i.log" --metrics-listen 127.0.0.1:0 --redis-url "redis://127.0.0.1:$redis_port" \
    --hubspot-api-url "$(jq -r .url "$work/seed.json")" --apps-file "$work/apps.yaml" || fail "replica $i did not start"
  pids+=("$scopeguard_pid")
  addrs+=("$addr")
  metrics+=("$metrics_addr")
done

refresh() { # refresh ADDR TOKEN: prints "shared accessToken"
  grpcurl -plaintext -d "{\"refreshToken\":\"$2\",\"app\":\"demo\"}" "$1" scopeguard.v1.ScopeGuardService/RefreshToken |
    jq -r '"\(.shared // false) \(.accessToken)"'
}
gauge() { curl -fsS "http://$1/metrics" | sed -n 's/^scopeguard_shared_store_up \(.*\)$/\1/p'; }

read -r shared first < <(refresh "${addrs[0]}" "$refresh_token")
[[ "$shared" == false && -n "$first" ]] || fail "first refresh: shared=$shared"
for i in 1 2; do
  read -r shared token < <(refresh "${addrs[$i]}" "$refresh_token")
  [[ "$shared" == true && "$token" == "$first" ]] || fail "replica $((i + 1)): shared=$shared, same token: $([[ "$token" == "$first" ]] && echo yes || echo no)"
done
ok "one refresh serves three replicas"

for key in $(redis-cli -p "$redis_port" --scan); do
  echo "$key"
  redis-cli -p "$redis_port" hgetall "$key" 2>/dev/null || redis-cli -p "$redis_port" get "$key"
done >"$work/dump"
[[ -s "$work/dump" ]] || fail "Redis holds nothing"
for secret in "$refresh_token" "$first" "$(jq -r .client_secret "$work/seed.json")"; do
  ! grep -aqF "$secret" "$work/dump" || fail "Redis holds a secret in the clear"
done
ok "Redis holds no token or secret in the clear"

kill -KILL "$redis_pid"
wait "$redis_pid" 2>/dev/null || true
redis_pid=""
for i in 0 1 2; do
  read -r _ token < <(refresh "${addrs[$i]}" "$refresh_token") || fail "replica $((i + 1)) did not answer with Redis killed"
  [[ -n "$token" ]] || fail "replica $((i + 1)): no token with Redis killed"
  grpc-health-probe -addr "${addrs[$i]}" >/dev/null 2>&1 || fail "replica $((i + 1)) not SERVING with Redis killed"
  up=$(gauge "${metrics[$i]}")
  [[ "$up" == 0 ]] || fail "replica $((i + 1)): scopeguard_shared_store_up is $up, want 0"
done
ok "with Redis killed every replica answers, stays SERVING and reports the store down"

start_redis
for i in 0 1 2; do
  for _ in $(seq 100); do
    refresh "${addrs[$i]}" "$refresh_token" >/dev/null
    [[ "$(gauge "${metrics[$i]}")" == 1 ]] && break
    sleep 0.1
  done
  [[ "$(gauge "${metrics[$i]}")" == 1 ]] || fail "replica $((i + 1)) did not reach Redis again"
  for _ in $(seq 50); do # logs are flushed every 100 ms
    n=$(grep -c '"level":"WARN","msg":"shared token store' "$work/replica-$((i + 1)).log" || true)
    [[ "$n" == 2 ]] && break
    sleep 0.05
  done
  [[ "$n" == 2 ]] || fail "replica $((i + 1)) logged $n shared-store warnings, want 2"
done
read -r _ third < <(refresh "${addrs[1]}" "$refresh_token")
read -r shared_after token < <(refresh "${addrs[2]}" "$refresh_token")
[[ "$shared_after" == true && "$token" == "$third" ]] || fail "no sharing after Redis came back"
ok "with Redis back sharing resumes"

echo "e2e-redis: all passed"
