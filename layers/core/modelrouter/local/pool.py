"""A function's simulated Lambda containers: one child process each, invocations queued to idle ones.

Lambda runs each execution environment one invocation at a time and scales out by adding
environments; each keeps its own memory (breakers, caches, Powertools' class-level metrics) for its
whole life. :class:`ContainerPool` does the same on this machine with ``size`` processes
(:mod:`modelrouter.local.container_main`), each talking JSON lines over its own socket pair. An invocation
waits in a queue until a container is idle (as requests wait for concurrency); a container that dies
or outlives the function's timeout is killed and replaced by a fresh (cold) one on its next
invocation, and that invocation's caller gets :class:`ContainerError`. A streamed response keeps its
container busy until the stream is exhausted or closed.
"""

from __future__ import annotations

import queue
import threading
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

from modelrouter.lambda_runtime import StreamingResponse
from modelrouter.local.container import (
    Container,
    ContainerError,
    FunctionError,
    FunctionSpec,
    IntegrationTimeoutError,
)
from modelrouter.local.streams import FunctionResult

__all__ = ["ContainerError", "ContainerPool", "FunctionError", "FunctionSpec", "IntegrationTimeoutError"]

_STOP_GRACE_S = 3.0


@dataclass
class _Job:
    event: dict[str, Any]
    future: Future[FunctionResult] = field(default_factory=Future)
    lock: threading.Lock = field(default_factory=threading.Lock)
    abandoned: bool = False
    """The caller stopped waiting: a stream that comes later is closed, not handed over."""


class ContainerPool:
    """``size`` containers of one function; :meth:`invoke` from any thread."""

    def __init__(self, spec: FunctionSpec, size: int) -> None:
        if size < 1:
            raise ValueError("a pool needs at least one container")
        self.spec, self.size = spec, size
        self.replaced = 0
        """Containers replaced after a crash or timeout."""
        self._jobs: queue.Queue[_Job | None] = queue.Queue()
        self._slots: list[Container] = []
        self._workers: list[threading.Thread] = []
        self._stopping = threading.Event()

    def spawn(self) -> ContainerPool:
        """Start every container's process without waiting for them (:meth:`start` waits)."""
        if not self._slots:
            self._slots = [Container(self.spec, number) for number in range(self.size)]
        return self

    def start(self) -> ContainerPool:
        """Start every container at once (unless :meth:`spawn` did) and wait until all are ready.

        Raises:
            ContainerError: a container could not import its handler (nothing is left running).
        """
        self.spawn()
        try:
            for container in self._slots:
                container.wait_ready()
        except BaseException:
            self.stop()
            raise
        for number in range(self.size):
            worker = threading.Thread(
                target=self._work, args=(number,), name=f"{self.spec.name}-container-{number}", daemon=True
            )
            worker.start()
            self._workers.append(worker)
        return self

    def invoke(self, event: dict[str, Any], timeout_s: float | None = None) -> FunctionResult:
        """The handler's response to ``event`` from the first idle container; a stream once its head
        has come within ``timeout_s`` (its container serves nothing else until it is exhausted or
        closed).

        Raises:
            IntegrationTimeoutError: no answer within ``timeout_s`` (a container that took it carries on).
            FunctionError: the handler raised.
            ContainerError: the container died or timed out (it is replaced), or the pool is stopping.
        """
        if self._stopping.is_set():
            raise ContainerError(f"{self.spec.function_name} is stopping")
        job = _Job(event)
        self._jobs.put(job)
        try:
            return job.future.result(timeout=timeout_s)
        except TimeoutError:
            with job.lock:
                if job.future.done() and job.future.exception() is None:
                    return job.future.result()  # it came just now
                job.abandoned = True
            job.future.cancel()  # still queued: no container will take it
            raise IntegrationTimeoutError(
                f"{self.spec.function_name} did not answer in {timeout_s} s"
            ) from None

    def describe(self) -> list[dict[str, Any]]:
        """Each container: number, pid, invocations served, alive."""
        return [
            {"number": c.number, "pid": c.pid, "invocations": c.invocations, "alive": c.alive()}
            for c in self._slots
        ]

    def stop(self) -> None:
        """Refuse new invocations, fail queued ones, stop every container and worker."""
        self._stopping.set()
        while True:
            try:
                job = self._jobs.get_nowait()
            except queue.Empty:
                break
            if job is not None and job.future.set_running_or_notify_cancel():
                job.future.set_exception(ContainerError(f"{self.spec.function_name} is stopping"))
        for _ in self._workers:
            self._jobs.put(None)
        for container in self._slots:
            container.stop()
        for worker in self._workers:
            worker.join(_STOP_GRACE_S)
        self._workers.clear()

    def _work(self, slot: int) -> None:
        while (job := self._jobs.get()) is not None:
            if not job.future.set_running_or_notify_cancel():
                continue  # its caller gave up while it was queued
            try:
                container = self._container(slot)
                result = container.invoke(job.event)
            except BaseException as error:  # every failure goes to the caller
                job.future.set_exception(error)
                continue
            with job.lock:
                if job.abandoned and isinstance(result, StreamingResponse):
                    result.close()  # nobody will read it: the container stops it
                else:
                    job.future.set_result(result)
            container.wait_idle()

    def _container(self, slot: int) -> Container:
        """The slot's container; a dead one is replaced first (a cold start, as in Lambda)."""
        container = self._slots[slot]
        if container.alive():
            return container
        if self._stopping.is_set():
            raise ContainerError(f"{self.spec.function_name} is stopping")
        container.kill()
        self._slots[slot] = container = Container(self.spec, slot)
        self.replaced += 1
        container.wait_ready()
        return container
