"""Two router containers (real runtimes, in process, on moto with the template's tables) sharing the
HealthTable: a provider failing in one cools the model down in the other within the cache time, and
the opening is one BreakerOpened EMF metric with the model dimension."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import yaml
from aws_lambda_powertools import Logger, Metrics

from modelrouter.api import endpoints
from modelrouter.api.runtime import RouterRuntime, build_runtime
from modelrouter.api.telemetry import PowertoolsTelemetry
from modelrouter.health.cache import CACHE_S
from modelrouter.policy import ProviderKind
from modelrouter.providers.errors import ProviderServerError
from modelrouter.settings import Settings
from modelrouter.telemetry_names import Metric
from tests.fakes import EchoProvider, FakeClock
from tests.helpers import minimal_policy, wait_for
from tests.integration.rig import router_environment, running_router

FAILURES = 3


@dataclass
class Container:
    """One router container: its runtime and its providers."""

    runtime: RouterRuntime
    provider: EchoProvider
    requests: int = 0

    def ask(self) -> tuple[int, dict[str, Any]]:
        """One chat request; its status and JSON body."""
        self.requests += 1
        body = json.dumps({"model": "auto", "messages": [{"role": "user", "content": "Hello"}]}).encode()
        response = endpoints.chat(
            self.runtime, tenant_id="t1", body=body, headers={}, request_id=f"{id(self)}-{self.requests}"
        )
        assert isinstance(response, endpoints.HttpResponse)
        return response.status, json.loads(response.body)

    def calls_to(self, model: str) -> int:
        return sum(1 for call in self.provider.calls if call.model.id == model)


@dataclass
class Stack:
    """The router rig's bucket and tables (its policy made active as the rig does it), with a
    HealthTable setting, and an epoch clock the containers' shared health reads."""

    clock: FakeClock
    settings: Settings
    s3: Any
    dynamodb: Any

    def container(self, failing: dict[str, ProviderServerError] | None = None) -> Container:
        provider = EchoProvider(ProviderKind.BEDROCK, failing=failing or {})
        telemetry = PowertoolsTelemetry(Logger(service="modelrouter"), Metrics())
        runtime = build_runtime(
            self.settings,
            telemetry,
            s3_client=self.s3,
            dynamodb_client=self.dynamodb,
            providers=lambda: {ProviderKind.BEDROCK: provider},
            health_wall=self.clock.now,
        )
        return Container(runtime, provider)


@pytest.fixture
def stack(monkeypatch: pytest.MonkeyPatch) -> Iterator[Stack]:
    router_environment(monkeypatch)
    document = minimal_policy()  # route default: small, then large
    document["execution"] = {
        "cooldown": {"failures": FAILURES, "window_s": 60, "pause_s": 30},
        "max_attempts_per_model": 1,
    }
    with running_router(yaml.safe_dump(document).encode()) as rig:
        settings = rig.runtime.settings.model_copy(update={"health_table": rig.tables["HealthTable"]})
        yield Stack(FakeClock(start=time.time()), settings, rig.s3, rig.dynamodb)


def test_a_model_failing_in_one_container_cools_down_in_the_other(
    stack: Stack, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given two containers; B has served a request (its copy of the shared health is fresh)
    a = stack.container(failing={"small": ProviderServerError("upstream 500")})
    b = stack.container()
    assert b.ask()[0] == 200
    assert b.calls_to("small") == 1
    # When 'small' fails in A often enough to open its breaker (A's requests fall back to 'large')
    for _ in range(FAILURES):
        status, body = a.ask()
        assert (status, body["model"]) == (200, "large")
    # Then B, whose copy is not due yet, still calls 'small'
    assert "small" not in b.runtime.service.cooling_down()
    assert b.ask()[0] == 200
    assert b.calls_to("small") == 2
    # And once its copy is due (a cache time later), B skips 'small' without calling it
    stack.clock.advance(CACHE_S)
    wait_for(lambda: "small" in b.runtime.service.cooling_down())
    status, body = b.ask()
    assert (status, body["model"]) == (200, "large")
    assert b.calls_to("small") == 2
    # And the opening was reported once, as its own EMF document with the model dimension
    documents = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    opened = [doc for doc in documents if Metric.BREAKER_OPENED in doc]
    assert len(opened) == 1
    assert opened[0]["model"] == "small"
    directive = opened[0]["_aws"]["CloudWatchMetrics"][0]
    assert directive["Namespace"] == "ModelRouterTest"
    assert [sorted(dimensions) for dimensions in directive["Dimensions"]] == [["model", "service"]]
