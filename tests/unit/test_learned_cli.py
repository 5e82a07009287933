"""The policy commands on learned routes: ``policy validate`` and ``route --explain`` read the artifact
next to the policy file; ``policy push`` checks it where the router will read it, in the bucket (moto)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from tests.activation_helpers import activating
from tests.helpers import fake_aws_environment, run_cli
from tests.learned_fixtures import ROUTER_KEY, keyword_router_bytes, learned_policy, versioned_bucket

from modelrouter.activation.layout import DEFAULT_UPLOAD_KEY
from modelrouter.cli.main import EXIT_OK, EXIT_REJECTED

RAW = keyword_router_bytes(
    {"cheap-7b": 0.9, "mid-34b": 0.95, "frontier": 0.97},
    with_keyword={"cheap-7b": 0.3, "mid-34b": 0.85, "frontier": 0.95},
)
BUCKET = "policy-bucket"


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    return run_cli(capsys, *argv)


def write_policy(folder: Path, document: dict[str, Any], artifact: bytes | None = RAW) -> Path:
    """The policy as ``folder/policy.yaml`` (JSON is YAML), and the artifact at its key next to it."""
    policy = folder / "policy.yaml"
    policy.write_text(json.dumps(document))
    if artifact is not None:
        (folder / ROUTER_KEY).parent.mkdir(parents=True, exist_ok=True)
        (folder / ROUTER_KEY).write_bytes(artifact)
    return policy


def test_validate_checks_the_artifact_next_to_the_policy(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    # Given a learned policy and its artifact at the router key relative to it
    policy = write_policy(tmp_path, learned_policy(RAW))
    # When validated, Then the policy and its router are both ok
    code, out, _ = run(capsys, "policy", "validate", str(policy))
    assert code == EXIT_OK
    assert f"router {ROUTER_KEY}: ok (3 models; sha256:" in out


BROKEN = b"{not json"


@pytest.mark.parametrize(
    ("pinned", "on_disk", "expected"),
    [
        (RAW, None, "cannot read router artifact: No such file or directory"),
        (RAW, keyword_router_bytes({"cheap-7b": 0.5, "mid-34b": 0.5, "frontier": 0.5}), "pin mismatch"),
        (BROKEN, BROKEN, "not JSON"),
    ],
    ids=["missing", "other-bytes", "not-json"],
)
def test_validate_rejects_a_missing_mismatched_or_broken_artifact(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, pinned: bytes, on_disk: bytes | None, expected: str
) -> None:
    # Given a policy pinning an artifact, and next to it no artifact, another artifact, or not an artifact
    policy = write_policy(tmp_path, learned_policy(pinned), on_disk)
    # When validated, Then it is invalid at the route's router key, saying why
    code, _, err = run(capsys, "policy", "validate", str(policy))
    assert code == EXIT_REJECTED
    assert err.startswith(f"{policy}: invalid\n")
    assert "routes[0].learned.router" in err
    assert expected in err


def test_route_explain_shows_the_predicted_quality_of_each_candidate(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    # Given a learned policy and a request its router predicts the small model fails
    policy = write_policy(tmp_path, learned_policy(RAW))
    request = tmp_path / "request.json"
    request.write_text(json.dumps({"messages": [{"role": "user", "content": "prove"}]}))
    # When it is routed with --explain
    args = ("route", "--policy", str(policy), "--request", str(request), "--request-id", "r1", "--explain")
    code, out, _ = run(capsys, *args)
    # Then the router, its objective and each candidate's predicted quality are shown
    assert code == EXIT_OK
    assert f"learned router: {ROUTER_KEY} @ sha256:" in out
    assert "quality_target 0.8" in out
    rows = {line.split()[1]: line.split() for line in out.splitlines() if line.strip()[:1].isdigit()}
    assert (rows["medium"][3], rows["medium"][-1]) == ("learned:target", "0.850")
    assert (rows["small"][3], rows["small"][-1]) == ("learned:utility", "0.300")


@pytest.fixture
def s3(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    fake_aws_environment(monkeypatch)
    with versioned_bucket(BUCKET) as client:
        yield client


def test_push_refuses_a_policy_whose_artifact_is_not_in_the_bucket(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, s3: Any
) -> None:
    # Given a learned policy whose artifact is only on this machine
    policy = write_policy(tmp_path, learned_policy(RAW))
    # When pushed, Then nothing is uploaded, and the problem names the artifact in the bucket
    code, _, err = run(capsys, "policy", "push", str(policy), "--bucket", BUCKET)
    assert code == EXIT_REJECTED
    assert f"s3://{BUCKET}/{ROUTER_KEY}: missing in S3" in err
    assert "Versions" not in s3.list_object_versions(Bucket=BUCKET)


def test_push_with_upload_routers_uploads_the_artifact_then_the_policy(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, s3: Any
) -> None:
    # Given a learned policy and its artifact next to it
    policy = write_policy(tmp_path, learned_policy(RAW))
    # When pushed with --upload-routers (the activator running on uploads)
    with activating(s3, BUCKET):
        code, out, _ = run(capsys, "policy", "push", str(policy), "--bucket", BUCKET, "--upload-routers")
    # Then the artifact is at its key, checked there, and the policy is uploaded and activated
    assert code == EXIT_OK, out
    assert s3.get_object(Bucket=BUCKET, Key=ROUTER_KEY)["Body"].read() == RAW
    assert f"router s3://{BUCKET}/{ROUTER_KEY}: ok (3 models" in out
    assert s3.get_object(Bucket=BUCKET, Key=DEFAULT_UPLOAD_KEY)["Body"].read() == policy.read_bytes()
    assert "activated: " in out


def test_push_refuses_an_artifact_that_does_not_know_the_mapped_models(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, s3: Any
) -> None:
    # Given an artifact in the bucket without the name the policy maps to the medium model
    narrow = keyword_router_bytes({"cheap-7b": 0.9, "frontier": 0.9})
    s3.put_object(Bucket=BUCKET, Key=ROUTER_KEY, Body=narrow)
    policy = write_policy(tmp_path, learned_policy(narrow), artifact=None)
    # When pushed, Then it is refused, naming the map entry and the artifact's models
    code, _, err = run(capsys, "policy", "push", str(policy), "--bucket", BUCKET)
    assert code == EXIT_REJECTED
    assert "routes[0].learned.model_map.mid-34b" in err
    assert "it predicts: cheap-7b, frontier" in err
