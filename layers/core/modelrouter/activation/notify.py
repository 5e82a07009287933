"""EventBridge events of activation: ``Policy Activated`` and ``Policy Activation Rejected`` (source
``modelrouter``, the account's default bus), named in :mod:`modelrouter.telemetry_names`."""

from __future__ import annotations

import json
from typing import Any, Protocol

from modelrouter.activation.layout import ActivePointer, AttemptRecord
from modelrouter.telemetry_names import EVENT_SOURCE

__all__ = ["EventBridgeNotifier", "Notifier", "NotifyError", "activated_detail", "rejected_detail"]


class NotifyError(RuntimeError):
    """EventBridge did not take the event."""


class Notifier(Protocol):
    """Where activation events go."""

    def publish(self, detail_type: str, detail: dict[str, Any]) -> None:
        """Send one event (raises on failure; the activator logs it and carries on)."""
        ...


def activated_detail(pointer: ActivePointer) -> dict[str, Any]:
    """The ``Policy Activated`` detail of the pointer just written."""
    return {
        "version_id": pointer.version_id,
        "key": pointer.key,
        "digest": pointer.digest,
        "previous_version_id": pointer.previous.version_id if pointer.previous else None,
        "activated_by": pointer.activated_by,
    }


def rejected_detail(record: AttemptRecord) -> dict[str, Any]:
    """The ``Policy Activation Rejected`` detail of a rejected attempt."""
    return {
        "version_id": record.version_id,
        "key": record.key,
        "problems": list(record.problems),
        "problem_count": record.problem_count,
        "by": record.by,
    }


class EventBridgeNotifier:
    """Puts each event on the default event bus with ``client`` (a boto3 ``events`` client)."""

    def __init__(self, client: Any, bus: str = "default") -> None:
        self._client, self._bus = client, bus

    def publish(self, detail_type: str, detail: dict[str, Any]) -> None:
        """Put one event.

        Raises:
            NotifyError: EventBridge refused the entry.
            botocore errors: it could not be reached.
        """
        response = self._client.put_events(
            Entries=[
                {
                    "Source": EVENT_SOURCE,
                    "DetailType": detail_type,
                    "Detail": json.dumps(detail, sort_keys=True),
                    "EventBusName": self._bus,
                }
            ]
        )
        if response.get("FailedEntryCount"):
            entry = (response.get("Entries") or [{}])[0]
            raise NotifyError(f"{entry.get('ErrorCode', 'error')}: {entry.get('ErrorMessage', '')}")
