"""``bedrock-runtime`` clients, one per region per container, and calls bounded by a deadline.

Clients are created lazily, on the first call to a region, and then reused for the life of the
Lambda container (creating one loads the service model and costs tens of milliseconds). boto3 is
imported inside the default factory only, so importing modelrouter never pays for it.

Retries: the default factory configures botocore with ``total_max_attempts: 1``. The router's
executor already retries retryable errors with backoff, honours the call's time budget and feeds the
circuit breakers; botocore's own retries would multiply attempts behind its back and blow the budget.

Deadlines: boto3 has no per-call timeout, only the client's connect and read timeouts, which bound
each socket operation and not the whole call. The client's ``read_timeout`` is therefore a ceiling,
and :func:`call_with_deadline` enforces each call's own budget by running it on a small shared thread
pool and waiting at most that long. A call that misses its deadline is abandoned, not cancelled:
it finishes (or hits the read timeout) in the background and its result is dropped.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor, wait
from typing import Any, TypeVar

from modelrouter import timeouts
from modelrouter.providers.bedrock.error_mapping import PROVIDER
from modelrouter.providers.errors import ProviderTimeoutError

__all__ = [
    "DEFAULT_CONNECT_TIMEOUT_S",
    "DEFAULT_READ_TIMEOUT_S",
    "ClientCache",
    "ClientFactory",
    "call_with_deadline",
    "default_client_factory",
]

ClientFactory = Callable[[str], Any]
"""Creates a ``bedrock-runtime`` client for a region (botocore clients are untyped)."""

DEFAULT_CONNECT_TIMEOUT_S = timeouts.BEDROCK_CONNECT_TIMEOUT_S
"""Seconds to open a connection."""
DEFAULT_READ_TIMEOUT_S = timeouts.BEDROCK_READ_TIMEOUT_S
"""Ceiling on a wait for response bytes; each call's own deadline is usually much shorter."""

_POOL_WORKERS = 16
"""Calls in flight per container, including abandoned ones still running in the background."""

_T = TypeVar("_T")
_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()


def default_client_factory(
    *,
    endpoint_url: str | None = None,
    connect_timeout_s: float = DEFAULT_CONNECT_TIMEOUT_S,
    read_timeout_s: float = DEFAULT_READ_TIMEOUT_S,
) -> ClientFactory:
    """A factory of real ``bedrock-runtime`` clients, single-attempt, with the given timeouts.

    Args:
        endpoint_url: Where to send calls instead of the regional AWS endpoint (a local server).
        connect_timeout_s: Seconds to open a connection.
        read_timeout_s: Ceiling on a wait for response bytes.
    """

    def create(region: str) -> Any:
        import botocore.session
        from botocore.config import Config

        from modelrouter.tracing.botocore_hooks import instrument_client

        config = Config(
            retries={"total_max_attempts": timeouts.BEDROCK_MAX_ATTEMPTS, "mode": "standard"},
            connect_timeout=connect_timeout_s,
            read_timeout=read_timeout_s,
            max_pool_connections=_POOL_WORKERS,
        )
        # A session per client: boto3's default session is not safe to share across threads.
        session = botocore.session.Session()
        client = session.create_client(
            "bedrock-runtime", region_name=region, endpoint_url=endpoint_url, config=config
        )
        instrument_client(client)
        return client

    return create


class ClientCache:
    """One client per region, created on first use by ``factory``; safe to use from several threads."""

    def __init__(self, factory: ClientFactory) -> None:
        self._factory = factory
        self._clients: dict[str, Any] = {}
        self._lock = threading.Lock()

    def get(self, region: str) -> Any:
        """The client for ``region``, created once."""
        client = self._clients.get(region)
        if client is None:
            with self._lock:
                client = self._clients.get(region)
                if client is None:
                    client = self._factory(region)
                    self._clients[region] = client
        return client


def call_with_deadline(
    function: Callable[[], _T],
    timeout_s: float,
    what: str,
    *,
    on_abandoned: Callable[[_T], object] | None = None,
) -> _T:
    """Run ``function`` and return its result, waiting at most ``timeout_s`` seconds.

    Exceptions raised by ``function`` propagate unchanged. ``on_abandoned`` receives the result of a
    call that finishes after it was given up on (to close a stream nobody will read).

    Raises:
        ProviderTimeoutError: the call did not finish in time; it is abandoned and finishes in the
            background (a call still queued behind other calls is dropped instead).
    """
    future = _shared_pool().submit(function)
    done, _ = wait([future], timeout=max(timeout_s, 0.0))
    if not done:
        if not future.cancel() and on_abandoned is not None:
            cleanup = on_abandoned

            def late(finished: Future[_T]) -> None:
                if finished.exception() is None:
                    cleanup(finished.result())

            future.add_done_callback(late)
        raise ProviderTimeoutError(f"{what} did not finish within {timeout_s:g} s", provider=PROVIDER)
    return future.result()


def _shared_pool() -> ThreadPoolExecutor:
    global _pool  # noqa: PLW0603 - one lazily created pool per container
    if _pool is None:
        with _pool_lock:
            if _pool is None:
                _pool = ThreadPoolExecutor(max_workers=_POOL_WORKERS, thread_name_prefix="bedrock-call")
    return _pool
