"""The location embedded in a session, with its EVSEs and connectors, as rows. Pure.

`read_location` is the reader; `LocationMemo` its hot twin for the stream of sessions: every
session at a location embeds the same object, so a location read once is looked up by its exact
JSON text afterwards (a property test holds the two to the same result).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from syncer.documents import coerce, fields
from syncer.documents.exact_json import canonical_json
from syncer.documents.rows import ConnectorRow, EvseRow, LocationRow
from syncer.documents.time_zones import iana_time_zone

__all__ = ["EvseDocument", "LocationDocument", "LocationMemo", "connector_used", "read_location"]


@dataclass(frozen=True, slots=True)
class EvseDocument:
    row: EvseRow
    connectors: tuple[ConnectorRow, ...]
    """As received: duplicates are for `flatten` to resolve."""


@dataclass(frozen=True, slots=True)
class LocationDocument:
    row: LocationRow
    evses: tuple[EvseDocument, ...]
    """As received: duplicates are for `flatten` to resolve."""


def read_location(loc: dict[str, Any], session_location_id: str | None) -> LocationDocument | None:
    at = "location."
    location_id = fields.key(loc, at, "location_id") or session_location_id
    if location_id is None:
        return None
    version = fields.time(loc, at, "last_modified_date", "last_updated", "created_date")
    time_zone = fields.text(loc, at, "time_zone")
    coordinates = fields.sub(loc, at, "coordinates")
    operator = fields.sub(loc, at, "operator")
    opening = fields.sub(loc, at, "opening_times")
    row = LocationRow(
        location_id=location_id,
        gateway_id=fields.key(loc, at, "id"),
        name=fields.text(loc, at, "name"),
        address=fields.text(loc, at, "address"),
        city=fields.text(loc, at, "city"),
        postal_code=fields.text(loc, at, "postal_code"),
        country=fields.text(loc, at, "country"),
        country_code=fields.text(loc, at, "country_code"),
        party_id=fields.text(loc, at, "party_id"),
        type=fields.text(loc, at, "type"),
        operator_name=fields.text(operator, at + "operator.", "name"),
        operator_website=fields.text(operator, at + "operator.", "website"),
        cpo_id=fields.text(loc, at, "cpo_id"),
        cpo_resource_id=fields.text(loc, at, "cpo_resource_id"),
        time_zone=time_zone,
        latitude=fields.number(coordinates, at + "coordinates.", "latitude"),
        longitude=fields.number(coordinates, at + "coordinates.", "longitude"),
        rating=fields.number(loc, at, "rating"),
        twentyfourseven=fields.flag(opening, at + "opening_times.", "twentyfourseven"),
        charging_when_closed=fields.flag(loc, at, "charging_when_closed"),
        publish=fields.flag(loc, at, "publish"),
        created_date=fields.time(loc, at, "created_date"),
        last_modified_date=version,
        time_zone_iana=iana_time_zone(time_zone),
    )
    evses = []
    for i, raw in enumerate(coerce.items(loc.get("evses"), at + "evses")):
        evse = coerce.mapping(raw, f"{at}evses[{i}]")
        read = None if evse is None else _evse(evse, f"{at}evses[{i}].", location_id, version)
        if read is not None:
            evses.append(read)
    return LocationDocument(row, tuple(evses))


def connector_used(
    location: LocationDocument | None, evse_uid: str | None, vendor_ref: str | None
) -> str | None:
    """The id of the connector a session used, when its embedded location says so unambiguously.

    OCPI 2.1.1: the location embedded in a session holds "only the relevant EVSE and connector".
    The EVSE is the one whose uid is the session's `evse_uid` (no `evse_uid`, or no such EVSE:
    None, as `connectors` is keyed by the EVSE too). Its connector is the one whose id is the
    session's connector reference (OCPI 2.2's `connector_id`), else its only connector; several
    and none matching, or none: None. Never a guess: a wrong join is worse than no join.
    Duplicated uids and ids resolve as `flatten` does (the last one wins)."""
    if location is None or evse_uid is None:
        return None
    evse = {e.row.uid: e for e in location.evses}.get(evse_uid)
    if evse is None:
        return None
    ids = {c.id for c in evse.connectors}
    if vendor_ref is not None and vendor_ref in ids:
        return vendor_ref
    return next(iter(ids)) if len(ids) == 1 else None


def _evse(
    evse: dict[str, Any], at: str, location_id: str, default_version: datetime | None
) -> EvseDocument | None:
    uid = fields.key(evse, at, "uid", "id")
    if uid is None:
        return None
    version = fields.time(evse, at, "last_updated", "last_modified_date") or default_version
    coordinates = fields.sub(evse, at, "coordinates")
    row = EvseRow(
        location_id=location_id,
        uid=uid,
        gateway_id=fields.key(evse, at, "id"),
        evse_id=fields.text(evse, at, "evse_id"),
        status=fields.text(evse, at, "status"),
        floor_level=fields.text(evse, at, "floor_level"),
        physical_reference=fields.text(evse, at, "physical_reference"),
        capabilities=coerce.text_list(evse.get("capabilities"), at + "capabilities"),
        latitude=fields.number(coordinates, at + "coordinates.", "latitude"),
        longitude=fields.number(coordinates, at + "coordinates.", "longitude"),
        last_updated=version,
    )
    connectors = []
    for i, raw in enumerate(coerce.items(evse.get("connectors"), at + "connectors")):
        connector = coerce.mapping(raw, f"{at}connectors[{i}]")
        read = None if connector is None else _connector(connector, f"{at}connectors[{i}].", row)
        if read is not None:
            connectors.append(read)
    return EvseDocument(row, tuple(connectors))


def _connector(connector: dict[str, Any], at: str, evse: EvseRow) -> ConnectorRow | None:
    connector_id = fields.key(connector, at, "id")
    if connector_id is None:
        return None
    return ConnectorRow(
        location_id=evse.location_id,
        evse_uid=evse.uid,
        id=connector_id,
        standard=fields.text(connector, at, "standard"),
        format=fields.text(connector, at, "format"),
        power_type=fields.text(connector, at, "power_type"),
        tariff_id=fields.text(connector, at, "tariff_id"),
        voltage=fields.number(connector, at, "voltage", "max_voltage"),
        amperage=fields.number(connector, at, "amperage", "max_amperage"),
        max_electric_power=fields.number(connector, at, "max_electric_power", "maxElectricPower"),
        last_updated=fields.time(connector, at, "last_updated", "last_modified_date") or evse.last_updated,
    )


class LocationMemo:
    """Locations already read, by their JSON text: every session at a location embeds the same
    object (a read costs many times writing it out as a key: docs/benchmark.md). Reading is a
    pure function of that text (every coercion sees a value as its text), so a hit is the very
    result a read would give. Bounded by the bytes of its keys; cleared when full."""

    def __init__(self, max_key_bytes: int) -> None:
        self.max_key_bytes = max_key_bytes
        self._found: dict[tuple[bytes, str | None], LocationDocument | None] = {}
        self._key_bytes = 0

    def read(self, loc: dict[str, Any], session_location_id: str | None) -> LocationDocument | None:
        key = (canonical_json(loc), session_location_id)  # any parsed value has one
        try:
            return self._found[key]
        except KeyError:
            pass
        found = read_location(loc, session_location_id)  # a DocumentError is not kept
        if self._key_bytes + len(key[0]) > self.max_key_bytes:
            self._found.clear()
            self._key_bytes = 0
        self._found[key] = found
        self._key_bytes += len(key[0])
        return found
