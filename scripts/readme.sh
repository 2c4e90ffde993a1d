#!/usr/bin/env bash
# Runs the README's console examples that need a server, as written, and
# fails when an output differs from the README's: the grpcurl, php,
# grpc-health-probe and curl commands, and the walk-throughs that start
# fakehubspot and scopeguard in the background (one with TLS and a callers
# file, whose certificate and files go to a scratch directory). The servers listen on free
# ports: each address the README names is replaced by the one this run got.
# The offline CLI examples ($ scopeguard check|plan|explain|version|--help)
# are cmd/scopeguard/readme_test.go's.
#
# Needs bin/scopeguard, bin/fakehubspot, grpcurl, grpc-health-probe, curl, jq
# and php on PATH (make e2e provides the first four). What differs on every
# run (request ids, token fingerprints, ...: see mask) is masked on both
# sides.
#
#   scripts/readme.sh            check the README
#   scripts/readme.sh --update   write this run's outputs into README.md
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

update=false
[[ "${1:-}" == --update ]] && update=true
failures=0
fail() {
  echo "readme: FAIL: $*" >&2
  failures=$((failures + 1))
}

# The README's addresses (and the seed file the walk-through writes) and what
# stands for them in this run.
declare -A replace=([seed.json]="$work/seed.json" [cert.pem]="$work/cert.pem" [key.pem]="$work/key.pem"
  [callers.yaml]="$work/callers.yaml")
substitute() {
  local s=$1 from
  for from in "${!replace[@]}"; do s=${s//"$from"/"${replace[$from]}"}; done
  printf '%s' "$s"
}

# mask hides what differs on every run: request ids, token fingerprints and
# expiry times, HTTP's CRLF line ends and a body's length, and the spaces
# protojson adds at random to compact JSON (so that nobody compares bytes).
mask() {
  sed -E -e 's/\r$//' -e 's/("(request_id|fingerprint|expiresAt)": ?)"[^"]*"/\1"…"/g' \
    -e 's/^(X-Request-Id|Content-Length): .*/\1: …/' -e 's/([]}"0-9el]), ?(["{[])/\1,\2/g' -e 's/":[[:space:]]+/":/g'
}

# serve ARGS...: (re)starts scopeguard with ARGS, in place of the one before
# (the README stops `make run` before starting its own).
serve() {
  if [[ -n "${scopeguard_pid:-}" ]]; then
    kill -TERM "$scopeguard_pid"
    wait "$scopeguard_pid" || true
  fi
  local args=() arg flag="" metrics="" http=""
  for arg in "$@"; do
    case "$flag" in
    --metrics-listen) metrics=$arg arg=127.0.0.1:0 ;;
    --http-listen) http=$arg arg=127.0.0.1:0 ;;
    esac
    flag=$arg
    args+=("$arg")
  done
  local log=$work/scopeguard-${#pids[@]}.log
  start_scopeguard "$log" "${args[@]}" || { cat "$log" >&2; exit 1; }
  pids+=("$scopeguard_pid")
  replace[127.0.0.1:50051]=$addr
  if [[ -n "$metrics" ]]; then replace[$metrics]=$metrics_addr; fi
  if [[ -n "$http" ]]; then replace[$http]=$http_addr; fi
}

# fake LISTEN: starts bin/fakehubspot on a free port in place of LISTEN.
fake() {
  bin/fakehubspot --listen 127.0.0.1:0 >"$work/seed.json" 2>"$work/fake.log" &
  pids+=($!)
  for _ in $(seq 200); do [[ -s "$work/seed.json" ]] && break; sleep 0.05; done
  local url
  url=$(sed -E 's/.*"url":"http:\/\/([^"]+)".*/\1/' "$work/seed.json")
  [[ -n "$url" ]] || { cat "$work/fake.log" >&2; exit 1; }
  replace[$1]=$url
}

# example COMMAND EXPECTED: runs one README command and compares its output;
# sets $shown to the output the README should show.
example() {
  local cmd=$1 want=$2 got
  shown=$want
  case "$cmd" in
  "scopeguard serve "*"&")
    cmd=${cmd#scopeguard serve }
    cmd=${cmd%&}
    cmd=$(sed -E 's/ 2>[^ ]+//' <<<"$cmd")
    # shellcheck disable=SC2046 # the README's flags, split as the shell would
    serve $(substitute "$cmd")
    ;;
  "fakehubspot --listen "*)
    fake "$(sed -E 's/^fakehubspot --listen ([^ ]+).*/\1/' <<<"$cmd")"
    ;;
  [A-Za-z_]*=\$\(* | "export "[A-Za-z_]*=*)
    # A variable for the commands after it (token=$(...)), or for the
    # servers started after it (export KEY=...).
    eval "$(substitute "$cmd")"
    ;;
  "go run "* | "printf "*)
    # Files a walk-through writes (a certificate, a callers file), written
    # in the scratch directory.
    (cd "$work" && eval "$cmd") >/dev/null 2>&1 || fail "\$ $cmd"
    ;;
  grpcurl* | grpc-health-probe* | curl* | php*)
    got=$(eval "$(substitute "$cmd")" 2>&1 || true)
    if [[ "$(mask <<<"$got")" == "$(mask <<<"$want")" ]]; then
      echo "readme: ok: ${cmd:0:100}"
    elif $update; then
      shown=$got
      echo "readme: updated: ${cmd:0:100}"
    else
      fail "\$ $cmd"$'\n'"$(diff <(mask <<<"$want") <(mask <<<"$got") || true)"
    fi
    ;;
  *) ;; # the offline CLI: readme_test.go
  esac
}

serve # `make run`: the defaults

# Every "$ " line of a console block is a command; the lines after it, up to
# the next command or the end of the block, are its output.
# $work/README.md is the README with this run's outputs.
in_console=false cmd="" want="" shown=""
while IFS= read -r line; do
  if ! $in_console; then
    [[ "$line" == '```console' ]] && in_console=true
    printf '%s\n' "$line" >>"$work/README.md"
    continue
  fi
  if [[ "$line" == '```' || "$line" == '$ '* ]]; then
    if [[ -n "$cmd" ]]; then
      example "$cmd" "$want"
      [[ -n "$shown" ]] && printf '%s\n' "$shown" >>"$work/README.md"
    fi
    cmd="" want=""
    printf '%s\n' "$line" >>"$work/README.md"
  fi
  if [[ "$line" == '```' ]]; then
    in_console=false
  elif [[ "$line" == '$ '* ]]; then
    cmd=${line#\$ }
  else
    want+=${want:+$'\n'}$line
  fi
done <README.md
if $update; then cp "$work/README.md" README.md; fi

if ((failures > 0)); then
  echo "readme: $failures example(s) differ from the README (-README +now)" >&2
  exit 1
fi
echo "readme: all examples as shown"
