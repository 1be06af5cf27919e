"""PromQL helpers for the deployment tests: the metric names an expression reads, whether
agentfleet exports them, and promtool.

The name extraction is deliberately lexical (strings, label matchers, ranges and grouping
clauses removed, function calls and keywords dropped): it needs no Prometheus server, and the
expressions themselves are checked for syntax by ``promtool``.
"""

from __future__ import annotations

import functools
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from shared.metrics.catalogue import METRIC_NAMES

__all__ = [
    "HISTOGRAM_SUFFIXES",
    "RULES",
    "metric_names",
    "recorded_names",
    "run_promtool",
    "unknown_metrics",
]

RULES = Path(__file__).resolve().parents[2] / "deploy/prometheus/rules/agentfleet.rules.yml"
HISTOGRAM_SUFFIXES = ("_bucket", "_sum", "_count")
# Series Prometheus itself writes for every target.
_PROMETHEUS_SERIES = frozenset({"up"})

_GRAFANA_VARIABLE = re.compile(r"\$\{[^}]*\}|\$\w+")
_STRING = re.compile(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|`[^`]*`')
_MATCHERS = re.compile(r"\{[^{}]*\}")
_RANGE = re.compile(r"\[[^\[\]]*\]")
_GROUPING = re.compile(
    r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^()]*\)", re.IGNORECASE
)
_IDENTIFIER = re.compile(r"(?<![\w.:])([A-Za-z_:][A-Za-z0-9_:]*)(\s*\()?")
_KEYWORDS = frozenset(
    {
        "and",
        "or",
        "unless",
        "by",
        "without",
        "on",
        "ignoring",
        "group_left",
        "group_right",
        "offset",
        "bool",
        "inf",
        "nan",
        "atan2",
        "start",
        "end",
    }
)


def metric_names(expr: str) -> set[str]:
    """Every metric name (or recorded series) that ``expr`` selects."""
    text = _GRAFANA_VARIABLE.sub("x", expr)
    text = _STRING.sub('""', text)
    text = _MATCHERS.sub(" ", text)
    text = _RANGE.sub(" ", text)
    text = _GROUPING.sub(" ", text)
    names = set()
    for match in _IDENTIFIER.finditer(text):
        name, call = match.group(1), match.group(2)
        if call or name.lower() in _KEYWORDS:
            continue
        names.add(name)
    return names


@functools.cache
def recorded_names() -> frozenset[str]:
    """The series the recording rules write."""
    with RULES.open(encoding="utf-8") as handle:
        groups = yaml.safe_load(handle)["groups"]
    return frozenset(
        rule["record"] for group in groups for rule in group["rules"] if "record" in rule
    )


def unknown_metrics(expr: str) -> set[str]:
    """Names in ``expr`` that neither agentfleet exports nor a recording rule writes."""
    known = {*METRIC_NAMES, *recorded_names(), *_PROMETHEUS_SERIES}
    unknown = set()
    for name in metric_names(expr):
        base = next((name[: -len(s)] for s in HISTOGRAM_SUFFIXES if name.endswith(s)), name)
        if name not in known and base not in known:
            unknown.add(name)
    return unknown


def run_promtool(*args: str | Path, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """Run ``promtool``; fail the test (never skip) when it is not installed."""
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.fail(
            "promtool is not installed: run deploy/dev/ensure-tools.sh (make tools)",
            pytrace=False,
        )
    return subprocess.run(
        [promtool, *map(str, args)],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
