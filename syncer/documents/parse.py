"""Parse the gateway's HTTP body into a typed, validated `SessionDocument`.

All quirk handling lives here (docs/gateway.md): the JSON is decoded with exact decimals, then each
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
from typing import Any

from syncer.documents import coerce, fields
from syncer.documents.envelope import check_status
from syncer.documents.exact_json import dumps_exact, dumps_parsed, loads_exact
from syncer.documents.locations import LocationDocument, LocationMemo, connector_used
from syncer.documents.periods import read_periods
from syncer.documents.rows import PeriodRow, SessionRow
from syncer.documents.time_zones import local_time
from syncer.errors import DocumentError

__all__ = [
    "ERROR_KINDS",
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
    envelope = loads_exact(body)
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
    data = loads_exact(raw)
    if not isinstance(data, dict):
        raise DocumentError(f"document is {coerce.preview(data)}, not an object", kind="no_data")
    return _session(data, requested_id)


# --- the document ----------------------------------------------------------------------------


def _session(data: dict[str, Any], requested_id: str) -> SessionDocument:
    session_id = fields.key(data, "", "id")
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
    auth_id = fields.text(data, "", "auth_id")
    if auth_id is None:  # OCPI 2.2 moved it into the token
        auth_id = fields.text(fields.sub(data, "", "cdr_token"), "cdr_token.", "uid")
    location_id = fields.key(data, "", "location_id")
    location = _location(data, location_id)
    evse_uid = fields.key(data, "", "evseId", "evse_uid")
    connector_ref = fields.key(data, "", "connectorId", "connector_id")
    zone = location.row.time_zone_iana if location is not None else None
    start = fields.time(data, "", "start_datetime", "start_date_time")
    end = fields.time(data, "", "end_datetime", "end_date_time")
    session = SessionRow(
        id=session_id,
        last_updated=version,
        cpo_session_id=fields.text(data, "", "session_id"),
        country_code=fields.text(data, "", "country_code"),
        party_id=fields.text(data, "", "party_id"),
        location_id=location.row.location_id if location_id is None and location else location_id,
        evse_uid=evse_uid,
        connector_id=connector_ref,
        cpo_id=fields.text(data, "", "cpoId", "cpo_id"),
        auth_id=auth_id,
        auth_method=fields.text(data, "", "auth_method"),
        currency=fields.text(data, "", "currency"),
        status=fields.text(data, "", "status"),
        start_datetime=start,
        end_datetime=end,
        created_date=fields.time(data, "", "created_date"),
        last_modified_date=fields.time(data, "", "last_modified_date"),
        kwh=fields.number(data, "", "kwh"),
        total_cost=total_cost,
        total_cost_incl_vat=total_cost_incl_vat,
        connector_uid=connector_used(location, evse_uid, connector_ref),
        vendor_connector_ref=connector_ref,
        local_start_datetime=local_time(start, zone),
        local_end_datetime=local_time(end, zone),
    )
    return SessionDocument(session, read_periods(data, session_id), location, data)


def _version(data: dict[str, Any]) -> datetime:
    # `last_updated` when present, else `last_modified_date`. A present but unreadable one is an
    # error, not a cue to fall back: the other field may be older and make the update look stale.
    name, value = fields.pick(data, ("last_updated", "last_modified_date"))
    if value is None:
        raise DocumentError("neither last_updated nor last_modified_date is present", kind="bad_last_updated")
    try:
        version = coerce.timestamp(value, name)
    except DocumentError:
        version = None
    if version is None:  # unreadable, or only spaces
        raise DocumentError(f"{name} is not a timestamp: {coerce.preview(value)}", kind="bad_last_updated")
    return version


_LOCATIONS = LocationMemo(max_key_bytes=4 * 1024 * 1024)


def _location(data: dict[str, Any], session_location_id: str | None) -> LocationDocument | None:
    loc = coerce.mapping(data.get("location"), "location")
    if loc is None:
        return None
    return _LOCATIONS.read(loc, session_location_id)
