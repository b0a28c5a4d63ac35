"""The deploy log: one JSON line per deploy (time, env, version, previous, result), newest last.

scripts/deploy.sh appends through ``manage.py ops_deploy_record``; the status page reads the tail.
The file keeps the last ``KEEP_DEPLOYS`` lines.
"""

import json
import os
from datetime import UTC, datetime
from pathlib import Path

from django.conf import settings

KEEP_DEPLOYS = 500
RESULTS = ("ok", "failed", "rolled_back")


def deploy_record(*, env: str, version: str, result: str, previous: str = "") -> dict[str, str]:
    """Append one deploy to the log (and trim it), atomically replacing the file."""
    if result not in RESULTS:
        raise ValueError(f"result must be one of {', '.join(RESULTS)}, not {result!r}")
    entry = {
        "time": datetime.now(tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "env": env,
        "version": version,
        "previous": previous,
        "result": result,
    }
    path = Path(settings.KORE_DEPLOY_LOG)
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        lines = []
    lines = [*lines, json.dumps(entry)][-KEEP_DEPLOYS:]
    partial = path.with_name(f".{path.name}.{os.getpid()}")
    partial.write_text("\n".join(lines) + "\n", encoding="utf-8")
    partial.replace(path)
    return entry
