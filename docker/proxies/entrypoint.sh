#!/bin/sh
# Writes the Squid configuration handed in as SQUID_CONF_B64 to tmpfs, checks it, then runs Squid in the
# foreground (PID 1 of the container, so `docker stop` reaches it and its logs go to `docker logs`).
set -eu
state=/tmp/squid
if [ -z "${SQUID_CONF_B64:-}" ]; then
  echo "egress-proxy: SQUID_CONF_B64 is empty; the program sets it to the base64 of the generated squid.conf" >&2
  exit 64
fi
umask 077
mkdir -p "$state"
printf '%s' "$SQUID_CONF_B64" | base64 -d > "$state/squid.conf"
# The whole policy is in the file now; the variable is not needed by Squid.
unset SQUID_CONF_B64
squid -k parse -f "$state/squid.conf" 2>"$state/parse.log" || { cat "$state/parse.log" >&2; exit 65; }
exec squid -N -f "$state/squid.conf"
