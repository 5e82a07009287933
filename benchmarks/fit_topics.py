"""The topic classifier the example and local policies use: ``make topics``.

1. Fits it on ``policies/topics/examples.jsonl`` with ``modelrouter learn fit-topics`` (5-fold stratified
   cross-validation against the keyword baseline ``policies/topics/keywords.yaml``), writing
   ``policies/routers/support-topics.json`` and the report ``benchmarks/out/topics.json``. The artifact
   is byte-identical whenever the examples (and the fitting code) are.
2. Pins its SHA-256 in the ``topics:`` section of ``policies/local.yaml`` and ``policies/example.yaml``.
"""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.local_outcomes import repin
from modelrouter.cli.main import main as modelrouter

__all__ = ["ARTIFACT", "EXAMPLES", "KEYWORDS", "POLICIES", "REPORT", "main"]

ROOT = Path(__file__).resolve().parent.parent
"""The repository."""
EXAMPLES = ROOT / "policies" / "topics" / "examples.jsonl"
"""The labelled examples."""
KEYWORDS = ROOT / "policies" / "topics" / "keywords.yaml"
"""The keyword baseline."""
ARTIFACT = ROOT / "policies" / "routers" / "support-topics.json"
"""The artifact written (key ``routers/support-topics.json``, next to the policies)."""
REPORT = ROOT / "benchmarks" / "out" / "topics.json"
"""The cross-validation report (not committed)."""
POLICIES = (ROOT / "policies" / "local.yaml", ROOT / "policies" / "example.yaml")
"""The policies whose ``topics:`` section pins the artifact."""


def main() -> int:
    """Fit, write, repin; the fit's exit code."""
    REPORT.parent.mkdir(parents=True, exist_ok=True)
    arguments = [str(EXAMPLES), "--keywords", str(KEYWORDS), "--out", str(ARTIFACT), "--json", str(REPORT)]
    status = modelrouter(["learn", "fit-topics", *arguments])
    if status != 0:
        return status
    digest = hashlib.sha256(ARTIFACT.read_bytes()).hexdigest()
    key = f"routers/{ARTIFACT.name}"
    for policy in POLICIES:
        pinned = "pinned" if repin(policy, key, digest, field="classifier") else "no topics section naming it"
        print(f"{policy.relative_to(ROOT)}: {pinned}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
