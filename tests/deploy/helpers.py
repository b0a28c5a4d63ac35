"""Shared pieces of the deployment checks: paths, tools and a subprocess runner."""

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent  # the virtualenv's bin: hadolint, kubectl, check-jsonschema, ...


def tool(name: str) -> str:
    """A tool from the virtualenv (a dev dependency) or, failing that, from PATH."""
    candidate = BIN / name
    if candidate.exists():
        return str(candidate)
    found = shutil.which(name)
    if not found:
        pytest.fail(f"{name} is not installed (dev dependencies: make install)")
    return found


def run(
    args: list[str], *, env: dict[str, str] | None = None, cwd: Path = ROOT, timeout: int = 120
) -> subprocess.CompletedProcess[str]:
    """Run a command; fail the test with its output when it exits non-zero."""
    proc = subprocess.run(
        args, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )
    if proc.returncode != 0:
        pytest.fail(
            f"{' '.join(args)} exited {proc.returncode}\n"
            f"--- stdout\n{proc.stdout}\n--- stderr\n{proc.stderr}"
        )
    return proc


def clean_env(**extra: str) -> dict[str, str]:
    """PATH and HOME only, plus ``extra``: nothing from the test environment leaks in."""
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": os.environ.get("HOME", "/")}
    env.update(extra)
    return env


def load_yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text())


def load_yaml_all(text: str) -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all(text) if doc]


def mebibytes(value: str | int | float) -> float:
    """Compose memory sizes ('512m', '1g', '64M', bytes) in MiB."""
    if isinstance(value, int | float):
        return value / 2**20
    text = str(value).strip().lower().removesuffix("b")
    units = {"k": 2**-10, "m": 1, "g": 2**10}
    if text and text[-1] in units:
        return float(text[:-1]) * units[text[-1]]
    return float(text) / 2**20
