"""The container tests' one stack: started once per session, torn down (volumes too) at the end.

If the engine, a stand-in, an image or the stack cannot be brought up, every test here fails with
the reason: there is no skip.
"""

from collections.abc import Iterator
from pathlib import Path

import pytest

from .stack import Stack, StackError, engine_env

REPORT: dict[str, list[str]] = {}


@pytest.fixture(autouse=True)
def _clean_cache() -> None:
    """These tests talk to containers only: no Django cache (nor the shared Redis) to clear."""
    return


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    directory: Path = tmp_path_factory.mktemp("compose")
    try:
        env = engine_env()
    except StackError as error:
        pytest.fail(f"the test engine did not start:\n{error}", pytrace=False)
    stack = Stack(env=env, dir=directory)
    try:
        stack.timed("stand-ins", stack.build_standins)
        REPORT["stand-ins"] = stack.standins
        stack.timed("images", stack.build_images)
        stack.write_config()
        stack.down()  # leftovers of an interrupted run
        stack.timed("up", stack.up)
    except (StackError, AssertionError) as error:
        detail = stack.diagnostics() if stack.timings.get("up") is not None else ""
        stack.down()
        pytest.fail(f"the production stack did not come up:\n{error}\n{detail}", pytrace=False)
    yield stack
    stack.record_memory()
    REPORT["memory per container (docker stats, end of run)"] = stack.memory
    stack.timed("down", stack.down)
    REPORT["timings (s)"] = [f"{phase}: {secs:.0f}" for phase, secs in stack.timings.items()]


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    for title, lines in REPORT.items():
        terminalreporter.section(title, sep="-")
        for line in lines:
            terminalreporter.write_line(line)
