"""A daemon thread per process that calls a function every few seconds.

Started by the first caller of ``ensure_started`` in each process, and again after a fork
(threads do not survive one: Gunicorn's and Celery's children start their own).
"""

import os
import threading
import time
from collections.abc import Callable


class PeriodicThread:
    """Call ``target`` every ``interval()`` seconds in a daemon thread; never when it is <= 0."""

    def __init__(self, name: str, target: Callable[[], None], interval: Callable[[], float]):
        self.name = name
        self.target = target
        self.interval = interval
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._pid = 0

    def _running(self) -> bool:
        thread = self._thread
        return thread is not None and self._pid == os.getpid() and thread.is_alive()

    def ensure_started(self) -> None:
        """Start this process's thread unless it runs already (cheap to call on every request)."""
        if self._running():
            return
        seconds = self.interval()
        if seconds <= 0:
            return
        with self._lock:
            if self._running():
                return
            self._pid = os.getpid()
            self._thread = threading.Thread(
                target=self._forever, args=(seconds,), name=self.name, daemon=True
            )
            try:
                self._thread.start()
            except RuntimeError:  # interpreter shutting down: a caller must never fail for this
                self._thread = None

    def _forever(self, seconds: float) -> None:
        while True:
            time.sleep(seconds)
            self.target()
