"""deploy/requirements.lock: the image's runtime dependencies, every one pinned with its hashes.

Offline: every [project].dependencies entry is in the lock at its pinned version and every
requirement carries sha256 hashes. With the package index (CI has PyPI): `deploy/lock.py
--check` resolves again from pyproject.toml (keeping the lock's pins as preferences, so a new
upstream release does not fail it) for x86_64 and aarch64 and compares.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[2]
LOCKS = {
    ROOT / "deploy" / "requirements.lock": ("project", "dependencies"),
    ROOT / "deploy" / "build-requirements.lock": ("build-system", "requires"),
}
REGENERATE = ".venv/bin/python deploy/lock.py"
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
# The image: CPython 3.11 on Linux.
IMAGE_ENVIRONMENT = {**default_environment(), "sys_platform": "linux", "platform_system": "Linux"}


def pins(lock: Path) -> dict[str, tuple[str, list[str]]]:
    """name → (version, hashes), from `name==version \\ --hash=sha256:... \\ ...` entries."""
    found: dict[str, tuple[str, list[str]]] = {}
    text = lock.read_text(encoding="utf-8")
    for chunk in re.split(r"\n(?=[^\s#])", text):
        entry = "\n".join(line for line in chunk.splitlines() if not line.lstrip().startswith("#"))
        if not entry.strip():
            continue
        match = re.match(r"([A-Za-z0-9._-]+)(?:\[[^\]]*\])?==([^\s;\\]+)", entry)
        assert match, f"{lock.name}: not an exact pin: {entry.splitlines()[0]!r}"
        hashes = re.findall(r"--hash=sha256:([0-9a-f]{64})\b", entry)
        assert hashes, f"{lock.name}: {match[1]} has no --hash=sha256: (regenerate: {REGENERATE})"
        found[canonicalize_name(match[1])] = (match[2], hashes)
    return found


@pytest.mark.parametrize("lock", LOCKS, ids=lambda path: path.name)
def test_every_pyproject_requirement_is_locked_at_its_pin(lock: Path) -> None:
    table, key = LOCKS[lock]
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    locked = pins(lock)
    for line in pyproject[table][key]:
        requirement = Requirement(line)
        if requirement.marker and not requirement.marker.evaluate(IMAGE_ENVIRONMENT):
            continue
        name = canonicalize_name(requirement.name)
        assert name in locked, f"{lock.name} lacks {requirement.name}: run `{REGENERATE}`"
        version, _ = locked[name]
        assert requirement.specifier.contains(version, prereleases=True), (
            f"{lock.name} has {requirement.name}=={version}, pyproject wants {requirement}: run `{REGENERATE}`"
        )


def test_the_runtime_lock_pins_the_transitive_dependencies_too() -> None:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    direct = {canonicalize_name(Requirement(line).name) for line in pyproject["project"]["dependencies"]}
    locked = pins(ROOT / "deploy" / "requirements.lock")
    assert set(locked) > direct, "a lock of the direct dependencies only leaves the transitive ones floating"
    assert not set(locked) & {"pytest", "ruff", "mypy", "checkov", "uv"}, (
        "dev tools do not belong in the image"
    )


@pytest.mark.slow
def test_the_locks_are_what_uv_resolves_from_pyproject() -> None:
    beside_python = Path(sys.executable).with_name("uv")
    if not (beside_python.exists() or shutil.which("uv")):
        if IN_CI:
            pytest.fail("uv is missing (dev extra)", pytrace=False)
        pytest.skip("uv is not installed (dev extra)")
    result = subprocess.run(
        [sys.executable, str(ROOT / "deploy" / "lock.py"), "--check"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if result.returncode != 0 and not IN_CI and "out of date" not in result.stdout:
        # uv itself failed (typically no package index offline): only CI must resolve.
        pytest.skip(f"uv could not resolve (no package index?): {result.stderr.strip()[-300:]}")
    assert result.returncode == 0, (result.stdout + result.stderr).strip() or f"regenerate: {REGENERATE}"
