"""The sandbox's documents: deterministic, realistic, and carrying every quirk of the contract.

Quirks are detected by inspecting the generated dicts, not by asking the generator which flags
it drew, so a generator bug that drops a quirk fails here.
"""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
import sys
from collections import defaultdict
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from syncer.sandbox.faults import MALFORMED_KINDS, malformed_body, malformed_kind
from syncer.sandbox.generate import chosen, envelope, generation, session_body, session_document
from syncer.sandbox.stable import decimal_number, decimal_text, format_time

SEED = 0
LOCATIONS = 200
IDS = [f"s{i:05d}" for i in range(2000)]
Doc = dict[str, Any]

_SESSION_TIMES = (
    "created_date",
    "last_modified_date",
    "start_datetime",
    "end_datetime",
    "start_date_time",
    "end_date_time",
    "last_updated",
)
_NAIVE = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?")
_OFFSET = re.compile(r".*[+-]\d\d:\d\d")


@pytest.fixture(scope="module")
def docs() -> dict[str, Doc]:
    return {id: session_document(id, 0, SEED, LOCATIONS) for id in IDS}


def timestamps(doc: Doc) -> Iterator[str]:
    for key in _SESSION_TIMES:
        if isinstance(doc.get(key), str):
            yield doc[key]
    for period in doc["charging_periods"]:
        yield period["start_date_time"]
    location = doc["location"]
    yield from (location["created_date"], location["last_modified_date"])
    for evse in location["evses"]:
        yield from [evse["last_updated"]] if "last_updated" in evse else []
        yield from (c["last_updated"] for c in evse["connectors"] if "last_updated" in c)


def dimensions(doc: Doc) -> Iterator[dict[str, Any]]:
    for period in doc["charging_periods"]:
        yield from period["dimensions"] or []


def connectors(doc: Doc) -> Iterator[dict[str, Any]]:
    for evse in doc["location"]["evses"]:
        yield from evse["connectors"]


def decimals(number: float) -> int:
    text = repr(number)
    assert "e" not in text, text  # an exponent literal would be legal JSON but not what the vendor sends
    return len(text.partition(".")[2])


def instant(text: str) -> datetime:
    parsed = datetime.fromisoformat(text)
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed


def evse_coordinates(doc: Doc) -> list[Any]:
    return [evse["coordinates"]["latitude"] for evse in doc["location"]["evses"]]


# Each quirk of CONTRACT.md and docs/gateway.md, as a predicate over (requested id, document).
QUIRKS: dict[str, Callable[[str, Doc], bool]] = {
    "timestamp with +00:00": lambda _, d: any(t.endswith("+00:00") for t in timestamps(d)),
    "timestamp with Z": lambda _, d: any(t.endswith("Z") for t in timestamps(d)),
    "timestamp without zone": lambda _, d: any(_NAIVE.fullmatch(t) for t in timestamps(d)),
    "timestamp with non-zero offset": lambda _, d: any(
        _OFFSET.fullmatch(t) and not t.endswith("+00:00") for t in timestamps(d)
    ),
    "numbers in location, strings in evses": lambda _, d: (
        isinstance(d["location"]["coordinates"]["latitude"], float)
        and any(isinstance(lat, str) for lat in evse_coordinates(d))
    ),
    "volume as string": lambda _, d: any(isinstance(x["volume"], str) for x in dimensions(d)),
    "volume as number": lambda _, d: any(isinstance(x["volume"], float) for x in dimensions(d)),
    "negative volume (V2G)": lambda _, d: any(
        x["type"] == "ENERGY" and str(x["volume"]).startswith("-") for x in dimensions(d)
    ),
    "total_cost with float artefact": lambda _, d: (
        isinstance(d["total_cost"], float) and decimals(d["total_cost"]) > 5
    ),
    "total_cost as object": lambda _, d: (
        isinstance(d["total_cost"], dict) and set(d["total_cost"]) == {"excl_vat", "incl_vat"}
    ),
    "camelCase beside snake_case": lambda _, d: "evseId" in d and "evse_uid" in d and "connector_id" in d,
    "nulls in optional fields": lambda _, d: any(
        d.get(k, "") is None for k in ("auth_id", "session_id", "created_date", "evseId", "cpoId")
    ),
    "status SUSPENDED_EV": lambda _, d: d["status"] == "SUSPENDED_EV",
    "auth_method NFC_MAGIC": lambda _, d: d["auth_method"] == "NFC_MAGIC",
    "power_type AC_2_PHASE_SPLIT": lambda _, d: any(
        c["power_type"] == "AC_2_PHASE_SPLIT" for c in connectors(d)
    ),
    "empty evses": lambda _, d: d["location"]["evses"] == [],
    "empty connectors": lambda _, d: any(e["connectors"] == [] for e in d["location"]["evses"]),
    "trailing space in name or address": lambda _, d: (
        d["location"]["name"].endswith(" ") or d["location"]["address"].endswith(" ")
    ),
    "id in upper case": lambda i, d: d["id"] != i and d["id"].lower() == i.lower(),
    "location_id differing in case": lambda _, d: (
        d["location_id"] != d["location"]["location_id"]
        and d["location_id"].lower() == d["location"]["location_id"].lower()
    ),
    "unknown extra field": lambda _, d: isinstance(d.get("vendor_blob"), dict),
    "empty string for absent value": lambda _, d: any(v == "" for v in d.values()),
    "OCPI 2.2 spellings": lambda _, d: "start_date_time" in d and "start_datetime" not in d,
    "period with dimensions []": lambda _, d: any(p["dimensions"] == [] for p in d["charging_periods"]),
    "period with dimensions null": lambda _, d: any(p["dimensions"] is None for p in d["charging_periods"]),
    "period with several dimensions": lambda _, d: any(
        len(p["dimensions"] or []) > 1 for p in d["charging_periods"]
    ),
    "unknown dimension type": lambda _, d: any(x["type"] == "FLUX_CAPACITY" for x in dimensions(d)),
    "several EVSEs sharing an evse_id": lambda _, d: (
        len({e["evse_id"] for e in d["location"]["evses"]}) < len(d["location"]["evses"])
    ),
    "non-IANA time zone": lambda _, d: d["location"]["time_zone"] == "IST",
}


@pytest.mark.parametrize("quirk", sorted(QUIRKS))
def test_every_quirk_appears_in_some_but_not_all_documents(docs: dict[str, Doc], quirk: str) -> None:
    count = sum(1 for id, doc in docs.items() if QUIRKS[quirk](id, doc))
    assert 1 <= count < len(docs), f"{quirk}: {count} of {len(docs)}"


def test_all_dimension_types_appear(docs: dict[str, Doc]) -> None:
    seen = {x["type"] for doc in docs.values() for x in dimensions(doc)}
    assert seen == {"ENERGY", "TIME", "PARKING_TIME", "POWER", "CURRENT", "STATE_OF_CHARGE", "FLUX_CAPACITY"}


def test_same_id_gives_identical_bytes() -> None:
    assert session_body("abc", 2, SEED, LOCATIONS) == session_body("abc", 2, SEED, LOCATIONS)
    assert session_document("abc", 2, SEED, LOCATIONS) == session_document("abc", 2, SEED, LOCATIONS)


def test_bytes_do_not_depend_on_the_process_hash_seed() -> None:
    code = (
        "import hashlib; from syncer.sandbox.generate import session_body; "
        "print(hashlib.sha256(b''.join(session_body(f's{i}', 1, 7, 50) for i in range(50))).hexdigest())"
    )
    here = hashlib.sha256(b"".join(session_body(f"s{i}", 1, 7, 50) for i in range(50))).hexdigest()
    for hash_seed in ("1", "2"):
        out = subprocess.run(
            [sys.executable, "-c", code],
            capture_output=True,
            text=True,
            check=True,
            env={"PYTHONHASHSEED": hash_seed, "PATH": ""},
            cwd=Path(__file__).parents[2],
        )
        assert out.stdout.strip() == here


def test_different_ids_and_seeds_give_different_documents(docs: dict[str, Doc]) -> None:
    bodies = {
        json.dumps({k: v for k, v in doc.items() if k != "id"}, sort_keys=True) for doc in docs.values()
    }
    assert len(bodies) == len(docs)
    assert session_document("s00001", 0, 1, LOCATIONS) != docs["s00001"]


def test_body_is_the_envelope_of_the_document() -> None:
    body = json.loads(session_body("s00042", 3, SEED, LOCATIONS))
    assert body["status_code"] == 1000
    assert body["status_message"] == "Success"
    assert _NAIVE.fullmatch(body["timestamp"])  # like the vendor's sample: no zone
    assert body["data"] == session_document("s00042", 3, SEED, LOCATIONS)
    assert envelope({"x": 1}, timestamp="t") == {
        "status_code": 1000,
        "status_message": "Success",
        "timestamp": "t",
        "data": {"x": 1},
    }


def test_ids_differing_in_case_are_the_same_session_apart_from_the_id() -> None:
    lower, upper = (
        session_document("abc-1", 0, SEED, LOCATIONS),
        session_document("ABC-1", 0, SEED, LOCATIONS),
    )
    assert upper["id"] == "ABC-1"
    assert {**lower, "id": "ABC-1"} == upper


def test_sessions_at_one_location_embed_identical_locations(docs: dict[str, Doc]) -> None:
    by_location: dict[str, list[Doc]] = defaultdict(list)
    for doc in docs.values():
        by_location[doc["location"]["location_id"]].append(doc["location"])
    shared = [group for group in by_location.values() if len(group) > 1]
    assert len(shared) > 50  # the pool is shared: 2,000 sessions over 200 locations
    for group in shared:
        assert all(location == group[0] for location in group)
    bumped = session_document(IDS[0], 5, SEED, LOCATIONS)["location"]
    assert bumped == docs[IDS[0]]["location"]  # a session bump leaves its location's version alone


def test_returned_documents_do_not_share_mutable_locations() -> None:
    first = session_document("s00001", 0, SEED, LOCATIONS)
    first["location"]["name"] = "changed"
    first["location"]["evses"].clear()
    again = session_document("s00001", 0, SEED, LOCATIONS)
    assert again["location"]["name"] != "changed"
    assert json.loads(session_body("s00001", 0, SEED, LOCATIONS))["data"] == again


def test_period_counts_and_sizes_look_like_the_sample(docs: dict[str, Doc]) -> None:
    counts = [len(doc["charging_periods"]) for doc in docs.values()]
    assert min(counts) >= 1
    assert max(counts) <= 60
    assert 25 <= sum(counts) / len(counts) <= 35
    sizes = [
        len(session_body(id, 0, SEED, LOCATIONS))
        for id, doc in docs.items()
        if 28 <= len(doc["charging_periods"]) <= 32
    ]
    assert 5_000 <= sum(sizes) / len(sizes) <= 9_500


def test_numbers_are_exact_decimal_literals(docs: dict[str, Doc]) -> None:
    artefacts = 0
    for doc in docs.values():
        assert doc["kwh"] is None or decimals(doc["kwh"]) <= 5
        cost = doc["total_cost"]
        if isinstance(cost, dict):
            assert decimals(cost["excl_vat"]) <= 5
            assert decimals(cost["incl_vat"]) <= 5
        elif isinstance(cost, float) and decimals(cost) > 5:
            artefacts += 1
        coordinates = doc["location"]["coordinates"]
        assert decimals(coordinates["latitude"]) <= 5
        assert decimals(coordinates["longitude"]) <= 5
    assert 0 < artefacts < len(docs) * 0.15


def test_timestamps_all_parse_and_periods_follow_the_start(docs: dict[str, Doc]) -> None:
    for doc in docs.values():
        for text in timestamps(doc):
            instant(text)
        start = instant(doc.get("start_datetime") or doc["start_date_time"])
        assert all(instant(p["start_date_time"]) > start for p in doc["charging_periods"])
        assert instant(doc["last_updated"]) >= instant(doc["charging_periods"][-1]["start_date_time"])


def test_bumps_make_last_updated_strictly_newer_for_exactly_the_chosen_ids(docs: dict[str, Doc]) -> None:
    rounds = [(1, 0.3), (2, 0.5)]
    changed = 0
    for id, before in docs.items():
        gen = generation(id, rounds, SEED)
        assert gen == chosen(id, 1, 0.3, SEED) + chosen(id, 2, 0.5, SEED)
        after = session_document(id, gen, SEED, LOCATIONS)
        if gen:
            changed += 1
            assert instant(after["last_updated"]) > instant(before["last_updated"])
        else:
            assert after == before
        assert {k: v for k, v in after.items() if k not in ("last_updated", "last_modified_date")} == {
            k: v for k, v in before.items() if k not in ("last_updated", "last_modified_date")
        }
    assert abs(changed / len(docs) - (1 - 0.7 * 0.5)) < 0.05


def test_chosen_is_case_insensitive_and_follows_the_share() -> None:
    assert all(chosen(id, 1, 0.2, SEED) == chosen(id.upper(), 1, 0.2, SEED) for id in IDS)
    picked = sum(chosen(id, 1, 0.2, SEED) for id in IDS)
    assert 300 < picked < 500
    assert not any(chosen(id, 1, 0.0, SEED) for id in IDS)
    assert all(chosen(id, 1, 1.0, SEED) for id in IDS)
    assert [chosen(id, 1, 0.2, SEED) for id in IDS] != [chosen(id, 2, 0.2, SEED) for id in IDS]


def test_malformed_ids_follow_the_rate_by_id() -> None:
    assert all(malformed_kind(id, SEED, 0.0) is None for id in IDS)
    kinds = [malformed_kind(id, SEED, 0.25) for id in IDS]
    assert 0.2 < sum(k is not None for k in kinds) / len(IDS) < 0.3
    assert kinds == [malformed_kind(id.upper(), SEED, 0.25) for id in IDS]
    assert {malformed_kind(id, SEED, 1.0) for id in IDS} == set(MALFORMED_KINDS)


def _broken(kind: str, body: bytes) -> bool:
    try:
        parsed = json.loads(body.decode())
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        return {"truncated": json.JSONDecodeError, "not_utf8": UnicodeDecodeError}.get(kind) is type(error)
    checks: dict[str, Callable[[Any], bool]] = {
        "array": lambda p: isinstance(p, list) and p[0]["data"]["id"] == "s00007",
        "data_null": lambda p: p["status_code"] == 1000 and p["data"] is None,
        "wrong_id": lambda p: p["data"]["id"].lower() != "s00007",
        "bad_date": lambda p: p["data"]["last_updated"] == "not a date",
    }
    return checks[kind](parsed)


@pytest.mark.parametrize("kind", MALFORMED_KINDS)
def test_malformed_bodies_are_broken_as_named(kind: str) -> None:
    body = malformed_body(kind, "s00007", 0, SEED, LOCATIONS)
    assert body != session_body("s00007", 0, SEED, LOCATIONS)
    assert _broken(kind, body)


def test_unknown_malformation_is_rejected() -> None:
    with pytest.raises(ValueError, match="unknown malformation"):
        malformed_body("sideways", "s1", 0, SEED, LOCATIONS)


@pytest.mark.parametrize(
    ("units", "places", "text"),
    [(6, 3, "0.006"), (-125, 2, "-1.25"), (1287667, 5, "12.87667"), (7, 0, "7"), (100, 2, "1.00")],
)
def test_decimal_literals_are_exact(units: int, places: int, text: str) -> None:
    assert decimal_text(units, places) == text
    assert json.dumps(decimal_number(units, places)) == repr(float(text))
    assert float(json.dumps(decimal_number(units, places))) == float(text)


def test_tiny_numbers_never_print_in_exponent_form() -> None:
    assert json.dumps(decimal_number(3, 5)) == "0.0001"


@pytest.mark.parametrize(
    ("style", "text"),
    [
        ("+00:00", "2022-03-14T12:35:47.492+00:00"),
        ("Z", "2022-03-14T12:35:47.492Z"),
        ("naive", "2022-03-14T12:35:47.492"),
        ("+05:30", "2022-03-14T18:05:47.492+05:30"),
        ("-03:00", "2022-03-14T09:35:47.492-03:00"),
    ],
)
def test_time_styles_write_the_same_instant(style: str, text: str) -> None:
    moment = datetime(2022, 3, 14, 12, 35, 47, 492_000, tzinfo=UTC)
    assert format_time(moment, style) == text
    assert instant(text) == moment
