"""scripts/install-debian-packages.sh, the set-up `make test` and .ci/run start with: it installs
only what is missing (with services kept from starting), says what it installs, and tells anyone
who is not root the exact apt-get command. apt-get and id are stand-ins on a bare PATH here; a
real install on a bare Debian is `make test-fresh-machine` (scripts/test-fresh-machine.sh)."""

import os
import re
import shutil
import stat
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from .helpers import ROOT

SCRIPT = ROOT / "scripts/install-debian-packages.sh"

# apt-get that records its arguments, and whether a policy-rc.d kept services from starting;
# `install` puts a stand-in for each package's program on PATH, as the real one would.
FAKE_APT_GET = """#!/bin/bash
calls=$FAKE_STATE/apt-get.calls
echo "$*" >>"$calls"
[ "$1" = install ] || exit 0
if [ -x "$KORE_POLICY_RC_D" ]; then
  "$KORE_POLICY_RC_D"
  echo "policy exit $?" >>"$calls"
fi
for package in "$@"; do
  case $package in
    -* | install) ;;
    *) printf '#!/bin/sh\\n' >"$FAKE_BIN/$package" && chmod +x "$FAKE_BIN/$package" ;;
  esac
done
"""


@pytest.fixture
def bare(tmp_path: Path) -> Iterator[Path]:
    """A PATH with bash and coreutils' few programs the script calls, and no package's program.
    World-readable: the non-root case runs as nobody."""
    root = Path(tempfile.mkdtemp(prefix="kore-debian-packages-"))
    root.chmod(0o777)
    for name in ("bin", "state"):
        (root / name).mkdir(mode=0o777)
        (root / name).chmod(0o777)
    for program in ("bash", "chmod", "rm", "id", "grep"):
        found = shutil.which(program)
        assert found is not None, program
        (root / "bin" / program).symlink_to(found)
    apt_get = root / "bin" / "apt-get"
    apt_get.write_text(FAKE_APT_GET)
    apt_get.chmod(apt_get.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    yield root
    shutil.rmtree(root)


def _as_root(bare: Path) -> None:
    """`id -u` answers 0: the script takes the root path without needing root here."""
    (bare / "bin" / "id").unlink()
    fake_id = bare / "bin" / "id"
    fake_id.write_text("#!/bin/sh\necho 0\n")
    fake_id.chmod(0o755)


def _run(bare: Path, *args: str, as_nobody: bool = False) -> subprocess.CompletedProcess[str]:
    env = {
        "PATH": str(bare / "bin"),
        "FAKE_STATE": str(bare / "state"),
        "FAKE_BIN": str(bare / "bin"),
        "KORE_POLICY_RC_D": str(bare / "state" / "policy-rc.d"),
    }
    prefix = ["runuser", "-u", "nobody", "--"] if as_nobody and os.geteuid() == 0 else []
    return subprocess.run(
        [*prefix, "/usr/bin/env", "-i", *(f"{k}={v}" for k, v in env.items()), str(SCRIPT), *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def _apt_calls(bare: Path) -> list[str]:
    calls = bare / "state" / "apt-get.calls"
    return calls.read_text().splitlines() if calls.exists() else []


def test_as_root_it_installs_only_the_missing_packages_with_services_kept_down(bare):
    _as_root(bare)
    (bare / "bin" / "make").symlink_to(shutil.which("true") or "/bin/true")  # make is there
    proc = _run(bare, "make", "shellcheck")
    assert proc.returncode == 0, proc.stderr
    assert _apt_calls(bare) == [
        "update -q",
        "install -y --no-install-recommends shellcheck",
        "policy exit 101",  # invoke-rc.d starts nothing while packages install
    ]
    assert "installing shellcheck" in proc.stderr
    assert "installed shellcheck" in proc.stderr
    assert not (bare / "state" / "policy-rc.d").exists()  # the policy goes once done


def test_nothing_missing_runs_no_apt_get(bare):
    _as_root(bare)
    (bare / "bin" / "shellcheck").symlink_to(shutil.which("true") or "/bin/true")
    proc = _run(bare, "shellcheck")
    assert proc.returncode == 0, proc.stderr
    assert "nothing to install" in proc.stderr
    assert _apt_calls(bare) == []


def test_without_root_it_names_the_exact_apt_get_command_and_fails(bare):
    proc = _run(bare, "shellcheck", "prometheus", as_nobody=True)
    assert proc.returncode == 1
    assert (
        "apt-get update && apt-get install -y --no-install-recommends shellcheck prometheus"
        in proc.stderr
    )
    assert _apt_calls(bare) == []


def test_check_names_what_is_missing_and_installs_nothing(bare):
    _as_root(bare)
    proc = _run(bare, "--check", "shellcheck", "prometheus")
    assert proc.returncode == 1
    assert "missing: shellcheck prometheus" in proc.stderr
    assert _apt_calls(bare) == []


def test_a_package_still_missing_after_apt_get_fails_the_set_up(bare):
    _as_root(bare)
    # Not in the table: dpkg says whether it is installed, and there is no dpkg on this PATH.
    proc = _run(bare, "kore-example-package")
    assert proc.returncode == 1
    assert "still missing: kore-example-package" in proc.stderr


def test_every_package_a_test_asks_for_is_in_the_set_up():
    listed = {
        line.split()[0]
        for line in subprocess.run(
            [str(SCRIPT), "--list"], capture_output=True, text=True, check=True
        ).stdout.splitlines()
    }
    asked = set()
    for path in [*ROOT.glob("kore/**/*.py"), *ROOT.glob("tests/**/*.py")]:
        if path.name == "test_testing_binaries.py":  # the helper's own test: made-up packages
            continue
        asked |= set(re.findall(r'debian_binary\(\s*"[^"]+",\s*"([^"]+)"', path.read_text()))
    assert {"shellcheck", "nginx", "chromium", "prometheus", "postgresql-client"} <= asked
    assert asked <= listed, asked - listed
