"""Activation end to end on moto: the activator Lambda handler on S3 events (metric, EventBridge event,
history), routers that follow the pointer (a container started after a rejected upload serves the last
good version), hostile events, and ``policy push``/``history``/``rollback`` through the CLI."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
import yaml

from modelrouter.activation.layout import DEFAULT_UPLOAD_KEY, POINTER_KEY, ActivePointer
from modelrouter.activation.s3_event import object_created_event
from modelrouter.api.runtime import build_runtime
from modelrouter.cli.main import EXIT_OK, EXIT_REJECTED, EXIT_USAGE
from modelrouter.local.functions import load_function
from modelrouter.telemetry_names import EventType, Metric
from tests.activation_helpers import activating, upload
from tests.helpers import EXAMPLE_POLICY, load_event, minimal_policy, run_cli
from tests.integration.rig import BUCKET, RouterRig, router_environment, running_router
from tests.learned_fixtures import ROUTER_KEY, keyword_router_bytes, learned_policy


@pytest.fixture
def rig(monkeypatch: pytest.MonkeyPatch) -> Iterator[RouterRig]:
    router_environment(monkeypatch)
    for name in ("POLICY_BUCKET", "POLICY_KEY", "POLICY_POINTER_KEY"):
        monkeypatch.delenv(name, raising=False)
    with running_router() as running:
        yield running


class Activator:
    """The activator Lambda's handler on the rig's moto, its EventBridge events delivered to a queue."""

    def __init__(self, rig: RouterRig) -> None:
        self.module = load_function("policy_activator")
        sqs = boto3.client("sqs", region_name="us-east-1")
        events = boto3.client("events", region_name="us-east-1")
        self.queue = sqs.create_queue(QueueName="activation-events")["QueueUrl"]
        attributes = sqs.get_queue_attributes(QueueUrl=self.queue, AttributeNames=["QueueArn"])
        arn = attributes["Attributes"]["QueueArn"]
        events.put_rule(Name="modelrouter", EventPattern=json.dumps({"source": ["modelrouter"]}))
        events.put_targets(Rule="modelrouter", Targets=[{"Id": "queue", "Arn": arn}])
        self.sqs, self.rig = sqs, rig
        self.module.set_runtime(self.module.build_runtime(BUCKET, rig.s3, events))
        # Its logs go to the rig's too: a Logger shares the router's handler only when both were made
        # for one service name, which depends on what this process imported first.
        self._handler = self.module.logger.registered_handler
        self._stream, self._handler.stream = self._handler.stream, rig.logs

    def on(self, event: Any) -> dict[str, Any]:
        answer: dict[str, Any] = self.module.handler(event, self.rig.context)
        return answer

    def upload(self, body: str | bytes, key: str = DEFAULT_UPLOAD_KEY) -> dict[str, Any]:
        """Upload ``body`` and deliver its Object Created event to the handler."""
        version = upload(self.rig.s3, BUCKET, body, key)
        size = len(body)
        return self.on(object_created_event(BUCKET, version.key, version.version_id, size))

    def events(self) -> list[dict[str, Any]]:
        messages = self.sqs.receive_message(QueueUrl=self.queue, MaxNumberOfMessages=10).get("Messages", [])
        return [json.loads(message["Body"]) for message in messages]

    def close(self) -> None:
        self._handler.stream = self._stream
        self.module.set_runtime(None)


@pytest.fixture
def activator(rig: RouterRig) -> Iterator[Activator]:
    running = Activator(rig)
    try:
        yield running
    finally:
        running.close()


def emf(stdout: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stdout.splitlines() if line.startswith("{") and "_aws" in line]


def example_with(change: Any) -> str:
    document = yaml.safe_load(EXAMPLE_POLICY.read_text())
    change(document)
    return yaml.safe_dump(document, sort_keys=False)


def schema_error(document: dict[str, Any]) -> None:
    document["routes"][0]["strategy"] = "fastest"


def missing_artifact(document: dict[str, Any]) -> None:
    document["topics"]["classifier"] = "routers/no-such-topics.json"


def never_serves(document: dict[str, Any]) -> None:
    # A first route only one model serves, which requires a capability that model lacks
    without = next(m for m in document["models"] if "documents" not in m.get("capabilities", []))
    document["routes"].insert(0, {"name": "scans", "when": {"tags": ["scan"]}, "models": [without["id"]],
                                  "require_capabilities": ["documents"]})  # fmt: skip


def cold_container(rig: RouterRig) -> Any:
    """A new router container (a fresh runtime over the same bucket and tables) as the handler's."""
    runtime = build_runtime(
        rig.runtime.settings, rig.app.telemetry, s3_client=rig.s3, dynamodb_client=rig.dynamodb,
        providers=lambda: dict(rig.providers),
    )  # fmt: skip
    rig.app.set_runtime(runtime)
    return runtime


@pytest.mark.parametrize(
    ("change", "says"),
    [
        (schema_error, "routes[0].strategy"),
        (missing_artifact, "routers/no-such-topics.json"),
        (never_serves, "route 'scans' never decides with a candidate"),
    ],
    ids=["schema-error", "missing-artifact", "dry-run-failure"],
)
def test_a_broken_upload_never_activates_and_a_container_started_afterwards_serves_the_last_good_one(
    rig: RouterRig, activator: Activator, capsys: pytest.CaptureFixture[str], change: Any, says: str
) -> None:
    # Given the example policy active and serving
    good = rig.active_version()
    capsys.readouterr()
    # When a broken version is uploaded and its S3 event reaches the activator
    answer = activator.upload(example_with(change))
    # Then it is rejected with the problem named, the pointer unchanged
    assert answer["status"] == "rejected"
    assert any(says in problem for problem in answer["problems"]), answer["problems"]
    assert rig.active_version() == good
    # And PolicyActivationRejected is counted (EMF) and a Policy Activation Rejected event sent
    [document] = [d for d in emf(capsys.readouterr().out) if Metric.POLICY_ACTIVATION_REJECTED in d]
    assert document[Metric.POLICY_ACTIVATION_REJECTED] == [1.0]
    [event] = activator.events()
    assert (event["source"], event["detail-type"]) == ("modelrouter", EventType.POLICY_REJECTED)
    assert event["detail"]["version_id"] == answer["version_id"]
    # And `policy history` lists it first, rejected, with its first problem
    code, out, _ = run_cli(capsys, "policy", "history", "--bucket", BUCKET, "--json")
    assert code == EXIT_OK
    newest = json.loads(out)[0]
    assert (newest["version_id"], newest["outcome"]) == (answer["version_id"], "rejected")
    # When a new container starts afterwards, Then it serves the last good version
    cold_container(rig)
    status, body, _ = rig.call(load_event("chat-support"))
    assert status == 200, body
    assert body["router"]["policy_version"] == good


def test_an_activation_is_counted_announced_and_followed_by_the_routers(
    rig: RouterRig, activator: Activator, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a router serving the example policy
    previous = rig.active_version()
    capsys.readouterr()
    # When a valid new version is uploaded
    answer = activator.upload(example_with(lambda d: d.update(description="second version")))
    # Then it is active, PolicyActivated counted, a Policy Activated event names it and the previous one
    assert answer["status"] == "activated"
    assert rig.active_version() == answer["version_id"]
    [document] = [d for d in emf(capsys.readouterr().out) if Metric.POLICY_ACTIVATED in d]
    assert document[Metric.POLICY_ACTIVATED] == [1.0]
    [event] = activator.events()
    assert event["detail-type"] == EventType.POLICY_ACTIVATED
    assert event["detail"] | {"digest": None} == {
        "version_id": answer["version_id"], "key": DEFAULT_UPLOAD_KEY, "digest": None,
        "previous_version_id": previous, "activated_by": "upload",
    }  # fmt: skip
    # And the router (refreshing on every request) serves it
    status, body, _ = rig.call(load_event("chat-support"))
    assert (status, body["router"]["policy_version"]) == (200, answer["version_id"])


def hostile_events() -> list[tuple[str, Any]]:
    def created(**changes: Any) -> dict[str, Any]:
        event = object_created_event(BUCKET, DEFAULT_UPLOAD_KEY, "v1", 100)
        obj = event["detail"]["object"]
        for name, value in changes.items():
            if value is None:
                obj.pop(name, None)
            else:
                obj[name] = value
        return event

    other_bucket = object_created_event("someone-elses-bucket", DEFAULT_UPLOAD_KEY, "v1", 100)
    return [
        ("not-an-object", ["a", "list"]),
        ("no-detail", {"source": "aws.s3", "detail-type": "Object Created"}),
        ("other-source", {**created(), "source": "aws.ec2"}),
        ("other-bucket", other_bucket),
        ("control-prefix", created(key=POINTER_KEY)),
        ("routers-prefix", created(key="routers/evil.json")),
        ("dot-dot", created(key="incoming/../control/active.json")),
        ("no-key", created(key=None)),
        ("key-not-a-string", created(key=["incoming/policy.yaml"])),
        ("no-version", created(**{"version-id": None})),
        ("null-version", created(**{"version-id": "null"})),
        ("huge-key", created(key="incoming/" + "k" * 5000)),
    ]


@pytest.mark.parametrize(("name", "event"), hostile_events(), ids=[name for name, _ in hostile_events()])
def test_a_hostile_event_is_logged_and_ignored(
    rig: RouterRig, activator: Activator, name: str, event: Any
) -> None:
    # Given the example policy active
    pointer = rig.s3.get_object(Bucket=BUCKET, Key=POINTER_KEY)["Body"].read()
    # When the handler gets a foreign or malformed event, Then it returns (no retry) and changes nothing
    answer = activator.on(event)
    assert answer["status"] == "ignored", name
    assert answer["reason"]
    assert rig.s3.get_object(Bucket=BUCKET, Key=POINTER_KEY)["Body"].read() == pointer
    assert activator.events() == []
    assert "event ignored" in rig.logs.getvalue()


def test_a_fifty_megabyte_upload_is_rejected_without_being_read(rig: RouterRig, activator: Activator) -> None:
    # Given every S3 GetObject is recorded
    fetched: list[str] = []
    rig.s3.meta.events.register(
        "provide-client-params.s3.GetObject", lambda params, **_: fetched.append(params["Key"])
    )
    # When a 50 MB object lands under incoming/
    answer = activator.upload(b"\0" * 50_000_000, "incoming/huge.yaml")
    # Then it is rejected by its size, and its body was never fetched
    assert answer["status"] == "rejected"
    assert "50,000,000 bytes" in answer["problems"][0]
    assert "incoming/huge.yaml" not in fetched


# --- The CLI -----------------------------------------------------------------------------------------


@pytest.fixture
def bucket(rig: RouterRig) -> Iterator[str]:
    """The rig's bucket, with the activator's core running on every upload."""
    with activating(rig.s3, BUCKET):
        yield BUCKET


def write(tmp_path: Path, text: str, name: str = "policy.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_push_waits_and_reports_activated_then_rejected(
    rig: RouterRig, bucket: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # When a valid policy is pushed, Then push waits for the activator and says activated (exit 0)
    valid = write(tmp_path, example_with(lambda d: d.update(description="pushed")))
    code, out, err = run_cli(capsys, "policy", "push", str(valid), "--bucket", bucket)
    assert code == EXIT_OK, err
    assert "activated: " in out
    version = rig.active_version()
    assert f"version: {version}" in out
    # When a policy the dry run fails is pushed (it passes the local checks, so it is uploaded)
    broken = write(tmp_path, example_with(never_serves), "broken.yaml")
    code, out, err = run_cli(capsys, "policy", "push", str(broken), "--bucket", bucket)
    # Then push says rejected with the problems (exit 1), and the pushed version stays active
    assert code == EXIT_REJECTED
    assert "rejected: not active" in err
    assert "route 'scans' never decides with a candidate" in err
    assert rig.active_version() == version


def test_push_without_an_activator_gives_up_after_wait(
    rig: RouterRig, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given no activator running on uploads, When pushed with --wait 1, Then it gives up saying so
    policy = write(tmp_path, example_with(lambda d: d.update(description="nobody activates me")))
    code, out, err = run_cli(capsys, "policy", "push", str(policy), "--bucket", BUCKET, "--wait", "1")
    assert code == EXIT_REJECTED
    assert "version: " in out
    assert "no activation record after 1 s" in err
    # And --no-wait returns after the upload
    code, out, _ = run_cli(capsys, "policy", "push", str(policy), "--bucket", BUCKET, "--no-wait")
    assert (code, "not waiting" in out) == (EXIT_OK, True)


def test_history_shows_the_attempts_newest_first(
    rig: RouterRig, bucket: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a rejected push after the rig's activation
    broken = write(tmp_path, example_with(never_serves))
    run_cli(capsys, "policy", "push", str(broken), "--bucket", bucket)
    # When the history is shown as a table
    code, out, _ = run_cli(capsys, "policy", "history", "--bucket", bucket, "--limit", "5")
    # Then it lists the rejection first, then the activation, with the first problem
    assert code == EXIT_OK
    lines = out.splitlines()
    assert lines[0].split() == ["time", "version", "outcome", "digest", "by", "first", "problem"]
    assert " rejected " in lines[2]
    assert "never decides with a candidate" in lines[2]
    assert " activated " in lines[3]
    # And a bad --limit is a usage error
    with pytest.raises(SystemExit) as raised:
        run_cli(capsys, "policy", "history", "--bucket", bucket, "--limit", "0")
    assert raised.value.code == EXIT_USAGE


def test_rollback_goes_back_and_to_a_named_version(
    rig: RouterRig, bucket: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given two more versions pushed after the rig's first
    first = rig.active_version()
    for number in (2, 3):
        policy = write(tmp_path, example_with(lambda d, n=number: d.update(description=f"v{n}")))
        assert run_cli(capsys, "policy", "push", str(policy), "--bucket", bucket)[0] == EXIT_OK
    third = rig.active_version()
    # When rolled back without --to, Then the version before the third is active, said so
    code, out, _ = run_cli(capsys, "policy", "rollback", "--bucket", bucket)
    assert code == EXIT_OK
    second = rig.active_version()
    assert second not in (first, third)
    assert f"(was {DEFAULT_UPLOAD_KEY}@{third})" in out
    pointer = ActivePointer.parse(rig.s3.get_object(Bucket=BUCKET, Key=POINTER_KEY)["Body"].read())
    assert pointer.activated_by == "rollback"
    # When rolled back to the first version by id, Then it is active, and routers serve it
    code, out, _ = run_cli(capsys, "policy", "rollback", "--bucket", bucket, "--to", first)
    assert code == EXIT_OK
    assert rig.active_version() == first
    status, body, _ = rig.call(load_event("chat-support"))
    assert (status, body["router"]["policy_version"]) == (200, first)
    # When rolled back to a version id that was never active, or a hostile one, Then refused
    code, _, err = run_cli(capsys, "policy", "rollback", "--bucket", bucket, "--to", "no-such-version")
    assert code == EXIT_REJECTED
    assert "was never active" in err
    code, _, err = run_cli(capsys, "policy", "rollback", "--bucket", bucket, "--to", "../../etc/passwd")
    assert code == EXIT_USAGE
    assert "--to: the version id has unexpected characters" in err


def test_rollback_rechecks_the_version_and_keeps_the_current_one_when_it_fails(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a learned policy activated with its artifact, then another version, then the artifact replaced
    router_environment(monkeypatch)
    raw = keyword_router_bytes({"cheap-7b": 0.9, "mid-34b": 0.9, "frontier": 0.9})
    policy = json.dumps(learned_policy(raw)).encode()
    with running_router(policy, artifacts={ROUTER_KEY: raw}) as rig, activating(rig.s3, BUCKET):
        later = write(tmp_path, json.dumps(minimal_policy()))
        assert run_cli(capsys, "policy", "push", str(later), "--bucket", BUCKET)[0] == EXIT_OK
        current = rig.active_version()
        rig.s3.put_object(Bucket=BUCKET, Key=ROUTER_KEY, Body=keyword_router_bytes({"cheap-7b": 0.1}))
        # When rolled back to the learned version
        code, _, err = run_cli(capsys, "policy", "rollback", "--bucket", BUCKET)
        # Then it is checked again, refused (its pin no longer matches), and the current version stays
        assert code == EXIT_REJECTED
        assert "does not pass the checks now" in err
        assert "pin mismatch" in err
        assert rig.active_version() == current
