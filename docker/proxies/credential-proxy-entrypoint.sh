#!/bin/sh
# Writes the nginx configuration handed in as NGINX_CONF_B64 to tmpfs, puts the Docker host's address where
# the configuration names it, checks it, then runs nginx in the foreground (PID 1's child via the
# container's init, logs to `docker logs`). The secrets are not here: nginx includes them from the proxy
# secrets volume, mounted read-only and readable by this user alone.
set -eu
state=/tmp/nginx
if [ -z "${NGINX_CONF_B64:-}" ]; then
  echo "credential-proxy: NGINX_CONF_B64 is empty; the program sets it to the base64 of the generated nginx.conf" >&2
  exit 64
fi
umask 077
mkdir -p "$state/body" "$state/proxy" "$state/fastcgi" "$state/uwsgi" "$state/scgi"
printf '%s' "$NGINX_CONF_B64" | base64 -d > "$state/nginx.conf"
unset NGINX_CONF_B64
if grep -q '@HOST_GATEWAY@' "$state/nginx.conf"; then
  gateway=$(getent ahostsv4 host.docker.internal | awk 'NR == 1 { print $1 }')
  if [ -z "$gateway" ]; then
    echo "credential-proxy: an upstream is host.docker.internal but the container has no such name (ExtraHosts host-gateway)" >&2
    exit 65
  fi
  sed -i "s/@HOST_GATEWAY@/$gateway/g" "$state/nginx.conf"
fi
# On a cluster: the pod's DNS server (the cluster's), and the image's CAs joined with the stack's extra CA.
if grep -q '@RESOLVER@' "$state/nginx.conf"; then
  resolver=$(awk '$1 == "nameserver" { print $2; exit }' /etc/resolv.conf)
  if [ -z "$resolver" ]; then
    echo "credential-proxy: /etc/resolv.conf names no nameserver, which the configuration asks for" >&2
    exit 65
  fi
  sed -i "s/@RESOLVER@/$resolver/g" "$state/nginx.conf"
fi
if grep -q "$state/trusted-ca.pem" "$state/nginx.conf"; then
  cat /etc/ssl/certs/ca-certificates.crt > "$state/trusted-ca.pem"
  if [ -r /run/credential-proxy/extra-ca.pem ]; then cat /run/credential-proxy/extra-ca.pem >> "$state/trusted-ca.pem"; fi
elif [ ! -r /run/credential-proxy/trusted-ca.pem ]; then
  echo "credential-proxy: /run/credential-proxy/trusted-ca.pem is missing; the stack's proxy secrets volume was not written" >&2
  exit 66
fi
# -q: only errors; they name file and line, never the secret lines' values.
nginx -q -t -e stderr -c "$state/nginx.conf"
exec nginx -e stderr -c "$state/nginx.conf" -g 'daemon off;'
