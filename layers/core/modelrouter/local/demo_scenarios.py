"""``make demo``'s scripted requests, and what each must show: the routing shapes first, then one or two
scenarios per use case (support, KYC documents, coding, fraud triage), each built from the signals
the local policy routes by. :func:`unmet` says what a scenario's answer fails to show, so the demo exits
non-zero when a scenario does not show what it is there to show."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["SCENARIOS", "USE_CASES", "Scenario", "attempts_line", "rules_fired", "unmet"]


@dataclass(frozen=True)
class Scenario:
    """One scripted request and what its answer must show."""

    title: str
    """What the scenario demonstrates."""
    tenant: str
    """The tenant whose key sends it."""
    request: str
    """File in ``events/requests/`` (without ``.json``)."""
    overrides: dict[str, Any] = field(default_factory=dict)
    """Top-level fields replacing the file's."""
    fault: tuple[str, str] | None = None
    """``(model, fault)`` injected into the model server for this request."""
    route: str | None = None
    """The route that must be chosen."""
    model: str | None = None
    """The model that must answer."""
    attempts: str | None = None
    """The attempts as the demo prints them (``a check_failed → b success``), when they matter."""
    rule: str | None = None
    """A rule of the route's ``rules`` check that must have fired on one attempt."""


SCENARIOS = (
    Scenario("Easy support question", "acme-support", "support-easy"),
    Scenario("Hard billing dispute", "acme-support", "support-hard"),
    Scenario("JSON extraction with a schema (cascade: cheapest first)", "acme-support", "extract-invoice"),
    Scenario(
        "Hard JSON extraction: the cheap model fails the schema, the cascade escalates",
        "acme-support",
        "support-hard",
        {
            "response_format": {
                "type": "json_schema",
                "json_schema": {
                    "name": "dispute",
                    "strict": True,
                    "schema": {
                        "type": "object",
                        "additionalProperties": False,
                        "required": ["invoices", "issue", "requested_action"],
                        "properties": {
                            "invoices": {"type": "array", "items": {"type": "string"}},
                            "issue": {"type": "string"},
                            "requested_action": {"enum": ["refund", "credit", "explanation"]},
                        },
                    },
                },
            }
        },
    ),
    Scenario("Tool call", "devtools", "coding-tool-call"),
    Scenario("Personal data: only models cleared for confidential data", "acme-support", "support-pii"),
    Scenario(
        "local-small is rate limited: fallback",
        "acme-support",
        "support-easy",
        {"messages": [{"role": "user", "content": "Where can I download my invoices?"}]},
        fault=("local-small", "rate_limit"),
    ),
)

USE_CASES = (
    Scenario(
        "Support: a how-to question no keyword names takes the FAQ path by its topic",
        "acme-support",
        "support-easy",
        {"messages": [{"role": "user", "content": "How do I change the language of the app?"}]},
        route="support-faq",
        model="local-small",
    ),
    Scenario(
        "Support: an enterprise customer's ticket (metadata.customer_tier) goes to the strongest model",
        "acme-support",
        "support-hard",
        {"metadata": {"customer_tier": "enterprise"}},
        route="support-priority",
        model="local-large",
    ),
    Scenario(
        "KYC: a phone photo of a signed form (12 MP); the medium multimodal model fails the schema,"
        " the large one reads it",
        "onboarding",
        "kyc-scan",
        route="kyc-extraction",
        model="local-large",
        attempts="local-medium-claude check_failed → local-large success",
    ),
    Scenario(
        "Coding: a 740-line diff (metadata.diff_lines) goes to the large model",
        "devtools",
        "coding-large-diff",
        route="coding-large-change",
        model="local-large",
    ),
    Scenario(
        "Fraud: a clear case is answered by the on-prem first pass, with its explanation",
        "riskops",
        "fraud-clear",
        route="fraud-triage",
        model="local-small-onprem",
        attempts="local-small-onprem success",
        rule="clear",
    ),
    Scenario(
        "Fraud: a borderline score escalates to the strong model cleared for restricted data",
        "riskops",
        "fraud-borderline",
        route="fraud-triage",
        model="local-large-restricted",
        attempts="local-small-onprem check_failed → local-large-restricted success",
        rule="borderline",
    ),
)


def attempts_line(router: dict[str, Any]) -> str:
    """The attempts as the demo prints them: ``model outcome (error code)`` joined by arrows."""
    return " → ".join(
        f"{a['model']} {a['outcome']}" + (f" ({a['error_code']})" if a.get("error_code") else "")
        for a in router["attempts"]
    )


def rules_fired(router: dict[str, Any]) -> list[str]:
    """Every rule of a ``rules`` check that fired: on a failed attempt, or on the answer."""
    fired = [a["rule"] for a in router["attempts"] if a.get("rule")]
    return fired + [c["rule"] for c in router["checks"] if c.get("rule")]


def unmet(scenario: Scenario, outcome: dict[str, Any]) -> list[str]:
    """What ``outcome`` (the demo's reading of an answer) fails to show of ``scenario``'s expectations."""
    if "error" in outcome:
        return [f"refused with {outcome['status']} {outcome['error'].get('code')}"]
    router = outcome["router"]
    problems = []
    if scenario.route is not None and router["route"] != scenario.route:
        problems.append(f"route {router['route']}, not {scenario.route}")
    if scenario.model is not None and router["model"] != scenario.model:
        problems.append(f"answered by {router['model']}, not {scenario.model}")
    if scenario.attempts is not None and attempts_line(router) != scenario.attempts:
        problems.append(f"attempts {attempts_line(router)}, not {scenario.attempts}")
    if scenario.rule is not None and scenario.rule not in rules_fired(router):
        problems.append(f"rule {scenario.rule} did not fire (fired: {rules_fired(router) or 'none'})")
    return problems
