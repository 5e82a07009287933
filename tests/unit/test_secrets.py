"""API keys from Secrets Manager and SSM through Powertools parameters (moto), cached, never leaked."""

from __future__ import annotations

import json
from collections.abc import Iterator

import boto3
import pytest
from aws_lambda_powertools.utilities import parameters
from moto import mock_aws
from tests.helpers import fake_aws_environment

from modelrouter.policy import SecretRef
from modelrouter.providers.errors import AuthError
from modelrouter.providers.secrets import PowertoolsKeyResolver, StaticKeyResolver


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    fake_aws_environment(monkeypatch)
    parameters.clear_caches()
    with mock_aws():
        yield
    parameters.clear_caches()


def test_secret_field_from_secrets_manager_is_cached(aws: None) -> None:
    # Given a JSON secret with one key per provider
    client = boto3.client("secretsmanager")
    client.create_secret(Name="modelrouter/keys", SecretString=json.dumps({"openai": "sk-one"}))
    resolver = PowertoolsKeyResolver()
    ref = SecretRef(secretsmanager="modelrouter/keys", field="openai")
    # When read twice, with the secret changed in between
    first = resolver.api_key(ref)
    client.put_secret_value(SecretId="modelrouter/keys", SecretString=json.dumps({"openai": "sk-two"}))
    second = resolver.api_key(ref)
    # Then the cached value is reused (rotation applies after KEY_CACHE_SECONDS)
    assert first == second == "sk-one"


def test_ssm_secure_string(aws: None) -> None:
    boto3.client("ssm").put_parameter(Name="/mr/mistral", Value="mk-123", Type="SecureString")
    assert PowertoolsKeyResolver().api_key(SecretRef(ssm="/mr/mistral")) == "mk-123"


def test_missing_secret_is_an_auth_error_without_details(aws: None) -> None:
    with pytest.raises(AuthError) as caught:
        PowertoolsKeyResolver().api_key(SecretRef(secretsmanager="nope"))
    assert "nope" in caught.value.message
    assert not caught.value.retryable


def test_missing_field_is_an_auth_error(aws: None) -> None:
    boto3.client("secretsmanager").create_secret(Name="k", SecretString=json.dumps({"a": "x"}))
    with pytest.raises(AuthError, match="no JSON field 'b'"):
        PowertoolsKeyResolver().api_key(SecretRef(secretsmanager="k", field="b"))


def test_static_resolver() -> None:
    resolver = StaticKeyResolver({"k": json.dumps({"openai": "sk-x"}), "plain": " sk-y \n"})
    assert resolver.api_key(SecretRef(secretsmanager="k", field="openai")) == "sk-x"
    assert resolver.api_key(SecretRef(secretsmanager="plain")) == "sk-y"
    with pytest.raises(AuthError):
        resolver.api_key(SecretRef(secretsmanager="other"))
