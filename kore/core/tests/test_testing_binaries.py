"""debian_binary: a test whose program is missing fails naming the Debian package, never skips."""

import shutil

import pytest

from kore.core.testing_binaries import debian_binary


def test_a_missing_program_fails_the_test_naming_its_debian_package():
    with pytest.raises(pytest.fail.Exception, match=r"apt-get install -y kore-example-package"):
        debian_binary("kore-no-such-program", "kore-example-package")


def test_a_program_on_path_is_found():
    assert debian_binary("sh", "dash") == shutil.which("sh")


def test_a_program_outside_path_is_found_at_its_debian_path(tmp_path):
    program = tmp_path / "nginx"
    program.write_text("#!/bin/sh\n")
    program.chmod(0o755)
    assert debian_binary("kore-not-on-path", "nginx", path=str(program)) == str(program)
