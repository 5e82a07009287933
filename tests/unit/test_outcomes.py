"""The outcomes format: the JSON Schema and the reader accept the same lines; bad lines name their line;
tabulating groups observations by request."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from tests.helpers import ROOT

from modelrouter.training.outcomes import OutcomesError, read_outcomes, read_scoring_requests, tabulate

SCHEMA = json.loads((ROOT / "policies" / "outcomes.schema.json").read_text())
BASE: dict[str, Any] = {
    "request_id": "r1",
    "prompt": "What is 2 + 2?",
    "model": "m",
    "quality": 1,
    "cost_usd": 0.0,
}
USER = {"role": "user", "content": "Hi"}


def line(**changes: Any) -> dict[str, Any]:
    """BASE with ``changes``; a value of ``...`` removes the field."""
    data = {**BASE, **changes}
    return {key: value for key, value in data.items() if value is not ...}


def messages(*items: dict[str, Any]) -> dict[str, Any]:
    return line(prompt=..., messages=list(items))


GOOD = {
    "minimal": line(),
    "every optional field": line(
        quality=0.25,
        cost_usd=0.0031,
        latency_ms=812.5,
        tags=["mbpp", ""],
        tenant="t",
        route="r",
        propensity=1,
    ),
    "empty tags": line(tags=[]),
    "messages": messages({"role": "system", "content": "Be brief."}, USER),
    "a conversation with tools": messages(
        {"role": "developer", "content": [{"type": "text", "text": "Use tools."}]},
        USER,
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [{"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{}"}}],
        },
        {"role": "tool", "content": "42", "tool_call_id": "c1"},
        {"role": "user", "content": "And so?", "name": "ann"},
    ),
    "an image": messages(
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "What is this?"},
                {"type": "image_url", "image_url": {"url": "https://example.com/a.png", "detail": "low"}},
            ],
        }
    ),
    "a data image": messages(
        {
            "role": "user",
            "content": [{"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}}],
        }
    ),
    "assistant with empty text": messages(USER, {"role": "assistant", "content": ""}, USER),
}

BAD = {
    "no model": line(model=...),
    "empty model": line(model=""),
    "numeric model": line(model=3),
    "no quality": line(quality=...),
    "quality above 1": line(quality=1.5),
    "quality below 0": line(quality=-0.1),
    "quality as text": line(quality="1"),
    "quality as a boolean": line(quality=True),
    "no cost": line(cost_usd=...),
    "negative cost": line(cost_usd=-1),
    "negative latency": line(latency_ms=-5),
    "propensity 0": line(propensity=0),
    "propensity above 1": line(propensity=1.2),
    "prompt and messages": line(messages=[USER]),
    "neither prompt nor messages": line(prompt=...),
    "empty prompt": line(prompt=""),
    "unknown field": line(score=1),
    "tags not a list": line(tags="mbpp"),
    "tags not strings": line(tags=[1]),
    "tenant not a string": line(tenant=5),
    "empty request id": line(request_id=""),
    "numeric request id": line(request_id=7),
    "no request id": line(request_id=...),
    "no messages": messages(),
    "unknown role": messages({"role": "robot", "content": "beep"}),
    "a message with an unknown field": messages({**USER, "mood": "happy"}),
    "assistant without content or calls": messages(USER, {"role": "assistant"}),
    "assistant with null content and no calls": messages(USER, {"role": "assistant", "content": None}),
    "tool message without its call id": messages({"role": "tool", "content": "42"}),
    "an http image": messages(
        {"role": "user", "content": [{"type": "image_url", "image_url": {"url": "http://example.com/a.png"}}]}
    ),
    "a text part without text": messages({"role": "user", "content": [{"type": "text"}]}),
    "an image in a system message": messages(
        {
            "role": "system",
            "content": [{"type": "image_url", "image_url": {"url": "https://example.com/a.png"}}],
        }
    ),
}


def reader_accepts(data: Any, tmp_path: Path) -> bool:
    path = tmp_path / "one.jsonl"
    path.write_text(json.dumps(data) + "\n")
    try:
        read_outcomes([path])
    except OutcomesError:
        return False
    return True


def test_the_schema_is_valid_draft_2020_12() -> None:
    Draft202012Validator.check_schema(SCHEMA)


@pytest.mark.parametrize("name", [*GOOD, *BAD])
def test_the_schema_and_the_reader_agree(name: str, tmp_path: Path) -> None:
    # Given one line, good or bad
    data = GOOD.get(name, BAD.get(name))
    # When the schema and the reader judge it, Then they agree, and with the example's label
    schema_accepts = Draft202012Validator(SCHEMA).is_valid(data)
    assert schema_accepts == reader_accepts(data, tmp_path) == (name in GOOD)


def test_a_bad_line_names_its_file_and_line(tmp_path: Path) -> None:
    # Given a file whose third line (after a blank one) has a quality of 2
    path = tmp_path / "outcomes.jsonl"
    path.write_text(f"{json.dumps(line())}\n\n{json.dumps(line(quality=2))}\n")
    # When read, Then the error names the file and line 3 and what is wrong
    with pytest.raises(OutcomesError, match=r"outcomes\.jsonl:3: 'quality' must be within \[0, 1\], got 2"):
        read_outcomes([path])


def test_lines_that_are_not_json_objects_name_their_line(tmp_path: Path) -> None:
    path = tmp_path / "outcomes.jsonl"
    path.write_text(f"{json.dumps(line())}\n[1, 2]\n")
    with pytest.raises(OutcomesError, match=r":2: each line must be a JSON object"):
        read_outcomes([path])
    path.write_text("{not json\n")
    with pytest.raises(OutcomesError, match=r":1: not JSON"):
        read_outcomes([path])
    # And a line nested past the decoder's stack (read by learn fit and learn fit-topics alike)
    path.write_text(f"{json.dumps(line())}\n" + '{"a":' * 5_000 + "1" + "}" * 5_000 + "\n")
    with pytest.raises(OutcomesError, match=r":2: JSON nested too deeply to be read"):
        read_outcomes([path])


def test_an_empty_or_missing_file_is_an_error(tmp_path: Path) -> None:
    empty = tmp_path / "empty.jsonl"
    empty.write_text("\n")
    with pytest.raises(OutcomesError, match="no outcomes in the file"):
        read_outcomes([empty])
    with pytest.raises(OutcomesError, match="cannot read the file"):
        read_outcomes([tmp_path / "missing.jsonl"])


def write(path: Path, *rows: dict[str, Any]) -> Path:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return path


def test_tabulate_groups_counterfactual_outcomes(tmp_path: Path) -> None:
    # Given two requests answered by two models, one pair observed twice, and tags on some lines
    path = write(
        tmp_path / "o.jsonl",
        line(model="a", quality=1, cost_usd=0.1, tags=["x"]),
        line(model="b", quality=0, cost_usd=1.0),
        line(model="b", quality=1, cost_usd=3.0, tags=["y"]),
        line(request_id="r2", prompt="Hello", model="b", quality=0.5, cost_usd=1.0),
        line(request_id="r2", prompt="Hello", model="a", quality=0.0, cost_usd=0.1),
    )
    table = tabulate(read_outcomes([path]))
    # Then one row per request, one column per model in first-seen order, repeats averaged
    assert table.request_ids == ["r1", "r2"]
    assert table.models == ["a", "b"]
    assert table.quality == [[1.0, 0.5], [0.0, 0.5]]
    assert table.cost == [[0.1, 2.0], [0.1, 1.0]]
    assert table.tags == [("x", "y"), ()]
    assert table.texts == ["What is 2 + 2?", "Hello"]
    assert table.is_counterfactual()
    assert table.digest.startswith("sha256:")


def test_logged_traffic_is_not_counterfactual(tmp_path: Path) -> None:
    path = write(tmp_path / "o.jsonl", line(model="a", propensity=0.8), line(request_id="r2", model="b"))
    table = tabulate(read_outcomes([path]))
    assert not table.is_counterfactual()
    assert math.isnan(table.quality[0][1])
    assert table.propensity[0][0] == 0.8


def test_one_request_id_with_two_prompts_names_the_second_line(tmp_path: Path) -> None:
    path = write(tmp_path / "o.jsonl", line(model="a"), line(model="b", prompt="Something else"))
    with pytest.raises(OutcomesError, match=r"o\.jsonl:2: request 'r1' has two different prompts"):
        tabulate(read_outcomes([path]))


def test_scoring_requests_ignore_other_fields(tmp_path: Path) -> None:
    path = write(
        tmp_path / "r.jsonl", {"request_id": "q1", "prompt": "Hi", "expected": "Hello"}, messages(USER)
    )
    requests = list(read_scoring_requests(path))
    assert [r.request_id for r in requests] == ["q1", "r1"]
    assert requests[1].request.messages[0].text() == "Hi"
