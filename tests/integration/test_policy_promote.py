"""``modelrouter policy promote`` through a moto bucket: the active policy is read, promoted when the
evidence holds, and pushed by ``policy push``'s own code as a new object version (comments kept), which
the activator (its core, running on uploads as the deployed S3 event would) activates."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from modelrouter.activation.layout import DEFAULT_UPLOAD_KEY
from modelrouter.cli.main import EXIT_OK, EXIT_REJECTED, EXIT_USAGE
from modelrouter.policy import load_policy_file, parse_policy
from tests.activation_helpers import activate, activating
from tests.helpers import EXAMPLE_POLICY, fake_aws_environment, run_cli
from tests.ope_logs import logged_lines, write_lines

BUCKET = "policy-bucket"
KEY = DEFAULT_UPLOAD_KEY
CHAMPION, CHALLENGER = "claude-haiku-bedrock", "nova-pro"
COST = {CHAMPION: 0.001, CHALLENGER: 0.002}


@pytest.fixture
def s3(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """A versioned policy bucket in moto whose uploads the activator handles."""
    fake_aws_environment(monkeypatch)
    for name in ("POLICY_BUCKET", "POLICY_KEY"):
        monkeypatch.delenv(name, raising=False)
    with mock_aws():
        client = boto3.client("s3", region_name="us-east-1")
        client.create_bucket(Bucket=BUCKET)
        client.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
        with activating(client, BUCKET):
            yield client


def push_example(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run_cli(
        capsys, "policy", "push", str(EXAMPLE_POLICY), "--bucket", BUCKET, "--upload-routers"
    )
    assert code == EXIT_OK, err


def logged(tmp_path: Path, challenger_quality: float) -> Path:
    policy = load_policy_file(EXAMPLE_POLICY).policy
    lines = logged_lines(
        policy, "devtools", 2_500, {CHAMPION: 0.7, CHALLENGER: challenger_quality}, COST, seed=3
    )
    return write_lines(tmp_path / "logged.jsonl", lines)


def versions(client: Any) -> list[dict[str, Any]]:
    listed: list[dict[str, Any]] = client.list_object_versions(Bucket=BUCKET, Prefix=KEY).get("Versions", [])
    return listed


def variants_of(body: bytes) -> dict[str, list[str]]:
    route = parse_policy(body, "active").policy.route_by_name["general"]
    return {variant.name: list(variant.models) for variant in route.variants or ()}


def test_a_promotion_writes_a_new_version_of_the_active_policy(
    capsys: pytest.CaptureFixture[str], s3: Any, tmp_path: Path
) -> None:
    # Given the example policy active in the bucket, and traffic where the challenger is clearly better
    push_example(capsys)
    first = versions(s3)
    outcomes = logged(tmp_path, 0.9)
    # When general is promoted from the bucket's active policy
    code, out, err = run_cli(
        capsys, "policy", "promote", "general", "--outcomes", str(outcomes), "--bucket", BUCKET
    )
    # Then policy push's code uploaded a new version, whose champion has the challenger's models, and
    # the activator activated it
    assert code == EXIT_OK, err
    assert "activated: " in out
    latest = versions(s3)
    assert len(latest) == len(first) + 1
    new = next(version for version in latest if version["IsLatest"])
    assert f"version: {new['VersionId']}" in out
    body = s3.get_object(Bucket=BUCKET, Key=KEY)["Body"].read()
    before = variants_of(EXAMPLE_POLICY.read_bytes())
    assert variants_of(body) == {"champion": before["challenger"], "challenger": before["champion"]}
    # And every comment of the policy is still there
    comments = [line for line in EXAMPLE_POLICY.read_text().splitlines() if "#" in line]
    assert [line for line in body.decode().splitlines() if "#" in line] == comments
    assert s3.head_object(Bucket=BUCKET, Key=KEY)["Metadata"]["policy-digest"].startswith("sha256:")


def test_a_promotion_from_a_file_pushes_it_and_rewrites_the_file(
    capsys: pytest.CaptureFixture[str], s3: Any, tmp_path: Path
) -> None:
    # Given the artifacts in the bucket and a copy of the example policy in a file
    push_example(capsys)
    policy = tmp_path / "policy.yaml"
    policy.write_bytes(EXAMPLE_POLICY.read_bytes())
    outcomes = logged(tmp_path, 0.9)
    # When the file's route is promoted and pushed to the bucket
    code, out, err = run_cli(
        capsys, "policy", "promote", "general", "--outcomes", str(outcomes), "--policy", str(policy),
        "--bucket", BUCKET,
    )  # fmt: skip
    # Then the bucket's active policy and the file are the same promoted text
    assert code == EXIT_OK, err
    assert f"{policy}: rewritten with the promotion" in out
    assert s3.get_object(Bucket=BUCKET, Key=KEY)["Body"].read() == policy.read_bytes()
    assert (
        variants_of(policy.read_bytes())["champion"] == variants_of(EXAMPLE_POLICY.read_bytes())["challenger"]
    )


def test_short_evidence_pushes_nothing(capsys: pytest.CaptureFixture[str], s3: Any, tmp_path: Path) -> None:
    # Given traffic where the challenger is no better
    push_example(capsys)
    first = versions(s3)
    outcomes = logged(tmp_path, 0.7)
    # When promote runs against the bucket, Then it refuses and the bucket keeps its one version
    code, _, err = run_cli(
        capsys, "policy", "promote", "general", "--outcomes", str(outcomes), "--bucket", BUCKET
    )
    assert code == EXIT_REJECTED
    assert "quality gain too small" in err
    assert versions(s3) == first


def test_no_policy_anywhere_is_a_usage_error(
    capsys: pytest.CaptureFixture[str], s3: Any, tmp_path: Path
) -> None:
    # Given neither --policy nor a bucket, When promote runs, Then it says where a policy can come from
    outcomes = write_lines(tmp_path / "empty.jsonl", [])
    code, _, err = run_cli(capsys, "policy", "promote", "general", "--outcomes", str(outcomes))
    assert code == EXIT_USAGE
    assert "no policy: pass --policy FILE, --local, or --bucket" in err


def test_a_promotion_starts_from_the_active_version_not_a_rejected_newer_upload(
    capsys: pytest.CaptureFixture[str], s3: Any, tmp_path: Path
) -> None:
    # Given the example policy active, then a newer upload that the activator rejects
    push_example(capsys)
    broken = activate(s3, BUCKET, b"version: 1\ntenants: not-a-list\n")
    assert broken.outcome == "rejected"
    # When general is promoted from the bucket
    code, out, err = run_cli(
        capsys, "policy", "promote", "general", "--outcomes", str(logged(tmp_path, 0.9)), "--bucket", BUCKET
    )
    # Then the promotion is of the active policy (the broken upload is not what got promoted), and it
    # became active
    assert code == EXIT_OK, err
    assert "activated: " in out
    body = s3.get_object(Bucket=BUCKET, Key=KEY)["Body"].read()
    before = variants_of(EXAMPLE_POLICY.read_bytes())
    assert variants_of(body) == {"champion": before["challenger"], "challenger": before["champion"]}
