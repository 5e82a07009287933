"""AWS test rig: embedded AWS and the template's resources, from :mod:`modelrouter.local.aws`."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from modelrouter.local.aws import EmbeddedAws, create_tables, load_template, table_definitions

__all__ = ["create_tables", "load_template", "serial_moto_server", "table_definitions"]


@contextmanager
def serial_moto_server() -> Iterator[str]:
    """A moto server on 127.0.0.1 that handles one request at a time; yields its endpoint URL."""
    server = EmbeddedAws()
    try:
        yield server.start()
    finally:
        server.stop()
