"""Reading one field of a JSON object: its aliases, then the column coercion. Pure.

Each takes the object, the path of the object for error messages (`""` for the top level,
`"location."`, …) and the field's names: the first present with a value other than null or ""
is read (OCPI 2.2 renamed fields; the vendor mixes camelCase with snake_case).
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from syncer.documents import coerce


def pick(obj: dict[str, Any], names: tuple[str, ...]) -> tuple[str, Any]:
    """The first of `names` (a field and its aliases) present with a value other than null or ""."""
    for name in names:
        value = obj.get(name)
        if value is not None and value != "":
            return name, value
    return names[0], None


def text(obj: dict[str, Any], at: str, *names: str) -> str | None:
    name, value = pick(obj, names)
    return coerce.text(value, at + name)


def key(obj: dict[str, Any], at: str, *names: str) -> str | None:
    name, value = pick(obj, names)
    return coerce.key(value, at + name)


def number(obj: dict[str, Any], at: str, *names: str) -> Decimal | None:
    name, value = pick(obj, names)
    return coerce.decimal(value, at + name)


def time(obj: dict[str, Any], at: str, *names: str) -> datetime | None:
    name, value = pick(obj, names)
    return coerce.timestamp(value, at + name)


def flag(obj: dict[str, Any], at: str, name: str) -> bool | None:
    return coerce.boolean(obj.get(name), at + name)


def sub(obj: dict[str, Any], at: str, name: str) -> dict[str, Any]:
    return coerce.mapping(obj.get(name), at + name) or {}
