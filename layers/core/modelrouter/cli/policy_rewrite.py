"""Rewriting a weighted route's variants in a policy's own text, so comments and layout survive.

PyYAML's composed nodes carry the exact character span of every value. Swapping two variants' ``models``
replaces only those spans: item by item when the two lists are as long (every comment stays), else each list
as a whole, written in the style of the list it replaces (``[a, b]`` or one ``- a`` line per model at the
same indentation; comments between that list's items go). JSON policies are YAML too, so they work the same.
"""

from __future__ import annotations

from dataclasses import dataclass

import yaml

__all__ = ["RewriteError", "swap_variant_models"]


class RewriteError(ValueError):
    """The text does not hold what the rewrite needs (the route, its variants, their model lists)."""


@dataclass(frozen=True, slots=True)
class _Span:
    start: int
    end: int
    text: str


def swap_variant_models(text: str, route: str, first: str, second: str) -> str:
    """``text`` with the ``models`` of variants ``first`` and ``second`` of route ``route`` swapped.

    Raises:
        RewriteError: the text is not YAML, or has no such route, variant or model list.
    """
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as error:
        raise RewriteError(f"not YAML: {error}") from None
    variants = _value(
        _named(_items(_value(root, "routes", "the policy"), "routes"), route, "route"), "variants", route
    )
    listed = _items(variants, f"route '{route}' variants")
    a = _sequence(_value(_named(listed, first, "variant"), "models", first), f"variant '{first}' models")
    b = _sequence(_value(_named(listed, second, "variant"), "models", second), f"variant '{second}' models")
    a_items, b_items = _items(a, f"variant '{first}' models"), _items(b, f"variant '{second}' models")
    if len(a_items) == len(b_items):
        spans = [
            _Span(x.start_mark.index, x.end_mark.index, _source(text, y))
            for x, y in zip(a_items + b_items, b_items + a_items, strict=True)
        ]
    else:
        sources_a = [_source(text, item) for item in a_items]
        sources_b = [_source(text, item) for item in b_items]
        spans = [_list_span(text, a, sources_b), _list_span(text, b, sources_a)]
    for span in sorted(spans, key=lambda s: s.start, reverse=True):
        text = text[: span.start] + span.text + text[span.end :]
    return text


def _source(text: str, node: yaml.Node) -> str:
    return text[node.start_mark.index : node.end_mark.index]


def _list_span(text: str, node: yaml.SequenceNode, items: list[str]) -> _Span:
    """The span of a list's items, and ``items`` written in that list's style."""
    if node.flow_style:
        return _Span(node.start_mark.index, node.end_mark.index, "[" + ", ".join(items) + "]")
    first, last = node.value[0], node.value[-1]
    line_start = text.rfind("\n", 0, first.start_mark.index) + 1
    prefix = text[line_start : first.start_mark.index]  # "      - ": the indentation and the dash
    if prefix.strip() != "-":
        raise RewriteError("a model list in block style must have one '- model' per line")
    start, separator = first.start_mark.index, "\n" + prefix
    return _Span(start, last.end_mark.index, separator.join(items))


def _sequence(node: yaml.Node | None, what: str) -> yaml.SequenceNode:
    if not isinstance(node, yaml.SequenceNode) or not node.value:
        raise RewriteError(f"{what} is not a non-empty list")
    return node


def _items(node: yaml.Node | None, what: str) -> list[yaml.Node]:
    return list(_sequence(node, what).value)


def _value(node: yaml.Node | None, key: str, what: str) -> yaml.Node:
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            if isinstance(key_node, yaml.ScalarNode) and key_node.value == key:
                found: yaml.Node = value_node
                return found
    raise RewriteError(f"{what} has no '{key}'")


def _named(items: list[yaml.Node], name: str, kind: str) -> yaml.Node:
    for item in items:
        found = _value(item, "name", kind) if isinstance(item, yaml.MappingNode) else None
        if isinstance(found, yaml.ScalarNode) and found.value == name:
            return item
    raise RewriteError(f"no {kind} '{name}'")
