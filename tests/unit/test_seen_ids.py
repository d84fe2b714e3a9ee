"""`SeenIds`: an exact set of ids in 16-byte digests, bounded by a limit."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from syncer.sources import seen_ids
from syncer.sources.seen_ids import SeenIds


@given(st.lists(st.text(alphabet="abcAB-_.\u00e9\ud800", max_size=4), max_size=300))
def test_add_answers_as_a_set_would(ids: list[str]) -> None:
    seen, model = SeenIds(10_000, capacity=2), set()
    for id in ids:
        assert seen.add(id) is (id not in model)
        model.add(id)
    assert len(seen) == len(model)


def test_it_grows_and_finds_every_id_again() -> None:
    seen = SeenIds(1_000_000, capacity=2)
    ids = [f"session-{i}" for i in range(10_000)]
    assert all(seen.add(id) for id in ids)
    assert not any(seen.add(id) for id in ids)
    assert len(seen) == 10_000
    assert seen.nbytes == 32_768 * 16  # at most half full: 16,384 slots would be too few


def test_past_the_limit_new_ids_pass_and_are_not_kept() -> None:
    seen = SeenIds(3, capacity=2)
    assert [seen.add(x) for x in "abc"] == [True] * 3
    assert [seen.add(x) for x in "dd"] == [True, True]  # not remembered: its repeat passes too
    assert [seen.add(x) for x in "abc"] == [False] * 3  # the remembered ones still are
    assert len(seen) == 3
    assert seen.nbytes == 8 * 16


def test_memory_stops_growing_at_the_limit() -> None:
    seen = SeenIds(1_000)
    for i in range(5_000):
        seen.add(str(i))
    assert len(seen) == 1_000
    assert seen.nbytes == 2_048 * 16  # 32 bytes an id


def test_a_digest_of_all_zeros_is_still_remembered(monkeypatch: pytest.MonkeyPatch) -> None:
    real = seen_ids.blake2b

    def hashing(data: bytes, **kwargs: Any) -> Any:
        if data == b"zero":

            class Zero:
                def digest(self) -> bytes:
                    return bytes(16)

            return Zero()
        return real(data, **kwargs)

    monkeypatch.setattr(seen_ids, "blake2b", hashing)
    seen = SeenIds(10)
    assert seen.add("zero") is True
    assert seen.add("zero") is False
    assert seen.add("other") is True


def test_capacity_must_be_a_power_of_two() -> None:
    with pytest.raises(ValueError, match="power of two"):
        SeenIds(10, capacity=3)
