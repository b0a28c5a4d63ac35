"""Programs from Debian packages that tests run (nginx, chromium, promtool, pg_dump, ...).

A test that needs one and does not find it fails naming the package to install; it never skips.
`make test` installs them first (scripts/install-debian-packages.sh); a test here holds every
package named through :func:`debian_binary` to that script's list.
"""

import os
import shutil

import pytest

INSTALLER = "scripts/install-debian-packages.sh"


def debian_binary(name: str, package: str, *, path: str | None = None) -> str:
    """The program ``name`` (from PATH, or at ``path`` when given: Debian puts nginx in
    /usr/sbin, outside a user's PATH); fails the test naming ``package`` when it is missing."""
    found = path if path is not None and os.access(path, os.X_OK) else shutil.which(name)
    if found is None:
        pytest.fail(
            f"{name} is missing: install the Debian package {package} "
            f"(apt-get install -y {package}; `make test` runs {INSTALLER}, which does)"
        )
    return found
