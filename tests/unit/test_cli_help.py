"""Every command's help has a one-line purpose and an example; `-h` is `--help`; `--version`."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import typer

from syncer import __version__
from syncer.cli import app, main


def _commands(group: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    for name, command in group.commands.items():
        yield (*path, name)
        if hasattr(command, "commands"):  # a group (Typer vendors its own Click)
            yield from _commands(command, (*path, name))


COMMANDS = sorted(_commands(typer.main.get_group(app)))


def _help(capsys: pytest.CaptureFixture[str], *args: str) -> str:
    with pytest.raises(SystemExit) as done:
        main(list(args))
    assert done.value.code == 0
    return capsys.readouterr().out


def test_the_new_commands_are_there() -> None:
    assert {("runs",), ("failures",), ("queue", "status"), ("run",)} <= set(COMMANDS)


@pytest.mark.parametrize("path", [(), *COMMANDS], ids=lambda p: " ".join(p) or "syncer")
def test_every_help_has_a_purpose_and_an_example(
    capsys: pytest.CaptureFixture[str], path: tuple[str, ...]
) -> None:
    text = _help(capsys, *path, "-h")
    assert text == _help(capsys, *path, "--help")
    purpose = text.split("\n\n")[1].strip()
    assert purpose and purpose.endswith((".", ")")), text
    example = " ".join(text.split("Example: ", 1)[1].split())  # unwrapped
    assert example.startswith(" ".join(("syncer", *path[:1]))), text


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    assert _help(capsys, "--version").strip() == f"syncer {__version__}"
