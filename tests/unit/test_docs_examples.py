"""Every YAML and JSON example in README.md and docs/**/*.md is valid for what it is.

A fenced ``yaml``/``yml``/``json``/``jsonl`` block is validated as the marker on the line before it
says (blank lines may come between):

==========================================  ==============================================================
``<!-- example: policy -->``                a complete policy, through the loader (schema and
                                            cross-references); what an unmarked ``yaml`` block must be
``<!-- example: policy-fragment KEY -->``   the value of the policy's top-level ``KEY`` (alone, or as
                                            ``KEY: …``), validated as the loader validates that part
                                            (types, required fields, one-of rules; no cross-references)
``<!-- example: policy-route FILE -->``     routes (a YAML list), each exactly the route of that name in the
                                            policy FILE (a path from the repository root), so an excerpt
                                            cannot drift from the policy it quotes
``<!-- example: chat-request -->``          a Chat Completions body; what an unmarked ``json`` block must be
``<!-- example: anthropic-request -->``     an Anthropic Messages body (``POST /v1/messages``)
``<!-- example: outcomes -->``              outcomes JSON Lines (``learn fit``'s input); what an unmarked
                                            ``jsonl`` block must be
``<!-- example: not-validated REASON -->``  not checked, for the reason given (required)
==========================================  ==============================================================

So an unmarked block that is not a valid policy (YAML) or chat request (JSON) fails, as does an unknown
marker. The request ``metadata`` table (docs/request-metadata.md) is checked against the keys the code
reads here too.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml
from pydantic import TypeAdapter
from tests.helpers import ROOT

from modelrouter.policy import Policy
from modelrouter.policy.loader import parse_policy
from modelrouter.request import parse_chat_request
from modelrouter.selection.context import ROUTING_METADATA_KEYS, RequestContext

DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
"""The Markdown files whose examples are validated."""
METADATA_DOC = ROOT / "docs" / "request-metadata.md"

_FENCE = re.compile(r"^(?P<indent>[ \t]*)```(?P<language>[\w+-]*)\s*$")
_MARKER = re.compile(r"^\s*<!--\s*example:\s*(?P<kind>[\w-]+)(?:\s+(?P<argument>.*?))?\s*-->\s*$")
_DEFAULT_KIND = {"yaml": "policy", "yml": "policy", "json": "chat-request", "jsonl": "outcomes"}


@dataclass(frozen=True)
class Example:
    """One fenced block of a Markdown file, with the marker that says what it is."""

    path: Path
    line: int
    language: str
    kind: str
    argument: str
    text: str

    @property
    def where(self) -> str:
        """``file:line`` of the opening fence."""
        return f"{self.path.relative_to(ROOT) if self.path.is_relative_to(ROOT) else self.path}:{self.line}"


def find_examples(path: Path, text: str) -> Iterator[Example]:
    """The ``yaml``/``yml``/``json``/``jsonl`` blocks of a Markdown text, each with its kind."""
    lines = text.splitlines()
    index = 0
    while index < len(lines):
        opening = _FENCE.match(lines[index])
        if opening is None:
            index += 1
            continue
        end = next((i for i in range(index + 1, len(lines)) if lines[i].strip() == "```"), None)
        assert end is not None, f"{path}:{index + 1}: a fence that is never closed"
        language = opening["language"].lower()
        if language in _DEFAULT_KIND:
            indent = opening["indent"]
            body = "\n".join(line.removeprefix(indent) for line in lines[index + 1 : end])
            kind, argument = _marker_before(lines, index) or (_DEFAULT_KIND[language], "")
            yield Example(path, index + 1, language, kind, argument, body)
        index = end + 1


def _marker_before(lines: list[str], fence: int) -> tuple[str, str] | None:
    before = fence - 1
    while before >= 0 and not lines[before].strip():
        before -= 1
    marker = _MARKER.match(lines[before]) if before >= 0 else None
    return (marker["kind"], marker["argument"] or "") if marker else None


def _policy(example: Example, tmp_path: Path) -> None:
    parse_policy(example.text, example.where)


def _policy_fragment(example: Example, tmp_path: Path) -> None:
    key = example.argument
    assert key in Policy.model_fields, f"policy-fragment needs a top-level policy key, not {key!r}"
    value = yaml.safe_load(example.text)
    if isinstance(value, dict) and set(value) == {key}:
        value = value[key]
    TypeAdapter(Policy.model_fields[key].annotation).validate_python(value)


def _policy_route(example: Example, tmp_path: Path) -> None:
    source = ROOT / example.argument.strip()
    assert source.is_file(), f"policy-route needs a policy file, not {example.argument!r}"
    quoted = yaml.safe_load(example.text)
    assert isinstance(quoted, list), "policy-route quotes a list of routes"
    assert quoted, "policy-route quotes at least one route"
    document = yaml.safe_load(source.read_text(encoding="utf-8"))
    routes = {route["name"]: route for route in document["routes"]}
    parse_policy(source.read_bytes(), str(source))
    for route in quoted:
        name = route.get("name")
        assert route == routes.get(name), f"route {name!r} differs from its {example.argument}"


def _chat_request(example: Example, tmp_path: Path) -> None:
    parse_chat_request(example.text)


def _anthropic_request(example: Example, tmp_path: Path) -> None:
    from modelrouter.api.anthropic_request import MessagesRequest

    MessagesRequest.model_validate_json(example.text)


def _outcomes(example: Example, tmp_path: Path) -> None:
    from modelrouter.training.outcomes import read_outcomes

    lines = tmp_path / "outcomes.jsonl"
    lines.write_text(example.text + "\n", encoding="utf-8")
    read_outcomes([lines])


def _not_validated(example: Example, tmp_path: Path) -> None:
    assert example.argument.strip(), "not-validated needs a reason: <!-- example: not-validated REASON -->"


VALIDATORS = {
    "policy": _policy,
    "policy-fragment": _policy_fragment,
    "policy-route": _policy_route,
    "chat-request": _chat_request,
    "anthropic-request": _anthropic_request,
    "outcomes": _outcomes,
    "not-validated": _not_validated,
}
"""Marker kind → what checks a block of that kind (raises when it is not valid)."""


def validate(example: Example, tmp_path: Path) -> None:
    """Check ``example`` as its kind says; raises (an assertion or the validator's error) when invalid."""
    assert example.kind in VALIDATORS, (
        f"{example.where}: unknown example kind {example.kind!r}; use {list(VALIDATORS)}"
    )
    VALIDATORS[example.kind](example, tmp_path)


EXAMPLES = [example for path in DOCS for example in find_examples(path, path.read_text(encoding="utf-8"))]


@pytest.mark.parametrize("example", EXAMPLES, ids=[example.where for example in EXAMPLES])
def test_doc_example_is_valid(example: Example, tmp_path: Path) -> None:
    # Given a YAML or JSON block of the docs and its marker
    # When it is validated as what the marker (or its language) says it is
    # Then it is valid
    validate(example, tmp_path)


def test_the_docs_have_examples_of_every_validated_kind() -> None:
    # Given the examples found in README.md and docs/
    kinds = {example.kind for example in EXAMPLES}
    # Then the README's policy quick reference is among them as a complete policy, and the finder sees
    # policies, fragments, chat requests and outcomes
    readme = [
        example for example in EXAMPLES if example.path.name == "README.md" and example.kind == "policy"
    ]
    assert readme, "the README's policy quick reference was not found"
    assert {"policy", "policy-fragment", "chat-request", "outcomes"} <= kinds


@pytest.mark.parametrize(
    ("markdown", "error"),
    [
        ("```yaml\nversion: 1\nname: half-a-policy\n```\n", Exception),
        ('```json\n{"messages": [], "temprature": 1}\n```\n', Exception),
        ("<!-- example: not-validated -->\n```json\n{}\n```\n", AssertionError),
        ("<!-- example: recipe -->\n\n```yaml\na: 1\n```\n", AssertionError),
        ("<!-- example: policy-fragment routes -->\n```yaml\nroutes:\n  - name: r\n```\n", Exception),
    ],
    ids=["unmarked-yaml", "unmarked-json", "no-reason", "unknown-kind", "bad-fragment"],
)
def test_an_invalid_or_badly_marked_block_fails(
    markdown: str, error: type[Exception], tmp_path: Path
) -> None:
    # Given a Markdown text with one block that is not what it claims (or what its language implies)
    (example,) = find_examples(tmp_path / "doc.md", "Intro.\n\n```bash\nmake demo\n```\n\n" + markdown)
    # When it is validated, Then it fails
    with pytest.raises(error):
        validate(example, tmp_path)


def test_blocks_inside_list_items_are_dedented_and_other_languages_skipped(tmp_path: Path) -> None:
    # Given a json block indented under a list item, after a bash block whose body looks like a fence
    markdown = (
        '```bash\necho "```yaml"\n```\n\n- a request:\n\n  <!-- example: chat-request -->\n  ```json\n'
        '  {"messages": [{"role": "user", "content": "Hi"}]}\n  ```\n'
    )
    # When the examples are found
    (example,) = find_examples(tmp_path / "doc.md", markdown)
    # Then only the json block is, dedented, with its marker
    assert (example.kind, example.line, example.text) == (
        "chat-request",
        8,
        '{"messages": [{"role": "user", "content": "Hi"}]}',
    )
    validate(example, tmp_path)


# --- The request metadata table ----------------------------------------------------------------------


def _documented_metadata_keys(heading: str = "## Keys the router reads") -> list[str]:
    """The first column of the table under ``heading`` in docs/request-metadata.md."""
    text = METADATA_DOC.read_text(encoding="utf-8")
    section = text.split(heading + "\n", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("| `")]
    return [row.split("|")[1].strip().strip("`") for row in rows]


def _metadata_keys_tested(policy_file: Path) -> set[str]:
    """Every metadata key a route of ``policy_file`` compares with ``when.metadata``."""
    policy = parse_policy(policy_file.read_bytes(), str(policy_file)).policy
    return {key for route in policy.routes for key in (route.when.metadata or {})}


def test_every_signal_key_the_example_policies_test_has_a_row() -> None:
    # Given the metadata keys the example policies' routes compare
    tested = _metadata_keys_tested(ROOT / "policies" / "example.yaml")
    tested |= _metadata_keys_tested(ROOT / "policies" / "local.yaml")
    # Then each has one row in the signal table, and the table lists no key they do not test
    documented = _documented_metadata_keys("## Signal keys of the example policies")
    assert len(documented) == len(set(documented))
    assert set(documented) == tested


class _Reads(Mapping[str, str]):
    """A mapping of one key the router does not read that records every key looked up in it."""

    def __init__(self) -> None:
        self.items_ = {"ticket": "T-1"}
        self.keys_read: list[str] = []

    def __getitem__(self, key: str) -> str:
        self.keys_read.append(key)
        return self.items_[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self.items_)

    def __len__(self) -> int:
        return len(self.items_)


def test_the_metadata_table_has_one_row_per_key_the_router_reads() -> None:
    # Given the keys the request context reads from metadata
    reads = _Reads()
    RequestContext.from_metadata("req-1", "t1", reads)
    # Then they are ROUTING_METADATA_KEYS, and the docs table lists exactly those, once each
    assert sorted(set(reads.keys_read)) == sorted(ROUTING_METADATA_KEYS)
    assert _documented_metadata_keys() == list(ROUTING_METADATA_KEYS)
    # And the README links the table
    assert "docs/request-metadata.md" in (ROOT / "README.md").read_text(encoding="utf-8")
