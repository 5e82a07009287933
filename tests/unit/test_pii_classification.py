"""Regression (issue 8, item 9): personal data anywhere a model reads it raises the classification.

The same card number in a message, a tool's description or parameters, the answer schema's ``const`` or
``description``, or ``stop`` gets the same decision: refused for a tenant cleared only for ``internal``
data, and kept away from models cleared only for ``internal`` otherwise. Requests are parsed from JSON
bodies and decided by the real engine, features extracted from the request.
"""

from __future__ import annotations

from typing import Any

import pytest
from tests.helpers import build_policy, minimal_policy, model_entry
from tests.pii_bodies import PLACES, body_with_card

from modelrouter.errors import RequestDeniedError
from modelrouter.policy import DataClassification
from modelrouter.request import parse_chat_request
from modelrouter.selection import ExclusionReason, RequestContext, decide


def _policy(tenant_clearance: str) -> dict[str, Any]:
    document = minimal_policy()
    document["models"] = [
        model_entry("internal-only", max_classification="internal"),
        model_entry("vault", max_classification="confidential"),
    ]
    document["routes"][0]["models"] = ["internal-only", "vault"]
    document["tenants"][0]["max_classification"] = tenant_clearance
    return document


@pytest.mark.parametrize("place", PLACES)
def test_card_anywhere_is_refused_for_a_tenant_cleared_for_internal_data(place: str) -> None:
    # Given a tenant cleared for internal data and a card number at the place
    policy = build_policy(_policy("internal"))
    request = parse_chat_request(body_with_card(place))

    # When decided from the request itself
    with pytest.raises(RequestDeniedError) as caught:
        decide(policy, request, RequestContext(request_id="r", tenant_id="t1"))

    # Then it is refused as in a message: the PII raised it to confidential
    assert caught.value.code == "classification_not_allowed"
    assert "PII found (payment_card)" in str(caught.value)


@pytest.mark.parametrize("place", PLACES)
def test_card_anywhere_keeps_models_cleared_only_for_internal_data_out(place: str) -> None:
    # Given a tenant cleared for confidential data, one model cleared for internal and one for confidential
    policy = build_policy(_policy("confidential"))
    request = parse_chat_request(body_with_card(place))

    # When decided from the request itself
    decision = decide(policy, request, RequestContext(request_id="r", tenant_id="t1"))

    # Then only the confidential model may serve it, as for a card in a message
    assert decision.classification is DataClassification.CONFIDENTIAL
    assert [candidate.model for candidate in decision.candidates] == ["vault"]
    assert {item.model: item.reason for item in decision.exclusions} == {
        "internal-only": ExclusionReason.CLASSIFICATION_NOT_CLEARED
    }


def test_the_same_request_without_the_card_goes_to_either_model() -> None:
    # Given the control request, with no card anywhere
    policy = build_policy(_policy("internal"))
    request = parse_chat_request(body_with_card(None))

    # When decided / Then it stays internal and both models may serve it
    decision = decide(policy, request, RequestContext(request_id="r", tenant_id="t1"))
    assert decision.classification is DataClassification.INTERNAL
    assert [candidate.model for candidate in decision.candidates] == ["internal-only", "vault"]
