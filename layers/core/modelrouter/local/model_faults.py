"""Faults injected into the simulated local models, and their call counts; thread-safe, no I/O."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any, Literal, get_args

from modelrouter.local.models import PROFILES, profile_for

__all__ = ["FAULTS", "Fault", "FaultBoard", "model_name"]

Fault = Literal["rate_limit", "server_error", "timeout", "invalid_json"]
"""A failure that can be injected into a model."""
FAULTS: tuple[Fault, ...] = get_args(Fault)
"""Every injectable fault."""


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
class _Injected:
    fault: Fault
    remaining: int | None


class FaultBoard:
    """The current fault of each model (for ``times`` calls, or until cleared) and its call count."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: dict[str, _Injected] = {}
        self._calls: dict[str, int] = dict.fromkeys(PROFILES, 0)

    def inject(self, model: str, fault: Fault, times: int | None = None) -> None:
        """Make ``model`` fail with ``fault`` for the next ``times`` calls (None: until cleared).

        Raises:
            KeyError: no simulated model matches ``model``.
            ValueError: ``fault`` is not one of :data:`FAULTS`, or ``times`` is not a count ≥ 1.
        """
        name = model_name(model)
        if fault not in FAULTS:
            raise ValueError(f"unknown fault {fault!r}; expected one of {', '.join(FAULTS)}")
        if times is not None and (not isinstance(times, int) or isinstance(times, bool) or times < 1):
            raise ValueError("times must be a whole number of at least 1")
        with self._lock:
            self._faults[name] = _Injected(fault, times)

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

    def take(self, name: str) -> Fault | None:
        """Count a call to model ``name`` and use up one call of its fault, if it has one."""
        with self._lock:
            self._calls[name] += 1
            injected = self._faults.get(name)
            if injected is None:
                return None
            if injected.remaining is not None:
                injected.remaining -= 1
                if injected.remaining <= 0:
                    del self._faults[name]
            return injected.fault

    def calls(self, model: str) -> int:
        """How many calls reached ``model``, faulted ones included."""
        name = model_name(model)
        with self._lock:
            return self._calls[name]

    def fault(self, model: str) -> dict[str, Any] | None:
        """``{"fault": ..., "times": calls left or None}`` of ``model``, or None without a fault."""
        name = model_name(model)
        with self._lock:
            injected = self._faults.get(name)
            return None if injected is None else {"fault": injected.fault, "times": injected.remaining}

    def describe(self) -> list[dict[str, Any]]:
        """Every model's profile with its current ``fault`` and ``calls``."""
        return [
            {**profile.describe(), "fault": self.fault(name), "calls": self.calls(name)}
            for name, profile in PROFILES.items()
        ]
