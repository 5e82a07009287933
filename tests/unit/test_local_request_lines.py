"""serve's request lines: made from the router's provenance record, at the end of a stream, once."""

from __future__ import annotations

import io
import json
import time
from decimal import Decimal
from typing import Any

from tests.helpers import load_event

from modelrouter.accounting.records import to_dynamo_item
from modelrouter.lambda_runtime import StreamingResponse
from modelrouter.local.request_lines import RequestLine, RequestLines, format_line

TABLE = "provenance"
_ARROW = "→"


class FakeProvenance:
    """The provenance table's ``by_request_id`` query and ``get_item``, over records in memory."""

    def __init__(self, *records: dict[str, Any]) -> None:
        self.items = {record["request_id"]: to_dynamo_item(record) for record in records}
        self.lookups = 0

    def query(self, **arguments: Any) -> dict[str, Any]:
        self.lookups += 1
        assert arguments["TableName"] == TABLE
        assert arguments["IndexName"] == "by_request_id"
        item = self.items.get(arguments["ExpressionAttributeValues"][":id"]["S"])
        return {"Items": [{k: item[k] for k in ("tenant_id", "sort_key", "request_id")}] if item else []}

    def get_item(self, **arguments: Any) -> dict[str, Any]:
        for item in self.items.values():
            if {k: item[k] for k in ("tenant_id", "sort_key")} == arguments["Key"]:
                return {"Item": item}
        return {}


def _record(request_id: str, **fields: Any) -> dict[str, Any]:
    record = {
        "tenant_id": "acme-support",
        "sort_key": f"2026-12-02T12:03:41.000#{request_id}",
        "request_id": request_id,
        "route": "support-triage",
        "model": "local-small",
        "attempts": [{"model": "local-small", "outcome": "success"}],
        "outcome": "success",
        "error_code": None,
        "cost_usd": 0.0000119,
        "latency_ms": 84.2,
    }
    return record | fields


def _event(name: str, request_id: str) -> dict[str, Any]:
    event = load_event(name)
    event["requestContext"]["requestId"] = request_id
    return event


def _lines(provenance: FakeProvenance, *calls: tuple[dict[str, Any], Any]) -> list[str]:
    """Each (event, router result) through the writer, results read to their end; the lines written."""
    out = io.StringIO()
    lines = RequestLines(out, provenance, TABLE)
    for event, result in calls:
        answer = lines.router(event, time.time(), time.monotonic(), result)
        if isinstance(answer, StreamingResponse):
            answer.read_all()
    lines.stop()
    return out.getvalue().splitlines()


def _streamed(status: int, *chunks: bytes) -> StreamingResponse:
    return StreamingResponse(status, {"Content-Type": "application/json"}, iter(chunks))


def test_a_routed_request_reads_its_provenance_record() -> None:
    # Given the router's record of a request answered by local-small
    provenance = FakeProvenance(_record("r1"))
    # When its response has been sent
    [line] = _lines(provenance, (_event("chat-support", "r1"), _streamed(200, b"{}")))
    # Then the line has its tenant, route → model, attempts, status, cost and latency
    assert line.split()[1:] == [
        "acme-support", "support-triage", "→", "local-small", "1", "attempt", "200", "$0.0000119", "84", "ms",
    ]  # fmt: skip


def test_a_refusal_shows_its_status_and_error_code() -> None:
    # Given the record of a request refused for its budget
    record = _record(
        "r2", model=None, attempts=[], outcome="refused", error_code="budget_exceeded", cost_usd=0
    )
    provenance = FakeProvenance(record)
    body = json.dumps({"error": {"code": "budget_exceeded", "message": "over budget"}}).encode()
    # When the 429 has been sent
    [line] = _lines(provenance, (_event("chat-support", "r2"), _streamed(429, body)))
    # Then the line has the route alone, no attempt, the status with the code, and no cost
    assert "support-triage  " in line
    assert _ARROW not in line
    assert "0 attempts" in line
    assert "429 budget_exceeded" in line
    assert "$0.00" in line


def test_a_request_without_a_record_shows_method_path_and_the_body_error_code() -> None:
    # Given no record (a body the router could not parse), and a GET the router never records
    provenance = FakeProvenance()
    body = json.dumps({"error": {"code": "invalid_json", "message": "…"}}).encode()
    # When both responses have been sent
    bad, listing = _lines(
        provenance,
        (_event("bad-malformed-json", "r3"), _streamed(400, body)),
        (_event("models-list", "r4"), {"statusCode": 200, "body": "{}"}),
    )
    # Then each shows its method and path; the refusal its code from the body; the GET was not looked up
    assert "POST /v1/chat/completions" in bad
    assert "400 invalid_json" in bad
    assert "GET /v1/models" in listing
    assert listing.split()[-3] == "200"
    assert provenance.lookups == 1


def test_a_stream_is_reported_when_it_ends_and_how() -> None:
    # Given a streamed answer the client stopped reading, and its record saying so
    record = _record("r5", streaming={"mode": "incremental", "end": "client_disconnected", "chunks": 2})
    out = io.StringIO()
    lines = RequestLines(out, FakeProvenance(record), TABLE)
    answer = lines.router(
        _event("chat-stream", "r5"), time.time(), time.monotonic(), _streamed(200, b"a", b"b")
    )
    assert isinstance(answer, StreamingResponse)
    # When the first chunk is read, and then the client goes away
    assert next(answer.chunks()) == b"a"
    answer.close()
    answer.close()
    lines.stop()
    # Then exactly one line was written, saying how the stream ended
    [line] = out.getvalue().splitlines()
    assert line.endswith("stream client_disconnected")


def test_a_gateway_refusal_has_no_tenant_and_its_code() -> None:
    # Given the gateway's 401 for a bad key
    out = io.StringIO()
    lines = RequestLines(out)
    reply: tuple[int, dict[str, str], bytes] = (
        401,
        {},
        json.dumps({"error": {"code": "invalid_api_key"}}).encode(),
    )
    # When it is reported
    lines.refused("POST", "/api/v1/chat/completions", reply)
    lines.stop()
    # Then the line shows no tenant, the method and path, the status and code
    assert out.getvalue().split()[1:] == ["-", "POST", "/api/v1/chat/completions", "401", "invalid_api_key"]


def test_format_line_counts_attempts_in_words() -> None:
    # Given a request that took two attempts / When formatted / Then "2 attempts"
    line = RequestLine(0.0, "t", "r → m", 2, 200, None, Decimal("0.0123"), 1500.4)
    assert "2 attempts" in format_line(line)
    assert format_line(line).endswith("$0.0123  1500 ms")
