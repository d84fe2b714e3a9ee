"""The columns analysts join and read by, derived purely from the document (docs/warehouse.md):
the connector a session used, the location's IANA time zone and the session's local times."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest

from syncer.documents.flatten import flatten_body
from syncer.documents.time_zones import ABBREVIATIONS, iana_time_zone
from tests.unit.docs_factory import DELETE, SEED_ID, body, seed_data

CONNECTOR = "3fff37bfc17e66bc519c25fcfa65eaea"
SECOND = {"id": "second", "standard": "IEC_62196_T2", "format": "CABLE", "power_type": "AC_3_PHASE"}
OTHER_EVSE = {"uid": "AMP03*2", "evse_id": "IN*111*EAMP03*2", "connectors": [{"id": "other"}]}
SEED_EVSE = seed_data()["location"]["evses"][0]
TWO_EVSES = [OTHER_EVSE, SEED_EVSE]
TWO_CONNECTORS = [*SEED_EVSE["connectors"], SECOND]


def connector_of(changes: dict[str, Any]) -> str | None:
    return flatten_body(body(changes), SEED_ID).session.connector_uid


@pytest.mark.parametrize(
    ("why", "changes", "expected"),
    [
        ("the sample: its EVSE has one connector", {}, CONNECTOR),
        (
            "the EVSE is found by the session's evseId among others",
            {"location.evses": TWO_EVSES},
            CONNECTOR,
        ),
        ("evseId in another case: keys are lower case", {"evseId": "amp03*1"}, CONNECTOR),
        ("no evseId: connectors are keyed by their EVSE, so no join", {"evseId": DELETE}, None),
        ("evseId names no embedded EVSE", {"evseId": "NOPE*1"}, None),
        (
            "two connectors, the reference names neither",
            {"location.evses.0.connectors": TWO_CONNECTORS},
            None,
        ),
        (
            "two connectors, OCPI 2.2's connector_id names one",
            {"location.evses.0.connectors": TWO_CONNECTORS, "connectorId": DELETE, "connector_id": "SECOND"},
            "second",
        ),
        ("no connectors", {"location.evses.0.connectors": []}, None),
        ("no location", {"location": DELETE}, None),
    ],
)
def test_the_connector_used_only_when_unambiguous(
    why: str, changes: dict[str, Any], expected: str | None
) -> None:
    assert connector_of(changes) == expected, why


def test_the_vendors_connector_id_is_kept_under_both_names() -> None:
    session = flatten_body(body(), SEED_ID).session
    assert session.vendor_connector_ref == session.connector_id == "in*111*eamp03*1"


@pytest.mark.parametrize(
    ("sent", "iana"),
    [
        ("IST", "Asia/Kolkata"),  # India for this vendor; PostgreSQL would read Israel
        (" ist ", "Asia/Kolkata"),
        ("CET", "Europe/Paris"),  # the region with its daylight saving, not the tz database's fixed rule
        ("Asia/Kolkata", "Asia/Kolkata"),
        ("asia/kolkata", "Asia/Kolkata"),  # canonical spelling
        ("Europe/Berlin", "Europe/Berlin"),
        ("UTC", "UTC"),
        ("", None),  # PostgreSQL's AT TIME ZONE raises on it
        ("   ", None),
        (None, None),
        ("CST", None),  # ambiguous: China or US Central
        ("EST5EDT", None),  # a legacy POSIX-style name: not an analyst's zone
        ("+05:30", None),
        ("Mars/Olympus", None),
    ],
)
def test_time_zones_normalise_to_iana(sent: str | None, iana: str | None) -> None:
    assert iana_time_zone(sent) == iana


def test_every_abbreviation_maps_to_a_known_zone() -> None:
    for abbreviation, zone in ABBREVIATIONS.items():
        assert iana_time_zone(zone) == zone, abbreviation


def test_the_sample_at_ist_has_india_local_times() -> None:
    result = flatten_body(body({"location.time_zone": "IST"}), SEED_ID)
    assert result.location is not None
    assert (result.location.time_zone, result.location.time_zone_iana) == ("IST", "Asia/Kolkata")
    # 12:35:44 UTC is 18:05:44 in India (UTC+05:30; Israel would give 14:35:44)
    assert result.session.local_start_datetime == datetime(2022, 3, 14, 18, 5, 44)
    assert result.session.local_end_datetime == datetime(2022, 3, 14, 18, 15, 8)


def test_an_unknown_zone_gives_no_local_times() -> None:
    result = flatten_body(body({"location.time_zone": "XYZ"}), SEED_ID)
    assert result.location is not None and result.location.time_zone_iana is None
    assert result.session.local_start_datetime is None
