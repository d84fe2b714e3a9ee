"""The house shows its architecture, and the README says so truthfully.

- The README's Layout block names every module, package, sql/ folder and test folder.
- pyproject's package list is every package under syncer/ (plus sql/ as `syncer.sql`).
- Each package's docstring says what it owns and what it may import.
- `.ci/run` runs the README's test command, exactly.
- Importing the CLI imports no HTTP or database library (`syncer --help` answers fast).
"""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def _layout_block() -> str:
    section = README.split("## Layout", 1)[1]
    return section.split("```", 2)[1]


def _words(text: str) -> set[str]:
    return set(re.findall(r"[A-Za-z_][A-Za-z0-9_.]*", text))


def test_the_readme_layout_names_every_module_and_folder() -> None:
    words = _words(_layout_block())
    modules = {p.stem for p in (ROOT / "syncer").glob("*.py") if p.stem not in ("__init__", "__main__")}
    packages = {p.parent.name for p in (ROOT / "syncer").glob("*/__init__.py")}
    stage_modules = {
        p.stem
        for p in (ROOT / "syncer").glob("*/*.py")
        if p.stem != "__init__" and p.parent.name != "sandbox"  # the sandbox is one fake, named whole
    }
    sql_folders = {p.name for p in (ROOT / "sql").iterdir() if p.is_dir() and p.name != "__pycache__"}
    test_folders = {p.name for p in (ROOT / "tests").iterdir() if p.is_dir() and p.name != "__pycache__"}
    missing = (modules | packages | stage_modules | sql_folders | test_folders) - words
    assert not missing, f"README Layout does not name: {sorted(missing)}"


def test_pyproject_lists_every_package() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    listed = set(config["tool"]["setuptools"]["packages"])
    found = {"syncer"} | {f"syncer.{p.parent.name}" for p in (ROOT / "syncer").glob("*/__init__.py")}
    assert listed == found | {"syncer.sql"}
    assert config["tool"]["setuptools"]["package-dir"] == {"syncer.sql": "sql"}


def test_every_stage_says_what_it_owns_and_may_import() -> None:
    for init in sorted((ROOT / "syncer").glob("*/__init__.py")):
        if init.parent.name == "sandbox":
            continue
        text = init.read_text(encoding="utf-8")
        assert text.startswith('"""'), init
        assert "May import" in text or "Only the CLI imports it" in text, init


def test_ci_runs_the_readme_test_command_exactly() -> None:
    commands = re.findall(r"```sh\n(.*?)\n```", README.split("## Try it", 1)[1], re.S)
    demo, tests = commands[0], commands[1]
    assert "syncer demo" in demo
    assert "pytest" in tests
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8").strip().splitlines()
    assert ci[-1] == tests


def test_importing_the_cli_imports_no_http_or_database_library() -> None:
    heavy = [
        "httpx",
        "aiohttp",
        "sqlalchemy",
        "sqlmodel",
        "asyncpg",
        "aiosqlite",
        "uvicorn",
        "starlette",
        "prometheus_client",
    ]
    code = f"import sys, syncer.cli; print(','.join(sorted(m for m in {heavy!r} if m in sys.modules)))"
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert loaded.stdout.strip() == ""
