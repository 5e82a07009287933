"""The drift function's settings, from its environment (``template.yaml``), validated.

=================================  ==========================================  ==================
variable                           meaning                                     default
=================================  ==========================================  ==================
``PROVENANCE_TABLE``               the provenance table (required)
``DRIFT_RECENT_WINDOW``            the recent window's length                  ``1h``
``DRIFT_BASELINE_WINDOW``          the baseline's length, just before it       ``24h``
``DRIFT_LAG``                      the recent window ends this long before     ``5m``
                                   the run (requests still running have no
                                   record yet)
``DRIFT_MAX_RECORDS_PER_WINDOW``   records read per window at most             ``100000``
=================================  ==========================================  ==================
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Final, Self

from pydantic import BaseModel, ConfigDict, Field, field_validator

from modelrouter import env_names
from modelrouter.drift.windows import DEFAULT_BASELINE, DEFAULT_RECENT, parse_duration
from modelrouter.env_settings import settings_from_environment

__all__ = [
    "DEFAULT_LAG",
    "ENVIRONMENT",
    "MAX_RECORDS_PER_WINDOW",
    "DriftConfigurationError",
    "DriftSettings",
]

DEFAULT_LAG: Final = timedelta(minutes=5)
"""How long before the run the recent window ends: a request's record is written when it ends."""
MAX_RECORDS_PER_WINDOW: Final = 100_000
"""Records read per window at most (a run reads at most twice this); past it the window is sampled."""
ENVIRONMENT: Final = {
    "provenance_table": env_names.PROVENANCE_TABLE,
    "recent": env_names.DRIFT_RECENT_WINDOW,
    "baseline": env_names.DRIFT_BASELINE_WINDOW,
    "lag": env_names.DRIFT_LAG,
    "max_records_per_window": env_names.DRIFT_MAX_RECORDS_PER_WINDOW,
}
"""Setting → environment variable."""


class DriftConfigurationError(ValueError):
    """The function's environment is missing a setting or has an invalid one (the message names it)."""


class DriftSettings(BaseModel):
    """What the drift function reads from its environment (see the module's table)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    provenance_table: str = Field(min_length=3, max_length=255)
    """The provenance table."""
    recent: timedelta = DEFAULT_RECENT
    """The recent window's length."""
    baseline: timedelta = DEFAULT_BASELINE
    """The baseline window's length."""
    lag: timedelta = DEFAULT_LAG
    """How long before the run the recent window ends."""
    max_records_per_window: int = Field(default=MAX_RECORDS_PER_WINDOW, ge=100, le=1_000_000)
    """Records read per window at most."""

    @field_validator("recent", "baseline", "lag", mode="before")
    @classmethod
    def _duration(cls, value: object) -> object:
        return parse_duration(value) if isinstance(value, str) else value

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Self:
        """The settings in ``environ`` (``os.environ`` by default).

        Raises:
            DriftConfigurationError: a variable is missing or invalid; the message names each one.
        """
        return settings_from_environment(cls, ENVIRONMENT, DriftConfigurationError, environ)
