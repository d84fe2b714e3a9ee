"""The metrics of one run: what the gateway client and the retry loop count (over
httpx.MockTransport), what the summary reports, and that two runs never share a registry."""

from __future__ import annotations

import json

import httpx
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from syncer.documents.rows import SessionBundle
from syncer.gateway import retry
from syncer.gateway.client import GatewayClient
from syncer.gateway.ratelimit import RateLimiter
from syncer.observe.metrics import Metrics
from syncer.outcomes import Outcome, RunStatus, RunSummary
from syncer.pipeline.fetch import fetch_bundle
from tests.unit.docs_factory import SEED_ID, body

RATE_LIMITED = json.dumps({"status_code": 2004, "status_message": "Rate limited", "data": None}).encode()


def samples(metrics: Metrics) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    text = generate_latest(metrics.registry).decode()
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


async def test_requests_by_status_durations_rate_limits_and_retries_are_counted() -> None:
    answers = [
        httpx.Response(429, headers={"Retry-After": "0"}),
        httpx.Response(503),
        httpx.Response(200, content=RATE_LIMITED),
        httpx.Response(200, content=body()),
        httpx.Response(404),
    ]

    def handle(request: httpx.Request) -> httpx.Response:
        return answers.pop(0)

    summary = RunSummary()
    metrics = Metrics(summary)
    async with GatewayClient(
        "https://gw.example/api/v1",
        "t",
        limiter=RateLimiter(0),
        transport=httpx.MockTransport(handle),
        metrics=metrics,
    ) as client:
        policy = retry.RetryPolicy(max_attempts=5)
        assert isinstance(await fetch_bundle(client, SEED_ID, policy, summary), SessionBundle)
        await fetch_bundle(client, "gone", policy, summary)
    summary.add(Outcome.INSERTED)
    summary.add(Outcome.NOT_FOUND)
    got = samples(metrics)
    assert got[("syncer_requests_total", (("status", "429"),))] == 1
    assert got[("syncer_requests_total", (("status", "503"),))] == 1
    assert got[("syncer_requests_total", (("status", "200"),))] == 2
    assert got[("syncer_requests_total", (("status", "404"),))] == 1
    assert got[("syncer_request_duration_seconds_count", ())] == 5
    assert got[("syncer_rate_limited_total", ())] == 2  # the 429 and the envelope 2004
    assert got[("syncer_retries_total", ())] == summary.retries == 3
    assert got[("syncer_sessions_total", (("outcome", "inserted"),))] == 1
    assert got[("syncer_sessions_total", (("outcome", "not_found"),))] == 1
    assert got[("syncer_sessions_total", (("outcome", "failed"),))] == 0
    assert got[("syncer_run_status", (("status", "running"),))] == 1


async def test_a_connection_error_is_counted_by_its_kind() -> None:
    def handle(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused")

    metrics = Metrics(RunSummary())
    async with GatewayClient(
        "https://gw.example/api/v1",
        None,
        limiter=RateLimiter(0),
        transport=httpx.MockTransport(handle),
        metrics=metrics,
    ) as client:
        await fetch_bundle(client, "x", retry.RetryPolicy(max_attempts=2), RunSummary())
    assert samples(metrics)[("syncer_requests_total", (("status", "connection"),))] == 2


def test_each_run_has_its_own_registry_and_one_status() -> None:
    first, second = Metrics(RunSummary(inserted=3)), Metrics(RunSummary(inserted=5))
    first.set_status(RunStatus.FAILED)
    one, two = samples(first), samples(second)
    assert one[("syncer_sessions_total", (("outcome", "inserted"),))] == 3
    assert two[("syncer_sessions_total", (("outcome", "inserted"),))] == 5
    statuses = {labels[0][1]: value for (name, labels), value in one.items() if name == "syncer_run_status"}
    assert statuses["failed"] == 1 and sum(statuses.values()) == 1
    assert set(statuses) == {s.value for s in RunStatus}
