"""The metrics ``template.yaml``'s dashboard and alarms name, read from the template itself.

The dashboard body is a ``!Sub`` (a JSON string and a map of variables); it is resolved here the way
CloudFormation would (variables, pseudo parameters, ``${Resource.Attr}`` of the template's resources) and
parsed. A metric is named by a widget's metric row (``[namespace, name, dimension, value, …, {options}]``),
by a ``SEARCH('{namespace,dimension,…} MetricName="Name"', …)`` expression, or by an alarm (its own
``MetricName`` and ``Dimensions``, each ``MetricStat`` of its ``Metrics``, or a Metrics Insights query
``SELECT SUM(Name) FROM SCHEMA("namespace", dimension, …)``). Anything this module does not understand is
an error, so a widget cannot name a metric that the tests never see.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

__all__ = [
    "DASHBOARD_TYPE",
    "INSIGHTS_QUERY",
    "PSEUDO_PARAMETERS",
    "MetricRef",
    "alarm_refs",
    "alarms",
    "dashboard_body",
    "dashboard_refs",
    "expressions",
    "metric_refs",
]

DASHBOARD_TYPE = "AWS::CloudWatch::Dashboard"
ALARM_TYPE = "AWS::CloudWatch::Alarm"
PSEUDO_PARAMETERS = {
    "AWS::Region": "us-east-1",
    "AWS::StackName": "modelrouter",
    "AWS::AccountId": "123456789012",
}
"""What the pseudo parameters resolve to here."""

_PLACEHOLDER = re.compile(r"\$\{([^}!]+)\}")
_SEARCH = re.compile(r"""SEARCH\(\s*'\{([^}]*)\}\s+MetricName="([^"]+)"'\s*,""")
INSIGHTS_QUERY = re.compile(
    r'SELECT\s+(?:SUM|AVG|MAX|MIN|COUNT)\((\w+)\)\s+FROM\s+SCHEMA\(\s*"([^"]+)"((?:\s*,\s*\w+)*)\s*\)'
)
"""A Metrics Insights query over one schema, with no ``WHERE`` or ``GROUP BY``: one series, summed over
every series of the schema."""


@dataclass(frozen=True, order=True)
class MetricRef:
    """One metric as a widget or alarm names it."""

    name: str
    """The metric's name."""
    dimensions: frozenset[str]
    """The names of its dimensions (a CloudWatch series is the name and exactly these dimensions)."""
    namespace: str
    """Its namespace."""
    where: str
    """The widget title or alarm logical id that names it."""

    @property
    def series(self) -> tuple[str, frozenset[str]]:
        """The name and dimension names: what an EMF document must emit for the reference to have data."""
        return self.name, self.dimensions

    def label(self) -> str:
        """``Name{dim,dim}`` for test ids and messages."""
        return f"{self.name}{{{','.join(sorted(self.dimensions))}}}"


def _resources(template: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {name: r for name, r in template["Resources"].items() if r.get("Type") == kind}


def alarms(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The template's alarms' properties, by logical id."""
    return {name: r["Properties"] for name, r in _resources(template, ALARM_TYPE).items()}


def dashboard_body(template: dict[str, Any]) -> dict[str, Any]:
    """The (one) dashboard's body, its ``!Sub`` resolved and parsed.

    Raises:
        ValueError: a placeholder that is neither a variable, a pseudo parameter nor a resource attribute.
    """
    (dashboard,) = _resources(template, DASHBOARD_TYPE).values()
    body = dashboard["Properties"]["DashboardBody"]
    sub = body["Sub"]
    text, variables = (sub, {}) if isinstance(sub, str) else (sub[0], sub[1])
    resources = template["Resources"]

    def resolve(match: re.Match[str]) -> str:
        name = match.group(1)
        if name in variables:
            return str(variables[name])
        if name in PSEUDO_PARAMETERS:
            return PSEUDO_PARAMETERS[name]
        resource, _, attribute = name.partition(".")
        if resource in resources and attribute:
            return f"arn:aws:resolved:{resource}:{attribute}"
        raise ValueError(f"the dashboard body names ${{{name}}}, which nothing defines")

    parsed: dict[str, Any] = json.loads(_PLACEHOLDER.sub(resolve, text))
    return parsed


def expressions(metrics: list[Any]) -> list[dict[str, Any]]:
    """The metric-math and SEARCH entries of a widget's ``metrics`` rows (or an alarm's ``Metrics``)."""
    found: list[dict[str, Any]] = []
    for row in metrics:
        entry = row[0] if isinstance(row, list) and row and isinstance(row[0], dict) else row
        if isinstance(entry, dict) and ("expression" in entry or "Expression" in entry):
            found.append(entry)
    return found


def _search_refs(expression: str, where: str) -> list[MetricRef]:
    if "SEARCH(" not in expression:
        return []
    matches = _SEARCH.findall(expression)
    if len(matches) != expression.count("SEARCH("):
        raise ValueError(f"{where}: cannot read the SEARCH expression {expression!r}")
    refs = []
    for schema, name in matches:
        namespace, *dimensions = [part.strip() for part in schema.split(",")]
        refs.append(MetricRef(name, frozenset(dimensions), namespace, where))
    return refs


def _row_ref(row: list[Any], where: str) -> MetricRef:
    fields = row[:-1] if row and isinstance(row[-1], dict) else row
    if len(fields) < 2 or len(fields) % 2 or not all(isinstance(f, str) for f in fields) or "..." in fields:
        raise ValueError(f"{where}: cannot read the metric row {row!r} (write every row in full)")
    namespace, name, *pairs = fields
    return MetricRef(name, frozenset(pairs[0::2]), namespace, where)


def dashboard_refs(template: dict[str, Any]) -> list[MetricRef]:
    """Every metric the dashboard's widgets name."""
    refs: list[MetricRef] = []
    for widget in dashboard_body(template)["widgets"]:
        properties = widget.get("properties", {})
        where = str(properties.get("title", widget.get("type")))
        for row in properties.get("metrics", []):
            entry = row[0] if isinstance(row, list) and row and isinstance(row[0], dict) else None
            if entry is not None:
                refs.extend(_search_refs(str(entry.get("expression", "")), where))
            else:
                refs.append(_row_ref(row, where))
    return refs


def _alarm_metric(metric: dict[str, Any], where: str) -> MetricRef:
    dimensions = frozenset(d["Name"] for d in metric.get("Dimensions", []))
    return MetricRef(metric["MetricName"], dimensions, metric["Namespace"], where)


def _insights_ref(query: str, where: str) -> MetricRef:
    match = INSIGHTS_QUERY.fullmatch(query.strip())
    if match is None:
        raise ValueError(f"{where}: cannot read the Metrics Insights query {query!r}")
    name, namespace, dimensions = match.groups()
    return MetricRef(name, frozenset(d.strip() for d in dimensions.split(",") if d.strip()), namespace, where)


def alarm_refs(template: dict[str, Any]) -> list[MetricRef]:
    """Every metric the alarms watch."""
    refs: list[MetricRef] = []
    for name, alarm in alarms(template).items():
        if "MetricName" in alarm:
            refs.append(_alarm_metric(alarm, name))
        for query in alarm.get("Metrics", []):
            expression = str(query.get("Expression", ""))
            if "MetricStat" in query:
                refs.append(_alarm_metric(query["MetricStat"]["Metric"], name))
            elif expression.lstrip().upper().startswith("SELECT"):
                refs.append(_insights_ref(expression, name))
            else:
                refs.extend(_search_refs(expression, name))
    return refs


def metric_refs(template: dict[str, Any]) -> list[MetricRef]:
    """Every metric the dashboard and the alarms name."""
    return dashboard_refs(template) + alarm_refs(template)
