"""manage.py kore_demo: the embedded runtime's demo organisation, user and sample ledger."""

from io import StringIO

from django.core.management import call_command

from kore.ledger.models import Account, Category, Transaction
from kore.orgs.models import Membership, Organization, User


def test_creates_the_demo_org_user_and_sample_ledger(db, settings, tmp_path):
    settings.KORE_DATA_DIR = tmp_path
    settings.KORE_DEMO_PASSWORD = "demo-password-for-tests-1"
    call_command("kore_demo", stdout=StringIO())
    org = Organization.objects.get(slug="demo")
    user = User.objects.get(email="demo@kore.local")
    assert user.check_password("demo-password-for-tests-1")
    assert Membership.objects.get(organization=org, user=user).role == "owner"
    assert Account.objects.filter(organization=org).count() == 3
    assert Category.objects.filter(organization=org, depth=3).exists()
    assert Transaction.objects.filter(organization=org).count() > 50


def test_running_it_again_adds_nothing(db, settings, tmp_path):
    settings.KORE_DATA_DIR = tmp_path
    call_command("kore_demo", stdout=StringIO())
    before = Transaction.objects.count()
    call_command("kore_demo", stdout=StringIO())
    assert Transaction.objects.count() == before
    assert Organization.objects.filter(slug="demo").count() == 1


def test_generated_password_is_kept_for_the_next_run(db, settings, tmp_path):
    settings.KORE_DATA_DIR = tmp_path
    settings.KORE_DEMO_PASSWORD = ""
    call_command("kore_demo", stdout=StringIO())
    password = (tmp_path / "demo-password.txt").read_text().strip()
    call_command("kore_demo", stdout=StringIO())
    assert User.objects.get(email="demo@kore.local").check_password(password)
    assert oct((tmp_path / "demo-password.txt").stat().st_mode)[-3:] == "600"
