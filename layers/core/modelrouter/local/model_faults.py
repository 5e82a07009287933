"""Faults injected into the simulated local models, and their call counts; thread-safe, no I/O.

A fault applies to a model's next ``times`` calls (or until cleared), each call with ``probability``
(1 by default), so chaos runs can make a model flaky rather than down. The faults:

* ``rate_limit``: 429 with ``Retry-After: retry_after_s`` (1 s by default);
* ``server_error``: 500;
* ``timeout``: no answer for the server's ``hang_seconds``, then 504 / ``ModelTimeoutException``;
* ``hang``: no answer at all, until the client gives up (closes the connection) or the server stops;
* ``invalid_json``: a JSON answer that is not JSON, else a malformed response body;
* ``slow_first_byte``: ``delay_ms`` (2,000 by default) before the status line, then a normal answer.

Those apply to streamed calls too, before their first byte. Two more break a stream in its middle
(after half its pieces): ``stream_cut`` closes the connection without the stream's terminal event,
``stream_error`` sends the protocol's error event (OpenAI ``{"error": …}`` data, Anthropic's ``error``
event, Bedrock's ``modelStreamErrorException``). An unstreamed call gets no answer (the connection
closes) or a 500 for them.
"""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass, replace
from typing import Any, Literal, get_args

from modelrouter.local.models import PROFILES, profile_for

__all__ = ["FAULTS", "Fault", "FaultBoard", "Injection", "model_name"]

Fault = Literal[
    "rate_limit",
    "server_error",
    "timeout",
    "invalid_json",
    "hang",
    "slow_first_byte",
    "stream_cut",
    "stream_error",
]
"""A failure that can be injected into a model."""
FAULTS: tuple[Fault, ...] = get_args(Fault)
"""Every injectable fault."""
DEFAULT_DELAY_MS = 2_000
"""``slow_first_byte`` delay without ``delay_ms``."""
DEFAULT_RETRY_AFTER_S = 1
"""``rate_limit``'s ``Retry-After`` without ``retry_after_s``."""
_OPTIONS = ("times", "probability", "delay_ms", "retry_after_s")


def model_name(model: str) -> str:
    """The simulated model ``model`` names (a profile name or any id containing its size word).

    Raises:
        KeyError: no simulated model matches.
    """
    profile = PROFILES.get(model) or profile_for(model)
    if profile is None:
        raise KeyError(model)
    return profile.name


@dataclass
class Injection:
    """A fault on one model, and how it applies."""

    fault: Fault
    remaining: int | None = None
    """Faulted calls left; None: until cleared."""
    probability: float = 1.0
    """Chance that one call is faulted."""
    delay_ms: int = DEFAULT_DELAY_MS
    """``slow_first_byte``: wait before the status line."""
    retry_after_s: int = DEFAULT_RETRY_AFTER_S
    """``rate_limit``: the ``Retry-After`` header."""

    def describe(self) -> dict[str, Any]:
        """``{"fault", "times"}``, plus the options that differ from their defaults."""
        described: dict[str, Any] = {"fault": self.fault, "times": self.remaining}
        if self.probability != 1.0:
            described["probability"] = self.probability
        if self.fault == "slow_first_byte":
            described["delay_ms"] = self.delay_ms
        if self.fault == "rate_limit" and self.retry_after_s != DEFAULT_RETRY_AFTER_S:
            described["retry_after_s"] = self.retry_after_s
        return described


def _whole(name: str, value: Any, least: int) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < least:
        raise ValueError(f"{name} must be a whole number of at least {least}")
    return value


class FaultBoard:
    """The current fault of each model and its call count; ``seed`` makes probabilities repeatable."""

    def __init__(self, seed: int | None = None) -> None:
        self._lock = threading.Lock()
        self._random = random.Random(seed)  # fault injection, not cryptography
        self._faults: dict[str, Injection] = {}
        self._calls: dict[str, int] = dict.fromkeys(PROFILES, 0)

    def inject(  # the fault and its four options, as the control API takes them
        self,
        model: str,
        fault: Fault,
        times: int | None = None,
        *,
        probability: float = 1.0,
        delay_ms: int | None = None,
        retry_after_s: int | None = None,
    ) -> None:
        """Make ``model`` fail with ``fault`` for its next ``times`` faulted calls (None: until cleared).

        Raises:
            KeyError: no simulated model matches ``model``.
            ValueError: an unknown fault, ``times`` below 1, ``probability`` outside (0, 1], or a
                negative ``delay_ms`` / ``retry_after_s``.
        """
        name = model_name(model)
        if fault not in FAULTS:
            raise ValueError(f"unknown fault {fault!r}; expected one of {', '.join(FAULTS)}")
        injection = Injection(fault, None if times is None else _whole("times", times, 1))
        if (
            isinstance(probability, bool)
            or not isinstance(probability, int | float)
            or not 0 < probability <= 1
        ):
            raise ValueError("probability must be a number in (0, 1]")
        injection.probability = float(probability)
        if delay_ms is not None:
            injection.delay_ms = _whole("delay_ms", delay_ms, 0)
        if retry_after_s is not None:
            injection.retry_after_s = _whole("retry_after_s", retry_after_s, 0)
        with self._lock:
            self._faults[name] = injection

    def apply(self, model: str, document: Any) -> dict[str, Any] | None:
        """Set or clear (``{"fault": null}``) a fault from a control request; the model's fault after.

        Raises:
            KeyError: no simulated model matches ``model``.
            ValueError: not an object, an unknown option, or an invalid value.
        """
        if not isinstance(document, dict):
            raise ValueError("expected a JSON object")
        unknown = sorted(set(document) - {"fault", *_OPTIONS})
        if unknown:
            raise ValueError(f"unknown option(s) {unknown}; expected {list(_OPTIONS)}")
        if document.get("fault") is None:
            self.clear(model)
        else:
            options = {key: document[key] for key in _OPTIONS if document.get(key) is not None}
            self.inject(model, document["fault"], **options)
        return self.fault(model)

    def clear(self, model: str | None = None) -> None:
        """Clear the fault of ``model``, or of every model.

        Raises:
            KeyError: no simulated model matches ``model``.
        """
        name = None if model is None else model_name(model)
        with self._lock:
            if name is None:
                self._faults.clear()
            else:
                self._faults.pop(name, None)

    def draw(self, name: str) -> Injection | None:
        """Count a call to model ``name``; the fault it gets (a copy), if any, using up one of its calls."""
        with self._lock:
            self._calls[name] += 1
            injection = self._faults.get(name)
            if injection is None or self._random.random() >= injection.probability:
                return None
            if injection.remaining is not None:
                injection.remaining -= 1
                if injection.remaining <= 0:
                    del self._faults[name]
            return replace(injection)

    def take(self, name: str) -> Fault | None:
        """Like :meth:`draw`, the fault's name only."""
        injection = self.draw(name)
        return None if injection is None else injection.fault

    def calls(self, model: str) -> int:
        """How many calls reached ``model``, faulted ones included."""
        name = model_name(model)
        with self._lock:
            return self._calls[name]

    def fault(self, model: str) -> dict[str, Any] | None:
        """``{"fault": ..., "times": calls left or None, …options}`` of ``model``, or None."""
        name = model_name(model)
        with self._lock:
            injection = self._faults.get(name)
            return None if injection is None else injection.describe()

    def describe(self) -> list[dict[str, Any]]:
        """Every model's profile with its current ``fault`` and ``calls``."""
        return [
            {**profile.describe(), "fault": self.fault(name), "calls": self.calls(name)}
            for name, profile in PROFILES.items()
        ]
