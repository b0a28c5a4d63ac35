"""One native production stack for the whole session (see stack.py), always torn down."""

from collections.abc import Iterator

import pytest

from .stack import Stack


@pytest.fixture(scope="session")
def stack() -> Iterator[Stack]:
    stack = Stack()
    try:
        try:
            stack.up()
        except BaseException:
            print(stack.diagnostics())  # noqa: T201 - shown with the failing setup
            raise
        yield stack
    finally:
        stack.down()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):  # type: ignore[no-untyped-def]
    """On a failure, append the tails of the stack's logs to the report."""
    outcome = yield
    report = outcome.get_result()
    stack = item.funcargs.get("stack") if hasattr(item, "funcargs") else None
    if report.failed and isinstance(stack, Stack):
        report.sections.append(("native stack logs", stack.diagnostics()))
