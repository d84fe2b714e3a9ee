"""`syncer run --processes N`: N worker processes under one parent, to use a machine's cores.

One process spends about a core on parsing and flattening; the database and the gateway's
latency are not the limit. Each child is a plain `syncer run` (the same program, its settings
passed as SYNCER_* variables): with `--ids FILE`, child K takes shard K/N of the file
(`--shard`, a stable hash of the id, so duplicates meet in one child); with `--queue`, every
child drains the same queue. The command's budgets are split evenly between the children:
`--concurrency`, `--rate` and `--limit` mean the same with one process or eight.

On Linux a child is forked from the parent, which has imported the whole program already (a
fresh `python -m syncer` spends about a second of CPU on its imports, per child); elsewhere,
or given no `entry`, it is started as a new `python -m syncer run`. Either way it runs the CLI
from the top with its own settings, in its own session.

The parent forwards SIGTERM/SIGINT once to every child (each drains within
`--shutdown-grace`), adds up their summaries, logs one `run.finished` and exits with the most
serious code: interrupted (130/143) > credentials (3) > usage or database (2) > failed ids (1).
Each child records its own `sync_runs` row.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from dataclasses import fields
from pathlib import Path
from types import FrameType
from typing import Any, Protocol

from syncer.errors import ConfigError
from syncer.observe.logs import get_logger
from syncer.outcomes import EXIT_INTERRUPTED, ExitCode, RunStatus, RunSummary
from syncer.settings import Settings

log = get_logger("syncer.pipeline.processes")

_SEVERITY = (ExitCode.CREDENTIALS, ExitCode.USAGE, ExitCode.FAILED)
"""Exit codes from the most serious down, after an interruption (see the module docstring)."""


def share(total: int, parts: int, k: int) -> int:
    """Part `k` of `total` split as evenly as whole numbers allow (the parts add up to `total`)."""
    return total // parts + (1 if k < total % parts else 0)


def plan(settings: Settings) -> int:
    """How many children to start: `--processes`, but never more than there are requests in
    flight or ids to take (each child needs at least one of each)."""
    if settings.shard:
        raise ConfigError("--processes and --shard: give one (--processes runs one child per shard)")
    return min(settings.processes, settings.concurrency, settings.limit or settings.processes)


def child_settings(settings: Settings, k: int, n: int, ids: str | None, work: Path) -> dict[str, Any]:
    """Child `k`'s settings: the parent's, with its share of every budget."""
    values = {f: getattr(settings, f) for f in Settings.model_fields}
    values.update(
        processes=1,
        concurrency=share(settings.concurrency, n, k),
        rate=settings.rate / n,
        limit=share(settings.limit, n, k) if settings.limit else None,
        shard=f"{k}/{n}" if ids is not None else None,
        summary_out=work / f"summary-{k}.json",
        failed_out=_part(settings.failed_out, k) if settings.failed_out else None,
        progress=False,  # N progress bars on one terminal would overwrite each other
        metrics_port=settings.metrics_port + k if settings.metrics_port else None,  # one port each
    )
    return values


def child_env(values: dict[str, Any]) -> dict[str, str]:
    """The environment that gives a child `values` (the parent's own SYNCER_* are replaced)."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("SYNCER_")}
    for name, value in values.items():
        if value is not None:
            env[f"SYNCER_{name.upper()}"] = _env_text(value)
    return env


def _env_text(value: Any) -> str:
    if hasattr(value, "get_secret_value"):
        return str(value.get_secret_value())
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def worst(codes: list[int], interrupted: list[int]) -> int:
    if interrupted:
        return EXIT_INTERRUPTED[signal.Signals(interrupted[0])]
    for code in _SEVERITY:
        if code in codes:
            return code
    return 0 if all(code == 0 for code in codes) else 1  # a child killed or crashed


def add_up(summaries: list[dict[str, Any]], duration_s: float) -> RunSummary:
    total = RunSummary()
    for name in (f.name for f in fields(RunSummary) if f.name != "duration_s"):
        setattr(total, name, sum(int(s.get(name, 0)) for s in summaries))
    total.duration_s = duration_s
    return total


class _Child(Protocol):
    pid: int

    def poll(self) -> int | None: ...

    def wait(self) -> int: ...

    def send_signal(self, signum: int) -> None: ...


Entry = Callable[[list[str]], object]
"""The CLI's entry point, `syncer.cli.main`: a forked child runs it with its arguments."""


class _ForkedChild:
    """A child forked from this process, with `subprocess.Popen`'s `poll`/`wait`/`send_signal`
    (exit code, or minus the signal that ended it)."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.returncode: int | None = None

    @classmethod
    def start(cls, entry: Entry, args: list[str], env: dict[str, str]) -> _ForkedChild:
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid:
            return cls(pid)
        code = 1  # the child: never returns into the parent's code
        try:
            os.setsid()
            for signum in (signal.SIGTERM, signal.SIGINT):
                signal.signal(signum, signal.SIG_DFL)  # the run installs its own
            os.environ.clear()
            os.environ.update(env)
            entry(args)
            code = 0
        except SystemExit as done:
            code = done.code if isinstance(done.code, int) else (0 if done.code is None else 1)
        except BaseException:
            traceback.print_exc()
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(code)

    def poll(self) -> int | None:
        if self.returncode is None:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                self.returncode = os.waitstatus_to_exitcode(status)
        return self.returncode

    def wait(self) -> int:
        if self.returncode is None:
            _, status = os.waitpid(self.pid, 0)
            self.returncode = os.waitstatus_to_exitcode(status)
        return self.returncode

    def send_signal(self, signum: int) -> None:
        if self.returncode is None:
            os.kill(self.pid, signum)


def _start(entry: Entry | None, args: list[str], env: dict[str, str]) -> _Child:
    if entry is not None and sys.platform == "linux":
        return _ForkedChild.start(entry, args, env)
    # Its own session: a terminal's Ctrl-C reaches the parent only, which forwards it once.
    argv = [sys.executable, "-m", "syncer", *args]
    return subprocess.Popen(argv, env=env, start_new_session=True)  # noqa: S603


def run_processes(settings: Settings, ids: str | None, entry: Entry | None = None) -> int:
    """Run the children to the end; the exit code."""
    n = plan(settings)
    started = time.monotonic()
    interrupted: list[int] = []
    children: list[_Child] = []

    def forward(signum: int, _frame: FrameType | None) -> None:
        interrupted.append(signum)
        for child in children:
            if child.poll() is None:
                child.send_signal(signum)

    previous = {sig: signal.signal(sig, forward) for sig in (signal.SIGTERM, signal.SIGINT)}
    source = ["--queue"] if ids is None else ["--ids", ids]
    with tempfile.TemporaryDirectory(prefix="syncer-processes-") as tmp:
        work = Path(tmp)
        try:
            for k in range(n):
                if interrupted:
                    break
                env = child_env(child_settings(settings, k, n, ids, work))
                children.append(_start(entry, ["run", *source], env))
            log.info("run.processes", processes=len(children), pids=[c.pid for c in children])
            codes = [child.wait() for child in children]
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        summaries = [_read(work / f"summary-{k}.json") for k in range(len(children))]
    if settings.failed_out:
        _join(settings.failed_out, len(children))
    total = add_up(summaries, time.monotonic() - started)
    code = worst(codes, interrupted)
    for k, (child_code, summary) in enumerate(zip(codes, summaries, strict=True)):
        if not summary:
            log.error("run.process_lost", process=k, exit_code=child_code)
    status = RunStatus.INTERRUPTED if interrupted else (RunStatus.FAILED if code else RunStatus.OK)
    run_ids = [s["run_id"] for s in summaries if s.get("run_id")]
    log.info("run.finished", processes=n, run_ids=run_ids, status=status, exit_code=code, **total.as_dict())
    return code


def _part(path: Path, k: int) -> Path:
    return path.with_name(f"{path.name}.part{k}")


def _join(path: Path, n: int) -> None:
    """The children's --failed-out parts, one after the other, into the one file asked for."""
    with path.open("w", encoding="utf-8") as out:
        for k in range(n):
            part = _part(path, k)
            if part.exists():
                with part.open(encoding="utf-8") as piece:
                    shutil.copyfileobj(piece, out)
                part.unlink()


def _read(path: Path) -> dict[str, Any]:
    try:
        return dict(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError):  # the child died before it could write one
        return {}
