"""Django's PostgreSQL backend, whose once-a-request health check asks the server only when
the connection heard from it while idle.

``CONN_HEALTH_CHECKS`` makes Django check a persistent connection before a request's first
query, with a ``SELECT 1`` round trip (~0.15 ms of CPU on each side, on every API request). A
connection the server ends (a restart, a failover, ``pg_terminate_backend``, PgBouncer going
away) receives its farewell or end-of-file at once, so its socket turns readable while it sits
idle between requests: then, and only then, the ``SELECT 1`` runs and fails as before and Django
reconnects. A silent socket is the same connection the server last answered on. A peer that
vanished without a word is not caught by either check (the ``SELECT 1`` would wait as long as
the request's own query does).
"""

import select
from typing import Any

from django.db.backends.postgresql import base


class DatabaseWrapper(base.DatabaseWrapper):
    def is_usable(self) -> bool:
        raw: Any = self.connection
        if raw is None or raw.closed:
            return False
        if not _readable(raw.pgconn.socket):
            return True
        return bool(super().is_usable())


def _readable(fd: int) -> bool:
    """Whether the socket has something to read (or was closed) without waiting for it."""
    poller = select.poll()
    poller.register(fd, select.POLLIN | select.POLLPRI)
    return bool(poller.poll(0))
