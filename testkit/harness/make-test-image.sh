#!/bin/sh
# Builds agent-sandbox/harness-test:latest: a static busybox in an otherwise empty rootfs, imported with
# `docker import`. The harness tests need some local image with a shell, and nothing can be pulled here
# (no reachable registry); the project's Debian base may not have been built yet.
# busybox comes from Debian's busybox-static package through apt, so the mirror configured on the host is used.
set -eu
tag="agent-sandbox/harness-test:latest"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
chmod 755 "$work" # apt drops to the _apt user to download; it must be able to write here
cd "$work"
apt-get download busybox-static >/dev/null
dpkg-deb -x busybox-static_*.deb pkg
mkdir -p rootfs/bin rootfs/tmp rootfs/etc
cp pkg/bin/busybox rootfs/bin/busybox
# One symlink per applet, so `sh -c`, `sleep`, `id` resolve like on a normal image.
for applet in $(rootfs/bin/busybox --list); do
  [ "$applet" = busybox ] || ln -s busybox "rootfs/bin/$applet"
done
chmod 1777 rootfs/tmp
printf 'root:x:0:0:root:/root:/bin/sh\nagent:x:1000:1000:agent:/home/agent:/bin/sh\n' > rootfs/etc/passwd
printf 'root:x:0:\nagent:x:1000:\n' > rootfs/etc/group
tar -C rootfs -cf rootfs.tar .
docker import \
  --change 'ENV PATH=/bin' \
  --change 'CMD ["/bin/sh"]' \
  --change 'LABEL dev.agent-sandbox.managed-by=agent-sandbox dev.agent-sandbox.test=harness' \
  rootfs.tar "$tag" >/dev/null
echo "$tag"
