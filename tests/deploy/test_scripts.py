"""shellcheck on every shell script in the repository (by extension or shebang)."""

from pathlib import Path

from kore.core.testing_binaries import debian_binary

from .helpers import ROOT, run

SKIP_DIRS = {".git", ".venv", ".tools", "var", "node_modules", ".mypy_cache", ".ruff_cache"}


def shell_scripts() -> list[Path]:
    found = []
    for path in ROOT.rglob("*"):
        if not path.is_file() or SKIP_DIRS & set(path.relative_to(ROOT).parts):
            continue
        if path.suffix in {".sh", ".envsh", ".bash"}:
            found.append(path)
            continue
        try:
            first = path.open("rb").readline(100)
        except OSError:
            continue
        if first.startswith(b"#!") and (b"sh" in first.split(b"/")[-1] or b"bash" in first):
            found.append(path)
    return sorted(found)


def test_the_scripts_are_found():
    names = {p.relative_to(ROOT).as_posix() for p in shell_scripts()}
    assert {
        ".ci/run",
        "scripts/render-nginx.sh",
        "deploy/native/stack.sh",
        "docker/production/django/entrypoint.sh",
        "docker/production/nginx/kore-defaults.envsh",
        "docker/production/nginx/kore-lists.sh",
        "docker/production/nginx/kore-watch-upstreams.sh",
        "docker/production/postgres/create-databases.sh",
    } <= names


def test_shellcheck_is_clean():
    scripts = [str(p.relative_to(ROOT)) for p in shell_scripts()]
    run([debian_binary("shellcheck", "shellcheck"), "--external-sources", *scripts])


def test_scripts_are_executable():
    for path in shell_scripts():
        assert path.stat().st_mode & 0o111, f"chmod +x {path.relative_to(ROOT)}"
