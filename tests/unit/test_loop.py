"""`SYNCER_EVENT_LOOP`: which event loop the CLI runs on."""

from __future__ import annotations

import asyncio

import pytest

from syncer.errors import ConfigError
from syncer.event_loop import loop_factory, use_uvloop

uvloop = pytest.importorskip("uvloop")  # a dependency on Linux and macOS


@pytest.mark.parametrize("value", ["", "auto", "uvloop", " UVLOOP "])
def test_uvloop_by_default_where_installed(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("SYNCER_EVENT_LOOP", value)
    assert use_uvloop()
    factory = loop_factory()
    assert factory is not None
    loop = factory()
    try:
        assert isinstance(loop, uvloop.Loop)
    finally:
        loop.close()


def test_asyncio_on_request(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SYNCER_EVENT_LOOP", "asyncio")
    assert not use_uvloop()
    assert loop_factory() is None
    with asyncio.Runner(loop_factory=loop_factory()) as runner:
        assert not isinstance(runner.get_loop(), uvloop.Loop)


def test_a_bad_value_is_a_config_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SYNCER_EVENT_LOOP", "trio")
    with pytest.raises(ConfigError, match="SYNCER_EVENT_LOOP must be one of auto, uvloop, asyncio"):
        use_uvloop()
