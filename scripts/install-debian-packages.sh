#!/usr/bin/env bash
# The Debian packages Kore's `make test` needs, installed when missing and named when installed.
#
# Usage: scripts/install-debian-packages.sh [--check | --list] [PACKAGE ...]
#   (no PACKAGE)  every package of `make test` (the table below)
#   PACKAGE ...   only these (a name from the table, or any Debian package: checked with dpkg)
#   --check       install nothing: name what is missing and exit 1 if anything is
#   --list        print the table: package, what shows it is installed, what needs it
#
# As root it runs apt-get for the missing ones only, so a prepared machine pays nothing; as
# anyone else it prints the exact apt-get command to run and exits 1. Packages must not start
# their services while installing (Debian's nginx would take port 80, postgresql port 5432):
# a policy-rc.d denies starts unless one is already in place.
set -euo pipefail

# package | installed when … (a shell test) | needed by
PACKAGES=(
  "make|command -v make|make itself"
  "git|command -v git|make lint (git ls-files)"
  "curl|command -v curl|make smoke, make healthcheck"
  "ca-certificates|test -s /etc/ssl/certs/ca-certificates.crt|make install (PyPI over HTTPS)"
  "python3|command -v python3|make install (Python 3.11)"
  "python3-venv|python3 -c 'import ensurepip, venv'|make install (python3 -m venv)"
  "shellcheck|command -v shellcheck|make lint, tests/deploy/test_scripts.py"
  "postgresql|ls /usr/lib/postgresql/*/bin/initdb|scripts/test-services.sh, tests/e2e (throwaway servers)"
  "postgresql-client|command -v pg_dump|kore/backups (pg_dump, pg_restore)"
  "redis-server|command -v redis-server|scripts/test-services.sh, tests/e2e, kore/ops status page"
  "nginx|test -x /usr/sbin/nginx|tests/deploy/test_nginx.py (nginx -t), tests/e2e"
  "gettext-base|command -v envsubst|scripts/render-nginx.sh"
  "openssl|command -v openssl|tests/deploy/test_nginx.py (self-signed certificate)"
  "systemd|command -v systemd-analyze|tests/deploy/test_native.py (systemd-analyze verify)"
  "chromium|test -x /usr/bin/chromium|browser tests (Playwright drives /usr/bin/chromium)"
  "fonts-dejavu-core|test -e /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf|browser tests (text in screenshots)"
  "prometheus|command -v promtool|tests/deploy/test_monitoring.py (promtool)"
  "nodejs|command -v node|tests/oidc stand-in, scripts/actionlint.sh"
  "npm|command -v npm|tests/oidc stand-in, scripts/actionlint.sh"
)

say() { printf 'install-debian-packages: %s\n' "$*" >&2; }

# The shell test that shows $1 is installed: the table's, or dpkg's for any other package.
probe_of() {
  local row
  for row in "${PACKAGES[@]}"; do
    if [ "${row%%|*}" = "$1" ]; then
      row=${row#*|}
      printf '%s\n' "${row%%|*}"
      return
    fi
  done
  printf "dpkg-query -W -f='\${db:Status-Status}' %q 2>/dev/null | grep -qx installed\n" "$1"
}

mode=install
wanted=()
for arg in "$@"; do
  case $arg in
    --check) mode=check ;;
    --list) mode=list ;;
    -h | --help) sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) say "unknown option $arg"; exit 2 ;;
    *) wanted+=("$arg") ;;
  esac
done
if [ "${#wanted[@]}" -eq 0 ]; then
  for row in "${PACKAGES[@]}"; do wanted+=("${row%%|*}"); done
fi

if [ "$mode" = list ]; then
  for row in "${PACKAGES[@]}"; do
    IFS='|' read -r package probe needed_by <<<"$row"
    printf '%-18s %-58s %s\n' "$package" "$probe" "$needed_by"
  done
  exit 0
fi

missing=()
for package in "${wanted[@]}"; do
  if ! (eval "$(probe_of "$package")") >/dev/null 2>&1; then missing+=("$package"); fi
done

if [ "${#missing[@]}" -eq 0 ]; then
  say "nothing to install (${#wanted[@]} packages present)"
  exit 0
fi
command=(apt-get install -y --no-install-recommends "${missing[@]}")
if [ "$mode" = check ]; then
  say "missing: ${missing[*]}"
  exit 1
fi
if [ "$(id -u)" != 0 ]; then
  say "missing: ${missing[*]}"
  say "run as root, then try again:  apt-get update && ${command[*]}"
  exit 1
fi

say "installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
policy=${KORE_POLICY_RC_D:-/usr/sbin/policy-rc.d}  # another path only for its tests
own_policy=
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod +x "$policy" && own_policy=1
  trap 'rm -f "$policy"' EXIT
fi
apt-get update -q
"${command[@]}"
if [ -n "$own_policy" ]; then rm -f "$policy" && trap - EXIT; fi

still=()
for package in "${missing[@]}"; do
  if ! (eval "$(probe_of "$package")") >/dev/null 2>&1; then still+=("$package"); fi
done
if [ "${#still[@]}" -gt 0 ]; then
  say "apt-get finished but these are still missing: ${still[*]}"
  exit 1
fi
say "installed ${missing[*]}"
