"""Every event in ``events/`` through ``modelrouter invoke``, with the outcome its name promises.

``bad-*`` → a 4xx; ``chat-*``, ``messages-*``, ``models-*``, ``route-*``, ``health``, ``usage`` → 200;
``feedback`` → 404 (the stack is new: the request it rates was never made there);
authorizer events: ``valid-*`` → Allow, ``revoked-*``, ``unknown-*``, ``malformed-*``, ``missing-*`` → Deny.
An event whose name promises nothing fails the test, so a new file must be named for what it shows.

``invoke`` runs the local policy (``policies/local.yaml``). An event that names a model the local policy
does not have (some are written for ``policies/example.yaml``'s ``gpt-4o``) gets the router's honest
answer instead, a 404 ``model_not_found``, whatever its name promises.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TypeVar

import pytest
import yaml

from tests.helpers import EVENTS, ROOT, run_cli

OK = range(200, 201)
ROUTER_PROMISES = {
    "bad-": range(400, 500),
    **dict.fromkeys(("chat-", "messages-", "models-", "route-", "health.", "usage."), OK),
    # invoke starts a fresh stack: no record has the rated request's id, and the answer is the one
    # every unknown (or other tenant's) id gets (tests/integration/test_feedback_api.py rates it after
    # the chat-support event has run)
    "feedback.": range(404, 405),
}
"""Router event name prefix → the statuses it promises."""
AUTHORIZER_PROMISES = {
    "valid-": "Allow",
    **dict.fromkeys(("revoked-", "unknown-", "malformed-", "missing-"), "Deny"),
}
"""Authorizer event name prefix → the effect it promises."""

LOCAL_POLICY = yaml.safe_load((ROOT / "policies" / "local.yaml").read_text())
LOCAL_NAMES = (
    {"auto"} | {m["id"] for m in LOCAL_POLICY["models"]} | {r["name"] for r in LOCAL_POLICY["routes"]}
)
"""Every name a request may give as ``model`` in the local policy (before the tenant's pinning rules)."""

ROUTER_EVENTS = sorted(EVENTS.glob("*.json"))
AUTHORIZER_EVENTS = sorted((EVENTS / "authorizer").glob("*.json"))


T = TypeVar("T")


def _promise(path: Path, promises: dict[str, T]) -> T:
    found = [promise for prefix, promise in promises.items() if path.name.startswith(prefix)]
    assert len(found) == 1, f"{path.name}: its name promises no outcome ({', '.join(promises)}…)"
    return found[0]


def _named_model(path: Path) -> str | None:
    """The model a router event names: its body's ``model``, or ``/v1/models/{model}``'s parameter."""
    event = json.loads(path.read_text())
    parameters = event.get("pathParameters") or {}
    if "model" in parameters:
        return str(parameters["model"])
    try:
        body = json.loads(event.get("body") or "{}")
    except ValueError:
        return None
    return str(body["model"]) if isinstance(body, dict) and isinstance(body.get("model"), str) else None


def _invoke(capsys: pytest.CaptureFixture[str], path: Path) -> dict[str, object]:
    code, out, err = run_cli(capsys, "invoke", str(path))
    assert code == 0, err
    answer: dict[str, object] = json.loads(out)
    return answer


def test_the_events_folder_has_events_of_both_kinds() -> None:
    # Given the checked-in events / Then there are router and authorizer events to run
    assert len(ROUTER_EVENTS) >= 10
    assert len(AUTHORIZER_EVENTS) >= 4


@pytest.mark.parametrize("path", ROUTER_EVENTS, ids=lambda path: path.stem)
def test_router_event_answers_the_status_its_name_promises(
    path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a router event and the statuses its name promises (a model unknown locally: a 404)
    statuses = _promise(path, ROUTER_PROMISES)
    named = _named_model(path)
    unknown_here = named is not None and named not in LOCAL_NAMES
    # When modelrouter invoke runs it
    response = _invoke(capsys, path)
    # Then the handler answered one of them
    if unknown_here:
        body = response["body"]
        assert isinstance(body, dict)
        assert (response["statusCode"], body["error"]["code"]) == (404, "model_not_found"), response
    else:
        assert response["statusCode"] in statuses, response


@pytest.mark.parametrize("path", AUTHORIZER_EVENTS, ids=lambda path: path.stem)
def test_authorizer_event_has_the_effect_its_name_promises(
    path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given an authorizer event and the effect its name promises
    effect = _promise(path, AUTHORIZER_PROMISES)
    # When modelrouter invoke runs it
    answer = _invoke(capsys, path)
    # Then the authorizer's policy has that effect; a denial says why, an allow names the tenant
    document = answer["policyDocument"]
    assert isinstance(document, dict)
    assert document["Statement"][0]["Effect"] == effect, answer
    context = answer["context"]
    assert isinstance(context, dict)
    if effect == "Deny":
        assert context["reason"] in {"revoked", "unknown", "malformed", "missing"}
    else:
        assert context["tenant_id"] == answer["principalId"]
