"""Gunicorn's access line carries the fields Gunicorn's own atoms give, without building them."""

import datetime as dt
import logging
from types import SimpleNamespace

import pytest
from gunicorn.config import Config

from kore.ops.gunicorn_logging import KoreGunicornLogger


class _Keep(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


def _logger(tmp_path) -> tuple[KoreGunicornLogger, _Keep]:
    cfg = Config()
    cfg.set("accesslog", str(tmp_path / "access.log"))
    logger = KoreGunicornLogger(cfg)
    keep = _Keep()
    logger.access_log.addHandler(keep)
    return logger, keep


def _expected(logger, resp, req, environ, took) -> dict:
    """The fields as the atoms of Gunicorn give them (how the line was built before)."""
    atoms = logger.atoms_wrapper_class(logger.atoms(resp, req, environ, took))
    status = str(atoms["s"])
    out_id, in_id = atoms["{x-request-id}o"], atoms["{x-request-id}i"]
    return {
        "request_id": out_id if out_id != "-" else in_id,
        "remote": atoms["h"],
        "method": atoms["m"],
        "path": atoms["U"],
        "status": int(status) if status.isdigit() else status,
        "bytes": atoms["B"],
        "duration_ms": round(took.total_seconds() * 1000, 2),
        "user_agent": atoms["a"],
    }


ENVIRON = {
    "REQUEST_METHOD": "GET",
    "RAW_URI": "/api/v1/health/live/?x=1",
    "SERVER_PROTOCOL": "HTTP/1.1",
    "PATH_INFO": "/api/v1/health/live/",
    "QUERY_STRING": "x=1",
    "REMOTE_ADDR": "127.0.0.1",
    "HTTP_USER_AGENT": 'curl/8 "quoted"',
}


@pytest.mark.parametrize(
    ("resp_headers", "req_headers", "environ", "status", "sent"),
    [
        ([("X-Request-ID", "out-1")], [("X-REQUEST-ID", "in-1")], ENVIRON, "200 OK", 15),
        (
            [("Content-Type", "text/plain")],
            [("X-REQUEST-ID", 'in-"2"')],
            ENVIRON,
            "404 Not Found",
            0,
        ),
        (
            [],
            [],
            {"REQUEST_METHOD": "POST", "RAW_URI": "/", "SERVER_PROTOCOL": "HTTP/1.0"},
            500,
            None,
        ),
        ([("X-Request-ID", "a"), ("x-request-id", "b")], [], ENVIRON, "503 Busy", 3),
    ],
)
def test_access_line_fields_match_gunicorns_atoms(
    tmp_path, resp_headers, req_headers, environ, status, sent
):
    logger, keep = _logger(tmp_path)
    resp = SimpleNamespace(status=status, headers=resp_headers, sent=sent)
    req = SimpleNamespace(headers=req_headers)
    took = dt.timedelta(seconds=0, microseconds=12_345)

    logger.access(resp, req, environ, took)

    [record] = keep.records
    got = {k: getattr(record, k) for k in _expected(logger, resp, req, environ, took)}
    assert got == _expected(logger, resp, req, environ, took)
    assert record.getMessage() == "access"
