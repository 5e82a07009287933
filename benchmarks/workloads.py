"""Benchmark inputs: the example policy scaled up, and prompts of a given size."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import yaml

from modelrouter.policy import Policy, parse_policy
from modelrouter.request import ChatRequest, parse_chat_request

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE_POLICY = ROOT / "policies" / "example.yaml"

_PARAGRAPH = (
    "Hello team, our finance department noticed that the invoice for last month lists twelve seats "
    "although we downgraded to ten on the fifth. Could you check the proration and tell us whether a "
    "credit note will be issued? The account owner can be reached by phone during regular office "
    "hours. We also want to understand how the annual discount interacts with mid-cycle changes, and "
    "whether the new pricing applies to existing contracts or only to renewals after the first of July. "
)


def scaled_policy(models: int = 30, routes: int = 15) -> Policy:
    """The example policy grown to ``models`` models and ``routes`` routes (extra intent routes first)."""
    document: dict[str, Any] = yaml.safe_load(EXAMPLE_POLICY.read_text())
    originals = list(document["models"])
    copy_number = 0
    while len(document["models"]) < models:
        source = copy.deepcopy(originals[copy_number % len(originals)])
        source["id"] = f"{source['id']}-r{copy_number}"
        source["tags"] = [*source.get("tags", []), "replica"]
        document["models"].append(source)
        copy_number += 1
    extra_routes = []
    replica_ids = [m["id"] for m in document["models"][len(originals) :]] or [originals[0]["id"]]
    for index in range(routes - len(document["routes"])):
        extra_routes.append(
            {
                "name": f"intent-{index}",
                "when": {"intents": {"keywords": [f"zebra{index}", f"quokka {index}", f"narwhal-{index}"]}},
                "strategy": "fallback",
                "models": replica_ids[index % len(replica_ids) :][:3] or replica_ids[:3],
            }
        )
    document["routes"][0:0] = extra_routes
    return parse_policy(yaml.safe_dump(document, sort_keys=False), "scaled").policy


def prompt_request(size_bytes: int) -> ChatRequest:
    """A support conversation whose latest user message is about ``size_bytes`` long."""
    body = (_PARAGRAPH * (size_bytes // len(_PARAGRAPH) + 1))[:size_bytes]
    return parse_chat_request(
        {
            "model": "auto",
            "messages": [
                {"role": "system", "content": "You are the billing assistant of Acme Cloud."},
                {"role": "user", "content": body},
            ],
            "max_tokens": 1000,
        }
    )
