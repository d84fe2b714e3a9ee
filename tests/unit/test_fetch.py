"""fetch_bundle: the retry loop around one id, on a fake clock, over httpx.MockTransport."""

from __future__ import annotations

import json

import httpx

from syncer.documents.rows import SessionBundle
from syncer.gateway import retry
from syncer.gateway.client import GatewayClient
from syncer.gateway.ratelimit import RateLimiter
from syncer.outcomes import Failure, RunSummary
from syncer.pipeline.fetch import RATE_LIMITED_PAUSE, fetch_bundle
from tests.unit.docs_factory import SEED_ID, body

RATE_LIMITED = json.dumps({"status_code": 2004, "status_message": "Rate limited", "data": None}).encode()


class FakeTime:
    def __init__(self) -> None:
        self.now = 100.0
        self.slept = 0.0

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += seconds
        self.slept += seconds


def gateway(*bodies: bytes) -> tuple[httpx.MockTransport, list[str]]:
    seen: list[str] = []
    answers = list(bodies)

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request.url.path)
        return httpx.Response(200, content=answers.pop(0) if len(answers) > 1 else answers[0])

    return httpx.MockTransport(handle), seen


async def fetch(
    transport: httpx.MockTransport, limiter: RateLimiter, id: str = SEED_ID, attempts: int = 3
) -> tuple[SessionBundle | Failure, RunSummary]:
    summary = RunSummary()
    async with GatewayClient(
        "https://gw.example/api/v1", "t", limiter=limiter, transport=transport
    ) as client:
        result = await fetch_bundle(client, id, retry.RetryPolicy(max_attempts=attempts), summary)
    return result, summary


async def test_envelope_2004_pauses_the_whole_limiter_then_the_retry_succeeds() -> None:
    time = FakeTime()
    limiter = RateLimiter(10.0, clock=time.clock, sleep=time.sleep)
    transport, seen = gateway(RATE_LIMITED, body())
    result, summary = await fetch(transport, limiter)
    assert isinstance(result, SessionBundle)
    assert len(seen) == 2
    assert (summary.retries, summary.fetched) == (1, 2)
    assert limiter.slowdowns == 1  # slowed (and paused) like a 429, for every task
    assert limiter.paused_until == 100.0 + RATE_LIMITED_PAUSE
    assert time.slept >= RATE_LIMITED_PAUSE  # the retry itself waited for the pause


async def test_envelope_2004_every_time_fails_as_rate_limited_after_the_attempts() -> None:
    time = FakeTime()
    limiter = RateLimiter(0, clock=time.clock, sleep=time.sleep)
    transport, seen = gateway(RATE_LIMITED)
    result, _ = await fetch(transport, limiter, attempts=3)
    assert isinstance(result, Failure)
    assert (result.kind, result.retryable) == ("rate_limited_2004", True)
    assert "gave up after 3 attempts" in result.message
    assert len(seen) == 3
    assert time.slept >= 2 * RATE_LIMITED_PAUSE  # paused before each retry


async def test_an_unchecked_hostile_id_fails_reported_safely_without_a_request() -> None:
    limiter = RateLimiter(0)
    transport, seen = gateway(body())
    result, _ = await fetch(transport, limiter, id="../a\x00b")
    assert isinstance(result, Failure)
    assert (result.id, result.kind) == ("../a\\x00b", "invalid_id")
    assert seen == []
