"""Plain-text tables for the terminal."""

from __future__ import annotations

from collections.abc import Sequence

from modelrouter.selection.decision import Decision

__all__ = ["render_decision", "table"]


def table(headers: Sequence[str], rows: Sequence[Sequence[object]], indent: str = "  ") -> str:
    """Left-aligned columns, a rule under the headers."""
    cells = [[str(cell) for cell in row] for row in rows]
    widths = [max([len(header)] + [len(row[i]) for row in cells]) for i, header in enumerate(headers)]

    def line(values: Sequence[str]) -> str:
        return (
            indent
            + "  ".join(value.ljust(width) for value, width in zip(values, widths, strict=True)).rstrip()
        )

    rule = indent + "  ".join("-" * width for width in widths)
    return "\n".join([line(headers), rule, *(line(row) for row in cells)])


def _usd(value: float) -> str:
    return f"${value:.6f}" if value < 0.01 else f"${value:.4f}"


def _short(digest: str | None) -> str:
    return f"{digest[:19]}…" if digest else "not loaded"


def _learned_lines(decision: Decision) -> list[str]:
    """The learned router and objective, and the difficulty a tier was picked by (with its source)."""
    lines: list[str] = []
    learned = decision.learned
    if learned is not None:
        outcome = "" if learned.applied else "; not applied, listed order (see notes)"
        lines.append(
            f"learned router: {learned.router} @ {_short(learned.digest)}; "
            f"{learned.objective} {learned.value:g}{outcome}"
        )
    difficulty = decision.tier_difficulty
    if difficulty is not None:
        source = "features: the hand-made score"
        if difficulty.source == "learned":
            artifact = f"{difficulty.router} @ {_short(difficulty.digest)}"
            source = f"learned: 1 - predicted quality of {difficulty.model}, {artifact}"
        lines.append(f"difficulty:     {difficulty.value:.3f} ({source})")
    return lines


def _candidates(decision: Decision) -> str:
    """The candidates table; a predicted-quality column when a learned router scored them."""
    predicted = any(c.predicted_quality is not None for c in decision.candidates)
    headers = ["#", "model", "provider", "source", "max_tokens", "est. cost", "worst case"]
    rows: list[list[object]] = []
    for index, c in enumerate(decision.candidates, 1):
        row: list[object] = [index, c.model, c.provider, c.source, c.max_output_tokens]
        row += [_usd(c.estimated_cost_usd), _usd(c.max_cost_usd)]
        if predicted:
            row.append("-" if c.predicted_quality is None else f"{c.predicted_quality:.3f}")
        rows.append(row)
    return table([*headers, "pred. quality"] if predicted else headers, rows)


def _trace_lines(decision: Decision) -> list[str]:
    """The routes tried in order, each condition with ✓ or ✗ and why."""
    if not decision.when_trace:
        return []
    lines = ["", "routes tried (first match wins):"]
    for trace in decision.when_trace:
        verdict = "matched" if trace.matched else "not matched"
        lines.append(f"  {trace.route}: {verdict}{'' if trace.clauses else ' (catch-all)'}")
        for clause in trace.clauses:
            lines.append(f"    {'✓' if clause.matched else '✗'} {clause.clause}: {clause.detail}")
    return lines


def render_decision(decision: Decision, explain: bool) -> str:
    """The decision as readable text; ``explain`` adds features, exclusions and notes."""
    how = f"matched by {decision.matched_by}; strategy {decision.strategy}"
    if decision.tier:
        how += f", tier {decision.tier}"
    if decision.variant:
        how += f", variant {decision.variant}"
    version = (
        decision.policy_version[:19] + "…" if len(decision.policy_version) > 20 else decision.policy_version
    )
    lines = [
        f"route:          {decision.route} ({how})",
        f"policy:         {decision.policy} @ {version or 'unversioned'}",
        f"tenant:         {decision.tenant}  (classification {decision.classification})",
        f"request id:     {decision.request_id}",
        f"capabilities:   {', '.join(decision.required_capabilities) or 'none required'}",
        *_learned_lines(decision),
        "",
        "candidates (in order):",
        _candidates(decision),
    ]
    if not explain:
        return "\n".join(lines)
    lines += _trace_lines(decision)
    lines += ["", "features:", *(f"  {line}" for line in decision.features.explain())]
    if decision.exclusions:
        lines += [
            "",
            "left out:",
            table(
                ["model", "reason", "detail"], [(e.model, e.reason, e.detail) for e in decision.exclusions]
            ),
        ]
    if decision.notes:
        lines += ["", "notes:", *(f"  {note}" for note in decision.notes)]
    return "\n".join(lines)
