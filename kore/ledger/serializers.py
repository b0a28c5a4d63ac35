"""Wire shapes of the ledger (documented in the schema)."""

from decimal import Decimal
from typing import Any, Protocol

from rest_framework import serializers
from rest_framework.exceptions import ErrorDetail

from kore.core.fields import CurrencyField, IdField, MoneyField
from kore.core.money import format_amount
from kore.core.serializers import StrictCharField, StrictSerializer

from .iban import iban_check
from .models import Account, Category, Statement, Transaction
from .transaction_list import ROW, RUNNING_BALANCE_HELP, Column


class Balanced(Protocol):
    """An account as ``selectors.accounts_with_balances`` annotates it."""

    currency: str
    balance: Decimal
    cleared_balance: Decimal


class AccountOutput(serializers.ModelSerializer[Account]):
    """An account; read it through ``selectors.accounts_with_balances`` (the balances)."""

    opening_balance = serializers.SerializerMethodField()
    balance = serializers.SerializerMethodField(help_text="Opening balance plus every transaction.")
    cleared_balance = serializers.SerializerMethodField(
        help_text="Opening balance plus the cleared and reconciled transactions: what the "
        "bank's statement should show."
    )

    class Meta:
        model = Account
        fields = (
            "id", "name", "kind", "currency", "opening_balance", "balance", "cleared_balance",
            "iban", "number", "archived", "version", "created_at", "updated_at",
        )  # fmt: skip

    def get_opening_balance(self, obj: Account) -> str:
        return format_amount(obj.opening_balance, obj.currency)

    def get_balance(self, obj: Balanced) -> str:
        return format_amount(obj.balance, obj.currency)

    def get_cleared_balance(self, obj: Balanced) -> str:
        return format_amount(obj.cleared_balance, obj.currency)


class IbanField(StrictCharField):
    """An IBAN, spaces allowed; stored in its electronic form once its check digits match."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(max_length=50, allow_blank=True, **kwargs)

    def to_internal_value(self, data: Any) -> str:
        value = super().to_internal_value(data)
        if not value:
            return ""
        try:
            return iban_check(value)
        except ValueError as exc:
            raise serializers.ValidationError(str(exc), code="invalid_iban") from exc


_IBAN_HELP = "The account's IBAN: imports route a statement naming it to this account."
_NUMBER_HELP = "The bank's account number, as statements name it (OFX ACCTID, MT940 :25:)."


class AccountInput(StrictSerializer):
    name = StrictCharField(max_length=120)
    kind = serializers.ChoiceField(choices=Account.Kind.choices, default=Account.Kind.BANK)
    currency = CurrencyField()
    opening_balance = MoneyField(required=False)
    iban = IbanField(required=False, help_text=_IBAN_HELP)
    number = StrictCharField(max_length=40, required=False, allow_blank=True,
                             help_text=_NUMBER_HELP)  # fmt: skip


class AccountPatch(StrictSerializer):
    name = StrictCharField(max_length=120, required=False)
    kind = serializers.ChoiceField(choices=Account.Kind.choices, required=False)
    currency = CurrencyField(required=False)
    opening_balance = MoneyField(required=False)
    archived = serializers.BooleanField(required=False)
    iban = IbanField(required=False, help_text=_IBAN_HELP)
    number = StrictCharField(max_length=40, required=False, allow_blank=True,
                             help_text=_NUMBER_HELP)  # fmt: skip


class CategoryOutput(serializers.ModelSerializer[Category]):
    class Meta:
        model = Category
        fields = ("id", "name", "kind", "parent", "depth", "version", "created_at")


class CategoryInput(StrictSerializer):
    name = StrictCharField(max_length=80)
    kind = serializers.ChoiceField(choices=Category.Kind.choices, default=Category.Kind.EXPENSE)
    parent = IdField(required=False, allow_null=True)  # type: ignore[assignment]


class CategoryPatch(StrictSerializer):
    name = StrictCharField(max_length=80, required=False)
    parent = IdField(required=False, allow_null=True)  # type: ignore[assignment]


class SplitInput(StrictSerializer):
    category = IdField(required=False, allow_null=True)
    amount = MoneyField()
    memo = StrictCharField(max_length=200, required=False, allow_blank=True)


class SplitOutput(serializers.Serializer[Any]):
    category = serializers.IntegerField(allow_null=True)
    amount = serializers.CharField()
    memo = serializers.CharField()


class TransactionInput(StrictSerializer):
    account = IdField()
    occurred_on = serializers.DateField()
    amount = MoneyField()
    description = StrictCharField(max_length=500, required=False, allow_blank=True)
    counterparty = StrictCharField(max_length=200, required=False, allow_blank=True)
    category = IdField(required=False, allow_null=True)
    tags = serializers.ListField(
        child=StrictCharField(max_length=50), required=False, max_length=50
    )
    reference = StrictCharField(max_length=200, required=False, allow_blank=True)
    notes = StrictCharField(max_length=10_000, required=False, allow_blank=True)
    # Values are strings kept verbatim (a number or object is the wrong shape: 400); the limits on
    # keys and values are rules the service checks (422 metadata_*).
    metadata = serializers.DictField(
        child=StrictCharField(allow_blank=True, trim_whitespace=False), required=False
    )
    status = serializers.ChoiceField(choices=Transaction.Status.choices, required=False)
    splits = SplitInput(many=True, required=False)


class TransactionPatch(TransactionInput):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, partial=True, **kwargs)

    def validate_splits(self, value: list[dict[str, Any]]) -> list[dict[str, Any]]:
        # ``partial`` reaches nested serializers too: a split without its amount would pass.
        missing: dict[str, Any] = {
            str(index): {"amount": [ErrorDetail("This field is required.", code="required")]}
            for index, split in enumerate(value)
            if "amount" not in split
        }
        if missing:
            raise serializers.ValidationError(missing)
        return value


def _output_field(column: Column) -> Any:
    kind = column.kind
    text: dict[str, Any] = {"help_text": column.help} if column.help else {}
    if kind == "ref":
        return serializers.IntegerField(allow_null=True, **text)
    if kind == "int":
        return serializers.IntegerField(**text)
    if kind == "date":
        return serializers.DateField(**text)
    if kind == "timestamp":
        return serializers.DateTimeField(**text)
    if kind == "choice":
        return serializers.ChoiceField(choices=Transaction.Status.choices, **text)
    if kind == "json":
        return serializers.DictField(child=serializers.CharField(), **text)
    if kind == "tags":
        return serializers.ListField(child=serializers.CharField(), **text)
    if kind == "splits":
        return SplitOutput(many=True, **text)
    if kind == "original_money":
        return serializers.CharField(allow_null=True, **text)
    return serializers.CharField(**text)  # text, money, etag


# The documented shape, generated from the list's one declaration of a row.
TransactionOutput = type(
    "TransactionOutput",
    (serializers.Serializer,),
    {
        "__doc__": "A transaction as the list, detail and change feed render it.",
        **{c.name: _output_field(c) for c in ROW},
        "running_balance": serializers.CharField(required=False, help_text=RUNNING_BALANCE_HELP),
    },
)


class TransferInput(StrictSerializer):
    from_account = IdField()
    to_account = IdField()
    amount = MoneyField(help_text="Positive amount leaving from_account, in its currency.")
    to_amount = MoneyField(required=False, help_text="Amount arriving; required across currencies.")
    occurred_on = serializers.DateField()
    description = StrictCharField(max_length=500, required=False, allow_blank=True)


class TransferPatch(StrictSerializer):
    amount = MoneyField(required=False, help_text="Positive amount leaving from_account.")
    to_amount = MoneyField(
        required=False, help_text="Amount arriving (across currencies; the rate follows)."
    )
    rate = MoneyField(
        required=False,
        help_text="Across currencies instead of to_amount: to_amount = amount * rate, which "
        "must fit the currency's decimals (422 rate_inexact otherwise).",
    )
    occurred_on = serializers.DateField(required=False)
    description = StrictCharField(max_length=500, required=False, allow_blank=True)


class TransferOutput(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    from_account = serializers.IntegerField()
    to_account = serializers.IntegerField()
    amount = serializers.CharField(help_text="Positive, in from_account's currency.")
    to_amount = serializers.CharField(help_text="Positive, in to_account's currency.")
    rate = serializers.CharField()
    occurred_on = serializers.DateField()
    description = serializers.CharField()
    version = serializers.IntegerField()
    etag = serializers.CharField()
    created_at = serializers.DateTimeField()
    legs = TransactionOutput(many=True)


class TransferPage(serializers.Serializer[Any]):
    results = TransferOutput(many=True)
    next_cursor = serializers.CharField(allow_null=True)


class StatementOutput(serializers.ModelSerializer[Statement]):
    closing_balance = serializers.SerializerMethodField()

    class Meta:
        model = Statement
        fields = (
            "id", "account", "end_date", "closing_balance", "status", "reconciled_at",
            "version", "created_at",
        )  # fmt: skip

    def get_closing_balance(self, obj: Statement) -> str:
        return format_amount(obj.closing_balance, obj.account.currency)


class StatementInput(StrictSerializer):
    account = IdField()
    end_date = serializers.DateField()
    closing_balance = MoneyField()


class StatementPatch(StrictSerializer):
    end_date = serializers.DateField(required=False)
    closing_balance = MoneyField(required=False)
