"""POST/GET /api/v1/orgs/{slug}/imports/, GET {id}/, POST {id}/cancel/ and {id}/force/."""

import pytest
from django.test import override_settings

from kore.core.testing import assert_error, assert_other_org_is_404, client_for
from kore.imports.models import ImportJob
from kore.ledger.tests.factories import AccountFactory

from .conftest import upload


def base(world) -> str:
    return f"/api/v1/orgs/{world.org.slug}/imports/"


def post(user, world, account_id, name="statement.ofx", data=None, **fields):
    body = {"file": upload(name, data), "account": account_id, **fields}
    return client_for(user).post(base(world), body, format="multipart")


@pytest.mark.django_db
def test_upload_answers_202_with_the_queued_job(world, account):
    response = post(world.member, world, account.pk, mode="skip_invalid", dry_run="true")
    assert response.status_code == 202, response.content
    body = response.json()
    assert (body["status"], body["format"], body["mode"], body["dry_run"]) == (
        "queued", "ofx", "skip_invalid", True,
    )  # fmt: skip
    assert body["progress"] == {"rows_read": 0, "rows_total": None}
    assert body["counts"] == {"created": 0, "duplicates_skipped": 0, "invalid": 0, "pending": 0,
                              "replaced": 0, "reverted_skipped": 0, "matched": 0}  # fmt: skip
    job = ImportJob.objects.get(pk=body["id"])
    assert job.file_path.startswith(f"imports/{world.org.pk}/")
    assert len(job.file_path) > 40  # a uuid4, not guessable


@pytest.mark.django_db
def test_mapping_is_validated(world, account):
    response = post(world.member, world, account.pk, "x.csv", b"a,b\n1,2\n",
                    mapping='{"date": "a", "locale": "xx-XX"}')  # fmt: skip
    assert_error(response, 422)
    response = post(world.member, world, account.pk, "x.csv", b"a,b\n", mapping="{not json")
    assert_error(response, 400)


@pytest.mark.django_db
def test_another_orgs_account_is_422(world):
    theirs = AccountFactory(organization=world.other_org)
    assert_error(post(world.member, world, theirs.pk), 422, "invalid_reference")
    assert not ImportJob.objects.exists()


@pytest.mark.django_db
def test_empty_file_is_422(world, account):
    assert_error(post(world.member, world, account.pk, "e.csv", b""), 422, "import_file_empty")


@pytest.mark.django_db
@override_settings(KORE_IMPORT_MAX_BYTES=100)
def test_import_size_limit_is_413(world, account):
    assert_error(post(world.member, world, account.pk, "big.csv", b"x" * 200), 413)
    assert not ImportJob.objects.exists()


@pytest.mark.django_db
def test_viewer_cannot_import_and_anonymous_is_401(world, account):
    assert_error(post(world.viewer, world, account.pk), 403, "permission_denied")
    assert_error(post(None, world, account.pk), 401)


@pytest.mark.django_db
def test_list_and_detail(world, account):
    job_id = post(world.member, world, account.pk).json()["id"]
    listed = client_for(world.viewer).get(base(world)).json()
    assert [j["id"] for j in listed["results"]] == [job_id]
    detail = client_for(world.viewer).get(f"{base(world)}{job_id}/").json()
    assert (detail["errors"], detail["duplicates"]) == ([], [])


@pytest.mark.django_db
def test_another_orgs_job_is_404(world, account):
    job_id = post(world.member, world, account.pk).json()["id"]
    assert_other_org_is_404(world.outsider, "get", f"{base(world)}{job_id}/")
    assert_other_org_is_404(world.outsider, "post", f"{base(world)}{job_id}/cancel/")
    theirs = f"/api/v1/orgs/{world.other_org.slug}/imports/{job_id}/"
    assert_error(client_for(world.outsider).get(theirs), 404, "not_found")


@pytest.mark.django_db
def test_cancel_then_cancelling_a_finished_job_is_409(world, account):
    job_id = post(world.member, world, account.pk).json()["id"]
    url = f"{base(world)}{job_id}/cancel/"
    response = client_for(world.member).post(url)
    assert (response.status_code, response.json()["status"]) == (200, "cancelled")
    assert_error(client_for(world.member).post(url), 409, "import_finished")


@pytest.mark.django_db
def test_wrong_method_is_405(world, account):
    assert_error(client_for(world.member).delete(base(world)), 405)


@pytest.mark.django_db
def test_force_needs_a_finished_job(world, account):
    job_id = post(world.member, world, account.pk).json()["id"]
    response = client_for(world.member).post(
        f"{base(world)}{job_id}/force/", {"lines": [1]}, format="json"
    )
    assert_error(response, 409, "import_not_forceable")


@pytest.mark.django_db
def test_a_bad_date_format_lists_the_allowed_codes(world, account):
    response = post(world.member, world, account.pk, "x.csv", b"a,b\n1,2\n",
                    mapping='{"date_format": "%Y-%m-%dT%Q"}')  # fmt: skip
    error = assert_error(response, 422)
    (problem,) = error["fields"]["mapping.date_format"]
    assert problem["code"] == "invalid_date_format"
    assert problem["message"].startswith("Unknown code %Q. Use strftime codes: %d day (01-31)")
    assert "%H hour (00-23)" in problem["message"]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("mapping", "field"),
    [('{"date": 0}', "date"), ('{"amount": true}', "amount"), ('{"header_line": 99}',
      "header_line"), ('{"time_zone": "Mars/Olympus"}', "time_zone"),
     ('{"date_format": "%H:%M"}', "date_format")],
)  # fmt: skip
def test_mapping_columns_positions_and_options_are_checked(world, account, mapping, field):
    response = post(world.member, world, account.pk, "x.csv", b"a,b\n1,2\n", mapping=mapping)
    error = assert_error(response, 422)
    assert f"mapping.{field}" in error["fields"], error


@pytest.mark.django_db
def test_a_mapping_by_position_is_accepted(world, account):
    response = post(world.member, world, account.pk, "x.csv", b"2024-01-02,-1.00\n",
                    mapping='{"date": 1, "amount": 2, "header_line": 0, '
                            '"time_zone": "Europe/Paris", "direction": "Sens"}')  # fmt: skip
    assert response.status_code == 202, response.content
    assert response.json()["mapping"]["date"] == 1
