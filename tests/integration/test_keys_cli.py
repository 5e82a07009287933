"""``modelrouter keys`` and ``modelrouter policy push`` against moto (DynamoDB and S3); policies become
active through the activator's core, as the deployed S3 event would run it."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
import yaml
from moto import mock_aws

from modelrouter.activation.layout import DEFAULT_UPLOAD_KEY, POINTER_KEY, ActivePointer
from modelrouter.cli.main import EXIT_OK, EXIT_REJECTED, EXIT_USAGE
from modelrouter.keys import KeyStore
from modelrouter.local.local_env import LOCAL_ENV_OVERRIDE, NOT_RUNNING, write_local_env
from modelrouter.policy import load_policy_file
from tests.activation_helpers import activate, activating, upload_shipped_artifacts
from tests.aws import create_tables, serial_moto_server
from tests.helpers import EXAMPLE_POLICY, fake_aws_environment, minimal_policy, run_cli

TOKEN = re.compile(r"^token:\s+(mr_\S{56})$", re.MULTILINE)
KEY_ID = re.compile(r"^key id:\s+([a-z2-7]{12})$", re.MULTILINE)
BUCKET = "policy-bucket"


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    return run_cli(capsys, *argv)


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fake credentials and region; no table, bucket or endpoint from the caller's environment."""
    fake_aws_environment(monkeypatch)
    for name in ("API_KEY_TABLE", "POLICY_BUCKET", "POLICY_KEY"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def table(aws_env: None) -> Iterator[str]:
    """The template's key table in moto."""
    with mock_aws():
        yield create_tables(boto3.client("dynamodb", region_name="us-east-1"))["ApiKeyTable"]


@pytest.fixture
def s3(aws_env: None) -> Iterator[object]:
    """A versioned policy bucket in moto, and its client."""
    with mock_aws():
        client = boto3.client("s3", region_name="us-east-1")
        client.create_bucket(Bucket=BUCKET)
        client.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
        yield client


def test_create_list_revoke(capsys: pytest.CaptureFixture[str], table: str) -> None:
    # When a key is created for tenant acme
    code, out, err = run(
        capsys, "keys", "create", "--tenant", "acme", "--description", "ci", "--table", table
    )
    # Then its key id and token are printed once, with a warning to keep the token
    assert code == EXIT_OK
    token_match, key_match = TOKEN.search(out), KEY_ID.search(out)
    assert token_match
    assert key_match
    token, key_id = token_match.group(1), key_match.group(1)
    assert "only this once" in err
    # And the token authenticates the tenant
    store = KeyStore(table)
    assert store.authenticate(token) == "acme"

    # When keys are listed (whole table, then by tenant through the environment's table)
    run(capsys, "keys", "create", "--tenant", "globex", "--table", table)
    code, out, _ = run(capsys, "keys", "list", "--table", table)
    # Then both appear, without salt, hash or secret
    assert code == EXIT_OK
    assert key_id in out
    assert "acme" in out
    assert "globex" in out
    assert token.split("_", 2)[2] not in out
    record = store.lookup(key_id)
    assert record is not None
    assert record.salt not in out
    assert record.secret_hash not in out
    assert "salt" not in out
    assert "hash" not in out

    # When the key is revoked
    code, out, _ = run(capsys, "keys", "revoke", key_id, "--table", table)
    # Then it no longer authenticates, and the listing shows it revoked
    assert code == EXIT_OK
    assert f"revoked {key_id}" in out
    assert store.authenticate(token) is None
    _, out, _ = run(capsys, "keys", "list", "--table", table, "--tenant", "acme")
    [row] = [line for line in out.splitlines() if key_id in line]
    assert "revoked" in row
    assert "globex" not in out


def test_table_from_environment(
    capsys: pytest.CaptureFixture[str], table: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given API_KEY_TABLE and no --table
    monkeypatch.setenv("API_KEY_TABLE", table)
    # When listing an empty table, Then it says so
    code, out, _ = run(capsys, "keys", "list")
    assert (code, out.strip()) == (EXIT_OK, "no keys")


def test_revoke_unknown_key(capsys: pytest.CaptureFixture[str], table: str) -> None:
    # When an unknown key is revoked, Then one line on stderr and exit 1
    code, _, err = run(capsys, "keys", "revoke", "abcdefgh2345", "--table", table)
    assert code == EXIT_REJECTED
    assert err.strip() == f"error: no key 'abcdefgh2345' in table '{table}'"


def test_missing_table_name_is_a_usage_error(capsys: pytest.CaptureFixture[str], aws_env: None) -> None:
    # Given neither --table nor API_KEY_TABLE, Then every action is a one-line usage error
    for argv in (["create", "--tenant", "acme"], ["revoke", "abcdefgh2345"], ["list"]):
        code, _, err = run(capsys, "keys", *argv)
        assert code == EXIT_USAGE
        assert err.strip() == "error: no key table: pass --table, set API_KEY_TABLE or use --local"


def test_store_errors_are_one_line(capsys: pytest.CaptureFixture[str], table: str) -> None:
    # Given a table that does not exist, When listing, Then one line and exit 1
    code, _, err = run(capsys, "keys", "list", "--table", "no-such-table")
    assert code == EXIT_REJECTED
    assert err.strip() == "error: key_store_unavailable: key table 'no-such-table' does not exist"


def test_invalid_tenant_is_refused(capsys: pytest.CaptureFixture[str], table: str) -> None:
    code, _, err = run(capsys, "keys", "create", "--tenant", " acme", "--table", table)
    assert code == EXIT_REJECTED
    assert err.startswith("error: invalid_key_field: ")
    assert len(err.strip().splitlines()) == 1


def test_endpoint_url_is_used(capsys: pytest.CaptureFixture[str], aws_env: None) -> None:
    # Given a moto server standing in for DynamoDB Local
    with serial_moto_server() as endpoint:
        client = boto3.client("dynamodb", region_name="us-east-1", endpoint_url=endpoint)
        table = create_tables(client)["ApiKeyTable"]
        # When a key is created through --endpoint-url, Then it lands in that server's table
        code, _, _ = run(
            capsys, "keys", "create", "--tenant", "acme", "--table", table, "--endpoint-url", endpoint
        )
        assert code == EXIT_OK
        assert client.scan(TableName=table)["Count"] == 1


def active_pointer(client: object) -> ActivePointer:
    return ActivePointer.parse(client.get_object(Bucket=BUCKET, Key=POINTER_KEY)["Body"].read())  # type: ignore[attr-defined]


def test_push_uploads_a_valid_policy(capsys: pytest.CaptureFixture[str], s3: object) -> None:
    client = boto3.client("s3", region_name="us-east-1")
    # When the example policy is pushed, with the activator running on uploads
    with activating(client, BUCKET):
        code, out, _ = run(
            capsys, "policy", "push", str(EXAMPLE_POLICY), "--bucket", BUCKET, "--upload-routers"
        )
    # Then it is uploaded byte for byte, its version id printed, and that version activated
    assert code == EXIT_OK
    head = client.head_object(Bucket=BUCKET, Key=DEFAULT_UPLOAD_KEY)
    assert f"version: {head['VersionId']}" in out
    assert "activated: " in out
    assert head["Metadata"]["policy-digest"].startswith("sha256:")
    body = client.get_object(Bucket=BUCKET, Key=DEFAULT_UPLOAD_KEY)["Body"].read()
    assert body == EXAMPLE_POLICY.read_bytes()
    assert active_pointer(client).version_id == head["VersionId"]

    # When pushed to another key under incoming/ with --key, Then that object's version is active
    with activating(client, BUCKET):
        code, out2, _ = run(
            capsys, "policy", "push", str(EXAMPLE_POLICY), "--bucket", BUCKET, "--key", "incoming/p.yaml"
        )
    assert code == EXIT_OK
    version = client.head_object(Bucket=BUCKET, Key="incoming/p.yaml")["VersionId"]
    assert version in out2
    assert (active_pointer(client).key, active_pointer(client).version_id) == ("incoming/p.yaml", version)


def test_push_refuses_a_key_outside_incoming(capsys: pytest.CaptureFixture[str], s3: object) -> None:
    # When pushed to a key the activator never looks at, Then it is a usage error and nothing is uploaded
    code, _, err = run(capsys, "policy", "push", str(EXAMPLE_POLICY), "--bucket", BUCKET, "--key", "p.yaml")
    assert code == EXIT_USAGE
    assert "error: --key: 'p.yaml' is not an object under incoming/" in err
    assert "Versions" not in boto3.client("s3", region_name="us-east-1").list_object_versions(Bucket=BUCKET)


def test_push_uses_environment(
    capsys: pytest.CaptureFixture[str], s3: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given POLICY_BUCKET and POLICY_KEY, When pushing without options, Then they are used
    monkeypatch.setenv("POLICY_BUCKET", BUCKET)
    monkeypatch.setenv("POLICY_KEY", "incoming/custom.yaml")
    code, out, _ = run(capsys, "policy", "push", str(EXAMPLE_POLICY), "--upload-routers", "--no-wait")
    assert code == EXIT_OK
    version = boto3.client("s3", region_name="us-east-1").head_object(
        Bucket=BUCKET, Key="incoming/custom.yaml"
    )
    assert version["VersionId"] in out


def test_push_refuses_an_invalid_policy(
    capsys: pytest.CaptureFixture[str], s3: object, tmp_path: Path
) -> None:
    # Given a policy with a broken model reference
    broken = tmp_path / "broken.yaml"
    broken.write_text(
        EXAMPLE_POLICY.read_text().replace(
            "models: [nova-lite, gpt-4o-mini,", "models: [nova-lyte, gpt-4o-mini,"
        )
    )
    # When pushed, Then it is refused with its problems, like `policy validate`, and nothing is uploaded
    code, out, err = run(capsys, "policy", "push", str(broken), "--bucket", BUCKET)
    assert code == EXIT_REJECTED
    assert out == ""
    assert err.startswith(f"{broken}: invalid\n")
    assert "unknown model 'nova-lyte'" in err
    listing = boto3.client("s3", region_name="us-east-1").list_object_versions(Bucket=BUCKET)
    assert "Versions" not in listing


def test_push_missing_file_is_one_line(
    capsys: pytest.CaptureFixture[str], s3: object, tmp_path: Path
) -> None:
    code, _, err = run(capsys, "policy", "push", str(tmp_path / "nope.yaml"), "--bucket", BUCKET)
    assert code == EXIT_REJECTED
    assert len(err.strip().splitlines()) == 1
    assert "cannot read policy file" in err


def test_push_aws_error_is_one_line(capsys: pytest.CaptureFixture[str], s3: object, tmp_path: Path) -> None:
    # Given a bucket that does not exist, When pushing a policy without artifacts, Then one line naming
    # the AWS error, exit 1
    policy = tmp_path / "policy.yaml"
    policy.write_text(yaml.safe_dump(minimal_policy()))
    code, _, err = run(capsys, "policy", "push", str(policy), "--bucket", "no-such-bucket")
    assert code == EXIT_REJECTED
    assert err.strip().startswith(
        f"error: cannot upload to s3://no-such-bucket/{DEFAULT_UPLOAD_KEY}: NoSuchBucket"
    )
    assert len(err.strip().splitlines()) == 1


def test_push_without_bucket_is_a_usage_error(capsys: pytest.CaptureFixture[str], aws_env: None) -> None:
    code, _, err = run(capsys, "policy", "push", str(EXAMPLE_POLICY))
    assert code == EXIT_USAGE
    assert err.strip() == "error: no policy bucket: pass --bucket, set POLICY_BUCKET or use --local"


def tenants_of(policy: Path) -> list[str]:
    return [tenant.id for tenant in load_policy_file(policy).policy.tenants]


@pytest.mark.parametrize(
    ("tenant", "suggestion"), [("nosuch", ""), ("acme-suport", " (did you mean 'acme-support'?)")]
)
def test_create_refuses_a_tenant_the_policy_lacks(
    capsys: pytest.CaptureFixture[str], table: str, tenant: str, suggestion: str
) -> None:
    # When a key is created for a tenant the policy file does not have
    argv = ["keys", "create", "--tenant", tenant, "--table", table, "--policy", str(EXAMPLE_POLICY)]
    code, out, err = run(capsys, *argv)
    # Then it is refused in one line naming the closest tenant and all of them, and nothing is written
    tenants = ", ".join(tenants_of(EXAMPLE_POLICY))
    assert code == EXIT_REJECTED
    assert out == ""
    assert err.strip() == (
        f"error: unknown tenant '{tenant}'{suggestion}; tenants: {tenants} (policy {EXAMPLE_POLICY})"
    )
    assert KeyStore(table).list() == []


def test_create_checks_the_tenant_against_the_policy_in_the_bucket(
    capsys: pytest.CaptureFixture[str], table: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given the active policy in the policy bucket (same moto account as the key table)
    client = boto3.client("s3", region_name="us-east-1")
    client.create_bucket(Bucket=BUCKET)
    client.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
    upload_shipped_artifacts(client, BUCKET)
    active = activate(client, BUCKET, EXAMPLE_POLICY.read_bytes())
    monkeypatch.setenv("POLICY_BUCKET", BUCKET)
    # When keys are created for a tenant it lacks and for one it has
    refused, _, err = run(capsys, "keys", "create", "--tenant", "nosuch", "--table", table)
    created, out, err_ok = run(capsys, "keys", "create", "--tenant", "lexdoc-eu", "--table", table)
    # Then the first is refused, naming the bucket's policy, and the second created without a warning
    assert refused == EXIT_REJECTED
    assert err.strip().endswith(f"(policy s3://{BUCKET}/{DEFAULT_UPLOAD_KEY}@{active.version_id})")
    assert created == EXIT_OK
    assert KEY_ID.search(out)
    assert "warning" not in err_ok
    assert [record.tenant_id for record in KeyStore(table).list()] == ["lexdoc-eu"]


def test_create_without_a_policy_warns_that_the_tenant_was_not_checked(
    capsys: pytest.CaptureFixture[str], table: str
) -> None:
    code, _, err = run(capsys, "keys", "create", "--tenant", "anyone", "--table", table)
    assert code == EXIT_OK
    assert "warning: tenant 'anyone' was not checked against a policy" in err


@pytest.fixture
def local_stack(aws_env: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, str]]:
    """A moto server with the template's tables and a policy bucket, described by a local.env file as
    `modelrouter serve` writes it; the caller's environment points nowhere."""
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_DEFAULT_REGION", "AWS_REGION"):
        monkeypatch.delenv(name, raising=False)
    with serial_moto_server() as endpoint:
        session = boto3.session.Session(
            aws_access_key_id="local", aws_secret_access_key="local", region_name="eu-west-1"
        )
        tables = create_tables(session.client("dynamodb", endpoint_url=endpoint))
        s3 = session.client("s3", endpoint_url=endpoint)
        s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
        s3.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
        upload_shipped_artifacts(s3, BUCKET)
        activate(s3, BUCKET, EXAMPLE_POLICY.read_bytes())
        values = {
            "AWS_ENDPOINT_URL": endpoint,
            "AWS_REGION": "eu-west-1",
            "AWS_DEFAULT_REGION": "eu-west-1",
            "AWS_ACCESS_KEY_ID": "local",
            "AWS_SECRET_ACCESS_KEY": "local",
            "POLICY_BUCKET": BUCKET,
            "POLICY_KEY": DEFAULT_UPLOAD_KEY,
            "API_KEY_TABLE": tables["ApiKeyTable"],
        }
        monkeypatch.setenv(LOCAL_ENV_OVERRIDE, str(write_local_env(values, tmp_path / "local.env")))
        yield values


def test_local_uses_the_running_stack(
    capsys: pytest.CaptureFixture[str], local_stack: dict[str, str]
) -> None:
    # Given a running local stack (its local.env) and no AWS variables at all
    # When a key is created, refused, and listed with --local
    created, out, _ = run(capsys, "keys", "create", "--tenant", "acme-support", "--local")
    refused, _, err = run(capsys, "keys", "create", "--tenant", "nosuch", "--local")
    listed, listing, _ = run(capsys, "keys", "list", "--local")
    # Then the stack's table, bucket policy, endpoint and credentials were used
    key_match = KEY_ID.search(out)
    assert (created, refused, listed) == (EXIT_OK, EXIT_REJECTED, EXIT_OK)
    assert key_match
    assert "error: unknown tenant 'nosuch'" in err
    [row] = [line for line in listing.splitlines() if key_match.group(1) in line]
    assert "acme-support" in row


def test_push_local_uploads_to_the_stacks_bucket(
    capsys: pytest.CaptureFixture[str], local_stack: dict[str, str]
) -> None:
    session = boto3.session.Session(
        aws_access_key_id="local", aws_secret_access_key="local", region_name="eu-west-1"
    )
    s3 = session.client("s3", endpoint_url=local_stack["AWS_ENDPOINT_URL"])
    # When the local policy is pushed with --local, the stack's activator running on uploads
    with activating(s3, BUCKET):
        code, out, _ = run(capsys, "policy", "push", str(EXAMPLE_POLICY), "--local", "--upload-routers")
    # Then it lands in the stack's bucket under the stack's key, as a new version, and is activated
    head = s3.head_object(Bucket=BUCKET, Key=local_stack["POLICY_KEY"])
    assert code == EXIT_OK
    assert f"version: {head['VersionId']}" in out
    assert active_pointer(s3).version_id == head["VersionId"]


def test_local_without_a_running_stack_is_one_line(
    capsys: pytest.CaptureFixture[str], aws_env: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given no local.env, When --local is used, Then one line says to start serve
    monkeypatch.setenv(LOCAL_ENV_OVERRIDE, str(tmp_path / "missing.env"))
    for argv in (["keys", "list", "--local"], ["policy", "push", str(EXAMPLE_POLICY), "--local"]):
        code, _, err = run(capsys, *argv)
        assert code == EXIT_REJECTED
        assert err.strip() == f"error: local_stack_not_running: {NOT_RUNNING}"
