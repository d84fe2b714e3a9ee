"""flatten: the vendor's sample becomes exactly these rows; each structural quirk, one case."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from syncer.documents.flatten import flatten, flatten_body
from syncer.documents.parse import parse_body
from syncer.documents.rows import ConnectorRow, EvseRow, LocationRow, PeriodRow, SessionBundle, SessionRow
from tests.unit.docs_factory import DELETE, FIXTURE, SEED_ID, SHARED_FIXTURE, body, seed_data

LOCATION_ID = "620bb06abeaaa76c1e7657e1"
LOCATION_VERSION = datetime(2022, 4, 4, 6, 13, 30, 317000, tzinfo=UTC)


def utc(*args: int) -> datetime:
    """`datetime(*args)` in UTC."""
    return datetime(*args).replace(tzinfo=UTC)  # type: ignore[arg-type]  # ints only, never a tzinfo


def bundle(changes: Mapping[str, Any] | None = None) -> SessionBundle:
    return flatten_body(body(changes), SEED_ID)


# --- the sample -----------------------------------------------------------------------------------

EXPECTED_SESSION = SessionRow(
    id=SEED_ID,
    last_updated=utc(2022, 3, 14, 12, 45, 8),
    cpo_session_id="724615825",
    country_code="IN",
    party_id="111",
    location_id=LOCATION_ID,
    evse_uid="amp03*1",
    connector_id="in*111*eamp03*1",
    cpo_id="5134ef394bac9a74c46948529abc150f",
    auth_id="de4248351c54e55cd97c0000ed9ceb06",
    auth_method="AUTH_REQUEST",
    currency="INR",
    status="COMPLETED",
    start_datetime=utc(2022, 3, 14, 12, 35, 44),
    end_datetime=utc(2022, 3, 14, 12, 45, 8),
    created_date=utc(2022, 3, 14, 12, 35, 47, 492000),
    last_modified_date=utc(2022, 3, 14, 12, 45, 11, 579000),
    kwh=Decimal("0.11429"),
    total_cost=Decimal("1.71"),
    total_cost_incl_vat=None,
    connector_uid="3fff37bfc17e66bc519c25fcfa65eaea",  # the embedded EVSE's only connector
    vendor_connector_ref="in*111*eamp03*1",  # `connectorId`: the EVSE's evse_id, not a connector
    local_start_datetime=None,  # the location sends no time_zone
    local_end_datetime=None,
)

EXPECTED_LOCATION = LocationRow(
    location_id=LOCATION_ID,
    gateway_id="0928aa98a2703e688fba8fbccf9f1782",
    name="EVnnovator Lab",
    address="Radiant Heritage ",  # the trailing space is what was sent
    city="Bangalore",
    postal_code="560099",
    country=None,
    country_code="IN",
    party_id="111",
    type="UNKNOWN",
    operator_name="CERO",
    operator_website="http://slf.ceromobility.com/",
    cpo_id="1a85027042ecb57d09f192a20cf4811c",
    cpo_resource_id="5134ef394bac9a74c46948529abc150f",
    time_zone=None,
    latitude=Decimal("12.87667"),
    longitude=Decimal("77.67912"),
    rating=Decimal("0.0"),
    twentyfourseven=True,
    charging_when_closed=False,
    publish=False,
    created_date=utc(2022, 3, 5, 9, 37, 57, 382000),
    last_modified_date=LOCATION_VERSION,
)

EXPECTED_EVSE = EvseRow(
    location_id=LOCATION_ID,
    uid="amp03*1",
    gateway_id="9c97a7b656f4c1a217fda8c8262c330d",
    evse_id="IN*111*EAMP03*1",
    status="AVAILABLE",
    floor_level=None,
    physical_reference=None,
    capabilities=("REMOTE_START_STOP_CAPABLE", "RFID_READER"),
    latitude=Decimal("12.87667"),
    longitude=Decimal("77.67912"),
    last_updated=LOCATION_VERSION,  # it has none of its own
)

EXPECTED_CONNECTOR = ConnectorRow(
    location_id=LOCATION_ID,
    evse_uid="amp03*1",
    id="3fff37bfc17e66bc519c25fcfa65eaea",
    standard="DOMESTIC_E",
    format="SOCKET",
    power_type="AC_1_PHASE",
    tariff_id="Default",
    voltage=Decimal(230),
    amperage=Decimal(14),
    max_electric_power=None,
    last_updated=LOCATION_VERSION,
)


def test_fixture_copy_matches_the_shared_sample() -> None:
    if not SHARED_FIXTURE.exists():
        pytest.skip("the shared fixtures are not checked out next to the repository")
    assert FIXTURE.read_bytes() == SHARED_FIXTURE.read_bytes()


def test_seed_session_row() -> None:
    result = bundle()
    assert result.session == EXPECTED_SESSION
    assert str(result.session.kwh) == "0.11429"  # exact, not 0.11428999999999999
    assert str(result.session.total_cost) == "1.71"
    assert result.id == SEED_ID
    assert result.last_updated == EXPECTED_SESSION.last_updated


def test_seed_location_evse_connector_rows() -> None:
    result = bundle()
    assert result.location == EXPECTED_LOCATION
    assert result.evses == (EXPECTED_EVSE,)
    assert result.connectors == (EXPECTED_CONNECTOR,)


def test_seed_period_rows() -> None:
    periods = bundle().periods
    assert len(periods) == 20
    assert periods[0] == PeriodRow(SEED_ID, 0, 0, utc(2022, 3, 14, 12, 35, 57), "ENERGY", Decimal("0.001"))
    assert periods[1] == PeriodRow(SEED_ID, 1, 0, utc(2022, 3, 14, 12, 36, 27), "ENERGY", Decimal("0.006"))
    assert periods[14] == PeriodRow(SEED_ID, 14, 0, utc(2022, 3, 14, 12, 43), "ENERGY", Decimal("0.006"))
    assert periods[19] == PeriodRow(
        SEED_ID, 19, 0, utc(2022, 3, 14, 12, 45, 8), "PARKING_TIME", Decimal("0.002")
    )
    assert [p.period_index for p in periods] == list(range(20))
    assert {p.dimension_index for p in periods} == {0}
    assert sum(p.volume or 0 for p in periods if p.dimension_type == "ENERGY") == Decimal("0.109")


def test_seed_raw_row() -> None:
    result = bundle()
    assert result.raw.id == SEED_ID
    assert result.raw.last_updated == EXPECTED_SESSION.last_updated
    assert json.loads(result.raw.document, parse_float=Decimal) == seed_data()
    assert list(json.loads(result.raw.document)) == list(seed_data())  # keys in received order
    for exact in ('"kwh":0.11429', '"total_cost":1.71', '"rating":0.0', '"address":"Radiant Heritage "'):
        assert exact in result.raw.document


def test_flatten_body_is_flatten_of_parse_body() -> None:
    raw = body({"kwh": "2.5"})
    assert flatten_body(raw, SEED_ID) == flatten(parse_body(raw, requested_id=SEED_ID))
    assert flatten_body(raw, requested_id=SEED_ID.upper()) == flatten_body(raw, SEED_ID)


def test_flatten_is_deterministic() -> None:
    doc = parse_body(body(), requested_id=SEED_ID)
    assert flatten(doc) == flatten(doc)


# --- periods in long format -------------------------------------------------------------------------

PERIODS: list[tuple[str, Any, list[tuple[int, int, str | None, Decimal | None]]]] = [
    # One row per dimension: period_index, dimension_index, type, volume.
    (
        "two_dimensions",
        [
            {
                "start_date_time": "2022-03-14T12:00:00Z",
                "dimensions": [
                    {"type": "ENERGY", "volume": "1.5"},
                    {"type": "TIME", "volume": Decimal("0.25")},
                ],
            }
        ],
        [(0, 0, "ENERGY", Decimal("1.5")), (0, 1, "TIME", Decimal("0.25"))],
    ),
    # A period without dimensions keeps one row so its start time is not lost.
    ("no_dimensions", [{"start_date_time": "2022-03-14T12:00:00Z", "dimensions": []}], [(0, 0, None, None)]),
    (
        "dimensions_null",
        [{"start_date_time": "2022-03-14T12:00:00Z", "dimensions": None}],
        [(0, 0, None, None)],
    ),
    ("dimensions_absent", [{"start_date_time": "2022-03-14T12:00:00Z"}], [(0, 0, None, None)]),
    ("only_null_dimensions", [{"dimensions": [None]}], [(0, 0, None, None)]),
    # Positions are the document's: a null period or dimension leaves a gap, never a renumbering.
    (
        "null_items_keep_positions",
        [None, {"dimensions": [None, {"type": "ENERGY", "volume": 1}]}, {"dimensions": []}],
        [(1, 1, "ENERGY", Decimal(1)), (2, 0, None, None)],
    ),
    ("no_periods", [], []),
    ("periods_null", None, []),
    # Negative volumes are legal (vehicle-to-grid).
    (
        "negative_volume",
        [{"dimensions": [{"type": "ENERGY", "volume": "-0.5"}]}],
        [(0, 0, "ENERGY", Decimal("-0.5"))],
    ),
]


@pytest.mark.parametrize(("periods", "expected"), [c[1:] for c in PERIODS], ids=[c[0] for c in PERIODS])
def test_periods_long_format(
    periods: Any, expected: list[tuple[int, int, str | None, Decimal | None]]
) -> None:
    rows = bundle({"charging_periods": periods}).periods
    assert [(r.period_index, r.dimension_index, r.dimension_type, r.volume) for r in rows] == expected
    assert all(r.session_id == SEED_ID for r in rows)


def test_period_without_dimensions_keeps_its_start() -> None:
    (row,) = bundle({"charging_periods": [{"start_date_time": "2022-03-14T12:00:00+01:00"}]}).periods
    assert row.start_date_time == utc(2022, 3, 14, 11)


# --- evses and connectors -------------------------------------------------------------------------


def evse_doc(uid: str, evse_id: str, connectors: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {"uid": uid, "evse_id": evse_id, "connectors": connectors or []}


def test_duplicate_evse_uids_keep_the_last() -> None:
    # Ids differing only in case are the same EVSE (OCPI 2.2); the table's key must stay unique.
    result = bundle(
        {
            "location.evses": [
                evse_doc("A", "first", [{"id": "c1"}]),
                evse_doc("B", "b"),
                evse_doc("a", "last"),
            ]
        }
    )
    assert [(e.uid, e.evse_id) for e in result.evses] == [("a", "last"), ("b", "b")]
    assert result.connectors == ()  # the first "a" and its connector were replaced as a whole


def test_duplicate_connector_ids_keep_the_last() -> None:
    connectors = [{"id": "X", "standard": "first"}, {"id": "y"}, {"id": "x", "standard": "last"}]
    result = bundle({"location.evses": [evse_doc("A", "a", connectors)]})
    assert [(c.id, c.standard) for c in result.connectors] == [("x", "last"), ("y", None)]


def test_same_connector_id_on_two_evses_is_two_rows() -> None:
    # A connector id is unique only within its EVSE.
    result = bundle(
        {"location.evses": [evse_doc("A", "a", [{"id": "1"}]), evse_doc("B", "b", [{"id": "1"}])]}
    )
    assert [(c.evse_uid, c.id) for c in result.connectors] == [("a", "1"), ("b", "1")]


def test_evses_sharing_an_evse_id_are_kept() -> None:
    # Several EVSEs may share one evse_id; the uid is the key.
    result = bundle({"location.evses": [evse_doc("A", "IN*1"), evse_doc("B", "IN*1")]})
    assert [e.uid for e in result.evses] == ["a", "b"]


@pytest.mark.parametrize(
    "changes",
    [
        {"location": None},
        {"location": DELETE},
        {"location.location_id": DELETE, "location_id": DELETE},
    ],
    ids=["location_null", "location_absent", "location_without_key"],
)
def test_no_location_rows(changes: Mapping[str, Any]) -> None:
    result = bundle(changes)
    assert (result.location, result.evses, result.connectors) == (None, (), ())
    assert len(result.periods) == 20


def test_empty_evses_still_write_the_location() -> None:
    result = bundle({"location.evses": []})
    assert result.location == EXPECTED_LOCATION
    assert (result.evses, result.connectors) == ((), ())
