"""A Redis connection for the cache that fails at once while its server is known to be down.

django-redis already ignores cache errors (a miss, a throttle that fails open), and the socket
timeouts bound a connect to a server that does not answer. They do not bound the name lookup: in
Compose a stopped ``redis-cache`` has no DNS entry, and each connect waited for the resolver's
timeout (10 s a read, measured). Here the lookup gets ``LOOKUP_SECONDS`` (in a thread of its own,
left to finish alone), and after a failed connect this process tries that server again only once
``DOWN_SECONDS`` have passed; meanwhile every connect fails at once and the cache is a miss.
"""

import socket
import threading
import time
from typing import Any, ClassVar

from redis.connection import Connection
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

DOWN_SECONDS = 5.0
# Docker's and a host's resolver answer in milliseconds; one that does not is as good as down.
LOOKUP_SECONDS = 0.5


def _resolves(host: str, port: int) -> bool:
    """Whether ``host`` resolves within LOOKUP_SECONDS."""
    found: list[bool] = []

    def lookup() -> None:
        try:
            found.append(bool(socket.getaddrinfo(host, port, 0, socket.SOCK_STREAM)))
        except OSError:
            found.append(False)

    thread = threading.Thread(target=lookup, name="kore-redis-lookup", daemon=True)
    thread.start()
    thread.join(LOOKUP_SECONDS)
    return bool(found and found[0])


class FailFastConnection(Connection):
    """``redis.Connection`` that skips connecting for DOWN_SECONDS after a failed connect."""

    _down_until: ClassVar[dict[tuple[str, int], float]] = {}
    _lock: ClassVar[threading.Lock] = threading.Lock()

    def connect_check_health(self, *args: Any, **kwargs: Any) -> None:
        # The pool calls this on every checkout: an open connection has nothing to look up.
        if getattr(self, "_sock", None) is not None:
            return
        key = (str(self.host), int(self.port))
        with self._lock:
            down_until = self._down_until.get(key)
            if down_until is not None:
                if down_until > time.monotonic():
                    raise RedisConnectionError(f"Not connecting to {key[0]}:{key[1]}: it is down.")
                # Known down: this thread probes, the others fail at once until it is done.
                self._down_until[key] = time.monotonic() + DOWN_SECONDS
        try:
            if not _resolves(*key):
                raise RedisConnectionError(f"{key[0]} did not resolve in {LOOKUP_SECONDS} s.")
            super().connect_check_health(*args, **kwargs)
        except (RedisConnectionError, RedisTimeoutError):
            with self._lock:
                self._down_until[key] = time.monotonic() + DOWN_SECONDS
            raise
        with self._lock:
            self._down_until.pop(key, None)
