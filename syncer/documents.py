"""Parse the gateway's HTTP body into a typed, validated `SessionDocument`.

All quirk handling lives here (DOMAIN.md): the JSON is decoded with exact decimals, then each
field is read through the small coercions in `coerce.py`. Key ids come out lower case,
timestamps aware UTC, numbers exact `Decimal`; unknown enum values stay text and unknown
fields stay in `data` only. A body that cannot be understood raises `DocumentError` with a
`kind` from `ERROR_KINDS` and a short message (never the body):

    not_utf8             the bytes are not UTF-8
    invalid_json         not JSON at all (truncated, an HTML error page, garbage)
    non_finite_number    NaN, Infinity or -Infinity
    number_out_of_range  a fraction over 100 characters or beyond 1e±1000, an integer over 4300 digits
    duplicate_key        an object with the same key twice
    too_deep             nested deeper than 64 levels
    bad_text             a string with NUL or an unpaired surrogate (PostgreSQL refuses both)
    not_an_object        the body is not a JSON object
    gateway_status       the envelope's status_code is present and not 1000
    no_data              `data` is null, absent or not an object
    missing_id           `data.id` is absent or empty
    id_mismatch          `data.id` is not the requested id (compared case-insensitively)
    bad_last_updated     no version: `last_updated` (else `last_modified_date`) absent or unreadable
    bad_field            another field's value cannot mean anything; the message names it
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from syncer import coerce, copy_text
from syncer.coerce import dumps_exact, dumps_parsed
from syncer.errors import DocumentError
from syncer.gateway_status import check_status
from syncer.rows import ConnectorRow, EvseRow, LocationRow, PeriodRow, PeriodRows, SessionRow

__all__ = [
    "ERROR_KINDS",
    "EvseDocument",
    "LocationDocument",
    "SessionDocument",
    "dumps_exact",
    "dumps_parsed",
    "parse_body",
    "parse_raw",
]

SUCCESS = 1000

# fmt: off
ERROR_KINDS = frozenset({
    "not_utf8", "invalid_json", "non_finite_number", "number_out_of_range", "duplicate_key", "too_deep",
    "bad_text", "not_an_object", "gateway_status", "no_data", "missing_id", "id_mismatch",
    "bad_last_updated", "bad_field",
})
# fmt: on
"""Every `DocumentError.kind` this module raises (for dashboards and tests)."""


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


@dataclass(frozen=True, slots=True)
class SessionDocument:
    """A session read and normalised; the typed fields are carried in the row classes they fill."""

    session: SessionRow
    periods: tuple[PeriodRow, ...]
    """`charging_periods` in long format: a row per dimension, keyed by the period's and the
    dimension's positions as received; a period without dimensions keeps one row with null
    type and volume (so its start time is not lost)."""
    location: LocationDocument | None
    data: dict[str, Any] = field(repr=False, hash=False)
    """The `data` object as parsed (numbers as `Decimal`), unknown fields included."""

    @property
    def id(self) -> str:
        return self.session.id

    @property
    def last_updated(self) -> datetime:
        """The version: `last_updated`, else (when absent, null or "") `last_modified_date`."""
        return self.session.last_updated


def parse_body(body: bytes, *, requested_id: str) -> SessionDocument:
    """The session inside a gateway response body `{status_code, status_message, timestamp, data}`."""
    envelope = coerce.loads_exact(body)
    if not isinstance(envelope, dict):
        raise DocumentError(f"body is {coerce.preview(envelope)}, not an object", kind="not_an_object")
    status = envelope.get("status_code")
    if status is not None:  # 2004 -> retry, 2002 -> credentials, 2003 -> not found, other -> failed
        check_status(status, envelope.get("status_message"))
    data = envelope.get("data")
    if not isinstance(data, dict):
        raise DocumentError(f"envelope data is {coerce.preview(data)}, not an object", kind="no_data")
    return _session(data, requested_id)


def parse_raw(document: str | bytes, *, requested_id: str) -> SessionDocument:
    """The session from a stored `raw_sessions.document` (the `data` object's JSON text)."""
    # surrogatepass: a lone surrogate in the text then fails as not_utf8, like any other bad byte.
    raw = document.encode("utf-8", "surrogatepass") if isinstance(document, str) else document
    data = coerce.loads_exact(raw)
    if not isinstance(data, dict):
        raise DocumentError(f"document is {coerce.preview(data)}, not an object", kind="no_data")
    return _session(data, requested_id)


# --- fields ----------------------------------------------------------------------------------


def _pick(obj: dict[str, Any], names: tuple[str, ...]) -> tuple[str, Any]:
    """The first of `names` (a field and its aliases) present with a value other than null or ""."""
    for name in names:
        value = obj.get(name)
        if value is not None and value != "":
            return name, value
    return names[0], None


def _text(obj: dict[str, Any], at: str, *names: str) -> str | None:
    name, value = _pick(obj, names)
    return coerce.text(value, at + name)


def _key(obj: dict[str, Any], at: str, *names: str) -> str | None:
    name, value = _pick(obj, names)
    return coerce.key(value, at + name)


def _number_field(obj: dict[str, Any], at: str, *names: str) -> Decimal | None:
    name, value = _pick(obj, names)
    return coerce.decimal(value, at + name)


def _time(obj: dict[str, Any], at: str, *names: str) -> datetime | None:
    name, value = _pick(obj, names)
    return coerce.timestamp(value, at + name)


def _flag(obj: dict[str, Any], at: str, name: str) -> bool | None:
    return coerce.boolean(obj.get(name), at + name)


def _sub(obj: dict[str, Any], at: str, name: str) -> dict[str, Any]:
    return coerce.mapping(obj.get(name), at + name) or {}


# --- the document ----------------------------------------------------------------------------


def _session(data: dict[str, Any], requested_id: str) -> SessionDocument:
    session_id = _key(data, "", "id")
    if session_id is None:
        raise DocumentError("data has no id", kind="missing_id")
    if session_id != requested_id.lower():
        raise DocumentError(
            f"data id {coerce.preview(session_id)} is not the requested {coerce.preview(requested_id)}",
            kind="id_mismatch",
        )
    version = _version(data)
    total = data.get("total_cost")
    if isinstance(total, dict):  # OCPI 2.2 Price object
        total_cost = coerce.decimal(total.get("excl_vat"), "total_cost.excl_vat")
        total_cost_incl_vat = coerce.decimal(total.get("incl_vat"), "total_cost.incl_vat")
    else:
        total_cost, total_cost_incl_vat = coerce.decimal(total, "total_cost"), None
    auth_id = _text(data, "", "auth_id")
    if auth_id is None:  # OCPI 2.2 moved it into the token
        auth_id = _text(_sub(data, "", "cdr_token"), "cdr_token.", "uid")
    location_id = _key(data, "", "location_id")
    location = _location(data, location_id)
    session = SessionRow(
        id=session_id,
        last_updated=version,
        cpo_session_id=_text(data, "", "session_id"),
        country_code=_text(data, "", "country_code"),
        party_id=_text(data, "", "party_id"),
        location_id=location.row.location_id if location_id is None and location else location_id,
        evse_uid=_key(data, "", "evseId", "evse_uid"),
        connector_id=_key(data, "", "connectorId", "connector_id"),
        cpo_id=_text(data, "", "cpoId", "cpo_id"),
        auth_id=auth_id,
        auth_method=_text(data, "", "auth_method"),
        currency=_text(data, "", "currency"),
        status=_text(data, "", "status"),
        start_datetime=_time(data, "", "start_datetime", "start_date_time"),
        end_datetime=_time(data, "", "end_datetime", "end_date_time"),
        created_date=_time(data, "", "created_date"),
        last_modified_date=_time(data, "", "last_modified_date"),
        kwh=_number_field(data, "", "kwh"),
        total_cost=total_cost,
        total_cost_incl_vat=total_cost_incl_vat,
    )
    return SessionDocument(session, _periods(data, session_id), location, data)


def _version(data: dict[str, Any]) -> datetime:
    # `last_updated` when present, else `last_modified_date`. A present but unreadable one is an
    # error, not a cue to fall back: the other field may be older and make the update look stale.
    name, value = _pick(data, ("last_updated", "last_modified_date"))
    if value is None:
        raise DocumentError("neither last_updated nor last_modified_date is present", kind="bad_last_updated")
    try:
        version = coerce.timestamp(value, name)
    except DocumentError:
        version = None
    if version is None:  # unreadable, or only spaces
        raise DocumentError(f"{name} is not a timestamp: {coerce.preview(value)}", kind="bad_last_updated")
    return version


_START_NAMES = ("start_date_time", "start_datetime")


def _periods(data: dict[str, Any], session_id: str) -> PeriodRows:
    """The period rows, carrying the same as COPY text lines."""
    raw_periods = coerce.items(data.get("charging_periods"), "charging_periods")
    try:
        return _periods_quietly(raw_periods, session_id)
    except DocumentError:
        _periods_naming_fields(raw_periods, session_id)  # fails the same way, naming the field
        raise


def _periods_quietly(raw_periods: list[Any], session_id: str) -> PeriodRows:
    """`_periods_naming_fields` without building a field path per value, and with the common
    types checked inline: the hot loop (about a hundred values a document). Same rows, same
    failures; only the messages are blank. Also writes the rows' COPY text lines, taking a
    start's or a volume's text as received when it is plain (`copy_text`)."""
    mapping, items, text, decimal, timestamp = (
        coerce.mapping,
        coerce.items,
        coerce.text,
        coerce.decimal,
        coerce.timestamp,
    )
    known = coerce.PLAIN_DECIMALS  # `decimal`'s own memo, looked up here first: no call on a hit
    new_row = tuple.__new__  # a named tuple's own __new__ is Python code: ~3x slower
    rows: list[PeriodRow] = []
    lines: list[str] = []
    null, escape = copy_text.NULL, copy_text.escape
    kinds: dict[str | None, str] = {None: null}
    session_text = escape(session_id)
    for i, raw in enumerate(raw_periods):
        period = raw if type(raw) is dict else mapping(raw, "")
        if period is None:
            continue
        dimensions = period.get("dimensions")
        if type(dimensions) is not list:
            dimensions = items(dimensions, "")
        received_start = _pick(period, _START_NAMES)[1]
        start = timestamp(received_start, "")
        start_text = null if start is None else copy_text.exact_time_text(received_start, start)
        first = len(rows)
        for j, raw_dimension in enumerate(dimensions):
            dimension = raw_dimension if type(raw_dimension) is dict else mapping(raw_dimension, "")
            if dimension is None:
                continue
            kind = dimension.get("type")
            if type(kind) is not str or not kind:
                kind = text(None if kind == "" else kind, "")
            volume: Any = dimension.get("volume")
            number = known.get(volume) if type(volume) is str else None
            if number is None:
                number = decimal(None if volume == "" else volume, "")
                volume_text = null if number is None else str(number)
            else:
                volume_text = volume  # a plain number text (the memo holds no other)
            rows.append(new_row(PeriodRow, (session_id, i, j, start, kind, number)))
            kind_text = kinds.get(kind)
            if kind_text is None:
                kind_text = kinds[kind] = escape(kind)  # type: ignore[arg-type]
            lines.append(f"{session_text}\t{i}\t{j}\t{start_text}\t{kind_text}\t{volume_text}\n")
        if len(rows) == first:
            rows.append(PeriodRow(session_id, i, 0, start))
            lines.append(f"{session_text}\t{i}\t0\t{start_text}\t{null}\t{null}\n")
    result = PeriodRows(rows)
    result.copy_lines = "".join(lines)
    return result


def _periods_naming_fields(raw_periods: list[Any], session_id: str) -> tuple[PeriodRow, ...]:
    rows: list[PeriodRow] = []
    for i, raw in enumerate(raw_periods):
        at = f"charging_periods[{i}]"
        period = coerce.mapping(raw, at)
        if period is None:
            continue
        dimensions = []
        for j, raw_dimension in enumerate(coerce.items(period.get("dimensions"), at + ".dimensions")):
            dim_at = f"{at}.dimensions[{j}]"
            dimension = coerce.mapping(raw_dimension, dim_at)
            if dimension is not None:
                kind = _text(dimension, dim_at + ".", "type")
                dimensions.append((j, kind, _number_field(dimension, dim_at + ".", "volume")))
        start = _time(period, at + ".", "start_date_time", "start_datetime")
        rows.extend(PeriodRow(session_id, i, j, start, kind, volume) for j, kind, volume in dimensions)
        if not dimensions:
            rows.append(PeriodRow(session_id, i, 0, start))
    return tuple(rows)


class _LocationMemo:
    """Locations already read, by their JSON text: every session at a location embeds the same
    object (~70 µs to read, ~5 µs to write out as a key). Reading is a pure function of that
    text (every coercion sees a value as its text), so a hit is the very result a read would
    give. Bounded by the bytes of its keys; cleared when full."""

    def __init__(self, max_key_bytes: int) -> None:
        self.max_key_bytes = max_key_bytes
        self._found: dict[tuple[bytes, str | None], LocationDocument | None] = {}
        self._key_bytes = 0

    def read(self, loc: dict[str, Any], session_location_id: str | None) -> LocationDocument | None:
        key = (coerce.canonical_json(loc), session_location_id)  # any parsed value has one
        try:
            return self._found[key]
        except KeyError:
            pass
        found = _read_location(loc, session_location_id)  # a DocumentError is not kept
        if self._key_bytes + len(key[0]) > self.max_key_bytes:
            self._found.clear()
            self._key_bytes = 0
        self._found[key] = found
        self._key_bytes += len(key[0])
        return found


_LOCATIONS = _LocationMemo(max_key_bytes=4 * 1024 * 1024)


def _location(data: dict[str, Any], session_location_id: str | None) -> LocationDocument | None:
    loc = coerce.mapping(data.get("location"), "location")
    if loc is None:
        return None
    return _LOCATIONS.read(loc, session_location_id)


def _read_location(loc: dict[str, Any], session_location_id: str | None) -> LocationDocument | None:
    at = "location."
    location_id = _key(loc, at, "location_id") or session_location_id
    if location_id is None:
        return None
    version = _time(loc, at, "last_modified_date", "last_updated", "created_date")
    coordinates = _sub(loc, at, "coordinates")
    operator = _sub(loc, at, "operator")
    row = LocationRow(
        location_id=location_id,
        gateway_id=_key(loc, at, "id"),
        name=_text(loc, at, "name"),
        address=_text(loc, at, "address"),
        city=_text(loc, at, "city"),
        postal_code=_text(loc, at, "postal_code"),
        country=_text(loc, at, "country"),
        country_code=_text(loc, at, "country_code"),
        party_id=_text(loc, at, "party_id"),
        type=_text(loc, at, "type"),
        operator_name=_text(operator, at + "operator.", "name"),
        operator_website=_text(operator, at + "operator.", "website"),
        cpo_id=_text(loc, at, "cpo_id"),
        cpo_resource_id=_text(loc, at, "cpo_resource_id"),
        time_zone=_text(loc, at, "time_zone"),
        latitude=_number_field(coordinates, at + "coordinates.", "latitude"),
        longitude=_number_field(coordinates, at + "coordinates.", "longitude"),
        rating=_number_field(loc, at, "rating"),
        twentyfourseven=_flag(_sub(loc, at, "opening_times"), at + "opening_times.", "twentyfourseven"),
        charging_when_closed=_flag(loc, at, "charging_when_closed"),
        publish=_flag(loc, at, "publish"),
        created_date=_time(loc, at, "created_date"),
        last_modified_date=version,
    )
    evses = []
    for i, raw in enumerate(coerce.items(loc.get("evses"), at + "evses")):
        evse = coerce.mapping(raw, f"{at}evses[{i}]")
        read = None if evse is None else _evse(evse, f"{at}evses[{i}].", location_id, version)
        if read is not None:
            evses.append(read)
    return LocationDocument(row, tuple(evses))


def _evse(
    evse: dict[str, Any], at: str, location_id: str, default_version: datetime | None
) -> EvseDocument | None:
    uid = _key(evse, at, "uid", "id")
    if uid is None:
        return None
    version = _time(evse, at, "last_updated", "last_modified_date") or default_version
    coordinates = _sub(evse, at, "coordinates")
    row = EvseRow(
        location_id=location_id,
        uid=uid,
        gateway_id=_key(evse, at, "id"),
        evse_id=_text(evse, at, "evse_id"),
        status=_text(evse, at, "status"),
        floor_level=_text(evse, at, "floor_level"),
        physical_reference=_text(evse, at, "physical_reference"),
        capabilities=coerce.text_list(evse.get("capabilities"), at + "capabilities"),
        latitude=_number_field(coordinates, at + "coordinates.", "latitude"),
        longitude=_number_field(coordinates, at + "coordinates.", "longitude"),
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
    connector_id = _key(connector, at, "id")
    if connector_id is None:
        return None
    return ConnectorRow(
        location_id=evse.location_id,
        evse_uid=evse.uid,
        id=connector_id,
        standard=_text(connector, at, "standard"),
        format=_text(connector, at, "format"),
        power_type=_text(connector, at, "power_type"),
        tariff_id=_text(connector, at, "tariff_id"),
        voltage=_number_field(connector, at, "voltage", "max_voltage"),
        amperage=_number_field(connector, at, "amperage", "max_amperage"),
        max_electric_power=_number_field(connector, at, "max_electric_power", "maxElectricPower"),
        last_updated=_time(connector, at, "last_updated", "last_modified_date") or evse.last_updated,
    )
