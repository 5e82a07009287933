"""Whether an uploaded version may become active: the same checks a router runs when it loads a policy
(the loader's schema and references, the router artifacts and topic classifier it names, from the
bucket), then the dry run of every route over the sample requests.

Nothing here raises for a bad document: every problem, whatever raised it, is in the result.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from modelrouter.errors import PolicyError
from modelrouter.problems import Problem

if TYPE_CHECKING:
    from modelrouter.policy.artifacts import Fetch
    from modelrouter.policy.loader import LoadedPolicy

__all__ = ["DRY_RUNS_KEPT", "Validation", "validate_policy"]

DRY_RUNS_KEPT = 16
"""Dry-run verdicts a container keeps, by the policy's and its artifacts' digests: the dry run is a pure
function of them, so the same version uploaded again (a redelivered event, a rollback to it, a test rig
activating the same file) is not decided over every sample again."""
_dry_runs: dict[tuple[str, ...], list[str]] = {}


@dataclass(frozen=True, slots=True)
class Validation:
    """What the checks found."""

    digest: str | None
    """``sha256:`` of the bytes checked (None when there were none)."""
    problems: list[str] = field(default_factory=list)
    """Every problem, each naming its path (and line where known); empty: the version is valid."""
    loaded: LoadedPolicy | None = None
    """The checked policy, when it parsed."""

    @property
    def ok(self) -> bool:
        """No problem found."""
        return not self.problems


def validate_policy(body: bytes, source: str, fetch: Fetch) -> Validation:
    """Check ``body`` (the policy bytes read from ``source``), reading its artifacts with ``fetch``."""
    import hashlib

    from modelrouter.activation.dry_run import dry_run
    from modelrouter.policy.artifacts import load_routers, load_topics
    from modelrouter.policy.loader import parse_policy

    digest = "sha256:" + hashlib.sha256(body).hexdigest()
    try:
        loaded = parse_policy(body, source)
    except PolicyError as error:
        return Validation(digest, _texts(error.problems))
    except Exception as error:  # parse_policy raises only PolicyError; a bug still rejects, never crashes
        return Validation(digest, [f"<root>: the policy could not be read: {type(error).__name__}"])
    try:
        routers = load_routers(loaded.policy, fetch, source=source)
        topics = load_topics(loaded.policy, fetch, source=source)
    except PolicyError as error:
        return Validation(digest, _texts(error.problems), loaded)
    except Exception as error:
        problem = f"<root>: its artifacts could not be loaded: {type(error).__name__}"
        return Validation(digest, [problem], loaded)
    key = (
        loaded.digest,
        *sorted(f"{ref}={router.digest}" for ref, router in routers.items()),
        topics.digest if topics is not None else "",
    )
    found = _dry_runs.get(key)
    if found is None:
        found = [str(problem) for problem in dry_run(loaded.policy, routers=routers, topics=topics)]
        if len(_dry_runs) >= DRY_RUNS_KEPT:
            _dry_runs.pop(next(iter(_dry_runs)))
        _dry_runs[key] = found
    return Validation(digest, list(found), loaded)


def _texts(problems: list[Problem]) -> list[str]:
    """A failed check's problems as text (never none: it failed)."""
    return [str(problem) for problem in problems] or ["<root>: rejected without a stated problem"]
