"""Pure: one parsed session document -> the rows of every table it touches. No I/O, no clock.

- charging_periods: as `parse_body` made them (one row per dimension, see `SessionDocument`).
- An EVSE uid repeated within the location, or a connector id repeated within its EVSE
  (ids differing only in case are the same id): the last one in the document wins, in the
  position where the id first appeared. The primary keys stay unique, the result deterministic.
- raw_sessions gets the `data` object as JSON text with its numbers exactly as received.
"""

from __future__ import annotations

from syncer.documents.locations import LocationDocument
from syncer.documents.parse import SessionDocument, dumps_parsed, parse_body
from syncer.documents.rows import ConnectorRow, EvseRow, RawRow, SessionBundle

__all__ = ["flatten", "flatten_body"]


def flatten(doc: SessionDocument) -> SessionBundle:
    session = doc.session
    periods = doc.periods
    raw = RawRow(session.id, dumps_parsed(doc.data), session.last_updated)
    if doc.location is None:
        return SessionBundle(session=session, raw=raw, periods=periods)
    evses, connectors = _evse_rows(doc.location)
    return SessionBundle(
        session=session,
        raw=raw,
        periods=periods,
        location=doc.location.row,
        evses=evses,
        connectors=connectors,
    )


def flatten_body(body: bytes, requested_id: str) -> SessionBundle:
    """`flatten(parse_body(...))`: a gateway response body straight to rows."""
    return flatten(parse_body(body, requested_id=requested_id))


def _evse_rows(location: LocationDocument) -> tuple[tuple[EvseRow, ...], tuple[ConnectorRow, ...]]:
    # dict assignment keeps the first position of a key and the last value: "last wins".
    evses = {evse.row.uid: evse for evse in location.evses}
    connectors: list[ConnectorRow] = []
    for evse in evses.values():
        connectors.extend({connector.id: connector for connector in evse.connectors}.values())
    return tuple(evse.row for evse in evses.values()), tuple(connectors)
