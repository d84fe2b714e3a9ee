"""Deterministic building blocks: stable hashes, seeded streams, exact number and time literals.

Nothing here uses ``hash()`` (salted per process) or floating-point arithmetic on values that
end up in a document: numbers are built from integers so their JSON literal is exact.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import TypeVar

__all__ = [
    "TIME_STYLES",
    "below",
    "decimal_number",
    "decimal_text",
    "format_time",
    "hex_id",
    "pick",
    "rng_for",
    "stable_fraction",
    "stable_hash",
]

T = TypeVar("T")
_POW10: list[int] = [10**n for n in range(19)]

TIME_STYLES = ("+00:00", "Z", "naive", "+05:30", "-03:00")
"""How a timestamp is written: UTC offset, Zulu, no zone (UTC implied), or a non-zero offset."""


def stable_hash(*parts: object) -> int:
    """A 64-bit hash of ``parts`` that is the same in every process and on every machine."""
    text = "\x1f".join(str(part) for part in parts)
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "big")


def stable_fraction(*parts: object) -> float:
    """A number in [0, 1) drawn from ``stable_hash(*parts)``."""
    return stable_hash(*parts) / 2**64


def rng_for(*parts: object) -> random.Random:
    """A random stream seeded from ``stable_hash(*parts)``."""
    return random.Random(stable_hash(*parts))


def below(rng: random.Random, n: int) -> int:
    """A number in [0, n): cheaper than ``randrange`` and just as deterministic."""
    return int(rng.random() * n)


def pick(rng: random.Random, options: Sequence[T]) -> T:
    """One of ``options``: cheaper than ``choice``."""
    return options[int(rng.random() * len(options))]


def hex_id(rng: random.Random, digits: int = 32) -> str:
    return f"{rng.getrandbits(4 * digits):0{digits}x}"


def decimal_text(units: int, places: int) -> str:
    """``units`` scaled by ``10**-places`` as an exact decimal string: (6, 3) -> ``"0.006"``."""
    sign = "-" if units < 0 else ""
    whole, frac = divmod(abs(units), _POW10[places])
    return f"{sign}{whole}.{frac:0{places}d}" if places else f"{sign}{whole}"


def decimal_number(units: int, places: int) -> float:
    """``units`` scaled by ``10**-places`` as a float whose JSON literal is that exact decimal.

    A correctly rounded division yields the double nearest the decimal, and ``repr`` (which
    ``json`` uses) prints the shortest text that reads back as that double, i.e. the decimal
    itself (at most 15 significant digits). Magnitudes below 1e-4 would print in exponent form,
    so they are rounded away from zero to 0.0001.
    """
    smallest = _POW10[max(places - 4, 0)]
    if units and abs(units) < smallest:
        units = smallest if units > 0 else -smallest
    return units / _POW10[places]


def format_time(instant: datetime, style: str) -> str:
    """A UTC ``instant`` (naive = UTC, or aware UTC) with milliseconds, in one of :data:`TIME_STYLES`."""
    wall = instant if instant.tzinfo is None else instant.replace(tzinfo=None)
    if style == "naive":
        return wall.isoformat(timespec="milliseconds")
    if style in ("+00:00", "Z"):
        return wall.isoformat(timespec="milliseconds") + style
    return (wall + _OFFSETS[style]).isoformat(timespec="milliseconds") + style


_OFFSETS = {
    style: timedelta(hours=int(style[1:3]), minutes=int(style[4:6])) * (1 if style[0] == "+" else -1)
    for style in TIME_STYLES
    if style[0] in "+-"
}
