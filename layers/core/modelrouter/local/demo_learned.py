"""``make demo``'s learned-routing scenario: the router's predicted quality of each candidate, and the
model it chose, for two contrasting questions."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

__all__ = ["LEARNED_QUESTIONS", "LEARNED_TENANT", "show_learned"]

LEARNED_TENANT = "helpdesk"
"""The tenant whose requests the local policy's learned route takes."""
LEARNED_QUESTIONS = (
    "Translate 'where is the train station?' into Spanish.",
    "Can my landlord keep the deposit if the lease says nothing about cleaning?",
)
"""A translation (local-small's forte) and a legal question (only local-large is good at law)."""
_MAX_TOKENS = 120
_ANSWER_CHARS = 70

Call = Callable[[Any, dict[str, Any]], dict[str, Any]]
"""Sends a chat body with a client: ``{"router", "usage", "answer"}``, or ``{"status", "error"}``."""


def why(chosen: str, predicted: dict[str, float], target: float) -> str:
    """Why a ``quality_target`` route put ``chosen`` first, from the predictions (in candidate order)."""
    if predicted[chosen] < target:
        return f"no candidate is predicted to reach {target}: the best predicted"
    short = [f"{model} {quality:.2f}" for model, quality in predicted.items() if quality < target]
    reason = f"cheapest predicted to reach {target}"
    return f"{reason} ({', '.join(short)} fall short)" if short else reason


def show_learned(number: int, client: Any, call: Call) -> bool:
    """Ask the learned route both questions, print its predictions and choices; whether each was
    answered, and by a different model (the point of the scenario)."""
    title = "Learned routing: predicted quality per candidate picks the model"
    print(f"\n[{number}] {title}   (tenant {LEARNED_TENANT})")
    answered: list[str] = []
    for question in LEARNED_QUESTIONS:
        body = {
            "model": "auto",
            "max_tokens": _MAX_TOKENS,
            "messages": [{"role": "user", "content": question}],
        }
        outcome = call(client, body)
        if "error" in outcome:
            print(f"  question   {question}\n  refused    {outcome['status']} {outcome['error'].get('code')}")
            continue
        router = outcome["router"]
        learned = router.get("learned") or {}
        if not answered:
            objective = f"{learned.get('objective')} {learned.get('value')}"
            print(f"  router     {learned.get('router')} ({str(learned.get('digest'))[:19]}…), {objective}")
        predicted: dict[str, float] = router.get("predicted_quality") or {}
        first = next(iter(predicted), router["model"])
        target = float(learned.get("value", 0.0))
        rows = [
            ("question", question),
            ("predicted", "  ".join(f"{model} {quality:.2f}" for model, quality in predicted.items())),
            ("chosen", f"{first}: {why(first, predicted, target)}" if predicted else "-"),
            ("answer", f"{(outcome['answer'] or '')[:_ANSWER_CHARS]}  (${router['cost_usd']:.6f})"),
        ]
        print("\n".join(f"  {name:<10} {value}" for name, value in rows))
        answered.append(router["model"])
    return len(answered) == len(LEARNED_QUESTIONS) and len(set(answered)) == len(answered)
