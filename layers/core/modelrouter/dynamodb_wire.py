"""DynamoDB request bodies without botocore's shape walk over every attribute value.

botocore's JSON serializer visits each node of an item through its shape model (a method lookup and a
call per attribute, per map entry and per list element); for the provenance record's nested maps that
was the largest part of a request's own time. An ``AttributeValue`` needs nothing of that walk: its
members have no wire names, only ``B`` and ``BS`` change (to base64), and the rest goes out as given.
:func:`speed_up_attribute_values` swaps a DynamoDB client's serializer for one that converts attribute
values directly; everything else still goes through botocore. A property test checks that the bodies
are byte for byte the ones botocore makes.
"""

from __future__ import annotations

import functools
from typing import Any

__all__ = ["speed_up_attribute_values"]

_ATTRIBUTE_VALUE = "AttributeValue"


def speed_up_attribute_values(client: Any) -> bool:
    """Give a DynamoDB ``client`` the direct attribute-value serializer; False (and no change) when the
    client's serializer is not botocore's plain JSON one (validation on, or a botocore that changed)."""
    from botocore.serialize import JSONSerializer

    if type(getattr(client, "_serializer", None)) is not JSONSerializer:
        return False
    client._serializer = _attribute_value_serializer()()
    return True


@functools.cache
def _attribute_value_serializer() -> type:
    """The serializer class, defined once (botocore is imported only when a client is made)."""
    from botocore.serialize import JSONSerializer

    class AttributeValueSerializer(JSONSerializer):  # type: ignore[misc]
        """botocore's JSON serializer, with attribute values converted in one recursive pass."""

        def _serialize_type_structure(self, serialized: Any, value: Any, shape: Any, key: Any) -> None:
            if key is not None and shape.name == _ATTRIBUTE_VALUE:
                serialized[key] = self._attribute_value(value)
                return
            super()._serialize_type_structure(serialized, value, shape, key)

        def _attribute_value(self, value: dict[str, Any]) -> dict[str, Any]:
            converted: dict[str, Any] = {}
            for kind, item in value.items():
                if kind == "M":
                    converted[kind] = {name: self._attribute_value(member) for name, member in item.items()}
                elif kind == "L":
                    converted[kind] = [self._attribute_value(member) for member in item]
                elif kind == "B":
                    converted[kind] = self._get_base64(item)
                elif kind == "BS":
                    converted[kind] = [self._get_base64(member) for member in item]
                elif kind in ("SS", "NS"):
                    converted[kind] = list(item)
                else:  # S, N, NULL, BOOL: as given
                    converted[kind] = item
            return converted

    return AttributeValueSerializer
