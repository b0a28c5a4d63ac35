"""`make run`'s supervisor (run_embedded): stopping leaves nothing of what it started behind.

The whole path (Gunicorn, worker, beat, Ctrl-C, two instances) runs end to end in
scripts/smoke-embedded.sh; here, the part that must hold even for a process that will not stop.
"""

import subprocess
import sys
import time

import psutil

from kore.ops.management.commands.run_embedded import tree_stop

# A process that ignores SIGTERM and has started a child of its own (as a worker's pool does).
STUBBORN = """
import signal, subprocess, sys, time
signal.signal(signal.SIGTERM, signal.SIG_IGN)
child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
print(child.pid, flush=True)
time.sleep(120)
"""


def test_stopping_kills_a_process_that_ignores_sigterm_and_its_children():
    parent = subprocess.Popen([sys.executable, "-c", STUBBORN], stdout=subprocess.PIPE, text=True)
    assert parent.stdout is not None
    grandchild = int(parent.stdout.readline())
    started = time.monotonic()
    tree_stop({"stubborn": parent}, grace=1.0)
    assert parent.returncode is not None
    assert not psutil.pid_exists(grandchild) or psutil.Process(grandchild).status() == "zombie"
    assert time.monotonic() - started < 10


def test_stopping_lets_a_process_that_stops_on_sigterm_go_at_once():
    quick = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    started = time.monotonic()
    tree_stop({"quick": quick}, grace=30.0)
    assert not psutil.pid_exists(quick.pid)
    assert time.monotonic() - started < 5
