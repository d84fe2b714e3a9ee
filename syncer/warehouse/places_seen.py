"""Which locations, EVSEs and connectors this process has already committed, and at what version.

The guarded upserts write a place only when its version is newer; an incoming NULL version
never overwrites. So once a place is committed at version v, every later copy of it at v or
older, or without a version, changes nothing: the fast write path does not stage it again.
Every session at a location carries that location with its EVSEs and connectors (about seven
rows a session in the sandbox), so after the first batches almost none are staged.

Only what a committed transaction staged is remembered, `force` bypasses it, and the syncer
never deletes a place (deleting one by hand during a run is undone only by the next run).
Pure bookkeeping: no I/O. Bounded; emptied when full.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from operator import attrgetter
from typing import Any

from syncer.warehouse.upsert import CONNECTOR_KEY, EVSE_KEY, LOCATION_KEY

__all__ = ["PlacesSeen"]

_TABLES = {
    "locations": (attrgetter(*LOCATION_KEY), attrgetter("last_modified_date")),
    "evses": (attrgetter(*EVSE_KEY), attrgetter("last_updated")),
    "connectors": (attrgetter(*CONNECTOR_KEY), attrgetter("last_updated")),
}
_PRESENT: Any = None
"""The version remembered for a place committed without one: it exists, its version unknown."""


class PlacesSeen:
    def __init__(self, max_places: int = 200_000) -> None:
        self.max_places = max_places
        self._versions: dict[tuple[str, Any], datetime | None] = {}

    def unseen(self, table: str, rows: Sequence[Any]) -> list[Any]:
        """The rows that could still change `table`."""
        key_of, version_of = _TABLES[table]
        versions = self._versions
        fresh = []
        for row in rows:
            key = (table, key_of(row))
            if key not in versions:
                fresh.append(row)
                continue
            version, known = version_of(row), versions[key]
            if version is not None and (known is _PRESENT or version > known):
                fresh.append(row)
        return fresh

    def remember(self, staged: Iterable[tuple[str, Sequence[Any]]]) -> None:
        """Call after the transaction that staged these rows has committed."""
        versions = self._versions
        for table, rows in staged:
            key_of, version_of = _TABLES[table]
            if len(versions) + len(rows) > self.max_places:
                versions.clear()
            for row in rows:
                key, version = (table, key_of(row)), version_of(row)
                known = versions.get(key, _PRESENT)
                if version is not None and (known is _PRESENT or version > known):
                    versions[key] = version
                elif key not in versions:
                    versions[key] = _PRESENT
