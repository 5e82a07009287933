"""What the local API Gateway reads from ``template.yaml``, once at start: the REST API's methods (its
OpenAPI ``DefinitionBody`` paths) and integration timeout, and its gateway responses (the definition's
``x-amazon-apigateway-gateway-responses``, or ``AWS::ApiGateway::GatewayResponse`` resources): API
Gateway's own refusals, rendered as the deployed API renders them.

A gateway response's body template may use ``$context.authorizer.<key>``, ``$context.error.message``,
``$context.error.messageString`` (the message as a quoted JSON string), ``$context.httpMethod``,
``$context.path`` and ``$context.requestId``; other variables become empty. A response type without a
resource of its own falls back to ``DEFAULT_4XX`` / ``DEFAULT_5XX``, then to API Gateway's default
``{"message": …}`` body.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

__all__ = [
    "DEFAULT_INTEGRATION_TIMEOUT_S",
    "DEFAULT_ROUTES",
    "GatewayReply",
    "GatewayResponse",
    "GatewayTemplate",
    "ResponseType",
    "RouteMatch",
]

ResponseType = str
"""A gateway response type: ``UNAUTHORIZED``, ``ACCESS_DENIED``, ``DEFAULT_5XX`` …"""
GatewayReply = tuple[int, dict[str, str], bytes]
"""``(status, headers, body)``."""
DEFAULT_ROUTES = frozenset({("POST", "/v1/chat/completions"), ("POST", "/v1/route"), ("GET", "/v1/models")})
"""The methods served when the template has no OpenAPI paths."""
_PATH_PARAMETER = re.compile(r"\{([A-Za-z0-9_]+)\}")
DEFAULT_INTEGRATION_TIMEOUT_S = 29.0
"""A REST API integration's default timeout."""

_DEFAULTS: dict[ResponseType, tuple[int, str]] = {
    "ACCESS_DENIED": (403, "User is not authorized to access this resource with an explicit deny"),
    "AUTHORIZER_CONFIGURATION_ERROR": (500, "Authorizer configuration error"),
    "AUTHORIZER_FAILURE": (500, "Authorizer Failure"),
    "INTEGRATION_FAILURE": (504, "Internal server error"),
    "INTEGRATION_TIMEOUT": (504, "Endpoint request timed out"),
    "MISSING_AUTHENTICATION_TOKEN": (403, "Missing Authentication Token"),
    "REQUEST_TOO_LARGE": (413, "Request Too Long"),
    "THROTTLED": (429, "Too Many Requests"),
    "UNAUTHORIZED": (401, "Unauthorized"),
    "DEFAULT_4XX": (400, "Bad Request"),
    "DEFAULT_5XX": (502, "Internal server error"),
}
"""API Gateway's default status and error message of each response type used here."""
_VARIABLE = re.compile(r"\$context((?:\.[A-Za-z0-9_]+)+)")
_HEADER_PREFIX = "gatewayresponse.header."


class _CloudFormationLoader(yaml.SafeLoader):
    """YAML with CloudFormation's short tags (``!Ref``, ``!Sub`` …), read as plain values."""


def _any_tag(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> Any:
    if isinstance(node, yaml.ScalarNode):
        return loader.construct_scalar(node)
    if isinstance(node, yaml.SequenceNode):
        return loader.construct_sequence(node)
    return loader.construct_mapping(node)  # type: ignore[arg-type]


_CloudFormationLoader.add_multi_constructor("!", _any_tag)


@dataclass(frozen=True)
class GatewayResponse:
    """One ``AWS::ApiGateway::GatewayResponse`` of the template."""

    status: int | None
    """``StatusCode``; None: the response type's default."""
    headers: dict[str, str]
    """``gatewayresponse.header.*`` parameters, their quotes removed."""
    body: str | None
    """The ``application/json`` response template."""


@dataclass(frozen=True)
class RouteMatch:
    """The method a request path resolved to."""

    resource: str
    """The resource path as the template writes it (``/v1/models/{model}``)."""
    path_parameters: dict[str, str]
    """The values of its ``{name}`` segments."""
    authorized: bool
    """Whether the method requires the authorizer (an OpenAPI ``security: []`` does not)."""
    identity_headers: tuple[str, ...] = ()
    """The headers its authorizer's ``identitySource`` names: without any of them API Gateway answers
    ``UNAUTHORIZED`` without calling the authorizer. Empty: the authorizer is called for every request."""


def _match_resource(resource: str, path: str) -> dict[str, str] | None:
    """The path parameters when ``path`` is an instance of ``resource``, else None."""
    wanted, given = resource.strip("/").split("/"), path.strip("/").split("/")
    if len(wanted) != len(given):
        return None
    parameters: dict[str, str] = {}
    for pattern, segment in zip(wanted, given, strict=True):
        name = _PATH_PARAMETER.fullmatch(pattern)
        if name is not None and segment:
            parameters[name.group(1)] = segment
        elif pattern != segment:
            return None
    return parameters


@dataclass(frozen=True)
class GatewayTemplate:
    """The methods, timeout and gateway responses of the template's REST API."""

    routes: frozenset[tuple[str, str]] = DEFAULT_ROUTES
    """``(METHOD, resource path)`` of every method."""
    integration_timeout_s: float = DEFAULT_INTEGRATION_TIMEOUT_S
    """The longest integration timeout of the methods: the wait for a response's prelude."""
    responses: Mapping[ResponseType, GatewayResponse] = field(default_factory=dict)
    """The template's gateway responses by type."""
    public_routes: frozenset[tuple[str, str]] = frozenset()
    """The methods of :attr:`routes` whose ``security`` is empty: served without the authorizer."""
    identity_headers: Mapping[tuple[str, str], tuple[str, ...]] = field(default_factory=dict)
    """The identity-source headers of each method's authorizer (lower case); a method that is missing
    here needs none. By default every method but the public ones needs ``Authorization``."""

    def match(self, method: str, path: str) -> RouteMatch | None:
        """The method serving ``method path`` (the path without the stage), or None (API Gateway's
        ``MISSING_AUTHENTICATION_TOKEN``). A literal resource wins over one with parameters."""
        ordered = sorted(self.routes, key=lambda route: (route[1].count("{"), route[1]))
        for route_method, resource in ordered:
            if route_method != method:
                continue
            parameters = _match_resource(resource, path)
            if parameters is not None:
                key = (route_method, resource)
                authorized = key not in self.public_routes
                headers = self.identity_headers.get(key, ()) if authorized else ()
                return RouteMatch(resource, parameters, authorized, headers)
        return None

    @classmethod
    def load(cls, path: Path) -> GatewayTemplate:
        """Read ``path``; a missing file, or one without the REST API's parts, gives the defaults."""
        try:
            document = yaml.load(path.read_text(encoding="utf-8"), Loader=_CloudFormationLoader)
        except (OSError, yaml.YAMLError):
            return cls()
        resources = document.get("Resources") if isinstance(document, dict) else None
        if not isinstance(resources, dict):
            return cls()
        routes: set[tuple[str, str]] = set()
        public: set[tuple[str, str]] = set()
        identities: dict[tuple[str, str], tuple[str, ...]] = {}
        timeouts: list[float] = []
        responses: dict[ResponseType, GatewayResponse] = {}
        for resource in resources.values():
            kind = resource.get("Type") if isinstance(resource, dict) else None
            properties = resource.get("Properties") or {} if isinstance(resource, dict) else {}
            if kind in ("AWS::Serverless::Api", "AWS::ApiGateway::RestApi"):
                definition = properties.get("DefinitionBody") or properties.get("Body") or {}
                extension = definition.get("x-amazon-apigateway-gateway-responses") or {}
                for response_type, spec in extension.items():
                    responses[str(response_type)] = _response(_cloudformation_keys(spec or {}))
                schemes = _identity_sources(definition)
                paths = definition.get("paths") or {}
                for resource_path, methods in paths.items():
                    for method, spec in (methods or {}).items():
                        key = (str(method).upper(), str(resource_path))
                        routes.add(key)
                        security = (spec or {}).get("security")
                        if security == []:
                            public.add(key)
                        for requirement in security or ():
                            for scheme in requirement or {}:
                                identities[key] = identities.get(key, ()) + schemes.get(str(scheme), ())
                        integration = (spec or {}).get("x-amazon-apigateway-integration") or {}
                        if "timeoutInMillis" in integration:
                            timeouts.append(float(integration["timeoutInMillis"]) / 1000)
            elif kind == "AWS::ApiGateway::GatewayResponse" and properties.get("ResponseType"):
                responses[str(properties["ResponseType"])] = _response(properties)
        return cls(
            routes=frozenset(routes) or DEFAULT_ROUTES,
            integration_timeout_s=max(timeouts, default=DEFAULT_INTEGRATION_TIMEOUT_S),
            responses=responses,
            public_routes=frozenset(public),
            identity_headers=identities,
        )

    def render(
        self, response_type: ResponseType, variables: Mapping[str, str], message: str | None = None
    ) -> GatewayReply:
        """API Gateway's answer of ``response_type``; ``variables`` by name after ``$context.``
        (``authorizer.message``, ``httpMethod`` …), ``message`` the error message (the type's default
        without one)."""
        default_status, default_message = _DEFAULTS.get(response_type, _DEFAULTS["DEFAULT_5XX"])
        fallback = "DEFAULT_4XX" if default_status < 500 else "DEFAULT_5XX"
        found = self.responses.get(response_type) or self.responses.get(fallback)
        status = found.status if found is not None and found.status is not None else default_status
        message = message if message is not None else default_message
        values = {"error.message": message, "error.messageString": json.dumps(message), **variables}
        template = found.body if found is not None and found.body is not None else None
        if template is None:
            body = json.dumps({"message": message})
        else:
            body = _VARIABLE.sub(lambda match: values.get(match.group(1)[1:], ""), template)
        headers = {"content-type": "application/json", **(found.headers if found is not None else {})}
        return status, headers, body.encode("utf-8")


def _identity_sources(definition: Mapping[str, Any]) -> dict[str, tuple[str, ...]]:
    """The headers each security scheme's authorizer names in ``identitySource`` (lower case)."""
    components = definition.get("components") or {}
    found: dict[str, tuple[str, ...]] = {}
    for name, scheme in (components.get("securitySchemes") or {}).items():
        authorizer = (scheme or {}).get("x-amazon-apigateway-authorizer") or {}
        sources = [source.strip() for source in str(authorizer.get("identitySource") or "").split(",")]
        prefix = "method.request.header."
        found[str(name)] = tuple(
            source.removeprefix(prefix).lower() for source in sources if source.startswith(prefix)
        )
    return found


def _cloudformation_keys(spec: Mapping[str, Any]) -> dict[str, Any]:
    """An OpenAPI ``x-amazon-apigateway-gateway-responses`` entry with the resource's property names."""
    names = {"statusCode": "StatusCode", "responseParameters": "ResponseParameters",
             "responseTemplates": "ResponseTemplates"}  # fmt: skip
    return {names.get(key, key): value for key, value in spec.items()}


def _response(properties: Mapping[str, Any]) -> GatewayResponse:
    status = properties.get("StatusCode")
    templates = properties.get("ResponseTemplates") or {}
    body = templates.get("application/json") if isinstance(templates, dict) else None
    headers = {}
    for name, value in (properties.get("ResponseParameters") or {}).items():
        if str(name).startswith(_HEADER_PREFIX):
            headers[str(name).removeprefix(_HEADER_PREFIX)] = str(value).strip("'")
    return GatewayResponse(int(status) if status is not None else None, headers, body)
