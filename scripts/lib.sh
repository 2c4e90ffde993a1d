# Shell helpers shared by scripts/e2e.sh, scripts/bench-grpc.sh and
# examples/demo.sh. Source it from the repository root.

# start_scopeguard LOG ARGS...: starts `bin/scopeguard serve` (or
# $SCOPEGUARD_BIN) on a free port with JSON logs to LOG, no shutdown drain (no
# load balancer is in front of it) and the extra ARGS, waits until it listens,
# and sets $scopeguard_pid, $addr and (when ARGS enable them) $metrics_addr and
# $http_addr. Returns 1
# if the server exits or does not listen within 10 s (LOG says why).
start_scopeguard() {
  local log=$1
  shift
  "${SCOPEGUARD_BIN:-bin/scopeguard}" serve --listen 127.0.0.1:0 --log-format json --shutdown-drain 0s "$@" >"$log" 2>&1 &
  scopeguard_pid=$!
  addr="" metrics_addr="" http_addr=""
  for _ in $(seq 200); do
    addr=$(sed -n 's/.*"msg":"serving","addr":"\([^"]*\)".*/\1/p' "$log" | head -n1)
    if [[ -n "$addr" ]]; then
      # "serving metrics" and "serving http" are logged before "serving".
      metrics_addr=$(sed -n 's/.*"msg":"serving metrics","addr":"\([^"]*\)".*/\1/p' "$log" | head -n1)
      http_addr=$(sed -n 's/.*"msg":"serving http","addr":"\([^"]*\)".*/\1/p' "$log" | head -n1)
      return 0
    fi
    kill -0 "$scopeguard_pid" 2>/dev/null || return 1
    sleep 0.05
  done
  return 1
}
