"""Token estimates: sizes grow with text, scripts are weighed, images, tools and schemas count."""

from __future__ import annotations

import math
from itertools import pairwise
from typing import Any

from hypothesis import given
from hypothesis import strategies as st
from tests.media_files import data_uri, image_part, png

from modelrouter.features.tokens import (
    IMAGE_TOKENS,
    LOW_DETAIL_IMAGE_TOKENS,
    MESSAGE_OVERHEAD_TOKENS,
    TOKENS_PER_WORD,
    estimate_request_tokens,
    estimate_tokens,
    image_tokens,
)
from modelrouter.request import ChatRequest, parse_chat_request

ANTHROPIC_PIXELS_PER_TOKEN = 750
"""Anthropic's published rate: an image costs about width × height / 750 tokens."""
OPENAI_ONE_TILE = 85 + 170
"""OpenAI's high-detail price of the smallest image: the base and one 512-pixel tile."""


def _request(content: Any, **extra: Any) -> ChatRequest:
    return parse_chat_request({"messages": [{"role": "user", "content": content}], **extra})


def test_empty_text_is_zero_tokens() -> None:
    # Given no text / When estimated / Then it costs nothing
    assert estimate_tokens("") == 0


def test_english_prose_is_about_four_characters_per_token() -> None:
    # Given 4,000 characters of ordinary English
    text = ("The quick brown fox jumps over the lazy dog while the farmer watches. " * 60)[:4000]

    # When estimated
    tokens = estimate_tokens(text)

    # Then it is close to chars / 4
    assert 900 <= tokens <= 1200


def test_estimate_grows_with_text_length() -> None:
    # Given the same sentence repeated more and more often
    sentence = "Please summarize the attached report in three bullet points. "

    # When each is estimated
    estimates = [estimate_tokens(sentence * count) for count in range(1, 40)]

    # Then every longer text costs more
    assert all(shorter < longer for shorter, longer in pairwise(estimates))


def test_cjk_costs_more_per_character_than_latin_text() -> None:
    # Given Chinese and English texts of the same length
    chinese = "我们需要在下周之前完成这个项目的所有测试工作" * 10
    english = ("We need to finish all tests of this project by next week " * 10)[: len(chinese)]

    # When estimated
    # Then Chinese costs about one token per character, far more than English
    assert estimate_tokens(chinese) >= len(chinese) * 0.9
    assert estimate_tokens(chinese) > 2 * estimate_tokens(english)


def test_other_scripts_cost_about_two_characters_per_token() -> None:
    # Given Russian text
    russian = "Пожалуйста, объясните мне, почему этот переход такой сложный " * 10

    # When estimated
    tokens = estimate_tokens(russian)

    # Then it is close to chars / 2, more than the same length of English
    assert len(russian) * 0.4 <= tokens <= len(russian) * 0.6


def test_code_with_short_words_costs_more_than_chars_over_four() -> None:
    # Given symbol-dense code, many short words per character
    code = "x = a + b * c - d / e ; y = f ( g , h ) ;\n" * 20

    # When estimated
    # Then the word-based floor lifts the estimate above chars / 4
    assert estimate_tokens(code) > len(code) / 4 * 1.5


def test_indentation_counts_at_most_one_word_per_two_spaces() -> None:
    # Given the same code indented with four or with sixteen spaces per line
    shallow = "".join(f"    value_{n} = compute(value_{n - 1})\n" for n in range(50))
    deep = "".join(f"                value_{n} = compute(value_{n - 1})\n" for n in range(50))

    # When estimated
    extra = estimate_tokens(deep) - estimate_tokens(shallow)

    # Then the 12 extra spaces of each line count as at most 6 words, not 12
    assert 0 < extra <= 50 * 6 * TOKENS_PER_WORD + 1


@given(st.text(), st.text())
def test_appending_text_never_lowers_the_estimate(head: str, tail: str) -> None:
    # Given any text / When more text is appended / Then the estimate does not drop
    assert estimate_tokens(head) <= estimate_tokens(head + tail)


@given(st.text(min_size=1))
def test_any_non_empty_text_costs_at_least_one_token(text: str) -> None:
    # Given any non-empty text (lone surrogates included) / When estimated / Then at least one token
    assert estimate_tokens(text) >= 1


def test_request_counts_message_overhead() -> None:
    # Given a one-message request
    request = _request("Hello there, how are you?")

    # When estimated
    # Then it is the text plus the per-message overhead
    assert (
        estimate_request_tokens(request)
        == estimate_tokens("Hello there, how are you?") + MESSAGE_OVERHEAD_TOKENS
    )


def test_images_add_fixed_token_costs_by_detail() -> None:
    # Given the same text with a high-detail and a low-detail image
    def with_image(detail: str) -> ChatRequest:
        image = {"type": "image_url", "image_url": {"url": "https://example.com/a.png", "detail": detail}}
        return _request([{"type": "text", "text": "What is this?"}, image])

    text_only = estimate_request_tokens(_request("What is this?"))

    # When estimated
    # Then each image adds its fixed cost
    assert estimate_request_tokens(with_image("high")) == text_only + IMAGE_TOKENS
    assert estimate_request_tokens(with_image("auto")) == text_only + IMAGE_TOKENS
    assert estimate_request_tokens(with_image("low")) == text_only + LOW_DETAIL_IMAGE_TOKENS


def test_an_inline_image_of_known_size_costs_by_its_pixels() -> None:
    # Given the same question with inline PNGs of three sizes, at each detail
    def image_cost(width: int, height: int, detail: str = "auto") -> int:
        part = image_part(data_uri("image/png", png(width, height, pixels=False)), detail)
        with_image = _request([{"type": "text", "text": "What is this?"}, part])
        return estimate_request_tokens(with_image) - estimate_request_tokens(_request("What is this?"))

    # When estimated
    small, medium, large = image_cost(64, 64), image_cost(600, 400), image_cost(4000, 3000)

    # Then a known size lowers the fixed cost, up to it for a large image; low and original keep theirs
    assert OPENAI_ONE_TILE <= small < medium < large == IMAGE_TOKENS
    assert image_cost(64, 64, "low") == LOW_DETAIL_IMAGE_TOKENS
    assert image_cost(64, 64, "original") == IMAGE_TOKENS


def test_openai_worked_examples_are_not_underestimated() -> None:
    # Given OpenAI's worked examples of high-detail prices (1024² → 765 tokens, 2048 × 4096 → 1,105)
    # Then the estimate is at least as much
    assert image_tokens(1024, 1024) >= 765
    assert image_tokens(2048, 4096) >= 1_105


@given(st.integers(1, 20_000), st.integers(1, 20_000))
def test_a_known_image_size_errs_high_and_stays_bounded(width: int, height: int) -> None:
    # Given any image size / When estimated / Then never below Anthropic's rate or one OpenAI tile,
    # never above the fixed cost of an image of unknown size
    tokens = image_tokens(width, height)
    anthropic = math.ceil(width * height / ANTHROPIC_PIXELS_PER_TOKEN)
    assert min(IMAGE_TOKENS, max(anthropic, OPENAI_ONE_TILE)) <= tokens <= IMAGE_TOKENS


def test_tools_and_schema_add_tokens() -> None:
    # Given a request with and without a tool and a response schema
    tool = {
        "type": "function",
        "function": {
            "name": "lookup_order",
            "description": "Look an order up by its number.",
            "parameters": {"type": "object", "properties": {"order": {"type": "string"}}},
        },
    }
    schema = {
        "type": "json_schema",
        "json_schema": {
            "name": "answer",
            "schema": {"type": "object", "properties": {"x": {"type": "string"}}},
        },
    }
    plain = estimate_request_tokens(_request("Where is my order?"))

    # When estimated
    with_tool = estimate_request_tokens(_request("Where is my order?", tools=[tool]))
    with_schema = estimate_request_tokens(_request("Where is my order?", response_format=schema))

    # Then both cost more than the plain request
    assert with_tool > plain + 20
    assert with_schema > plain + 5


def test_assistant_tool_call_arguments_count() -> None:
    # Given a conversation where the assistant called a tool with long arguments
    arguments = '{"query": "' + "find all the invoices of last year " * 10 + '"}'
    request = parse_chat_request(
        {
            "messages": [
                {"role": "user", "content": "Find my invoices."},
                {
                    "role": "assistant",
                    "tool_calls": [
                        {
                            "id": "c1",
                            "type": "function",
                            "function": {"name": "search", "arguments": arguments},
                        }
                    ],
                },
            ]
        }
    )

    # When estimated / Then the arguments are part of the prompt
    assert estimate_request_tokens(request) >= estimate_tokens(arguments)


def test_feature_extraction_reads_each_image_header_once(monkeypatch: Any) -> None:
    # Given a request with images of known and unknown size, at every detail
    from modelrouter.features import extract_features, tokens

    parts = [
        image_part(data_uri("image/png", png(3000, 2000, pixels=False)), "high"),
        image_part(data_uri("image/png", png(64, 64, pixels=False)), "low"),
        image_part("https://example.com/a.png", "auto"),
        image_part(data_uri("image/png", png(800, 600, pixels=False)), "auto"),
    ]
    request = parse_chat_request(
        {"messages": [{"role": "user", "content": [{"type": "text", "text": "x"}, *parts]}]}
    )
    expected = estimate_request_tokens(request)

    # When the features are extracted with the token estimate unable to read a header itself
    def no_second_read(part: Any) -> Any:
        raise AssertionError("the token estimate read an image header the features had read")

    monkeypatch.setattr(tokens, "image_info", no_second_read)
    # Then the estimate is the same, from the headers read once for the features
    assert extract_features(request).prompt_tokens == expected
