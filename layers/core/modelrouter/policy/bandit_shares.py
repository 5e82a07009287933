"""Cross-reference checks of a ``bandit`` route's exploration bounds: what its ``min_share`` and
``max_share`` name, and whether the route's models can meet them together."""

from __future__ import annotations

from modelrouter.policy.routes import Route
from modelrouter.suggest import did_you_mean

__all__ = ["share_problems"]

_SHARE_FIELDS = ("min_share", "max_share")
_TOLERANCE = 1e-9

Location = tuple[str | int, ...]


def share_problems(route: Route) -> list[tuple[Location, str]]:
    """Problems of a bandit route's share bounds, each at its location inside the route: a per-model
    bound naming a model the route does not list, a model whose least share is above its largest, and
    bounds no split of the route's models can meet (``sum(min_share) <= 1 <= sum(max_share)``)."""
    if route.bandit is None:
        return []
    settings, models = route.bandit, list(route.models or ())
    problems: list[tuple[Location, str]] = []
    for name in _SHARE_FIELDS:
        bounds = getattr(settings, name)
        if isinstance(bounds, dict):
            problems.extend(
                (("bandit", name, model), f"model '{model}' is not one of this route's models"
                 f"{did_you_mean(model, models)}")
                for model in bounds
                if model not in models
            )  # fmt: skip
    for model in models:
        low, high = settings.min_share_of(model), settings.max_share_of(model)
        if low > high + _TOLERANCE:
            problems.append(
                (
                    ("bandit", "min_share"),
                    f"model '{model}': min_share {low:g} is above its max_share {high:g}",
                )
            )
    lows = sum(settings.min_share_of(model) for model in models)
    highs = sum(settings.max_share_of(model) for model in models)
    if lows > 1 + _TOLERANCE:
        problems.append(
            (
                ("bandit", "min_share"),
                f"the route's models' min_share add up to {lows:g}: at most 1 can be met",
            )
        )
    if highs < 1 - _TOLERANCE:
        message = f"the route's models' max_share add up to {highs:g}: they must reach 1"
        problems.append((("bandit", "max_share"), message))
    return problems
