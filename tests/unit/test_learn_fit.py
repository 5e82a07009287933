"""Fitting a learned router (``training.fit``) on small synthetic outcomes whose rule is known."""

from __future__ import annotations

import json
import math
import random
from pathlib import Path

import numpy as np
import pytest

from modelrouter.features import extract_features
from modelrouter.learned import load_router, request_text
from modelrouter.request import parse_chat_request
from modelrouter.training.fit import cross_validate, fit_router, platt_scaling
from modelrouter.training.outcomes import read_outcomes, tabulate

TOPICS = ("tax", "poem", "recipe", "history", "travel", "garden")


def outcomes_file(folder: Path, *, logged: bool = False, requests: int = 160) -> Path:
    """Counterfactual (or logged) outcomes where ``small`` fails exactly the prompts that say "proof"
    and ``large`` answers everything."""
    rng = random.Random(5)
    path = folder / "outcomes.jsonl"
    with path.open("w") as out:
        for index in range(requests):
            hard = index % 2 == 0
            topic = rng.choice(TOPICS)
            prompt = f"Question {index} on {topic}: " + ("give a proof of the claim" if hard else "say hello")
            models = [rng.choice(["small", "large"])] if logged else ["small", "large"]
            for model in models:
                quality = 0.0 if (model == "small" and hard) else 1.0
                cost = 0.001 if model == "small" else 0.02
                line = {"request_id": f"q{index}", "prompt": prompt, "model": model, "quality": quality}
                out.write(json.dumps({**line, "cost_usd": cost, "tags": [topic]}) + "\n")
    return path


def score(document: dict[str, object], prompt: str) -> dict[str, float]:
    router = load_router(json.dumps(document).encode())
    request = parse_chat_request({"messages": [{"role": "user", "content": prompt}]})
    return router.score(request_text(request), extract_features(request))


def test_a_fit_learns_the_rule_and_records_its_metrics(tmp_path: Path) -> None:
    # Given outcomes where the small model fails exactly the "proof" prompts
    table = tabulate(read_outcomes([outcomes_file(tmp_path)]))
    # When a router is fitted on them
    document = fit_router(table, cv_folds=4, seed=3)
    # Then its held-out AUC for the small model is high, and the artifact says what it was fitted on
    metrics = document["metrics"]["models"]
    assert metrics["small"]["auc"] > 0.9
    assert metrics["large"]["auc"] is None  # one class only: large never fails
    assert document["training"]["data_sha256"] == table.digest
    assert document["training"]["requests"] == 160
    assert set(metrics["small"]["by_tag"]) == set(TOPICS)
    # And it scores new prompts by the rule: small predicted to fail a proof and to pass a greeting
    assert score(document, "Question 999 on tax: give a proof of the claim")["small"] < 0.3
    assert score(document, "Question 998 on tax: say hello")["small"] > 0.7


def test_cross_validation_predicts_each_request_from_the_other_folds(tmp_path: Path) -> None:
    # Given the same outcomes
    table = tabulate(read_outcomes([outcomes_file(tmp_path)]))
    # When they are cross-validated
    predictions = cross_validate(table, 4, seed=1)
    # Then every prediction is a probability, and the small model's are lower on the proofs
    assert predictions.quality.shape == (160, 2)
    assert ((predictions.quality >= 0) & (predictions.quality <= 1)).all()
    small = table.models.index("small")
    hard = np.array(["proof" in text for text in table.texts])
    assert predictions.quality[hard, small].mean() < predictions.quality[~hard, small].mean() - 0.5
    # And the predicted cost is each model's (prompt lengths barely differ here)
    assert predictions.cost[:, table.models.index("large")].mean() == pytest.approx(0.02, rel=0.05)


def test_a_fit_on_logged_traffic_keeps_each_models_base_rate(tmp_path: Path) -> None:
    # Given logged outcomes: one randomly chosen model per request
    table = tabulate(read_outcomes([outcomes_file(tmp_path, logged=True, requests=200)]))
    # When a router is fitted on them
    document = fit_router(table, cv_folds=3, seed=0)
    # Then the large model, which never failed, is predicted to succeed, proofs included
    assert score(document, "Question 5 on poem: give a proof of the claim")["large"] > 0.8
    assert document["training"]["observations"] == 200


def test_platt_scaling_never_turns_a_ranking_upside_down() -> None:
    # Given held-out logits that rank outcomes correctly, and logits that rank them backwards
    quality = np.array([0.0, 0.0, 1.0, 1.0, 1.0, 0.0, 1.0, 1.0])
    forwards = np.array([-2.0, -1.5, 1.0, 2.0, 1.5, -1.0, 0.5, 2.5])
    # When each is calibrated
    slope, _ = platt_scaling(forwards, quality)
    backwards_slope, intercept = platt_scaling(-forwards, quality)
    # Then the right ranking keeps a positive slope, and the backwards one predicts the mean for all
    assert slope > 0
    assert backwards_slope == 0.0
    assert 1 / (1 + math.exp(-intercept)) == pytest.approx(quality.mean(), abs=1e-3)


def test_platt_scaling_ignores_unobserved_outcomes() -> None:
    # Given logits with NaN where the model was not observed
    quality = np.array([0.0, np.nan, 1.0, 1.0, np.nan, 0.0])
    logits = np.array([-1.0, 50.0, 1.0, 2.0, -50.0, -2.0])
    # When calibrated, Then the unobserved rows change nothing
    assert platt_scaling(logits, quality) == platt_scaling(
        logits[~np.isnan(quality)], quality[~np.isnan(quality)]
    )
