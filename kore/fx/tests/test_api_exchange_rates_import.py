"""/orgs/{slug}/exchange-rates/import/: the ECB reference-rate CSV and a plain CSV, all or none."""

from datetime import date
from decimal import Decimal
from pathlib import Path

from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import override_settings

from kore.core.testing import assert_error, client_for
from kore.fx.models import ExchangeRate

FILES = Path(__file__).parent / "files"


def _upload(world, user, content: bytes, layout: str):
    upload = SimpleUploadedFile("rates.csv", content, content_type="text/csv")
    url = f"/api/v1/orgs/{world.org.slug}/exchange-rates/import/"
    return client_for(user).post(url, {"file": upload, "layout": layout}, format="multipart")


def _stored(world):
    rows = ExchangeRate.objects.filter(organization=world.org).order_by("date", "quote")
    return [(r.base, r.quote, r.date.isoformat(), r.rate, r.source) for r in rows]


def test_ecb_history_file_with_na_cells_and_trailing_commas(world):
    response = _upload(world, world.member, (FILES / "ecb-hist.csv").read_bytes(), "ecb")
    assert response.status_code == 200, response.json()
    assert response.json() == {"stored": 6, "created": 6, "replaced": 0}
    assert _stored(world) == [
        ("EUR", "GBP", "2026-03-02", Decimal("0.8563"), "ecb_csv"),
        ("EUR", "JPY", "2026-03-02", Decimal("162.37"), "ecb_csv"),
        ("EUR", "USD", "2026-03-02", Decimal("1.085"), "ecb_csv"),
        ("EUR", "GBP", "2026-03-03", Decimal("0.8571"), "ecb_csv"),
        ("EUR", "JPY", "2026-03-03", Decimal("162.55"), "ecb_csv"),
        ("EUR", "USD", "2026-03-03", Decimal("1.0862"), "ecb_csv"),
    ]


def test_ecb_daily_file_with_a_spelled_out_date(world):
    response = _upload(world, world.member, (FILES / "ecb-daily.csv").read_bytes(), "ecb")
    assert response.status_code == 200, response.json()
    assert {(q, d) for _, q, d, _, _ in _stored(world)} == {
        ("USD", "2026-03-04"), ("JPY", "2026-03-04"), ("CZK", "2026-03-04"),
    }  # fmt: skip


def test_importing_again_replaces_the_days_rates(world):
    _upload(world, world.member, (FILES / "ecb-hist.csv").read_bytes(), "ecb")
    changed = b"Date, USD, \n2026-03-02, 1.2000, \n"
    assert _upload(world, world.member, changed, "ecb").json() == {
        "stored": 1, "created": 0, "replaced": 1,
    }  # fmt: skip
    row = ExchangeRate.objects.get(organization=world.org, quote="USD", date=date(2026, 3, 2))
    assert row.rate == Decimal("1.2")
    assert row.history.count() == 2


def test_plain_csv_with_columns_in_any_order(world):
    content = b"rate,date,quote,base\n1.25,2026-03-02,USD,GBP\n0.0062,2026-03-02,EUR,JPY\n"
    response = _upload(world, world.member, content, "csv")
    assert response.status_code == 200, response.json()
    assert sorted(_stored(world)) == [
        ("GBP", "USD", "2026-03-02", Decimal("1.25"), "csv"),
        ("JPY", "EUR", "2026-03-02", Decimal("0.0062"), "csv"),
    ]


def test_a_bad_line_stores_nothing_and_names_each_line(world):
    content = (
        b"date,base,quote,rate\n"
        b"2026-03-02,EUR,USD,1.08\n"
        b"2026-03-03,EUR,USD,0\n"
        b"2026-03-04,EUR,ZZZ,1.1\n"
        b"2026-13-05,EUR,USD,1.1\n"
        b"2026-03-06,EUR,USD,2000000\n"
    )
    error = assert_error(_upload(world, world.member, content, "csv"), 422, "rate_file_invalid")
    assert {key: value[0]["code"] for key, value in error["fields"].items()} == {
        "line 3.rate": "rate_out_of_range",
        "line 4.quote": "currency_unknown",
        "line 5.date": "invalid_date",
        "line 6.rate": "rate_out_of_range",
    }
    assert not ExchangeRate.objects.exists()


def test_ecb_column_of_an_unknown_code_with_a_rate_is_refused(world):
    content = b"Date, USD, XYZ, \n2026-03-02, 1.08, 3.1, \n"
    error = assert_error(_upload(world, world.member, content, "ecb"), 422, "rate_file_invalid")
    assert error["fields"]["line 2.XYZ"][0]["code"] == "currency_unknown"


def test_a_file_that_is_not_text_is_a_422(world):
    assert_error(_upload(world, world.member, b"\xff\xfe\x00", "csv"), 422, "rate_file_invalid")


def test_a_header_without_the_columns_is_a_422(world):
    error = assert_error(_upload(world, world.member, b"a,b\n1,2\n", "csv"), 422)
    assert "line 1" in error["fields"]


@override_settings(KORE_FX_FILE_MAX_BYTES=10)
def test_a_file_over_the_limit_is_a_413(world):
    assert_error(_upload(world, world.member, b"x" * 11, "csv"), 413, "request_too_large")


def test_viewer_cannot_import(world):
    content = (FILES / "ecb-hist.csv").read_bytes()
    assert_error(_upload(world, world.viewer, content, "ecb"), 403, "permission_denied")
