"""The sandbox gateway over real sockets (uvicorn on 127.0.0.1, httpx as the client)."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from syncer.sandbox import SandboxConfig, build_app, running_sandbox
from syncer.sandbox.faults import malformed_kind
from syncer.sandbox.generate import chosen, session_body
from syncer.sandbox.server import running_sandbox_in_thread

TOKEN = "sandbox-test-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


def root(url: str) -> str:
    """The server's root, where /_sandbox and /healthz live."""
    return url.split("/api/", 1)[0]


def last_updated(body: bytes) -> datetime:
    parsed = datetime.fromisoformat(json.loads(body)["data"]["last_updated"])
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed


async def get_all(client: httpx.AsyncClient, url: str, ids: list[str]) -> dict[str, httpx.Response]:
    """Every id, a few at a time (fewer than the client's pool, so no request waits on the pool's
    own timeout on a loaded machine), each with a generous deadline."""
    slots = asyncio.Semaphore(16)

    async def one(id: str) -> httpx.Response:
        async with slots:
            return await client.get(f"{url}/sessions/{id}", timeout=60)

    responses = await asyncio.gather(*(one(id) for id in ids))
    return dict(zip(ids, responses, strict=True))


async def test_session_is_served_in_the_envelope() -> None:
    config = SandboxConfig(seed=3)
    async with running_sandbox(config) as url, httpx.AsyncClient() as client:
        assert url.startswith("http://127.0.0.1:")
        assert url.endswith("/api/v1")
        response = await client.get(f"{url}/sessions/s00001")
        again = await client.get(f"{url}/sessions/s00001")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert (body["status_code"], body["status_message"]) == (1000, "Success")
    assert body["data"]["id"].lower() == "s00001"
    assert response.content == again.content == session_body("s00001", 0, config.seed, config.locations)


async def test_other_prefix_serves_there_only() -> None:
    async with (
        running_sandbox(SandboxConfig(prefix="/api/ocpi/api/v1")) as url,
        httpx.AsyncClient() as client,
    ):
        assert url.endswith("/api/ocpi/api/v1")
        assert (await client.get(f"{url}/sessions/a1")).status_code == 200
        assert (await client.get(f"{root(url)}/api/v1/sessions/a1")).status_code == 404


async def test_missing_ids_are_404_with_code_2003() -> None:
    async with running_sandbox(SandboxConfig()) as url, httpx.AsyncClient() as client:
        response = await client.get(f"{url}/sessions/missing-x")
        stats = (await client.get(f"{root(url)}/_sandbox/stats")).json()
    assert response.status_code == 404
    assert response.json()["status_code"] == 2003
    assert "data" not in response.json()
    assert (stats["requests"], stats["not_found"], stats["ok"]) == (1, 1, 0)


@pytest.mark.parametrize("bad", ["a%20b", "a%2Fb", "x" * 65, "caf%C3%A9", "a%3Fb%3D1"])
async def test_invalid_ids_are_400(bad: str) -> None:
    async with running_sandbox(SandboxConfig()) as url, httpx.AsyncClient() as client:
        response = await client.get(f"{url}/sessions/{bad}")
    assert response.status_code == 400
    assert response.json()["status_code"] == 2001


async def test_token_is_required_when_configured() -> None:
    async with running_sandbox(SandboxConfig(token=TOKEN)) as url, httpx.AsyncClient() as client:
        missing = await client.get(f"{url}/sessions/s1")
        wrong = await client.get(f"{url}/sessions/s1", headers={"Authorization": "Bearer nope"})
        basic = await client.get(f"{url}/sessions/s1", headers={"Authorization": f"Basic {TOKEN}"})
        right = await client.get(f"{url}/sessions/s1", headers=AUTH)
        stats = (await client.get(f"{root(url)}/_sandbox/stats")).json()
    for refused in (missing, wrong, basic):
        assert refused.status_code == 401
        assert refused.json()["status_code"] == 2002
    assert right.status_code == 200
    assert (stats["unauthorized"], stats["ok"]) == (3, 1)


async def test_rate_limit_answers_429_with_retry_after() -> None:
    config = SandboxConfig(rate_limit=20)  # burst of 2
    async with running_sandbox(config) as url, httpx.AsyncClient() as client:
        started = time.monotonic()
        responses = await get_all(client, url, [f"r{i}" for i in range(60)])
        elapsed = time.monotonic() - started
        stats = (await client.get(f"{root(url)}/_sandbox/stats")).json()
    codes = Counter(r.status_code for r in responses.values())
    assert set(codes) == {200, 429}
    assert codes[200] <= 2 + 20 * elapsed + 1
    limited = next(r for r in responses.values() if r.status_code == 429)
    assert limited.headers["retry-after"] == "1"
    assert limited.json()["status_code"] == 2004
    assert limited.json()["status_message"] == "Rate limited"
    assert stats["rate_limited"] == codes[429]


async def test_rate_limit_refills_over_time() -> None:
    async with running_sandbox(SandboxConfig(rate_limit=50)) as url, httpx.AsyncClient() as client:
        statuses = []
        for i in range(10):
            statuses.append((await client.get(f"{url}/sessions/p{i}")).status_code)
            await asyncio.sleep(0.03)  # slower than 50/s: never limited
    assert statuses == [200] * 10


async def test_failure_rate_one_always_503() -> None:
    async with running_sandbox(SandboxConfig(failure_rate=1.0)) as url, httpx.AsyncClient() as client:
        responses = await get_all(client, url, [f"f{i}" for i in range(10)])
        stats = (await client.get(f"{root(url)}/_sandbox/stats")).json()
    assert {r.status_code for r in responses.values()} == {503}
    assert stats["failures_503"] == 10


async def test_failures_are_per_request_so_a_retry_can_succeed() -> None:
    async with running_sandbox(SandboxConfig(failure_rate=0.5, seed=1)) as url, httpx.AsyncClient() as client:
        codes = [(await client.get(f"{url}/sessions/same-id")).status_code for _ in range(40)]
    assert set(codes) == {200, 503}


async def test_malformed_ids_get_malformed_bodies() -> None:
    config = SandboxConfig(malformed_rate=0.5, seed=2)
    ids = [f"m{i:03d}" for i in range(60)]
    async with running_sandbox(config) as url, httpx.AsyncClient() as client:
        responses = await get_all(client, url, ids)
        stats = (await client.get(f"{root(url)}/_sandbox/stats")).json()
    kinds = {id: malformed_kind(id, config.seed, config.malformed_rate) for id in ids}
    assert 15 < sum(k is not None for k in kinds.values()) < 45
    for id, response in responses.items():
        assert response.status_code == 200
        good = session_body(id, 0, config.seed, config.locations)
        assert (response.content == good) == (kinds[id] is None), id
    assert {k for k in kinds.values() if k} >= {"truncated", "not_utf8", "array"}
    assert stats["malformed"] == sum(k is not None for k in kinds.values())
    assert stats["ok"] == len(ids) - stats["malformed"]


async def test_bump_changes_last_updated_of_exactly_the_chosen_ids() -> None:
    config = SandboxConfig(seed=5)
    ids = [f"b{i:04d}" for i in range(300)]
    async with running_sandbox(config) as url, httpx.AsyncClient() as client:
        before = await get_all(client, url, ids)
        bump = await client.post(f"{root(url)}/_sandbox/bump", params={"share": 0.25})
        after = await get_all(client, url, ids)
        second = await client.post(f"{root(url)}/_sandbox/bump")
        stats = (await client.get(f"{root(url)}/_sandbox/stats")).json()
    assert bump.json() == {"round": 1, "share": 0.25}
    assert second.json() == {"round": 2, "share": 0.1}
    assert stats["rounds"] == [[1, 0.25], [2, 0.1]]
    changed = {id for id in ids if before[id].content != after[id].content}
    assert changed == {id for id in ids if chosen(id, 1, 0.25, config.seed)}
    assert 40 < len(changed) < 110
    for id in changed:
        assert last_updated(after[id].content) > last_updated(before[id].content)


@pytest.mark.parametrize("share", ["-0.1", "1.5", "nan", "lots"])
async def test_bump_rejects_bad_shares(share: str) -> None:
    async with running_sandbox(SandboxConfig()) as url, httpx.AsyncClient() as client:
        response = await client.post(f"{root(url)}/_sandbox/bump", params={"share": share})
        stats = (await client.get(f"{root(url)}/_sandbox/stats")).json()
    assert response.status_code == 400
    assert stats["rounds"] == []


async def test_stats_count_every_outcome() -> None:
    config = SandboxConfig(token=TOKEN)
    async with running_sandbox(config) as url, httpx.AsyncClient(headers=AUTH) as client:
        for path in ("ok-1", "ok-2", "missing-1", "bad%20id"):
            await client.get(f"{url}/sessions/{path}")
        await client.get(f"{url}/sessions/ok-3", headers={"Authorization": "Bearer wrong"})
        health = await client.get(f"{root(url)}/healthz")
        stats = (await client.get(f"{root(url)}/_sandbox/stats")).json()
    assert health.status_code == 200
    assert stats == {
        "requests": 5,
        "ok": 2,
        "not_found": 1,
        "rate_limited": 0,
        "failures_503": 0,
        "malformed": 0,
        "unauthorized": 1,
        "bad_request": 1,
        "faults": 0,
        "rounds": [],
    }


async def test_latency_delays_answers() -> None:
    config = SandboxConfig(latency_ms=60, latency_jitter_ms=10)
    async with running_sandbox(config) as url, httpx.AsyncClient() as client:
        await client.get(f"{url}/sessions/warm")
        started = time.monotonic()
        response = await client.get(f"{url}/sessions/l1")
        elapsed = time.monotonic() - started
    assert response.status_code == 200
    assert 0.045 <= elapsed < 1.0


async def test_build_app_state_is_per_app() -> None:
    first, second = build_app(SandboxConfig()), build_app(SandboxConfig())
    first.state.sandbox.bump(0.5)
    assert first.state.sandbox.rounds == [(1, 0.5)]
    assert second.state.sandbox.rounds == []


async def test_busy_port_raises_oserror() -> None:
    async with running_sandbox(SandboxConfig()) as url:
        port = int(url.split(":")[2].split("/")[0])
        with pytest.raises(OSError, match="in use"):
            async with running_sandbox(SandboxConfig(), port=port):
                pass


async def test_port_is_released_after_exit() -> None:
    async with running_sandbox(SandboxConfig()) as url:
        port = int(url.split(":")[2].split("/")[0])
    with socket.socket() as probe:
        assert probe.connect_ex(("127.0.0.1", port)) != 0


def test_in_thread_sandbox_serves_synchronous_clients() -> None:
    with running_sandbox_in_thread(SandboxConfig(token=TOKEN)) as url, httpx.Client(headers=AUTH) as client:
        response = client.get(f"{url}/sessions/t1")
        client.post(f"{root(url)}/_sandbox/bump", params={"share": 1.0})
        bumped = client.get(f"{url}/sessions/t1")
    assert response.status_code == 200
    assert last_updated(bumped.content) > last_updated(response.content)
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{url}/sessions/t1")


def test_in_thread_sandbox_reports_start_up_failure() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(OSError, match="in use"), running_sandbox_in_thread(SandboxConfig(), port=port):
            pass


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_serve_stops_cleanly_on_a_signal(sig: signal.Signals) -> None:
    code = (
        "from syncer.sandbox import SandboxConfig, serve\n"
        "serve(SandboxConfig(), port=0, on_ready=lambda url: print(url, flush=True))\n"
        "print('stopped', flush=True)\n"
    )
    process = subprocess.Popen(
        [sys.executable, "-c", code],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).parents[2],
        env={**os.environ, "PYTHONWARNINGS": "error"},
    )
    try:
        assert process.stdout is not None
        url = process.stdout.readline().strip()
        assert httpx.get(f"{url}/sessions/s1").status_code == 200
        process.send_signal(sig)
        out, err = process.communicate(timeout=15)
    finally:
        process.kill()
        process.wait()
    assert process.returncode == 0, err
    assert out.strip() == "stopped"
    assert err == ""


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("prefix", "api/v1", "prefix"),
        ("prefix", "/api/v1/", "prefix"),
        ("latency_ms", -1, "latency_ms"),
        ("latency_jitter_ms", float("inf"), "latency_jitter_ms"),
        ("rate_limit", -5, "rate_limit"),
        ("failure_rate", 1.5, "failure_rate"),
        ("malformed_rate", float("nan"), "malformed_rate"),
        ("token", "", "token"),
        ("locations", 0, "locations"),
        ("seed", 1.5, "seed"),
    ],
)
def test_config_rejects_bad_values(field: str, value: Any, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        SandboxConfig(**{field: value})


def test_config_never_shows_the_token() -> None:
    assert TOKEN not in repr(SandboxConfig(token=TOKEN))


async def test_keep_alive_answers_are_not_held_back_by_nagle() -> None:
    # Binding the socket ourselves once lost TCP_NODELAY: every reused connection then waited
    # ~40 ms for a delayed ACK. Five answers on one connection must come well under that.
    async with running_sandbox(SandboxConfig()) as url, httpx.AsyncClient() as client:
        await client.get(f"{url}/sessions/warm")
        times = []
        for i in range(5):
            started = time.monotonic()
            await client.get(f"{url}/sessions/k{i}")
            times.append(time.monotonic() - started)
    assert sorted(times)[2] < 0.03, times
