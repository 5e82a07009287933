"""Test configuration: hypothesis profiles (CI runs the deterministic one) and shared fixtures."""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, settings

settings.register_profile(
    "ci", max_examples=150, derandomize=True, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile("dev", max_examples=100)
settings.load_profile("ci" if os.environ.get("CI") else "dev")


@pytest.fixture
def listener() -> Iterator[tuple[str, socket.socket]]:
    """A real TCP listener on localhost, as ``(url, server)``: whatever connects is caught by ``accept``."""
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    server.settimeout(0.3)
    previous = socket.getdefaulttimeout()
    socket.setdefaulttimeout(2)  # code that does connect (the old remote retrieval) fails fast
    try:
        yield f"http://127.0.0.1:{server.getsockname()[1]}", server
    finally:
        socket.setdefaulttimeout(previous)
        server.close()
