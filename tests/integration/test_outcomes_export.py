"""``modelrouter outcomes export`` on records the router wrote to moto (issue 13, item 3): the table, a
DynamoDB export of it in a local directory and in S3 give the same lines; filters; the summary."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest
import yaml
from moto import mock_aws

from modelrouter.accounting import BudgetStore
from modelrouter.accounting.records import to_dynamo_item as to_item
from modelrouter.errors import ModelRouterError
from modelrouter.execution.breaker import CircuitBreakers
from modelrouter.execution.executor import Executor
from modelrouter.local.local_env import LOCAL_ENV_OVERRIDE, write_local_env
from modelrouter.policy import ProviderKind
from modelrouter.provenance_table import ProvenanceTable
from modelrouter.providers.errors import ProviderServerError
from modelrouter.providers.types import ProviderCall, ProviderResult
from modelrouter.service import RouterService
from modelrouter.training.outcomes import read_outcomes
from tests.aws import create_tables
from tests.fakes import FakeClock, ScriptedProvider, answer
from tests.helpers import build_policy, fake_aws_environment, minimal_policy, run_cli, three_models
from tests.integration import test_keys_cli
from tests.service_fakes import Recorder, StaticPolicies
from tests.unit.test_outcomes_export import provenance, write_export

aws_env = test_keys_cli.aws_env
local_stack = test_keys_cli.local_stack
"""A running local stack's moto server and local.env (the keys CLI tests' fixtures)."""
BUCKET = "exports"
DAY_ONE = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)
TRAFFIC = [
    # request id, day (1-3), tenant, what happens
    ("d1-faq", 1, "t1", "faq"),
    ("d1-other", 1, "t2", "general"),
    ("d2-faq", 2, "t1", "faq"),
    ("d2-rated", 2, "t1", "general"),
    ("d2-refused", 2, "t1", "refused"),
    ("d3-faq", 3, "t1", "faq"),
    ("d3-fail", 3, "t1", "fail"),
]
"""The traffic served, in order: passed answers (t2 keeps no prompts), one rated down afterwards, a
refusal, and a fallback (m1 fails) last, so no breaker changes the others' chosen model."""


def policy_document() -> dict[str, Any]:
    """Two tenants (t1 stores prompts, t2 does not), a ``faq`` route for tagged requests, a general one."""
    document = minimal_policy()
    document["models"] = three_models()
    tenant = {"budget": {"daily_usd": 10}, "max_classification": "confidential"}
    document["tenants"] = [{"id": "t1", "store_prompts": True, **tenant}, {"id": "t2", **tenant}]
    document["routes"] = [
        {"name": "faq", "when": {"tags": ["faq"]}, "models": ["m1", "m2"]},
        {"name": "general", "models": ["m1", "m2", "m3"]},
    ]
    return document


def m1(call: ProviderCall) -> ProviderResult:
    """m1 answers, except prompts that ask it to fail."""
    if "fail" in call.request.messages[-1].text():
        raise ProviderServerError("m1 is down")
    return answer()


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Any, Any, dict[str, str]]]:
    fake_aws_environment(monkeypatch)
    monkeypatch.delenv("POLICY_BUCKET", raising=False)
    monkeypatch.delenv("PROVENANCE_TABLE", raising=False)
    with mock_aws():
        dynamodb = boto3.client("dynamodb", region_name="us-east-1")
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket=BUCKET)
        yield dynamodb, s3, create_tables(dynamodb)


def serve(dynamodb: Any, tables: dict[str, str]) -> None:
    """Serve :data:`TRAFFIC` through the router on moto, then rate ``d2-rated`` down."""
    clock, moments = (
        FakeClock(),
        iter(DAY_ONE + timedelta(days=day - 1, minutes=n) for n, (_, day, _, _) in enumerate(TRAFFIC)),
    )
    routing = build_policy(policy_document())
    provider = ScriptedProvider(ProviderKind.BEDROCK, clock, {"m1": [m1], "m2": [answer()], "m3": [answer()]})
    breakers = CircuitBreakers(routing.execution.cooldown, clock)
    service = RouterService(
        StaticPolicies(routing), BudgetStore(tables["BudgetTable"], dynamodb),
        lambda active: Executor({ProviderKind.BEDROCK: provider}, active, clock=clock, breakers=breakers),
        tables["ProvenanceTable"], Recorder(), health=breakers,
        provenance=ProvenanceTable(tables["ProvenanceTable"], dynamodb), clock=clock,
        wall_clock=lambda: next(moments),
    )  # fmt: skip
    for request_id, _, tenant, kind in TRAFFIC:
        chat = {"model": "nowhere" if kind == "refused" else "auto",
                "messages": [{"role": "user", "content": f"question {request_id} {kind}"}]}  # fmt: skip
        if kind == "faq":
            chat["metadata"] = {"tags": "faq", "channel": "web"}
        try:
            service.chat(tenant, json.dumps(chat).encode(), request_id)
        except ModelRouterError:
            assert kind == "refused"
    rate_down(dynamodb, tables["ProvenanceTable"], "d2-rated")


def rate_down(dynamodb: Any, table: str, request_id: str) -> None:
    """Store a thumbs-down as ``POST /v1/feedback`` does: on the record, with its reward."""
    [item] = [i for i in dynamodb.scan(TableName=table)["Items"] if i["request_id"]["S"] == request_id]
    dynamodb.update_item(
        TableName=table,
        Key={"tenant_id": item["tenant_id"], "sort_key": item["sort_key"]},
        UpdateExpression="SET feedback = :feedback, reward.#value = :zero, reward.#source = :source",
        ExpressionAttributeNames={"#value": "value", "#source": "source"},
        ExpressionAttributeValues={
            ":feedback": {"M": {"thumbs": {"S": "down"}, "score": {"NULL": True}, "revision": {"N": "1"}}},
            ":zero": {"N": "0"},
            ":source": {"S": "feedback"},
        },
    )


def export_table(dynamodb: Any, s3: Any, table: str, root: Path) -> Path:
    """The table as ExportTableToPointInTime writes it: into ``root`` and into the bucket (same keys)."""
    directory = write_export(root, dynamodb.scan(TableName=table)["Items"], files=3)
    for path in root.rglob("*"):
        if path.is_file():
            s3.put_object(Bucket=BUCKET, Key=str(path.relative_to(root)), Body=path.read_bytes())
    return directory


def export(capsys: pytest.CaptureFixture[str], out: Path, *options: str) -> tuple[list[dict[str, Any]], str]:
    """Run ``outcomes export``; its lines (sorted by request id) and what it printed."""
    code, printed, errors = run_cli(capsys, "outcomes", "export", "--out", str(out), *options)
    assert code == 0, errors
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    return sorted(lines, key=lambda line: line["request_id"]), printed


def test_the_table_and_its_export_give_the_same_outcome_lines(
    aws: tuple[Any, Any, dict[str, str]], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    dynamodb, s3, tables = aws
    table = tables["ProvenanceTable"]
    # Given the router's records of the traffic, one rated, and a DynamoDB export of them
    serve(dynamodb, tables)
    directory = export_table(dynamodb, s3, table, tmp_path / "export")
    policy_file = tmp_path / "policy.yaml"
    policy_file.write_text(yaml.safe_dump(policy_document()))
    # When the outcomes are exported from the table (per tenant of the policy, and by a scan), from the
    # export's directory, and from the bucket
    by_tenant, printed = export(capsys, tmp_path / "a.jsonl", "--table", table, "--policy", str(policy_file))
    scanned, _ = export(capsys, tmp_path / "b.jsonl", "--table", table)
    from_files, read = export(capsys, tmp_path / "c.jsonl", "--export", str(directory))
    from_bucket, _ = export(capsys, tmp_path / "d.jsonl", "--export", f"s3://{BUCKET}/exports")
    # Then every way gives the same lines
    assert by_tenant == scanned == from_files == from_bucket
    # which are the answers with a reward and a stored prompt, rated or implicit
    assert [(line["request_id"], line["quality"], line["quality_source"]) for line in by_tenant] == [
        ("d1-faq", 1.0, "implicit"),
        ("d2-faq", 1.0, "implicit"),
        ("d2-rated", 0.0, "feedback"),
        ("d3-faq", 1.0, "implicit"),
    ]
    assert {line["route"] for line in by_tenant if "faq" in line["request_id"]} == {"faq"}
    assert by_tenant[0]["tags"] == ["faq"]
    assert by_tenant[0]["metadata"] == {"tags": "faq", "channel": "web"}
    assert {(line["model"], line["propensity"], line["tenant"]) for line in by_tenant} == {("m1", 1.0, "t1")}
    # and the summary says what was left and why
    assert "wrote 4 outcome lines" in printed
    assert "(quality from feedback 1, implicit 3)" in printed
    for reason in ("no reward (fallback)  1", "no reward (refused)   1", "prompt not stored     1"):
        assert reason in printed
    assert "tenants without store_prompts (their text is not kept, so not exported): t2" in printed
    assert "read 7 records from 3 data files" in read
    # and the file is one the learn commands read
    assert len(read_outcomes([tmp_path / "a.jsonl"])) == 4


@pytest.mark.parametrize("source", ["table", "export"])
def test_filters_pick_the_same_records_from_the_table_and_the_export(
    aws: tuple[Any, Any, dict[str, str]], capsys: pytest.CaptureFixture[str], tmp_path: Path, source: str
) -> None:
    dynamodb, s3, tables = aws
    # Given the served traffic
    serve(dynamodb, tables)
    where = ["--table", tables["ProvenanceTable"]]
    if source == "export":
        where = ["--export", str(export_table(dynamodb, s3, tables["ProvenanceTable"], tmp_path / "export"))]
    day_two, day_three = (DAY_ONE + timedelta(days=n) for n in (1, 2))
    # When t1's faq outcomes of the second day are exported
    lines, printed = export(
        capsys, tmp_path / "out.jsonl", *where, "--tenant", "t1", "--route", "faq",
        "--since", day_two.date().isoformat(), "--until", day_three.date().isoformat(),
    )  # fmt: skip
    # Then exactly that request is written
    assert [line["request_id"] for line in lines] == ["d2-faq"]
    assert "wrote 1 outcome lines" in printed


def test_usage_errors_say_what_is_missing(
    aws: tuple[Any, Any, dict[str, str]], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    # Given no table anywhere, a time range the wrong way round, and a place holding no export
    out = str(tmp_path / "out.jsonl")
    # When each is asked for, Then each is refused with a reason, and nothing is written
    assert run_cli(capsys, "outcomes", "export", "--out", out)[::2] == (
        2, "error: no provenance table: pass --table or --export, set PROVENANCE_TABLE or use --local\n"
    )  # fmt: skip
    backwards = run_cli(capsys, "outcomes", "export", "--out", out, "--table", "t", "--since", "2025-02-01",
                        "--until", "2025-01-01")  # fmt: skip
    assert backwards[::2] == (2, "error: --since must be before --until\n")
    nothing = run_cli(capsys, "outcomes", "export", "--out", out, "--export", str(tmp_path))
    assert nothing[0] == 1
    assert "no DynamoDB export at" in nothing[2]
    assert not (tmp_path / "out.jsonl").exists()


def test_local_reads_the_running_stacks_table_and_policy(
    local_stack: dict[str, str],
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given a running local stack (its local.env) whose provenance table holds one answer of a tenant of
    # its active policy, and one of a tenant the policy no longer has
    session = boto3.session.Session(
        aws_access_key_id="local", aws_secret_access_key="local", region_name="eu-west-1"
    )
    dynamodb = session.client("dynamodb", endpoint_url=local_stack["AWS_ENDPOINT_URL"])
    [table] = [name for name in dynamodb.list_tables()["TableNames"] if name.endswith("ProvenanceTable")]
    for tenant in ("acme-support", "gone"):
        item = to_item({**provenance(f"{tenant}-1"), "tenant_id": tenant})
        dynamodb.put_item(TableName=table, Item=item)
    values = {**local_stack, "PROVENANCE_TABLE": table}
    monkeypatch.setenv(LOCAL_ENV_OVERRIDE, str(write_local_env(values, tmp_path / "local.env")))
    # When the outcomes are exported with --local alone
    lines, printed = export(capsys, tmp_path / "out.jsonl", "--local")
    # Then the stack's table was read for the tenants of the stack's policy
    assert [line["request_id"] for line in lines] == ["acme-support-1"]
    assert "wrote 1 outcome lines" in printed
