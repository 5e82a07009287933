"""``modelrouter policy diff`` on versions in the policy bucket (moto): version ids of the upload key,
``active`` (the version the pointer names), and each way a bucket side can be missing or wrong."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
import yaml
from moto import mock_aws

from modelrouter.activation.layout import DEFAULT_UPLOAD_KEY, POINTER_KEY
from tests.activation_helpers import activate, upload
from tests.helpers import EXAMPLE_POLICY, fake_aws_environment, run_cli

BUCKET = "diff-policies"
EXAMPLE_TEXT = EXAMPLE_POLICY.read_text()


def _cheaper() -> str:
    """The example with nova-micro's input price halved."""
    document = yaml.safe_load(EXAMPLE_TEXT)
    next(m for m in document["models"] if m["id"] == "nova-micro")["pricing"]["input_per_mtok"] = 0.0175
    return yaml.safe_dump(document, sort_keys=False)


@pytest.fixture
def s3(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    fake_aws_environment(monkeypatch)
    monkeypatch.delenv("POLICY_BUCKET", raising=False)
    monkeypatch.delenv("POLICY_KEY", raising=False)
    with mock_aws():
        client = boto3.client("s3", region_name="us-east-1")
        client.create_bucket(Bucket=BUCKET)
        client.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
        for artifact in (EXAMPLE_POLICY.parent / "routers").glob("*.json"):
            client.put_object(Bucket=BUCKET, Key=f"routers/{artifact.name}", Body=artifact.read_bytes())
        yield client


def _diff(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    return run_cli(capsys, "policy", "diff", *argv, "--bucket", BUCKET)


def test_two_versions_of_the_upload_key(s3: Any, capsys: pytest.CaptureFixture[str]) -> None:
    # Given two uploads of incoming/policy.yaml (neither needs to be active)
    first = upload(s3, BUCKET, EXAMPLE_TEXT).version_id
    second = upload(s3, BUCKET, _cheaper()).version_id
    # When they are compared by version id
    code, out, err = _diff(capsys, first, second, "--json")
    # Then the price change is the one difference, and both sides are named by bucket, key and version
    assert (code, err) == (1, "")
    document = json.loads(out)
    assert document["a"]["source"] == f"s3://{BUCKET}/{DEFAULT_UPLOAD_KEY}@{first}"
    assert document["b"]["source"] == f"s3://{BUCKET}/{DEFAULT_UPLOAD_KEY}@{second}"
    assert document["models"]["changed"] == {
        "nova-micro": [{"path": "pricing.input_per_mtok", "old": 0.035, "new": 0.0175}]
    }


def test_active_is_the_version_the_pointer_names(
    s3: Any, capsys: pytest.CaptureFixture[str], tmp_path: Any
) -> None:
    # Given the example activated, then a cheaper version uploaded but not activated
    record = activate(s3, BUCKET, EXAMPLE_TEXT)
    assert record.outcome == "activated", record.problems
    pending = upload(s3, BUCKET, _cheaper()).version_id
    # When the active version is compared with the example file and with the pending upload
    same = _diff(capsys, "active", str(EXAMPLE_POLICY))
    changed = _diff(capsys, "active", pending)
    # Then the first is the same policy, the second shows the price change
    assert same[0] == 0
    header = f"--- A: active: s3://{BUCKET}/{DEFAULT_UPLOAD_KEY}@{record.version_id} (sha256:"
    assert same[1].splitlines()[0].startswith(header)
    assert same[1].splitlines()[-1] == "identical"
    assert changed[0] == 1
    assert "      ~ pricing.input_per_mtok: 0.035 → 0.0175" in changed[1].splitlines()


def test_another_upload_key(s3: Any, capsys: pytest.CaptureFixture[str]) -> None:
    key = "incoming/canary.yaml"
    first = upload(s3, BUCKET, EXAMPLE_TEXT, key).version_id
    code, out, _ = _diff(capsys, first, str(EXAMPLE_POLICY), "--key", key)
    assert code == 0
    assert f"s3://{BUCKET}/{key}@{first}" in out
    # the same version id is not one of the default key's
    assert _diff(capsys, first, str(EXAMPLE_POLICY))[0] == 2


def test_no_active_version_yet_is_an_error(s3: Any, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = _diff(capsys, "active", str(EXAMPLE_POLICY))
    assert (code, out) == (2, "")
    assert err == f"error: active: s3://{BUCKET}/{POINTER_KEY}: there is no active version yet\n"


def test_a_pointer_that_cannot_be_followed_is_an_error_saying_why(
    s3: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    s3.put_object(Bucket=BUCKET, Key=POINTER_KEY, Body=b'{"schema": 1, "key": "../etc/passwd"}')
    code, _, err = _diff(capsys, "active", str(EXAMPLE_POLICY))
    assert code == 2
    assert err.startswith(f"error: active: s3://{BUCKET}/{POINTER_KEY}: pointer field")


def test_a_version_that_does_not_exist_is_named(s3: Any, capsys: pytest.CaptureFixture[str]) -> None:
    upload(s3, BUCKET, EXAMPLE_TEXT)
    code, _, err = _diff(capsys, "NoSuchVersion123", str(EXAMPLE_POLICY))
    assert code == 2
    assert f"s3://{BUCKET}/{DEFAULT_UPLOAD_KEY}@NoSuchVersion123" in err


def test_an_invalid_uploaded_version_is_named_with_its_problems(
    s3: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given an upload the activator would reject (a tenant naming a route that does not exist)
    document = yaml.safe_load(EXAMPLE_TEXT)
    document["tenants"][0]["default_route"] = "no-such-route"
    broken = upload(s3, BUCKET, yaml.safe_dump(document, sort_keys=False)).version_id
    # When it is one side
    code, out, err = _diff(capsys, str(EXAMPLE_POLICY), broken)
    # Then exit 2, naming that version and its problem
    assert (code, out) == (2, "")
    assert err.startswith(f"error: s3://{BUCKET}/{DEFAULT_UPLOAD_KEY}@{broken}: not a valid policy\n")
    assert "unknown route 'no-such-route'" in err
