#!/usr/bin/env bash
# `make test`'s set-up on a bare Debian: scripts/install-debian-packages.sh, run inside a fresh
# debootstrap chroot (minbase: none of the packages), must install every package it names, and a
# second run must install nothing.
#
# Needs root (debootstrap, chroot, mount) and the Debian mirror this machine's apt uses. The bare
# system is bootstrapped once and kept as a tarball, and the downloaded .debs are kept beside it
# (KORE_FRESH_MACHINE_CACHE, default /var/cache/kore/fresh-machine), so a rerun unpacks and
# installs without downloading; the install itself always runs from scratch.
set -euo pipefail
cd "$(dirname "$0")/.."

SUITE=${KORE_FRESH_MACHINE_SUITE:-bookworm}
CACHE=${KORE_FRESH_MACHINE_CACHE:-/var/cache/kore/fresh-machine}
SCRIPT=scripts/install-debian-packages.sh
CHROOT_ENV=(env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root
  LANG=C.UTF-8)

say() { printf 'fresh-machine: %s\n' "$*" >&2; }
fail() { say "FAILED: $*"; exit 1; }

[ "$(id -u)" = 0 ] || fail "needs root (debootstrap, chroot and mount do)"
"$SCRIPT" debootstrap

# The first archive and security URIs of this machine's own apt sources (one-line or deb822).
apt_uri() {
  cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources \
    2>/dev/null |
    awk -v want="$1" '
      /^URIs:/ { for (i = 2; i <= NF; i++) print $i }
      /^deb / { for (i = 2; i <= NF; i++) if ($i !~ /^\[/ && $i !~ /\]$/) { print $i; break } }' |
    sed 's:/*$::' | grep -m 1 -E "/${1}\$" || true
}
MIRROR=${KORE_DEBIAN_MIRROR:-$(apt_uri debian)}
MIRROR=${MIRROR:-http://deb.debian.org/debian}
SECURITY=${KORE_DEBIAN_SECURITY_MIRROR:-$(apt_uri debian-security)}
SECURITY=${SECURITY:-http://deb.debian.org/debian-security}

started=$(date +%s)
mkdir -p "$CACHE/archives/partial"
base="$CACHE/$SUITE-minbase.tar.gz"
if [ ! -s "$base" ]; then
  say "bootstrapping a minimal $SUITE from $MIRROR (once; kept as $base)"
  staging=$(mktemp -d /var/tmp/kore-debootstrap.XXXXXX)
  debootstrap --variant=minbase --cache-dir="$CACHE/archives" "$SUITE" "$staging" "$MIRROR" \
    >"$CACHE/debootstrap.log" 2>&1 || fail "debootstrap failed; see $CACHE/debootstrap.log"
  tar -C "$staging" --numeric-owner -czf "$base.part" . && mv "$base.part" "$base"
  rm -rf --one-file-system "$staging"
fi
bootstrapped=$(date +%s)

root=$(mktemp -d /var/tmp/kore-fresh-machine.XXXXXX)
cleanup() {
  local proc
  # Processes a package may have left running inside the chroot (none should), by id.
  for proc in /proc/[0-9]*; do
    if [ "$(readlink "$proc/root" 2>/dev/null)" = "$root" ]; then kill -9 "${proc#/proc/}" || true; fi
  done
  umount -R "$root" 2>/dev/null || umount -R -l "$root" 2>/dev/null || true
  # Never delete through a mount that is still there (it would reach the host's /dev).
  if findmnt -rn -o TARGET | grep -q "^$root\(/\|\$\)"; then
    say "left $root in place: something is still mounted under it"
  else
    rm -rf --one-file-system "$root"
  fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP  # so that the EXIT trap unmounts on a signal too
# The system lives in memory (about 2 GB once installed): unpacking it, dpkg's many small files
# and throwing it away cost no disk I/O.
mount -t tmpfs -o size=8g,mode=0755 kore-fresh-machine "$root"
tar -C "$root" --numeric-owner -xzf "$base"
mount -t proc proc "$root/proc"
mount --rbind /dev "$root/dev"
mount --make-rslave "$root/dev"
mount --bind "$CACHE/archives" "$root/var/cache/apt/archives"
cp /etc/resolv.conf "$root/etc/resolv.conf"
printf 'deb %s %s main\ndeb %s %s-updates main\ndeb %s %s-security main\n' \
  "$MIRROR" "$SUITE" "$MIRROR" "$SUITE" "$SECURITY" "$SUITE" >"$root/etc/apt/sources.list"
install -m 0755 "$SCRIPT" "$root/usr/local/bin/install-debian-packages"
# A throwaway system: dpkg need not fsync every file it unpacks (as Debian's own image builds).
echo force-unsafe-io >"$root/etc/dpkg/dpkg.cfg.d/kore-unsafe-io"
in_root() { chroot "$root" "${CHROOT_ENV[@]}" "$@"; }

# 1. The bare system has none of the packages: --check names every one of them.
everything=$(in_root install-debian-packages --list | awk '{print $1}' | xargs)
if check=$(in_root install-debian-packages --check 2>&1); then
  fail "--check found nothing missing on a bare $SUITE"
fi
[ "$check" = "install-debian-packages: missing: $everything" ] ||
  fail "a bare $SUITE should miss all of: $everything; --check said: $check"

# 2. The set-up installs them.
in_root install-debian-packages >"$root/first.log" 2>&1 ||
  { cat "$root/first.log" >&2; fail "the first run failed"; }
installed=$(date +%s)
grep -qx "install-debian-packages: installed $everything" "$root/first.log" ||
  { tail -n 20 "$root/first.log" >&2; fail "the first run did not say it installed $everything"; }

# 3. What the tests call is there, checked without the script's own probes.
# shellcheck disable=SC2016  # expanded by the chroot's shell
in_root bash -euc '
  for command in make git curl python3 shellcheck pg_dump pg_restore redis-server envsubst \
    openssl systemd-analyze promtool node npm; do
    command -v "$command" >/dev/null || { echo "missing: $command"; exit 1; }
  done
  test -x /usr/sbin/nginx || { echo "missing: /usr/sbin/nginx"; exit 1; }
  test -x /usr/bin/chromium || { echo "missing: /usr/bin/chromium"; exit 1; }
  ls /usr/lib/postgresql/*/bin/initdb >/dev/null || exit 1
  python3 -c "import ensurepip, venv"
  test -s /etc/ssl/certs/ca-certificates.crt
  test ! -e /usr/sbin/policy-rc.d || { echo "policy-rc.d left behind"; exit 1; }
' || fail "a package the tests need is missing after the first run"

# 4. A second run installs nothing (dpkg's log does not grow).
before=$(wc -l <"$root/var/log/dpkg.log")
second=$(in_root install-debian-packages 2>&1) || fail "the second run failed: $second"
after=$(wc -l <"$root/var/log/dpkg.log")
[ "$before" = "$after" ] || fail "the second run changed packages (dpkg.log $before → $after lines)"
case $second in
  *"nothing to install"*) ;;
  *) fail "the second run did not say 'nothing to install': $second" ;;
esac

say "ok: a bare $SUITE got $(wc -w <<<"$everything") packages; the second run installed nothing"
say "time: $((bootstrapped - started)) s bootstrap, $((installed - bootstrapped)) s unpack + install," \
  "$(($(date +%s) - started)) s in all"
