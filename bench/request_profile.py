"""Where a bearer API request's time goes: N requests through the whole WSGI handler, in-process.

python bench/request_profile.py SLUG [N] [PATH...]   (the server's settings, as bench/run.sh)

Runs N warm GET requests (a bearer JWT of the organisation's owner) to Kore's trivial view and
its first transactions page, or to PATH alone, prints requests/s of this one thread and the
cProfile functions with the most cumulative and own time. No sockets, no Gunicorn: the fixed cost
of middleware, DRF, authentication, throttling, logging and metrics is what is left: printed
as each layer's share, then the functions with the most time of their own.
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


# (label, module path ending, function): cumulative time of each, as a share of the request.
LAYERS = (
    ("request log line (kore.request)", "logging/__init__.py", "info"),
    ("metrics (Prometheus)", "kore/ops/metrics.py", "observe_request"),
    ("status-page request counts", "kore/ops/recorder.py", "request_count"),
    ("DRF dispatch (auth, throttle, view, render)", "rest_framework/views.py", "dispatch"),
    ("  of which authentication", "rest_framework/views.py", "perform_authentication"),
    ("  of which throttles", "rest_framework/views.py", "check_throttles"),
    ("URL resolving", "django/core/handlers/base.py", "resolve_request"),
    ("request_started/finished signals", "django/dispatch/dispatcher.py", "send"),
    ("session middleware", "django/contrib/sessions/middleware.py", "process_request"),
    ("session middleware, response", "django/contrib/sessions/middleware.py", "process_response"),
    ("messages middleware", "django/contrib/messages/middleware.py", "process_request"),
    ("messages middleware, response", "django/contrib/messages/middleware.py", "process_response"),
    ("authentication middleware", "django/contrib/auth/middleware.py", "process_request"),
    ("CSRF middleware, view", "django/middleware/csrf.py", "process_view"),
    ("CSP middleware, response", "kore/core/csp.py", "process_response"),
)


def _layers(profile: cProfile.Profile, count: int) -> None:
    stats: dict[tuple[str, int, str], tuple[Any, ...]] = pstats.Stats(profile).stats  # type: ignore[attr-defined]

    def cumulative(path: str, name: str) -> float:
        return sum(v[3] for (f, _, n), v in stats.items() if f.endswith(path) and n == name)

    total = cumulative("request_profile.py", "one")
    for label, path, name in LAYERS:
        spent = cumulative(path, name)
        print(f"  {label:45} {spent / count * 1000:7.3f} ms {100 * spent / total:5.1f} %")  # noqa: T201


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
        print("Share of the profiled request (the profiler inflates many small calls):")  # noqa: T201
        _layers(profile, count)
        out = io.StringIO()
        pstats.Stats(profile, stream=out).strip_dirs().sort_stats("tottime").print_stats(30)
        print(out.getvalue())  # noqa: T201


if __name__ == "__main__":
    slug = sys.argv[1]
    count = int(sys.argv[2]) if len(sys.argv) > 2 else 2000
    paths = sys.argv[3:] or [
        "/api/v1/health/live/",
        f"/api/v1/orgs/{slug}/transactions/?limit=50",
    ]
    main(slug, count, paths)
