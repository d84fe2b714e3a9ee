"""Shared by the benchmark's programs: id files, the gateway's token, small JSON output."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

TOKEN = "bench-token-not-a-secret"


def read_ids(path: str | Path) -> list[str]:
    return [line.strip() for line in Path(path).read_text().splitlines() if line.strip()]


def write_ids(path: Path, prefix: str, count: int) -> Path:
    path.write_text("".join(f"{prefix}-{i:07d}\n" for i in range(count)))
    return path


def emit(result: dict[str, Any]) -> None:
    """A program's result: one JSON line on stdout, read by bench.run."""
    sys.stdout.write(json.dumps(result) + "\n")
    sys.stdout.flush()
