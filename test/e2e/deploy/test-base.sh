#!/usr/bin/env bash
# Builds (once) the local base image the image test builds the Dockerfile on, in place of
# node:20-slim: there is no container registry on the test machine. It mirrors node:20-slim's
# layout: Debian 12 minbase + this machine's Node 20 under /usr/local (node, npm, and the
# headers in /usr/local/include/node that node-gyp compiles better-sqlite3 against).
#
# Usage: test-base.sh IMAGE CACHE_DIR
#   IMAGE present in podman's storage: nothing to do (~0.1 s).
#   CACHE_DIR/rootfs.tar present: imported (~4 s).
#   else: debootstrap (~55 s) + Node copied in, tarred into CACHE_DIR, imported.
# CACHE_DIR is kept between runs on purpose (it is the warm path); delete it to rebuild.
# Env: CONTAINERS_CONF as the caller uses it (runtime, ulimits).
set -euo pipefail
IMAGE=$1
CACHE=$2
MIRROR=${SEEDWATCH_DEBIAN_MIRROR:-http://deb.debian.org/debian}

mkdir -p "$CACHE"
exec 9>"$CACHE/.lock"
flock 9 # two test runs at once build it once

if podman image exists "$IMAGE"; then exit 0; fi

if [[ ! -s $CACHE/rootfs.tar ]]; then
  ROOT=$CACHE/rootfs.tmp
  rm -rf "$ROOT"
  debootstrap --variant=minbase bookworm "$ROOT" "$MIRROR" >"$CACHE/debootstrap.log" 2>&1 || {
    tail -n 20 "$CACHE/debootstrap.log" >&2
    exit 1
  }
  # What node:20-slim leaves out as well: apt lists (a build runs apt-get update), docs, locales.
  rm -rf "$ROOT"/var/lib/apt/lists/* "$ROOT"/var/cache/apt/*.bin "$ROOT"/usr/share/doc/* \
    "$ROOT"/usr/share/man/* "$ROOT"/usr/share/locale/* "$ROOT"/usr/share/info/*

  NODE=$(readlink -f "$(command -v node)")
  PREFIX=$(dirname "$(dirname "$NODE")")
  install -D -m 755 "$NODE" "$ROOT/usr/local/bin/node"
  mkdir -p "$ROOT/usr/local/lib/node_modules" "$ROOT/usr/local/include"
  cp -a "$PREFIX/lib/node_modules/npm" "$ROOT/usr/local/lib/node_modules/npm"
  cp -a "$PREFIX/include/node" "$ROOT/usr/local/include/node"
  ln -s ../lib/node_modules/npm/bin/npm-cli.js "$ROOT/usr/local/bin/npm"
  ln -s ../lib/node_modules/npm/bin/npx-cli.js "$ROOT/usr/local/bin/npx"
  # Node's shared libraries, when the minbase lacks one (it has libc, libstdc++ and libgcc_s).
  for lib in $(ldd "$NODE" | awk '/=>/ { print $3 } /ld-linux/ { print $1 }'); do
    [[ -e $ROOT$lib ]] || cp -L --parents "$lib" "$ROOT"
  done
  env -u NODE_EXTRA_CA_CERTS chroot "$ROOT" /usr/local/bin/node -e 'process.exit(process.versions.node.startsWith("20.") ? 0 : 1)'

  tar --numeric-owner -C "$ROOT" -cf "$CACHE/rootfs.tar.tmp" .
  mv "$CACHE/rootfs.tar.tmp" "$CACHE/rootfs.tar"
  rm -rf "$ROOT"
fi

podman import -q --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change 'CMD ["node"]' "$CACHE/rootfs.tar" "$IMAGE" >/dev/null
