"""Gunicorn's own log lines (errors and access) in Kore's format, one JSON object per line.

Used as ``logger_class`` in config/gunicorn.conf.py; imports nothing from Django (the master
process never loads it).
"""

import logging
import os
from typing import Any

from gunicorn import glogging  # type: ignore[import-untyped]

from .logs import JsonLineFormatter, TextFormatter


class KoreGunicornLogger(glogging.Logger):  # type: ignore[misc]
    """Error and access lines through Kore's formatters (``KORE_LOG_FORMAT``, json by default)."""

    def setup(self, cfg: Any) -> None:
        super().setup(cfg)
        fmt = os.environ.get("KORE_LOG_FORMAT", "json")
        formatter: logging.Formatter = JsonLineFormatter() if fmt == "json" else TextFormatter()
        for log in (self.error_log, self.access_log):
            for handler in log.handlers:
                handler.setFormatter(formatter)

    def access(self, resp: Any, req: Any, environ: Any, request_time: Any) -> None:
        if not (self.cfg.accesslog or self.cfg.logconfig_dict):
            return
        atoms = self.atoms_wrapper_class(self.atoms(resp, req, environ, request_time))
        status = str(atoms["s"])
        fields = {
            "request_id": atoms["{x-request-id}o"]
            if atoms["{x-request-id}o"] != "-"
            else atoms["{x-request-id}i"],
            "remote": atoms["h"],
            "method": atoms["m"],
            "path": atoms["U"],
            "status": int(status) if status.isdigit() else status,
            "bytes": atoms["B"],
            "duration_ms": round(request_time.total_seconds() * 1000, 2),
            "user_agent": atoms["a"],
        }
        try:
            self.access_log.info("access", extra=fields)
        except Exception:
            self.exception("access log line failed")
