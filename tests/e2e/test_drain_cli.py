"""`syncer run --queue --until-empty` through the real CLI: usage errors, and the options reaching
the queue source (the drains themselves: tests/queue/test_drain.py)."""

from __future__ import annotations

import pytest

from syncer.sandbox import SandboxConfig
from syncer.sandbox.server import running_sandbox_in_thread
from tests.e2e.cli import syncer

NOWHERE = ("--gateway-url", "http://127.0.0.1:9")


@pytest.mark.parametrize(
    ("args", "env", "name"),
    [
        (("run", "--ids", "-", "--until-empty", *NOWHERE), {}, "--until-empty"),
        (("run", "--ids", "-", *NOWHERE), {"SYNCER_UNTIL_EMPTY": "true"}, "--until-empty"),
        (("run", "--queue", "--queue-backoff-seconds", "0", *NOWHERE), {}, "--queue-backoff-seconds"),
        (
            ("run", "--queue", *NOWHERE),
            {"SYNCER_QUEUE_BACKOFF_SECONDS": "-1"},
            "SYNCER_QUEUE_BACKOFF_SECONDS",
        ),
    ],
)
def test_bad_drain_usage_exits_2_with_one_line(args: tuple[str, ...], env: dict[str, str], name: str) -> None:
    result = syncer(*args, env=env, stdin="a\n")
    assert result.code == 2, result.stderr
    assert result.stderr.count("\n") == 1, result.stderr
    assert result.stderr.startswith("syncer: error:") and name in result.stderr


@pytest.mark.slow
def test_the_cli_drain_waits_then_stops_at_max_runtime(sqlite_url: str) -> None:
    """Three ids always 503: deferred 60-120 s (`--queue-backoff-seconds 60`); the drain waits
    for them (`queue.waiting`) until `--max-runtime`, exits 0 and reports them as `pending_left`."""
    good, down = ["cli-1", "cli-2"], ["unavailable-1", "unavailable-2", "unavailable-3"]
    assert syncer("enqueue", "-", "--database-url", sqlite_url, stdin="\n".join(good + down)).code == 0
    with running_sandbox_in_thread(SandboxConfig(seed=5)) as url:
        result = syncer(
            "run",
            "--queue",
            "--until-empty",
            "--max-runtime",
            "3",
            "--queue-backoff-seconds",
            "60",
            "--gateway-url",
            url,
            "--database-url",
            sqlite_url,
            "--rate",
            "0",
            "--log-format",
            "json",
        )
    assert result.code == 0, result.stderr[-3000:]
    summary = result.summary
    assert (summary["status"], summary["inserted"], summary["deferred"]) == ("ok", 2, 3)
    assert summary["pending_left"] == 3
    waiting = [e for e in result.events if e["event"] == "queue.waiting" and e["pending"]]
    assert waiting, result.stderr[-3000:]  # it waited for deferred ids (settled in one flush or more)
    assert 20 < waiting[-1]["next_due_in_s"] <= 60  # 60 s x 50-100% jitter, less the time since
