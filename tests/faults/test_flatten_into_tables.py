"""The property test's random documents, flattened, then written to the REAL tables on both
backends: PostgreSQL itself checks every NOT NULL, key, numeric and text value (it refuses NUL,
lone surrogates and out-of-range numbers), so "every row satisfies the table constraints" is not
only our own reading of them (tests/unit/test_flatten_properties.py). That every period row
belongs to its session, which is not a declared foreign key, is checked by `read_tables`."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
from datetime import UTC, datetime

import pytest
from hypothesis import HealthCheck, given, settings

from syncer.documents.flatten import flatten_body
from syncer.documents.rows import SessionBundle
from syncer.errors import DocumentError
from syncer.outcomes import Outcome
from syncer.warehouse.store import Store
from tests.faults.harness import read_tables
from tests.unit.test_flatten_properties import mutated_bodies, requested_ids

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def renamed(bundle: SessionBundle, n: int) -> SessionBundle:
    """The bundle under its own session and location keys, so every example is inserted (the
    same id twice would be `unchanged` and skip its writes)."""
    sid = f"{bundle.id}-{n}"
    location = bundle.location
    if location is not None:
        location = location._replace(location_id=f"{location.location_id}-{n}")
    return dataclasses.replace(
        bundle,
        session=bundle.session._replace(id=sid),
        raw=dataclasses.replace(bundle.raw, id=sid),
        periods=tuple(p._replace(session_id=sid) for p in bundle.periods),
        location=location,
        evses=tuple(e._replace(location_id=location.location_id) for e in bundle.evses) if location else (),
        connectors=tuple(c._replace(location_id=location.location_id) for c in bundle.connectors)
        if location
        else (),
    )


@pytest.mark.slow
def test_random_documents_flatten_into_rows_the_database_accepts(database_url: str) -> None:
    bundles: list[SessionBundle] = []

    @settings(
        max_examples=200,
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
    )
    @given(raw=mutated_bodies(), requested_id=requested_ids)
    def collect(raw: bytes, requested_id: str) -> None:
        with contextlib.suppress(DocumentError):
            bundles.append(renamed(flatten_body(raw, requested_id), len(bundles)))

    collect()
    assert len(bundles) >= 40, len(bundles)  # many mutations still make a session

    async def write_each() -> None:
        async with Store.open(database_url) as store:
            for bundle in bundles:  # one transaction each: a refusal names its bundle
                assert await store.write([bundle], now=NOW) == {bundle.id: Outcome.INSERTED}, bundle

    asyncio.run(write_each())
    tables = asyncio.run(read_tables(database_url))
    assert set(tables.sessions) == {b.id for b in bundles}
    for bundle in bundles:
        assert len(tables.periods.get(bundle.id, [])) == len(bundle.periods)
