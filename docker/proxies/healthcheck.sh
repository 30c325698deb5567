#!/bin/bash
# Healthy only when Squid answers on its port with the generated policy loaded: the policy marks the probe
# name with a redirect no default Squid configuration gives, and the probe is left out of the access log.
set -eu
exec 3<>/dev/tcp/127.0.0.1/3128
printf 'GET http://egress-healthcheck.invalid/ HTTP/1.0\r\n\r\n' >&3
response=$(head -c 2048 <&3)
case "$response" in
  "HTTP/1.1 307"*"Location: http://egress-healthcheck.invalid/policy-loaded"*) exit 0 ;;
esac
echo "egress proxy answered without the generated policy: ${response%%$'\r'*}" >&2
exit 1
