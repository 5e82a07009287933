"""The simulated models' risk triage: a score from the case's red flags, in bands the local policy uses."""

from __future__ import annotations

import json

import pytest

from modelrouter.local.models import PROFILES, SimRequest, simulate
from modelrouter.local.triage import risk_score, with_triage

SCHEMA = {
    "type": "object",
    "required": ["risk_score", "explanation"],
    "properties": {"risk_score": {"type": "number"}, "explanation": {"type": "string"}},
}


@pytest.mark.parametrize(
    ("case", "score"),
    [
        ("Card payment of 40 USD at the customer's usual grocery store.", 0.05),
        ("Order placed from a new device with a country mismatch.", 0.49),
        ("New device, VPN, gift cards, a velocity spike and two chargebacks.", 0.97),
    ],
)
def test_the_score_counts_red_flags(case: str, score: float) -> None:
    assert risk_score(case) == score


def test_only_objects_with_a_risk_score_are_filled() -> None:
    assert with_triage({"answer": "x"}, "new device") == {"answer": "x"}
    assert with_triage(["risk_score"], "new device") == ["risk_score"]
    filled = with_triage({"risk_score": 1.0, "explanation": "sample"}, "a new device and a VPN")
    assert filled == {"risk_score": 0.49, "explanation": "2 red flags: new device, vpn"}


def test_every_simulated_model_answers_the_schema_with_the_case_score() -> None:
    # Given a borderline case asked with the triage schema, When each model answers well
    request = SimRequest(
        last_user_text="Login from a new device after a password reset.", prompt_chars=60, schema=SCHEMA
    )
    answers = [simulate(profile, request) for profile in PROFILES.values()]
    # Then every good answer carries the same score, whichever model gave it
    good = [json.loads(answer.text or "") for answer in answers if answer.good]
    assert good
    assert all(value["risk_score"] == 0.49 for value in good)
