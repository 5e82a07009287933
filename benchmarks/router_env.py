"""Shared by the router benchmarks: a moto server with the stack's tables and policy, and child runs.

See :mod:`benchmarks.bench_cold` and :mod:`benchmarks.bench_warm` for what is measured.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
HANDLER = ROOT / "functions" / "router" / "app.py"
EXAMPLE_POLICY = ROOT / "policies" / "example.yaml"
EVENT = ROOT / "events" / "chat-support.json"

COLD_RUNS = 7
COLD_RATIO_TARGET = 1.3
WARM_REQUESTS = 200
WARM_UP = 20
EMPTY_TABLES_EVERY = 20
DYNAMODB_CALLS_TARGET = 2.0
S3_CALLS_TARGET = 0.0
PEAK_RSS_TARGET_MB = 100.0

BUCKET = "modelrouter-policies-bench"
POLICY_KEY = "incoming/policy.yaml"
"""Where the bench uploads the policy; the activator's core activates it (the router follows the pointer)."""
RESULT_MARK = "BENCH-RESULT "


def activate_policy(s3: Any, body: bytes) -> None:
    """Upload ``body`` under ``incoming/`` and activate it with the activator's core, as its upload
    event would.

    Raises:
        RuntimeError: the activator did not activate it (its problems).
    """
    from modelrouter.activation.activator import Activator
    from modelrouter.activation.control import ControlStore
    from modelrouter.activation.layout import PolicyVersion

    version = PolicyVersion(
        key=POLICY_KEY, version_id=s3.put_object(Bucket=BUCKET, Key=POLICY_KEY, Body=body)["VersionId"]
    )
    record = Activator(ControlStore(s3, BUCKET)).activate_upload(version).record
    if record is None or record.outcome != "activated":
        raise RuntimeError(
            f"the bench policy was not activated: {record.problems if record else 'no record'}"
        )


@contextmanager
def moto_environment(refresh_seconds: int = 60) -> Iterator[dict[str, str]]:
    """A moto server with the bucket, the example policy and the template's tables; yields the child env."""
    import boto3
    from moto.server import ThreadedMotoServer

    sys.path.insert(0, str(ROOT))
    from modelrouter.local.aws import create_tables  # the tables exactly as template.yaml defines them

    werkzeug = logging.getLogger("werkzeug")
    level = werkzeug.level
    werkzeug.setLevel(logging.ERROR)  # one access-log line per request otherwise
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        endpoint = f"http://{host}:{port}"
        reset_moto(endpoint)  # moto keeps its state per process, across servers
        credentials = {
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_SESSION_TOKEN": "testing",
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_REGION": "us-east-1",
        }
        session = boto3.Session(
            aws_access_key_id="testing", aws_secret_access_key="testing", region_name="us-east-1"
        )
        s3 = session.client("s3", endpoint_url=endpoint)
        dynamodb = session.client("dynamodb", endpoint_url=endpoint)
        tables = create_tables(dynamodb, prefix="bench")
        s3.create_bucket(Bucket=BUCKET)
        s3.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
        for artifact in (ROOT / "policies" / "routers").glob("*.json"):  # what the policy pins (topics)
            s3.put_object(Bucket=BUCKET, Key=f"routers/{artifact.name}", Body=artifact.read_bytes())
        activate_policy(s3, EXAMPLE_POLICY.read_bytes())
        environment = {
            name: value
            for name, value in os.environ.items()
            if not name.startswith(("AWS_", "POWERTOOLS_", "LAMBDA_", "_X_AMZN"))
        }
        environment.pop("_HANDLER", None)
        environment.update(credentials)
        environment.update(
            {
                "AWS_ENDPOINT_URL": endpoint,
                "POLICY_BUCKET": BUCKET,
                "POLICY_KEY": POLICY_KEY,
                "POLICY_REFRESH_SECONDS": str(refresh_seconds),
                "BUDGET_TABLE": tables["BudgetTable"],
                "PROVENANCE_TABLE": tables["ProvenanceTable"],
                "IDEMPOTENCY_TABLE": tables["IdempotencyTable"],
                "LEARNING_TABLE": tables["LearningTable"],
                "HEALTH_TABLE": tables["HealthTable"],  # shared health configured, as deployed
                "POWERTOOLS_SERVICE_NAME": "modelrouter",
                "POWERTOOLS_METRICS_NAMESPACE": "ModelRouterBench",
            }
        )
        yield environment
    finally:
        server.stop()
        werkzeug.setLevel(level)


def reset_moto(endpoint: str) -> None:
    from urllib.request import Request, urlopen

    with urlopen(Request(f"{endpoint}/moto-api/reset", method="POST"), timeout=10):
        pass


def run_child(arguments: list[str], environment: dict[str, str]) -> tuple[dict[str, Any], str]:
    """Run a child interpreter; returns its result line and its (log) output."""
    completed = subprocess.run(
        [sys.executable, *arguments], capture_output=True, text=True, cwd=ROOT, env=environment, check=False
    )
    if completed.returncode != 0:
        raise RuntimeError(f"benchmark child failed:\n{completed.stderr[-4000:]}")
    lines = [line for line in completed.stdout.splitlines() if line.startswith(RESULT_MARK)]
    if not lines:
        raise RuntimeError(f"benchmark child printed no result:\n{completed.stderr[-4000:]}")
    result: dict[str, Any] = json.loads(lines[-1][len(RESULT_MARK) :])
    return result, completed.stdout
