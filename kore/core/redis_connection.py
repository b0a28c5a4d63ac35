"""A Redis connection for the cache that fails at once while its server is known to be down.

django-redis already ignores cache errors (a miss, a throttle that fails open), and the socket
timeouts bound a connect to a server that does not answer. They do not bound the name lookup: in
Compose a stopped ``redis-cache`` has no DNS entry, and each connect waited for the resolver's
timeout (10 s a read, measured). After a failed connect this process tries that server again only
once ``DOWN_SECONDS`` have passed; meanwhile every connect fails at once and the cache is a miss.
"""

import threading
import time
from typing import Any, ClassVar

from redis.connection import Connection
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

DOWN_SECONDS = 5.0


class FailFastConnection(Connection):
    """``redis.Connection`` that skips connecting for DOWN_SECONDS after a failed connect."""

    _down_until: ClassVar[dict[tuple[str, int], float]] = {}
    _lock: ClassVar[threading.Lock] = threading.Lock()

    def connect_check_health(self, *args: Any, **kwargs: Any) -> None:
        key = (str(self.host), int(self.port))
        with self._lock:
            down_until = self._down_until.get(key)
            if down_until is not None:
                if down_until > time.monotonic():
                    raise RedisConnectionError(f"Not connecting to {key[0]}:{key[1]}: it is down.")
                # Known down: this thread probes, the others fail at once until it is done.
                self._down_until[key] = time.monotonic() + DOWN_SECONDS
        try:
            super().connect_check_health(*args, **kwargs)
        except (RedisConnectionError, RedisTimeoutError):
            with self._lock:
                self._down_until[key] = time.monotonic() + DOWN_SECONDS
            raise
        with self._lock:
            self._down_until.pop(key, None)
