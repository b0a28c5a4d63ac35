"""The embedded runtime's broker: kombu's filesystem transport, made safe for a producer and a
consumer in different processes.

Chosen over SQLAlchemy on a SQLite file by measurement (bench/embedded_broker.py, 200 small tasks
through a prefork worker, 0.1 s polling): about 2.5 ms per send against 20-30 ms (every SQLite
commit is a sync to disk, paid inside the web request), the whole round trip 0.5-0.7 s against
4-8 s, and no new dependency.

kombu's own channel has two races between processes, both fixed here by renames within one
directory (atomic on a POSIX filesystem):

- ``_put`` creates the message file and then writes it; a consumer listing the folder in
  between reads an empty message. Here the message is written under ``tmp/`` first and renamed
  into the queue folder complete.
- ``_queue_bind`` checks whether the exchange's table file exists and then opens it for writing,
  truncating it, before it takes its lock: two processes declaring queues at once (the web
  publishing its first import while the worker declares its queues) both start a new table and
  the second write drops the first's binding; a message routed by the lost binding goes to the
  undeliverable queue and its job stays queued. Here the read-modify-write holds a lock file for
  the exchange and the table is replaced whole, so a reader never sees it half written.
- ``_get`` moves the file to the system temporary directory (another filesystem on most
  machines: a copy, then a delete, so two consumers can both take it). Here it is renamed into
  ``claimed/`` beside the queue: exactly one consumer wins, the others get FileNotFoundError.
"""

import fcntl
import os
import time
import uuid
from pathlib import Path
from queue import Empty
from typing import Any

from kombu.exceptions import ChannelError
from kombu.transport import filesystem
from kombu.utils.encoding import bytes_to_str, str_to_bytes
from kombu.utils.json import dumps, loads


def _name(queue: str) -> str:
    # Sorted by name = first in, first out: wall-clock nanoseconds, zero-padded.
    return f"{time.time_ns():020d}_{uuid.uuid4().hex}.{queue}.msg"


class Channel(filesystem.Channel):
    """Messages are files in one folder; each is written whole and claimed by one consumer."""

    # kombu passes publish options through to _put (**kwargs), which its stubs leave out.
    def _put(self, queue: str, message: Any, **kwargs: Any) -> None:  # type: ignore[override]
        folder = Path(self.data_folder_out)
        staging = folder / "tmp"
        staging.mkdir(exist_ok=True)
        name = _name(queue)
        (staging / name).write_bytes(str_to_bytes(dumps(message)))
        os.replace(staging / name, folder / name)

    def _get(self, queue: str, timeout: float | None = None) -> Any:
        folder = Path(self.data_folder_in)
        claimed = folder / "claimed"
        claimed.mkdir(exist_ok=True)
        suffix = f"{queue}.msg"
        for name in sorted(os.listdir(folder)):
            if name.partition(".")[2] != suffix:
                continue
            try:
                os.rename(folder / name, claimed / name)
            except FileNotFoundError:
                continue  # another consumer claimed it first
            payload = (claimed / name).read_bytes()
            (claimed / name).unlink()
            return loads(bytes_to_str(payload))
        raise Empty()

    def _table_file(self, exchange: str) -> Path:
        if not exchange or "/" in exchange or exchange.startswith("."):
            raise ChannelError(f"Invalid exchange name: {exchange!r}")
        return Path(self.control_folder) / f"{exchange}.exchange"  # where kombu keeps it

    def get_table(self, exchange: str) -> list[Any]:
        try:
            data = self._table_file(exchange).read_bytes()
        except FileNotFoundError:
            return []
        return [filesystem.exchange_queue_t(*q) for q in loads(bytes_to_str(data))]

    def _queue_bind(
        self, exchange: str, routing_key: str | None, pattern: str | None, queue: str | None
    ) -> None:
        folder = Path(self.control_folder)
        folder.mkdir(parents=True, exist_ok=True)
        table_file = self._table_file(exchange)
        entry = filesystem.exchange_queue_t(routing_key or "", pattern or "", queue or "")
        with open(folder / f"{exchange}.exchange.lock", "ab") as guard:
            fcntl.flock(guard, fcntl.LOCK_EX)  # released when the file closes
            table = self.get_table(exchange)
            if entry in table:
                return
            table.insert(0, entry)
            staging = folder / f".{exchange}.{uuid.uuid4().hex}.tmp"
            staging.write_bytes(str_to_bytes(dumps(table)))
            os.replace(staging, table_file)


class Transport(filesystem.Transport):
    Channel = Channel
    # No host to default to (the base class's "localhost" only earns a warning on every connect).
    default_connection_params: dict[str, Any] = {}
