"""Encrypt the two-factor secrets that were stored in clear (kore.orgs.mfa)."""

from typing import Any

from django.db import migrations

from kore.orgs.mfa import PREFIX, authenticator_data_rekey, decrypt

TYPES = ("totp", "recovery_codes")


def encrypt_clear(apps: Any, schema_editor: Any) -> None:
    authenticator = apps.get_model("mfa", "Authenticator")
    for row in authenticator.objects.filter(type__in=TYPES):
        row.data = authenticator_data_rekey(row.data)
        row.save(update_fields=["data"])


def decrypt_all(apps: Any, schema_editor: Any) -> None:
    authenticator = apps.get_model("mfa", "Authenticator")
    for row in authenticator.objects.filter(type__in=TYPES):
        data = dict(row.data)
        for name in ("secret", "seed"):
            if isinstance(data.get(name), str) and data[name].startswith(PREFIX):
                data[name] = decrypt(data[name])
        if isinstance(data.get("migrated_codes"), list):
            data["migrated_codes"] = [decrypt(c) for c in data["migrated_codes"]]
        row.data = data
        row.save(update_fields=["data"])


class Migration(migrations.Migration):
    dependencies = [
        ("orgs", "0003_user_credentials_changed_at"),
        ("mfa", "0003_authenticator_type_uniq"),
    ]

    operations = [migrations.RunPython(encrypt_clear, decrypt_all)]
