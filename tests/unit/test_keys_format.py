"""The API key format: generation, parsing edge cases, hashing, the ``Bearer`` and ``x-api-key`` headers."""

from __future__ import annotations

import base64

import pytest
from hypothesis import given
from hypothesis import strategies as st

from modelrouter.keys import (
    MISSING_KEY,
    MalformedKeyError,
    api_key,
    bearer_token,
    generate_key,
    hash_secret,
    parse_token,
    verify,
)
from modelrouter.keys.format import KEY_ID_ALPHABET, KEY_ID_LENGTH, SECRET_LENGTH, TOKEN_LENGTH, TOKEN_PREFIX

KEY_ID = "abcdefgh2345"
SECRET = base64.urlsafe_b64encode(bytes(range(32))).rstrip(b"=").decode("ascii")
TOKEN = f"mr_{KEY_ID}_{SECRET}"


def test_generated_key_has_the_documented_shape() -> None:
    # Given a freshly generated key
    key = generate_key()
    # Then its token is prefix, key id, separator and secret, at fixed lengths
    assert len(key.token) == TOKEN_LENGTH == 59
    assert key.token == f"{TOKEN_PREFIX}{key.key_id}_{key.secret}"
    assert len(key.key_id) == KEY_ID_LENGTH
    assert set(key.key_id) <= set(KEY_ID_ALPHABET)
    assert len(key.secret) == SECRET_LENGTH
    # And neither the secret nor the token shows in repr (so not in logs)
    assert key.secret not in repr(key)
    assert key.key_id in repr(key)


def test_generated_keys_are_distinct() -> None:
    # Given many generated keys, Then no key id or secret repeats
    keys = [generate_key() for _ in range(200)]
    assert len({key.key_id for key in keys}) == 200
    assert len({key.secret for key in keys}) == 200


def test_parse_splits_a_valid_token() -> None:
    # Given a well-formed token whose secret contains '_' and '-'
    # When parsed, Then it splits at fixed offsets, not at underscores
    assert parse_token(TOKEN) == (KEY_ID, SECRET)
    secret = "A_-" + SECRET[3:]
    assert parse_token(f"mr_{KEY_ID}_{secret}") == (KEY_ID, secret)


@pytest.mark.parametrize(
    ("token", "message"),
    [
        pytest.param("", "59 characters", id="empty"),
        pytest.param(TOKEN[:-1], "59 characters", id="one-short"),
        pytest.param(TOKEN + "A", "59 characters", id="one-long"),
        pytest.param("x" * 100_000, "59 characters", id="huge"),
        pytest.param("sk" + TOKEN[2:], "starts with 'mr_'", id="wrong-prefix"),
        pytest.param("MR" + TOKEN[2:], "starts with 'mr_'", id="uppercase-prefix"),
        pytest.param(f"mr_{KEY_ID}-{SECRET}", "'_' between", id="wrong-separator"),
        pytest.param(f"mr_{KEY_ID.upper()}_{SECRET}", "lowercase base32", id="uppercase-key-id"),
        pytest.param(f"mr_abcdefgh2341_{SECRET}", "lowercase base32", id="key-id-digit-1"),
        pytest.param(f"mr_{KEY_ID}_{SECRET[:-1]}=", "URL-safe base64", id="padding"),
        pytest.param(f"mr_{KEY_ID}_{SECRET[:-1]}+", "URL-safe base64", id="standard-base64"),
        pytest.param(f"mr_{KEY_ID}_{SECRET[:-1]}é", "URL-safe base64", id="non-ascii"),
        pytest.param(f"mr_{KEY_ID}_{SECRET[:-1]} ", "URL-safe base64", id="space"),
    ],
)
def test_parse_refuses_malformed_tokens(token: str, message: str) -> None:
    # Given a malformed token, When parsed, Then MalformedKeyError names the fault, not the token
    with pytest.raises(MalformedKeyError, match=message) as caught:
        parse_token(token)
    assert SECRET not in str(caught.value)
    assert caught.value.code == "malformed_api_key"


def test_parse_refuses_non_canonical_secret() -> None:
    # Given a secret whose last character sets the two spare bits (decodes to the same 32 bytes)
    last = SECRET[-1]
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    other = alphabet[alphabet.index(last) + 1]
    token = f"mr_{KEY_ID}_{SECRET[:-1]}{other}"
    assert base64.urlsafe_b64decode(token[16:] + "=") == base64.urlsafe_b64decode(SECRET + "=")
    # When parsed, Then it is refused: one secret has one spelling
    with pytest.raises(MalformedKeyError, match="canonical"):
        parse_token(token)


def test_hash_and_verify() -> None:
    # Given a secret hashed under a salt
    salt = b"\x01" * 16
    digest = hash_secret(SECRET, salt)
    # Then it is hex SHA-256, depends on the salt, and verifies only the right secret
    assert len(digest) == 64
    assert int(digest, 16) >= 0
    assert hash_secret(SECRET, b"\x02" * 16) != digest
    assert verify(SECRET, salt, digest)
    assert not verify(SECRET[:-1] + "B", salt, digest)
    assert not verify(SECRET, b"\x02" * 16, digest)
    assert not verify(SECRET, salt, "not-a-hash-é")


@given(st.text(max_size=80))
def test_random_strings_only_ever_raise_malformed(text: str) -> None:
    # Given any string, When parsed, Then it either parses or raises MalformedKeyError, nothing else
    try:
        key_id, secret = parse_token(text)
    except MalformedKeyError:
        return
    assert text == f"mr_{key_id}_{secret}"


@given(
    st.text(alphabet=KEY_ID_ALPHABET, min_size=KEY_ID_LENGTH, max_size=KEY_ID_LENGTH),
    st.binary(min_size=32, max_size=32),
)
def test_well_formed_tokens_round_trip(key_id: str, raw: bytes) -> None:
    # Given any key id and 32 secret bytes, encoded as a token
    secret = base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")
    # When parsed, Then the key id and secret come back unchanged
    assert parse_token(f"mr_{key_id}_{secret}") == (key_id, secret)


def test_generated_keys_round_trip() -> None:
    # Given many generated keys, When their tokens are parsed, Then each yields its key id and secret
    for key in (generate_key() for _ in range(500)):
        assert parse_token(key.token) == (key.key_id, key.secret)


@given(st.dictionaries(st.text(max_size=20), st.one_of(st.text(max_size=300), st.none(), st.integers())))
def test_bearer_only_ever_raises_malformed(headers: dict[str, object]) -> None:
    # Given any header mapping, When the bearer token is read, Then only MalformedKeyError can be raised
    try:
        token = bearer_token(headers)
    except MalformedKeyError:
        return
    assert token


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        pytest.param({"authorization": f"Bearer {TOKEN}"}, TOKEN, id="lowercase"),
        pytest.param({"Authorization": f"bearer {TOKEN}"}, TOKEN, id="case-insensitive"),
        pytest.param({"AUTHORIZATION": f"BEARER {TOKEN}"}, TOKEN, id="uppercase"),
    ],
)
def test_bearer_reads_the_token(headers: dict[str, object], expected: str) -> None:
    # Given an authorization header with the Bearer scheme, Then its token is returned
    assert bearer_token(headers) == expected


@pytest.mark.parametrize(
    ("headers", "message"),
    [
        pytest.param(None, "no authorization header", id="no-headers"),
        pytest.param({"host": "example.com"}, "no authorization header", id="missing"),
        pytest.param({"authorization": 42}, "not a string", id="not-a-string"),
        pytest.param({"authorization": f"Basic {TOKEN}"}, "not 'Bearer <token>'", id="basic"),
        pytest.param({"authorization": TOKEN}, "not 'Bearer <token>'", id="no-scheme"),
        pytest.param({"authorization": "Bearer "}, "no token", id="empty-token"),
        pytest.param({"authorization": "Bearer " + "a" * 300}, "longer than", id="too-long"),
    ],
)
def test_bearer_refuses_bad_headers(headers: dict[str, object] | None, message: str) -> None:
    # Given a missing or malformed authorization header, Then MalformedKeyError says what is wrong
    with pytest.raises(MalformedKeyError, match=message):
        bearer_token(headers)


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        pytest.param({"x-api-key": TOKEN}, TOKEN, id="x-api-key"),
        pytest.param({"X-Api-Key": f" {TOKEN} "}, TOKEN, id="any-case-trimmed"),
        pytest.param({"Authorization": f"Bearer {TOKEN}"}, TOKEN, id="bearer"),
        pytest.param(
            {"authorization": f"Bearer {TOKEN}", "x-api-key": "sk-ant-other"}, TOKEN, id="bearer-wins"
        ),
    ],
)
def test_api_key_reads_either_header(headers: dict[str, object], expected: str) -> None:
    # Given a key in x-api-key (Anthropic's clients) or Authorization (OpenAI's), Then it is read
    assert api_key(headers) == expected


@pytest.mark.parametrize(
    ("headers", "message"),
    [
        pytest.param({"host": "example.com"}, MISSING_KEY, id="missing"),
        pytest.param(None, MISSING_KEY, id="no-headers"),
        pytest.param({"x-api-key": "  "}, "x-api-key header is empty", id="empty"),
        pytest.param({"x-api-key": 7}, "not a string", id="not-a-string"),
        pytest.param({"x-api-key": "a" * 300}, "longer than", id="too-long"),
        pytest.param(
            {"Authorization": f"Basic {TOKEN}", "x-api-key": TOKEN}, "not 'Bearer <token>'", id="basic"
        ),
    ],
)
def test_api_key_refuses_missing_and_bad_headers(headers: dict[str, object] | None, message: str) -> None:
    # Given no key header, or a bad one, Then MalformedKeyError says what is wrong
    with pytest.raises(MalformedKeyError, match=message):
        api_key(headers)
