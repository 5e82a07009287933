"""HTTP/1.1 plumbing shared by the local servers: chunked bodies written as they are produced, and
whether a client has hung up."""

from __future__ import annotations

import select
import socket
from collections.abc import Callable, Iterator
from io import BufferedIOBase

__all__ = ["Gone", "hung_up", "never_gone", "write_chunked"]

Gone = Callable[[], bool]
"""Whether the client has closed its connection."""


def never_gone() -> bool:
    """A client that never hangs up (direct calls, tests)."""
    return False


def hung_up(connection: socket.socket) -> bool:
    """Whether the peer closed ``connection`` (readable with nothing to read)."""
    try:
        readable, _, _ = select.select([connection], [], [], 0)
        return bool(readable) and not connection.recv(1, socket.MSG_PEEK)
    except (OSError, ValueError):
        return True


def write_chunked(writer: BufferedIOBase, chunks: Iterator[bytes], gone: Gone = never_gone) -> bool:
    """Write ``chunks`` in chunked encoding, each flushed as it comes, then the last chunk; True when
    the whole body was written.

    False, the body left without its last chunk (the caller closes the connection), when ``chunks``
    raises (a stream cut, a function failing mid-stream), ``gone()`` says the client left or a write
    fails. ``chunks`` is closed whatever happens.
    """
    try:
        while True:
            try:
                chunk = next(chunks, None)
            except Exception:  # the producer broke: end abruptly, as the real services do
                return False
            if gone():
                return False
            if chunk is None:
                writer.write(b"0\r\n\r\n")
                writer.flush()
                return True
            if chunk:
                writer.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                writer.flush()
    except OSError:
        return False
    finally:
        closer = getattr(chunks, "close", None)
        if callable(closer):
            closer()
