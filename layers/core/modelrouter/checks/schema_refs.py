"""References in a request's JSON Schema: they resolve inside the schema itself, or not at all.

jsonschema's default registry fetches any ``$ref`` it does not know (``http://…``, ``file://…``) with
``urlopen``: from a request, that is server-side request forgery. Validators are built with
:func:`local_registry`, which never retrieves anything, and :func:`reference_problems` resolves every
``$ref`` and ``$dynamicRef`` of a schema when it is compiled, so a reference that points outside it (or
to a missing ``$defs`` entry) is a 400 before any model is called, never an error after one. It also
refuses references that loop back to the same place without descending into the answer
(``{"$ref": "#"}``), which no answer could ever be validated against.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from modelrouter.problems import Problem, format_path

if TYPE_CHECKING:
    from referencing import Registry

_Resolver = Any  # referencing.Resolver, which the package does not export

__all__ = ["local_registry", "reference_problems"]

_DATA_KEYWORDS = frozenset({"const", "enum", "examples", "default"})
"""Keywords whose values are data, not schemas: a ``$ref`` key inside them is not a reference."""
_REFERENCES = ("$ref", "$dynamicRef")
_IN_PLACE_ONE = ("not", "if", "then", "else")
_IN_PLACE_MANY = ("allOf", "anyOf", "oneOf")
_MAX_REPORTED = 5


def local_registry() -> Registry[Any]:
    """A ``referencing`` registry that never retrieves a resource: only the schema being validated
    (and the JSON Schema meta-schemas jsonschema ships) can be referred to."""
    from referencing import Registry

    return Registry()  # its default ``retrieve`` raises NoSuchResource for every URI


def reference_problems(schema: dict[str, Any], location: Sequence[str | int]) -> list[Problem]:
    """Every ``$ref``/``$dynamicRef`` of ``schema`` that does not resolve inside it, or that loops
    in place; empty when all are fine. ``location`` is where the schema is in the request."""
    from jsonschema_specifications import REGISTRY as SPECIFICATIONS  # type: ignore[import-untyped]
    from referencing.jsonschema import DRAFT202012

    root = DRAFT202012.create_resource(schema)
    registry = SPECIFICATIONS.combine(local_registry()).with_resource(root.id() or "", root).crawl()
    resolver: _Resolver = registry.resolver_with_root(root)
    problems: list[Problem] = []
    edges: dict[int, list[int]] = {}  # schema object → schemas applied to the same instance
    where: dict[int, tuple[str | int, ...]] = {}
    stack: list[tuple[Any, _Resolver, tuple[str | int, ...]]] = [(schema, resolver, ())]
    while stack and len(problems) < _MAX_REPORTED:
        node, resolver, path = stack.pop()
        if isinstance(node, list):
            stack.extend((child, resolver, (*path, index)) for index, child in enumerate(node))
            continue
        if not isinstance(node, dict):
            continue
        if isinstance(node.get("$id"), str):
            resolver = resolver.in_subresource(DRAFT202012.create_resource(node))
        where[id(node)] = path
        out = edges.setdefault(id(node), [])
        for keyword in _REFERENCES:
            ref = node.get(keyword)
            if isinstance(ref, str):
                target, problem = _resolve(resolver, ref)
                if problem:
                    problems.append(Problem(format_path((*location, *path, keyword)), problem))
                elif isinstance(target, dict):
                    out.append(id(target))
        out.extend(id(child) for child in _in_place(node))
        stack.extend(
            (child, resolver, (*path, key))
            for key, child in node.items()
            if key not in _DATA_KEYWORDS and isinstance(child, dict | list)
        )
    if not problems:
        looping = _cycle(edges)
        if looping is not None:
            problems.append(
                Problem(
                    format_path((*location, *where.get(looping, ()))),
                    "references loop back here without descending into the answer, "
                    "so no answer could ever be validated",
                )
            )
    return problems


def _resolve(resolver: _Resolver, ref: str) -> tuple[Any, str | None]:
    from referencing.exceptions import Unresolvable

    try:
        target = resolver.lookup(ref).contents
    except Unresolvable:
        return None, (
            f"'{_short(ref)}' does not resolve inside this schema "
            "(only references within the schema are allowed; nothing is fetched)"
        )
    except Exception as error:  # a malformed reference; never let it escape as a 500
        return None, f"'{_short(ref)}' is not a usable reference ({type(error).__name__})"
    if not isinstance(target, dict | bool):
        return None, f"'{_short(ref)}' points to a {type(target).__name__}, not to a schema"
    return target, None


def _in_place(node: dict[str, Any]) -> list[dict[str, Any]]:
    """The subschemas of ``node`` that apply to the same instance as ``node`` itself."""
    children = [node[key] for key in _IN_PLACE_ONE if isinstance(node.get(key), dict)]
    for key in _IN_PLACE_MANY:
        if isinstance(node.get(key), list):
            children.extend(child for child in node[key] if isinstance(child, dict))
    dependent = node.get("dependentSchemas")
    if isinstance(dependent, dict):
        children.extend(child for child in dependent.values() if isinstance(child, dict))
    return children


def _cycle(edges: dict[int, list[int]]) -> int | None:
    """A node on a cycle of ``edges``, found without recursion; ``None`` when there is none."""
    done: set[int] = set()
    for start, successors_of_start in edges.items():
        if start in done:
            continue
        on_path = {start}
        stack = [(start, iter(successors_of_start))]
        while stack:
            node, successors = stack[-1]
            following = next(successors, None)
            if following is None:
                stack.pop()
                on_path.discard(node)
                done.add(node)
            elif following in on_path:
                return following
            elif following not in done:
                on_path.add(following)
                stack.append((following, iter(edges.get(following, ()))))
    return None


def _short(ref: str) -> str:
    text = ref if len(ref) <= 80 else ref[:79] + "…"
    return text.encode("utf-8", "backslashreplace").decode("utf-8")
