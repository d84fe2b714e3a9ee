"""Pure, deterministic session documents in the shape of the vendor's sample.

A document depends on ``(seed, id.lower(), generation, locations)`` only. ``generation`` moves
``last_updated`` (and ``last_modified_date``) forward by one minute per bump round that chose the
id, and nothing else. Every quirk listed in the contract shows up in some documents, decided by a
hash of the id, so a test can find and count them.
"""

from __future__ import annotations

import copy
import functools
import json
import random
import re
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

from syncer.sandbox.locations import CURRENCIES, location_document
from syncer.sandbox.stable import (
    below,
    decimal_number,
    decimal_text,
    format_time,
    hex_id,
    pick,
    rng_for,
    stable_fraction,
)

__all__ = [
    "ID_PATTERN",
    "chosen",
    "envelope",
    "error_body",
    "generation",
    "session_body",
    "session_document",
]

ID_PATTERN = re.compile(r"[A-Za-z0-9._-]{1,64}")

# Per-document quirk probabilities, drawn in this order from the id's stream.
_QUIRKS = (
    ("upper_id", 0.07),
    ("ocpi22", 0.07),
    ("nulls", 0.12),
    ("empty_strings", 0.10),
    ("vendor_blob", 0.10),
    ("location_id_case", 0.05),
    ("cost_object", 0.10),
    ("cost_artefact", 0.08),
    ("flux", 0.06),
    ("empty_periods", 0.15),
    ("mixed_dims", 0.40),
    ("v2g", 0.03),
)
_TIME_STYLES = (("default", 62), ("+00:00", 10), ("Z", 10), ("naive", 10), ("+05:30", 5), ("-03:00", 3))
_STATUSES = (
    ("COMPLETED", 80),
    ("ACTIVE", 7),
    ("INVALID", 2),
    ("PENDING", 2),
    ("RESERVATION", 1),
    ("SUSPENDED_EV", 8),
)
_AUTH_METHODS = (("AUTH_REQUEST", 60), ("WHITELIST", 20), ("COMMAND", 14), ("NFC_MAGIC", 6))
# optional fields the "nulls" quirk may blank ("end" is end_datetime or end_date_time)
_NULLABLE = ("evseId", "connectorId", "cpoId", "auth_id", "session_id", "created_date", "total_cost", "end")
_EPOCH = datetime(2022, 1, 1)  # naive UTC: cheaper to format
_shared_location = functools.lru_cache(maxsize=4096)(location_document)


def chosen(id: str, round_no: int, share: float, seed: int) -> bool:
    """Whether bump round ``round_no`` (1-based) with ``share`` changed session ``id``."""
    return stable_fraction(seed, round_no, id.lower()) < share


def generation(id: str, rounds: Iterable[tuple[int, float]], seed: int) -> int:
    """How many of the bump ``rounds`` ``(round_no, share)`` chose ``id``."""
    return sum(1 for round_no, share in rounds if chosen(id, round_no, share, seed))


def session_document(id: str, generation: int, seed: int, locations: int) -> dict[str, Any]:
    """The ``data`` object the gateway returns for session ``id`` at ``generation`` (a fresh dict)."""
    data = _session(id, generation, seed, locations)[0]
    data["location"] = copy.deepcopy(data["location"])
    return data


def envelope(
    data: Any, *, status_code: int = 1000, status_message: str = "Success", timestamp: str | None = None
) -> dict[str, Any]:
    """Wrap ``data`` in the gateway's envelope; ``timestamp`` defaults to now (UTC, no zone)."""
    if timestamp is None:
        timestamp = format_time(datetime.now(UTC), "naive")
    return {
        "status_code": status_code,
        "status_message": status_message,
        "timestamp": timestamp,
        "data": data,
    }


def error_body(status_code: int, status_message: str) -> bytes:
    """An error envelope (no ``data``), as the gateway sends with HTTP 4xx/5xx."""
    body = envelope(None, status_code=status_code, status_message=status_message)
    del body["data"]
    return _dump(body)


def session_body(id: str, generation: int, seed: int, locations: int) -> bytes:
    """The HTTP body for a successful ``GET /sessions/{id}``; identical bytes on every call."""
    data, response_time = _session(id, generation, seed, locations)
    return _dump(envelope(data, timestamp=format_time(response_time, "naive")))


def _dump(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False).encode()


def _session(id: str, generation: int, seed: int, locations: int) -> tuple[dict[str, Any], datetime]:
    """The document and the (deterministic) time the gateway answered.

    The embedded location is shared with every other document at that location (cached): copy
    it before changing it.
    """
    rng = rng_for(seed, "session", id.lower())
    rand = rng.random
    quirk = {name: rand() < share for name, share in _QUIRKS}
    style = _weighted(rng, _TIME_STYLES)
    session_style, period_style = ("+00:00", "Z") if style == "default" else (style, style)
    volume_style = _weighted(rng, (("string", 85), ("number", 10), ("mixed", 5)))
    status = _weighted(rng, _STATUSES)
    auth_method = _weighted(rng, _AUTH_METHODS)

    location = _shared_location(min(locations - 1, int(locations * rand() ** 1.5)), seed)
    evse = pick(rng, location["evses"]) if location["evses"] else None
    start = _EPOCH + timedelta(seconds=below(rng, 1200 * 86400), milliseconds=below(rng, 1000))
    interval = pick(rng, (30, 30, 30, 60, 300, 900))
    power_w = pick(rng, (720, 3300, 7400, 11000, 22000, 50000))
    count = min(60, max(1, round(rng.triangular(1, 60, 30))))
    parking = status == "COMPLETED" and count > 1 and rand() < 0.5

    first = start + timedelta(seconds=5 + below(rng, 15))
    periods, energy_total = _periods(
        rng,
        quirk,
        count=count,
        first=first,
        interval=interval,
        power_w=power_w,
        parking=parking,
        volume_style=volume_style,
        period_style=period_style,
    )
    last_period = first + timedelta(seconds=(count - 1) * interval)
    end = last_period + timedelta(seconds=8 if parking else interval) if status == "COMPLETED" else None
    # the version: after the last period (whose start has up to 1 s of jitter), + 1 minute per bump
    updated = (end or last_period + timedelta(seconds=1)) + timedelta(
        milliseconds=below(rng, 4000), minutes=generation
    )
    kwh_units = energy_total * 100 + below(rng, 100)  # hundred-thousandths of a kWh
    currency = CURRENCIES.get(location["country_code"], "EUR")
    price = 1200 + below(rng, 1400) if currency == "INR" else 25 + below(rng, 55)  # cents per kWh
    total_cost = _total_cost(rng, kwh_units, price, quirk["cost_object"], quirk["cost_artefact"])

    ocpi22 = quirk["ocpi22"]
    start_key, end_key = (
        ("start_date_time", "end_date_time") if ocpi22 else ("start_datetime", "end_datetime")
    )
    location_id = location["location_id"]
    data: dict[str, Any] = {
        "evseId": evse["uid"] if evse else None,
        "connectorId": evse["evse_id"] if evse else None,
        "id": id.upper() if quirk["upper_id"] else id,
        "created_date": format_time(start + timedelta(seconds=3, milliseconds=492), session_style),
        "last_modified_date": format_time(updated + timedelta(seconds=3, milliseconds=579), session_style),
        "party_id": location["party_id"],
        "country_code": location["country_code"],
        "location_id": location_id.upper() if quirk["location_id_case"] else location_id,
        "session_id": str(10**8 + below(rng, 9 * 10**8)),
        "cpoId": location["cpo_resource_id"],
        start_key: format_time(start, session_style),
        end_key: format_time(end, session_style) if end else None,
        "kwh": decimal_number(kwh_units, 5),
        "auth_id": hex_id(rng),
        "auth_method": auth_method,
        "location": location,
        "currency": currency,
        "charging_periods": periods,
        "total_cost": total_cost,
        "status": status,
        "last_updated": format_time(updated, session_style),
    }
    if ocpi22:  # 2.2 snake_case names beside the vendor's camelCase ones
        data["evse_uid"] = data["evseId"]
        data["connector_id"] = data["connectorId"]
    if quirk["nulls"]:
        for name in rng.sample(_NULLABLE, 2 + below(rng, 2)):
            data[end_key if name == "end" else name] = None
    if quirk["empty_strings"]:
        for name in rng.sample(("auth_id", "session_id", "cpoId", "connectorId"), 1 + below(rng, 2)):
            data[name] = ""
    if quirk["vendor_blob"]:
        data["vendor_blob"] = {
            "schema": 3,
            "source": pick(rng, ("ocpp-1.6j", "ocpp-2.0.1")),
            "meter": {"start": below(rng, 10**6), "stop": None},
            "tags": ["sim"],
        }
    return data, updated + timedelta(days=20, seconds=below(rng, 86400))


def _periods(
    rng: random.Random,
    quirk: dict[str, bool],
    *,
    count: int,
    first: datetime,
    interval: int,
    power_w: int,
    parking: bool,
    volume_style: str,
    period_style: str,
) -> tuple[list[dict[str, Any]], int]:
    """``count`` charging periods ``interval`` seconds apart, and the energy they add up to.

    The hot path of a cache miss, hence the inlined draws (``int(rand() * n)`` is ``below``).
    """
    rand = rng.random
    volume = _volume_writer(rng, volume_style)
    periods: list[dict[str, Any]] = []
    energy_total = 0  # thousandths of a kWh
    empty_at = below(rng, count) if quirk["empty_periods"] else -1
    flux_at = below(rng, count) if quirk["flux"] else -1
    v2g, mixed = quirk["v2g"], quirk["mixed_dims"]
    step = timedelta(seconds=interval)
    for k in range(count):
        at = first + k * step + timedelta(milliseconds=int(rand() * 3) * 500)
        energy = max(1, power_w * interval * (60 + int(rand() * 41)) // 360_000)
        if v2g and rand() < 0.3:
            energy = -energy  # vehicle-to-grid: negative volumes are legal
        else:
            energy_total += energy
        dims: list[dict[str, Any]] | None = [{"type": "ENERGY", "volume": volume(energy, 3)}]
        if parking and k == count - 1:
            dims = [{"type": "PARKING_TIME", "volume": volume(1 + int(rand() * 90), 3)}]
        elif k == empty_at or (empty_at >= 0 and rand() < 0.05):
            dims = [] if rand() < 0.5 else None  # a period without dimensions, both spellings
        elif mixed and dims is not None:
            if rand() < 0.7:
                dims.append({"type": "POWER", "volume": volume(power_w * (80 + int(rand() * 21)) // 1000, 2)})
            if rand() < 0.5:
                dims.append({"type": "CURRENT", "volume": volume(60 + int(rand() * 3140), 1)})
            if rand() < 0.4:
                dims.append({"type": "STATE_OF_CHARGE", "volume": volume(min(100, 20 + k * 2), 0)})
            if rand() < 0.3:
                dims.append({"type": "TIME", "volume": volume(interval * 100_000 // 3600, 5)})
        if k == flux_at:  # a dimension type no OCPI version defines
            dims = [*(dims or []), {"type": "FLUX_CAPACITY", "volume": volume(121, 2)}]
        periods.append({"start_date_time": format_time(at, period_style), "dimensions": dims})
    return periods, energy_total


def _weighted(rng: random.Random, options: tuple[tuple[str, int], ...]) -> str:
    roll = rng.random() * sum(weight for _, weight in options)
    for value, weight in options:
        roll -= weight
        if roll < 0:
            return value
    return options[-1][0]


def _volume_writer(rng: random.Random, volume_style: str) -> Callable[[int, int], str | float]:
    """Volumes as strings (the vendor's habit), as JSON numbers, or a mix of both."""
    if volume_style == "string":
        return decimal_text
    if volume_style == "number":
        return decimal_number

    def mixed(units: int, places: int) -> str | float:
        return decimal_number(units, places) if rng.random() < 0.5 else decimal_text(units, places)

    return mixed


def _total_cost(rng: random.Random, kwh_units: int, price_cents: int, as_object: bool, artefact: bool) -> Any:
    places = pick(rng, (2, 2, 2, 3, 4, 5))
    units = kwh_units * price_cents * 10**places // 10**7  # kwh 1e-5 x price 1e-2 -> 1e-places
    if as_object:
        incl = units * 118 // 100
        return {"excl_vat": decimal_number(units, places), "incl_vat": decimal_number(incl, places)}
    if artefact:  # money summed as binary floats upstream, sent with the artefact, kept as sent
        for _ in range(50):
            value = (1 + below(rng, 5000)) / 100 + (1 + below(rng, 500)) / 100
            if len(repr(value)) > 12:
                return value
        return 0.1 + 0.2
    return decimal_number(units, places)
