"""The Amazon Bedrock provider: Converse API calls and Bedrock Guardrails, with IAM credentials.

Importing this package does not import boto3; the first call does.
"""

from __future__ import annotations

from modelrouter.providers.bedrock.client import BedrockProvider
from modelrouter.providers.bedrock.error_mapping import error_from_client_error, error_from_exception
from modelrouter.providers.bedrock.guardrail import BedrockGuardrailService
from modelrouter.providers.bedrock.mapping import from_converse_response, to_converse_request
from modelrouter.providers.bedrock.runtime import ClientFactory, default_client_factory

__all__ = [
    "BedrockGuardrailService",
    "BedrockProvider",
    "ClientFactory",
    "default_client_factory",
    "error_from_client_error",
    "error_from_exception",
    "from_converse_response",
    "to_converse_request",
]
