"""Reading policy files: YAML or JSON text in, a checked :class:`Policy` out, or every problem with its line.

YAML is read strictly: duplicate keys are errors (PyYAML would silently keep the last), and only
``true``/``false`` are booleans, so a language code ``no`` or a region ``on`` stays a string.

A policy document is checked before it is built: at most :data:`MAX_POLICY_BYTES`, nested at most
:data:`MAX_POLICY_DEPTH` deep, and at most :data:`MAX_POLICY_NODES` values once aliases are expanded
(so neither a deep document nor an alias bomb reaches code that recurses). Whatever goes wrong while
reading one is a :class:`~modelrouter.errors.PolicyError`, never another exception.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from modelrouter.errors import PolicyError
from modelrouter.policy.document import Policy
from modelrouter.policy.validation import check_document
from modelrouter.problems import Problem

__all__ = [
    "MAX_POLICY_BYTES",
    "MAX_POLICY_DEPTH",
    "MAX_POLICY_NODES",
    "LoadedPolicy",
    "load_policy_file",
    "parse_policy",
]

MAX_POLICY_BYTES = 1_000_000
"""Largest policy document accepted, in bytes (the example policy is about 15 KB)."""
MAX_POLICY_DEPTH = 64
"""Deepest nesting of mappings and sequences a policy may have (the policy schema needs about 8)."""
MAX_POLICY_NODES = 200_000
"""Most values a policy may have once YAML aliases are expanded."""

_BaseLoader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _StrictLoader(_BaseLoader):  # type: ignore[valid-type,misc]
    """SafeLoader with YAML 1.2 booleans and no duplicate keys."""


_StrictLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:bool"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_StrictLoader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)


def _construct_mapping(loader: yaml.SafeLoader, node: yaml.MappingNode) -> dict[Any, Any]:
    mapping: dict[Any, Any] = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        if key in mapping:
            raise yaml.constructor.ConstructorError(None, None, f"duplicate key '{key}'", key_node.start_mark)
        mapping[key] = loader.construct_object(value_node, deep=True)
    return mapping


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


@dataclass(frozen=True, slots=True)
class LoadedPolicy:
    """A policy that passed every check, with the warnings found and a digest of its source."""

    policy: Policy
    """The checked policy."""
    warnings: list[Problem]
    """Problems that do not block the policy (e.g. a disabled model still named by a route)."""
    digest: str
    """``sha256:`` digest of the source text: identifies the exact policy content."""


def parse_policy(text: str | bytes, source: str = "policy") -> LoadedPolicy:
    """Parse and check a policy document (YAML or JSON).

    Raises:
        PolicyError: malformed YAML (with line), unknown keys, wrong types or broken references: every
            problem of the document at once, in document order, each with its path and, where known,
            its line.
    """
    raw = text.encode("utf-8", "surrogatepass") if isinstance(text, str) else text
    if len(raw) > MAX_POLICY_BYTES:
        message = f"the policy is {len(raw):,} bytes; at most {MAX_POLICY_BYTES:,} are accepted"
        raise PolicyError([Problem("", message)], source)
    try:
        return _parse(raw, source)
    except PolicyError:
        raise
    except Exception as error:  # RecursionError, or a bug: still a rejected document, never a crash
        message = f"the policy could not be read: {type(error).__name__}: {str(error)[:200]}"
        raise PolicyError([Problem("", message)], source) from None


def _parse(raw: bytes, source: str) -> LoadedPolicy:
    digest = "sha256:" + hashlib.sha256(raw).hexdigest()
    loader = _StrictLoader(raw.decode("utf-8", errors="replace"))
    try:
        root = loader.get_single_node()
        size_problem = _size_problem(root)
        if size_problem is not None:
            raise PolicyError([size_problem], source)
        data = loader.construct_document(root) if root is not None else None
    except yaml.YAMLError as error:
        raise PolicyError([_yaml_problem(error)], source) from None
    finally:
        loader.dispose()
    if not isinstance(data, dict):
        raise PolicyError(
            [Problem("", "a policy must be a mapping with 'version', 'models', ...", 1)], source
        )
    checked = check_document(data)
    if checked.policy is None:
        raise PolicyError(_in_document_order(_with_lines(checked.errors, root)), source)
    return LoadedPolicy(checked.policy, _with_lines(checked.warnings, root), digest)


def load_policy_file(path: str | Path) -> LoadedPolicy:
    """Read and check a policy file.

    Raises:
        PolicyError: the file cannot be read or the policy is invalid.
    """
    file = Path(path)
    try:
        text = file.read_bytes()
    except OSError as error:
        raise PolicyError(
            [Problem("", f"cannot read policy file: {error.strerror or error}")], str(file)
        ) from None
    return parse_policy(text, str(file))


def _size_problem(root: yaml.Node | None) -> Problem | None:
    """Why the document is too deep or too large once aliases are expanded; ``None`` when it is not.

    Walks the node graph with an explicit stack; a node shared through an alias is walked again
    only when reached deeper than before, so the walk is bounded even for an alias bomb or a cycle.
    """
    if root is None:
        return None
    deepest: dict[int, int] = {}
    stack: list[tuple[yaml.Node, int]] = [(root, 1)]
    while stack:
        node, depth = stack.pop()
        if not isinstance(node, yaml.CollectionNode) or deepest.get(id(node), 0) >= depth:
            continue
        if depth > MAX_POLICY_DEPTH:
            return Problem(
                "", f"the policy is nested deeper than {MAX_POLICY_DEPTH} levels", node.start_mark.line + 1
            )
        deepest[id(node)] = depth
        if isinstance(node, yaml.MappingNode):
            stack.extend((part, depth + 1) for pair in node.value for part in pair)
        else:
            stack.extend((child, depth + 1) for child in node.value)
    if _expanded_size(root) > MAX_POLICY_NODES:
        return Problem("", f"the policy has more than {MAX_POLICY_NODES:,} values once aliases are expanded")
    return None


def _expanded_size(root: yaml.Node) -> int:
    """How many nodes the document has with every alias expanded (the graph is acyclic and shallow
    here: the depth check ran first); capped just past :data:`MAX_POLICY_NODES`."""
    sizes: dict[int, int] = {}
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, children_done = stack.pop()
        if id(node) in sizes:
            continue
        if not isinstance(node, yaml.CollectionNode):
            sizes[id(node)] = 1
            continue
        children = (
            [part for pair in node.value for part in pair]
            if isinstance(node, yaml.MappingNode)
            else node.value
        )
        if children_done:
            total = 1 + sum(sizes[id(child)] for child in children)
            sizes[id(node)] = min(total, MAX_POLICY_NODES + 1)
        else:
            stack.append((node, True))
            stack.extend((child, False) for child in children if id(child) not in sizes)
    return sizes[id(root)]


def _yaml_problem(error: yaml.YAMLError) -> Problem:
    mark = getattr(error, "problem_mark", None) or getattr(error, "context_mark", None)
    problem = getattr(error, "problem", None) or str(error)
    context = getattr(error, "context", None)
    message = f"invalid YAML: {problem}" + (f" ({context})" if context else "")
    return Problem("", message, mark.line + 1 if mark is not None else None)


_PATH_PART = re.compile(r"\[(\d+)\]|([^.\[\]]+)")


def _with_lines(problems: list[Problem], root: yaml.Node | None) -> list[Problem]:
    return [Problem(p.path, p.message, _line_of(root, p.path)) for p in problems]


def _in_document_order(problems: list[Problem]) -> list[Problem]:
    """``problems`` sorted by line, then by path (list indexes by number: ``[2]`` before ``[10]``)."""

    def key(problem: Problem) -> tuple[int, list[tuple[int, str]]]:
        parts = [
            (int(index), "") if index else (-1, name) for index, name in _PATH_PART.findall(problem.path)
        ]
        return (problem.line or 0, parts)

    return sorted(problems, key=key)


def _line_of(root: yaml.Node | None, path: str) -> int | None:
    """The 1-based line of the deepest node of ``path`` that exists in the document."""
    node = root
    if node is None:
        return None
    for index, key in _PATH_PART.findall(path):
        child: yaml.Node | None = None
        if index and isinstance(node, yaml.SequenceNode) and int(index) < len(node.value):
            child = node.value[int(index)]
        elif key and isinstance(node, yaml.MappingNode):
            child = next((value for k, value in node.value if k.value == key), None)
        if child is None:
            break
        node = child
    return node.start_mark.line + 1
