"""What a run says about itself: URLs without credentials, settings without the token, the
`run.progress` fields, and the heartbeat's rhythm (a fake record, no database: the real one is
tested in tests/integration/test_inspect.py and end to end)."""

from __future__ import annotations

import json

import anyio
import pytest

from syncer.observe.heartbeat import Heartbeat, progress_fields
from syncer.outcomes import RunSummary
from syncer.pipeline.observing import instance_of, public_url, started_fields
from syncer.settings import load_settings


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("https://user:pa55@gw.example:8443/api/v1?token=abc#x", "https://gw.example:8443/api/v1"),
        ("http://gw.example/api/ocpi/api/v1", "http://gw.example/api/ocpi/api/v1"),
        ("http://[::1]:9/api", "http://[::1]:9/api"),
        (None, None),
    ],
)
def test_public_url_keeps_no_credentials(url: str | None, shown: str | None) -> None:
    assert public_url(url) == shown


def test_started_fields_show_settings_but_no_secret() -> None:
    settings = load_settings(
        gateway_url="https://gw.example/api/v1",
        token="tok-SECRET-1",
        database_url="postgresql://syncer:dbpass@db/wh",
        pushgateway_url="http://u:pushpass@pgw:9091",
        concurrency=7,
    )
    fields = started_fields(settings)
    text = json.dumps(fields, default=str)
    assert "tok-SECRET-1" not in text and "dbpass" not in text and "pushpass" not in text
    assert fields["concurrency"] == 7 and fields["token_set"] is True
    assert fields["pushgateway_url"] == "http://pgw:9091"
    assert "token" not in fields


def test_pushgateway_instance_is_stable_and_one_per_shard() -> None:
    assert instance_of("queue", load_settings()) == "queue"
    assert instance_of("file", load_settings(shard="1/4")) == "file-shard-1-of-4"


def test_progress_fields() -> None:
    summary = RunSummary(requested=50, fetched=38, inserted=30, unchanged=8, not_found=2, retries=4)
    fields = progress_fields(summary, elapsed=10.0, total=100)
    assert (fields["done"], fields["total"], fields["percent"]) == (40, 100, 40.0)
    assert fields["sessions_per_s"] == 4.0 and fields["eta_s"] == 15.0
    assert fields["retries"] == 4 and fields["not_found"] == 2
    assert "eta_s" not in progress_fields(summary, elapsed=10.0, total=None)


async def test_the_heartbeat_records_every_interval_and_reports_progress() -> None:
    summary = RunSummary()
    beats: list[int] = []
    progress: list[object] = []

    three = anyio.Event()

    async def record(s: RunSummary, elapsed: float) -> None:
        s.inserted += 1  # the run moves on between beats
        beats.append(s.inserted)
        if len(beats) == 3:
            three.set()

    async def on_progress(lag: object) -> None:
        progress.append(lag)

    heartbeat = Heartbeat("r", summary, 0.05, record, log_progress=False, on_progress=on_progress)
    with anyio.move_on_after(5):
        async with anyio.create_task_group() as tg:
            tg.start_soon(heartbeat.run)
            await three.wait()
            tg.cancel_scope.cancel()
    assert beats[:3] == [1, 2, 3]
    assert len(progress) >= 2


async def test_a_failing_record_never_stops_the_heartbeat() -> None:
    calls: list[int] = []
    three = anyio.Event()

    async def record(s: RunSummary, elapsed: float) -> None:
        calls.append(1)
        if len(calls) == 3:
            three.set()
        raise OSError("database gone")

    heartbeat = Heartbeat("r", RunSummary(), 0.02, record, log_progress=True)
    with anyio.move_on_after(5):
        async with anyio.create_task_group() as tg:
            tg.start_soon(heartbeat.run)
            await three.wait()
            tg.cancel_scope.cancel()
    assert len(calls) >= 3
