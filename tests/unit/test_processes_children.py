"""The children of `run --processes N`: forked on Linux (the imports done already), else started
as `python -m syncer`; both report an exit code, or minus the signal that ended them."""

from __future__ import annotations

import os
import signal
import sys
import time
from pathlib import Path

import pytest

from syncer.pipeline import processes

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="children are forked on Linux only")


def test_a_forked_child_runs_the_entry_with_its_own_environment(tmp_path: Path) -> None:
    out = tmp_path / "seen"

    def entry(args: list[str]) -> None:
        out.write_text(f"{args} {os.environ.get('SYNCER_X')} {os.environ.get('PARENT_ONLY')} {os.getsid(0)}")
        raise SystemExit(7)

    os.environ["PARENT_ONLY"] = "1"
    try:
        child = processes._start(entry, ["run", "--queue"], {"SYNCER_X": "child"})
    finally:
        del os.environ["PARENT_ONLY"]
    assert isinstance(child, processes._ForkedChild)
    assert child.wait() == 7
    args, x, parent_only, session = out.read_text().rsplit(" ", 3)
    assert (args, x, parent_only) == ("['run', '--queue']", "child", "None")
    assert int(session) == child.pid  # its own session: a terminal's Ctrl-C reaches the parent only


@pytest.mark.parametrize(("raised", "code"), [(None, 0), (SystemExit(None), 0), (ValueError("boom"), 1)])
def test_a_forked_child_s_exit_code(raised: BaseException | None, code: int) -> None:
    def entry(args: list[str]) -> None:
        if raised is not None:
            raise raised

    assert processes._start(entry, [], {}).wait() == code


def test_a_forked_child_takes_the_default_action_on_sigterm() -> None:
    previous = signal.signal(signal.SIGTERM, lambda *_: None)  # the parent forwards, the child must not
    try:
        child = processes._start(lambda args: time.sleep(30), [], {})
    finally:
        signal.signal(signal.SIGTERM, previous)
    assert child.poll() is None
    time.sleep(0.2)
    child.send_signal(signal.SIGTERM)
    assert child.wait() == -signal.SIGTERM
    assert child.poll() == -signal.SIGTERM
    child.send_signal(signal.SIGTERM)  # gone already: nothing to do


def test_without_an_entry_a_child_is_a_new_interpreter() -> None:
    child = processes._start(None, ["--help"], {**os.environ, "SYNCER_X": "1"})
    assert not isinstance(child, processes._ForkedChild)
    assert child.wait() == 0
