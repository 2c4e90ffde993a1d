#!/usr/bin/env bash
# One grpcurl call per ScopeGuardService RPC, through server reflection.
# Each prints the command it runs, then scopeguard's answer.
#
#   examples/grpcurl.sh check              CheckScopes with granted scopes
#   examples/grpcurl.sh check-basic        the same in DECISION_VIEW_BASIC (the hot path)
#   examples/grpcurl.sh check-token        CheckScopes with $ACCESS_TOKEN
#   examples/grpcurl.sh plan               PlanScopes for a small e-commerce sync
#   examples/grpcurl.sh explain [BODY]     ExplainError on the seed case (BODY: a
#                                          HubSpot 403 body; default: the seed's)
#   examples/grpcurl.sh refresh            RefreshToken for app $APP with $REFRESH_TOKEN
#
# Environment: SCOPEGUARD_ADDR (default 127.0.0.1:50051), ACCESS_TOKEN,
# REFRESH_TOKEN, APP (default "demo"). check, plan and explain need no
# HubSpot account; check-token and refresh need scopeguard pointed at
# HubSpot (or at the fake HubSpot, as examples/demo.sh does).
set -euo pipefail

addr=${SCOPEGUARD_ADDR:-127.0.0.1:50051}
service=scopeguard.v1.ScopeGuardService

# The seed case: HubSpot's 403 naming a scope the token already holds, as
# HubSpot sent it (examples/hubspot-403.json).
seed_body=$(<"$(dirname "$0")/hubspot-403.json")

# call RPC JSON: shows and runs one grpcurl call (secrets shortened in the
# echo, never in the call).
call() {
  local shown=$2
  shown=$(printf '%s' "$shown" | sed -E 's/("(accessToken|refreshToken)": *")([^"]{6})[^"]*"/\1\3…"/g')
  shown=${shown//\'/\'\\\'\'}
  printf "\$ grpcurl -plaintext -d '%s' %s %s/%s\n" "$shown" "$addr" "$service" "$1"
  grpcurl -plaintext -d "$2" "$addr" "$service/$1"
}

# json_string TEXT: TEXT as a JSON string literal (quotes, backslashes and
# control characters escaped).
json_string() {
  printf '%s' "$1" | sed -e 's/\\/\\\\/g' -e 's/"/\\"/g' -e 's/\t/\\t/g' | awk 'BEGIN{ORS=""} NR>1{print "\\n"} {print}' | sed -e 's/^/"/' -e 's/$/"/'
}

case "${1:-}" in
check)
  call CheckScopes '{"endpoints":[{"method":"GET","path":"/crm/v3/objects/contacts"},{"method":"POST","path":"https://api.hubapi.com/crm/v3/objects/0-3/search"}],"grantedScopes":["crm.objects.contacts.read"]}'
  ;;
check-basic)
  call CheckScopes '{"endpoints":[{"method":"GET","path":"/crm/v3/objects/contacts"},{"method":"POST","path":"https://api.hubapi.com/crm/v3/objects/0-3/search"}],"grantedScopes":["crm.objects.contacts.read"],"view":"DECISION_VIEW_BASIC"}'
  ;;
check-token)
  : "${ACCESS_TOKEN:?set ACCESS_TOKEN}"
  call CheckScopes '{"endpoints":[{"method":"GET","path":"/account-info/v3/activity/audit-logs"}],"accessToken":"'"$ACCESS_TOKEN"'"}'
  ;;
plan)
  call PlanScopes '{"endpoints":[{"method":"GET","path":"/crm/v3/objects/contacts"},{"method":"PATCH","path":"/crm/v3/objects/contacts/{contactId}"},{"method":"POST","path":"/crm/v3/objects/deals/search"}],"optionalEndpoints":[{"method":"GET","path":"/crm/v3/objects/line_items"}],"clientId":"7d1c6f0e-3b2a-4c5d-9e8f-0a1b2c3d4e5f","redirectUri":"https://shop.example/oauth/callback"}'
  ;;
explain)
  # With a token, scopeguard introspects it (through app $APP); without,
  # the example says which scopes the token holds.
  body=${2:-$seed_body}
  grant='"grantedScopes":["oauth","account-info.security.read"]'
  if [[ -n "${ACCESS_TOKEN:-}" ]]; then
    grant='"accessToken":"'"$ACCESS_TOKEN"'","app":"'"${APP:-demo}"'"'
  fi
  call ExplainError '{"httpStatus":403,"body":'"$(json_string "$body")"',"endpoint":{"method":"GET","path":"/account-info/v3/activity/audit-logs"},'"$grant"'}'
  ;;
refresh)
  : "${REFRESH_TOKEN:?set REFRESH_TOKEN}"
  call RefreshToken '{"refreshToken":"'"$REFRESH_TOKEN"'","app":"'"${APP:-demo}"'"}'
  ;;
*)
  sed -n '2,16p' "$0" >&2
  exit 2
  ;;
esac
