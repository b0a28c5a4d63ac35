"""Web forms. They parse what a browser sends; every rule is checked again by the services."""

from decimal import Decimal
from typing import Any, ClassVar, cast

from django import forms
from django.contrib.auth.forms import AuthenticationForm
from django.http import QueryDict

from kore.core.exceptions import KoreError
from kore.core.fields import id_coerce, id_parse
from kore.ledger.models import Account, Category
from kore.orgs.models import Organization, Role
from kore.planning.models import Budget, Schedule

STATUS_EDITABLE = [("pending", "Pending"), ("cleared", "Cleared")]
STATUS_ALL = [("", "Any status"), *STATUS_EDITABLE, ("reconciled", "Reconciled")]
ORDERINGS = [
    ("-occurred_on", "Newest first"),
    ("occurred_on", "Oldest first"),
    ("-amount", "Largest amount"),
    ("amount", "Smallest amount"),
]


def category_choices(categories: list[Category], empty: str) -> list[tuple[Any, str]]:
    """The tree as indented option labels, parents before children."""
    by_parent: dict[int | None, list[Category]] = {}
    for c in categories:
        by_parent.setdefault(c.parent_id, []).append(c)
    out: list[tuple[Any, str]] = [("", empty)]

    def walk(parent: int | None, depth: int) -> None:
        for c in sorted(by_parent.get(parent, []), key=lambda c: c.name.lower()):
            out.append((c.pk, "\u2003" * depth + c.name))
            walk(c.pk, depth + 1)

    walk(None, 0)
    return out


def account_choices(accounts: list[Account], empty: str | None) -> list[tuple[Any, str]]:
    head: list[tuple[Any, str]] = [("", empty)] if empty is not None else []
    return head + [(a.pk, f"{a.name} ({a.currency})") for a in accounts if not a.archived]


def set_choices(form: forms.BaseForm, name: str, choices: list[tuple[Any, str]]) -> None:
    cast(forms.ChoiceField, form.fields[name]).choices = choices


def apply_error(form: forms.BaseForm, exc: KoreError) -> None:
    """Show a service's error on the form: on its fields when they are the form's own."""
    placed = False
    for name, errors in exc.fields.items():
        field = name.split(".")[0]
        target = field if field in form.fields else None
        for error in errors:
            form.add_error(target, error["message"])
            placed = True
    if not placed:
        form.add_error(None, exc.message)


class SignInForm(AuthenticationForm):
    username = forms.EmailField(
        label="Email", widget=forms.EmailInput(attrs={"autofocus": True, "autocomplete": "email"})
    )


def parse_tags(text: str) -> list[str]:
    return sorted({t.strip() for t in text.split(",") if t.strip()})


class InlineEditForm(forms.Form):
    category = forms.TypedChoiceField(required=False, coerce=id_coerce, empty_value=None)
    status = forms.ChoiceField(choices=STATUS_EDITABLE)
    tags = forms.CharField(required=False, max_length=500)
    etag = forms.CharField(max_length=50)

    def __init__(self, *args: Any, categories: list[Category], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        set_choices(self, "category", category_choices(categories, "Uncategorised"))

    def clean_tags(self) -> list[str]:
        tags = parse_tags(self.cleaned_data.get("tags") or "")
        if any(len(t) > 50 for t in tags):
            raise forms.ValidationError("Tags are at most 50 characters.")
        return tags


class TransactionForm(forms.Form):
    account = forms.TypedChoiceField(coerce=id_coerce)
    occurred_on = forms.DateField(
        label="Date", widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )
    amount = forms.DecimalField(
        max_digits=20, decimal_places=4, help_text="Negative for money out, e.g. -12.30"
    )
    description = forms.CharField(required=False, max_length=500)
    counterparty = forms.CharField(required=False, max_length=200)
    category = forms.TypedChoiceField(required=False, coerce=id_coerce, empty_value=None)
    status = forms.ChoiceField(choices=STATUS_EDITABLE, initial="pending")
    tags = forms.CharField(required=False, max_length=500, help_text="Comma separated")
    reference = forms.CharField(required=False, max_length=200)
    notes = forms.CharField(
        required=False, max_length=10_000, widget=forms.Textarea(attrs={"rows": 2})
    )
    etag = forms.CharField(required=False, widget=forms.HiddenInput)

    def __init__(
        self, *args: Any, accounts: list[Account], categories: list[Category], **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        set_choices(self, "account", account_choices(accounts, None))
        set_choices(self, "category", category_choices(categories, "Uncategorised"))
        self.category_options = category_choices(categories, "Uncategorised")

    def clean_tags(self) -> list[str]:
        return parse_tags(self.cleaned_data.get("tags") or "")

    def splits(self) -> list[dict[str, Any]] | None:
        """Split lines from the repeated split_* inputs; None when the editor was not used."""
        if not self.data.get("splits_used"):
            return None
        data = cast(QueryDict, self.data)
        cats = data.getlist("split_category")
        amounts = data.getlist("split_amount")
        memos = data.getlist("split_memo")
        lines: list[dict[str, Any]] = []
        for cat, amount, memo in zip(cats, amounts, memos, strict=False):
            if not amount.strip():
                continue
            try:
                value = Decimal(amount.strip())
            except ArithmeticError as exc:
                raise forms.ValidationError(f"{amount!r} is not an amount.") from exc
            lines.append(
                {
                    "category": id_parse(cat),
                    "amount": value,
                    "memo": memo[:200],
                }
            )
        return lines

    def values(self) -> dict[str, Any]:
        data = {k: v for k, v in self.cleaned_data.items() if k != "etag"}
        return data


class BulkForm(forms.Form):
    ACTIONS = [
        ("categorise", "Categorise"),
        ("tag", "Add tag"),
        ("status", "Set status"),
        ("delete", "Delete"),
    ]
    ids = forms.TypedMultipleChoiceField(coerce=id_coerce)
    action = forms.ChoiceField(choices=ACTIONS)
    category = forms.TypedChoiceField(required=False, coerce=id_coerce, empty_value=None)
    tag = forms.CharField(required=False, max_length=50)
    status = forms.ChoiceField(required=False, choices=STATUS_EDITABLE)

    def __init__(self, *args: Any, categories: list[Category], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        set_choices(self, "category", category_choices(categories, "Uncategorised"))
        ids = self.data.getlist("ids") if hasattr(self.data, "getlist") else []
        set_choices(self, "ids", [(i, i) for i in ids[:1000]])


class AccountForm(forms.Form):
    name = forms.CharField(max_length=120)
    kind = forms.ChoiceField(choices=Account.Kind.choices)
    currency = forms.CharField(max_length=3, min_length=3)
    opening_balance = forms.DecimalField(max_digits=20, decimal_places=4, initial=Decimal(0))

    def clean_currency(self) -> str:
        return str(self.cleaned_data["currency"]).upper()


class CategoryForm(forms.Form):
    name = forms.CharField(max_length=80)
    kind = forms.ChoiceField(choices=Category.Kind.choices)
    parent = forms.TypedChoiceField(required=False, coerce=id_coerce, empty_value=None)

    def __init__(self, *args: Any, categories: list[Category], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        shallow = [c for c in categories if c.depth < Category.MAX_DEPTH]
        set_choices(self, "parent", category_choices(shallow, "(top level)"))


class TransferForm(forms.Form):
    """Money moved between two of the organisation's accounts (kore.ledger transfers)."""

    from_account = forms.TypedChoiceField(coerce=id_coerce, label="From")
    to_account = forms.TypedChoiceField(coerce=id_coerce, label="To")
    amount = forms.DecimalField(
        max_digits=20, decimal_places=4, min_value=0, help_text="Leaving the first account."
    )
    to_amount = forms.DecimalField(
        max_digits=20,
        decimal_places=4,
        min_value=0,
        required=False,
        label="Amount arriving",
        help_text="Only between two currencies: what reached the second account.",
    )
    occurred_on = forms.DateField(
        label="Date", widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )
    description = forms.CharField(required=False, max_length=500)

    def __init__(self, *args: Any, accounts: list[Account], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        set_choices(self, "from_account", account_choices(accounts, None))
        set_choices(self, "to_account", account_choices(accounts, None))


class TransferEditForm(forms.Form):
    """Correct a transfer: both legs change together."""

    amount = forms.DecimalField(
        max_digits=20, decimal_places=4, min_value=0, help_text="Leaving the first account."
    )
    to_amount = forms.DecimalField(
        max_digits=20,
        decimal_places=4,
        min_value=0,
        required=False,
        label="Amount arriving",
        help_text="Only between two currencies.",
    )
    occurred_on = forms.DateField(
        label="Date", widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )
    description = forms.CharField(required=False, max_length=500)
    etag = forms.CharField(required=False, widget=forms.HiddenInput)


class ReconcileForm(forms.Form):
    account = forms.TypedChoiceField(coerce=id_coerce)
    end_date = forms.DateField(
        label="Statement date", widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )
    closing_balance = forms.DecimalField(
        max_digits=20, decimal_places=4, label="Statement closing balance"
    )

    def __init__(self, *args: Any, accounts: list[Account], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        set_choices(self, "account", account_choices(accounts, None))


class OrganizationForm(forms.ModelForm):  # type: ignore[type-arg]
    max_rate_age_days = forms.IntegerField(
        required=False,
        min_value=0,
        max_value=3660,
        label="Exchange rates may be this many days old",
    )

    class Meta:
        model = Organization
        fields = ("name", "time_zone", "default_currency", "reporting_currency")
        labels: ClassVar = {"reporting_currency": "Reports add up in (empty: default currency)"}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["max_rate_age_days"].initial = self.instance.max_rate_age_days

    def clean_default_currency(self) -> str:
        return str(self.cleaned_data["default_currency"]).upper()

    def clean_reporting_currency(self) -> str:
        return str(self.cleaned_data.get("reporting_currency") or "").strip().upper()

    def changes(self) -> dict[str, Any]:
        """What to pass to ``organization_update``: an empty rate age keeps the current one."""
        keys = ("name", "time_zone", "default_currency", "reporting_currency")
        changes = {k: self.cleaned_data[k] for k in keys}
        if self.cleaned_data.get("max_rate_age_days") is not None:
            changes["max_rate_age_days"] = self.cleaned_data["max_rate_age_days"]
        return changes


class LockDateForm(forms.Form):
    lock_date = forms.DateField(
        required=False,
        label="Books closed through",
        help_text="No transaction on or before this day is added, changed or deleted in any "
        "account. Leave empty to open the books.",
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )


class InviteForm(forms.Form):
    email = forms.EmailField()
    role = forms.ChoiceField(choices=Role.choices, initial=Role.MEMBER)


class TokenForm(forms.Form):
    name = forms.CharField(max_length=100)
    role = forms.ChoiceField(choices=Role.choices, initial=Role.VIEWER)


class PasswordResetRequestForm(forms.Form):
    email = forms.EmailField()


class NewPasswordForm(forms.Form):
    password = forms.CharField(widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}))


class InvitationAcceptForm(forms.Form):
    full_name = forms.CharField(required=False, max_length=150)
    password = forms.CharField(
        required=False, widget=forms.PasswordInput(attrs={"autocomplete": "new-password"})
    )


class PayeeForm(forms.Form):
    name = forms.CharField(max_length=200)
    default_category = forms.TypedChoiceField(required=False, coerce=id_coerce, empty_value=None)

    def __init__(self, *args: Any, categories: list[Category], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        set_choices(self, "default_category", category_choices(categories, "(none)"))


class BudgetForm(forms.Form):
    """A budget on a category of the tree (kore.planning)."""

    category = forms.TypedChoiceField(coerce=id_coerce)
    amount = forms.DecimalField(max_digits=20, decimal_places=4, min_value=0)
    period = forms.ChoiceField(choices=Budget.Period.choices, initial=Budget.Period.MONTH)
    starts_on = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}))
    ends_on = forms.DateField(
        required=False, widget=forms.DateInput(attrs={"type": "date"}),
        help_text="A custom period's last day; optional for monthly budgets.",
    )  # fmt: skip
    rollover = forms.ChoiceField(choices=Budget.Rollover.choices, initial=Budget.Rollover.NONE)

    def __init__(self, *args: Any, categories: list[Category], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        set_choices(self, "category", category_choices(categories, "(choose)"))


class ScheduleForm(forms.Form):
    """An expected transaction of an account (kore.planning schedules)."""

    account = forms.TypedChoiceField(coerce=id_coerce)
    amount = forms.DecimalField(
        max_digits=20, decimal_places=4, help_text="Negative for money going out."
    )
    description = forms.CharField(max_length=500, required=False)
    counterparty = forms.CharField(max_length=200, required=False)
    category = forms.TypedChoiceField(coerce=id_coerce, required=False, empty_value=None)
    rule = forms.ChoiceField(choices=Schedule.Rule.choices)
    day_of_month = forms.IntegerField(
        min_value=1, max_value=31, required=False, help_text="Monthly rules only."
    )
    interval = forms.IntegerField(min_value=1, max_value=52, initial=1)
    starts_on = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}))
    ends_on = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    mode = forms.ChoiceField(choices=Schedule.Mode.choices, initial=Schedule.Mode.CREATE)

    def __init__(
        self, *args: Any, accounts: list[Account], categories: list[Category], **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        set_choices(self, "account", [(a.pk, a.name) for a in accounts if not a.archived])
        set_choices(self, "category", category_choices(categories, "(none)"))
