"""``make demo``'s script, run as the user runs it: every scenario shows what it is meant to show."""

from __future__ import annotations

import subprocess
import sys

from modelrouter.local.demo import ALL_SCENARIOS, BANDIT_CHART
from modelrouter.local.demo_bandit import PER_ROUND, ROUNDS
from modelrouter.local.demo_learned import LEARNED_QUESTIONS
from modelrouter.local.demo_scenarios import SCENARIOS, USE_CASES
from tests.helpers import ROOT


def test_the_demo_shows_routing_checks_fallback_learned_routing_and_budgets() -> None:
    # When the demo runs (without simulated latency)
    result = subprocess.run(
        [sys.executable, "-m", "modelrouter.cli.main", "demo", "--fast"],
        capture_output=True, text=True, timeout=120, cwd=ROOT, check=False,
    )  # fmt: skip
    output = result.stdout

    # Then it succeeds and each scenario is there, with what it demonstrates
    assert result.returncode == 0, result.stderr[-4000:]
    assert "Traceback" not in result.stderr, result.stderr[-4000:]
    for number, scenario in enumerate(ALL_SCENARIOS, 1):
        assert f"[{number}] {scenario.title}" in output
    assert "tier easy" in output
    assert "tier hard" in output
    assert "local-small check_failed → local-medium success" in output  # cascade on a failed schema
    assert "run_tests" in output  # tool call
    assert "local-small error (rate_limited)" in output  # fallback under injected failures
    assert "429 budget_exhausted" in output
    assert "Retry-After" in output
    assert "open holds" in output
    assert "Provenance:" in output
    # and a learned route: every candidate's predicted quality, the translation to local-small and the
    # legal question to local-large, each the cheapest predicted to reach the target
    learned = output.split("Learned routing")[1].split("\n[")[0]
    translation, legal = (learned.split(question)[1] for question in LEARNED_QUESTIONS)
    assert "routers/local-router.json (sha256:" in learned
    assert all(
        model in translation.split("\n")[1] for model in ("local-small", "local-medium", "local-large")
    )
    assert "chosen     local-small: cheapest predicted to reach 0.8" in translation
    assert "chosen     local-large: cheapest predicted to reach 0.8 (local-medium" in legal
    assert "answer     [local-large]" in legal
    # and an answer streamed token by token, ending cleanly
    assert "Streaming: tokens as the model generates them" in output
    assert "finish_reason stop" in output
    # and personal data never went to local-small, which is not cleared for it
    pii_number = next(number for number, s in enumerate(SCENARIOS, 1) if s.request == "support-pii")
    pii = output.split(f"[{pii_number}]")[1].split("\n[")[0]
    assert "local-small" not in pii
    # and no card number is echoed anywhere
    assert "4111" not in output
    # and each use case shows what it is there to show (the demo itself exits non-zero otherwise)
    use_cases = output.split("--- Use cases")[1].split("Learned routing")[0]
    blocks = dict(
        zip((s.request for s in USE_CASES), use_cases.split("\n[")[1 : 1 + len(USE_CASES)], strict=True)
    )
    assert "route      support-faq" in blocks["support-easy"]
    assert "route      support-priority" in blocks["support-hard"]
    assert "local-medium-claude check_failed → local-large success" in blocks["kyc-scan"]
    assert "route      coding-large-change" in blocks["coding-large-diff"]
    assert "rules      clear" in blocks["fraud-clear"]
    assert "model in us, on_prem" in blocks["fraud-clear"]
    assert "local-small-onprem check_failed → local-large-restricted success" in blocks["fraud-borderline"]
    assert "rules      borderline" in blocks["fraud-borderline"]
    assert "restricted (tenant_default); model in us, zero_retention" in blocks["fraud-borderline"]
    # and a bandit route learning from the users' thumbs: every rating accepted, each task's favourite
    # model drawn more often at the end than at the start (the demo checks and fails otherwise), a chart
    bandit = output.split("Learning from feedback")[1].split("\n[")[0]
    assert f"{2 * ROUNDS * PER_ROUND} thumbs sent, 0 refused; 0 errors" in bandit
    assert "task = translation" in bandit
    assert "task = code" in bandit
    assert (ROOT / BANDIT_CHART).read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    assert len(SCENARIOS) + len(USE_CASES) == len(ALL_SCENARIOS)
    assert "every server stopped" in output
