"""The rule editor: a rule in the shape ``POST /rules/`` takes (kore.payees.rules), read from
the page's rows of conditions and split lines.

The forms only parse what the browser sends. Whether the rule can run (which op suits which
field, bounds in order, percentages adding up to 100, ids of this organisation, ...) is
``services_rules.rule_check``'s to say, as it is for the API; its errors are shown on the row
and input they name."""

from dataclasses import dataclass
from typing import Any

from django import forms
from django.forms.formsets import BaseFormSet
from django.http import QueryDict

from kore.core.exceptions import KoreError
from kore.core.fields import id_coerce
from kore.ledger.models import Account, Category
from kore.payees.models import Payee, Rule

from .forms import category_choices, set_choices

CONDITION_FIELDS = [
    ("description", "Description"),
    ("counterparty", "Counterparty"),
    ("payee", "Payee name"),
    ("payee_id", "Payee"),
    ("account", "Account"),
    ("currency", "Currency"),
    ("direction", "Direction"),
    ("amount", "Amount"),
    ("date", "Date"),
]
CONDITION_OPS = [
    ("contains", "contains"),
    ("equals", "is"),
    ("regex", "matches (regex)"),
    ("between", "between"),
]
DIRECTIONS = [("", "(choose)"), ("in", "money in"), ("out", "money out")]
RANGES = {"amount": ("min", "max"), "date": ("from", "to")}
# Where a condition's value is typed, by the condition's field (the text input otherwise).
VALUE_INPUTS = {"amount": "low", "date": "low", "account": "account", "payee_id": "payee",
                "direction": "direction"}  # fmt: skip
# The stored condition, split line or actions behind a row's initial values: what is written
# back when its inputs are left as the page showed them, so a value the inputs can only
# approximate (a tag holding a comma, {"min": null}) survives an unchanged save.
STORED = "stored"
ROWS_PARSED = 100  # rows read from one post at most; the service allows far fewer


@dataclass(frozen=True)
class RuleChoices:
    """What the editor's selects offer: the organisation's categories, accounts and payees."""

    categories: list[Category]
    accounts: list[Account]
    payees: list[Payee]

    def account_options(self, empty: str) -> list[tuple[Any, str]]:
        # Archived accounts stay choosable: a rule written through the API may name one, and
        # editing that rule must not lose it.
        return [("", empty)] + [
            (a.pk, f"{a.name} ({a.currency}){' (archived)' if a.archived else ''}")
            for a in self.accounts
        ]

    def payee_options(self, empty: str) -> list[tuple[Any, str]]:
        return [("", empty)] + [(p.pk, p.name) for p in self.payees]


class ConditionForm(forms.Form):
    """One condition row; the inputs beside ``value`` serve the fields that take an id, a
    direction or a range."""

    field = forms.ChoiceField(choices=CONDITION_FIELDS, initial="description")
    op = forms.ChoiceField(choices=CONDITION_OPS, initial="contains")
    value = forms.CharField(required=False, max_length=500, strip=False)
    low = forms.CharField(
        required=False, max_length=40, label="From",
        widget=forms.TextInput(attrs={"placeholder": "from: -50.00 or 2026-01-31"}),
    )  # fmt: skip
    high = forms.CharField(
        required=False, max_length=40, label="To",
        widget=forms.TextInput(attrs={"placeholder": "to (either may stay empty)"}),
    )  # fmt: skip
    account = forms.TypedChoiceField(required=False, coerce=id_coerce, empty_value=None)
    payee = forms.TypedChoiceField(required=False, coerce=id_coerce, empty_value=None)
    direction = forms.ChoiceField(required=False, choices=DIRECTIONS)

    def __init__(self, *args: Any, choices: RuleChoices, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        set_choices(self, "account", choices.account_options("(choose)"))
        set_choices(self, "payee", choices.payee_options("(choose)"))

    @staticmethod
    def initial_for(condition: dict[str, Any]) -> dict[str, Any]:
        """The row's inputs for a stored condition."""
        name, value = condition.get("field"), condition.get("value")
        row = {"field": name, "op": condition.get("op"), STORED: condition}
        if name in RANGES and isinstance(value, dict):
            low, high = RANGES[name]
            row.update(low=value.get(low) or "", high=value.get(high) or "")
        elif name in VALUE_INPUTS:
            row[VALUE_INPUTS[name]] = _as_text(value)
        else:
            row["value"] = value
        return row

    def condition(self) -> dict[str, Any]:
        """The API's shape of the row; a stored condition left as it was, as stored."""
        if STORED in self.initial and not self.has_changed():
            return dict(self.initial[STORED])
        data = self.cleaned_data
        name: str = data["field"]
        value: Any
        if name in RANGES:
            bounds = zip(RANGES[name], (data["low"], data["high"]), strict=True)
            value = {key: text for key, text in bounds if text}
        elif name in VALUE_INPUTS:
            value = data[VALUE_INPUTS[name]]
        else:
            value = data["value"]
        return {"field": name, "op": data["op"], "value": value}

    def input_for(self, path: list[str]) -> str | None:
        """The input an error on ``conditions.N.<path>`` belongs to (None: the whole row)."""
        if not path:
            return None
        if path[0] != "value":
            return path[0] if path[0] in self.fields else None
        if len(path) > 1:
            return "low" if path[1] in ("min", "from") else "high"
        return VALUE_INPUTS.get(self.cleaned_data.get("field", ""), "value")


class SplitLineForm(forms.Form):
    category = forms.TypedChoiceField(required=False, coerce=id_coerce, empty_value=None)
    percent = forms.CharField(required=False, max_length=20, label="%")

    def __init__(self, *args: Any, choices: RuleChoices, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        set_choices(self, "category", category_choices(choices.categories, "(choose)"))

    def line(self) -> dict[str, Any]:
        """The API's shape of the line; a stored line left as it was (a percent of 25, not
        "25"), as stored."""
        if STORED in self.initial and not self.has_changed():
            return dict(self.initial[STORED])
        return {"category": self.cleaned_data["category"], "percent": self.cleaned_data["percent"]}


class RuleForm(forms.Form):
    """The rule's name and its actions but the split (see ``RuleEditor``)."""

    name = forms.CharField(max_length=120)
    category = forms.TypedChoiceField(required=False, coerce=id_coerce, empty_value=None)
    payee = forms.TypedChoiceField(required=False, coerce=id_coerce, empty_value=None)
    tags = forms.CharField(required=False, max_length=1100, help_text="Comma-separated.")
    notes = forms.CharField(
        required=False, max_length=10_000, strip=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    transfer = forms.TypedChoiceField(
        required=False, coerce=id_coerce, empty_value=None, label="Mark as a transfer to",
        help_text="The row becomes one leg of a transfer to this account (no category then).",
    )  # fmt: skip

    def __init__(self, *args: Any, choices: RuleChoices, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        set_choices(self, "category", category_choices(choices.categories, "(leave as it is)"))
        set_choices(self, "payee", choices.payee_options("(leave as it is)"))
        set_choices(self, "transfer", choices.account_options("(no transfer)"))

    def clean_notes(self) -> str:
        # Browsers send a textarea's line breaks as CRLF; the API's notes use LF.
        return str(self.cleaned_data["notes"]).replace("\r\n", "\n")

    def actions(self) -> dict[str, Any]:
        """The actions but the split; one whose input is as the page showed it is written
        back as stored (tags that hold a comma, notes with CRLF stay as they were)."""
        data = self.cleaned_data
        stored: dict[str, Any] = self.initial.get(STORED, {})
        kept = {k: v for k, v in stored.items() if k in self.fields and k not in self.changed_data}
        actions: dict[str, Any] = {
            key: data[key] for key in ("category", "payee", "transfer") if data[key] is not None
        }
        tags = [t.strip() for t in data["tags"].split(",") if t.strip()]
        if tags:
            actions["tags"] = tags
        if data["notes"].strip():
            actions["notes"] = data["notes"]
        return {**actions, **kept}


ConditionFormSet = forms.formset_factory(
    ConditionForm, extra=1, can_delete=True, max_num=ROWS_PARSED, absolute_max=ROWS_PARSED
)
SplitFormSet = forms.formset_factory(
    SplitLineForm, extra=0, can_delete=True, max_num=ROWS_PARSED, absolute_max=ROWS_PARSED
)


def _kept(formset: "BaseFormSet[Any]") -> list[Any]:
    """The rows that say something (after ``is_valid``): neither marked for removal nor
    blank extra rows."""
    removed = formset.deleted_forms
    return [
        f
        for f in formset.forms
        if f not in removed and (f.has_changed() or f in formset.initial_forms) and f.cleaned_data
    ]


class RuleEditor:
    """The rule form with its condition rows and split lines, read together. Bound to a rule,
    every stored condition and action starts as a row or an input, so saving the page
    unchanged writes the rule back as it was."""

    def __init__(
        self,
        data: QueryDict | None,
        *,
        choices: RuleChoices,
        rule: Rule | None = None,
    ) -> None:
        conditions = [ConditionForm.initial_for(c) for c in rule.conditions] if rule else []
        actions: dict[str, Any] = dict(rule.actions) if rule else {}
        split = [
            {
                "category": _as_text(line.get("category")),
                "percent": str(line.get("percent")),
                STORED: line,
            }
            for line in actions.get("split", [])
        ]
        self.form = RuleForm(data, choices=choices, initial=_form_initial(rule, actions))
        self.conditions = ConditionFormSet(
            data, initial=conditions, prefix="conditions", form_kwargs={"choices": choices}
        )
        self.split = SplitFormSet(
            data, initial=split, prefix="split", form_kwargs={"choices": choices}
        )
        if not split:
            self.split.extra = 2  # the fewest lines a split takes
        self._condition_rows: list[ConditionForm] = []
        self._split_rows: list[SplitLineForm] = []

    def is_valid(self) -> bool:
        return all([self.form.is_valid(), self.conditions.is_valid(), self.split.is_valid()])

    def only_unnamed(self) -> bool:
        """Whether the rule is whole but for its name (enough to count what it would do)."""
        return (
            set(self.form.errors) == {"name"}
            and self.conditions.is_valid()
            and self.split.is_valid()
        )

    def rule(self) -> dict[str, Any]:
        """The API's shape: name, conditions and actions (after ``is_valid``, or
        ``only_unnamed``: the name is empty then)."""
        self._condition_rows = _kept(self.conditions)
        self._split_rows = _kept(self.split)
        actions = self.form.actions()
        if self._split_rows:
            actions["split"] = [row.line() for row in self._split_rows]
        return {
            "name": self.form.cleaned_data.get("name", ""),
            "conditions": [row.condition() for row in self._condition_rows],
            "actions": actions,
        }

    def apply_error(self, exc: KoreError) -> None:
        """Show the service's errors where they belong: ``conditions.1.value`` on the second
        condition's value, ``actions.split`` above the split lines, and so on."""
        if not exc.fields:
            self.form.add_error(None, exc.message)
        for name, errors in exc.fields.items():
            for error in errors:
                self._place(name.split("."), error["message"])

    def _place(self, path: list[str], message: str) -> None:
        head, rest = path[0], path[1:]
        if head == "conditions":
            self._row_error(self.conditions, self._condition_rows, rest, message)
        elif head == "actions" and rest[:1] == ["split"]:
            self._row_error(self.split, self._split_rows, rest[1:], message)
        elif head == "actions" and rest and rest[0] in self.form.fields:
            self.form.add_error(rest[0], message)
        else:
            self.form.add_error(head if head in self.form.fields else None, message)

    @staticmethod
    def _row_error(
        formset: "BaseFormSet[Any]", rows: list[Any], path: list[str], message: str
    ) -> None:
        if not path or not path[0].isdigit() or int(path[0]) >= len(rows):
            formset.non_form_errors().append(message)
            return
        row = rows[int(path[0])]
        if isinstance(row, ConditionForm):
            row.add_error(row.input_for(path[1:]), message)
        else:
            row.add_error(path[1] if path[1:] and path[1] in row.fields else None, message)


def _form_initial(rule: Rule | None, actions: dict[str, Any]) -> dict[str, Any]:
    if rule is None:
        return {}
    return {
        "name": rule.name,
        "category": _as_text(actions.get("category")),
        "payee": _as_text(actions.get("payee")),
        "transfer": _as_text(actions.get("transfer")),
        "tags": ", ".join(actions.get("tags", [])),
        "notes": actions.get("notes", ""),
        STORED: actions,
    }


def _as_text(value: Any) -> Any:
    """A stored id as a select's initial value: the form's coerce reads text, as posted."""
    return str(value) if type(value) is int else value
