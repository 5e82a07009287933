"""The public router benchmark data in ``../shared/eval-data``, converted to outcomes JSON Lines.

Nothing is copied into the repository: each converter reads the files where they are and writes
outcomes (the format of ``docs/learning.md``) under ``benchmarks/out/data/`` (not committed).

- **RouterBench** (``routerdc-routerbench``, train split): 11 models, 0/1 quality and the USD cost of
  each call. A prompt with a blank score cell is left out (it is not counterfactual), and a repeated
  ``(benchmark, sample_id)`` is kept once.
- **RouteLLM** (``routellm-evals``): GPT-4 (``gpt-4-1106-preview``) vs Mixtral-8x7B per-prompt
  correctness on MMLU and GSM8K, without costs. Costs are priced from token counts (characters / 4) at
  list prices: GPT-4 Turbo $10 / $30 per million input / output tokens, Mixtral-8x7B $0.60 / $0.60
  (the prices RouterBench's own costs imply). GSM8K output tokens come from each model's recorded
  response; MMLU has no responses, so each answer is assumed to be :data:`MMLU_OUTPUT_TOKENS` tokens (a
  letter and a little formatting). Prompts RouteLLM lists as contaminated (overlapping its router
  training data) are excluded.
"""

from __future__ import annotations

import ast
import csv
import json
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = [
    "EVAL_DATA",
    "MMLU_OUTPUT_TOKENS",
    "PRICES",
    "Dataset",
    "gsm8k",
    "mmlu",
    "routerbench",
    "write",
]

EVAL_DATA = Path(__file__).resolve().parents[2] / "shared" / "eval-data"
"""Where the shared benchmark data lives (``../shared/eval-data`` from the repository)."""
OUT = Path(__file__).resolve().parent / "out" / "data"
"""Where converted outcomes are written."""
MMLU_OUTPUT_TOKENS = 5
"""Assumed output tokens of an MMLU answer (the data has no responses)."""
CHARS_PER_TOKEN = 4
"""Token counts are estimated as characters / 4."""
GPT4 = "gpt-4-1106-preview"
MIXTRAL = "mistralai/Mixtral-8x7B-Instruct-v0.1"
PRICES = {GPT4: (10.0, 30.0), MIXTRAL: (0.6, 0.6)}
"""USD per million input and output tokens, per RouteLLM model."""

csv.field_size_limit(sys.maxsize)


@dataclass(frozen=True, slots=True)
class Dataset:
    """One converted benchmark: its outcomes file and what was left out."""

    name: str
    """Short name (``routerbench``, ``mmlu``, ``gsm8k``)."""
    path: Path
    """The outcomes JSON Lines file."""
    requests: int
    """Requests written."""
    excluded: dict[str, int]
    """Requests left out, by reason."""
    strong: str | None = None
    """For two-model sets, the strong model (GPT-4)."""
    weak: str | None = None
    """For two-model sets, the weak model."""


def write(name: str, rows: Iterator[dict[str, Any]], excluded: dict[str, int], **pair: str) -> Dataset:
    """Write ``rows`` as outcomes JSON Lines under :data:`OUT` and describe the file."""
    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / f"{name}.jsonl"
    requests: set[str] = set()
    with path.open("w", encoding="utf-8") as out:
        for row in rows:
            requests.add(row["request_id"])
            out.write(json.dumps(row, ensure_ascii=False) + "\n")
    return Dataset(name, path, len(requests), excluded, **pair)


def routerbench() -> Dataset:
    """RouterBench's train split: ARC-Challenge, MBPP and Winogrande, 11 models."""
    folder = EVAL_DATA / "routerdc-routerbench"
    excluded = {"blank score": 0, "repeated sample id": 0}
    rows: list[dict[str, Any]] = []
    seen: set[str] = set()
    for file in sorted(folder.glob("*_train.csv")):
        with file.open(encoding="utf-8", newline="") as handle:
            reader = csv.DictReader(handle)
            suffix = "|total_cost"
            models = [name.removesuffix(suffix) for name in reader.fieldnames or () if name.endswith(suffix)]
            for record in reader:
                request_id = f"{record['eval_name']}/{record['sample_id']}"
                if request_id in seen:
                    excluded["repeated sample id"] += 1
                    continue
                seen.add(request_id)
                if any(record[model] in ("", None) for model in models):
                    excluded["blank score"] += 1
                    continue
                prompt = _routerbench_prompt(record["prompt"])
                rows.extend(
                    {
                        "request_id": request_id,
                        "prompt": prompt,
                        "model": model,
                        "quality": float(record[model]),
                        "cost_usd": float(record[f"{model}|total_cost"]),
                        "tags": [record["eval_name"]],
                    }
                    for model in models
                )
    return write("routerbench", iter(rows), excluded)


def _routerbench_prompt(cell: str) -> str:
    """RouterBench stores a prompt as the text of a Python list of strings."""
    if cell.startswith("["):
        try:
            parts = ast.literal_eval(cell)
        except (ValueError, SyntaxError):
            return cell
        if isinstance(parts, list):
            return "\n".join(str(part) for part in parts)
    return cell


def _normalized(text: str) -> str:
    return re.sub(r"\s+", " ", text.replace("\u2019", "'")).strip()


def _contaminated(folder: Path) -> list[str]:
    lines = (folder / "contaminated_prompts.jsonl").read_text(encoding="utf-8").splitlines()
    return [_normalized(json.loads(line)["eval_prompt"]) for line in lines if line.strip()]


def _is_contaminated(prompt: str, contaminated: list[str]) -> bool:
    text = _normalized(prompt)
    return any(text.startswith(bad) or bad.startswith(text) for bad in contaminated)


def _cost(model: str, prompt_chars: int, output_tokens: float) -> float:
    per_input, per_output = PRICES[model]
    return (prompt_chars / CHARS_PER_TOKEN * per_input + output_tokens * per_output) / 1e6


def _pair_rows(
    request_id: str, prompt: str, correct: dict[str, str], output_tokens: dict[str, float], tag: str
) -> list[dict[str, Any]]:
    return [
        {
            "request_id": request_id,
            "prompt": prompt,
            "model": model,
            "quality": 1.0 if correct[model] == "True" else 0.0,
            "cost_usd": _cost(model, len(prompt), output_tokens[model]),
            "tags": [tag],
        }
        for model in (MIXTRAL, GPT4)
    ]


def mmlu() -> Dataset:
    """RouteLLM's MMLU (57 subjects, tagged by subject), GPT-4 vs Mixtral."""
    folder = EVAL_DATA / "routellm-evals" / "mmlu"
    contaminated = _contaminated(folder)
    excluded = {"contaminated": 0}
    rows: list[dict[str, Any]] = []
    for file in sorted((folder / "responses").glob("mmlu_*.csv")):
        subject = file.stem.removeprefix("mmlu_")
        with file.open(encoding="utf-8", newline="") as handle:
            for index, record in enumerate(csv.DictReader(handle)):
                if _is_contaminated(record["prompt"], contaminated):
                    excluded["contaminated"] += 1
                    continue
                tokens = dict.fromkeys((MIXTRAL, GPT4), float(MMLU_OUTPUT_TOKENS))
                rows.extend(_pair_rows(f"mmlu/{subject}/{index}", record["prompt"], record, tokens, subject))
    return write("mmlu", iter(rows), excluded, strong=GPT4, weak=MIXTRAL)


def gsm8k() -> Dataset:
    """RouteLLM's GSM8K, GPT-4 vs Mixtral, with output tokens from the recorded responses."""
    folder = EVAL_DATA / "routellm-evals" / "gsm8k"
    contaminated = _contaminated(folder)
    excluded = {"contaminated": 0}
    rows: list[dict[str, Any]] = []
    with (folder / "gsm8k_responses.csv").open(encoding="utf-8", newline="") as handle:
        for index, record in enumerate(csv.DictReader(handle)):
            if _is_contaminated(record["prompt"], contaminated):
                excluded["contaminated"] += 1
                continue
            tokens = {model: len(record[f"{model}_response"]) / CHARS_PER_TOKEN for model in (MIXTRAL, GPT4)}
            rows.extend(_pair_rows(f"gsm8k/{index}", record["prompt"], record, tokens, "gsm8k"))
    return write("gsm8k", iter(rows), excluded, strong=GPT4, weak=MIXTRAL)


if __name__ == "__main__":
    for dataset in (routerbench(), mmlu(), gsm8k()):
        print(f"{dataset.name}: {dataset.requests} requests -> {dataset.path} (excluded {dataset.excluded})")
