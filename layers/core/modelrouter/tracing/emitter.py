"""Sends finished segment documents to the X-Ray daemon over UDP (fire and forget)."""

from __future__ import annotations

import json
import logging
import socket
from typing import Any

__all__ = ["DEFAULT_DAEMON_ADDRESS", "MAX_DOCUMENT_BYTES", "UdpEmitter", "daemon_address"]

DEFAULT_DAEMON_ADDRESS = ("127.0.0.1", 2000)
"""Where the daemon listens when ``AWS_XRAY_DAEMON_ADDRESS`` is unset (Lambda always sets it)."""
MAX_DOCUMENT_BYTES = 62_000
"""A UDP datagram carries at most 64 KB; a larger document is dropped (and logged) rather than cut."""
_PROTOCOL_HEADER = b'{"format": "json", "version": 1}\n'

logger = logging.getLogger(__name__)


def daemon_address(value: str | None) -> tuple[str, int]:
    """The daemon's UDP address from ``AWS_XRAY_DAEMON_ADDRESS`` (``host:port``, or
    ``tcp:host:port udp:host:port``); the default when unset or malformed."""
    if not value:
        return DEFAULT_DAEMON_ADDRESS
    parts = value.split()
    udp = next((part[4:] for part in parts if part.startswith("udp:")), parts[0])
    host, _, port = udp.rpartition(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        return DEFAULT_DAEMON_ADDRESS
    return host, int(port)


class UdpEmitter:
    """One UDP socket per container, opened on the first send."""

    def __init__(self, address: tuple[str, int]) -> None:
        """Send to ``address`` (host, port)."""
        self.address = address
        self._socket: socket.socket | None = None

    def send(self, document: dict[str, Any]) -> None:
        """Send one segment document; never raises (tracing must not fail a request)."""
        try:
            payload = json.dumps(document, separators=(",", ":"), default=str).encode("utf-8")
            if len(payload) > MAX_DOCUMENT_BYTES:
                logger.warning("trace document of %d bytes dropped: over the UDP limit", len(payload))
                return
            if self._socket is None:
                self._socket = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                self._socket.setblocking(False)
            self._socket.sendto(_PROTOCOL_HEADER + payload, self.address)
        except (OSError, TypeError, ValueError) as error:
            logger.warning("trace document not sent: %s", error)
