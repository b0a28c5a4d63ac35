"""The README is the front door: every environment variable Kore reads is in its table."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
READS = re.compile(
    r"""(?:\benv(?:\.\w+|_\w+)?|os\.environ\.get|os\.getenv)\(\s*["']([A-Z][A-Z0-9_]+)["']"""
)


def _variables_read() -> set[str]:
    sources = [*ROOT.glob("config/**/*.py")]
    return {name for path in sources for name in READS.findall(path.read_text())}


def test_scan_finds_the_settings():
    assert {"DATABASE_URL", "SECRET_KEY", "REDIS_URL", "WEB_CONCURRENCY"} <= _variables_read()


def test_every_variable_is_in_the_readme_table():
    readme = (ROOT / "README.md").read_text()
    table_rows = set(re.findall(r"^\| `([A-Z][A-Z0-9_]+)`", readme, flags=re.M))
    table_rows |= set(re.findall(r"^\| `[A-Z0-9_]+` / `([A-Z][A-Z0-9_]+)`", readme, flags=re.M))
    missing = sorted(_variables_read() - table_rows)
    assert not missing, f"add to the README's configuration table: {missing}"
