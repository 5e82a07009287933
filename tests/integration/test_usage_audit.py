"""``modelrouter usage``, ``GET /v1/usage?breakdown=true`` and ``modelrouter audit`` (issue 14, items 5 and
6) on what the real router wrote to moto: their figures equal the ledger items and provenance records read
directly from the tables (answers, a refusal, an error, a fallback, feedback good and bad)."""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from boto3.dynamodb.types import TypeDeserializer

from modelrouter.local.console.reader import plain
from modelrouter.policy import ProviderKind
from modelrouter.providers.errors import ProviderServerError
from tests.helpers import EXAMPLE_POLICY, rest_event, run_cli
from tests.integration.rig import RouterRig, router_environment, running_router

TENANT = "devtools"
"""The example policy's tenant that may pin models and routes, so each request goes where it should."""
TRAFFIC: list[tuple[str, str, int, dict[str, Any] | None]] = [
    # request id, model asked for, status, feedback
    ("r-gpt", "gpt-4o", 200, {"thumbs": "up"}),
    ("r-o3-bad", "o3-mini", 200, {"thumbs": "down"}),
    ("r-o3-good", "o3-mini", 200, {"score": 0.9}),
    ("r-fallback", "coding-large-change", 200, None),  # claude-sonnet-4 fails, gpt-4o answers
    ("r-error", "claude-haiku", 502, None),  # the only candidate fails
    ("r-refused", "nova-lite", 403, None),  # not a model devtools may pin
]
"""The requests sent, in order."""
RATED_DOWN = {"r-o3-bad"}


@pytest.fixture
def rig(monkeypatch: pytest.MonkeyPatch) -> Iterator[RouterRig]:
    """The router on moto with :data:`TRAFFIC` served and rated."""
    router_environment(monkeypatch)
    with running_router() as running:
        down = ProviderServerError("overloaded upstream")
        running.providers[ProviderKind.ANTHROPIC].failing.update(
            {"claude-sonnet-4": down, "claude-haiku": down}
        )
        for request_id, model, status, feedback in TRAFFIC:
            body = {
                "model": model,
                "messages": [{"role": "user", "content": f"Refactor module {request_id}"}],
            }
            event = rest_event("POST", "/v1/chat/completions", json.dumps(body), tenant_id=TENANT)
            event["requestContext"]["requestId"] = request_id
            answered, answer, _ = running.call(event)
            assert answered == status, answer
            if feedback is not None:
                rating = rest_event(
                    "POST",
                    "/v1/feedback",
                    json.dumps({"request_id": request_id, **feedback}),
                    tenant_id=TENANT,
                )
                assert running.call(rating)[0] == 200
        yield running


def ledger_items(rig: RouterRig, tenant: str = TENANT) -> list[dict[str, Any]]:
    """The tenant's ledger items, read directly."""
    deserializer = TypeDeserializer()
    items = rig.dynamodb.query(
        TableName=rig.tables["BudgetTable"],
        KeyConditionExpression="pk = :pk AND begins_with(sk, :ledger)",
        ExpressionAttributeValues={":pk": {"S": f"tenant#{tenant}"}, ":ledger": {"S": "ledger#"}},
    )["Items"]
    return [{name: deserializer.deserialize(value) for name, value in item.items()} for item in items]


def cli(capsys: pytest.CaptureFixture[str], rig: RouterRig, command: str, *argv: str) -> tuple[int, str, str]:
    """``modelrouter <command>`` on the rig's tables (and the example policy for usage)."""
    tables = ["--table", rig.tables["ProvenanceTable"]]
    if command == "usage":
        tables = [
            "--table",
            rig.tables["BudgetTable"],
            "--provenance-table",
            rig.tables["ProvenanceTable"],
            "--policy",
            str(EXAMPLE_POLICY),
        ]
    return run_cli(capsys, command, *argv, *tables)


def test_usage_figures_equal_the_ledger_and_the_provenance_records(
    rig: RouterRig, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given the traffic's ledger items and provenance records, read directly from the tables
    ledger, records = ledger_items(rig), rig.provenance_items(TENANT)
    month = {item["sk"].split("#")[1] for item in ledger}.pop()
    # When an operator asks for the tenant's usage of that month as JSON
    code, out, _ = cli(capsys, rig, "usage", "--tenant", TENANT, "--month", month, "--json")
    [report] = json.loads(out)
    breakdown = report["breakdown"]
    # Then the month's spend and requests are the ledger's (nothing is held any more)
    assert code == 0
    spent = sum((item["actual_usd"] for item in ledger), Decimal(0))
    assert spent > 0
    assert (Decimal(str(breakdown["spent_usd"])), breakdown["held_usd"]) == (spent, 0)
    assert (breakdown["requests"], breakdown["ledger_gap_usd"]) == (len(ledger), 0)
    # And each day's spend and requests are those of the ledger items counted in that day
    by_day: defaultdict[str, list[Decimal]] = defaultdict(list)
    for item in ledger:
        by_day[f"{month}-{item['day'][4:6]}"].append(item["actual_usd"])
    assert {
        day["period"]: (Decimal(str(day["spent_usd"])), day["requests"]) for day in breakdown["days"]
    } == {day: (sum(amounts, Decimal(0)), len(amounts)) for day, amounts in by_day.items()}
    # And each route's and model's spend and requests are the ledger's
    for kind in ("route", "model"):
        expected: defaultdict[str | None, tuple[Decimal, int]] = defaultdict(lambda: (Decimal(0), 0))
        for item in ledger:
            spent_so_far, requests = expected[item.get(kind)]
            expected[item.get(kind)] = (spent_so_far + item["actual_usd"], requests + 1)
        shown = {
            group[kind]: (Decimal(str(group["spent_usd"])), group["requests"])
            for group in breakdown[f"{kind}s"]
        }
        assert shown == dict(expected)
    # And successful outcomes are the records that succeeded and were not rated down, by route and model
    good = [r for r in records if r["outcome"] == "success" and r["request_id"] not in RATED_DOWN]
    assert {r["request_id"] for r in good} == {"r-gpt", "r-o3-good", "r-fallback"}
    assert breakdown["successful_outcomes"] == len(good)
    assert (breakdown["records"], breakdown["refused"]) == (len(TRAFFIC), 1)
    for kind in ("route", "model"):
        counted = {group[kind]: group["successful_outcomes"] for group in breakdown[f"{kind}s"]}
        assert {name: count for name, count in counted.items() if count} == Counter(r[kind] for r in good)
    # And cost per successful outcome is the month's spend over them
    assert breakdown["cost_per_successful_outcome_usd"] == pytest.approx(float(spent) / len(good), rel=1e-9)


def test_get_usage_keeps_its_fields_and_gives_the_same_breakdown_when_asked(
    rig: RouterRig, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given the traffic, and the CLI's breakdown of the tenant's month
    _, out, _ = cli(capsys, rig, "usage", "--tenant", TENANT, "--json")
    [expected] = json.loads(out)
    # When the tenant asks GET /v1/usage plainly, then with ?breakdown=true
    plain_status, plain_body, _ = rig.call(rest_event("GET", "/v1/usage", tenant_id=TENANT))
    event = rest_event("GET", "/v1/usage", tenant_id=TENANT)
    event["queryStringParameters"] = {"breakdown": "true"}
    status, body, _ = rig.call(event)
    # Then the plain answer has exactly its fields of before, the breakdown the CLI's month
    assert (plain_status, status) == (200, 200)
    assert set(plain_body) == {"object", "tenant_id", "as_of", "currency", "periods", "open_holds"}
    assert set(body) == set(plain_body) | {"breakdown"}
    assert body["periods"] == plain_body["periods"] == expected["periods"]
    assert body["breakdown"] == expected["breakdown"]


@pytest.mark.parametrize(
    ("parameters", "field"),
    [
        ({"breakdown": "yes"}, "breakdown"),
        ({"month": "2025-13"}, "month"),
        ({"month": "x" * 10_000}, "month"),
        ({"month": "2025-01", "breakdown": "false"}, "breakdown"),
    ],
)
def test_get_usage_refuses_a_malformed_parameter_naming_it(
    rig: RouterRig, parameters: dict[str, str], field: str
) -> None:
    # Given a GET /v1/usage with a malformed query parameter
    event = rest_event("GET", "/v1/usage", tenant_id=TENANT)
    event["queryStringParameters"] = parameters
    # When it is answered
    status, body, _ = rig.call(event)
    # Then it is a 400 naming the parameter, with a short message
    assert status == 400
    assert body["error"]["param"] == field
    assert len(body["error"]["message"]) < 200


def test_audit_of_one_request_is_its_whole_record(rig: RouterRig, capsys: pytest.CaptureFixture[str]) -> None:
    # Given the fallback's record, read directly
    [stored] = [r for r in rig.provenance_items(TENANT) if r["request_id"] == "r-fallback"]
    # When it is audited as JSON, and as text
    code, out, _ = cli(capsys, rig, "audit", "--request-id", "r-fallback", "--json")
    text_code, text, _ = cli(capsys, rig, "audit", "--request-id", "r-fallback")
    # Then the JSON is the whole record
    assert (code, text_code) == (0, 0)
    assert json.loads(out) == {"request_id": "r-fallback", "records": [plain(stored)]}
    # And the text shows the route, every attempt (the failed model first) and the answering model
    assert "coding-large-change" in text
    attempts = text.split("attempts:", 1)[1].split("checks of the answer:", 1)[0]
    failed = [line for line in attempts.splitlines() if "claude-sonnet-4" in line]
    answered = [line for line in attempts.splitlines() if " gpt-4o " in line]
    assert failed
    assert all("error" in line for line in failed)
    assert len(answered) == 1
    assert "success" in answered[0]
    assert "answered by gpt-4o" in text


def test_audit_of_a_tenant_lists_its_records_newest_first_with_totals(
    rig: RouterRig, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given the tenant's records, read directly
    records = rig.provenance_items(TENANT)
    # When its last day is listed as JSON
    code, out, _ = cli(capsys, rig, "audit", "--tenant", TENANT, "--since", "1d", "--json")
    listing = json.loads(out)
    # Then every record is there, newest first, with its own figures
    assert code == 0
    rows = listing["records"]
    assert [row["sort_key"] for row in rows] == sorted((r["sort_key"] for r in records), reverse=True)
    stored = {r["request_id"]: plain(r) for r in records}
    for row in rows:
        assert {name: stored[row["request_id"]].get(name) for name in row} == row
    # And the totals add them up
    totals = listing["totals"]
    assert totals["outcomes"] == {"success": 4, "error": 1, "refused": 1}
    assert totals["cost_usd"] == pytest.approx(float(sum(r["cost_usd"] for r in records)))
    assert totals["successful_outcomes"] == 3
    assert listing["truncated"] is False


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        (["--outcome", "error"], {"r-error"}),
        (["--outcome", "refused"], {"r-refused"}),
        (["--model", "gpt-4o"], {"r-gpt", "r-fallback"}),  # answered by it
        (["--model", "claude-sonnet-4"], {"r-fallback"}),  # chosen, failed
        (["--model", "o3-mini", "--outcome", "success"], {"r-o3-bad", "r-o3-good"}),
    ],
)
def test_audit_filters_by_outcome_and_model(
    rig: RouterRig, capsys: pytest.CaptureFixture[str], options: list[str], expected: set[str]
) -> None:
    # When the tenant's records are listed with a filter
    code, out, _ = cli(capsys, rig, "audit", "--tenant", TENANT, *options, "--json")
    # Then exactly the matching records are listed
    assert code == 0
    assert {row["request_id"] for row in json.loads(out)["records"]} == expected


def test_audit_limit_keeps_the_newest_and_says_more_match(
    rig: RouterRig, capsys: pytest.CaptureFixture[str]
) -> None:
    # When only two records are asked for, as JSON and as text
    _, out, _ = cli(capsys, rig, "audit", "--tenant", TENANT, "--limit", "2", "--json")
    _, text, _ = cli(capsys, rig, "audit", "--tenant", TENANT, "--limit", "2")
    # Then the two newest come, and both forms say more match
    newest = sorted((r["sort_key"] for r in rig.provenance_items(TENANT)), reverse=True)[:2]
    listing = json.loads(out)
    assert [row["sort_key"] for row in listing["records"]] == newest
    assert listing["truncated"] is True
    assert "more records match" in text


def test_audit_of_an_unknown_request_is_exit_1_naming_it(
    rig: RouterRig, capsys: pytest.CaptureFixture[str]
) -> None:
    # When a request id no record has is audited
    code, out, err = cli(capsys, rig, "audit", "--request-id", "r-nosuch")
    # Then it exits 1 with one line naming the id and the table
    assert (code, out) == (1, "")
    assert (
        err.strip()
        == f"error: no provenance record of request 'r-nosuch' in table {rig.tables['ProvenanceTable']}"
    )
