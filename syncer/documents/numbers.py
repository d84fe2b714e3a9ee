"""Exact numbers from JSON number texts: the range rules and one bounded memo. Pure.

Both the JSON reader (`exact_json`) and the column coercion `coerce.decimal` read number texts
through here, so a number means the same whichever way it arrived (a JSON number or a string).
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

__all__ = [
    "MAX_EXPONENT",
    "MAX_NUMBER_TEXT",
    "NUMBER",
    "PLAIN_DECIMALS",
    "PLAIN_DECIMALS_MAX",
    "PLAIN_NUMBER",
    "exact_number",
    "remember",
]

MAX_EXPONENT = 1000
"""Numbers beyond 1e±1000 are junk, and PostgreSQL's numeric cannot hold the extreme ones."""

MAX_NUMBER_TEXT = 100
"""Longest number text accepted: no money or volume needs a hundred digits."""

INT_LIMIT = 10 ** (MAX_EXPONENT + 1)
"""Integers are accepted strictly inside ±INT_LIMIT."""

# A JSON number, also with the leading "+", "1." and ".5" spellings Decimal takes; ASCII digits
# only (Decimal alone would accept "1_000", "NaN", "Infinity" and non-ASCII digits).
NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?", re.ASCII)
PLAIN_NUMBER = re.compile(r"-?\d{1,40}(?:\.\d{1,40})?", re.ASCII)
"""The usual number text: `decimal` takes it straight to Decimal (it is surely within range)."""


def exact_number(number_text: str) -> Decimal | None:
    """The Decimal for a JSON number's text, or None when it is out of the accepted range."""
    if len(number_text) > MAX_NUMBER_TEXT:
        return None
    try:
        result = Decimal(number_text)
    except InvalidOperation:  # an exponent too large for Decimal itself
        return None
    return result if abs(result.adjusted()) <= MAX_EXPONENT else None


PLAIN_DECIMALS: dict[str, Decimal] = {}
"""Number texts already read (`decimal`): volumes repeat (a few thousand distinct texts in
hundreds of thousands of values), a lookup costs a tenth of reading. Decimals are immutable,
so sharing one is safe. Only texts `PLAIN_NUMBER` accepted are kept."""
PLAIN_DECIMALS_MAX = 16_384
"""Texts kept at most (~2 MB); the memo is emptied when full."""


def remember(plain_text: str) -> Decimal:
    """The Decimal of a text `PLAIN_NUMBER` accepted, kept in the memo."""
    if len(PLAIN_DECIMALS) >= PLAIN_DECIMALS_MAX:
        PLAIN_DECIMALS.clear()
    number = PLAIN_DECIMALS[plain_text] = Decimal(plain_text)
    return number
