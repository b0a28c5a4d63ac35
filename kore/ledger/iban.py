"""Account identifiers as banks print them: IBANs (ISO 13616) and plain account numbers."""

import re

_IBAN = re.compile(r"[A-Z]{2}[0-9]{2}[A-Z0-9]{11,30}")


def account_ref_normalise(text: str) -> str:
    """An account number or IBAN without spaces, dashes or dots, in capitals: how imports
    compare the account a statement names with the ones Kore keeps."""
    return re.sub(r"[\s.\-/]", "", text).upper()


def iban_check(text: str) -> str:
    """The IBAN in its electronic form (``DE89370400440532013000``); ``ValueError`` with a
    message for the user when it is not one (shape, length or check digits)."""
    value = account_ref_normalise(text)
    if not _IBAN.fullmatch(value):
        raise ValueError(
            "Not an IBAN: two letters, two check digits, then 11 to 30 letters or digits."
        )
    digits = "".join(str(int(ch, 36)) for ch in value[4:] + value[:4])
    if int(digits) % 97 != 1:
        raise ValueError("Not an IBAN: its check digits do not match (a typing error?).")
    return value
