"""serve --dev-keys: keys derived from tenant names are stable, well-formed, distinct, only stored locally."""

from __future__ import annotations

from collections.abc import Iterator
from types import SimpleNamespace

import boto3
import pytest
from moto import mock_aws
from tests.aws import create_tables
from tests.helpers import fake_aws_environment

from modelrouter.keys import KeyStore
from modelrouter.keys.format import parse_token
from modelrouter.local.dev_keys import DEV_KEY_ID_PREFIX, DevKeysError, dev_key, seed_dev_keys

TENANTS = ["acme-support", "lexdoc-eu", "devtools", "x", "a tenant with spaces and ünïcode"]


@pytest.fixture
def key_table(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[KeyStore, object]]:
    """A key table on moto's in-memory AWS (its client has AWS's own endpoint), and that client."""
    fake_aws_environment(monkeypatch)
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        table = create_tables(client)["ApiKeyTable"]
        yield KeyStore(table, client=client), client


@pytest.mark.parametrize("tenant", TENANTS)
def test_a_dev_key_is_a_well_formed_token_the_same_every_time(tenant: str) -> None:
    # Given a tenant name / When its dev key is derived twice
    first, second = dev_key(tenant), dev_key(tenant)
    # Then both are the same token, in the ordinary key format, with a key id that says "dev"
    assert first.token == second.token
    assert parse_token(first.token) == (first.key_id, first.secret)
    assert first.key_id.startswith(DEV_KEY_ID_PREFIX)


def test_each_tenant_gets_its_own_key() -> None:
    # Given several tenants / When their dev keys are derived / Then no two share a key id or secret
    keys = [dev_key(tenant) for tenant in TENANTS]
    assert len({key.key_id for key in keys}) == len({key.secret for key in keys}) == len(TENANTS)


def test_seeded_dev_keys_authenticate_as_their_tenant(key_table: tuple[KeyStore, object]) -> None:
    # Given the key table, said to be reached (as in local mode) through an endpoint on this machine
    keys, _ = key_table
    local = SimpleNamespace(meta=SimpleNamespace(endpoint_url="http://127.0.0.1:4566"))
    # When the dev keys of two tenants are stored
    tokens = seed_dev_keys(keys, local, ["acme-support", "devtools"])
    # Then each token is its tenant's dev key and authenticates as that tenant
    assert tokens == {tenant: dev_key(tenant).token for tenant in ("acme-support", "devtools")}
    assert {keys.authenticate(token) for token in tokens.values()} == {"acme-support", "devtools"}


def test_dev_keys_are_refused_outside_the_embedded_aws(key_table: tuple[KeyStore, object]) -> None:
    # Given a key table on AWS's own endpoint (moto stands in for a real account here)
    keys, client = key_table
    # When dev keys are seeded there / Then they are refused, naming the endpoint, and nothing is stored
    with pytest.raises(DevKeysError, match=r"dynamodb\.us-east-1\.amazonaws\.com"):
        seed_dev_keys(keys, client, ["acme-support"])
    assert keys.list() == []
