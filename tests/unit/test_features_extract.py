"""extract_features: one call gathers every feature, deterministically, without keeping any prompt text."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from modelrouter.features import PiiKind, RequestFeatures, extract_features
from modelrouter.features.extract import language_sample
from modelrouter.features.tokens import estimate_request_tokens
from modelrouter.request import parse_chat_request

SUPPORT_CONVERSATION: dict[str, Any] = {
    "messages": [
        {"role": "system", "content": "You are the billing assistant of Acme Cloud."},
        {"role": "user", "content": "I was charged twice for the March invoice."},
        {"role": "assistant", "content": "I'm sorry about that. Could you tell me the invoice numbers?"},
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "Here is a screenshot. Reach me at jane.doe@example.com, please."},
                {
                    "type": "image_url",
                    "image_url": {"url": "https://example.com/invoice.png", "detail": "low"},
                },
            ],
        },
    ],
    "tools": [{"type": "function", "function": {"name": "lookup_invoice", "parameters": {"type": "object"}}}],
    "response_format": {"type": "json_object"},
}


def test_extracts_every_feature_of_a_conversation() -> None:
    # Given a support conversation with an image, a tool, a JSON answer and an e-mail address
    request = parse_chat_request(SUPPORT_CONVERSATION)

    # When extracted
    features = extract_features(request)

    # Then every feature describes the request
    assert features.prompt_tokens == estimate_request_tokens(request)
    assert features.prompt_chars == sum(len(message.text()) for message in request.messages)
    assert (features.message_count, features.user_turns, features.image_count) == (4, 2, 1)
    assert (features.tool_count, features.response_format) == (1, "json_object")
    assert features.language.code == "en"
    assert [(finding.kind, finding.message_index) for finding in features.pii] == [(PiiKind.EMAIL, 3)]
    assert 0 <= features.difficulty.score <= 1
    assert features.has_images
    assert features.has_tools


def test_features_hold_no_prompt_text_or_personal_data() -> None:
    # Given a request with personal data
    request = parse_chat_request(SUPPORT_CONVERSATION)

    # When extracted and serialized for logs
    dumped = extract_features(request).model_dump_json()

    # Then neither the data nor the prompt text is in it
    assert "jane.doe@example.com" not in dumped
    assert "charged twice" not in dumped


@pytest.mark.parametrize(
    "fields",
    [
        {
            "tools": [
                {"type": "function", "function": {"name": "pay", "description": "Card 4111.1111.1111.1111"}}
            ]
        },
        {
            "response_format": {
                "type": "json_schema",
                "json_schema": {"name": "answer", "schema": {"const": "4111 1111 1111 1111"}},
            }
        },
        {"stop": ["4111-1111-1111-1111"]},
    ],
    ids=["tool-description", "schema-const", "stop"],
)
def test_personal_data_outside_the_messages_is_a_feature_too(fields: dict[str, Any]) -> None:
    # Given a card number only in a tool, the answer's schema or a stop sequence
    request = parse_chat_request({"messages": [{"role": "user", "content": "Hello"}], **fields})

    # When extracted
    features = extract_features(request)

    # Then it is found, outside any message, and explained like any other
    assert features.pii_kinds == {PiiKind.PAYMENT_CARD}
    assert [finding.message_index for finding in features.pii] == [None]
    assert "pii: payment_card×1" in features.explain()


def test_explain_has_one_line_per_feature() -> None:
    # Given extracted features / When explained / Then each line names its feature
    lines = extract_features(parse_chat_request(SUPPORT_CONVERSATION)).explain()
    assert [line.split(":")[0].split(" ")[0] for line in lines] == [
        "prompt_tokens",
        "images",
        "language",
        "pii",
        "image",  # image detail: the screenshot is a URL, so only counted
        "difficulty",
    ]


def test_language_comes_from_user_messages_first() -> None:
    # Given a German user under an English system prompt
    request = parse_chat_request(
        {
            "messages": [
                {"role": "system", "content": "You are a helpful assistant. Answer in the user's language."},
                {
                    "role": "user",
                    "content": "Können Sie mir bitte erklären, wie ich mein Passwort zurücksetze?",
                },
            ]
        }
    )

    # When extracted / Then the language is the user's
    assert extract_features(request).language.code == "de"


def test_language_falls_back_to_all_text_without_user_text() -> None:
    # Given a request whose only user message is an image
    image = {"type": "image_url", "image_url": {"url": "https://example.com/a.png"}}
    request = parse_chat_request(
        {
            "messages": [
                {
                    "role": "system",
                    "content": "Décris l'image pour un client qui ne la voit pas, s'il vous plaît.",
                },
                {"role": "user", "content": [image]},
            ]
        }
    )

    # When extracted / Then the system prompt's language is used
    assert language_sample(request).startswith("Décris")
    assert extract_features(request).language.code == "fr"


def test_language_sample_is_bounded() -> None:
    # Given a conversation of many long user messages
    request = parse_chat_request({"messages": [{"role": "user", "content": "word " * 10_000}] * 20})

    # When the language sample is taken / Then it stays small
    assert len(language_sample(request)) <= 2_100


@settings(max_examples=50)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["system", "user", "assistant", "tool"]), st.text(min_size=1, max_size=500)
        ),
        min_size=1,
        max_size=6,
    )
)
def test_extraction_is_deterministic(messages: list[tuple[str, str]]) -> None:
    # Given any conversation
    body = {
        "messages": [
            {"role": role, "content": text, **({"tool_call_id": "c1"} if role == "tool" else {})}
            for role, text in messages
        ]
    }

    # When extracted twice, from two parses of the same body
    first = extract_features(parse_chat_request(body))
    second = extract_features(parse_chat_request(body))

    # Then the features are identical
    assert isinstance(first, RequestFeatures)
    assert first == second
    assert first.model_dump_json() == second.model_dump_json()
