"""On a terminal (a real pseudo-terminal): the progress bar is drawn, then erased, and the run
ends with a short summary table. (Piped, no ANSI code at all: tests/e2e/test_observe.py.)"""

from __future__ import annotations

import os
import pty
import re
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from syncer.sandbox import SandboxConfig
from syncer.sandbox.server import running_sandbox_in_thread
from tests.e2e.cli import clean_env
from tests.e2e.test_run_file import write_ids

ERASE_LINE = "\x1b[2K"


@pytest.mark.slow
def test_the_bar_renders_and_clears_and_a_summary_table_follows(tmp_path: Path) -> None:
    ids = [f"tty-{i:03d}" for i in range(60)]
    ids[2] = "fault-invalid_json-1"  # logs id.failed early, while the bar is shown
    ids_file = write_ids(tmp_path / "ids.txt", ids)
    with running_sandbox_in_thread(SandboxConfig()) as url:
        primary, secondary = pty.openpty()
        args = ["run", "--ids", str(ids_file), "--gateway-url", url, "--rate", "30", "--concurrency", "2"]
        args += ["--database-url", f"sqlite:///{tmp_path / 's.db'}"]
        env = clean_env() | {"TERM": "xterm", "COLUMNS": "160"}
        proc = subprocess.Popen(
            [sys.executable, "-m", "syncer", *args], stdout=subprocess.DEVNULL, stderr=secondary, env=env
        )
        os.close(secondary)
        chunks: list[bytes] = []

        def read() -> None:  # until the child closes the terminal (EIO on Linux)
            while True:
                try:
                    data = os.read(primary, 65536)
                except OSError:
                    return
                if not data:
                    return
                chunks.append(data)

        reader = threading.Thread(target=read, daemon=True)
        reader.start()
        assert proc.wait(timeout=120) == 1  # the one failed id
        reader.join(timeout=30)
        os.close(primary)
    screen = b"".join(chunks).decode("utf-8", "replace")
    drawn = [i for i in range(len(screen)) if screen.startswith("sessions/s", i)]
    assert len(drawn) >= 2, screen[-2000:]  # redrawn as it goes
    assert "/62" in screen and "ETA" in screen and "%" in screen  # 60 ids, a comment and a blank line
    last_bar, erased = drawn[-1], screen.rfind(ERASE_LINE)
    assert erased > last_bar, "the bar was not erased at the end"
    after = screen[erased:]
    assert "sessions/s" not in after and "ETA" not in after  # gone, and nothing redrew it
    assert "run.finished" in after  # the console log line, once, after the bar
    assert screen.count("run.finished") == 1
    assert "inserted" in after and "59" in after and "duration" in after  # the summary table
    # A log line printed while the bar is live gets a line of its own above it, never mixed in.
    plain = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", screen)
    failed = [line for line in plain.splitlines() if "id.failed" in line]
    assert len(failed) == 1 and re.match(r"\d{4}-\d\d-\d\dT[\d:.]+Z \[warning", failed[0]), failed
    assert screen.index("id.failed") < last_bar  # it came while the bar was live
