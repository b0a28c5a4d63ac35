#!/bin/sh
# The official nginx image's entrypoint, as Kore uses it: when the command is nginx, every file in
# /docker-entrypoint.d runs in name order first: executable *.envsh are sourced (their exports
# reach the later scripts), executable *.sh are run; anything else is ignored.
# NGINX_ENTRYPOINT_QUIET_LOGS silences its own messages.
set -e

entrypoint_log() {
    if [ -z "${NGINX_ENTRYPOINT_QUIET_LOGS:-}" ]; then echo "$@"; fi
}

if [ "$1" = nginx ] || [ "$1" = nginx-debug ]; then
    if find /docker-entrypoint.d/ -mindepth 1 -maxdepth 1 -type f -print -quit 2>/dev/null | read -r _; then
        entrypoint_log "$0: /docker-entrypoint.d/ is not empty, will attempt to perform configuration"
        # Not a pipeline: sourced files must leave their exports to the scripts after them.
        for f in $(find /docker-entrypoint.d/ -follow -type f -print | sort -V); do
            case "$f" in
                *.envsh)
                    if [ -x "$f" ]; then
                        entrypoint_log "$0: Sourcing $f"
                        # shellcheck disable=SC1090
                        . "$f"
                    else
                        entrypoint_log "$0: Ignoring $f, not executable"
                    fi ;;
                *.sh)
                    if [ -x "$f" ]; then
                        entrypoint_log "$0: Launching $f"
                        "$f"
                    else
                        entrypoint_log "$0: Ignoring $f, not executable"
                    fi ;;
                *) entrypoint_log "$0: Ignoring $f" ;;
            esac
        done
        entrypoint_log "$0: Configuration complete; ready for start up"
    else
        entrypoint_log "$0: No files found in /docker-entrypoint.d/, skipping configuration"
    fi
fi

exec "$@"
