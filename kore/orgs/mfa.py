"""Two-factor secrets at rest: allauth.mfa's adapter, encrypting with rotatable keys.

allauth stores a TOTP authenticator's secret (``data["secret"]``) and the recovery codes' seed
(``data["seed"]``, or ``data["migrated_codes"]``) through its adapter's ``encrypt``/``decrypt``.
Kore encrypts them with Fernet under ``KORE_MFA_KEYS`` (newest first; ``MultiFernet`` reads with
any of them and writes with the first), or, when that is unset, one key derived from
``SECRET_KEY``. Rotation: put a new key first, keep the old ones after it, run
``manage.py kore_mfa_rekey``, then drop the old keys.
"""

import base64
import hashlib
from functools import cache
from typing import Any

from allauth.mfa.adapter import DefaultMFAAdapter
from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

PREFIX = "fernet:"  # marks a stored value as encrypted; older rows hold the clear secret


def derived_key(secret_key: str) -> str:
    """A Fernet key derived from SECRET_KEY, for installations that set no KORE_MFA_KEYS."""
    digest = hashlib.sha256(b"kore.mfa.secrets:" + secret_key.encode()).digest()
    return base64.urlsafe_b64encode(digest).decode()


@cache
def _box(keys: tuple[str, ...]) -> MultiFernet:
    return MultiFernet([Fernet(k) for k in keys])


def box() -> MultiFernet:
    keys = tuple(settings.KORE_MFA_KEYS) or (derived_key(settings.SECRET_KEY),)
    return _box(keys)


def encrypt(text: str) -> str:
    return PREFIX + box().encrypt(text.encode()).decode()


def decrypt(stored: str) -> str:
    if not stored.startswith(PREFIX):
        return stored  # written before secrets were encrypted (migration 0004 encrypts those)
    try:
        return box().decrypt(stored[len(PREFIX) :].encode()).decode()
    except InvalidToken as exc:
        raise ImproperlyConfigured(
            "A two-factor secret cannot be decrypted with any key of KORE_MFA_KEYS "
            "(a key was dropped before `manage.py kore_mfa_rekey` ran)."
        ) from exc


def rekey(stored: str) -> str:
    """The value encrypted with the newest key (clear values get encrypted)."""
    return encrypt(decrypt(stored))


def authenticator_data_rekey(data: dict[str, Any]) -> dict[str, Any]:
    """An authenticator's ``data`` with every secret in it encrypted with the newest key."""
    out = dict(data)
    for name in ("secret", "seed"):
        if isinstance(out.get(name), str):
            out[name] = rekey(out[name])
    if isinstance(out.get("migrated_codes"), list):
        out["migrated_codes"] = [rekey(c) for c in out["migrated_codes"]]
    return out


class MFAAdapter(DefaultMFAAdapter):  # type: ignore[misc]
    def encrypt(self, text: str) -> str:
        return encrypt(text)

    def decrypt(self, encrypted_text: str) -> str:
        return decrypt(encrypted_text)


def mfa_secrets_rekey() -> int:
    """Encrypt every stored two-factor secret with the newest key; the number of rows."""
    from allauth.mfa.models import Authenticator
    from django.db import transaction

    count = 0
    with transaction.atomic():
        for row in Authenticator.objects.select_for_update().filter(
            type__in=(Authenticator.Type.TOTP, Authenticator.Type.RECOVERY_CODES)
        ):
            row.data = authenticator_data_rekey(row.data)
            row.save(update_fields=["data"])
            count += 1
    return count
