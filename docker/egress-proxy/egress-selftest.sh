#!/bin/sh
# Egress self-test for the agent's healthcheck: passes only when the sandbox's proxy lets an allowed
# destination answer AND refuses a denied one. Needs curl and the HTTP(S)_PROXY variables the program sets.
#   AGENT_EGRESS_PROBE_ALLOWED  URL that must answer through the proxy (any HTTP status counts); unset skips it
#   AGENT_EGRESS_PROBE_DENIED   URL the proxy must refuse (default: a name no allowlist can hold)
#   AGENT_EGRESS_PROBE_TIMEOUT  seconds per probe (default 5)
# Exit 0 healthy; 1 with one line saying which half failed.
set -u
timeout=${AGENT_EGRESS_PROBE_TIMEOUT:-5}
denied=${AGENT_EGRESS_PROBE_DENIED:-http://egress-denied-probe.invalid/}

if ! command -v curl >/dev/null 2>&1; then
  echo "egress-selftest: curl is not installed" >&2
  exit 1
fi
if [ -z "${HTTPS_PROXY:-}${https_proxy:-}${HTTP_PROXY:-}${http_proxy:-}" ]; then
  echo "egress-selftest: no HTTP(S)_PROXY set, so nothing routes through the egress proxy" >&2
  exit 1
fi

# Prints "refused" when the proxy refused the request (Squid marks its refusals, for a plain request and for
# a CONNECT alike, with X-Squid-Error: ERR_ACCESS_DENIED), "answered" when the destination answered, else
# curl's error. A timeout or a broken proxy is never mistaken for a refusal.
probe() {
  output=$(curl -sS -o /dev/null -D - --max-time "$timeout" "$1" 2>&1)
  code=$?
  case "$output" in
    *"X-Squid-Error: ERR_ACCESS_DENIED"*) echo refused ;;
    *) if [ "$code" -eq 0 ]; then echo answered; else echo "failed: $(printf '%s\n' "$output" | tail -n 1)"; fi ;;
  esac
}

if [ -n "${AGENT_EGRESS_PROBE_ALLOWED:-}" ]; then
  result=$(probe "$AGENT_EGRESS_PROBE_ALLOWED")
  if [ "$result" != answered ]; then
    echo "egress-selftest: allowed probe $AGENT_EGRESS_PROBE_ALLOWED did not answer through the proxy ($result)" >&2
    exit 1
  fi
fi

result=$(probe "$denied")
if [ "$result" != refused ]; then
  echo "egress-selftest: denied probe $denied was not refused by the proxy ($result)" >&2
  exit 1
fi
