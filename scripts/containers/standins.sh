#!/usr/bin/env bash
# Stand-in base images for the container tests, made from Debian's packages because this machine
# cannot pull from Docker Hub: debootstrap -> `docker import` gives a Debian bookworm base, and
# each docker/standins/<name>/Dockerfile adds the packages and an entrypoint reproducing what Kore
# relies on in the real image. Each is tagged with the name Kore's Dockerfiles and Compose files
# use, so they build and run unchanged.
#
#   eval "$(scripts/containers/engine.sh up)" && scripts/containers/standins.sh
#
# Built only when missing or when its recipe (its directory, this script) changed: the recipe's
# hash is the image label org.kore.standin.recipe. The images live in the test engine's data root,
# outside the clone. Nothing ever pushes them: they exist only in that engine.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
STANDINS=$REPO/docker/standins
ROOT=${KORE_ENGINE_ROOT:-/var/lib/kore-test-docker}
CACHE=$ROOT/standins
MIRROR=${KORE_DEBIAN_MIRROR:-http://deb.debian.org/debian}
SUITE=bookworm
BASE=kore-standin/debian:$SUITE
LABEL=org.kore.standin.recipe
# Bump when base() changes what goes into the Debian base (it is re-debootstrapped then).
BASE_RECIPE=1

# name | tags it stands in for (space separated) | what the real image is
IMAGES=(
    "python|python:3.11-slim-bookworm|CPython 3.11 (latest 3.11.x) on Debian bookworm, /usr/local build"
    "nginx|nginx:1.30-alpine|Nginx 1.30 on Alpine"
    "postgres|postgres:16-alpine|PostgreSQL 16 on Alpine"
    "redis|redis:7-alpine|Redis 7 (latest 7.x) on Alpine"
    "pgbouncer|edoburu/pgbouncer:v1.25.2-p0|PgBouncer 1.25.2 on Alpine"
)

log() { printf 'standins: %s\n' "$*" >&2; }
die() { log "$*"; exit 1; }

docker info >/dev/null 2>&1 || die "no engine answers (eval \"\$(scripts/containers/engine.sh up)\" first)"

recipe_hash() {  # files... -> one hash of their names and contents
    (cd "$REPO" && find "$@" -type f -print0 | sort -z | xargs -0 sha256sum) | sha256sum | cut -c1-16
}

current() {  # image -> its recipe label, or nothing
    docker image inspect --format "{{index .Config.Labels \"$LABEL\"}}" "$1" 2>/dev/null || true
}

# The Debian base: a minbase debootstrap with the same suites the host uses, as one layer.
base() {
    local key
    key=$(printf '%s %s %s' "$SUITE" "$MIRROR" "$BASE_RECIPE" | sha256sum | cut -c1-16)
    [ "$(current "$BASE")" = "$key" ] && return 0
    local tarball=$CACHE/debian-$SUITE-$key.tar
    mkdir -p "$CACHE"
    if [ ! -s "$tarball" ]; then
        local rootfs
        rootfs=$(mktemp -d "$CACHE/rootfs.XXXXXX")
        log "debootstrap $SUITE (minbase) from $MIRROR"
        debootstrap --variant=minbase --include=ca-certificates "$SUITE" "$rootfs" "$MIRROR" \
            >"$CACHE/debootstrap.log" 2>&1 || { tail -n 20 "$CACHE/debootstrap.log" >&2; rm -rf "$rootfs"; die "debootstrap failed"; }
        cat >"$rootfs/etc/apt/sources.list" <<SOURCES
deb $MIRROR $SUITE main
deb $MIRROR $SUITE-updates main
deb ${MIRROR%/debian}/debian-security $SUITE-security main
SOURCES
        # As Debian's own container images: no recommends, no caches, no service starts.
        printf 'APT::Install-Recommends "false";\nAPT::Install-Suggests "false";\n' \
            >"$rootfs/etc/apt/apt.conf.d/90kore-standin"
        printf '#!/bin/sh\nexit 101\n' >"$rootfs/usr/sbin/policy-rc.d" && chmod +x "$rootfs/usr/sbin/policy-rc.d"
        rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*
        tar -C "$rootfs" --numeric-owner -cf "$tarball.tmp" . && mv "$tarball.tmp" "$tarball"
        rm -rf "$rootfs"
        find "$CACHE" -maxdepth 1 -name "debian-$SUITE-*.tar" ! -name "$(basename "$tarball")" -delete
    fi
    log "importing $BASE"
    docker import --change "LABEL $LABEL=$key" --change 'ENV LANG=C.UTF-8' \
        --change 'CMD ["bash"]' "$tarball" "$BASE" >/dev/null
}

build() {  # name tags
    local name=$1 tags=$2 key tag
    key=$(printf '%s %s' "$(current "$BASE")" "$(recipe_hash "docker/standins/$name")" | sha256sum | cut -c1-16)
    local first=${tags%% *}
    if [ "$(current "$first")" = "$key" ]; then
        for tag in $tags; do docker tag "$first" "$tag"; done
        return 0
    fi
    log "building the $name stand-in"
    local args=()
    for tag in $tags; do args+=(--tag "$tag"); done
    docker build --network host --label "$LABEL=$key" "${args[@]}" "$STANDINS/$name" >"$CACHE/$name.build.log" 2>&1 ||
        { tail -n 30 "$CACHE/$name.build.log" >&2; die "the $name stand-in did not build (log: $CACHE/$name.build.log)"; }
    # What it really runs, for the report (read once per build).
    docker run --rm --network none --entrypoint cat "$first" /etc/kore-standin >"$CACHE/$name.version"
}

base
for entry in "${IMAGES[@]}"; do
    IFS='|' read -r name tags real <<<"$entry"
    build "$name" "$tags"
    printf 'stand-in %-30s for %-45s runs %s\n' "$tags" "$real" "$(cat "$CACHE/$name.version")"
done
