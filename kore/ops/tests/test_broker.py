"""The embedded runtime's file broker (kore.ops.broker) between separate processes.

Consumers in their own processes read while this process is still sending: every message is
delivered exactly once, whole, and in the order sent to one consumer.
"""

import json
import os
import subprocess
import sys
import time
from pathlib import Path

from kombu import Connection

ROOT = Path(__file__).resolve().parents[3]
MESSAGES = 300

CONSUMER = """
import json, sys, time
from pathlib import Path
from queue import Empty
from kombu import Connection

folder = sys.argv[1]
options = {"data_folder_in": folder, "data_folder_out": folder, "control_folder": folder,
           "polling_interval": 0.01}
got = []
with Connection("filesystem://", transport="kore.ops.broker:Transport",
                transport_options=options) as conn:
    queue = conn.SimpleQueue("jobs")
    while True:
        try:
            message = queue.get(timeout=0.2)
        except Empty:
            if Path(folder, "sent").exists():
                break
            continue
        got.append(message.payload["n"])
        message.ack()
print(json.dumps(got))
"""


def _connection(folder: Path) -> Connection:
    options = {"data_folder_in": str(folder), "data_folder_out": str(folder)}
    return Connection(
        "filesystem://",
        transport="kore.ops.broker:Transport",
        transport_options=options | {"control_folder": str(folder)},
    )


def test_messages_reach_exactly_one_of_several_consumer_processes_whole(tmp_path):
    consumers = [
        subprocess.Popen(
            [sys.executable, "-c", CONSUMER, str(tmp_path)],
            cwd=ROOT,
            env=os.environ,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(3)
    ]
    time.sleep(1)  # the consumers are polling while the messages are written
    with _connection(tmp_path) as conn:
        queue = conn.SimpleQueue("jobs")
        for n in range(MESSAGES):
            queue.put({"n": n, "padding": "x" * 20_000})  # big enough to be written in pieces
    (tmp_path / "sent").touch()
    received: list[int] = []
    for consumer in consumers:
        out, err = consumer.communicate(timeout=120)
        assert consumer.returncode == 0, err[-3000:]
        received += json.loads(out.splitlines()[-1])
    assert sorted(received) == list(range(MESSAGES))  # none lost, none twice, none broken


def test_one_consumer_gets_the_messages_in_the_order_sent(tmp_path):
    with _connection(tmp_path) as conn:
        # kombu keeps the declared queues per process: a name of its own, bound in this folder.
        queue = conn.SimpleQueue("ordered")
        for n in range(20):
            queue.put({"n": n})
        got = []
        for _ in range(20):
            message = queue.get(timeout=5)
            got.append(message.payload["n"])
            message.ack()
    assert got == list(range(20))
    assert not list(tmp_path.glob("*.msg"))  # claimed messages leave nothing behind


BINDER = """
import sys
from pathlib import Path
from kombu import Connection, Exchange, Queue
folder, name = Path(sys.argv[1]), sys.argv[2]
while not (folder / "go").exists():
    pass
f = str(folder)
options = {"data_folder_in": f, "data_folder_out": f, "control_folder": f}
transport = sys.argv[3]
with Connection("filesystem://", transport=transport, transport_options=options) as conn:
    for n in range(20):
        queue = Queue(f"{name}-{n}", Exchange("celery", type="direct"), routing_key=f"{name}-{n}")
        queue(conn.default_channel).declare()
"""


TRANSPORT = "kore.ops.broker:Transport"


def test_queues_declared_by_processes_at_the_same_time_all_stay_bound(tmp_path):
    """The web publishing its first task while the worker declares its queues: every binding
    survives, so no message is routed to the undeliverable queue."""
    binders = [
        subprocess.Popen(
            [sys.executable, "-c", BINDER, str(tmp_path), f"p{n}", TRANSPORT],
            cwd=ROOT,
            env=os.environ,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for n in range(4)
    ]
    time.sleep(1)  # every process has imported kombu and spins on the start file
    (tmp_path / "go").touch()
    for binder in binders:
        _, err = binder.communicate(timeout=120)
        assert binder.returncode == 0, err[-3000:]
    with _connection(tmp_path) as conn:
        table = conn.default_channel.get_table("celery")
    assert {q.queue for q in table} == {f"p{p}-{n}" for p in range(4) for n in range(20)}
