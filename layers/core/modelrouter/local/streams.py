"""Running a handler's streamed response somewhere else than where it was made: each step of its body
inside a context (the function's turn, its log stream), and a last action once it is over."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from typing import Any

from modelrouter.lambda_runtime import StreamingResponse

__all__ = ["FunctionResult", "guarded"]

FunctionResult = dict[str, Any] | StreamingResponse
"""What a function answers: a buffered response (a dict), or a streamed one."""


def guarded(
    response: StreamingResponse,
    around: Callable[[], AbstractContextManager[Any]] = contextlib.nullcontext,
    finish: Callable[[], None] = lambda: None,
) -> StreamingResponse:
    """``response`` whose body runs each step (and its ``close()``) inside ``around()``, then calls
    ``finish`` once the body is exhausted, fails or is closed."""

    def body() -> Iterator[bytes]:
        try:
            chunks = response.chunks()
            while True:
                with around():
                    chunk = next(chunks, None)
                if chunk is None:
                    return
                yield chunk
        finally:
            try:
                with around():
                    response.close()  # GeneratorExit in the handler's body when it stopped early
            finally:
                finish()

    return StreamingResponse(response.status_code, dict(response.headers), body(), list(response.cookies))
