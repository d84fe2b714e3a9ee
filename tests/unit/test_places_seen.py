"""PlacesSeen: a place copy is skipped only when the guarded upsert could not change anything."""

from __future__ import annotations

from datetime import UTC, datetime

from syncer.documents.rows import ConnectorRow, EvseRow, LocationRow
from syncer.warehouse.places_seen import PlacesSeen

T1 = datetime(2024, 1, 1, tzinfo=UTC)
T2 = datetime(2024, 2, 1, tzinfo=UTC)


def loc(id: str, version: datetime | None) -> LocationRow:
    return LocationRow(location_id=id, last_modified_date=version)


def test_nothing_is_skipped_before_a_commit() -> None:
    seen = PlacesSeen()
    rows = [loc("a", T1), loc("b", None)]
    assert seen.unseen("locations", rows) == rows


def test_a_committed_version_skips_itself_older_ones_and_versionless_ones_not_newer_ones() -> None:
    seen = PlacesSeen()
    seen.remember([("locations", [loc("a", T2)])])
    assert seen.unseen("locations", [loc("a", T2), loc("a", T1), loc("a", None)]) == []
    assert seen.unseen("locations", [loc("a", T2.replace(second=1))]) == [loc("a", T2.replace(second=1))]
    assert seen.unseen("locations", [loc("b", T1)]) == [loc("b", T1)]


def test_a_place_committed_without_a_version_skips_only_versionless_copies() -> None:
    # Its stored version is unknown (NULL, or one written by another process): a versioned copy
    # may still be newer; a versionless one never overwrites.
    seen = PlacesSeen()
    seen.remember([("locations", [loc("a", None)])])
    assert seen.unseen("locations", [loc("a", None)]) == []
    assert seen.unseen("locations", [loc("a", T1)]) == [loc("a", T1)]
    seen.remember([("locations", [loc("a", T1)]), ("locations", [loc("a", None)])])
    assert seen.unseen("locations", [loc("a", T1), loc("a", None)]) == []


def test_the_tables_keys_are_their_primary_keys() -> None:
    seen = PlacesSeen()
    evse = EvseRow(location_id="l", uid="e", last_updated=T1)
    connector = ConnectorRow(location_id="l", evse_uid="e", id="1", last_updated=T1)
    seen.remember([("evses", [evse]), ("connectors", [connector])])
    assert seen.unseen("evses", [evse, evse._replace(uid="f")]) == [evse._replace(uid="f")]
    assert seen.unseen("connectors", [connector, connector._replace(evse_uid="f")]) == [
        connector._replace(evse_uid="f")
    ]
    assert seen.unseen("locations", [loc("l", T1)]) == [loc("l", T1)]  # another table


def test_it_is_bounded() -> None:
    seen = PlacesSeen(max_places=3)
    seen.remember([("locations", [loc("a", T1), loc("b", T1)])])
    seen.remember([("locations", [loc("c", T1), loc("d", T1)])])  # over the bound: starts afresh
    assert seen.unseen("locations", [loc("a", T1)]) == [loc("a", T1)]
    assert seen.unseen("locations", [loc("c", T1)]) == []
