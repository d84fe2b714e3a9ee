"""parse_body: every quirk of the gateway's documents, one case each, and every way to reject one."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from syncer.documents import coerce, numbers
from syncer.documents.exact_json import canonical_json
from syncer.documents.locations import LocationMemo, read_location
from syncer.documents.parse import ERROR_KINDS, SessionDocument, dumps_exact, parse_body, parse_raw
from syncer.errors import CredentialsRejected, DocumentError, PermanentError, TransientError
from tests.unit.docs_factory import DELETE, SEED_ID, body, body_with_data, envelope_body, seed_data

T = datetime(2022, 3, 14, 12, 35, 44, tzinfo=UTC)
LOCATION_VERSION = datetime(2022, 4, 4, 6, 13, 30, 317000, tzinfo=UTC)
# Path prefixes for patches (docs_factory.body): the location, its first evse, that evse's first connector.
L = "location."
E = "location.evses.0."
C = "location.evses.0.connectors.0."


def parse(raw: bytes, requested_id: str = SEED_ID) -> SessionDocument:
    return parse_body(raw, requested_id=requested_id)


def nested(depth: int) -> str:
    """JSON text of `depth` nested lists."""
    return "[" * depth + "]" * depth


def data_text(**replacements: str) -> bytes:
    """A minimal envelope whose `data` fields are given as raw JSON text (for what JSON can't build)."""
    fields = {"id": f'"{SEED_ID}"', "last_updated": '"2022-03-14T12:45:08Z"', **replacements}
    inner = ",".join(f'"{name}":{value}' for name, value in fields.items())
    return f'{{"status_code":1000,"data":{{{inner}}}}}'.encode()


# --- rejections ---------------------------------------------------------------------------------

# (case id, body, kind, a fragment the message must contain)
REJECTED: list[tuple[str, bytes, str, str]] = [
    # The gateway is supposed to send UTF-8; a Latin-1 proxy in between would not.
    ("latin1", '{"data": {"name": "Caf\xe9"}}'.encode("latin-1"), "not_utf8", "UTF-8"),
    ("invalid_byte", b'{"data": "\xff"}', "not_utf8", "UTF-8"),
    # A connection cut mid-body arrives as a truncated document.
    ("truncated", body()[:-40], "invalid_json", "not valid JSON"),
    ("empty_body", b"", "invalid_json", "not valid JSON"),
    ("trailing_garbage", body() + b"}", "invalid_json", "not valid JSON"),
    ("html_error_page", b"<html><body>Bad Gateway</body></html>", "invalid_json", "not valid JSON"),
    ("single_quotes", b"{'data': {}}", "invalid_json", "not valid JSON"),
    # Python caps int parsing at 4300 digits and raises a plain ValueError, not JSONDecodeError.
    ("int_too_long", data_text(kwh="1" * 5000), "number_out_of_range", "4300 digits"),
    # Python's json accepts these by default; they are not JSON and no column could hold them.
    ("nan", data_text(kwh="NaN"), "non_finite_number", "NaN"),
    ("infinity", data_text(kwh="Infinity"), "non_finite_number", "Infinity"),
    ("minus_infinity", data_text(total_cost="-Infinity"), "non_finite_number", "-Infinity"),
    ("nan_in_unknown_field", data_text(extra="[1, NaN]"), "non_finite_number", "NaN"),
    # Legal JSON, but PostgreSQL's numeric (and jsonb) cannot hold them.
    ("huge_exponent", data_text(kwh="1e999999"), "number_out_of_range", "out of range"),
    (
        "exponent_beyond_decimal",
        data_text(kwh="1e99999999999999999999"),
        "number_out_of_range",
        "out of range",
    ),
    ("tiny_exponent", data_text(extra="1e-5000"), "number_out_of_range", "out of range"),
    ("hundreds_of_digits", data_text(kwh="0." + "1" * 200), "number_out_of_range", "out of range"),
    # With duplicate keys, which value counts is up to the parser: refuse to guess.
    ("duplicate_in_data", data_text(kwh="1", extra='{"a": 1, "a": 2}'), "duplicate_key", "'a'"),
    ("duplicate_top_level", b'{"data": {}, "data": {"id": "x"}}', "duplicate_key", "'data'"),
    (
        "duplicate_version",
        data_text(last_updated='"2022-03-14T12:45:08Z", "last_updated": "x"'),
        "duplicate_key",
        "last_updated",
    ),
    # Deep nesting is an attack, never a session; deeper still would blow the C parser's stack.
    ("deep", data_text(extra=nested(70)), "too_deep", "64"),
    ("very_deep", data_text(extra=nested(200_000)), "too_deep", "64"),
    # NUL and lone surrogates parse, but PostgreSQL refuses them in text and jsonb.
    ("nul", data_text(extra='"a\\u0000b"'), "bad_text", "NUL"),
    ("nul_in_key", data_text(extra='{"a\\u0000": 1}'), "bad_text", "NUL"),
    ("lone_surrogate", data_text(extra='["\\ud800"]'), "bad_text", "surrogate"),
    ("not_an_object_list", b"[]", "not_an_object", "a list"),
    ("not_an_object_string", b'"Success"', "not_an_object", "'Success'"),
    ("not_an_object_null", b"null", "not_an_object", "None"),
    # Only the integer 1000 is success (gateway_status.py maps the known codes; see below).
    ("status_9999", envelope_body({"status_code": 9999, "data": None}), "gateway_status", "9999"),
    ("status_as_text", envelope_body({"status_code": "1000"}), "gateway_status", "'1000'"),
    ("status_true", envelope_body({"status_code": True}), "gateway_status", "True"),
    ("data_null", envelope_body({"data": None}), "no_data", "None"),
    ("data_absent", envelope_body({"data": DELETE}), "no_data", "None"),
    ("data_list", body_with_data([seed_data()]), "no_data", "a list"),
    ("data_string", body_with_data(""), "no_data", "''"),
    ("id_absent", body({"id": DELETE}), "missing_id", "no id"),
    ("id_null", body({"id": None}), "missing_id", "no id"),
    ("id_empty", body({"id": ""}), "missing_id", "no id"),
    # A proxy or cache answering for another id must never overwrite the requested one.
    ("id_other", body({"id": "b" * 32}), "id_mismatch", "bbbb"),
    ("id_object", body({"id": {"value": SEED_ID}}), "bad_field", "id: expected text"),
    (
        "versions_absent",
        body({"last_updated": DELETE, "last_modified_date": DELETE}),
        "bad_last_updated",
        "neither",
    ),
    ("versions_null", body({"last_updated": None, "last_modified_date": ""}), "bad_last_updated", "neither"),
    # An unreadable last_updated is not replaced by last_modified_date, which may be older and
    # make the update look stale (the sandbox's "bad_date" fault is exactly this).
    (
        "version_junk",
        body({"last_updated": "not a date"}),
        "bad_last_updated",
        "last_updated is not a timestamp",
    ),
    ("version_spaces", body({"last_updated": "  "}), "bad_last_updated", "last_updated"),
    ("version_number", body({"last_updated": 1647261908}), "bad_last_updated", "1647261908"),
    (
        "fallback_version_junk",
        body({"last_updated": None, "last_modified_date": "x"}),
        "bad_last_updated",
        "last_modified_date",
    ),
    # Anything else that cannot mean anything is refused, naming the field.
    ("kwh_text", body({"kwh": "about 3"}), "bad_field", "kwh: expected a number"),
    ("kwh_bool", body({"kwh": True}), "bad_field", "kwh: expected a number"),
    ("kwh_nan_text", body({"kwh": "NaN"}), "bad_field", "kwh"),
    ("kwh_infinity_text", body({"kwh": "-Infinity"}), "bad_field", "kwh"),
    ("kwh_list", body({"kwh": [1]}), "bad_field", "kwh: expected a number, got a list"),
    ("kwh_huge_text", body({"kwh": "1e5000"}), "bad_field", "kwh"),
    ("kwh_integer_too_long", data_text(kwh="1" * 2000), "bad_field", "kwh: expected a number within"),
    # Decimal() alone would take these; they are not numbers anyone sends on purpose.
    ("kwh_underscores", body({"kwh": "1_000"}), "bad_field", "kwh"),
    ("kwh_arabic_digits", body({"kwh": "١٢"}), "bad_field", "kwh"),
    ("kwh_hex", body({"kwh": "0x10"}), "bad_field", "kwh"),
    ("kwh_comma", body({"kwh": "0,11429"}), "bad_field", "kwh"),
    ("cost_object_junk", body({"total_cost": {"excl_vat": "n/a"}}), "bad_field", "total_cost.excl_vat"),
    (
        "start_epoch",
        body({"start_datetime": 1647261344}),
        "bad_field",
        "start_datetime: expected an ISO 8601",
    ),
    ("start_text", body({"start_datetime": "yesterday"}), "bad_field", "start_datetime"),
    ("created_junk", body({"created_date": "2022-13-01T00:00:00Z"}), "bad_field", "created_date"),
    ("modified_junk", body({"last_modified_date": "x"}), "bad_field", "last_modified_date"),
    ("currency_object", body({"currency": {"code": "INR"}}), "bad_field", "currency: expected text"),
    ("location_text", body({"location": "Bangalore"}), "bad_field", "location: expected an object"),
    ("evses_object", body({L + "evses": {"uid": "x"}}), "bad_field", L + "evses: expected a list"),
    ("evse_text", body({L + "evses.0": "AMP03*1"}), "bad_field", L + "evses[0]: expected an object"),
    (
        "evse_latitude",
        body({E + "coordinates.latitude": "12,87"}),
        "bad_field",
        L + "evses[0].coordinates.latitude",
    ),
    ("voltage_junk", body({C + "voltage": "230V"}), "bad_field", "connectors[0].voltage"),
    ("connectors_text", body({E + "connectors": "none"}), "bad_field", "connectors: expected a list"),
    ("capabilities_text", body({E + "capabilities": "RFID_READER"}), "bad_field", "capabilities"),
    ("capability_object", body({E + "capabilities": [{"a": 1}]}), "bad_field", "capabilities[0]"),
    ("publish_yes", body({L + "publish": "yes"}), "bad_field", L + "publish: expected true or false"),
    ("publish_number", body({L + "publish": 1}), "bad_field", L + "publish"),
    ("opening_times_list", body({L + "opening_times": []}), "bad_field", L + "opening_times"),
    ("operator_text", body({L + "operator": "CERO"}), "bad_field", L + "operator"),
    ("periods_object", body({"charging_periods": {}}), "bad_field", "charging_periods: expected a list"),
    (
        "period_start",
        body({"charging_periods.3.start_date_time": "12:37"}),
        "bad_field",
        "charging_periods[3].start_date_time",
    ),
    (
        "dimensions_text",
        body({"charging_periods.0.dimensions": "ENERGY"}),
        "bad_field",
        "charging_periods[0].dimensions",
    ),
    (
        "volume_junk",
        body({"charging_periods.1.dimensions.0.volume": "0.006 kWh"}),
        "bad_field",
        "charging_periods[1].dimensions[0].volume",
    ),
    (
        "dimension_type_list",
        body({"charging_periods.1.dimensions.0.type": ["ENERGY"]}),
        "bad_field",
        "dimensions[0].type",
    ),
    # Converting to UTC would leave the datetime range: refused, not crashed.
    ("year_1_east", body({"end_datetime": "0001-01-01T00:30:00+01:00"}), "bad_field", "end_datetime"),
    ("year_9999_west", body({"end_datetime": "9999-12-31T23:30:00-01:00"}), "bad_field", "end_datetime"),
]


@pytest.mark.parametrize(("raw", "kind", "fragment"), [c[1:] for c in REJECTED], ids=[c[0] for c in REJECTED])
def test_rejected(raw: bytes, kind: str, fragment: str) -> None:
    with pytest.raises(DocumentError) as caught:
        parse(raw)
    assert caught.value.kind == kind
    assert kind in ERROR_KINDS
    assert fragment in str(caught.value)
    assert isinstance(caught.value, PermanentError)  # never retried


def test_kinds_are_all_exercised() -> None:
    assert {kind for _, _, kind, _ in REJECTED} == ERROR_KINDS


def test_messages_are_short_and_never_the_body() -> None:
    secret = "S3CR3T-" + "x" * 5000
    for raw in (
        body({"kwh": secret}),
        body({"id": secret}),
        body({L + "name": ["a"], "extra": secret})[:-3],
        body({"start_datetime": secret}),
    ):
        with pytest.raises(DocumentError) as caught:
            parse(raw)
        assert len(str(caught.value)) < 200
        assert "x" * 50 not in str(caught.value)


def test_nesting_at_the_limit_is_accepted() -> None:
    # envelope (1) > data (2) > extra lists (3..64): exactly 64 levels.
    doc = parse(data_text(extra=nested(62)))
    assert doc.data["extra"] == json.loads(nested(62))


# --- accepted quirks ------------------------------------------------------------------------------

Get = Callable[[SessionDocument], Any]


def session(name: str) -> Get:
    return lambda doc: getattr(doc.session, name)


def location(name: str) -> Get:
    return lambda doc: None if doc.location is None else getattr(doc.location.row, name)


def evse(name: str, i: int = 0) -> Get:
    return lambda doc: None if doc.location is None else getattr(doc.location.evses[i].row, name)


def connector(name: str, i: int = 0) -> Get:
    return lambda doc: None if doc.location is None else getattr(doc.location.evses[0].connectors[i], name)


def evse_uids(doc: SessionDocument) -> list[str]:
    return [] if doc.location is None else [e.row.uid for e in doc.location.evses]


def dimensions(i: int) -> Get:
    """The period's rows as (dimension position, type, volume); (0, None, None) for none."""
    return lambda doc: [
        (p.dimension_index, p.dimension_type, p.volume) for p in doc.periods if p.period_index == i
    ]


# (case id, changes to the seed's data, what to read, expected)
ACCEPTED: list[tuple[str, Mapping[str, Any], Get, Any]] = [
    # Ids are case-insensitive (OCPI 2.2) and stored lower case; the sample mixes cases.
    ("id_upper", {"id": SEED_ID.upper()}, session("id"), SEED_ID),
    (
        "location_id_upper",
        {"location_id": "620BB06ABEAAA76C1E7657E1"},
        session("location_id"),
        "620bb06abeaaa76c1e7657e1",
    ),
    ("evse_uid_camel", {}, session("evse_uid"), "amp03*1"),
    ("connector_id_camel", {}, session("connector_id"), "in*111*eamp03*1"),
    ("location_key_upper", {L + "location_id": "LOC-A"}, location("location_id"), "loc-a"),
    ("location_gateway_id_upper", {L + "id": "ABC"}, location("gateway_id"), "abc"),
    ("evse_gateway_id_upper", {E + "id": "ABC"}, evse("gateway_id"), "abc"),
    ("connector_id_upper", {C + "id": "C-1"}, connector("id"), "c-1"),
    ("connector_parent_keys", {}, connector("evse_uid"), "amp03*1"),
    # Not key columns: kept exactly as sent.
    ("cpo_id_case_kept", {"cpoId": "ABC"}, session("cpo_id"), "ABC"),
    ("evse_id_case_kept", {}, evse("evse_id"), "IN*111*EAMP03*1"),
    # OCPI 2.2 spellings, so a gateway upgrade does not silently empty columns.
    (
        "start_date_time_alias",
        {"start_datetime": DELETE, "start_date_time": "2022-03-14T12:35:44Z"},
        session("start_datetime"),
        T,
    ),
    (
        "end_date_time_alias",
        {"end_datetime": None, "end_date_time": "2022-03-14T12:35:44Z"},
        session("end_datetime"),
        T,
    ),
    ("primary_spelling_wins", {"start_date_time": "2001-01-01T00:00:00Z"}, session("start_datetime"), T),
    ("evse_uid_alias", {"evseId": DELETE, "evse_uid": "AMP03*2"}, session("evse_uid"), "amp03*2"),
    ("connector_id_alias", {"connectorId": "", "connector_id": "1"}, session("connector_id"), "1"),
    ("cpo_id_snake", {"cpoId": DELETE, "cpo_id": "c"}, session("cpo_id"), "c"),
    (
        "auth_id_from_cdr_token",
        {"auth_id": DELETE, "cdr_token": {"uid": "TOKEN1"}},
        session("auth_id"),
        "TOKEN1",
    ),
    (
        "total_cost_price_object",
        {"total_cost": {"excl_vat": Decimal("1.71"), "incl_vat": "2.02"}},
        lambda d: (d.session.total_cost, d.session.total_cost_incl_vat),
        (Decimal("1.71"), Decimal("2.02")),
    ),
    (
        "total_cost_price_no_incl",
        {"total_cost": {"excl_vat": 2}},
        lambda d: (d.session.total_cost, d.session.total_cost_incl_vat),
        (Decimal(2), None),
    ),
    (
        "total_cost_number",
        {},
        lambda d: (d.session.total_cost, d.session.total_cost_incl_vat),
        (Decimal("1.71"), None),
    ),
    ("voltage_alias", {C + "voltage": DELETE, C + "max_voltage": 400}, connector("voltage"), Decimal(400)),
    ("amperage_alias", {C + "amperage": None, C + "max_amperage": "32"}, connector("amperage"), Decimal(32)),
    ("max_power_snake", {C + "max_electric_power": 7400}, connector("max_electric_power"), Decimal(7400)),
    ("max_power_camel", {C + "maxElectricPower": "22.5"}, connector("max_electric_power"), Decimal("22.5")),
    # Money and energy as JSON numbers land exact; as strings too; never through float.
    ("kwh_number_exact", {}, session("kwh"), Decimal("0.11429")),
    (
        "kwh_float_artefact",
        {"kwh": Decimal("0.30000000000000004")},
        session("kwh"),
        Decimal("0.30000000000000004"),
    ),
    ("kwh_string", {"kwh": "0.11429"}, session("kwh"), Decimal("0.11429")),
    ("kwh_string_spaces", {"kwh": " 1.5 "}, session("kwh"), Decimal("1.5")),
    ("kwh_integer", {"kwh": 3}, session("kwh"), Decimal(3)),
    ("kwh_exponent", {"kwh": Decimal("1.5E+2")}, session("kwh"), Decimal("150")),
    ("kwh_negative_v2g", {"kwh": "-0.5"}, session("kwh"), Decimal("-0.5")),
    ("kwh_string_plus", {"kwh": "+1"}, session("kwh"), Decimal(1)),
    ("kwh_string_leading_dot", {"kwh": ".5"}, session("kwh"), Decimal("0.5")),
    ("kwh_string_exponent", {"kwh": "2e-3"}, session("kwh"), Decimal("0.002")),
    ("kwh_empty_string", {"kwh": ""}, session("kwh"), None),
    ("kwh_null", {"kwh": None}, session("kwh"), None),
    ("rating_zero_kept", {}, location("rating"), Decimal("0.0")),
    # Coordinates: numbers in the location, strings in the evses (the sample has both).
    (
        "location_coordinates_numbers",
        {},
        lambda d: (location("latitude")(d), location("longitude")(d)),
        (Decimal("12.87667"), Decimal("77.67912")),
    ),
    (
        "evse_coordinates_strings",
        {},
        lambda d: (evse("latitude")(d), evse("longitude")(d)),
        (Decimal("12.87667"), Decimal("77.67912")),
    ),
    ("coordinates_null", {L + "coordinates": None}, location("latitude"), None),
    (
        "coordinates_empty_strings",
        {E + "coordinates": {"latitude": "", "longitude": ""}},
        evse("longitude"),
        None,
    ),
    # Text given as a number or a boolean is kept as its JSON text.
    ("party_id_number", {"party_id": 111}, session("party_id"), "111"),
    ("postal_code_number", {L + "postal_code": 560099}, location("postal_code"), "560099"),
    ("session_id_decimal", {"session_id": Decimal("7246.10")}, session("cpo_session_id"), "7246.10"),
    ("status_bool", {"status": False}, session("status"), "false"),
    # Unknown enum values are stored, never rejected (enumerations grow between versions).
    ("status_unknown", {"status": "SUSPENDED_EV"}, session("status"), "SUSPENDED_EV"),
    ("auth_method_unknown", {"auth_method": "NFC_MAGIC"}, session("auth_method"), "NFC_MAGIC"),
    (
        "power_type_unknown",
        {C + "power_type": "AC_2_PHASE_SPLIT"},
        connector("power_type"),
        "AC_2_PHASE_SPLIT",
    ),
    # Store what was sent: trailing spaces stay; empty strings mean absent.
    ("address_trailing_space", {}, location("address"), "Radiant Heritage "),
    ("name_spaces_only", {L + "name": "  "}, location("name"), "  "),
    ("name_empty", {L + "name": ""}, location("name"), None),
    ("currency_null", {"currency": None}, session("currency"), None),
    ("city_absent", {L + "city": DELETE}, location("city"), None),
    ("time_zone_non_iana", {L + "time_zone": "IST"}, location("time_zone"), "IST"),
    ("country", {L + "country": "IND"}, location("country"), "IND"),
    ("floor_level", {E + "floor_level": "-1"}, evse("floor_level"), "-1"),
    ("physical_reference", {E + "physical_reference": "Bay 7 "}, evse("physical_reference"), "Bay 7 "),
    (
        "operator",
        {},
        lambda d: (location("operator_name")(d), location("operator_website")(d)),
        ("CERO", "http://slf.ceromobility.com/"),
    ),
    ("operator_null", {L + "operator": None}, location("operator_name"), None),
    ("operator_empty_string", {L + "operator": ""}, location("operator_website"), None),
    # Booleans as JSON booleans, or as the strings "true"/"false".
    ("twentyfourseven", {}, location("twentyfourseven"), True),
    (
        "twentyfourseven_string",
        {L + "opening_times.twentyfourseven": "FALSE"},
        location("twentyfourseven"),
        False,
    ),
    ("opening_times_null", {L + "opening_times": None}, location("twentyfourseven"), None),
    ("publish_string", {L + "publish": "true"}, location("publish"), True),
    ("publish_empty_string", {L + "publish": ""}, location("publish"), None),
    ("charging_when_closed", {}, location("charging_when_closed"), False),
    # Capabilities: a list of texts; other scalars as text, nulls dropped.
    ("capabilities", {}, evse("capabilities"), ("REMOTE_START_STOP_CAPABLE", "RFID_READER")),
    (
        "capabilities_mixed",
        {E + "capabilities": ["X", 1, True, None, ""]},
        evse("capabilities"),
        ("X", "1", "true"),
    ),
    ("capabilities_empty", {E + "capabilities": []}, evse("capabilities"), ()),
    ("capabilities_null", {E + "capabilities": None}, evse("capabilities"), None),
    # Versions: the session's, the location's, and the evse's and connector's fallbacks.
    ("version_is_last_updated", {}, session("last_updated"), datetime(2022, 3, 14, 12, 45, 8, tzinfo=UTC)),
    (
        "version_from_last_modified",
        {"last_updated": DELETE},
        session("last_updated"),
        datetime(2022, 3, 14, 12, 45, 11, 579000, tzinfo=UTC),
    ),
    (
        "version_last_updated_empty",
        {"last_updated": ""},
        session("last_updated"),
        datetime(2022, 3, 14, 12, 45, 11, 579000, tzinfo=UTC),
    ),
    ("location_version", {}, location("last_modified_date"), LOCATION_VERSION),
    (
        "location_version_last_updated",
        {L + "last_modified_date": None, L + "last_updated": "2022-04-05T00:00:00Z"},
        location("last_modified_date"),
        datetime(2022, 4, 5, tzinfo=UTC),
    ),
    (
        "location_version_created",
        {L + "last_modified_date": DELETE},
        location("last_modified_date"),
        datetime(2022, 3, 5, 9, 37, 57, 382000, tzinfo=UTC),
    ),
    (
        "location_version_none",
        {L + "last_modified_date": DELETE, L + "created_date": ""},
        location("last_modified_date"),
        None,
    ),
    ("evse_version_from_location", {}, evse("last_updated"), LOCATION_VERSION),
    (
        "evse_version_own",
        {E + "last_updated": "2022-05-01T00:00:00Z"},
        evse("last_updated"),
        datetime(2022, 5, 1, tzinfo=UTC),
    ),
    (
        "evse_version_own_modified",
        {E + "last_modified_date": "2022-05-02T00:00:00Z"},
        evse("last_updated"),
        datetime(2022, 5, 2, tzinfo=UTC),
    ),
    (
        "connector_version_from_evse",
        {E + "last_updated": "2022-05-01T00:00:00Z"},
        connector("last_updated"),
        datetime(2022, 5, 1, tzinfo=UTC),
    ),
    (
        "connector_version_own",
        {C + "last_updated": "2022-06-01T00:00:00"},
        connector("last_updated"),
        datetime(2022, 6, 1, tzinfo=UTC),
    ),
    # The location's key: its own location_id, else the session's; with neither, no location.
    (
        "location_id_from_session",
        {L + "location_id": DELETE},
        location("location_id"),
        "620bb06abeaaa76c1e7657e1",
    ),
    (
        "session_location_id_from_location",
        {"location_id": None},
        session("location_id"),
        "620bb06abeaaa76c1e7657e1",
    ),
    ("location_without_any_id", {L + "location_id": "", "location_id": DELETE}, lambda d: d.location, None),
    ("location_null", {"location": None}, lambda d: d.location, None),
    (
        "location_absent_keeps_location_id",
        {"location": DELETE},
        session("location_id"),
        "620bb06abeaaa76c1e7657e1",
    ),
    # EVSEs and connectors: empty or null lists, null items, missing keys.
    ("evses_empty", {L + "evses": []}, evse_uids, []),
    ("evses_null", {L + "evses": None}, evse_uids, []),
    ("evse_null_item", {L + "evses": [None, {"uid": "B"}]}, evse_uids, ["b"]),
    ("evse_uid_from_id", {E + "uid": None}, evse_uids, ["9c97a7b656f4c1a217fda8c8262c330d"]),
    ("evse_without_key_skipped", {E + "uid": DELETE, E + "id": ""}, evse_uids, []),
    ("connectors_empty", {E + "connectors": []}, lambda d: evse_doc(d).connectors, ()),
    ("connectors_null", {E + "connectors": None}, lambda d: evse_doc(d).connectors, ()),
    ("connector_without_id_skipped", {C + "id": None}, lambda d: evse_doc(d).connectors, ()),
    ("duplicates_kept_for_flatten", {L + "evses": [{"uid": "A"}, {"uid": "a"}]}, evse_uids, ["a", "a"]),
    # Charging periods: volume as string or number, no dimensions, null lists and items.
    ("volume_string", {}, dimensions(0), [(0, "ENERGY", Decimal("0.001"))]),
    (
        "volume_number",
        {"charging_periods.0.dimensions.0.volume": Decimal("0.0010")},
        dimensions(0),
        [(0, "ENERGY", Decimal("0.0010"))],
    ),
    ("volume_null", {"charging_periods.0.dimensions.0.volume": None}, dimensions(0), [(0, "ENERGY", None)]),
    (
        "dimension_type_unknown",
        {"charging_periods.0.dimensions.0.type": "RESERVATION_TIME"},
        dimensions(0),
        [(0, "RESERVATION_TIME", Decimal("0.001"))],
    ),
    ("dimensions_empty", {"charging_periods.0.dimensions": []}, dimensions(0), [(0, None, None)]),
    ("dimensions_null", {"charging_periods.0.dimensions": None}, dimensions(0), [(0, None, None)]),
    ("dimensions_absent", {"charging_periods.0.dimensions": DELETE}, dimensions(0), [(0, None, None)]),
    (
        "dimension_null_item",
        {"charging_periods.0.dimensions": [None, {"type": "TIME", "volume": 1}]},
        dimensions(0),
        [(1, "TIME", Decimal(1))],
    ),
    ("periods_null", {"charging_periods": None}, lambda d: d.periods, ()),
    ("periods_absent", {"charging_periods": DELETE}, lambda d: d.periods, ()),
    (
        "period_null_item_keeps_positions",
        {"charging_periods.0": None},
        lambda d: list(dict.fromkeys(p.period_index for p in d.periods))[:2],
        [1, 2],
    ),
    (
        "period_start_alias",
        {
            "charging_periods.0.start_date_time": DELETE,
            "charging_periods.0.start_datetime": "2022-03-14T12:35:44Z",
        },
        lambda d: d.periods[0].start_date_time,
        T,
    ),
    # Unknown fields are ignored by the typed document but kept in the raw one.
    (
        "unknown_field_kept",
        {"vendor_blob": {"x": [1, Decimal("2.50")]}},
        lambda d: d.data["vendor_blob"],
        {"x": [1, Decimal("2.50")]},
    ),
    (
        "keys_differing_in_case_are_not_duplicates",
        {"ID": "other"},
        lambda d: (d.session.id, d.data["ID"]),
        (SEED_ID, "other"),
    ),
]


def evse_doc(doc: SessionDocument) -> Any:
    assert doc.location is not None
    return doc.location.evses[0]


@pytest.mark.parametrize(
    ("changes", "get", "expected"), [c[1:] for c in ACCEPTED], ids=[c[0] for c in ACCEPTED]
)
def test_accepted(changes: Mapping[str, Any], get: Get, expected: Any) -> None:
    assert get(parse(body(changes))) == expected


# Every timestamp field goes through the same function; start_datetime stands for all of them.
TIMESTAMPS: list[tuple[str, Any, datetime | None]] = [
    ("utc_offset", "2022-03-14T12:35:44.000+00:00", T),  # the sample's session fields
    ("z_fraction", "2022-03-14T12:35:44.000Z", T),  # the sample's charging periods
    ("z", "2022-03-14T12:35:44Z", T),
    ("lower_z", "2022-03-14t12:35:44z", T),
    ("no_zone", "2022-03-14T12:35:44", T),  # OCPI: no designator means UTC
    ("no_zone_fraction", "2022-03-14T12:35:44.123", T + timedelta(milliseconds=123)),
    ("space_separator", "2022-03-14 12:35:44", T),
    ("ist_offset", "2022-03-14T18:05:44+05:30", T),  # converted to the UTC instant
    ("negative_offset", "2022-03-14T09:35:44-03:00", T),
    ("offset_without_colon", "2022-03-14T18:05:44+0530", T),
    ("seven_digit_fraction", "2022-03-14T12:35:44.1234567Z", T + timedelta(microseconds=123456)),
    ("surrounding_spaces", " 2022-03-14T12:35:44Z ", T),
    ("empty", "", None),
    ("blank", "   ", None),
    ("null", None, None),
]


@pytest.mark.parametrize(("value", "expected"), [c[1:] for c in TIMESTAMPS], ids=[c[0] for c in TIMESTAMPS])
def test_timestamp_quirks(value: Any, expected: datetime | None) -> None:
    got = parse(body({"start_datetime": value})).session.start_datetime
    assert got == expected
    if got is not None:
        assert got.tzinfo is UTC


@pytest.mark.parametrize(
    "value",
    ["2022-03-14", "20220314T123544Z", "2022-03-14T25:00:00Z", "14/03/2022 12:35", "T", "2022-03-14T", True],
)
def test_timestamp_junk(value: Any) -> None:
    with pytest.raises(DocumentError, match="start_datetime") as caught:
        parse(body({"start_datetime": value}))
    assert caught.value.kind == "bad_field"


def test_requested_id_is_compared_case_insensitively() -> None:
    assert parse(body({"id": SEED_ID.upper()}), requested_id=SEED_ID[:8] + SEED_ID[8:].upper()).id == SEED_ID


def test_byte_order_mark_is_accepted() -> None:
    # Some Windows proxies prepend one; it is not part of the JSON.
    assert parse(b"\xef\xbb\xbf" + body()).id == SEED_ID


def test_status_code_absent_is_accepted() -> None:
    assert parse(envelope_body({"status_code": DELETE})).id == SEED_ID


def test_valid_surrogate_pair_is_accepted() -> None:
    doc = parse(data_text(name='"charger \\ud83d\\udd0c"'))
    assert doc.data["name"] == "charger \U0001f50c"


def test_data_is_the_object_as_parsed() -> None:
    doc = parse(body())
    assert doc.data == seed_data()
    assert list(doc.data) == list(seed_data())  # received order
    assert doc.data["kwh"] == Decimal("0.11429")
    assert str(doc.data["location"]["rating"]) == "0.0"


def test_parse_raw_reads_the_stored_document() -> None:
    stored = parse(body()).data
    again = parse_raw(dumps_exact(stored), requested_id=SEED_ID)
    assert again == parse(body())
    with pytest.raises(DocumentError) as caught:
        parse_raw("[1]", requested_id=SEED_ID)
    assert caught.value.kind == "no_data"
    with pytest.raises(DocumentError) as caught:
        parse_raw('{"id": "\ud800"}', requested_id=SEED_ID)
    assert caught.value.kind == "not_utf8"


def test_parse_raw_reads_postgresql_jsonb_text() -> None:
    # jsonb::text orders keys by length, then bytes, and puts spaces after ":" and ",".
    data = parse(body()).data
    reordered = {name: data[name] for name in sorted(data, key=lambda n: (len(n), n))}
    jsonb_text = dumps_exact(reordered).replace('","', '", "').replace('":', '": ')
    again = parse_raw(jsonb_text, requested_id=SEED_ID)
    assert (again.session, again.periods, again.location) == (
        parse(body()).session,
        parse(body()).periods,
        parse(body()).location,
    )


# --- dumps_exact --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (Decimal("0.11429"), "0.11429"),
        (Decimal("1.71"), "1.71"),
        (Decimal("0.0"), "0.0"),  # the sample's rating: the trailing zero survives
        (Decimal("0.0010"), "0.0010"),
        (Decimal("-0"), "-0"),
        (Decimal("1.5E+10"), "1.5E+10"),
        (Decimal("0.30000000000000004"), "0.30000000000000004"),
        (12345678901234567890123, "12345678901234567890123"),
        (True, "true"),
        (None, "null"),
        ("Radiant Heritage ", '"Radiant Heritage "'),
        ('q"\\\n\x01', '"q\\"\\\\\\n\\u0001"'),
        ("Café ⚡", '"Café ⚡"'),  # UTF-8 kept, not \u-escaped
        ({"b": 1, "a": [], "c": {}}, '{"b":1,"a":[],"c":{}}'),  # received order, compact
        ([Decimal("1.0"), "x", [None]], '[1.0,"x",[null]]'),
    ],
)
def test_dumps_exact(value: Any, text: str) -> None:
    assert dumps_exact(value) == text
    assert json.loads(text, parse_float=Decimal) == value


def test_dumps_exact_round_trips_the_sample() -> None:
    data = parse(body()).data
    text = dumps_exact(data)
    assert json.loads(text, parse_float=Decimal) == data
    assert '"kwh":0.11429' in text
    assert '"total_cost":1.71' in text
    assert '"rating":0.0' in text


@pytest.mark.parametrize(
    "value", [Decimal("NaN"), Decimal("Infinity"), float("nan"), {1: "x"}, object(), b"x"]
)
def test_dumps_exact_refuses_what_is_not_json(value: Any) -> None:
    with pytest.raises((ValueError, TypeError)):
        dumps_exact([value])


@pytest.mark.parametrize(
    ("code", "error", "kind"),
    [
        (2004, TransientError, "rate_limited_2004"),  # rate limited with HTTP 200: retry later
        (2003, PermanentError, "not_found"),  # the vendor hub's "not found"
    ],
)
def test_envelope_status_codes_map_to_the_worker_s_errors(
    code: int, error: type[Exception], kind: str
) -> None:
    with pytest.raises(error) as caught:
        parse(envelope_body({"status_code": code, "data": None}))
    assert getattr(caught.value, "kind", None) == kind


def test_envelope_2002_means_the_credentials_were_refused() -> None:
    with pytest.raises(CredentialsRejected):
        parse(envelope_body({"status_code": 2002, "data": None}))


# --- the location memo ------------------------------------------------------------------------


def test_a_location_seen_before_is_not_read_again() -> None:
    """Every session at a location embeds the same object: the memo gives the first reading
    back (the very object), for the same text and the same session location id only."""
    memo = LocationMemo(max_key_bytes=1 << 20)
    loc = seed_data()["location"]
    first = memo.read(loc, None)
    assert first is not None
    again = memo.read(copy.deepcopy(loc), None)  # an equal object, not the same one
    assert again is first
    assert memo.read(loc, None) == read_location(loc, None)
    without_id = {k: v for k, v in loc.items() if k != "location_id"}
    assert memo.read(without_id, "from-session").row.location_id == "from-session"  # type: ignore[union-attr]
    assert memo.read(without_id, "other").row.location_id == "other"  # type: ignore[union-attr]
    changed = {**loc, "name": "Elsewhere"}
    assert memo.read(changed, None).row.name == "Elsewhere"  # type: ignore[union-attr]


def test_a_bad_location_fails_every_time() -> None:
    memo = LocationMemo(max_key_bytes=1 << 20)
    bad = {**seed_data()["location"], "coordinates": {"latitude": "north"}}
    for _ in range(2):
        with pytest.raises(DocumentError, match=r"location\.coordinates\.latitude"):
            memo.read(bad, None)


def test_the_location_memo_is_bounded() -> None:
    loc = seed_data()["location"]
    size = len(canonical_json(loc))
    memo = LocationMemo(max_key_bytes=2 * size + size // 2)
    first = memo.read(loc, None)
    memo.read({**loc, "name": "b"}, None)
    assert memo.read(loc, None) is first
    memo.read({**loc, "name": "c"}, None)  # over the budget: everything kept so far is let go
    assert memo.read(loc, None) is not first
    assert memo.read(loc, None) == first


def test_number_texts_read_before_give_the_same_decimal_and_the_memo_is_bounded(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    numbers.PLAIN_DECIMALS.clear()
    monkeypatch.setattr(numbers, "PLAIN_DECIMALS_MAX", 3)
    first = coerce.decimal("1.50", "f")
    assert coerce.decimal("1.50", "f") is first
    assert str(first) == "1.50"
    for text in ("1", "2", "3", "4"):
        assert coerce.decimal(text, "f") == Decimal(text)
        assert len(numbers.PLAIN_DECIMALS) <= 3
    with pytest.raises(DocumentError):  # never kept, so refused every time
        coerce.decimal("1_000", "f")
    assert "1_000" not in numbers.PLAIN_DECIMALS
