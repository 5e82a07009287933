"""Outcomes of the simulated local models and the learned router local mode uses: ``make local-router``.

1. Builds :data:`REQUESTS` varied prompts from templates per topic (arithmetic, code, law, medicine,
   trivia, translation, summaries, puzzles, support, small talk), with varied wording, optional background
   sentences (so lengths vary within a topic) and niche variants, from a fixed seed.
2. Asks every simulated model for its quality on each through
   :func:`modelrouter.local.skills.answer_quality` (the rule the model server answers by) and prices
   each call from ``policies/local.yaml``: prompt tokens = characters / 4, output tokens = the policy's
   ``defaults.expected_output_tokens``.
3. Writes them as outcomes JSON Lines (``docs/learning.md``; tag = the prompt's topic) to
   ``benchmarks/out/data/local-outcomes.jsonl`` (not committed).
4. Fits a router on them (:func:`modelrouter.training.fit.fit_router`, 4,096 hashed text buckets) and
   writes ``policies/routers/local-router.json`` with a fixed ``training.fitted_at``, so the file is
   byte-identical whenever it is regenerated (with the same fitting code); pins its SHA-256 in
   ``policies/local.yaml``'s learned route; prints its cross-validated metrics and its
   cross-validated AIQ against the zero router.

No network; the same seed always writes the same files.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from modelrouter.local.models import PROFILES, count_tokens
from modelrouter.local.skills import answer_quality, topic_of

if TYPE_CHECKING:
    from modelrouter.training.fit import Predictions
    from modelrouter.training.outcomes import OutcomeTable

__all__ = [
    "FITTED_AT",
    "HASH_BITS",
    "OUTCOMES",
    "POLICY",
    "REQUESTS",
    "ROUTER",
    "SEED",
    "fit",
    "main",
    "outcome_lines",
    "prompts",
    "repin",
    "router_bytes",
    "write_outcomes",
]

ROOT = Path(__file__).resolve().parent.parent
"""The repository."""
SEED = 20260310
"""Seed of the prompt generator."""
REQUESTS = 3000
"""Prompts generated (each answered by every simulated model)."""
HASH_BITS = 12
"""The router's text features hash into 2 ** 12 buckets (a small file for three models)."""
FITTED_AT = "reproducible"
"""``training.fitted_at`` of the written router: fixed, so regenerating it gives the same bytes."""
POLICY = ROOT / "policies" / "local.yaml"
"""Where the models' prices and the expected answer length come from."""
OUTCOMES = ROOT / "benchmarks" / "out" / "data" / "local-outcomes.jsonl"
"""Where the outcomes are written."""
ROUTER = ROOT / "policies" / "routers" / "local-router.json"
"""Where the fitted router is written."""
SOURCE = "benchmarks/local_outcomes.py"
"""What the artifact names as its training source."""
CV_FOLDS = 5
"""Folds of the cross-validation behind the printed metrics."""

_W = {
    "n": ["12", "17", "25", "48", "64", "125", "240", "365", "999", "1,250"],
    "lang": ["Python", "JavaScript", "TypeScript", "SQL"],
    "niche_lang": ["Haskell", "COBOL", "Erlang", "OCaml", "Fortran", "Prolog"],
    "symptom": [
        "return None", "run forever", "crash on empty input", "print the wrong order", "leak memory",
    ],
    "task": [
        "renames files by date", "counts words in a text", "merges two sorted lists", "parses a CSV file",
        "retries a web request",
    ],
    "clause": ["non-compete", "termination", "confidentiality", "arbitration", "penalty"],
    "doc": ["employment contract", "lease", "supplier contract", "licence agreement"],
    "niche_law": [
        "under maritime law", "in an antitrust case", "in an extradition hearing", "",
    ],
    "drug": ["ibuprofen", "paracetamol", "an antihistamine", "aspirin"],
    "who": ["a child", "an adult", "a pregnant woman", "an older patient"],
    "niche_med": ["a rare", "a tropical", "a paediatric oncology", ""],
    "country": ["France", "Peru", "Kenya", "Canada", "Vietnam", "Norway"],
    "book": ["Don Quixote", "War and Peace", "The Odyssey", "Hamlet", "Pride and Prejudice"],
    "thing": ["the telescope", "the printing press", "the compass", "paper money", "the piano"],
    "phrase": [
        "good morning", "where is the train station", "thank you for your help", "see you tomorrow",
        "the meeting starts at nine", "I would like a coffee",
    ],
    "tlang": ["French", "Spanish", "German", "Italian", "Portuguese", "Japanese"],
    "niche_tlang": ["Icelandic", "Basque", "Swahili", "Welsh"],
    "article": ["article", "report", "meeting notes", "blog post", "email thread"],
    "account": ["password", "subscription", "account", "login", "billing address"],
    "month": ["March", "April", "May", "June"],
    "subject": ["autumn", "the sea", "a rainy city", "friendship", "mountains", "a quiet library"],
}  # fmt: skip
_TEMPLATES: dict[str, list[str]] = {
    "arithmetic": [
        "Calculate {n} percent of {n}.", "What is {n} times {n}?", "Add {n} plus {n}, then subtract {n}.",
        "Compute the percentage change from {n} to {n}.", "If I divide {n} by {n}, what do I get?",
    ],
    "code": [
        "Why does my {lang} function {symptom}?", "Write a {lang} script that {task}.",
        "Refactor this {lang} loop so it does not {symptom}.", "Why does my {niche_lang} function {symptom}?",
        "Write a {niche_lang} script that {task}.",
    ],
    "legal": [
        "Is a {clause} clause in my {doc} enforceable {niche_law}?",
        "Can my landlord end the lease early {niche_law}?",
        "Who is liable under the {doc} if a delivery is late?",
        "Is a verbal {doc} lawful and binding {niche_law}?",
    ],
    "medical": [
        "What dose of {drug} is safe for {who} with a fever?",
        "Is this rash a symptom of {niche_med} infection?",
        "Can {who} take {drug} with another medication?",
        "Which symptoms of {niche_med} allergy need a doctor?",
    ],
    "trivia": [
        "What is the capital of {country}?", "Who wrote {book}?", "In which century was {thing} invented?",
        "What is the tallest mountain in {country}?", "Which famous painter was born in {country}?",
    ],
    "translation": [
        "Translate '{phrase}' into {tlang}.", "Translate '{phrase}' into {niche_tlang}.",
        "How do I say '{phrase}' in {tlang}? Translate it please.",
    ],
    "summarisation": [
        "Summarize this {article} in {n} words.", "Give me the gist of this {article}, briefly.",
        "Summarise the key takeaways of this {article}.",
    ],
    "reasoning": [
        "Solve this logic puzzle: on an island of knights and knaves, one says '{phrase}'. Who is lying?",
        "Here is a riddle: what has {n} keys but opens no door?",
        "Three boxes are labelled wrongly; deduce the contents with one pick.",
        "Twelve coins, one fake: find it in three weighings.",
    ],
    "support": [
        "How do I reset my {account}?", "I was charged twice in {month}; when will the refund arrive?",
        "How can I cancel my subscription before {month}?", "Where can I find the invoice for {month}?",
    ],
    "general": [
        "Write a short poem about {subject}.", "Give me three ideas for a weekend about {subject}.",
        "Tell me something nice about {subject}.", "Describe {subject} in two sentences.",
    ],
}  # fmt: skip
_OPENINGS = ["", "", "Hi! ", "Quick question: ", "Please help. ", "Hello team. "]
_CLOSINGS = [
    "", "", " Thanks!", " Please be brief.", " Explain your answer step by step.",
    " Compare two approaches in detail.", " Why?",
]  # fmt: skip
_BACKGROUND = [
    "I have been wondering about this for a while.", "A colleague asked me the same thing yesterday.",
    "This came up during a long conversation over dinner.", "I read something about it last week.",
    "We are a small team and nobody here knows for sure.", "I would like to get this right the first time.",
    "It is for a presentation I am preparing.", "My previous attempts did not go well.",
    "Our office moved to a new building this spring.", "I am asking on behalf of my neighbour.",
    "The answer will go into a newsletter.", "There is no rush, but I am curious.",
    "Several friends gave me different answers.", "I searched online and found nothing clear.",
]  # fmt: skip
_BACKGROUND_SENTENCES = (0, 0, 0, 1, 1, 2, 3, 4, 6)
"""How many background sentences a prompt gets (drawn uniformly from these)."""
_LONG_SHARE = 0.15
"""Share of prompts whose background is repeated two to four times (a long pasted text)."""


def _fill(template: str, rng: random.Random) -> str:
    pieces = template.split("{")
    text = pieces[0]
    for piece in pieces[1:]:
        slot, rest = piece.split("}", 1)
        text += rng.choice(_W[slot]) + rest
    return " ".join(text.split()).replace(" ?", "?")


def _prompt(rng: random.Random) -> str:
    topic = rng.choice(list(_TEMPLATES))
    question = _fill(rng.choice(_TEMPLATES[topic]), rng)
    background = rng.sample(_BACKGROUND, k=rng.choice(_BACKGROUND_SENTENCES))
    if rng.random() < _LONG_SHARE:
        background *= 2 + rng.randrange(3)  # a longer prompt, the same question
    context = (" ".join(background) + " ") if background else ""
    return f"{rng.choice(_OPENINGS)}{context}{question}{rng.choice(_CLOSINGS)}"


def prompts(count: int = REQUESTS, seed: int = SEED) -> list[str]:
    """``count`` distinct prompts, the same for the same seed."""
    rng = random.Random(seed)
    seen: dict[str, None] = {}
    while len(seen) < count:
        seen.setdefault(_prompt(rng))
    return list(seen)


def outcome_lines(count: int = REQUESTS, seed: int = SEED, policy: Path = POLICY) -> Iterator[dict[str, Any]]:
    """One outcome per (prompt, simulated model), priced from ``policy``."""
    from modelrouter.policy.loader import load_policy_file
    from modelrouter.pricing import cost_usd

    loaded = load_policy_file(policy).policy
    catalog = loaded.model_by_id
    output_tokens = loaded.defaults.expected_output_tokens
    for number, text in enumerate(prompts(count, seed), start=1):
        tags = [topic_of(text)]
        input_tokens = count_tokens(len(text))
        for name, profile in PROFILES.items():
            yield {
                "request_id": f"local-{number:05d}",
                "prompt": text,
                "model": name,
                "quality": answer_quality(profile, text),
                "cost_usd": round(cost_usd(catalog[name], input_tokens, output_tokens), 12),
                "tags": tags,
            }


def write_outcomes(path: Path, count: int = REQUESTS, seed: int = SEED) -> int:
    """Write the outcomes JSON Lines to ``path``; the number of lines."""
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = 0
    with path.open("w", encoding="utf-8") as out:
        for line in outcome_lines(count, seed):
            out.write(json.dumps(line, ensure_ascii=False) + "\n")
            lines += 1
    return lines


def fit(outcomes: Path) -> tuple[dict[str, Any], OutcomeTable, Predictions]:
    """The router document fitted on ``outcomes`` (with the fixed ``fitted_at``), its table, and the
    fit's own out-of-fold predictions."""
    from modelrouter.learned.features import FeatureRecipe
    from modelrouter.training.fit import fit_with_held_out
    from modelrouter.training.outcomes import read_outcomes, tabulate

    table = tabulate(read_outcomes([outcomes]))
    fitted = fit_with_held_out(
        table, recipe=FeatureRecipe(hash_bits=HASH_BITS), cv_folds=CV_FOLDS, sources=[SOURCE]
    )
    fitted.document["training"]["fitted_at"] = FITTED_AT
    return fitted.document, table, fitted.held_out


def router_bytes(document: dict[str, Any]) -> bytes:
    """The artifact file's bytes."""
    return (json.dumps(document, indent=1, ensure_ascii=False) + "\n").encode("utf-8")


def repin(policy: Path, key: str, digest_hex: str, *, field: str = "router") -> bool:
    """Set the ``sha256`` pin that follows ``<field>: <key>`` (``router:``, or a topic section's
    ``classifier:``) in ``policy`` to ``digest_hex``; whether the pin was found (the rest of the file is
    left as it is)."""
    pattern = re.compile(rf"({re.escape(field)}:\s*{re.escape(key)}\s*\n\s*sha256:\s*)[0-9a-f]{{64}}")
    text = policy.read_text(encoding="utf-8")
    updated, found = pattern.subn(lambda match: match.group(1) + digest_hex, text)
    if found and updated != text:
        policy.write_text(updated, encoding="utf-8")
    return found > 0


def _report(raw: bytes, path: Path, table: OutcomeTable, held_out: Predictions) -> None:
    """What ``learn fit`` and ``learn evaluate --cv`` print, from the fit's own cross-validation."""
    from modelrouter.cli.learn_report import render_evaluation, render_fit
    from modelrouter.learned import load_router
    from modelrouter.training.evaluate import evaluate_table

    print(render_fit(load_router(raw, str(path)), str(path), len(raw)))
    print()
    print(render_evaluation(evaluate_table(table, held_out), f"the fit's {CV_FOLDS}-fold cross-validation"))


def main(argv: list[str] | None = None) -> int:
    """Generate the outcomes, fit the router, write both and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--outcomes", type=Path, default=OUTCOMES, help="outcomes JSON Lines to write")
    parser.add_argument("--router", type=Path, default=ROUTER, help="router artifact to write")
    parser.add_argument("--no-report", action="store_true", help="skip the cross-validated evaluation")
    args = parser.parse_args(argv)
    lines = write_outcomes(args.outcomes)
    print(f"wrote {lines:,} outcomes to {args.outcomes}")
    document, table, held_out = fit(args.outcomes)
    args.router.parent.mkdir(parents=True, exist_ok=True)
    raw = router_bytes(document)
    args.router.write_bytes(raw)
    digest = hashlib.sha256(raw).hexdigest()
    print(f"wrote {args.router} ({len(raw):,} bytes, sha256 {digest})")
    key = args.router.resolve().relative_to(POLICY.parent).as_posix() if args.router == ROUTER else None
    if key is not None and repin(POLICY, key, digest):
        print(f"pinned it in {POLICY.relative_to(ROOT)}")
    else:
        print(f"pin it in the policy that routes with it: sha256: {digest}")
    if not args.no_report:
        _report(raw, args.router, table, held_out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
