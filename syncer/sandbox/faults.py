"""Malformed bodies: what a misbehaving gateway sends for some ids, every time.

Which ids are affected depends on a hash of the id alone (so a retry gets the same broken body),
and the kind of breakage rotates with the hash too.
"""

from __future__ import annotations

import json

from syncer.sandbox.generate import session_body
from syncer.sandbox.stable import stable_fraction, stable_hash

__all__ = ["MALFORMED_KINDS", "malformed_body", "malformed_kind"]

MALFORMED_KINDS = ("truncated", "array", "data_null", "not_utf8", "wrong_id", "bad_date")
"""JSON cut in half; a JSON array; ``data: null`` with status 1000; Latin-1 bytes; the document of
another id; ``last_updated: "not a date"``."""


def malformed_kind(id: str, seed: int, malformed_rate: float) -> str | None:
    """Which malformation, if any, the body of ``id`` carries (a share ``malformed_rate`` of ids)."""
    if malformed_rate <= 0 or stable_fraction(seed, "malformed", id.lower()) >= malformed_rate:
        return None
    return MALFORMED_KINDS[stable_hash(seed, "malformed-kind", id.lower()) % len(MALFORMED_KINDS)]


def malformed_body(kind: str, id: str, generation: int, seed: int, locations: int) -> bytes:
    """The body of ``id`` broken as ``kind`` says (one of :data:`MALFORMED_KINDS`)."""
    if kind not in MALFORMED_KINDS:
        raise ValueError(f"unknown malformation {kind!r}; expected one of {MALFORMED_KINDS}")
    good = session_body(id, generation, seed, locations)
    if kind == "truncated":
        return good[: len(good) // 2].decode(errors="ignore").encode()  # cut JSON, still valid UTF-8
    body = json.loads(good)
    if kind == "array":
        return _dump([body])
    if kind == "data_null":
        body["data"] = None
    elif kind == "not_utf8":
        body["data"]["location"]["name"] = "Café Müller"
        return json.dumps(body, ensure_ascii=False).encode("latin-1", errors="replace")
    elif kind == "wrong_id":
        body["data"]["id"] = f"{stable_hash(seed, 'other', id.lower()):016x}{len(id):016x}"
    else:  # bad_date
        body["data"]["last_updated"] = "not a date"
    return _dump(body)


def _dump(value: object) -> bytes:
    return json.dumps(value, ensure_ascii=False).encode()
