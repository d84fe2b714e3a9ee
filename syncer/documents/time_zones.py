"""A location's `time_zone` as sent, normalised to an IANA name (or None). Pure.

The gateway mixes IANA names (`Asia/Kolkata`) with abbreviations (`IST`) and empty strings.
PostgreSQL would read `IST` as Israel and `CET` as a fixed offset, so the warehouse keeps the
value as sent (`locations.time_zone`) and this normalised name beside it (`time_zone_iana`):

1. Spaces around the value are ignored; an empty value is None.
2. An abbreviation in `ABBREVIATIONS` becomes its zone. This table is what the vendor means
   (`IST` is India Standard Time for this operator, not Israel or Ireland); it is checked
   before the IANA names because the tz database has legacy zones named like abbreviations
   (`CET`, `EST`, `MST`) that keep one fixed rule, not the region's daylight saving.
3. Otherwise an IANA zone name known to the tz database, in its canonical spelling (matched
   without regard to case, as PostgreSQL matches them).
4. Anything else (unknown abbreviations, ambiguous ones such as `CST`, offsets like `+05:30`): None.

The tz database is the system's, else the pinned `tzdata` package's (zoneinfo's own fallback).

`local_time` converts a UTC instant to the wall-clock time of such a zone (naive: it is a
local reading, not an instant).
"""

from __future__ import annotations

from datetime import datetime
from functools import cache
from zoneinfo import ZoneInfo, available_timezones

__all__ = ["ABBREVIATIONS", "iana_time_zone", "local_time"]

# fmt: off
ABBREVIATIONS: dict[str, str] = {
    "IST": "Asia/Kolkata",          # India Standard Time (this vendor's meaning)
    "UTC": "UTC", "GMT": "UTC", "Z": "UTC",
    "WET": "Europe/Lisbon", "WEST": "Europe/Lisbon",
    "BST": "Europe/London",
    "CET": "Europe/Paris", "CEST": "Europe/Paris",
    "EET": "Europe/Athens", "EEST": "Europe/Athens",
    "MSK": "Europe/Moscow",
    "GST": "Asia/Dubai",            # Gulf Standard Time
    "PKT": "Asia/Karachi",
    "NPT": "Asia/Kathmandu",
    "ICT": "Asia/Bangkok",
    "WIB": "Asia/Jakarta",
    "SGT": "Asia/Singapore",
    "HKT": "Asia/Hong_Kong",
    "JST": "Asia/Tokyo",
    "KST": "Asia/Seoul",
    "AEST": "Australia/Sydney", "AEDT": "Australia/Sydney",
    "NZST": "Pacific/Auckland", "NZDT": "Pacific/Auckland",
    "EST": "America/New_York", "EDT": "America/New_York",
    "PST": "America/Los_Angeles", "PDT": "America/Los_Angeles",
    "MDT": "America/Denver",
}
# fmt: on
"""Abbreviations as this vendor sends them -> IANA zone (docs/warehouse.md shows the table).
Ambiguous abbreviations (`CST`: China or US Central; `AST`; `MST`: US Mountain with or without
daylight saving) are deliberately absent: they normalise to None."""


@cache
def _known() -> dict[str, str]:
    return {name.lower(): name for name in available_timezones()}


@cache
def iana_time_zone(sent: str | None) -> str | None:
    """The IANA zone name a location's `time_zone` means, or None when unknown."""
    if sent is None:
        return None
    text = sent.strip()
    if not text:
        return None
    mapped = ABBREVIATIONS.get(text.upper())
    if mapped is not None:
        return _known().get(mapped.lower())  # None only without a tz database at all
    if "/" not in text and text.upper() == text:
        return None  # an abbreviation not in the table (the tz database's legacy ones included)
    return _known().get(text.lower())


@cache
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def local_time(instant: datetime | None, zone: str | None) -> datetime | None:
    """`instant` (aware) as the naive wall-clock time in IANA `zone`; None when either is None."""
    if instant is None or zone is None:
        return None
    return instant.astimezone(_zone(zone)).replace(tzinfo=None)
