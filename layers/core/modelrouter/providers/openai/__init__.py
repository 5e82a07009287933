"""OpenAI-compatible Chat Completions: OpenAI, Azure OpenAI, Mistral, Groq, Together, vLLM, Ollama …"""

from __future__ import annotations

from modelrouter.providers.openai.client import OpenAIProvider
from modelrouter.providers.openai.errors import error_from_response
from modelrouter.providers.openai.mapping import Endpoint, endpoint, parse_response, request_body

__all__ = ["Endpoint", "OpenAIProvider", "endpoint", "error_from_response", "parse_response", "request_body"]
