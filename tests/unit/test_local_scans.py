"""Simulated models read the images they are shown: a scan above a model's size answers badly, on every
wire format, with the router's own header reader."""

from __future__ import annotations

import base64
import json

from tests.media_files import data_uri, png

from modelrouter.local.model_anthropic import anthropic_request
from modelrouter.local.model_wire import bedrock_request, openai_request
from modelrouter.local.models import PROFILES, SimRequest, simulate

SCAN = png(3024, 4032, pixels=False)  # a phone photo of a form: 12.2 MP
FORM = png(800, 1000, pixels=False)  # a clean form export: 0.8 MP
TEXT = "Extract the applicant's name and date of birth from this form."


def openai_body(image: bytes) -> bytes:
    content = [
        {"type": "text", "text": TEXT},
        {"type": "image_url", "image_url": {"url": data_uri("image/png", image)}},
    ]
    return json.dumps({"model": "local-large", "messages": [{"role": "user", "content": content}]}).encode()


def test_every_wire_reads_the_largest_image() -> None:
    # Given the scan in each wire format
    encoded = base64.b64encode(SCAN).decode()
    anthropic = {
        "model": "local-medium-claude",
        "max_tokens": 100,
        "messages": [
            {
                "role": "user",
                "content": [
                    {
                        "type": "image",
                        "source": {"type": "base64", "media_type": "image/png", "data": encoded},
                    },
                    {"type": "text", "text": TEXT},
                ],
            }
        ],
    }
    bedrock = {
        "messages": [
            {
                "role": "user",
                "content": [{"image": {"format": "png", "source": {"bytes": encoded}}}, {"text": TEXT}],
            }
        ]
    }
    # Then each parser sees 12.2 megapixels
    assert openai_request(openai_body(SCAN))[1].image_megapixels == 3024 * 4032 / 1e6
    assert anthropic_request(json.dumps(anthropic).encode())[1].image_megapixels == 3024 * 4032 / 1e6
    assert bedrock_request(json.dumps(bedrock).encode())[0].image_megapixels == 3024 * 4032 / 1e6


def test_a_large_scan_defeats_the_medium_model_but_not_the_large_one() -> None:
    # Given the same question with a large scan and with a clean form
    scan = SimRequest(last_user_text=TEXT, prompt_chars=len(TEXT), image_megapixels=12.2)
    form = SimRequest(last_user_text=TEXT, prompt_chars=len(TEXT), image_megapixels=0.8)
    # Then only the large model reads the scan well, and the medium one reads the clean form
    assert not simulate(PROFILES["local-medium"], scan).good
    assert simulate(PROFILES["local-large"], scan).good
    assert (
        simulate(PROFILES["local-medium"], form).good
        == simulate(PROFILES["local-medium"], SimRequest(last_user_text=TEXT, prompt_chars=len(TEXT))).good
    )


def test_a_url_or_unreadable_image_is_no_scan() -> None:
    body = json.dumps(
        {
            "model": "local-large",
            "messages": [
                {
                    "role": "user",
                    "content": [
                        {"type": "text", "text": TEXT},
                        {"type": "image_url", "image_url": {"url": "data:image/png;base64,@@@@"}},
                    ],
                }
            ],
        }
    ).encode()
    assert openai_request(body)[1].image_megapixels is None
