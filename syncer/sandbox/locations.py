"""The pool of charging locations that sessions embed.

A location depends on ``(seed, index)`` only, so every session at that location embeds the very
same object (evses and connectors included), as a real gateway's snapshot would be. Location
versions never move (location generation 0).
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any

from syncer.sandbox.stable import decimal_number, decimal_text, format_time, hex_id, rng_for

__all__ = ["CURRENCIES", "location_document"]

# (country_code, ISO alpha-3, party_id, currency, time zones, cities with postal code pattern
# and coordinates in 1e-5 degrees)
_COUNTRIES: tuple[tuple[str, str, str, str, tuple[str, ...], tuple[tuple[str, str, int, int], ...]], ...] = (
    (
        "IN",
        "IND",
        "111",
        "INR",
        ("Asia/Kolkata", "Asia/Calcutta", "IST"),
        (
            ("Bangalore", "5600##", 1287667, 7767912),
            ("Mumbai", "4000##", 1907609, 7287742),
            ("Pune", "4110##", 1852043, 7385674),
            ("Chennai", "6000##", 1308268, 8027072),
            ("Hyderabad", "5000##", 1738504, 7848667),
            ("New Delhi", "1100##", 2861394, 7720902),
        ),
    ),
    (
        "NL",
        "NLD",
        "EVN",
        "EUR",
        ("Europe/Amsterdam", "CET"),
        (
            ("Amsterdam", "10## AB", 5237403, 489158),
            ("Utrecht", "35## CD", 5209074, 512142),
        ),
    ),
    (
        "DE",
        "DEU",
        "EVD",
        "EUR",
        ("Europe/Berlin", "CET"),
        (
            ("München", "80###", 4813743, 1157549),
            ("Köln", "50###", 5093753, 696028),
            ("Berlin", "10###", 5252000, 1340495),
        ),
    ),
)
_COUNTRY_WEIGHTS = (70, 15, 15)
CURRENCIES = {entry[0]: entry[3] for entry in _COUNTRIES}
"""The currency a session at a location of each country_code is billed in."""
_TYPES = ("ON_STREET", "PARKING_GARAGE", "UNDERGROUND_GARAGE", "PARKING_LOT", "OTHER", "UNKNOWN")
_NAMES = (
    "EVnnovator Lab",
    "Radiant Plaza",
    "Tech Park Gate",
    "Metro Mall",
    "Lakeside Hub",
    "Central Station",
    "Harbour Point",
    "Green Fuel Stop",
    "Café Müller",
    "Airport P4",
)
_STREETS = (
    "Radiant Heritage",
    "MG Road",
    "Outer Ring Road",
    "Station Road",
    "Keizersgracht 12",
    "Hauptstraße 7",
    "Lake View Lane",
    "Industrial Area Phase 2",
)
_OPERATORS = (
    ("CERO", "http://slf.ceromobility.com/"),
    ("ChargeGrid", "https://chargegrid.example/"),
    ("VoltWay", ""),
    ("EVnnovator", "https://evnnovator.example/"),
)
_STATUSES = (
    "AVAILABLE",
    "AVAILABLE",
    "CHARGING",
    "BLOCKED",
    "INOPERATIVE",
    "OUTOFORDER",
    "RESERVED",
    "UNKNOWN",
)
_CAPABILITIES = (
    "CHARGING_PROFILE_CAPABLE",
    "CREDIT_CARD_PAYABLE",
    "REMOTE_START_STOP_CAPABLE",
    "RESERVABLE",
    "RFID_READER",
    "UNLOCK_CAPABLE",
)
# (standard, format, power_type, voltage, amperage)
_CONNECTORS = (
    ("DOMESTIC_E", "SOCKET", "AC_1_PHASE", 230, 14),
    ("IEC_62196_T2", "SOCKET", "AC_3_PHASE", 400, 32),
    ("IEC_62196_T2", "CABLE", "AC_1_PHASE", 230, 32),
    ("IEC_62196_T2_COMBO", "CABLE", "DC", 500, 125),
    ("CHADEMO", "CABLE", "DC", 500, 100),
    ("GBT_DC", "CABLE", "DC", 750, 200),
)
_EPOCH = datetime(2021, 1, 1, tzinfo=UTC)


def location_document(index: int, seed: int) -> dict[str, Any]:
    """The location with pool position ``index``; a fresh dict on every call."""
    rng = rng_for(seed, "location", index)
    country, alpha3, party, _, zones, cities = rng.choices(_COUNTRIES, _COUNTRY_WEIGHTS)[0]
    city, postal, lat, lon = rng.choice(cities)
    lat += rng.randrange(-4000, 4000)
    lon += rng.randrange(-4000, 4000)
    style = rng.choices(("+00:00", "Z", "naive"), (80, 12, 8))[0]
    created = _EPOCH + timedelta(seconds=rng.randrange(0, 300 * 86400), milliseconds=rng.randrange(1000))
    modified = created + timedelta(seconds=rng.randrange(60, 200 * 86400), milliseconds=rng.randrange(1000))
    site = f"{rng.choice('ABCDEFGHJKLMNPQRSTUVWXYZ')}{rng.choice('ABCDEFGHJKLMNPQRSTUVWXYZ')}{index:02d}"

    evses = _evses(rng, country=country, party=party, site=site, lat=lat, lon=lon, modified=modified)
    name = rng.choice(_NAMES)
    address = f"{rng.choice(_STREETS)}"
    if rng.random() < 0.10:
        name += " "
    if rng.random() < 0.20:
        address += " "
    operator_name, website = rng.choice(_OPERATORS)
    postal_code = "".join(str(rng.randrange(10)) if ch == "#" else ch for ch in postal)
    if rng.random() < 0.08:
        postal_code = ""
    twentyfourseven = rng.random() < 0.7
    location: dict[str, Any] = {
        "coordinates": {"latitude": decimal_number(lat, 5), "longitude": decimal_number(lon, 5)},
        "evses": evses,
        "id": hex_id(rng),
        "created_date": format_time(created, style),
        "last_modified_date": format_time(modified, style),
        "location_id": hex_id(rng, 24),
        "cpo_id": hex_id(rng),
        "cpo_resource_id": hex_id(rng),
        "type": rng.choice(_TYPES),
        "name": name,
        "address": address,
        "city": city,
        "postal_code": postal_code,
        "country": alpha3,
        "operator": {"name": operator_name, "website": website or None},
        "opening_times": {
            "twentyfourseven": twentyfourseven,
            "regular_hours": None
            if twentyfourseven
            else [{"weekday": day, "period_begin": "08:00", "period_end": "20:00"} for day in range(1, 6)],
            "exceptional_openings": None,
            "exceptional_closings": None,
        },
        "charging_when_closed": rng.random() < 0.3,
        "last_modified_by": rng.choice(("admin", "ops-sync", "cpo-portal")),
        "rating": decimal_number(rng.choice((0, 0, 0, 35, 42, 48)), 1),
        "country_code": country,
        "party_id": party,
        "publish": rng.random() < 0.8,
        "time_zone": rng.choice(zones),
    }
    if rng.random() < 0.10:
        location["time_zone"] = None
    return location


def _evses(
    rng: random.Random, *, country: str, party: str, site: str, lat: int, lon: int, modified: datetime
) -> list[dict[str, Any]]:
    roll = rng.random()
    if roll < 0.05:
        return []  # a location published before its hardware
    count = rng.choices((1, 2, 3, 4), (35, 35, 20, 10))[0]
    shared_evse_id = roll > 0.95  # several EVSEs under one evse_id; uid stays the key
    unknown_power = rng.random() < 0.08
    empty_connectors = rng.random() < 0.06
    evse_style = rng.choices(("+00:00", "Z", "naive"), (70, 20, 10))[0]
    evses: list[dict[str, Any]] = []
    for number in range(1, count + 1):
        uid = f"{site}*{number}"
        evse_id = f"{country}*{party}*E{site}*{1 if shared_evse_id else number}"
        connectors: list[dict[str, Any]] = []
        if not (empty_connectors and number == count):
            for position in range(rng.choices((1, 2, 3), (60, 30, 10))[0]):
                standard, fmt, power_type, voltage, amperage = rng.choice(_CONNECTORS)
                if unknown_power and position == 0:
                    power_type = "AC_2_PHASE_SPLIT"
                connector: dict[str, Any] = {
                    "id": hex_id(rng),
                    "standard": standard,
                    "format": fmt,
                    "power_type": power_type,
                    "voltage": voltage,
                    "amperage": amperage,
                    "tariff_id": rng.choice(("Default", "Default", "Peak", None, "")),
                }
                if power_type == "DC":
                    connector["max_electric_power"] = voltage * amperage
                if rng.random() < 0.4:
                    connector["last_updated"] = format_time(
                        modified - timedelta(hours=position + 1), evse_style
                    )
                connectors.append(connector)
        evse: dict[str, Any] = {
            "id": hex_id(rng),
            "uid": uid,
            "evse_id": evse_id,
            "status": rng.choice(_STATUSES) if rng.random() < 0.95 else None,
            "capabilities": sorted(rng.sample(_CAPABILITIES, rng.randrange(0, 4))),
            "connectors": connectors,
            "coordinates": {
                "latitude": decimal_text(lat + rng.randrange(-20, 20), 5),
                "longitude": decimal_text(lon + rng.randrange(-20, 20), 5),
            },
        }
        if rng.random() < 0.5:
            evse["floor_level"] = rng.choice(("0", "-1", "B2", ""))
            evse["physical_reference"] = f"{number}"
        if rng.random() < 0.6:
            evse["last_updated"] = format_time(modified - timedelta(minutes=number), evse_style)
        evses.append(evse)
    return evses
