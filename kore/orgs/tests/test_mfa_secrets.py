"""Two-factor secrets are stored encrypted (kore.orgs.mfa), under keys that can be rotated."""

import importlib

import pytest
from allauth.mfa.models import Authenticator
from cryptography.fernet import Fernet
from django.apps import apps
from django.core.exceptions import ImproperlyConfigured
from rest_framework.test import APIClient

from config.settings.base import mfa_keys
from kore.orgs.mfa import mfa_secrets_rekey
from kore.orgs.tests.factories import PASSWORD, UserFactory, totp_code, totp_turn_on

URL = "/api/v1/auth/token/"


def _signs_in(email: str, code: str) -> bool:
    body = {"email": email, "password": PASSWORD, "code": code}
    return bool(APIClient().post(URL, body, format="json").status_code == 200)


@pytest.mark.django_db
def test_totp_secret_and_recovery_seed_are_not_stored_in_clear():
    person = UserFactory()
    secret, codes = totp_turn_on(person)
    totp = Authenticator.objects.get(user=person, type="totp")
    recovery = Authenticator.objects.get(user=person, type="recovery_codes")
    assert secret not in str(totp.data)
    assert totp.data["secret"].startswith("fernet:")
    assert recovery.data["seed"].startswith("fernet:")
    assert _signs_in(person.email, totp_code(secret))


@pytest.mark.django_db
def test_a_rotated_key_still_reads_and_rekey_moves_to_the_new_key(settings):
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings.KORE_MFA_KEYS = [old]
    person = UserFactory()
    secret, codes = totp_turn_on(person)
    settings.KORE_MFA_KEYS = [new, old]  # rotation: the new key first, the old still listed
    assert _signs_in(person.email, codes[0])  # recovery seed read with the old key
    assert mfa_secrets_rekey() == 2
    settings.KORE_MFA_KEYS = [new]  # the old key dropped after the re-encryption
    assert _signs_in(person.email, totp_code(secret))
    assert _signs_in(person.email, codes[1])


@pytest.mark.django_db
def test_secrets_stored_in_clear_before_keep_working_and_the_migration_encrypts_them():
    person = UserFactory()
    secret, _ = totp_turn_on(person)
    totp = Authenticator.objects.get(user=person, type="totp")
    Authenticator.objects.filter(pk=totp.pk).update(data={**totp.data, "secret": secret})
    assert _signs_in(person.email, totp_code(secret))  # a clear secret still reads

    migration = importlib.import_module("kore.orgs.migrations.0004_encrypt_mfa_secrets")
    migration.encrypt_clear(apps, None)
    totp.refresh_from_db()
    assert totp.data["secret"].startswith("fernet:")
    assert secret not in str(totp.data)
    migration.decrypt_all(apps, None)  # the migration is reversible
    totp.refresh_from_db()
    assert totp.data["secret"] == secret


def test_a_bad_key_stops_start_up():
    good = Fernet.generate_key().decode()
    assert mfa_keys(f" {good} , ") == [good]
    with pytest.raises(ImproperlyConfigured, match="key 2 is not a Fernet key"):
        mfa_keys(f"{good},not-a-key")
