"""The dashboard and alarms in ``template.yaml``: what they show, what they watch, whom they notify.

``test_emf_metrics.py`` checks that every metric named here is emitted by a real run; these tests check
the template itself: the names exist in :mod:`modelrouter.telemetry_names`, the widgets the operators
need are there, every alarm watches an alarmable (service-wide) series, says what to do, treats missing
data on purpose, and notifies the ``AlarmTopicArn`` parameter only when it is set.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from modelrouter.telemetry_names import NAMESPACE, Metric
from tests.aws import load_template
from tests.integration.template_metrics import (
    INSIGHTS_QUERY,
    MetricRef,
    alarm_refs,
    alarms,
    dashboard_body,
    dashboard_refs,
    expressions,
    metric_refs,
)

TEMPLATE = load_template()
ALARMS = alarms(TEMPLATE)
BODY = dashboard_body(TEMPLATE)
WIDGETS: list[dict[str, Any]] = BODY["widgets"]
GLOBAL_VARIABLES: dict[str, Any] = TEMPLATE["Globals"]["Function"]["Environment"]["Variables"]
SERVICE = GLOBAL_VARIABLES["POWERTOOLS_SERVICE_NAME"]
KNOWN_METRICS = {value for name, value in vars(Metric).items() if name.isupper()}
GRID_COLUMNS = 24
"""CloudWatch dashboards are 24 columns wide."""
NOTIFY = {"If": ["HasAlarmTopic", [{"Ref": "AlarmTopicArn"}], {"Ref": "AWS::NoValue"}]}
MIN_RUNBOOK_CHARS = 120
"""An alarm description that says what happened and what to do is at least a couple of sentences."""

ALARMED = {
    Metric.SERVER_ERRORS: "5xx rate",
    Metric.PROVENANCE_WRITE_FAILURES: "provenance-write failures",
    Metric.SETTLEMENT_FAILURES: "settlement failures",
    Metric.POLICY_REJECTED: "policy-load failures",
    Metric.POLICY_REFRESH_FAILURES: "policy-load failures",
    Metric.POLICY_ACTIVATION_REJECTED: "activation failures",
    Metric.BUDGET_STORE_FAIL_OPEN: "budget store fail-open",
    Metric.BREAKER_OPENED: "breaker openings sustained",
    Metric.LATENCY: "p99 latency",
}
"""What on-call must be paged for (issue 14), by the metric its alarm watches."""


def _refs_by_widget() -> dict[str, list[MetricRef]]:
    by_widget: dict[str, list[MetricRef]] = {}
    for ref in dashboard_refs(TEMPLATE):
        by_widget.setdefault(ref.where, []).append(ref)
    return by_widget


def _widget(title_words: str) -> dict[str, Any]:
    (widget,) = [w for w in WIDGETS if title_words.lower() in str(w["properties"].get("title", "")).lower()]
    return widget


# --- Names ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("ref", metric_refs(TEMPLATE), ids=lambda ref: f"{ref.where}:{ref.label()}")
def test_every_metric_named_is_one_the_code_names(ref: MetricRef) -> None:
    # Given a metric a widget or an alarm names
    # Then it is one of telemetry_names', in the functions' namespace
    assert ref.name in KNOWN_METRICS, f"{ref.where} names {ref.name}, which telemetry_names does not define"
    assert ref.namespace == NAMESPACE == GLOBAL_VARIABLES["POWERTOOLS_METRICS_NAMESPACE"]


def test_the_dashboard_body_resolves_and_every_placeholder_is_defined() -> None:
    # Given the dashboard's !Sub, resolved as CloudFormation would (an undefined placeholder raises)
    # Then it is a dashboard of widgets that fit the grid without overlapping
    assert WIDGETS
    taken: set[tuple[int, int]] = set()
    for widget in WIDGETS:
        x, y, width, height = (widget[key] for key in ("x", "y", "width", "height"))
        assert x >= 0, widget
        assert x + width <= GRID_COLUMNS, widget
        cells = {(col, row) for col in range(x, x + width) for row in range(y, y + height)}
        assert not cells & taken, f"{widget['properties'].get('title')} overlaps another widget"
        taken |= cells


def test_every_metric_widget_reads_the_stack_region() -> None:
    for widget in WIDGETS:
        if widget["type"] == "metric":
            assert widget["properties"]["region"] == "us-east-1", widget["properties"]["title"]


# --- What the dashboard shows -------------------------------------------------------------------------

REQUIRED_WIDGETS = {
    "spend per tenant": {(Metric.TENANT_SPEND_USD, frozenset({"service", "tenant"}))},
    "routing mix": {(Metric.REQUESTS, frozenset({"service", "route", "model"}))},
    "fallback rate": {(Metric.FALLBACKS, frozenset({"service"})), (Metric.REQUESTS, frozenset({"service"}))},
    "check failures": {(Metric.CHECK_FAILURES, frozenset({"service", "route", "model"}))},
    "latency": {(Metric.LATENCY, frozenset({"service"}))},
    "error responses": {
        (Metric.CLIENT_ERRORS, frozenset({"service"})),
        (Metric.SERVER_ERRORS, frozenset({"service"})),
    },
    "budget refusals": {(Metric.BUDGET_REJECTIONS, frozenset({"service"}))},
    "breakers": {(Metric.BREAKER_OPENED, frozenset({"service", "model"}))},
    "provenance": {(Metric.PROVENANCE_WRITE_FAILURES, frozenset({"service"}))},
    "policy": {
        (Metric.POLICY_REJECTED, frozenset({"service"})),
        (Metric.POLICY_REFRESH_FAILURES, frozenset({"service"})),
        (Metric.POLICY_ACTIVATION_REJECTED, frozenset({"service"})),
    },
    "drift": {(Metric.DRIFT_DETECTED, frozenset({"service", "route"}))},
    "cost per successful outcome": {(Metric.COST_PER_SUCCESSFUL_OUTCOME, frozenset({"service", "route"}))},
}
"""Each widget the issue asks for (by words of its title) and the series it must show."""


@pytest.mark.parametrize("title", sorted(REQUIRED_WIDGETS))
def test_the_dashboard_shows_what_operators_need(title: str) -> None:
    # Given the widget whose title has these words
    refs = _refs_by_widget()
    [where] = [name for name in refs if title in name.lower()]
    # Then it shows these series
    assert REQUIRED_WIDGETS[title] <= {ref.series for ref in refs[where]}


def test_latency_shows_p50_and_p99() -> None:
    rows = _widget("latency")["properties"]["metrics"]
    assert {row[-1]["stat"] for row in rows} == {"p50", "p99"}


def test_the_fallback_rate_is_fallbacks_over_answered_requests() -> None:
    # Given the fallback-rate widget's math
    metrics = _widget("fallback rate")["properties"]["metrics"]
    ids = {row[1]: row[-1]["id"] for row in metrics if isinstance(row[0], str)}
    (rate,) = expressions(metrics)
    # Then it divides the fallbacks by the answered requests, as a percentage
    expression = rate["expression"].replace(" ", "")
    assert expression == f"100*FILL({ids[Metric.FALLBACKS]},0)/{ids[Metric.REQUESTS]}"


@pytest.mark.parametrize(
    "widget", [w for w in WIDGETS if w["type"] == "metric"], ids=lambda w: w["properties"]["title"]
)
def test_metric_math_only_names_ids_of_its_widget(widget: dict[str, Any]) -> None:
    metrics = widget["properties"]["metrics"]
    defined = {row[-1]["id"] for row in metrics if isinstance(row[-1], dict) and "id" in row[-1]}
    for entry in expressions(metrics):
        math = re.sub(r"SEARCH\([^)]*\)|'[^']*'", "", entry["expression"])
        used = set(re.findall(r"\b[a-z][a-z0-9_]*\b", math)) - {"fill", "if"}
        assert used <= defined, f"{widget['properties']['title']}: {used - defined} undefined"


def test_the_alarm_widget_lists_every_alarm() -> None:
    (widget,) = [w for w in WIDGETS if w["type"] == "alarm"]
    assert sorted(widget["properties"]["alarms"]) == sorted(f"arn:aws:resolved:{name}:Arn" for name in ALARMS)


# --- Alarms -------------------------------------------------------------------------------------------


def test_alarms_cover_what_on_call_must_act_on() -> None:
    watched = {ref.name for ref in alarm_refs(TEMPLATE)}
    missing = {metric: why for metric, why in ALARMED.items() if metric not in watched}
    assert not missing, f"no alarm on {missing}"


@pytest.mark.parametrize("name", sorted(ALARMS))
def test_alarms_watch_every_series_of_their_metric(name: str) -> None:
    # An alarm cannot sum a metric over dimensions: it watches the series with service alone, or sums
    # every series of one schema with a Metrics Insights query (no WHERE, no GROUP BY)
    alarm = ALARMS[name]
    queries = [alarm] if "MetricName" in alarm else alarm["Metrics"]
    for query in queries:
        stat = query.get("MetricStat", {}).get("Metric", query)
        if "MetricName" in stat:
            assert stat["Dimensions"] == [{"Name": "service", "Value": SERVICE}]
        elif query["Expression"].startswith("SELECT"):
            assert INSIGHTS_QUERY.fullmatch(query["Expression"]), query["Expression"]
            assert query["Expression"].endswith(", service)")


@pytest.mark.parametrize("name", sorted(ALARMS))
def test_each_alarm_notifies_the_topic_parameter_only_when_it_is_set(name: str) -> None:
    alarm = ALARMS[name]
    assert alarm["AlarmActions"] == NOTIFY
    assert alarm["OKActions"] == NOTIFY


def test_the_topic_parameter_is_optional_and_an_sns_arn() -> None:
    # Given the parameter and the condition the alarms' actions depend on
    assert TEMPLATE["Conditions"]["HasAlarmTopic"] == {"Not": [{"Equals": [{"Ref": "AlarmTopicArn"}, ""]}]}
    parameter = TEMPLATE["Parameters"]["AlarmTopicArn"]
    # Then empty (the default) is allowed, and otherwise only an SNS topic's ARN
    assert (parameter["Type"], parameter["Default"]) == ("String", "")
    assert re.fullmatch(parameter["AllowedPattern"], "")
    assert re.fullmatch(parameter["AllowedPattern"], "arn:aws:sns:eu-west-1:123456789012:on-call")
    assert not re.fullmatch(parameter["AllowedPattern"], "arn:aws:sqs:eu-west-1:123456789012:on-call")


@pytest.mark.parametrize("name", sorted(ALARMS))
def test_each_alarm_says_what_to_do_and_treats_missing_data_on_purpose(name: str) -> None:
    alarm = ALARMS[name]
    assert len(alarm["AlarmDescription"]) >= MIN_RUNBOOK_CHARS
    assert len(alarm["AlarmDescription"]) <= 1024  # CloudWatch's limit
    # Failures are counted when they happen: no data means none happened (or no traffic)
    assert alarm["TreatMissingData"] == "notBreaching"


def test_breaker_openings_alarm_only_when_sustained() -> None:
    [name] = {ref.where for ref in alarm_refs(TEMPLATE) if ref.name == Metric.BREAKER_OPENED}
    alarm = ALARMS[name]
    assert alarm["EvaluationPeriods"] >= 3
    assert alarm["DatapointsToAlarm"] == alarm["EvaluationPeriods"]


def test_the_latency_alarm_watches_p99_against_its_parameter() -> None:
    [alarm] = [a for a in ALARMS.values() if a.get("MetricName") == Metric.LATENCY]
    assert alarm["ExtendedStatistic"] == "p99"
    assert alarm["Threshold"] == {"Ref": "LatencyP99AlarmMs"}


def test_the_5xx_alarm_is_a_rate_with_a_floor() -> None:
    # Given the alarm on ServerErrors
    [alarm] = [a for a in ALARMS.values() if any(
        q.get("MetricStat", {}).get("Metric", {}).get("MetricName") == Metric.SERVER_ERRORS
        for q in a.get("Metrics", [])
    )]  # fmt: skip
    # Then the one series it returns is math over its own queries, and only the math returns data
    queries = {q["Id"]: q for q in alarm["Metrics"]}
    [returned] = [q for q in queries.values() if q.get("ReturnData", True)]
    used = set(re.findall(r"\b[a-z][a-z0-9_]*\b", returned["Expression"])) - {"fill", "if"}
    assert used == set(queries) - {returned["Id"]}
    assert "IF(" in returned["Expression"]  # no page for 1 error out of 1 request at night
