"""``Idempotency-Key`` through the handler and Powertools idempotency on moto: one call, one charge."""

from __future__ import annotations

import copy
import json
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest

from modelrouter.providers.types import ProviderCall, ProviderResult
from tests.fakes import EchoProvider
from tests.helpers import load_event, set_header, with_tenant
from tests.integration.rig import RouterRig, router_environment, running_router


@pytest.fixture
def rig(monkeypatch: pytest.MonkeyPatch) -> Iterator[RouterRig]:
    router_environment(monkeypatch)
    with running_router() as running:
        yield running


def _attempt(number: int) -> dict[str, object]:
    """The idempotent event, as the n-th delivery (API Gateway gives each its own request id)."""
    event = copy.deepcopy(load_event("chat-idempotent"))
    event["requestContext"]["requestId"] = f"req-idem-{number}"
    return event


def _ledger_items(rig: RouterRig) -> list[dict[str, object]]:
    items = rig.dynamodb.scan(TableName=rig.tables["BudgetTable"])["Items"]
    return [item for item in items if item["sk"]["S"].startswith("ledger#")]


def test_same_key_ten_times_serially_makes_one_call_and_one_charge(rig: RouterRig) -> None:
    # When the same keyed request is sent ten times, one after the other
    responses = [rig.call(_attempt(n)) for n in range(10)]

    # Then one model call, one ledger entry, one provenance record, and ten identical bodies
    assert {status for status, _, _ in responses} == {200}
    assert len({json.dumps(body, sort_keys=True) for _, body, _ in responses}) == 1
    assert [headers["idempotent-replayed"] for _, _, headers in responses] == ["false"] + ["true"] * 9
    assert rig.model_calls() == 1
    assert len(_ledger_items(rig)) == 1
    assert len(rig.provenance_items("acme-support")) == 1


def test_same_key_ten_times_concurrently_makes_one_call(rig: RouterRig) -> None:
    # Given a model slow enough that the copies overlap
    release = threading.Event()
    echo = rig.providers[next(iter(rig.providers))]

    def slow(provider: EchoProvider) -> None:
        original = provider.complete

        def complete(call: ProviderCall) -> ProviderResult:
            release.wait(5)
            return original(call)

        provider.complete = complete  # type: ignore[method-assign]

    for provider in rig.providers.values():
        slow(provider)
    assert echo is not None

    # When ten copies arrive at once, and the model answers only once the other nine have their
    # answers (a timer here made the test depend on the machine: a copy that started late on a slow
    # runner found the call finished and was, correctly, replayed)
    finished = threading.Semaphore(0)
    with ThreadPoolExecutor(max_workers=10) as pool:
        futures = [pool.submit(rig.call_direct, _attempt(n)) for n in range(10)]
        for future in futures:
            future.add_done_callback(lambda _: finished.release())
        for _ in range(9):
            finished.acquire(timeout=5)
        release.set()
        results = [future.result() for future in futures]

    # Then exactly one ran; the others were told it is in progress (409) and may retry
    statuses = sorted(status for status, _, _ in results)
    assert statuses.count(200) == 1
    assert set(statuses) <= {200, 409}
    conflict = next(body for status, body, _ in results if status == 409)
    assert conflict["error"]["code"] == "idempotency_in_progress"
    assert rig.model_calls() == 1
    # and retries after it finished replay the same body
    first = next(body for status, body, _ in results if status == 200)
    retries = [rig.call(_attempt(100 + n)) for n in range(3)]
    assert all(status == 200 and body == first for status, body, _ in retries)
    assert rig.model_calls() == 1
    assert len(_ledger_items(rig)) == 1


def test_same_key_with_another_body_is_422(rig: RouterRig) -> None:
    # Given a first request with the key
    rig.call(_attempt(1))

    # When the key is reused with a different prompt
    reused = _attempt(2)
    request = json.loads(reused["body"])
    request["messages"][-1]["content"] = "A different question entirely."
    reused["body"] = json.dumps(request)
    status, body, _ = rig.call(reused)

    # Then it is refused, and nothing more is called
    assert status == 422
    assert body["error"]["code"] == "idempotency_key_reused"
    assert rig.model_calls() == 1


def test_keys_are_scoped_to_the_tenant(rig: RouterRig) -> None:
    # Given acme-support used a key
    rig.call(_attempt(1))

    # When devtools sends the same key and body
    other = _attempt(2)
    with_tenant(other, "devtools")
    status, body, headers = rig.call(other)

    # Then devtools gets its own answer, not acme's
    assert status == 200, body
    assert headers["idempotent-replayed"] == "false"
    assert rig.model_calls() == 2


def test_a_failed_request_is_not_stored_and_can_be_retried(rig: RouterRig) -> None:
    # Given every model failing for the first delivery
    policy = rig.runtime.policies.current().policy
    from modelrouter.providers.errors import ProviderServerError

    for provider in rig.providers.values():
        provider.failing = {
            m.id: ProviderServerError("down", provider="fake", status=500) for m in policy.models
        }
    assert rig.call(_attempt(1))[0] == 502

    # When the models recover and the client retries with the same key
    for provider in rig.providers.values():
        provider.failing = {}
    status, body, headers = rig.call(_attempt(2))

    # Then the retry runs for real
    assert status == 200, body
    assert headers["idempotent-replayed"] == "false"


def test_an_unprintable_key_is_400(rig: RouterRig) -> None:
    event = _attempt(1)
    set_header(event, "Idempotency-Key", "x" * 300)
    status, body, _ = rig.call(event)
    assert status == 400
    assert body["error"]["param"] == "Idempotency-Key"


def test_a_tenants_shorter_window_is_how_long_the_answer_is_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given acme-support keeps idempotent responses for 10 minutes only
    import time

    import yaml

    from tests.helpers import EXAMPLE_POLICY

    router_environment(monkeypatch)
    policy = yaml.safe_load(EXAMPLE_POLICY.read_text())
    next(t for t in policy["tenants"] if t["id"] == "acme-support")["idempotency_window_s"] = 600
    with running_router(yaml.safe_dump(policy, sort_keys=False)) as rig:
        # When a keyed request is answered
        before = int(time.time())
        status, _, _ = rig.call(_attempt(1))
        # Then its stored response (answer text included) expires after the tenant's window, not 24 h
        assert status == 200
        (item,) = rig.dynamodb.scan(TableName=rig.tables["IdempotencyTable"])["Items"]
        assert before + 600 <= int(item["expiration"]["N"]) <= int(time.time()) + 600
