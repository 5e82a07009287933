"""Chat bodies carrying a test card number in each place a model reads (issue 8, item 9)."""

from __future__ import annotations

import copy
from typing import Any

CARD = "4111.1111.1111.1111"
"""A test card number written with dots, which the detector used to miss."""

PLACES = [
    "message",
    "tool_description",
    "tool_parameters",
    "schema_const",
    "schema_description",
    "stop",
]


def body_with_card(place: str | None) -> dict[str, Any]:
    """A request body with the card number at ``place`` (None: nowhere)."""
    tool = {
        "type": "function",
        "function": {
            "name": "charge",
            "description": "Charge the customer.",
            "parameters": {"type": "object", "properties": {"amount": {"type": "number"}}},
        },
    }
    schema: dict[str, Any] = {"type": "object", "properties": {"status": {"type": "string"}}}
    body: dict[str, Any] = {
        "messages": [{"role": "user", "content": "Charge the customer 20 EUR."}],
        "tools": [tool],
        "response_format": {"type": "json_schema", "json_schema": {"name": "receipt", "schema": schema}},
    }
    if place == "message":
        body["messages"][0]["content"] += f" Card {CARD}."
    elif place == "tool_description":
        tool["function"]["description"] += f" Use card {CARD}."
    elif place == "tool_parameters":
        tool["function"]["parameters"]["properties"]["card"] = {"type": "string", "default": CARD}
    elif place == "schema_const":
        schema["properties"]["card"] = {"const": CARD}
    elif place == "schema_description":
        schema["properties"]["status"]["description"] = f"Status of the charge to {CARD}"
    elif place == "stop":
        body["stop"] = ["END", CARD]
    return copy.deepcopy(body)
