"""Logged traffic for off-policy tests: a real policy's ``decide`` chooses each request's model (with the
propensity it records), and a seeded draw from a per-model success rate gives the answer's quality."""

from __future__ import annotations

import json
import random
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from modelrouter.policy.document import Policy
from modelrouter.request import parse_chat_request
from modelrouter.selection.context import RequestContext
from modelrouter.selection.engine import decide

PROMPTS = (
    "What is the capital of France? Tell me a bit of its history.",
    "Summarise the plot of Hamlet in three sentences.",
    "Explain how a bicycle gear works to a ten-year-old.",
    "Give me three ideas for a rainy Sunday afternoon.",
)


def logged_lines(
    policy: Policy,
    tenant: str,
    count: int,
    quality: Mapping[str, float],
    cost_usd: Mapping[str, float],
    *,
    seed: int = 0,
) -> list[dict[str, Any]]:
    """``count`` outcome lines of ``tenant``'s traffic as ``policy`` routes it (one line per request)."""
    rng = random.Random(seed)
    lines: list[dict[str, Any]] = []
    for index in range(count):
        request_id = f"req-{seed}-{index}"
        prompt = PROMPTS[index % len(PROMPTS)]
        request = parse_chat_request({"model": "auto", "messages": [{"role": "user", "content": prompt}]})
        decision = decide(policy, request, RequestContext(request_id, tenant))
        model = decision.primary.model
        lines.append(
            {
                "request_id": request_id,
                "prompt": prompt,
                "model": model,
                "quality": 1.0 if rng.random() < quality[model] else 0.0,
                "cost_usd": cost_usd[model],
                "tenant": tenant,
                "route": decision.route,
                "propensity": decision.propensity,
            }
        )
    return lines


def write_lines(path: Path, lines: list[dict[str, Any]]) -> Path:
    """Write ``lines`` as JSON Lines at ``path``; returns it."""
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    return path
