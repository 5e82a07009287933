"""``modelrouter usage --local`` and ``modelrouter audit --local`` against a running ``modelrouter serve``:
they find the stack through ``.modelrouter/local.env`` alone, and their figures are those of the stack's
tables, read directly."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import openai
import pytest
from boto3.dynamodb.types import TypeDeserializer

from modelrouter.cli.aws_target import AwsTarget
from modelrouter.local.console.reader import plain
from modelrouter.local.dev_keys import dev_key
from modelrouter.local.local_env import LOCAL_ENV_OVERRIDE, read_local_env
from tests.helpers import run_cli
from tests.integration.test_local_cli import _banner, _serve, _stop

TENANT = "acme-support"


@pytest.fixture(autouse=True)
def local_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Where this test's serve writes ``local.env`` (never over the file of a serve someone runs here)."""
    path = tmp_path / "local.env"
    monkeypatch.setenv(LOCAL_ENV_OVERRIDE, str(path))
    for name in (
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_ENDPOINT_URL",
        "BUDGET_TABLE",
        "PROVENANCE_TABLE",
    ):
        monkeypatch.delenv(name, raising=False)
    return path


def _tables(values: dict[str, str]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The tenant's ledger items and provenance records, read directly from the stack's tables."""
    dynamodb = AwsTarget(values["AWS_ENDPOINT_URL"], values).client("dynamodb")  # as --local builds it
    deserializer = TypeDeserializer()

    def items(**query: Any) -> list[dict[str, Any]]:
        found = dynamodb.query(**query)["Items"]
        return [{name: deserializer.deserialize(value) for name, value in item.items()} for item in found]

    ledger = items(
        TableName=values["BUDGET_TABLE"],
        KeyConditionExpression="pk = :pk AND begins_with(sk, :ledger)",
        ExpressionAttributeValues={":pk": {"S": f"tenant#{TENANT}"}, ":ledger": {"S": "ledger#"}},
    )
    records = items(
        TableName=values["PROVENANCE_TABLE"],
        KeyConditionExpression="tenant_id = :tenant",
        ExpressionAttributeValues={":tenant": {"S": TENANT}},
    )
    return ledger, records


def test_usage_and_audit_read_the_running_local_stack(
    local_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a running serve with dev keys that answered one request and refused another
    process = _serve("--port", "0", "--models-port", "0", "--containers", "1", "--dev-keys")
    try:
        _banner(process)
        values = read_local_env(local_env)
        client = openai.OpenAI(
            base_url=values["OPENAI_BASE_URL"], api_key=dev_key(TENANT).token, max_retries=0
        )
        messages: list[Any] = [{"role": "user", "content": "How do I reset my password?"}]
        answered = client.chat.completions.create(model="auto", messages=messages)
        with pytest.raises(openai.APIStatusError):
            client.chat.completions.create(model="no-such-model", messages=messages)
        assert answered.model_extra is not None
        request_id = answered.model_extra["router"]["request_id"]
        ledger, records = _tables(values)
        # When an operator runs usage and audit with --local alone
        usage = run_cli(capsys, "usage", "--local", "--tenant", TENANT, "--json")
        one = run_cli(capsys, "audit", "--local", "--request-id", request_id, "--json")
        listing = run_cli(capsys, "audit", "--local", "--tenant", TENANT, "--since", "1h", "--json")
        _stop(process)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    # Then each read the stack's tables: usage's spend and requests are the ledger's, its records the table's
    assert (usage[0], one[0], listing[0]) == (0, 0, 0)
    [report] = json.loads(usage[1])
    breakdown = report["breakdown"]
    spent = sum((item["actual_usd"] for item in ledger), Decimal(0))
    assert (Decimal(str(breakdown["spent_usd"])), breakdown["requests"]) == (spent, len(ledger))
    assert (breakdown["records"], breakdown["refused"]) == (len(records), 1)
    # And the audited request is its record, and the listing holds every record
    [stored] = [record for record in records if record["request_id"] == request_id]
    assert json.loads(one[1])["records"] == [plain(stored)]
    assert {row["request_id"] for row in json.loads(listing[1])["records"]} == {
        r["request_id"] for r in records
    }
