#!/bin/bash
# Healthy only when nginx answers on its loopback health port with the generated configuration loaded.
set -eu
exec 3<>/dev/tcp/127.0.0.1/8079
printf 'GET /healthz HTTP/1.0\r\n\r\n' >&3
response=$(head -c 2048 <&3)
case "$response" in
  "HTTP/1.1 200"*"credential proxy ready"*) exit 0 ;;
esac
echo "credential proxy answered without the generated configuration: ${response%%$'\r'*}" >&2
exit 1
