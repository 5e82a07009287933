"""Activation of uploaded policies: validation with a dry run, the active pointer routers follow,
rollback and the attempt history (``docs/activation.md``).

Pure parts (:mod:`.layout`, :mod:`.samples`, :mod:`.dry_run`, :mod:`.validation`, :mod:`.s3_event`) and
I/O parts (:mod:`.control` over S3, :mod:`.notify` to EventBridge, :mod:`.activator` tying them). Heavy
modules are imported by whoever needs them: a router imports only :mod:`.layout`.
"""

from __future__ import annotations

from modelrouter.activation.layout import (
    DEFAULT_UPLOAD_KEY,
    INCOMING_PREFIX,
    POINTER_KEY,
    ActivePointer,
    AttemptRecord,
    PointerError,
    PolicyVersion,
)

__all__ = [
    "DEFAULT_UPLOAD_KEY",
    "INCOMING_PREFIX",
    "POINTER_KEY",
    "ActivePointer",
    "AttemptRecord",
    "PointerError",
    "PolicyVersion",
]
