#!/bin/sh
# Egress self-test for the agent's healthcheck: passes only when the sandbox's proxy lets an allowed
# destination answer AND refuses a denied one. Needs curl and the HTTP(S)_PROXY variables the program sets.
#   AGENT_EGRESS_PROBE_ALLOWED  URL that must answer through the proxy (any HTTP status counts); unset skips it
#   AGENT_EGRESS_PROBE_DENIED   URL the proxy must refuse with 403 (default: a name no allowlist can hold)
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

if [ -n "${AGENT_EGRESS_PROBE_ALLOWED:-}" ]; then
  codes=$(curl -sS -o /dev/null --max-time "$timeout" -w '%{http_code} %{http_connect}' "$AGENT_EGRESS_PROBE_ALLOWED" 2>&1) || {
    echo "egress-selftest: allowed probe $AGENT_EGRESS_PROBE_ALLOWED did not answer through the proxy: $codes" >&2
    exit 1
  }
fi

# A refusal must come from the proxy (403 to the request or to its CONNECT); a timeout proves nothing.
codes=$(curl -s -o /dev/null --max-time "$timeout" -w '%{http_code} %{http_connect}' "$denied")
case " $codes " in
  *" 403 "*) exit 0 ;;
esac
echo "egress-selftest: denied probe $denied was not refused by the proxy (http, connect codes: $codes)" >&2
exit 1
