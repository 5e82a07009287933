"""Request bodies for ``make chaos``: ordinary chats for each tenant, and hostile ones.

Hostile bodies are what an attacker sends: JSON nested 10,000 deep (the whole body, ``metadata``, a
tool's parameter schema), JSON Schema ``$ref`` s to a listener the run opens (any connection to it is a
server-side fetch), a lone surrogate, and a card number hidden in a tool's description.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from typing import Any

__all__ = ["HOSTILE_KINDS", "TENANTS", "Request", "deep_array", "make_request"]

TENANTS = ("acme-support", "lexdoc-eu", "devtools", "trial")
"""The four tenants of the load (``chaos-probe`` only probes)."""
DEPTH = 10_000
HOSTILE_KINDS = ("deep_body", "deep_metadata", "deep_tool_schema", "remote_ref", "surrogate", "pii_in_tool")
_QUESTIONS = (
    "How do I reset my password?",
    "Where can I download my invoices?",
    "Why was I charged twice this month? Explain the refund policy for duplicate charges in detail.",
    "Compare the pricing tiers and tell me which plan fits a team of twelve people.",
    "Prove step by step that the integral of a polynomial is a polynomial, then compare with induction.",
    "Summarise our refund policy in two sentences.",
)
_CODE = "Fix this Python bug and write a unit test:\n```\ndef add(a, b):\n    return a - b\n```"
_SCHEMA = {
    "type": "object",
    "additionalProperties": False,
    "required": ["invoice", "total"],
    "properties": {"invoice": {"type": "string"}, "total": {"type": "number"}},
}
_TOOL = {
    "type": "function",
    "function": {
        "name": "run_tests",
        "description": "Run the project's unit tests and return the summary.",
        "parameters": {"type": "object", "properties": {"path": {"type": "string"}}, "required": ["path"]},
    },
}


@dataclass(frozen=True)
class Request:
    """One request of the load."""

    tenant: str
    kind: str
    """``chat``, ``json_schema``, ``tool``, ``stream`` or one of :data:`HOSTILE_KINDS`."""
    body: bytes


def deep_array(depth: int = DEPTH) -> str:
    """JSON text of arrays nested ``depth`` deep."""
    return "[" * depth + "]" * depth


def _deep_object(depth: int = DEPTH) -> str:
    return '{"type": "object", "properties": {"a": ' * depth + "{}" + "}}" * depth


def _messages(text: str) -> list[dict[str, Any]]:
    return [{"role": "user", "content": text}]


def _ordinary(tenant: str, kind: str, rng: random.Random) -> dict[str, Any]:
    body: dict[str, Any] = {"model": "auto", "messages": _messages(rng.choice(_QUESTIONS))}
    if tenant == "trial":
        body["model"] = "local-large"
    if rng.random() < 0.8:
        body["max_tokens"] = rng.choice((40, 80, 150))
    if kind == "json_schema":
        body["messages"] = _messages(
            "Extract the invoice number and total: invoice INV-2291, total 118.40 EUR."
        )
        body["response_format"] = {
            "type": "json_schema",
            "json_schema": {"name": "invoice", "strict": True, "schema": _SCHEMA},
        }
    elif kind == "tool":
        body["messages"] = _messages(_CODE + "\nThen run the unit tests.")
        body["tools"] = [_TOOL]
    elif kind == "stream":
        body["stream"] = True
    return body


def _hostile(kind: str, ref_url: str) -> bytes:
    base = {"model": "auto", "max_tokens": 50, "messages": _messages("Hello there")}
    if kind == "deep_body":
        return deep_array().encode()
    if kind == "deep_metadata":
        text = json.dumps(base)
        return (text[:-1] + ', "metadata": {"trace": ' + deep_array() + "}}").encode()
    if kind == "deep_tool_schema":
        text = json.dumps(
            {**base, "tools": [{"type": "function", "function": {"name": "f", "parameters": {}}}]}
        )
        return text.replace('"parameters": {}', '"parameters": ' + _deep_object()).encode()
    if kind == "remote_ref":
        schema = {
            "type": "object",
            "properties": {"a": {"$ref": f"{ref_url}/schema.json"}},
            "required": ["a"],
        }
        return json.dumps(
            {
                **base,
                "response_format": {"type": "json_schema", "json_schema": {"name": "r", "schema": schema}},
            }
        ).encode()
    if kind == "surrogate":
        return json.dumps(
            {**base, "messages": _messages("broken \ud800 text")}
        ).encode()  # ensure_ascii: "\ud800"
    if kind == "pii_in_tool":
        tool = {
            "type": "function",
            "function": {
                "name": "charge",
                "description": "Charge the card 4111 1111 1111 1111 (exp 12/29) for the order.",
                "parameters": {"type": "object", "properties": {"amount": {"type": "number"}}},
            },
        }
        return json.dumps({**base, "tools": [tool]}).encode()
    raise ValueError(f"unknown hostile kind {kind!r}")


def make_request(number: int, rng: random.Random, ref_url: str, hostile_share: float = 0.15) -> Request:
    """The ``number``-th request: tenants in turn, a hostile body with ``hostile_share`` probability."""
    tenant = TENANTS[number % len(TENANTS)]
    if rng.random() < hostile_share:
        kind = rng.choice(HOSTILE_KINDS)
        return Request(tenant, kind, _hostile(kind, ref_url))
    kind = rng.choices(("chat", "json_schema", "tool", "stream"), weights=(6, 2, 1, 1))[0]
    return Request(tenant, kind, json.dumps(_ordinary(tenant, kind, rng)).encode())
