"""A runtime reads API keys from the AWS endpoint of its own environment, not from one an earlier
runtime in the same process used (a second local stack, or ``invoke`` after ``serve`` in one process).

Powertools parameters kept one Secrets Manager client per process: once its cache expired, a process
whose first stack had stopped read keys from that stack's dead endpoint, and every call to an HTTP
provider failed as ``auth_error``.
"""

from __future__ import annotations

import json

import pytest

from modelrouter.local.aws import EmbeddedAws
from modelrouter.policy import SecretRef
from modelrouter.providers.secrets import AwsKeyResolver
from tests.helpers import fake_aws_environment

REF = SecretRef(secretsmanager="modelrouter-local/provider-keys", field="openai")


def _aws_with_key(key: str) -> EmbeddedAws:
    aws = EmbeddedAws()
    aws.start()
    secret = json.dumps({"openai": key})
    aws.client("secretsmanager").create_secret(Name=REF.secretsmanager, SecretString=secret)
    return aws


def test_a_new_runtime_reads_keys_from_its_own_endpoint(monkeypatch: pytest.MonkeyPatch) -> None:
    fake_aws_environment(monkeypatch)
    # Given a first stack's AWS, whose key a first runtime has read, and which has then stopped
    first_aws = _aws_with_key("sk-first")
    monkeypatch.setenv("AWS_ENDPOINT_URL", first_aws.url)
    assert AwsKeyResolver(max_age_s=0).api_key(REF) == "sk-first"
    first_aws.stop()
    # When a second stack starts on another endpoint and a new runtime reads the key
    second_aws = _aws_with_key("sk-second")
    try:
        monkeypatch.setenv("AWS_ENDPOINT_URL", second_aws.url)
        key = AwsKeyResolver(max_age_s=0).api_key(REF)
    finally:
        second_aws.stop()
    # Then it is the second stack's key, read from the second endpoint
    assert key == "sk-second"
