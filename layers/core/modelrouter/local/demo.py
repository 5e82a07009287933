"""``make demo``: scripted requests through the official ``openai`` package against the local router.

Each request is shown as a small table (route, chosen model, fallbacks and why, checks, tokens, cost,
latency); then a learned route's predictions and choices for two questions, a streamed answer, a
budget running out, the tenants' budgets and a few provenance records, read back from DynamoDB.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

from modelrouter.cli.render import table
from modelrouter.local.demo_bandit import BANDIT_TENANT, show_bandit
from modelrouter.local.demo_learned import LEARNED_TENANT, show_learned
from modelrouter.local.demo_scenarios import (
    SCENARIOS,
    USE_CASES,
    Scenario,
    attempts_line,
    rules_fired,
    unmet,
)
from modelrouter.local.demo_stream import show_stream
from modelrouter.local.functions import project_root
from modelrouter.local.stack import LocalStack, StackOptions

__all__ = ["ALL_SCENARIOS", "BANDIT_CHART", "run"]

ALL_SCENARIOS = (*SCENARIOS, *USE_CASES)
"""Every scripted request, in the order the demo sends them."""


BANDIT_CHART = Path(".modelrouter") / "demo" / "bandit-shares.png"
"""Where the demo draws the bandit route's shares over time (relative to the working directory)."""
BUDGET_TENANT = "trial"
BUDGET_REQUEST = {
    "model": "local-large",
    "max_tokens": 300,
    "messages": [{"role": "user", "content": "Summarise our refund policy in two sentences."}],
}
MAX_BUDGET_REQUESTS = 20


def _body(scenario: Scenario) -> dict[str, Any]:
    path = project_root() / "events" / "requests" / f"{scenario.request}.json"
    body: dict[str, Any] = json.loads(path.read_text())
    return {**body, **scenario.overrides}


def _usd(value: float) -> str:
    return f"${value:.6f}"


def _show(number: int, scenario: Scenario, outcome: dict[str, Any]) -> None:
    print(f"\n[{number}] {scenario.title}   (tenant {scenario.tenant})")
    if "error" in outcome:
        error = outcome["error"]
        rows: list[tuple[str, str]] = [
            ("status", f"{outcome['status']} {error.get('code')}"),
            ("message", str(error.get("message", ""))[:100]),
        ]
        print(_pairs(rows))
        return
    router = outcome["router"]
    checks = ", ".join(f"{c['name']} {'ok' if c['passed'] else 'FAILED'}" for c in router["checks"]) or "none"
    usage = outcome["usage"]
    rows = [
        (
            "route",
            f"{router['route']} ({router['strategy']}{', tier ' + router['tier'] if router['tier'] else ''})",
        ),
        ("model", f"{router['model']}  [{router['model_version']}]"),
        ("attempts", attempts_line(router)),
        ("fallbacks", str(router["fallbacks"])),
        ("checks", checks),
        ("tokens", f"{usage['prompt_tokens']} in / {usage['completion_tokens']} out"),
        ("cost", f"{_usd(router['cost_usd'])}  (reserved {_usd(router['reserved_usd'])})"),
        ("latency", f"{router['latency_ms']:.0f} ms"),
        ("answer", (outcome["answer"] or "")[:90].replace("\n", " ")),
    ]
    if fired := rules_fired(router):
        rows.insert(5, ("rules", ", ".join(fired)))
    compliance = router.get("compliance") or {}
    if compliance:
        rows.insert(
            -1,
            (
                "compliance",
                f"{compliance.get('classification')} ({compliance.get('classification_source')}); "
                f"model in {compliance.get('residency')}, {compliance.get('deployment_mode')}",
            ),
        )
    print(_pairs(rows))


def _pairs(rows: list[tuple[str, str]]) -> str:
    return "\n".join(f"  {name:<10} {value}" for name, value in rows)


def _call(client: Any, body: dict[str, Any]) -> dict[str, Any]:
    import openai

    try:
        completion = client.chat.completions.create(**body)
    except openai.APIStatusError as error:
        document = error.body if isinstance(error.body, dict) else {}
        return {
            "status": error.status_code,
            "error": document or {"message": str(error)},
            "retry_after": error.response.headers.get("retry-after"),
        }
    message = completion.choices[0].message
    answer = message.content
    if message.tool_calls:
        call = message.tool_calls[0]
        answer = f"tool call {call.function.name}({call.function.arguments})"
    dumped: dict[str, Any] = completion.model_dump()
    return {"router": dumped["router"], "usage": dumped["usage"], "answer": answer}


def _budget_run(stack: LocalStack, client: Any) -> bool:
    """Spend until refused; whether the refusal came (as the budget says it must)."""
    print(f"\n[{len(ALL_SCENARIOS) + 4}] Tenant '{BUDGET_TENANT}' spends until its daily budget is exhausted")
    rows = []
    for number in range(1, MAX_BUDGET_REQUESTS + 1):
        outcome = _call(client, BUDGET_REQUEST)
        if "error" in outcome:
            error = outcome["error"]
            rows.append(
                (
                    number,
                    f"{outcome['status']} {error.get('code')}",
                    "-",
                    "-",
                    f"Retry-After {outcome.get('retry_after')} s",
                )
            )
            print(table(["#", "status", "model", "cost", "note"], rows))
            print(f"  refused: {error.get('message')}")
            return bool(error.get("code") == "budget_exhausted")
        router = outcome["router"]
        rows.append(
            (
                number,
                "200",
                router["model"],
                _usd(router["cost_usd"]),
                f"reserved {_usd(router['reserved_usd'])}",
            )
        )
    print(table(["#", "status", "model", "cost", "note"], rows))
    return False


def _budgets(stack: LocalStack, tenants: list[str]) -> None:
    from modelrouter.accounting.store import BudgetStore

    assert stack.resources is not None
    store = BudgetStore(stack.resources.tables["BudgetTable"], stack.client("dynamodb"))
    rows = []
    for tenant in tenants:
        state = store.state(tenant)
        rows.append(
            (
                tenant,
                _usd(state["day_usd"]),
                _usd(state["month_usd"]),
                state["ledger_entries"],
                _usd(state["ledger_usd"]),
                state["open_holds"],
            )
        )
    print("\nBudgets (read back from DynamoDB)")
    print(table(["tenant", "today", "this month", "ledger entries", "ledger total", "open holds"], rows))


def _provenance(stack: LocalStack, count: int = 5) -> None:
    from boto3.dynamodb.types import TypeDeserializer

    assert stack.resources is not None
    items = stack.client("dynamodb").scan(TableName=stack.resources.tables["ProvenanceTable"])["Items"]
    records = [{k: TypeDeserializer().deserialize(v) for k, v in item.items()} for item in items]
    records.sort(key=lambda record: str(record["created_at"]))
    shown: list[dict[str, Any]] = []
    seen: set[tuple[Any, Any]] = set()
    for record in records:  # one per route and model, to show variety
        if (record["route"], record["model"]) not in seen and len(shown) < count:
            seen.add((record["route"], record["model"]))
            shown.append(record)
    rows = []
    for record in shown:
        attempts = " → ".join(f"{a['model']}:{a['outcome']}" for a in record["attempts"]) or "-"
        rows.append(
            (
                record["tenant_id"],
                record["route"],
                attempts,
                _usd(float(record["cost_usd"])),
                str(record["policy"]["version"])[:8] + "…",
                str(record["prompt_sha256"])[:10] + "…",
            )
        )
    print(
        f"\nProvenance: {len(records)} records in DynamoDB, one per request; {len(rows)} of them"
        " (prompts are stored only as hashes)"
    )
    print(table(["tenant", "route", "attempts", "cost", "policy", "prompt sha256"], rows))


def run(policy: Path | None = None, latency_scale: float = 1.0) -> int:
    """Start the local stack, run the scenarios, print the budgets and provenance; exit status."""
    import openai

    started = time.perf_counter()
    options = StackOptions(policy=policy, port=0, models_port=0, latency_scale=latency_scale)
    with LocalStack(options) as stack:
        aws_url = stack.aws.url if stack.aws else "-"
        models_url = stack.models.url if stack.models else "-"
        print(
            f"modelrouter demo: router {stack.url}/v1, embedded AWS {aws_url}, simulated models {models_url}"
        )

        def client(tenant: str) -> Any:
            return openai.OpenAI(base_url=f"{stack.url}/v1", api_key=stack.api_keys[tenant], max_retries=0)

        failed = []
        for number, scenario in enumerate(ALL_SCENARIOS, 1):
            if number == len(SCENARIOS) + 1:
                print("\n--- Use cases: support, KYC documents, coding, fraud triage ---")
            if scenario.fault and stack.models is not None:
                stack.models.inject(scenario.fault[0], scenario.fault[1])
            try:
                outcome = _call(client(scenario.tenant), _body(scenario))
            finally:
                if scenario.fault and stack.models is not None:
                    stack.models.clear(scenario.fault[0])
            _show(number, scenario, outcome)
            if problems := unmet(scenario, outcome):
                failed.append(f"[{number}] {scenario.title}: {'; '.join(problems)}")
        if not show_learned(len(ALL_SCENARIOS) + 1, client(LEARNED_TENANT), _call):
            failed.append("the learned route did not send the two questions to two models")
        if not show_stream(len(ALL_SCENARIOS) + 2, client("devtools")):
            failed.append("the stream did not end cleanly")
        if not show_bandit(len(ALL_SCENARIOS) + 3, client(BANDIT_TENANT), _call, BANDIT_CHART.resolve()):
            failed.append("the bandit route's traffic did not shift with the feedback, or feedback failed")
        if not _budget_run(stack, client(BUDGET_TENANT)):
            failed.append(f"tenant {BUDGET_TENANT} was never refused")
        tenants = ["acme-support", "devtools", "onboarding", "riskops", LEARNED_TENANT, BANDIT_TENANT]
        _budgets(stack, [*tenants, BUDGET_TENANT])
        _provenance(stack)
    print(f"\ndone in {time.perf_counter() - started:.1f} s; every server stopped.")
    if failed:
        print(f"unexpected outcomes: {'; '.join(failed)}", file=sys.stderr)
        return 1
    return 0
