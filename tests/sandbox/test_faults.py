"""The sandbox's fault ids, refusals and request log over real sockets (httpx as the client)."""

from __future__ import annotations

import gzip
import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import anyio
import httpx
import pytest

from syncer.sandbox import SandboxConfig, running_sandbox
from syncer.sandbox.faults import FAULT_KINDS, HUGE_BYTES, fault_body, fault_kind
from syncer.sandbox.generate import session_body
from syncer.sandbox.server import running_sandbox_in_thread

AUTH = {"Authorization": "Bearer t0k"}


def root(url: str) -> str:
    return url.split("/api/", 1)[0]


async def get(url: str, path: str, **kwargs: Any) -> httpx.Response:
    async with httpx.AsyncClient(timeout=60) as client:
        return await client.get(f"{url}/sessions/{path}", **kwargs)


def not_parsed(content: bytes) -> bool:
    try:
        json.loads(content)
    except json.JSONDecodeError:
        return True
    return False


def not_utf8(content: bytes) -> bool:
    try:
        content.decode("utf-8")
    except UnicodeDecodeError:
        return True
    return False


NOT_JSON = {
    "invalid_json": lambda content: content.startswith(b'{"status_code": 1000') and not_parsed(content),
    "empty": lambda content: content == b"",
    "html": lambda content: content.startswith(b"<html>"),
    "not_utf8": not_utf8,
    "nan": lambda content: b'"kwh": NaN' in content,
    "infinity": lambda content: b'"kwh": Infinity' in content,
    "deep": lambda content: b'"data": ' + b"[" * 10_000 + b"]" * 10_000 + b"}" in content,
    "huge_number": lambda content: b": 1e999999," in content,
}


# What a fault id's answer must look like, checked on the raw response (no syncer code).
def check_body(kind: str, content: bytes) -> None:
    if kind in NOT_JSON:
        assert NOT_JSON[kind](content), kind
        return
    if kind == "duplicate_key":
        pairs = json.loads(content, object_pairs_hook=lambda p: p)
        data = dict(pairs)["data"]
        assert [k for k, _ in data].count("kwh") == 2
        return
    parsed = json.loads(content)
    if kind == "array":
        assert isinstance(parsed, list)
        return
    if kind.startswith("status_"):
        assert parsed["status_code"] == int(kind.removeprefix("status_"))
        assert parsed["data"] is None
        return
    data = parsed["data"]
    if kind == "data_null":
        assert data is None
    elif kind == "missing_id":
        assert "id" not in data
    elif kind == "wrong_id":
        assert data["id"] != "fault-wrong_id-1"
    elif kind == "no_version":
        assert "last_updated" not in data and "last_modified_date" not in data
    elif kind == "bad_last_updated":
        assert data["last_updated"] == "31/12/2023 25:61"
    elif kind == "nul_text":
        assert "\x00" in data["auth_id"]
    else:
        raise AssertionError(f"no check for {kind}")


BODY_KINDS = sorted(set(FAULT_KINDS) - {"huge", "huge_chunked", "gzip_bomb", "truncated", "slow_drip"})


@pytest.fixture(scope="module")
def sandbox_url() -> Iterator[str]:
    with running_sandbox_in_thread(SandboxConfig()) as url:
        yield url


@pytest.mark.parametrize("kind", BODY_KINDS)
def test_fault_ids_answer_their_bad_body_every_time(sandbox_url: str, kind: str) -> None:
    first = httpx.get(f"{sandbox_url}/sessions/fault-{kind}-1")
    again = httpx.get(f"{sandbox_url}/sessions/FAULT-{kind.upper()}-1")  # ids are case-insensitive
    assert first.status_code == again.status_code == 200
    if not kind.startswith("status_"):  # (those carry the time of the answer)
        assert first.content == again.content == fault_body(kind, "fault-" + kind + "-1", 0, 200)
    check_body(kind, first.content)
    check_body(kind, again.content)


async def test_big_bodies_declared_streamed_and_compressed() -> None:
    async with running_sandbox(SandboxConfig()) as url, httpx.AsyncClient(timeout=10) as client:
        huge = await client.get(f"{url}/sessions/fault-huge-1")
        chunked = await client.get(f"{url}/sessions/fault-huge_chunked-1")
        async with client.stream("GET", f"{url}/sessions/fault-gzip_bomb-1") as bomb:
            raw = b"".join([chunk async for chunk in bomb.aiter_raw()])
    assert int(huge.headers["content-length"]) == len(huge.content) > HUGE_BYTES
    assert "content-length" not in chunked.headers
    assert chunked.headers["transfer-encoding"] == "chunked"
    assert len(chunked.content) > HUGE_BYTES
    assert bomb.headers["content-encoding"] == "gzip"
    assert len(raw) < 100_000 < HUGE_BYTES < len(gzip.decompress(raw))
    json.loads(huge.content)  # valid JSON, just too big


async def test_truncated_body_closes_the_connection_before_its_length() -> None:
    async with running_sandbox(SandboxConfig()) as url:
        with pytest.raises(httpx.RemoteProtocolError, match="complete message body"):
            await get(url, "fault-truncated-1")


async def test_slow_drip_sends_a_byte_per_interval_and_stops_when_the_client_leaves() -> None:
    config = SandboxConfig(drip_interval_s=0.2)
    async with running_sandbox(config) as url, httpx.AsyncClient() as client:
        received = b""
        started = time.monotonic()
        with anyio.move_on_after(0.9):
            async with client.stream("GET", f"{url}/sessions/fault-slow_drip-1") as response:
                async for chunk in response.aiter_bytes():
                    received += chunk
        elapsed = time.monotonic() - started
        stopped = time.monotonic()
    # the server noticed the client left: shutting it down did not wait for the drip
    assert time.monotonic() - stopped < 2.0
    assert 2 <= len(received) <= 6
    assert received == session_body("fault-slow_drip-1", 0, 0, 200)[: len(received)]
    assert elapsed < 1.5


async def test_unavailable_ids_always_503_and_unknown_faults_are_400() -> None:
    async with running_sandbox(SandboxConfig()) as url:
        answers = [await get(url, "unavailable-7") for _ in range(3)]
        unknown = await get(url, "fault-no_such_thing-1")
        http = await get(url, "fault-http_418-2")
    assert [a.status_code for a in answers] == [503] * 3
    assert "retry-after" not in answers[0].headers
    assert unknown.status_code == 400
    assert http.status_code == 418


async def test_limited_and_busy_ids_refuse_once_then_answer() -> None:
    async with running_sandbox(SandboxConfig(retry_after_s=3)) as url:
        limited = [await get(url, "limited-1") for _ in range(2)]
        busy = [await get(url, "busy-1") for _ in range(2)]
    assert [r.status_code for r in limited] == [429, 200]
    assert limited[0].headers["retry-after"] == "3"
    assert [r.status_code for r in busy] == [200, 200]
    assert busy[0].json()["status_code"] == 2004
    assert busy[1].json()["status_code"] == 1000


async def test_retry_after_can_be_an_http_date_rounded_up() -> None:
    async with running_sandbox(SandboxConfig(rate_limit=1, retry_after_date=True, retry_after_s=2)) as url:
        await get(url, "d-1")
        before = datetime.now(UTC)
        refused = await get(url, "d-2")
    assert refused.status_code == 429
    when = parsedate_to_datetime(refused.headers["retry-after"])
    assert refused.headers["retry-after"].endswith(" GMT")
    assert 2.0 <= (when - before).total_seconds() <= 3.1


async def test_bucket_burst_is_configurable() -> None:
    # One token a minute: however slow the machine, no token comes back during the six requests.
    async with running_sandbox(SandboxConfig(rate_limit=1 / 60, rate_limit_burst=4)) as url:
        codes = [(await get(url, f"b-{i}")).status_code for i in range(6)]
    assert codes == [200] * 4 + [429] * 2


async def test_403_for_refused_credentials_when_configured() -> None:
    async with running_sandbox(SandboxConfig(token="t0k", auth_failure_status=403)) as url:
        refused = await get(url, "s1")
        allowed = await get(url, "s1", headers=AUTH)
    assert (refused.status_code, refused.json()["status_code"]) == (403, 2002)
    assert allowed.status_code == 200


async def test_request_log_keeps_every_request_as_sent_outside_the_control_plane() -> None:
    async with running_sandbox(SandboxConfig()) as url, httpx.AsyncClient() as client:
        await client.get(f"{url}/sessions/ok-1")
        await client.get(f"{url}/sessions/a%2Fb")
        await client.get(f"{url}/sessions/x", params={"q": "1"})
        await client.get(f"{root(url)}/elsewhere/..%2F")
        await client.get(f"{root(url)}/healthz")
        await client.get(f"{root(url)}/_sandbox/stats")
        log = (await client.get(f"{root(url)}/_sandbox/requests")).json()["requests"]
    assert [(r["path"], r["query"], r["status"]) for r in log] == [
        ("/api/v1/sessions/ok-1", "", 200),
        ("/api/v1/sessions/a%2Fb", "", 400),
        ("/api/v1/sessions/x", "q=1", 200),
        ("/elsewhere/..%2F", "", 404),
    ]
    assert all(r["method"] == "GET" and isinstance(r["at"], float) for r in log)


def test_fault_kind_reads_the_id() -> None:
    assert fault_kind("fault-nan-1") == "nan"
    assert fault_kind("FAULT-NAN-x.y") == "nan"
    assert fault_kind("fault-http_503-1") == "http_503"
    assert fault_kind("fault-status_2002-1") == "status_2002"
    assert fault_kind("fault-bogus-1") == ""
    assert fault_kind("fault-http_200-1") == ""  # only error statuses
    assert fault_kind("ok-1") is None
    assert fault_kind("nofault-nan-1") is None


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("retry_after_s", -1),
        ("retry_after_s", 1.5),
        ("auth_failure_status", 500),
        ("drip_interval_s", -0.1),
        ("rate_limit_burst", float("nan")),
    ],
)
def test_config_rejects_bad_new_values(field: str, value: Any) -> None:
    with pytest.raises(ValueError, match=field):
        SandboxConfig(**{field: value})
