"""Provenance records as outcome lines (issue 13, item 3): the quality rule, the fields of logged traffic,
what is skipped and why, the filters, DynamoDB JSON, and export files in the format AWS writes."""

from __future__ import annotations

import base64
import gzip
import hashlib
import io
import json
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from modelrouter.learning.dynamodb_export import DynamoDBExport, ExportReadError, from_dynamodb_json
from modelrouter.learning.export import RecordFilter, Skip, outcome_line, write_outcomes
from modelrouter.training.outcomes import read_outcomes

EXPORT_ID = "01736400000000-a1b2c3d4"
PROMPT = [{"role": "user", "content": "Where is my invoice?"}]
NOON = datetime(2025, 1, 10, 12, 0, tzinfo=UTC)


def provenance(request_id: str = "r1", **fields: Any) -> dict[str, Any]:
    """A provenance record as the router writes it for a passed answer of m1 on route ``faq``."""
    started = fields.pop("started", NOON)
    record = {
        "tenant_id": "acme",
        "sort_key": f"{started.isoformat(timespec='milliseconds')}#{request_id}",
        "request_id": request_id,
        "created_at": started.isoformat(timespec="milliseconds"),
        "policy": {"name": "p", "version": "v7"},
        "route": "faq",
        "outcome": "success",
        "model": "m1",
        "chosen_model": "m1",
        "propensity": 1.0,
        "choice": None,
        "cost_usd": 0.0012,
        "latency_ms": 812.5,
        "implicit": {"signal": "passed", "reward": 1.0, "chosen_model": "m1"},
        "reward": {"value": 1.0, "source": "implicit", "applied_to": None},
        "prompt": PROMPT,
    }
    record.update(fields)
    return record


def test_a_passed_answer_is_a_line_of_the_chosen_model_with_its_implicit_quality() -> None:
    # Given the record of a passed answer
    record = provenance()
    # When it is exported
    line = outcome_line(record)
    # Then the line is the chosen model's outcome, with what the record says about the traffic
    assert line == {
        "request_id": "r1",
        "messages": PROMPT,
        "model": "m1",
        "quality": 1.0,
        "quality_source": "implicit",
        "cost_usd": record["cost_usd"],
        "latency_ms": record["latency_ms"],
        "propensity": 1.0,
        "tenant": "acme",
        "route": "faq",
        "policy_version": "v7",
    }


@pytest.mark.parametrize(
    ("feedback", "quality"),
    [({"score": 0.3}, 0.3), ({"thumbs": "down"}, 0.0), ({"thumbs": "up"}, 1.0)],
    ids=["score", "thumbs-down", "thumbs-up"],
)
def test_feedback_wins_over_the_implicit_outcome(feedback: dict[str, Any], quality: float) -> None:
    # Given a passed answer the user rated
    record = provenance(feedback={"score": None, "thumbs": None, "revision": 1, **feedback})
    # When it is exported
    line = outcome_line(record)
    # Then its quality is the rating
    assert not isinstance(line, Skip)
    assert (line["quality"], line["quality_source"]) == (quality, "feedback")


def test_a_drawn_escalated_bandit_request_keeps_who_answered_its_segment_and_metadata() -> None:
    # Given a bandit route's draw of m1 (propensity 0.4) that m2 answered after m1 failed its check
    record = provenance(
        model="m2", propensity=0.4, bandit={"segment": "language=en|difficulty=1"},
        implicit={"signal": "escalated", "reward": 0.0, "chosen_model": "m1"},
        metadata={"tags": "billing, vip,", "customer_tier": "gold"},
    )  # fmt: skip
    # When it is exported
    line = outcome_line(record)
    # Then the line judges the chosen model and says who answered, with the routing signals
    assert not isinstance(line, Skip)
    assert (line["model"], line["answered_by"], line["quality"]) == ("m1", "m2", 0.0)
    assert (line["propensity"], line["segment"]) == (0.4, "language=en|difficulty=1")
    assert line["metadata"] == record["metadata"]
    assert line["tags"] == ["billing", "vip"]


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"implicit": {"signal": "fallback", "reward": None}}, "no reward (fallback)"),
        ({"implicit": {"signal": "refused", "reward": None}, "outcome": "refused"}, "no reward (refused)"),
        ({"implicit": None}, "no reward (not recorded)"),
        ({"prompt": None}, "prompt not stored"),
        ({"record_incomplete": True}, "incomplete record"),
        ({"chosen_model": None}, "incomplete record"),
        ({"propensity": 0}, "invalid (propensity)"),
        ({"prompt": [{"role": "wizard", "content": "x"}]}, "invalid (messages[0])"),
    ],
)
def test_records_that_cannot_be_outcomes_are_skipped_with_a_reason(
    changes: dict[str, Any], reason: str
) -> None:
    # Given a record missing what an outcome needs
    record = {key: value for key, value in provenance(**changes).items() if value is not None}
    # When it is exported
    skipped = outcome_line(record)
    # Then it is skipped, and says why
    assert skipped == Skip(reason)


def test_filters_keep_a_tenant_a_route_and_a_half_open_time_range() -> None:
    # Given records of two tenants and two routes over three days
    days = [datetime(2025, 1, day, 9, 0, tzinfo=UTC) for day in (1, 2, 3)]
    records = [
        provenance(f"{tenant}-{route}-{day.day}", tenant_id=tenant, route=route, started=day)
        for tenant in ("acme", "globex") for route in ("faq", "triage") for day in days
    ]  # fmt: skip
    keep = RecordFilter(tenant="acme", route="faq", since=days[1], until=days[2])
    # When they are exported through the filter
    out = io.StringIO()
    summary = write_outcomes(records, out, keep)
    # Then only acme's faq request of the second day is written (a request at `until` is the next range's)
    assert [json.loads(line)["request_id"] for line in out.getvalue().splitlines()] == ["acme-faq-2"]
    assert (summary.written, summary.outside) == (1, len(records) - 1)


def test_the_summary_counts_sources_reasons_and_the_tenants_without_prompts(tmp_path: Path) -> None:
    # Given an implicit, a rated, a fallback and a promptless record
    records = [
        provenance("implicit"),
        provenance("rated", feedback={"thumbs": "down", "revision": 1}),
        provenance("fallback", implicit={"signal": "fallback", "reward": None}),
        {**provenance("secret", tenant_id="globex"), "prompt": None},
    ]
    out = tmp_path / "outcomes.jsonl"
    # When they are exported to a file
    with out.open("w") as stream:
        summary = write_outcomes(records, stream)
    # Then two lines are written, by source, and the others are counted by reason
    assert (summary.written, dict(summary.sources)) == (2, {"implicit": 1, "feedback": 1})
    assert dict(summary.skipped) == {"no reward (fallback)": 1, "prompt not stored": 1}
    assert summary.without_prompts == {"globex"}
    # and the file is an outcomes file the learn commands read
    read = read_outcomes([out])
    assert [(o.request_id, o.model, o.quality, o.quality_source) for o in read] == [
        ("implicit", "m1", 1.0, "implicit"),
        ("rated", "m1", 0.0, "feedback"),
    ]
    assert read[0].request.messages[0].text() == PROMPT[0]["content"]


def test_dynamodb_json_of_every_type_decodes() -> None:
    # Given one attribute of each type, as DynamoDB JSON
    value = {
        "M": {
            "s": {"S": "text"},
            "int": {"N": "42"},
            "decimal": {"N": "0.000125"},
            "exponent": {"N": "1E+2"},
            "yes": {"BOOL": True},
            "nothing": {"NULL": True},
            "list": {"L": [{"S": "a"}, {"N": "1"}, {"M": {"deep": {"BOOL": False}}}]},
            "strings": {"SS": ["x", "y"]},
            "numbers": {"NS": ["1", "2.5"]},
            "bytes": {"B": base64.b64encode(b"\x00\x01").decode()},
        }
    }
    # When it is decoded
    decoded = from_dynamodb_json(value)
    # Then each becomes its plain value
    assert decoded == {
        "s": "text", "int": 42, "decimal": 0.000125, "exponent": 100.0, "yes": True, "nothing": None,
        "list": ["a", 1, {"deep": False}], "strings": ["x", "y"], "numbers": [1, 2.5], "bytes": b"\x00\x01",
    }  # fmt: skip
    assert isinstance(decoded["int"], int)


@pytest.mark.parametrize("bad", [{"X": "1"}, {"S": "a", "N": "1"}, {"N": "one"}, "text"])
def test_what_is_not_dynamodb_json_is_refused(bad: Any) -> None:
    # Given a value that is not one typed attribute
    # When it is decoded, Then it is refused
    with pytest.raises(ValueError, match=r"DynamoDB|number"):
        from_dynamodb_json(bad)


def to_dynamodb_json(value: Any) -> dict[str, Any]:
    """A plain JSON value in DynamoDB JSON, as the table stores a provenance record."""
    if value is None:
        return {"NULL": True}
    if isinstance(value, bool):
        return {"BOOL": value}
    if isinstance(value, int | float):
        return {"N": repr(value)}
    if isinstance(value, str):
        return {"S": value}
    if isinstance(value, list):
        return {"L": [to_dynamodb_json(item) for item in value]}
    return {"M": {key: to_dynamodb_json(item) for key, item in value.items()}}


def write_export(
    root: Path, items: Sequence[dict[str, Any]], *, files: int = 2, prefix: str = "exports", **summary: Any
) -> Path:
    """``items`` (DynamoDB JSON) as ExportTableToPointInTime writes them under ``root``:
    ``<prefix>/AWSDynamoDB/<id>/`` with ``manifest-summary.json``, ``manifest-files.json`` (a line per data
    file: itemCount, md5Checksum, etag, dataFileS3Key) and ``data/*.json.gz`` (one ``{"Item": …}`` a line,
    files of a partition's items, one of them possibly empty); returns the export's directory."""
    folder = f"{prefix}/AWSDynamoDB/{EXPORT_ID}"
    directory = root / folder
    (directory / "data").mkdir(parents=True)
    (directory / "_started").write_bytes(b"")
    manifest = []
    for index in range(files):
        part = items[index::files]
        body = "".join(json.dumps({"Item": item}) + "\n" for item in part).encode()
        compressed = gzip.compress(body)
        name = f"{hashlib.sha1(compressed).hexdigest()[:26]}.json.gz"
        (directory / "data" / name).write_bytes(compressed)
        manifest.append({
            "itemCount": len(part),
            "md5Checksum": base64.b64encode(hashlib.md5(compressed).digest()).decode(),
            "etag": f"{hashlib.md5(compressed).hexdigest()}-1",
            "dataFileS3Key": f"{folder}/data/{name}",
        })  # fmt: skip
    (directory / "manifest-files.json").write_text("".join(json.dumps(entry) + "\n" for entry in manifest))
    (directory / "manifest-summary.json").write_text(json.dumps({
        "version": "2020-06-30",
        "exportArn": f"arn:aws:dynamodb:us-east-1:123456789012:table/provenance/export/{EXPORT_ID}",
        "startTime": "2025-01-11T07:28:34.028Z", "endTime": "2025-01-11T07:33:43.897Z",
        "tableArn": "arn:aws:dynamodb:us-east-1:123456789012:table/provenance",
        "tableId": "12345a12-abcd-123a-ab12-1234abc12345", "exportTime": "2025-01-11T07:28:34.028Z",
        "s3Bucket": "exports-bucket", "s3Prefix": prefix, "s3SseAlgorithm": "AES256", "s3SseKmsKeyId": None,
        "manifestFilesS3Key": f"{folder}/manifest-files.json", "billedSizeBytes": 0,
        "itemCount": len(items), "outputFormat": "DYNAMODB_JSON", "exportType": "FULL_EXPORT", **summary,
    }))  # fmt: skip
    return directory


def test_an_export_is_read_from_its_directory_or_its_prefix(tmp_path: Path) -> None:
    # Given three records exported into two data files (and a partition with none)
    records = [provenance(f"r{i}") for i in range(3)]
    directory = write_export(
        tmp_path, [{k: to_dynamodb_json(v) for k, v in r.items()} for r in records], files=3
    )
    (directory.parent.parent.parent / "unrelated.txt").write_text("not part of the export")
    # When it is read from the export's directory and from the prefix above it
    from_directory = DynamoDBExport(str(directory))
    from_prefix = DynamoDBExport(str(tmp_path / "exports"))
    # Then both give back the records, every file read and checked
    assert sorted(from_directory.records(), key=str) == sorted(records, key=str)
    assert list(from_prefix.records()) == list(DynamoDBExport(str(directory)).records())
    assert (from_directory.files_read, from_directory.items_read, from_directory.checksum_mismatches) == (
        3,
        3,
        [],
    )


def test_a_truncated_data_file_or_a_changed_one_is_noticed(tmp_path: Path) -> None:
    # Given an export whose files manifest overstates one count, and one whose data file was replaced
    items = [{k: to_dynamodb_json(v) for k, v in provenance(f"r{i}").items()} for i in range(4)]
    short = write_export(tmp_path / "short", items)
    manifest = [json.loads(line) for line in (short / "manifest-files.json").read_text().splitlines()]
    written = manifest[0]["itemCount"]
    manifest[0]["itemCount"] = written + 1
    (short / "manifest-files.json").write_text("".join(json.dumps(entry) + "\n" for entry in manifest))
    changed = write_export(tmp_path / "changed", items)
    name = json.loads((changed / "manifest-files.json").read_text().splitlines()[0])["dataFileS3Key"]
    data = changed / "data" / name.rsplit("/", 1)[-1]
    data.write_bytes(gzip.compress(gzip.decompress(data.read_bytes()), mtime=1))
    # When each is read
    with pytest.raises(ExportReadError, match=rf"{written} items, the manifest says {written + 1}"):
        list(DynamoDBExport(str(short)).records())
    export = DynamoDBExport(str(changed))
    list(export.records())
    # Then the short copy is an error, and the changed file a warning naming it
    assert export.checksum_mismatches == [str(data)]


@pytest.mark.parametrize(
    ("summary", "message"),
    [
        ({"outputFormat": "ION"}, "the export is ION"),
        ({"exportType": "INCREMENTAL_EXPORT"}, "an incremental export holds changes"),
    ],
)
def test_exports_this_reader_cannot_use_are_refused(
    tmp_path: Path, summary: dict[str, str], message: str
) -> None:
    # Given an export of another format or kind
    directory = write_export(tmp_path, [], **summary)
    # When it is read, Then it is refused, saying why
    with pytest.raises(ExportReadError, match=message):
        list(DynamoDBExport(str(directory)).records())


def test_a_bad_data_line_names_its_file_and_line(tmp_path: Path) -> None:
    # Given a data file whose second line is not an item
    directory = write_export(tmp_path, [{"tenant_id": {"S": "acme"}}], files=1)
    data = next((directory / "data").iterdir())
    data.write_bytes(gzip.compress(gzip.decompress(data.read_bytes()) + b'{"NotItem": {}}\n'))
    # When it is read, Then the error names the place
    with pytest.raises(ExportReadError, match=rf"{data.name}:2: not an \{{\"Item\""):
        list(DynamoDBExport(str(directory)).records())


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (lambda data: b"not gzip at all", r"not a readable gzip file \(Not a gzipped file"),
        (lambda data: data[: len(data) // 2], r"not a readable gzip file.*end-of-stream"),
        (
            lambda data: gzip.compress(
                b'{"Item": ' + b'{"M": {"a": ' * 3000 + b'{"S": "x"}' + b"}}" * 3000 + b"}\n"
            ),
            r":1: (JSON|an item) nested too deeply to be read",
        ),
    ],
    ids=["not-gzip", "cut-short", "nested"],
)
def test_a_data_file_that_cannot_be_read_is_an_error_naming_it(
    tmp_path: Path, content: Any, message: str
) -> None:
    # Given an export whose data file is not gzip, is cut short, or holds an item nested 3,000 deep
    directory = write_export(tmp_path, [{"tenant_id": {"S": f"t{i}"}} for i in range(50)], files=1)
    data = next((directory / "data").iterdir())
    data.write_bytes(content(data.read_bytes()))
    # When it is read, Then it is an ExportReadError naming the file (never a gzip or recursion traceback)
    with pytest.raises(ExportReadError, match=rf"{data.name}.*{message}"):
        list(DynamoDBExport(str(directory)).records())


def test_a_place_without_one_export_is_refused(tmp_path: Path) -> None:
    # Given an empty directory and a prefix holding two exports
    write_export(tmp_path / "two", [])
    (tmp_path / "two" / "exports" / "AWSDynamoDB" / f"{EXPORT_ID}-copy").mkdir()
    second = tmp_path / "two" / "exports" / "AWSDynamoDB" / f"{EXPORT_ID}-copy" / "manifest-summary.json"
    second.write_text("{}")
    # When each is read, Then it says what it found
    with pytest.raises(ExportReadError, match="no DynamoDB export"):
        list(DynamoDBExport(str(tmp_path)).records())
    with pytest.raises(ExportReadError, match="holds 2 exports"):
        list(DynamoDBExport(str(tmp_path / "two" / "exports")).records())
