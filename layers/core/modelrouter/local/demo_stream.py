"""``make demo``'s streaming scenario: tokens reach the client as the model generates them."""

from __future__ import annotations

import time
from typing import Any

__all__ = ["STREAM_REQUEST", "show_stream"]

STREAM_REQUEST: dict[str, Any] = {
    "model": "local-large",
    "messages": [{"role": "user", "content": "Explain how lighthouses guided ships before radio."}],
    "stream": True,
    "stream_options": {"include_usage": True},
}
"""A paced model (local-large: about 100 ms to its first token, then 8 ms a token)."""


def show_stream(number: int, client: Any) -> bool:
    """Stream one answer and print when its first and last tokens came; whether it ended cleanly."""
    print(f"\n[{number}] Streaming: tokens as the model generates them   (tenant devtools)")
    started = time.perf_counter()
    first_ms: float | None = None
    pieces: list[str] = []
    finish: str | None = None
    router: dict[str, Any] = {}
    with client.chat.completions.create(**STREAM_REQUEST) as stream:
        for chunk in stream:
            extra = chunk.model_extra or {}
            router = extra.get("router") or router
            if not chunk.choices:
                continue
            choice = chunk.choices[0]
            finish = choice.finish_reason or finish
            if choice.delta.content:
                first_ms = first_ms or (time.perf_counter() - started) * 1000
                pieces.append(choice.delta.content)
    total_ms = (time.perf_counter() - started) * 1000
    rows = [
        ("model", str(router.get("model"))),
        ("chunks", f"{len(pieces)} content chunks, finish_reason {finish}"),
        ("first", f"{first_ms or 0:.0f} ms to the first token"),
        ("last", f"{total_ms:.0f} ms to the end of the stream"),
        ("cost", f"${router.get('cost_usd', 0):.6f}"),
        ("answer", "".join(pieces)[:90]),
    ]
    print("\n".join(f"  {name:<10} {value}" for name, value in rows))
    return finish == "stop" and first_ms is not None
