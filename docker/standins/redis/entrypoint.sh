#!/bin/sh
# What Kore relies on in the official redis image's entrypoint: options alone mean redis-server;
# the server runs as `redis`, owning /data. Upstream builds Redis with protected mode off (the
# container network is the boundary); Debian's binary has it on, so it is turned off here unless
# the command sets it.
set -eu
case "${1:-}" in
    -* | *.conf) set -- redis-server "$@" ;;
esac
if [ "${1:-}" = redis-server ]; then
    case " $* " in
        *" --protected-mode "*) ;;
        *) set -- "$@" --protected-mode no ;;
    esac
    if [ "$(id -u)" = 0 ]; then
        chown -R redis:redis . 2>/dev/null || true
        exec setpriv --reuid=redis --regid=redis --init-groups "$@"
    fi
fi
exec "$@"
