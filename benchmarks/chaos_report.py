"""``make chaos``'s figures: what the load saw, what DynamoDB holds afterwards, and the verdicts.

Money is read back from the embedded AWS: ledger items (``sk`` beginning ``ledger#`` in the budget
table), provenance records, and each tenant's committed spend and open holds through
:meth:`BudgetStore.state` (raw budget items are counted too, whichever hold layout they use).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from modelrouter.cli.render import table

__all__ = [
    "Check",
    "Outcome",
    "Run",
    "context_tables",
    "ledger_and_provenance",
    "print_report",
    "tenant_spend",
    "verdicts",
]

_LEDGER_AMOUNT = ("actual_usd", "amount_usd", "cost_usd")
RSS_LIMIT_MB = 50
LOAD_TENANTS = ("acme-support", "lexdoc-eu", "devtools", "trial")


@dataclass(frozen=True)
class Outcome:
    """One request of the load, as the client saw it."""

    tenant: str
    kind: str
    status: str
    """The HTTP status, or ``error:<exception>`` when no answer came."""
    latency_s: float
    route: str | None = None
    code: str | None = None
    """The error object's ``code``."""
    model: str | None = None
    """The model that answered."""


@dataclass
class Check:
    """One figure of the table, its target and whether it was met."""

    figure: str
    value: str
    target: str
    ok: bool
    notes: list[str] = field(default_factory=list)


@dataclass
class Run:
    """Everything a chaos run measured."""

    outcomes: list[Outcome]
    budgets: dict[str, float]
    """Latency budget per route, in seconds."""
    pause_s: float
    """The breakers' pause."""
    money: dict[str, Any]
    """:func:`ledger_and_provenance`."""
    states: dict[str, dict[str, Any]]
    """:func:`tenant_spend`."""
    limits: dict[str, dict[str, float]]
    """Each tenant's budget in the policy."""
    recovered: dict[str, float | None]
    """Seconds until each model served again after the faults stopped (None: never)."""
    growth_mb: dict[str, float | None]
    """RSS growth of each container (None: replaced during the run)."""
    ref_connections: int
    """Connections the ``$ref`` listener received."""
    last_failure: dict[str, str] = field(default_factory=dict)
    """The last failed recovery probe of each model."""
    cpu_s: dict[str, float] = field(default_factory=dict)
    """CPU seconds spent during the load: serve's own process, router and authorizer containers."""


def _no_500(run: Run) -> Check:
    count = sum(outcome.status == "500" for outcome in run.outcomes)
    return Check("HTTP 500 responses", str(count), "0", count == 0)


def _latency(run: Run) -> Check:
    worst = max(run.budgets.values())
    late = [
        o
        for o in run.outcomes
        if o.status.startswith("error") or o.latency_s > run.budgets.get(o.route or "", worst) + 1
    ]
    slowest = max(run.outcomes, key=lambda outcome: outcome.latency_s)
    notes = []
    if late:
        by_status = Counter(f"{o.status} {o.code or ''}".strip() for o in late)
        notes.append(
            f"{len(late)} requests over their route's budget + 1 s, or unanswered: {dict(by_status)}"
        )
        for o in sorted(late, key=lambda outcome: -outcome.latency_s)[:3]:
            notes.append(
                f"{o.latency_s:.1f} s: {o.tenant} {o.kind} → {o.status} {o.code or ''} {o.route or ''}"
            )
    value = f"{slowest.latency_s:.2f} s ({slowest.route or slowest.kind}, {slowest.status})"
    return Check("max latency", value, f"route budget + 1 s (≤ {worst + 1:.0f} s)", not late, notes)


def _ledger(run: Run) -> Check:
    """Equal up to rounding: provenance costs are sums of floats, the ledger whole nano-dollars."""
    ledger, provenance = run.money["ledger"], run.money["provenance"]
    total, recorded = sum(ledger.values()), sum(provenance.values())
    tolerance = Decimal("1e-9") * max(1, run.money["records"])
    notes = [
        f"{tenant}: ledger ${ledger[tenant]:.9f}, provenance ${provenance[tenant]:.9f}"
        for tenant in sorted(set(ledger) | set(provenance))
        if abs(ledger[tenant] - provenance[tenant]) > tolerance
    ]
    value = f"${total:.9f} vs ${recorded:.9f} ({run.money['ledger_entries']} ledger items)"
    return Check("ledger total vs Σ provenance cost", value, f"equal (± ${tolerance:.0e})", not notes, notes)


def _spend(run: Run) -> Check:
    over: list[str] = []
    for tenant in LOAD_TENANTS:
        state, limit = run.states[tenant], run.limits[tenant]
        if "error" in state:
            over.append(f"{tenant}: state unreadable: {state['error']}")
            continue
        overage = float(run.money["overage"][tenant])
        for period, key in (("daily_usd", "day_usd"), ("monthly_usd", "month_usd")):
            if period in limit and state[key] > limit[period] + overage + 1e-9:
                over.append(
                    f"{tenant}: {key} ${state[key]:.6f} > {period} ${limit[period]} + overage ${overage:.6f}"
                )
    within = len(LOAD_TENANTS) - len({note.split(":")[0] for note in over})
    return Check("committed spend vs budget", f"{within} of {len(LOAD_TENANTS)} tenants within",
                 "all (limit + Σ overage)", not over, over)  # fmt: skip


def _holds(run: Run) -> Check:
    holds = sum(int(state.get("open_holds", 0)) for state in run.states.values() if "error" not in state)
    raw = run.money["raw_open_holds"]
    return Check("open holds", f"{holds} (raw hold items/attributes: {raw})", "0", holds == 0 and raw == 0)


def _recovery(run: Run) -> Check:
    never = [model for model, seconds in run.recovered.items() if seconds is None]
    slowest = max((seconds for seconds in run.recovered.values() if seconds is not None), default=0.0)
    value = f"never: {', '.join(never)}" if never else f"max {slowest:.1f} s"
    target = f"≤ breaker pause {run.pause_s:.0f} s + 1 s"
    return Check("serving again after faults stop", value, target, not never and slowest <= run.pause_s + 1)


def _rss(run: Run) -> Check:
    known = [mb for mb in run.growth_mb.values() if mb is not None]
    notes = [f"{name}: replaced during the run" for name, mb in run.growth_mb.items() if mb is None]
    value = f"max {max(known, default=0.0):+.1f} MB ({len(known)} containers)"
    return Check("container RSS growth", value, f"< {RSS_LIMIT_MB} MB each",
                 bool(known) and max(known) < RSS_LIMIT_MB, notes)  # fmt: skip


def verdicts(run: Run) -> list[Check]:
    """Every figure of ``make chaos`` against its target."""
    refs = Check("$ref listener connections", str(run.ref_connections), "0", run.ref_connections == 0)
    return [
        _no_500(run),
        _latency(run),
        _ledger(run),
        _spend(run),
        _holds(run),
        _recovery(run),
        _rss(run),
        refs,
    ]


def context_tables(run: Run) -> list[tuple[str, str]]:
    """Spend by tenant, recovery by model, RSS by container."""
    rows = []
    for tenant, state in run.states.items():
        ledger, recorded = run.money["ledger"][tenant], run.money["provenance"][tenant]
        if "error" in state:
            rows.append((tenant, state["error"], "", "", "", "", ""))
            continue
        day, month = f"${state['day_usd']:.6f}", f"${state['month_usd']:.6f}"
        limit = ", ".join(f"{k.removesuffix('_usd')} ${v}" for k, v in run.limits.get(tenant, {}).items())
        rows.append((tenant, day, month, limit, f"${ledger:.6f}", f"${recorded:.6f}", state["open_holds"]))
    spend = table(["tenant", "today", "month", "limit", "ledger", "Σ provenance", "open holds"], rows)
    recovered = [
        (model, "never" if s is None else f"{s:.1f} s", run.last_failure.get(model, "-"))
        for model, s in run.recovered.items()
    ]
    recovery = table(["model", "serving again after", "last failed probe"], recovered)
    grown = [(name, "replaced" if mb is None else f"{mb:+.1f} MB") for name, mb in run.growth_mb.items()]
    rss = table(["container", "growth"], grown)
    cpu = ", ".join(f"{name} {seconds:.0f} s" for name, seconds in run.cpu_s.items())
    return [
        ("CPU during the load", f"  {cpu}"),
        ("Spend by tenant (read back from DynamoDB)", spend),
        ("Recovery after the faults stopped (pinned probes, from the moment they stopped)", recovery),
        ("Container RSS, after warm-up → end", rss),
    ]


def _scan(client: Any, table_name: str) -> list[dict[str, Any]]:
    from boto3.dynamodb.types import TypeDeserializer

    deserialize = TypeDeserializer().deserialize
    pages = client.get_paginator("scan").paginate(TableName=table_name, ConsistentRead=True)
    return [{k: deserialize(v) for k, v in item.items()} for page in pages for item in page.get("Items", [])]


def _amount(item: dict[str, Any]) -> Decimal:
    return next((Decimal(str(item[name])) for name in _LEDGER_AMOUNT if name in item), Decimal(0))


def ledger_and_provenance(client: Any, tables: dict[str, str]) -> dict[str, Any]:
    """Ledger and provenance totals (overall and per tenant), raw open holds, Σ overages per tenant."""
    budget = _scan(client, tables["BudgetTable"])
    records = _scan(client, tables["ProvenanceTable"])
    ledger: Counter[str] = Counter()
    provenance: Counter[str] = Counter()
    overage: Counter[str] = Counter()
    raw_holds = 0
    for item in budget:
        tenant = str(item.get("pk", "")).removeprefix("tenant#")
        sort_key = str(item.get("sk", ""))
        if sort_key.startswith("ledger#"):
            ledger[tenant] += _amount(item)  # type: ignore[assignment]
        raw_holds += sort_key.startswith("hold#") + sum(1 for name in item if name.startswith("hold_"))
    for record in records:
        tenant = str(record.get("tenant_id"))
        provenance[tenant] += Decimal(str(record.get("cost_usd") or 0))  # type: ignore[assignment]
        overage[tenant] += Decimal(str(record.get("overage_usd") or 0))  # type: ignore[assignment]
    return {
        "ledger": ledger,
        "provenance": provenance,
        "overage": overage,
        "records": len(records),
        "ledger_entries": sum(1 for item in budget if str(item.get("sk", "")).startswith("ledger#")),
        "raw_open_holds": raw_holds,
    }


def tenant_spend(client: Any, table_name: str, tenants: list[str]) -> dict[str, dict[str, Any]]:
    """:meth:`BudgetStore.state` of each tenant (an ``error`` entry when it cannot be read)."""
    from modelrouter.accounting.store import BudgetStore

    store = BudgetStore(table_name, client)
    states: dict[str, dict[str, Any]] = {}
    for tenant in tenants:
        try:
            states[tenant] = store.state(tenant)
        except Exception as error:  # a layout change in progress must not hide the other figures
            states[tenant] = {"error": f"{type(error).__name__}: {error}"}
    return states


def print_report(outcomes: list[Outcome], extra: list[tuple[str, str]], checks: list[Check]) -> None:
    """Status counts, per-kind detail, context lines, then the verdict table."""
    statuses = Counter(outcome.status for outcome in outcomes)
    print("\nResponses by status")
    print(table(["status", "count"], sorted(statuses.items(), key=lambda pair: str(pair[0]))))
    kinds: dict[str, Counter[str]] = {}
    for outcome in outcomes:
        kinds.setdefault(outcome.kind, Counter())[f"{outcome.status} {outcome.code or ''}".strip()] += 1
    print("\nBy request kind")
    rows = [
        (kind, ", ".join(f"{key} ×{n}" for key, n in counts.most_common())) for kind, counts in kinds.items()
    ]
    print(table(["kind", "statuses (code)"], sorted(rows)))
    for title, text in extra:
        print(f"\n{title}\n{text}")
    print("\nmake chaos")
    print(table(["figure", "value", "target", "verdict"],
                [(c.figure, c.value, c.target, "ok" if c.ok else "MISS") for c in checks]))  # fmt: skip
    for check in checks:
        for note in check.notes:
            print(f"  {check.figure}: {note}")
