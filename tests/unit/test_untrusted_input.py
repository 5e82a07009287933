"""Untrusted input stays inside (issue 8, items 3, 8 and 10): schema references never leave the schema,
hostile request bodies are 400s, and a hostile policy document is a rejected version, never a crash."""

from __future__ import annotations

import json
import socket
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from modelrouter.checks.json_answer import (
    _CACHE,
    MAX_CACHED_SCHEMA_BYTES,
    MAX_SCHEMA_BYTES,
    compile_schema,
    json_problems,
)
from modelrouter.cli.main import EXIT_REJECTED, main
from modelrouter.errors import InvalidRequestError, PolicyError
from modelrouter.jsonlimits import MAX_REQUEST_DEPTH, MAX_SCHEMA_DEPTH, json_value_problems
from modelrouter.policy.loader import MAX_POLICY_BYTES, parse_policy
from modelrouter.request import parse_chat_request

SCHEMA_FIELD = "response_format.json_schema.schema"
HI = [{"role": "user", "content": "hi"}]


def assert_no_connection(server: socket.socket) -> None:
    with pytest.raises(TimeoutError):
        server.accept()


@pytest.fixture
def no_urlopen(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every ``urlopen`` (jsonschema's old remote retrieval) is recorded instead of run."""
    opened: list[str] = []
    monkeypatch.setattr(urllib.request, "urlopen", lambda url, *a, **k: opened.append(str(url)))
    return opened


def schema_error(schema: dict[str, Any]) -> InvalidRequestError:
    with pytest.raises(InvalidRequestError) as caught:
        compile_schema(schema)
    return caught.value


def request_error(body: Any) -> InvalidRequestError:
    with pytest.raises(InvalidRequestError) as caught:
        parse_chat_request(body)
    return caught.value


# Item 3: $ref resolves only inside the request's schema.


@pytest.mark.parametrize(
    "make_schema",
    [
        lambda url: {"$ref": f"{url}/x.json"},
        lambda url: {"type": "object", "properties": {"a": {"$ref": f"{url}/x.json#/$defs/a"}}},
        lambda url: {"$id": f"{url}/root.json", "properties": {"a": {"$ref": "other.json"}}},
        lambda url: {"properties": {"a": {"$dynamicRef": f"{url}/x.json#n"}}},
    ],
    ids=["root", "nested", "relative-to-id", "dynamic"],
)
def test_remote_ref_is_a_400_and_nothing_connects(
    listener: tuple[str, socket.socket], no_urlopen: list[str], make_schema: Any
) -> None:
    url, server = listener
    # Given a schema referring to a listener that would accept a connection
    # When it is compiled
    error = schema_error(make_schema(url))
    # Then it is refused naming the schema, and nothing was fetched
    assert error.field.startswith(SCHEMA_FIELD)
    assert "does not resolve inside this schema" in error.message
    assert no_urlopen == []
    assert_no_connection(server)


def test_file_ref_is_a_400_and_no_file_is_read(no_urlopen: list[str]) -> None:
    # Given a schema referring to a local file, When compiled, Then 400 and no urlopen of it
    error = schema_error({"type": "object", "properties": {"a": {"$ref": "file:///etc/passwd"}}})
    assert error.field == f"{SCHEMA_FIELD}.properties.a.$ref"
    assert no_urlopen == []


@pytest.mark.parametrize(
    ("schema", "fragment"),
    [
        ({"$ref": "#/$defs/missing"}, "does not resolve"),
        ({"$defs": {"a": {"$anchor": "a"}}, "$ref": "#b"}, "does not resolve"),
        ({"enum": [1], "properties": {"a": {"$ref": "#/enum"}}}, "not to a schema"),
        ({"$ref": "#"}, "loop back"),
        (
            {
                "$defs": {"a": {"anyOf": [{"type": "string"}, {"$ref": "#"}]}},
                "allOf": [{"$ref": "#/$defs/a"}],
            },
            "loop",
        ),
    ],
)
def test_references_that_cannot_be_evaluated_are_a_400(schema: dict[str, Any], fragment: str) -> None:
    # Given a schema whose references point nowhere, or loop in place; When compiled; Then a 400
    error = schema_error(schema)
    assert error.field.startswith(SCHEMA_FIELD)
    assert fragment in error.message


@pytest.mark.parametrize(
    ("schema", "good", "bad"),
    [
        (
            {"$defs": {"a": {"type": "string"}}, "properties": {"x": {"$ref": "#/$defs/a"}}},
            {"x": "y"},
            {"x": 1},
        ),
        (
            {"$defs": {"a": {"$anchor": "a", "type": "string"}}, "properties": {"x": {"$ref": "#a"}}},
            {"x": "y"},
            {"x": 1},
        ),
        (
            {
                "$id": "https://example.com/r.json",
                "$defs": {"a": {"$id": "a.json", "type": "array"}},
                "$ref": "a.json",
            },
            [],
            {},
        ),
        (
            {"type": "object", "properties": {"kids": {"type": "array", "items": {"$ref": "#"}}}},
            {"kids": [{}]},
            {"kids": [1]},
        ),
        (
            {"$dynamicAnchor": "n", "type": "object", "properties": {"next": {"$dynamicRef": "#n"}}},
            {"next": {}},
            {"next": 1},
        ),
        ({"const": {"$ref": "https://example.com/data"}}, {"$ref": "https://example.com/data"}, {}),
        ({"$ref": "https://json-schema.org/draft/2020-12/schema"}, {"type": "string"}, {"type": 5}),
    ],
)
def test_references_inside_the_schema_still_work(
    schema: dict[str, Any], good: Any, bad: Any, no_urlopen: list[str]
) -> None:
    # Given a schema whose references all resolve within it (or to the meta-schema jsonschema ships)
    # When it is compiled and answers checked, Then the references are followed and nothing was fetched
    assert json_problems(json.dumps(good), schema) == []
    assert json_problems(json.dumps(bad), schema) != []
    assert no_urlopen == []


def test_schema_size_and_depth_are_limited() -> None:
    # Given a schema over the byte limit and one nested 400 deep
    deep: dict[str, Any] = {"type": "string"}
    for _ in range(200):
        deep = {"type": "object", "properties": {"a": deep}}
    # When compiled, Then both are 400s naming the schema
    assert "bytes" in schema_error({"enum": ["x" * MAX_SCHEMA_BYTES]}).message
    error = schema_error(deep)
    assert error.field.startswith(SCHEMA_FIELD)
    assert f"nested deeper than {MAX_SCHEMA_DEPTH} levels" in error.message


def test_compiled_schema_cache_is_bounded_in_bytes() -> None:
    # Given 40 distinct schemas of about 90 KB each (3.6 MB in all)
    for index in range(40):
        compile_schema({"title": str(index), "enum": ["x" * 90_000]})
        # Then the cache never holds more schema text than its budget
        assert _CACHE.size[1] <= MAX_CACHED_SCHEMA_BYTES
    # and the latest one is still cached
    schema = {"title": "39", "enum": ["x" * 90_000]}
    assert compile_schema(schema) is compile_schema(dict(schema))


_ANSWERS = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=5),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=5), children, max_size=3)
    ),
    max_leaves=20,
).map(json.dumps) | st.text(max_size=30)
_TREE = {"type": "object", "properties": {"children": {"type": "array", "items": {"$ref": "#"}}}}


@settings(max_examples=60)
@given(answer=_ANSWERS, schema=st.sampled_from([None, {"type": "object"}, _TREE, {"$ref": "#/$defs/gone"}]))
def test_json_problems_never_raises(answer: str, schema: dict[str, Any] | None) -> None:
    # Given any answer and any schema (even one that cannot be compiled), When checked,
    # Then the result is a list of problems, never an exception
    assert isinstance(json_problems(answer, schema), list)


@pytest.mark.parametrize("depth", [300, 20_000])
def test_deep_answers_are_problems_not_crashes(depth: int) -> None:
    # Given an answer nested deeper than validation or parsing can recurse
    answer = '{"children":' + '[{"children":' * depth + "[]" + "}]" * depth + "}"
    # When checked against a recursive schema, Then it is one clean problem
    (problem,) = json_problems(answer, _TREE)
    assert problem.rule == "depth"


# Item 8: hostile request bodies are 400s naming the field.


def _nested(depth: int) -> str:
    return '{"a":' * depth + "1" + "}" * depth


@pytest.mark.parametrize(
    "body",
    [
        '{"messages":[{"role":"user","content":"hi"}],"x":' + "[" * 10_000 + "]" * 10_000 + "}",
        '{"messages":[{"role":"user","content":"hi"}],"metadata":' + _nested(10_000) + "}",
        '{"messages":[{"role":"user","content":"hi"}],"tools":[{"type":"function","function":'
        '{"name":"f","parameters":' + _nested(10_000) + "}}]}",
        '{"messages":[{"role":"user","content":"hi"}],"metadata":' + _nested(MAX_REQUEST_DEPTH) + "}",
    ],
    ids=["body", "metadata", "tool-parameters", "just-over-the-limit"],
)
def test_deeply_nested_bodies_are_a_400(body: str) -> None:
    # Given a body nested far beyond the limit, When parsed, Then a 400, never RecursionError
    error = request_error(body)
    assert f"nested deeper than {MAX_REQUEST_DEPTH} levels" in error.message


@pytest.mark.parametrize(
    ("field", "value", "param"),
    [
        (
            "tools",
            [{"type": "function", "function": {"name": "f", "parameters": json.loads(_nested(100))}}],
            "tools[0].function.parameters",
        ),
        (
            "response_format",
            {"type": "json_schema", "json_schema": {"name": "s", "schema": json.loads(_nested(300))}},
            "response_format.json_schema.schema",
        ),
    ],
)
def test_schemas_deeper_than_the_schema_limit_are_a_400(field: str, value: Any, param: str) -> None:
    # Given a schema within the body limit but deeper than the schema limit, When parsed, Then a 400
    error = request_error({"messages": HI, field: value})
    assert error.field == param
    assert f"deeper than {MAX_SCHEMA_DEPTH} levels" in error.message


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ('{"messages":[{"role":"user","content":"hi \\ud800"}]}', "messages[0].content"),
        (
            '{"messages":[{"role":"user","content":[{"type":"text","text":"\\udfff"}]}]}',
            "messages[0].content[0].text",
        ),
        ('{"messages":[{"role":"user","content":"hi"}],"metadata":{"k":"\\ud83d"}}', "metadata.k"),
        ('{"messages":[{"role":"user","content":"hi"}],"stop":["\\ud800"]}', "stop[0]"),
        ('{"messages":[{"role":"user","content":"hi"}],"metadata":{"\\ud800":"v"}}', "metadata.\\ud800"),
    ],
)
def test_lone_surrogates_are_a_400_naming_the_field(body: str, param: str) -> None:
    error = request_error(body)
    assert error.field == param
    assert "surrogate" in error.message
    error.message.encode("utf-8")  # the error itself can be sent


def test_paired_surrogates_are_fine() -> None:
    assert (
        parse_chat_request('{"messages":[{"role":"user","content":"\\ud83d\\ude00"}]}').last_user_text()
        == "😀"
    )


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("max_tokens", "100"),
        ("max_tokens", True),
        ("max_tokens", 100.0),
        ("max_completion_tokens", "5"),
        ("seed", "7"),
        ("n", True),
        ("temperature", "0.5"),
        ("temperature", True),
        ("top_p", "1"),
        ("stream", 1),
        ("stream", "true"),
        ("parallel_tool_calls", 0),
    ],
)
def test_types_are_strict_where_openai_is_strict(field: str, value: Any) -> None:
    error = request_error({"messages": HI, field: value})
    assert error.field == field


def test_ints_are_still_valid_numbers() -> None:
    request = parse_chat_request({"messages": HI, "temperature": 1, "top_p": 1, "max_tokens": 5})
    assert request.temperature == 1.0
    assert request.max_tokens == 5


def _image(url: str) -> dict[str, Any]:
    return {
        "messages": [
            {
                "role": "user",
                "content": [{"type": "text", "text": "x"}, {"type": "image_url", "image_url": {"url": url}}],
            }
        ]
    }


@pytest.mark.parametrize(
    "url",
    [
        "file:///etc/passwd",
        "http://169.254.169.254/latest/meta-data/",
        "ftp://example.com/a.png",
        "/etc/passwd",
        "https:///nohost",
        "data:text/plain;base64,AAAA",
        "gopher://x",
        "javascript:alert(1)",
    ],
)
def test_image_urls_are_https_or_data_only(url: str) -> None:
    error = request_error(_image(url))
    assert error.field == "messages[0].content[1].image_url.url"
    assert "https://" in error.message


@pytest.mark.parametrize(
    "url", ["https://example.com/a.png", "HTTPS://Example.com/a.png", "data:image/png;base64,AAAA"]
)
def test_https_and_data_images_are_accepted(url: str) -> None:
    assert parse_chat_request(_image(url)).messages[0].images() == 1


def test_value_problem_paths_never_carry_surrogates() -> None:
    # Given a key and its value, both with lone surrogates, When checked
    problems = json_value_problems({"\ud800" * 100: "\ud800"}, max_depth=4)
    # Then both are reported, and each problem can be encoded (the key is escaped and shortened)
    assert len(problems) == 2
    for problem in problems:
        assert len(str(problem).encode("utf-8")) < 400


# Item 10: policy documents have size and depth limits; anything else is a rejected document.


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("version: 1\nmodels: " + "[" * 400 + "]" * 400, "nested deeper than 64 levels"),
        ("".join("  " * i + f"k{i}:\n" for i in range(400)) + "  " * 400 + "v: 1\n", "nested deeper than 64"),
        ("a: &a [*a]\n", "nested deeper"),
        (
            "a: &a [x,x,x,x,x,x,x,x,x,x]\n"
            + "".join(
                f"{c}: &{c} [{', '.join([f'*{p}'] * 10)}]\n"
                for p, c in zip("abcdefgh", "bcdefghi", strict=True)
            ),
            "aliases are expanded",
        ),
        ("name: " + "x" * MAX_POLICY_BYTES, "bytes"),
    ],
    ids=["deep-flow", "deep-block", "alias-cycle", "alias-bomb", "too-large"],
)
def test_hostile_policy_documents_are_policy_errors(text: str, fragment: str) -> None:
    with pytest.raises(PolicyError) as caught:
        parse_policy(text)
    assert fragment in str(caught.value.problems[0])


def test_any_exception_while_parsing_a_policy_is_a_policy_error(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a check that fails with a bug rather than a PolicyError
    from modelrouter.policy import loader

    def broken(_data: object) -> None:
        raise RecursionError("maximum recursion depth exceeded")

    monkeypatch.setattr(loader, "check_document", broken)
    # When a valid-looking policy is parsed, Then it is a PolicyError naming the failure
    with pytest.raises(PolicyError, match="RecursionError"):
        parse_policy(Path(__file__).parents[2].joinpath("policies", "example.yaml").read_text())


def test_policy_validate_of_a_deep_document_is_one_line_per_problem(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    # Given a policy nested 400 deep
    deep = tmp_path / "deep.yaml"
    deep.write_text("version: 1\nmodels: " + "[" * 400 + "]" * 400 + "\n")
    # When validated from the command line
    code = main(["policy", "validate", str(deep)])
    err = capsys.readouterr().err
    # Then it fails with the problem on one line and no traceback
    assert code == EXIT_REJECTED
    assert "Traceback" not in err
    assert err.splitlines() == [
        f"{deep}: invalid",
        "  <root> (line 2): the policy is nested deeper than 64 levels",
    ]
