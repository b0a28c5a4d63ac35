"""Gunicorn's own log lines (errors and access) in Kore's format, one JSON object per line.

Used as ``logger_class`` in config/gunicorn.conf.py; imports nothing of Django's but its
exceptions (the master process never loads Django).
"""

import functools
import importlib.util
import logging
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

from gunicorn import glogging  # type: ignore[import-untyped]

from .logs import JsonLineFormatter, TextFormatter


@functools.cache
def config_env() -> ModuleType:
    """config/env.py (the strict ``env_*`` readers), loaded by its path: importing the ``config``
    package would also load the Celery app, about 20 MB more in Gunicorn's master."""
    loaded = sys.modules.get("config.env")
    if loaded is not None:
        return loaded
    path = Path(__file__).resolve().parents[2] / "config" / "env.py"
    spec = importlib.util.spec_from_file_location("kore_gunicorn_config_env", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class KoreGunicornLogger(glogging.Logger):  # type: ignore[misc]
    """Error and access lines through Kore's formatters (``KORE_LOG_FORMAT``, json by default)."""

    def setup(self, cfg: Any) -> None:
        super().setup(cfg)
        fmt = config_env().env_choice("KORE_LOG_FORMAT", default="json", choices=("json", "text"))
        formatter: logging.Formatter = JsonLineFormatter() if fmt == "json" else TextFormatter()
        for log in (self.error_log, self.access_log):
            for handler in log.handlers:
                handler.setFormatter(formatter)

    def access(self, resp: Any, req: Any, environ: Any, request_time: Any) -> None:
        if not (self.cfg.accesslog or self.cfg.logconfig_dict):
            return
        # The fields Gunicorn's atoms would give (quotes escaped, "-" when missing), read
        # directly: building every atom (each header and environ variable, twice) cost about a
        # tenth of a trivial request's CPU.
        status = resp.status
        status = str(status.split(None, 1)[0] if isinstance(status, str) else status)
        request_id = _escaped(_last_header(resp.headers, "x-request-id"))
        if request_id == "-":
            request_id = _escaped(_last_header(getattr(req, "headers", req), "x-request-id"))
        fields = {
            "request_id": request_id,
            "remote": _escaped(environ.get("REMOTE_ADDR", "-")),
            "method": _escaped(environ.get("REQUEST_METHOD")),
            "path": _escaped(environ.get("PATH_INFO")),
            "status": int(status) if status.isdigit() else status,
            "bytes": getattr(resp, "sent", None),
            "duration_ms": round(request_time.total_seconds() * 1000, 2),
            "user_agent": _escaped(environ.get("HTTP_USER_AGENT", "-")),
        }
        try:
            self.access_log.info("access", extra=fields)
        except Exception:
            self.exception("access log line failed")


def _last_header(headers: Any, name: str) -> Any:
    """The last value of header ``name`` (any case), as Gunicorn's atoms keep it; else "-"."""
    found = "-"
    for key, value in headers.items() if hasattr(headers, "items") else headers:
        if key.lower() == name:
            found = value
    return found


def _escaped(value: Any) -> Any:
    return value.replace('"', '\\"') if isinstance(value, str) else value
