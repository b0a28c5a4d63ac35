"""KORE_BACKUP_DATABASE_URL: behind PgBouncer (the 512 MB profile) backups and restores connect
straight to PostgreSQL, never through the transaction pool."""

from typing import Any

from kore.backups import pg


def test_backups_connect_to_the_direct_url_when_one_is_set(settings: Any) -> None:
    settings.KORE_BACKUP_DATABASE_URL = "postgres://kore:s3cret@postgres:5432/kore_direct"
    params = pg._params()
    assert (params["host"], str(params["port"]), params["user"]) == ("postgres", "5432", "kore")
    assert (params["password"], params["dbname"]) == ("s3cret", "kore_direct")
    words, environ = pg._client("pg_dump", "", "kore_direct")
    assert words == ["pg_dump", "-h", "postgres", "-p", "5432", "-U", "kore", "-d", "kore_direct"]
    assert environ["PGPASSWORD"] == "s3cret"


def test_without_it_backups_use_django_database(settings: Any) -> None:
    settings.KORE_BACKUP_DATABASE_URL = ""
    db = settings.DATABASES["default"]
    assert pg._params()["dbname"] == db["NAME"]
    words, _ = pg._client("pg_dump", "", db["NAME"])
    assert words[-2:] == ["-d", db["NAME"]]
