"""Where a bearer API request's time goes: N requests through the whole WSGI handler, in-process.

python bench/request_profile.py SLUG [N] [PATH...]   (the server's settings, as bench/run.sh)

Runs N warm GET requests (a bearer JWT of the organisation's owner) to Kore's trivial view and
its first transactions page, or to PATH alone, prints requests/s of this one thread and the
cProfile functions with the most cumulative and own time. No sockets, no Gunicorn: the fixed cost
of middleware, DRF, authentication, throttling, logging and metrics is what is left.
"""

import cProfile
import io
import os
import pstats
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.production")

from config.wsgi import application
from kore.orgs.models import Membership, Role
from kore.orgs.services import token_pair_issue


def _environ(path: str, token: str) -> dict[str, Any]:
    route, _, query = path.partition("?")
    return {
        "REQUEST_METHOD": "GET",
        "PATH_INFO": route,
        "QUERY_STRING": query,
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "8000",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
        "HTTP_HOST": "127.0.0.1",
        "HTTP_AUTHORIZATION": f"Bearer {token}",
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(),
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": True,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
        "wsgi.version": (1, 0),
    }


def _runner(path: str, token: str) -> Callable[[], None]:
    def start_response(status: str, headers: list[tuple[str, str]]) -> None:
        if not status.startswith("200"):
            sys.exit(f"{path} answered {status}")

    def one() -> None:
        response = application(_environ(path, token), start_response)
        for _ in response:
            pass
        response.close()  # type: ignore[attr-defined]

    return one


def main(slug: str, count: int, paths: list[str]) -> None:
    owner = Membership.objects.get(organization__slug=slug, role=Role.OWNER).user
    token = token_pair_issue(user=owner)["access"]
    for path in paths:
        one = _runner(path, token)
        for _ in range(200):  # connections, caches, first-call imports
            one()
        started = time.perf_counter()
        for _ in range(count):
            one()
        rate = count / (time.perf_counter() - started)
        profile = cProfile.Profile()
        profile.enable()
        for _ in range(count):
            one()
        profile.disable()
        print(f"\n=== {path}: {rate:.0f} requests/s in one thread, unprofiled ===")  # noqa: T201
        for order in ("cumulative", "tottime"):
            out = io.StringIO()
            pstats.Stats(profile, stream=out).strip_dirs().sort_stats(order).print_stats(40)
            print(out.getvalue())  # noqa: T201


if __name__ == "__main__":
    slug = sys.argv[1]
    count = int(sys.argv[2]) if len(sys.argv) > 2 else 2000
    paths = sys.argv[3:] or [
        "/api/v1/health/live/",
        f"/api/v1/orgs/{slug}/transactions/?limit=50",
    ]
    main(slug, count, paths)
