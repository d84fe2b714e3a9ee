"""deploy/monitoring/prometheusrule.yaml, offline: a well-formed PrometheusRule whose alerts
each have a severity, a summary and a runbook entry in docs/operations.md, and whose
expressions are balanced and use only metrics the syncer exports. With `promtool` on the PATH
(Debian's `prometheus` package), the rules are also checked by Prometheus's own parser."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from syncer.observe.metrics import Metrics
from syncer.outcomes import RunSummary

ROOT = Path(__file__).resolve().parents[2]
RULES = ROOT / "deploy" / "monitoring" / "prometheusrule.yaml"
RUNBOOK = ROOT / "docs" / "operations.md"
FUNCTIONS = {"max", "sum", "rate", "time", "absent", "clamp_min", "by", "humanizeDuration"}
WANTED = {
    "SyncerRunFailed",
    "SyncerRunDegraded",
    "SyncerNoRecentSuccess",
    "SyncerQueueLagHigh",
    "SyncerRateLimitedSustained",
    "SyncerFailureRatioHigh",
}


def _document() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(RULES.read_text(encoding="utf-8"))
    return loaded


def _rules() -> list[dict[str, Any]]:
    return [rule for group in _document()["spec"]["groups"] for rule in group["rules"]]


def _exported() -> set[str]:
    metrics = Metrics(RunSummary())
    metrics.request("200", 0.1)  # a labelled child exists only once used
    text = generate_latest(metrics.registry).decode()
    return {s.name for family in text_string_to_metric_families(text) for s in family.samples}


def _balanced(expr: str) -> bool:
    pairs, stack = {")": "(", "]": "[", "}": "{"}, []
    for ch in re.sub(r'"[^"]*"', '""', expr):
        if ch in "([{":
            stack.append(ch)
        elif ch in pairs and (not stack or stack.pop() != pairs[ch]):
            return False
    return not stack


def test_it_is_a_prometheus_rule_with_the_alerts_the_runbook_explains() -> None:
    doc = _document()
    assert (doc["apiVersion"], doc["kind"]) == ("monitoring.coreos.com/v1", "PrometheusRule")
    assert doc["metadata"]["name"] == "syncer"
    rules = _rules()
    assert {r["alert"] for r in rules} >= WANTED
    headings = {
        line[3:].strip().lower()
        for line in RUNBOOK.read_text(encoding="utf-8").splitlines()
        if line.startswith("## ")
    }
    for rule in rules:
        assert set(rule) == {"alert", "expr", "for", "labels", "annotations"}, rule["alert"]
        assert re.fullmatch(r"Syncer[A-Z][A-Za-z]+", rule["alert"])
        assert re.fullmatch(r"\d+[smh]", rule["for"]), rule["alert"]
        assert rule["labels"]["severity"] in ("warning", "critical")
        notes = rule["annotations"]
        assert notes["summary"] and notes["description"]
        assert notes["runbook_url"] == f"docs/operations.md#{rule['alert'].lower()}"
        assert rule["alert"].lower() in headings, f"docs/operations.md has no section {rule['alert']}"


@pytest.mark.parametrize("rule", _rules(), ids=lambda r: r["alert"])
def test_each_expression_is_balanced_and_uses_only_exported_metrics(rule: dict[str, Any]) -> None:
    expr = rule["expr"]
    assert _balanced(expr), expr
    outside = re.sub(r'\{[^}]*\}|\[[^]]*\]|"[^"]*"', " ", expr)
    names = set(re.findall(r"\b[a-z_][a-z0-9_]*\b", outside)) - FUNCTIONS - {"job", "instance"}
    assert names, expr
    assert names <= _exported(), f"{rule['alert']}: not exported: {sorted(names - _exported())}"
    for label_set in re.findall(r"\{([^}]*)\}", expr):
        for label in re.findall(r"(\w+)\s*=~?", label_set):
            assert label in ("status", "outcome"), f"{rule['alert']}: unknown label {label}"


def test_promtool_accepts_the_rules(tmp_path: Path) -> None:
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.skip("promtool not installed (apt-get install prometheus): checked by the schema tests above")
    rules = tmp_path / "rules.yaml"
    rules.write_text(yaml.safe_dump(_document()["spec"]), encoding="utf-8")
    checked = subprocess.run(
        [promtool, "check", "rules", str(rules)], capture_output=True, text=True, check=False
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert f"SUCCESS: {len(_rules())} rules found" in checked.stdout
