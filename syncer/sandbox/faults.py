"""What a misbehaving gateway sends: malformed bodies for a share of ids, and faults chosen by id.

Two ways to get a broken answer, both deterministic so one run can mix them with good ids:

- ``malformed_rate``: a share of ids, chosen by a hash of the id alone (so a retry gets the same
  broken body), carries one of :data:`MALFORMED_KINDS`, rotating with the hash too.
- Fault ids: ``fault-<kind>-<anything>`` always answers fault ``<kind>`` (one of
  :data:`FAULT_KINDS`; also ``http_<status>`` for any HTTP status 400-599 and ``status_<code>``
  for any 4-digit envelope status_code with HTTP 200), e.g. ``fault-nan-1``, ``fault-http_502-7``.
  ``unavailable-<n>`` always answers 503; ``limited-<n>`` answers 429 (with Retry-After) and
  ``busy-<n>`` an envelope 2004 on their first request only, then the document.
"""

from __future__ import annotations

import functools
import gzip
import json
import re
from collections.abc import Callable
from typing import Any, Final

from syncer.sandbox.generate import envelope, session_body
from syncer.sandbox.stable import stable_fraction, stable_hash

__all__ = [
    "FAULT_KINDS",
    "MALFORMED_KINDS",
    "fault_body",
    "fault_kind",
    "http_fault_status",
    "malformed_body",
    "malformed_kind",
]

MALFORMED_KINDS = ("truncated", "array", "data_null", "not_utf8", "wrong_id", "bad_date")
"""JSON cut in half; a JSON array; ``data: null`` with status 1000; Latin-1 bytes; the document of
another id; ``last_updated: "not a date"``."""

BODY_FAULTS: Final = {
    "invalid_json": "the document's JSON cut off in the middle",
    "empty": "an empty body",
    "html": "an HTML error page (still HTTP 200)",
    "array": "a JSON array holding the envelope",
    "data_null": "`data: null` with status_code 1000",
    "missing_id": "the document without `id`",
    "wrong_id": "the document of another id",
    "no_version": "neither `last_updated` nor `last_modified_date`",
    "bad_last_updated": "`last_updated` that is not a timestamp",
    "nan": "`kwh: NaN` (a literal JSON does not allow)",
    "infinity": "`kwh: Infinity`",
    "huge_number": "`kwh: 1e999999`",
    "duplicate_key": "`kwh` twice in the document",
    "nul_text": "a string holding an escaped NUL (PostgreSQL refuses it)",
    "deep": "`data` holding 10,000 nested arrays",
    "not_utf8": "Latin-1 bytes",
    "status_2003": "HTTP 200, envelope status_code 2003 (not found)",
    "status_2004": "HTTP 200, envelope status_code 2004 (rate limited), every time",
    "status_9999": "HTTP 200, an unknown envelope status_code",
}
STREAM_FAULTS: Final = {
    "huge": "a 10 MB document with its Content-Length",
    "huge_chunked": "a 10 MB document streamed in chunks, no Content-Length",
    "gzip_bomb": "10 MB of JSON gzip-compressed to a few KB (Content-Encoding: gzip)",
    "truncated": "Content-Length larger than what is sent; then the connection is closed",
    "slow_drip": "the document one byte every `drip_interval_s` seconds",
}
FAULT_KINDS: Final = {**BODY_FAULTS, **STREAM_FAULTS}
"""Every fault a ``fault-<kind>-...`` id can ask for, with what it answers."""

HUGE_BYTES: Final = 10 * 1024 * 1024
DEEP_LEVELS: Final = 10_000

_FAULT_ID = re.compile(r"\Afault-([a-z0-9_]+)(?:-.*)?\Z", re.IGNORECASE | re.DOTALL)
_HTTP_FAULT = re.compile(r"\Ahttp_([45][0-9][0-9])\Z")
_STATUS_FAULT = re.compile(r"\Astatus_[0-9]{4}\Z")


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
        body["data"]["id"] = _other_id(id, seed)
    else:  # bad_date
        body["data"]["last_updated"] = "not a date"
    return _dump(body)


def fault_kind(id: str) -> str | None:
    """The fault a ``fault-<kind>-...`` id asks for (lower case), ``""`` for an unknown kind,
    None for any other id."""
    match = _FAULT_ID.match(id)
    if match is None:
        return None
    kind = match.group(1).lower()
    if kind in FAULT_KINDS or _HTTP_FAULT.match(kind) or _STATUS_FAULT.match(kind):
        return kind
    return ""


def http_fault_status(kind: str) -> int | None:
    """The status of an ``http_<status>`` fault kind, else None."""
    match = _HTTP_FAULT.match(kind)
    return int(match.group(1)) if match else None


def fault_body(kind: str, id: str, seed: int, locations: int) -> bytes:
    """The bytes sent for fault ``kind`` (a :data:`FAULT_KINDS` key) on session ``id``.

    For the stream faults this is the payload: what is cut, dripped, compressed or chunked.
    """
    if kind in ("huge", "huge_chunked"):
        return _huge(seed, locations)
    if kind == "gzip_bomb":
        return _gzip_bomb(seed, locations)
    if kind.startswith("status_"):
        code = int(kind.removeprefix("status_"))
        return _dump(envelope(None, status_code=code, status_message=f"Gateway status {code}"))
    good = session_body(id, 0, seed, locations)
    if kind in _BYTE_EDITS:
        return _BYTE_EDITS[kind](good)
    if kind == "not_utf8":
        return malformed_body("not_utf8", id, 0, seed, locations)
    if kind not in _DOCUMENT_EDITS:
        raise ValueError(f"unknown fault {kind!r}; expected one of {sorted(FAULT_KINDS)}")
    body = json.loads(good)
    if kind == "wrong_id":
        body["data"]["id"] = _other_id(id, seed)
    return _dump(_DOCUMENT_EDITS[kind](body))


def _cut(good: bytes) -> bytes:
    return good[: len(good) // 2].decode(errors="ignore").encode()  # cut JSON, still valid UTF-8


def _first_in_data(text: bytes) -> Callable[[bytes], bytes]:
    """Put ``text`` first in the envelope's `data` object (the envelope's only nested object)."""
    return lambda good: good.replace(b'"data": {', b'"data": {' + text, 1)


def _deep(good: bytes) -> bytes:
    head = good[: good.index(b'"data": ') + len(b'"data": ')]
    return head + b"[" * DEEP_LEVELS + b"]" * DEEP_LEVELS + b"}"


_BYTE_EDITS: Final[dict[str, Callable[[bytes], bytes]]] = {
    "invalid_json": _cut,
    "truncated": _cut,  # what is sent before the connection closes; the JSON is cut as well
    "slow_drip": lambda good: good,
    "empty": lambda good: b"",
    "html": lambda good: b"<html><body><h1>502 Bad Gateway</h1></body></html>",
    "deep": _deep,
    "duplicate_key": _first_in_data(b'"kwh": 0, '),
    "huge_number": _first_in_data(b'"kwh_exact": 1e999999, '),
}


def _set(field: str, value: Any) -> Callable[[dict[str, Any]], Any]:
    def edit(body: dict[str, Any]) -> Any:
        body["data"][field] = value
        return body

    return edit


def _without(*fields: str) -> Callable[[dict[str, Any]], Any]:
    def edit(body: dict[str, Any]) -> Any:
        for name in fields:
            del body["data"][name]
        return body

    return edit


_DOCUMENT_EDITS: Final[dict[str, Callable[[dict[str, Any]], Any]]] = {
    "array": lambda body: [body],
    "data_null": lambda body: {**body, "data": None},
    "missing_id": _without("id"),
    "wrong_id": lambda body: body,  # the id is replaced by `fault_body`, which knows it
    "no_version": _without("last_updated", "last_modified_date"),
    "bad_last_updated": _set("last_updated", "31/12/2023 25:61"),
    "nan": _set("kwh", float("nan")),  # json.dumps writes the literal NaN
    "infinity": _set("kwh", float("inf")),  # ... and Infinity
    "nul_text": _set("auth_id", "abc\x00def"),  # json.dumps escapes it as \u0000
}


@functools.lru_cache(maxsize=1)
def _huge(seed: int, locations: int) -> bytes:
    """A session envelope padded with an unknown field to just over 10 MB (the same for every id:
    it is refused for its size before anyone reads the id)."""
    good = session_body("huge", 0, seed, locations)
    padding = b"x" * (HUGE_BYTES - len(good) + 1)
    return good.replace(b'"data": {', b'"data": {"padding": "' + padding + b'", ', 1)


@functools.lru_cache(maxsize=1)
def _gzip_bomb(seed: int, locations: int) -> bytes:
    return gzip.compress(_huge(seed, locations), compresslevel=9, mtime=0)


def _other_id(id: str, seed: int) -> str:
    return f"{stable_hash(seed, 'other', id.lower()):016x}{len(id):016x}"


def _dump(value: object) -> bytes:
    return json.dumps(value, ensure_ascii=False).encode()
