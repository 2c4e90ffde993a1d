# Shell helpers shared by scripts/e2e.sh, scripts/bench-grpc.sh and
# examples/demo.sh. Source it from the repository root.

# start_scopeguard LOG ARGS...: starts `bin/scopeguard serve` (or
# $SCOPEGUARD_BIN) on a free port
# with JSON logs to LOG and the extra ARGS, waits until it listens, and sets
# $scopeguard_pid, $addr and (when ARGS enable it) $metrics_addr. Returns 1
# if the server exits or does not listen within 10 s (LOG says why).
start_scopeguard() {
  local log=$1
  shift
  "${SCOPEGUARD_BIN:-bin/scopeguard}" serve --listen 127.0.0.1:0 --log-format json "$@" >"$log" 2>&1 &
  scopeguard_pid=$!
  addr="" metrics_addr=""
  for _ in $(seq 200); do
    # "serving metrics" comes first when enabled, so both are known by then.
    metrics_addr=$(sed -n 's/.*"msg":"serving metrics","addr":"\([^"]*\)".*/\1/p' "$log" | head -n1)
    addr=$(sed -n 's/.*"msg":"serving","addr":"\([^"]*\)".*/\1/p' "$log" | head -n1)
    [[ -n "$addr" ]] && return 0
    kill -0 "$scopeguard_pid" 2>/dev/null || return 1
    sleep 0.05
  done
  return 1
}
