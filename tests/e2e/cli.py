"""Drive the real `syncer` CLI in a subprocess and read its one summary line."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from typing import Any


@dataclass
class Result:
    code: int
    stdout: str
    stderr: str

    @property
    def events(self) -> list[dict[str, Any]]:
        out = []
        for line in self.stderr.splitlines():
            if line.startswith("{"):
                out.append(json.loads(line))
        return out

    @property
    def summary(self) -> dict[str, Any]:
        finished = [e for e in self.events if e.get("event") == "run.finished"]
        assert len(finished) == 1, self.stderr[-3000:]
        return finished[0]


def clean_env() -> dict[str, str]:
    """This process's environment without SYNCER_* variables."""
    return {k: v for k, v in os.environ.items() if not k.startswith("SYNCER_")}


def syncer(
    *args: str, env: dict[str, str] | None = None, timeout: float = 240, stdin: str | None = None
) -> Result:
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("SYNCER_")}
    full_env.update(env or {})
    proc = subprocess.run(
        [sys.executable, "-m", "syncer", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=full_env,
        input=stdin,
        check=False,
    )
    return Result(proc.returncode, proc.stdout, proc.stderr)
