"""Variants of the vendor's sample document, for table-driven parser and flattener tests.

`body({"location.evses.0.uid": "X", "kwh": DELETE})` is the seed's body with those paths of
its `data` object changed; `envelope_body` does the same from the envelope's root. A path is
dot-separated keys, with list positions as numbers.
"""

from __future__ import annotations

import copy
import functools
import json
from collections.abc import Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any, Final

from syncer.documents.parse import dumps_exact

FIXTURE: Final = Path(__file__).parents[1] / "fixtures" / "seed_session.json"
SHARED_FIXTURE: Final = Path(__file__).parents[2].parent / "shared" / "fixtures" / "seed_session.json"
SEED_ID: Final = "a5db858f68a59d25df755847db013244"


class _Delete:
    def __repr__(self) -> str:
        return "DELETE"


DELETE: Final = _Delete()
"""As a patch value: remove the key (or list item) instead of setting it."""


@functools.cache
def _seed() -> dict[str, Any]:
    envelope: dict[str, Any] = json.loads(FIXTURE.read_bytes(), parse_float=Decimal)
    return envelope


def seed_envelope() -> dict[str, Any]:
    """A fresh, mutable copy of the sample envelope (numbers as Decimal)."""
    return copy.deepcopy(_seed())


def seed_data() -> dict[str, Any]:
    data: dict[str, Any] = seed_envelope()["data"]
    return data


def patched(root: Any, changes: Mapping[str, Any]) -> Any:
    """`root` with each path in `changes` set to its value (or removed, for DELETE), in place."""
    for path, value in changes.items():
        *parents, last = [int(p) if p.isdigit() else p for p in path.split(".")]
        node = root
        for step in parents:
            node = node[step]
        if value is DELETE:
            del node[last]
        else:
            node[last] = value
    return root


def encode(obj: Any) -> bytes:
    return dumps_exact(obj).encode()


def body(changes: Mapping[str, Any] | None = None) -> bytes:
    """The seed's body with `changes` applied to its `data` object."""
    envelope = seed_envelope()
    patched(envelope["data"], changes or {})
    return encode(envelope)


def envelope_body(changes: Mapping[str, Any]) -> bytes:
    """The seed's body with `changes` applied from the envelope's root."""
    return encode(patched(seed_envelope(), changes))


def body_with_data(data: Any) -> bytes:
    """An envelope around any `data` value."""
    return encode({"status_code": 1000, "status_message": "Success", "data": data})
