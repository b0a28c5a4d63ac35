"""The hostile-input tests again on SQLite, the embedded runtime's database.

SQLite is where ids beyond 64 bits crashed the driver and where a lone surrogate could be stored,
so those modules run there too, in a child pytest with ``DATABASE_URL=sqlite:///…`` (the suite
itself runs on PostgreSQL). ``sqlite_stored_surrogates`` runs only there: PostgreSQL cannot hold
the rows it needs.
"""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
HERE = Path(__file__).resolve().parent
MODULES = ["test_hostile_input.py", "test_converters.py", "sqlite_stored_surrogates.py"]


def test_the_hostile_input_tests_pass_on_sqlite(tmp_path):
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'kore.sqlite3'}"}
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "--create-db", "--no-cov",
         *(str(HERE / name) for name in MODULES)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    summary = result.stdout.strip().splitlines()[-1] if result.stdout.strip() else ""
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
    assert " passed" in summary, summary
    assert "failed" not in summary, summary
    assert "skipped" not in summary, summary
