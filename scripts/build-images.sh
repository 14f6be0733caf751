#!/usr/bin/env bash
# Builds the images the container tests use, with no image registry: a base image made from
# Debian packages (debootstrap: Node 20 with corepack, Redis 8; no npm) and
# provflow's image from the Dockerfile on top of it. Existing images are reused.
#   PROVFLOW_BASE_IMAGE   base tag            (default provflow-base:local)
#   PROVFLOW_IMAGE        provflow's tag      (default provflow:local)
#   PROVFLOW_DEBIAN_SUITE suite of the base   (default trixie: Node 20.19, Redis 8.0)
#   PROVFLOW_DEBIAN_MIRROR                    (default: the first Debian URI apt uses here)
set -euo pipefail
cd "$(dirname "$0")/.."

BASE=${PROVFLOW_BASE_IMAGE:-provflow-base:local}
IMAGE=${PROVFLOW_IMAGE:-provflow:local}
SUITE=${PROVFLOW_DEBIAN_SUITE:-trixie}

apt_mirror() {
  local uri
  uri=$(grep -hsE '^URIs:.*/debian/?$' /etc/apt/sources.list.d/*.sources | head -n1 | awk '{print $2}')
  [ -n "$uri" ] || uri=$(grep -hsE '^deb .*/debian/? ' /etc/apt/sources.list /etc/apt/sources.list.d/*.list \
    | head -n1 | awk '{print $2}')
  echo "${uri:-http://deb.debian.org/debian}"
}

t0=$(date +%s)
if docker image inspect "$BASE" >/dev/null 2>&1; then
  echo "base image $BASE: present, reused"
else
  command -v debootstrap >/dev/null \
    || { echo "debootstrap is not installed (apt-get install debootstrap)" >&2; exit 1; }
  MIRROR=${PROVFLOW_DEBIAN_MIRROR:-$(apt_mirror)}
  ROOTFS=$(mktemp -d /var/tmp/provflow-rootfs.XXXXXX)
  chmod 0755 "$ROOTFS" # it becomes the image's `/`: mktemp's 0700 would lock out user node
  trap 'rm -rf "$ROOTFS"' EXIT
  echo "base image $BASE: debootstrap $SUITE from $MIRROR"
  # No npm here: Debian's npm brings ~300 packages (node-gyp, a compiler, python) that only
  # `npm ci` needs; the Dockerfile's build stage runs npm through corepack instead.
  debootstrap --variant=minbase --include=nodejs,redis-server "$SUITE" "$ROOTFS" "$MIRROR" \
    > /var/tmp/provflow-debootstrap.log 2>&1 || {
      cp "$ROOTFS/debootstrap/debootstrap.log" /var/tmp/provflow-debootstrap-inner.log 2>/dev/null || true
      tail -n 30 /var/tmp/provflow-debootstrap.log >&2; exit 1; }
  # The user the Dockerfile runs as (node:20-slim has it, uid 1000); and no caches or docs:
  # vfs storage copies every layer whole, so each megabyte here is paid once per layer and container.
  chroot "$ROOTFS" useradd --uid 1000 --user-group --create-home --shell /bin/bash node
  rm -rf "$ROOTFS"/var/cache/apt/* "$ROOTFS"/var/lib/apt/lists/* "$ROOTFS"/usr/share/doc/* \
    "$ROOTFS"/usr/share/man/* "$ROOTFS"/usr/share/info/* "$ROOTFS"/var/log/*.log
  find "$ROOTFS"/usr/share/locale -mindepth 1 -maxdepth 1 ! -name 'C*' -exec rm -rf {} + 2>/dev/null || true
  tar -C "$ROOTFS" -c . | docker import \
    -c 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' -c 'CMD ["bash"]' \
    -m "provflow base: debootstrap --variant=minbase $SUITE + nodejs redis-server" - "$BASE" >/dev/null
  rm -rf "$ROOTFS"; trap - EXIT
  echo "base image $BASE: built in $(( $(date +%s) - t0 )) s"
fi
docker run --rm --network host "$BASE" \
  sh -c 'echo "  node $(node --version), $(redis-server --version | cut -d" " -f1-3)"'

t1=$(date +%s)
# Always `docker build`: with nothing changed every step is a cache hit (a few seconds), and any
# change to the sources or the lock file rebuilds only from the first layer it touches.
# Host networking: the engine here runs without a bridge; npm ci reaches the npm registry.
# npm ci trusts what this host trusts beyond the usual CAs (a TLS-inspecting proxy's, say).
EXTRA_CA_PEM=$(cat /usr/local/share/ca-certificates/*.crt 2>/dev/null || true)
docker build --network host --build-arg BASE="$BASE" --build-arg EXTRA_CA_PEM="$EXTRA_CA_PEM" -t "$IMAGE" . \
  > /var/tmp/provflow-build.log 2>&1 \
  || { tail -n 40 /var/tmp/provflow-build.log >&2; exit 1; }
# Tag the build stage too (a cache hit here): untagged, `docker image prune` would delete it and
# the next build would run npm ci again.
docker build --network host --build-arg BASE="$BASE" --build-arg EXTRA_CA_PEM="$EXTRA_CA_PEM" --target deps \
  -t "${IMAGE%%:*}-build-stage:local" . >> /var/tmp/provflow-build.log 2>&1
cached=$(grep -c 'Using cache' /var/tmp/provflow-build.log || true)
echo "image $IMAGE: built in $(( $(date +%s) - t1 )) s ($cached cached steps)"
docker image ls --format '  {{.Repository}}:{{.Tag}} {{.Size}}' | grep -E "^  (${BASE%%:*}|${IMAGE%%:*}):" || true
