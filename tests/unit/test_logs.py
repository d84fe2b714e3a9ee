"""Secrets never reach a log line, whatever carries them."""

from __future__ import annotations

import json

import pytest
import structlog

from syncer.observe import logs

SECRET = "tok-9f8e7d6c5b4a"


def test_redactor_scrubs_nested_values_and_secret_keys() -> None:
    redact = logs.Redactor([SECRET])
    event = {
        "event": f"boom Bearer {SECRET}",
        "token": "anything",
        "Authorization": "Bearer x",
        "nested": {"headers": [f"Authorization: Bearer {SECRET}"], "password": "p"},
        "error": ValueError(f"bad {SECRET}"),
    }
    out = redact(None, "info", event)
    text = json.dumps(out, default=str)
    assert SECRET not in text
    assert out["token"] == out["Authorization"] == logs.REDACTED
    assert out["nested"]["password"] == logs.REDACTED
    assert out["event"] == "boom Bearer ***"


def test_json_lines_on_stderr_without_the_token(capsys: pytest.CaptureFixture[str]) -> None:
    logs.configure(log_format="json", secrets=[SECRET])
    try:
        try:
            raise RuntimeError(f"failed with {SECRET}")
        except RuntimeError:
            logs.get_logger().exception("it.failed", url=f"https://x/?t={SECRET}")
    finally:
        structlog.reset_defaults()
    err = capsys.readouterr().err
    assert SECRET not in err
    line = json.loads(err.strip().splitlines()[-1])
    assert line["event"] == "it.failed"
    assert "***" in line["exception"]


class _Writes:
    """A stderr stand-in that keeps each write() apart."""

    def __init__(self) -> None:
        self.chunks: list[str] = []

    def write(self, text: str) -> int:
        self.chunks.append(text)
        return len(text)

    def flush(self) -> None:
        pass

    def isatty(self) -> bool:
        return False


def test_each_line_is_one_write(monkeypatch: pytest.MonkeyPatch) -> None:
    """The children of `run --processes N` share one stderr pipe: a line written in two parts
    (text, then newline) could be split by another process's line."""
    stderr = _Writes()
    monkeypatch.setattr("sys.stderr", stderr)
    logs.configure(log_format="json")
    logs.get_logger().info("one.event", n=1)
    logs.get_logger().warning("two.event", n=2)
    assert len(stderr.chunks) == 2
    assert all(chunk.endswith("\n") and chunk.count("\n") == 1 for chunk in stderr.chunks)
    assert [json.loads(chunk)["event"] for chunk in stderr.chunks] == ["one.event", "two.event"]
