"""The one place settings are read from the environment.

Every read sits beside its default. Secrets also accept ``NAME_FILE`` (a path whose contents are the
value), the Docker/Kubernetes secrets convention. A value that cannot be parsed stops start-up:
booleans, numbers, choices and rates go through ``env_bool``, ``env_int``, ``env_float``,
``env_choice`` and ``env_rate`` (never ``env.bool`` and friends, which guess).
"""

import os
from collections.abc import Iterable
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
# Read values from the *_FILE variant when it is set (environ's smart-cast keeps types).
env.smart_cast = True


def env_secret(name: str, default: str = "") -> str:
    """Read a secret from ``NAME`` or from the file named by ``NAME_FILE``."""
    file_path = os.environ.get(f"{name}_FILE")
    if file_path:
        try:
            return Path(file_path).read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise ImproperlyConfigured(f"{name}_FILE points to {file_path!r}: {exc}") from exc
    return str(env.str(name, default=default))


# --- Strict typed reads: a value that is not one of the accepted spellings stops start-up -------
# (django-environ's env.bool turns any unknown word into False: SECURE_SSL_REDIRECT=ture was off.)
# An unset or empty variable takes the default; anything else must parse.
TRUE_WORDS = frozenset({"true", "1", "yes", "on"})
FALSE_WORDS = frozenset({"false", "0", "no", "off"})
RATE_PERIODS = frozenset({"s", "sec", "second", "m", "min", "minute", "h", "hour", "d", "day"})


def _raw(name: str) -> str | None:
    value = os.environ.get(name, "").strip()
    return value or None


def _bad(name: str, value: str, expected: str) -> ImproperlyConfigured:
    return ImproperlyConfigured(f"{name}={value!r} is not valid: expected {expected}.")


def env_bool(name: str, *, default: bool) -> bool:
    """true/false, 1/0, yes/no or on/off, in any case; anything else stops start-up."""
    value = _raw(name)
    if value is None:
        return default
    if value.lower() in TRUE_WORDS:
        return True
    if value.lower() in FALSE_WORDS:
        return False
    raise _bad(name, value, "one of true/false, 1/0, yes/no, on/off (any case)")


def env_int(
    name: str, *, default: int, min_value: int | None = None, max_value: int | None = None
) -> int:
    """A whole number (within ``min_value``..``max_value`` when given)."""
    value = _raw(name)
    if value is None:
        return default
    try:
        number = int(value)
    except ValueError:
        number = None
    if number is None or not _within(number, min_value, max_value):
        raise _bad(name, value, "a whole number" + _range_text(min_value, max_value))
    return number


def env_float(
    name: str, *, default: float, min_value: float | None = None, max_value: float | None = None
) -> float:
    """A decimal number (within ``min_value``..``max_value`` when given)."""
    value = _raw(name)
    if value is None:
        return default
    try:
        number = float(value)
    except ValueError:
        number = None
    if number is None or number != number or not _within(number, min_value, max_value):
        raise _bad(name, value, "a number" + _range_text(min_value, max_value))
    return number


def env_choice(name: str, *, default: str, choices: Iterable[str]) -> str:
    """One of ``choices`` (compared without regard to case, returned as spelled in ``choices``)."""
    allowed = list(choices)
    value = _raw(name)
    if value is None:
        return default
    for choice in allowed:
        if value.lower() == choice.lower():
            return choice
    raise _bad(name, value, "one of " + ", ".join(allowed))


def env_rate(name: str, *, default: str) -> str:
    """A rate limit as DRF spells it: ``<requests>/<second|minute|hour|day>`` (e.g. 10/min)."""
    value = _raw(name)
    if value is None:
        return default
    count, _, period = value.partition("/")
    if not count.isdigit() or int(count) < 1 or period.lower() not in RATE_PERIODS:
        raise _bad(name, value, "requests per period, such as 10/min, 5000/hour or 2/second")
    return value


def _within(number: float, low: float | None, high: float | None) -> bool:
    return (low is None or number >= low) and (high is None or number <= high)


def _range_text(low: float | None, high: float | None) -> str:
    if low is not None and high is not None:
        return f" from {low} to {high}"
    if low is not None:
        return f" of at least {low}"
    if high is not None:
        return f" of at most {high}"
    return ""
