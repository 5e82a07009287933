"""API keys from Secrets Manager and SSM (moto), cached for a while, never leaked."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws
from tests.helpers import fake_aws_environment

from modelrouter.policy import SecretRef
from modelrouter.providers.errors import AuthError
from modelrouter.providers.secrets import AwsKeyResolver, StaticKeyResolver


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    fake_aws_environment(monkeypatch)
    with mock_aws():
        yield


def test_secret_field_from_secrets_manager_is_cached(aws: None) -> None:
    # Given a JSON secret with one key per provider
    client = boto3.client("secretsmanager")
    client.create_secret(Name="modelrouter/keys", SecretString=json.dumps({"openai": "sk-one"}))
    resolver = AwsKeyResolver()
    ref = SecretRef(secretsmanager="modelrouter/keys", field="openai")
    # When read twice, with the secret changed in between
    first = resolver.api_key(ref)
    client.put_secret_value(SecretId="modelrouter/keys", SecretString=json.dumps({"openai": "sk-two"}))
    second = resolver.api_key(ref)
    # Then the cached value is reused (rotation applies after KEY_CACHE_SECONDS)
    assert first == second == "sk-one"


def test_a_key_is_fetched_again_once_its_cache_has_expired(aws: None) -> None:
    # Given a resolver on a clock the test moves, and a key read once
    client = boto3.client("secretsmanager")
    client.create_secret(Name="modelrouter/keys", SecretString=json.dumps({"openai": "sk-one"}))
    now = [1000.0]
    resolver = AwsKeyResolver(max_age_s=300, clock=lambda: now[0])
    ref = SecretRef(secretsmanager="modelrouter/keys", field="openai")
    assert resolver.api_key(ref) == "sk-one"
    client.put_secret_value(SecretId="modelrouter/keys", SecretString=json.dumps({"openai": "sk-two"}))
    # When read just before and then after the cache's age
    now[0] += 299.0
    before = resolver.api_key(ref)
    now[0] += 2.0
    after = resolver.api_key(ref)
    # Then the rotated key is used only once the cached one has expired
    assert (before, after) == ("sk-one", "sk-two")


def test_a_binary_secret_is_read_as_text(aws: None) -> None:
    boto3.client("secretsmanager").create_secret(Name="bin", SecretBinary=b'{"anthropic": "ak-1"}')
    assert AwsKeyResolver().api_key(SecretRef(secretsmanager="bin", field="anthropic")) == "ak-1"


def test_each_resolver_has_its_own_clients_made_at_the_first_read() -> None:
    # Given two resolvers (two runtimes) whose client factory records the stores asked for
    made: list[str] = []

    class Store:
        def get_parameter(self, Name: str, WithDecryption: bool) -> dict[str, Any]:  # noqa: N803
            assert WithDecryption
            return {"Parameter": {"Value": f"{Name}-key"}}

    def factory(service: str) -> Store:
        made.append(service)
        return Store()

    first, second = AwsKeyResolver(client_factory=factory), AwsKeyResolver(client_factory=factory)
    # When nothing is read yet, then no client exists; when each reads twice, each makes one client
    assert made == []
    for resolver in (first, second, first, second):
        assert resolver.api_key(SecretRef(ssm="/mr/k")) == "/mr/k-key"
    assert made == ["ssm", "ssm"]


def test_ssm_secure_string(aws: None) -> None:
    boto3.client("ssm").put_parameter(Name="/mr/mistral", Value="mk-123", Type="SecureString")
    assert AwsKeyResolver().api_key(SecretRef(ssm="/mr/mistral")) == "mk-123"


def test_missing_secret_is_an_auth_error_without_details(aws: None) -> None:
    with pytest.raises(AuthError) as caught:
        AwsKeyResolver().api_key(SecretRef(secretsmanager="nope"))
    assert "nope" in caught.value.message
    assert not caught.value.retryable


def test_missing_field_is_an_auth_error(aws: None) -> None:
    boto3.client("secretsmanager").create_secret(Name="k", SecretString=json.dumps({"a": "x"}))
    with pytest.raises(AuthError, match="no JSON field 'b'"):
        AwsKeyResolver().api_key(SecretRef(secretsmanager="k", field="b"))


def test_static_resolver() -> None:
    resolver = StaticKeyResolver({"k": json.dumps({"openai": "sk-x"}), "plain": " sk-y \n"})
    assert resolver.api_key(SecretRef(secretsmanager="k", field="openai")) == "sk-x"
    assert resolver.api_key(SecretRef(secretsmanager="plain")) == "sk-y"
    with pytest.raises(AuthError):
        resolver.api_key(SecretRef(secretsmanager="other"))
