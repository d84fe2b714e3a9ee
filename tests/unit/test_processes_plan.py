"""How `run --processes N` splits a command's budgets and settles its exit code."""

from __future__ import annotations

import signal
from pathlib import Path

import pytest

from syncer.errors import ConfigError
from syncer.pipeline.processes import add_up, child_env, child_settings, plan, share, worst
from syncer.settings import load_settings


@pytest.mark.parametrize(("total", "parts"), [(64, 2), (7, 3), (1, 1), (100, 8)])
def test_shares_add_up_and_differ_by_one_at_most(total: int, parts: int) -> None:
    shares = [share(total, parts, k) for k in range(parts)]
    assert sum(shares) == total and max(shares) - min(shares) <= 1


def test_each_child_gets_its_share_of_every_budget(tmp_path: Path) -> None:
    settings = load_settings(
        processes=3,
        concurrency=64,
        rate=30.0,
        limit=10,
        failed_out=tmp_path / "f.txt",
        token="tok-0123456789",
    )
    children = [child_settings(settings, k, 3, "ids.txt", tmp_path) for k in range(3)]
    assert [c["concurrency"] for c in children] == [22, 21, 21]
    assert sum(c["rate"] for c in children) == pytest.approx(30.0)
    assert [c["limit"] for c in children] == [4, 3, 3]
    assert [c["shard"] for c in children] == ["0/3", "1/3", "2/3"]
    assert {c["processes"] for c in children} == {1}
    assert len({c["failed_out"] for c in children}) == 3
    queue = child_settings(settings, 0, 3, None, tmp_path)
    assert queue["shard"] is None  # queue workers share the queue
    assert load_settings(processes=2, rate=0).rate / 2 == 0  # unlimited stays unlimited


def test_a_child_env_carries_the_settings_and_not_the_parents_own(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("SYNCER_LIMIT", "5")  # already read into the settings; the child gets its share
    monkeypatch.setenv("SYNCER_PROCESSES", "4")
    settings = load_settings(processes=2, token="tok-en-0123456789", progress=None)
    env = child_env(child_settings(settings, 1, 2, "ids.txt", tmp_path))
    assert env["SYNCER_TOKEN"] == "tok-en-0123456789"
    assert env["SYNCER_PROCESSES"] == "1" and env["SYNCER_LIMIT"] == "2" and env["SYNCER_SHARD"] == "1/2"
    assert env["SYNCER_PROGRESS"] == "false"
    assert load_settings(**{}).processes == 4  # the parent's variable is still the parent's
    child = load_settings(
        **{k[len("SYNCER_") :].lower(): v for k, v in env.items() if k.startswith("SYNCER_")}
    )
    assert (child.concurrency, child.shard, child.token_value) == (16, "1/2", "tok-en-0123456789")


def test_never_more_children_than_ids_or_requests() -> None:
    assert plan(load_settings(processes=8, concurrency=3)) == 3
    assert plan(load_settings(processes=8, limit=2)) == 2
    with pytest.raises(ConfigError, match="--shard"):
        plan(load_settings(processes=2, shard="0/2"))


def test_the_most_serious_exit_code_wins() -> None:
    assert worst([0, 0], []) == 0
    assert worst([0, 1], []) == 1
    assert worst([1, 3, 2], []) == 3
    assert worst([0, -9], []) == 1  # a child killed: its ids may be unsynced
    assert worst([143, 143], [signal.SIGTERM]) == 143
    assert worst([0, 130], [signal.SIGINT]) == 130


def test_summaries_add_up() -> None:
    total = add_up([{"inserted": 3, "failed": 1}, {"inserted": 4, "retries": 2}, {}], duration_s=2.0)
    assert (total.inserted, total.failed, total.retries) == (7, 1, 2)
    assert total.as_dict()["duration_s"] == 2.0
