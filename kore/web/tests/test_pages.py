"""Accounts, categories, reconciliation, reports, imports, settings, password reset, invitations."""

import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from config.celery_app import app as celery_app
from kore.core.testing import OrgWorld
from kore.imports.models import ImportJob
from kore.ledger.models import Account, Category, Statement, Transaction
from kore.orgs.models import ApiToken, Invitation, Membership, Role, User

from .helpers import browser, ledger, page


@pytest.fixture
def eager_mail(settings, mailoutbox):
    """Emails sent in-process (as in the embedded runtime) into the test outbox."""
    celery_app.conf.task_always_eager = True
    return mailoutbox


@pytest.mark.django_db
def test_member_opens_an_account_and_a_bad_currency_is_explained(world: OrgWorld) -> None:
    client = browser(world.member)
    form = {"name": "Savings", "kind": "savings", "currency": "eur", "opening_balance": "10.50"}
    assert client.post(page(world, "accounts/"), form).status_code == 302
    assert Account.objects.get(organization=world.org, name="Savings").currency == "EUR"
    response = client.post(page(world, "accounts/"), {**form, "name": "X", "currency": "XYZ"})
    assert response.status_code == 422
    assert "ISO 4217" in response.content.decode()
    response = client.post(page(world, "accounts/"), form)  # same name again
    assert response.status_code == 409
    assert Account.objects.filter(organization=world.org).count() == 1


@pytest.mark.django_db
def test_accounts_page_shows_balances(world: OrgWorld) -> None:
    ledger(world)  # 100.00 opening, -1.50 -2.50 -3.50
    body = browser(world.viewer).get(page(world, "accounts/")).content.decode()
    assert "92.50" in body


@pytest.mark.django_db
def test_archive_with_a_stale_version_changes_nothing(world: OrgWorld) -> None:
    data = ledger(world)
    account = data["account"]
    client = browser(world.member)
    client.post(page(world, f"accounts/{account.pk}/"), {"archived": "1", "etag": '"0-0"'})
    account.refresh_from_db()
    assert account.archived is False
    client.post(
        page(world, f"accounts/{account.pk}/"),
        {"archived": "1", "etag": f'"{account.pk}-{account.version}"'},
    )
    account.refresh_from_db()
    assert account.archived is True


@pytest.mark.django_db
def test_other_orgs_account_and_category_are_404(world: OrgWorld) -> None:
    data = ledger(world)
    client = browser(world.outsider)
    slug = world.other_org.slug
    assert (
        client.post(f"/o/{slug}/accounts/{data['account'].pk}/", {"archived": "1"}).status_code
        == 404
    )
    assert (
        client.post(f"/o/{slug}/categories/{data['food'].pk}/", {"delete": "1"}).status_code == 404
    )


@pytest.mark.django_db
def test_category_add_move_and_delete_with_reassignment(world: OrgWorld) -> None:
    data = ledger(world)
    client = browser(world.member)
    client.post(page(world, "categories/"), {"name": "Snacks", "kind": "expense", "parent": ""})
    snacks = Category.objects.get(organization=world.org, name="Snacks")
    client.post(page(world, f"categories/{snacks.pk}/"), {"parent": data["food"].pk})
    snacks.refresh_from_db()
    assert snacks.parent_id == data["food"].pk
    assert snacks.depth == 2
    # Food is in use: deleting without a target is refused; with one, its rows move.
    response = client.post(
        page(world, f"categories/{data['food'].pk}/"), {"delete": "1"}, follow=True
    )
    assert "in use" in response.content.decode()
    client.post(
        page(world, f"categories/{data['food'].pk}/"),
        {"delete": "1", "reassign_to": data["travel"].pk},
    )
    assert not Category.objects.filter(pk=data["food"].pk).exists()
    assert set(
        Transaction.objects.filter(organization=world.org).values_list("category_id", flat=True)
    ) == {data["travel"].pk}


@pytest.mark.django_db
def test_reconcile_shows_the_difference_then_reconciles(world: OrgWorld) -> None:
    data = ledger(world)
    Transaction.objects.filter(pk=data["txs"][0].pk).update(status="cleared")
    client = browser(world.member)
    query = {"account": data["account"].pk, "end_date": "2026-03-31", "closing_balance": "90.00"}
    response = client.get(page(world, "reconcile/"), query, HTTP_HX_REQUEST="true")
    body = response.content.decode()
    assert "<html" not in body
    assert "-8.50" in body
    response = client.post(page(world, "reconcile/"), query, follow=True)
    assert "off by -8.50" in response.content.decode()
    statement = Statement.objects.get(organization=world.org)
    assert statement.status == "open"
    Statement.objects.all().delete()
    client.post(page(world, "reconcile/"), {**query, "closing_balance": "98.50"})
    assert Statement.objects.get(organization=world.org).status == "reconciled"
    assert Transaction.objects.get(pk=data["txs"][0].pk).status == "reconciled"


@pytest.mark.django_db
def test_viewer_cannot_reconcile(world: OrgWorld) -> None:
    data = ledger(world)
    query = {"account": data["account"].pk, "end_date": "2026-03-31", "closing_balance": "100.00"}
    assert browser(world.viewer).post(page(world, "reconcile/"), query).status_code == 403
    assert not Statement.objects.exists()


@pytest.mark.django_db
def test_reports_chart_table_and_csv(world: OrgWorld) -> None:
    ledger(world)
    client = browser(world.viewer)
    query = {"date_from": "2026-01-01", "date_to": "2026-04-30"}
    body = client.get(page(world, "reports/"), query).content.decode()
    assert "<svg" in body
    assert "Food" in body
    assert "7.50" in body
    response = client.get(page(world, "reports/"), {**query, "csv": "spending"})
    assert response["Content-Type"].startswith("text/csv")
    assert response.content.decode().splitlines() == ["category,currency,spent", "Food,EUR,7.50"]
    flow = client.get(page(world, "reports/"), {**query, "csv": "flow"}).content.decode()
    assert "2026-03,EUR,0.00,-7.50,-7.50" in flow


@pytest.mark.django_db(transaction=True)
def test_import_dry_run_reports_row_errors_and_writes_nothing(world: OrgWorld) -> None:
    celery_app.conf.task_always_eager = True
    data = ledger(world, count=0)
    csv = b"Date,Amount,Memo\n2026-01-05,-12.50,Coffee\n2026-01-06,abc,Broken\n"
    response = browser(world.member).post(
        page(world, "imports/"),
        {"account": data["account"].pk, "file": SimpleUploadedFile("bank.csv", csv),
         "dry_run": "on", "mode": "all_or_nothing", "map_date": "Date", "map_amount": "Amount",
         "map_description": "Memo"},
    )  # fmt: skip
    assert response.status_code == 302
    job = ImportJob.objects.get(organization=world.org)
    assert job.dry_run
    assert job.mapping["amount"] == "Amount"
    body = browser(world.member).get(response["Location"]).content.decode()
    assert "Row errors" in body
    assert not Transaction.objects.filter(organization=world.org).exists()


@pytest.mark.django_db(transaction=True)
def test_a_dry_run_shows_what_kore_understood_and_the_rows_as_they_will_be_booked(
    world: OrgWorld,
) -> None:
    celery_app.conf.task_always_eager = True
    data = ledger(world, count=0)
    csv = (
        "Datum;Betrag;S/H;Verwendungszweck\n"
        "05.01.2026;12,50;S;Kaffee\n06.01.2026;1.000,00;H;Gehalt\n"
    )
    response = browser(world.member).post(
        page(world, "imports/"),
        {"account": data["account"].pk,
         "file": SimpleUploadedFile("bank.csv", csv.encode("cp1252")),
         "dry_run": "on", "mode": "all_or_nothing", "map_date": "Datum", "map_amount": "Betrag",
         "map_direction": "S/H", "map_description": "Verwendungszweck", "locale": "de-DE"},
    )  # fmt: skip
    assert response.status_code == 302
    body = browser(world.member).get(response["Location"]).content.decode()
    assert "What Kore understood" in body
    understood = body.split("What Kore understood", 1)[1]
    for seen in ("csv", "<code>;</code>", "S/H", "they will be booked"):
        assert seen in understood, seen
    # The debit is money out, the credit money in, each in the account's currency.
    currency = data["account"].currency
    assert f'class="num out">-12.50 {currency}' in understood
    assert f'class="num in">1000.00 {currency}' in understood
    assert not Transaction.objects.filter(organization=world.org).exists()


@pytest.mark.django_db
def test_import_page_passes_a_locale_and_the_direction_column(world: OrgWorld) -> None:
    data = ledger(world, count=0)
    csv = b"Date,Amount,DC,Memo\n03/04/2026,12.50,D,Coffee\n"
    response = browser(world.member).post(
        page(world, "imports/"),
        {"account": data["account"].pk, "file": SimpleUploadedFile("bank.csv", csv),
         "dry_run": "on", "mode": "all_or_nothing", "map_direction": "DC",
         "locale": "en-GB"},
    )  # fmt: skip
    assert response.status_code == 302
    job = ImportJob.objects.get(organization=world.org)
    assert (job.mapping["locale"], job.mapping["direction"]) == ("en-GB", "DC")


@pytest.mark.django_db
def test_import_without_a_file_is_a_400(world: OrgWorld) -> None:
    data = ledger(world, count=0)
    response = browser(world.member).post(page(world, "imports/"), {"account": data["account"].pk})
    assert response.status_code == 400
    assert not ImportJob.objects.exists()


@pytest.mark.django_db
def test_admin_changes_settings_roles_and_tokens(
    world: OrgWorld, eager_mail, django_capture_on_commit_callbacks
) -> None:
    client = browser(world.admin)
    bad = {"name": "Renamed", "time_zone": "Nope/Zone", "default_currency": "EUR"}
    response = client.post(page(world, "settings/"), bad)
    assert response.status_code == 422
    client.post(
        page(world, "settings/"), {**bad, "time_zone": "Asia/Tokyo", "default_currency": "gbp"}
    )
    world.org.refresh_from_db()
    assert (world.org.name, world.org.time_zone, world.org.default_currency) == (
        "Renamed", "Asia/Tokyo", "GBP",
    )  # fmt: skip
    membership = Membership.objects.get(organization=world.org, user=world.member)
    client.post(page(world, f"settings/members/{membership.pk}/"), {"role": "viewer"})
    membership.refresh_from_db()
    assert membership.role == Role.VIEWER
    # An admin cannot make anyone an owner.
    response = client.post(page(world, f"settings/members/{membership.pk}/"), {"role": "owner"})
    assert response.status_code == 422
    response = client.post(page(world, "settings/tokens/"), {"name": "ci", "role": "member"})
    assert re.search(r"kore_[A-Za-z0-9]+_", response.content.decode())
    assert ApiToken.objects.filter(organization=world.org, name="ci").exists()
    with django_capture_on_commit_callbacks(execute=True):
        client.post(page(world, "settings/invite/"), {"email": "new@example.com", "role": "member"})
    assert Invitation.objects.filter(organization=world.org, email="new@example.com").exists()
    assert eager_mail[-1].to == ["new@example.com"]


@pytest.mark.django_db
def test_invitation_link_creates_the_account_and_signs_in(
    world: OrgWorld, eager_mail, django_capture_on_commit_callbacks
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        browser(world.admin).post(
            page(world, "settings/invite/"), {"email": "joiner@example.com", "role": "viewer"}
        )
    link = re.search(r"http://\S+/invitations/accept/\?token=[\w-]+", eager_mail[-1].body).group(0)
    path = link.split("127.0.0.1:8000")[-1]
    client = browser(None)
    assert client.get(path).status_code == 200
    token = path.split("token=")[1]
    response = client.post(path, {"token": token, "full_name": "Jo", "password": "short"})
    assert response.status_code == 422
    response = client.post(
        path, {"token": token, "full_name": "Jo", "password": "a-long-passphrase-42"}
    )
    assert response.status_code == 302
    assert Membership.objects.get(user__email="joiner@example.com").role == Role.VIEWER
    assert client.get(page(world, "transactions/")).status_code == 200  # signed in
    response = client.post(path, {"token": token, "password": "a-long-passphrase-42"})
    assert response.status_code in (409, 422)


@pytest.mark.django_db
def test_password_reset_by_email_link(
    world: OrgWorld, eager_mail, django_capture_on_commit_callbacks
) -> None:
    client = browser(None)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/password-reset/", {"email": world.member.email})
        assert "Check your email" in response.content.decode()
        other = client.post("/password-reset/", {"email": "nobody@example.com"})
    assert "Check your email" in other.content.decode()  # the same answer, and no email
    assert len(eager_mail) == 1
    link = re.search(r"http://\S+/password-reset/confirm/\?\S+", eager_mail[0].body).group(0)
    path = link.split("127.0.0.1:8000")[-1]
    query = dict(p.split("=", 1) for p in path.split("?")[1].split("&"))
    response = client.post(
        "/password-reset/confirm/", {**query, "token": "1-bad", "password": "a-new-passphrase-77"}
    )
    assert response.status_code == 422
    response = client.post("/password-reset/confirm/", {**query, "password": "a-new-passphrase-77"})
    assert response.status_code == 302
    assert User.objects.get(pk=world.member.pk).check_password("a-new-passphrase-77")
    # The link is single-use.
    response = client.post("/password-reset/confirm/", {**query, "password": "another-pass-88"})
    assert response.status_code == 422


@pytest.mark.django_db
def test_an_unknown_address_is_a_page_for_browsers_and_json_for_the_api(world: OrgWorld) -> None:
    client = browser(world.member)
    html = {"HTTP_ACCEPT": "text/html,application/xhtml+xml,*/*;q=0.8"}
    response = client.get("/no-such-page/", **html)
    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")
    body = response.content.decode()
    assert "<h1>Not found</h1>" in body
    assert "Back to the start" in body
    # The API keeps its JSON shape whatever the client accepts; so does a non-browser client.
    for path, headers in (("/api/v1/no-such-thing/", html), ("/no-such-page/", {})):
        response = client.get(path, **headers)
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "not_found"


@pytest.mark.django_db
def test_an_expired_form_explains_itself(world: OrgWorld) -> None:
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(world.member)
    response = client.post(page(world, "accounts/"), {"name": "X"}, HTTP_ACCEPT="text/html")
    assert response.status_code == 403
    assert "This form expired" in response.content.decode()


@pytest.mark.django_db(transaction=True)
def test_a_passed_dry_run_is_imported_with_one_button(world: OrgWorld) -> None:
    celery_app.conf.task_always_eager = True
    data = ledger(world, count=0)
    csv = b"Date,Amount,Memo\n2026-01-05,-12.50,Coffee\n2026-01-06,abc,Broken\n"
    client = browser(world.member)
    response = client.post(
        page(world, "imports/"),
        {"account": data["account"].pk, "file": SimpleUploadedFile("bank.csv", csv),
         "dry_run": "on", "mode": "skip_invalid", "map_date": "Date", "map_amount": "Amount",
         "map_description": "Memo"},
    )  # fmt: skip
    dry = ImportJob.objects.get(organization=world.org)
    body = client.get(response["Location"]).content.decode()
    assert "its 1 invalid rows will be skipped" in body
    assert "Import these rows" in body
    as_viewer = browser(world.viewer).get(response["Location"]).content.decode()
    assert "Import these rows" not in as_viewer
    promote = page(world, f"imports/{dry.pk}/promote/")
    assert browser(world.viewer).post(promote).status_code == 403
    assert not Transaction.objects.filter(organization=world.org).exists()

    response = client.post(promote)
    real = ImportJob.objects.exclude(pk=dry.pk).get(organization=world.org)
    assert response["Location"] == page(world, f"imports/{real.pk}/")
    real.refresh_from_db()
    assert (real.status, real.dry_run, real.created_count, real.invalid_count) == (
        "done", False, 1, 1,
    )  # fmt: skip
    assert Transaction.objects.filter(organization=world.org, description="Coffee").count() == 1
    again = client.post(promote, follow=True).content.decode()
    assert "no longer kept" in again
    assert Transaction.objects.filter(organization=world.org).count() == 1
