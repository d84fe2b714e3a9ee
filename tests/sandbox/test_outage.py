"""The sandbox's outage switch: `POST /_sandbox/outage?seconds=N` makes every session request
answer 503 for N seconds (token or not); `seconds=0` ends it."""

from __future__ import annotations

import httpx
import pytest

from syncer.sandbox import SandboxConfig, running_sandbox


async def test_an_outage_answers_503_to_everything_until_it_ends() -> None:
    async with running_sandbox(SandboxConfig(token="t")) as url, httpx.AsyncClient() as client:
        root = url.split("/api/", 1)[0]
        auth = {"Authorization": "Bearer t"}
        assert (await client.get(f"{url}/sessions/s1", headers=auth)).status_code == 200
        started = await client.post(f"{root}/_sandbox/outage", params={"seconds": 600})
        assert started.json() == {"outage_s": 600.0}
        during = [
            await client.get(f"{url}/sessions/s1", headers=auth),
            await client.get(f"{url}/sessions/s2"),  # no token: the outage answers first
        ]
        assert [r.status_code for r in during] == [503, 503]
        assert during[0].json()["status_code"] == 3000
        assert (await client.get(f"{root}/healthz")).status_code == 200  # the control plane stays up
        await client.post(f"{root}/_sandbox/outage", params={"seconds": 0})
        after = await client.get(f"{url}/sessions/s1", headers=auth)
        stats = (await client.get(f"{root}/_sandbox/stats")).json()
    assert after.status_code == 200
    assert (stats["failures_503"], stats["ok"], stats["unauthorized"]) == (2, 2, 0)


@pytest.mark.parametrize("seconds", ["", "abc", "-1", "nan", "100000"])
async def test_outage_rejects_bad_durations(seconds: str) -> None:
    async with running_sandbox(SandboxConfig()) as url, httpx.AsyncClient() as client:
        root = url.split("/api/", 1)[0]
        response = await client.post(f"{root}/_sandbox/outage", params={"seconds": seconds})
        assert response.status_code == 400
        assert (await client.get(f"{url}/sessions/s1")).status_code == 200
