"""The console's two pages on the local gateway: ``GET /_local/console`` (one static HTML file with its
own script and style) and ``GET /_local/console/state.json`` (what the script polls). Anything else
under ``/_local/`` is 404, as is a request from another machine or for another host name (a web page
that rebinds its own name to 127.0.0.1 cannot read the console).

The page builds its DOM with ``textContent`` only; its Content-Security-Policy admits exactly its own
inline script and style (by hash) and fetches to this origin, so a prompt or a model name holding markup
shows as text and could not run even if it reached the DOM as markup.
"""

from __future__ import annotations

import base64
import hashlib
import ipaddress
import json
import re
from collections.abc import Callable, Mapping, Sequence
from importlib import resources
from typing import Any

from modelrouter.local.events import STAGE
from modelrouter.local.gateway_template import GatewayReply

__all__ = [
    "CONSOLE_PATH",
    "ICON_PATH",
    "STATE_PATH",
    "ConsolePages",
    "console_url",
    "content_security_policy",
]

CONSOLE_PATH = "/_local/console"
"""The console page (outside the API stage, so never part of the deployed API)."""
STATE_PATH = f"{CONSOLE_PATH}/state.json"
"""The JSON document the page polls."""
ICON_PATH = f"{CONSOLE_PATH}/icon.svg"
"""The page's icon (named in the page, so a browser does not ask the API stand-in for /favicon.ico)."""
_ICON = (
    b'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 16">'
    b'<circle cx="8" cy="8" r="7" fill="#2f5fd0"/></svg>'
)
LOCAL_HOST_NAMES = frozenset({"127.0.0.1", "localhost", "::1"})
"""Host header names the console answers to."""
_INLINE = re.compile(r"<(script|style)>(.*?)</\1>", re.DOTALL)
_COMMON_HEADERS = {
    "cache-control": "no-store",
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "x-frame-options": "DENY",
}
_NOT_FOUND: GatewayReply = (
    404,
    {"content-type": "text/plain; charset=utf-8", **_COMMON_HEADERS},
    b"not found\n",
)


def console_url(api_url: str) -> str:
    """The console's address next to the API at ``api_url`` (``http://127.0.0.1:8080/api``)."""
    return api_url.removesuffix(f"/{STAGE}") + CONSOLE_PATH


def content_security_policy(page: bytes) -> str:
    """A CSP that allows ``page``'s inline ``<script>`` and ``<style>`` blocks (by SHA-256) and nothing else
    but fetches to its own origin."""
    hashes: dict[str, list[str]] = {"script": [], "style": []}
    for kind, body in _INLINE.findall(page.decode("utf-8")):
        digest = base64.b64encode(hashlib.sha256(body.encode("utf-8")).digest()).decode()
        hashes[kind].append(f"'sha256-{digest}'")
    sources = {kind: " ".join(found) or "'none'" for kind, found in hashes.items()}
    return "; ".join(
        [
            "default-src 'none'",
            f"script-src {sources['script']}",
            f"style-src {sources['style']}",
            "connect-src 'self'",
            "img-src 'self'",
            "base-uri 'none'",
            "form-action 'none'",
            "frame-ancestors 'none'",
        ]
    )


def _host_name(headers: Sequence[tuple[str, str]]) -> str:
    host = next((value for name, value in headers if name.lower() == "host"), "").strip().lower()
    if host.startswith("["):
        return host[1:].partition("]")[0]
    return host.rpartition(":")[0] if host.count(":") == 1 else host


def _loopback(address: str) -> bool:
    try:
        return ipaddress.ip_address(address).is_loopback
    except ValueError:
        return False


class ConsolePages:
    """Answers the console's requests; ``state`` computes the JSON document."""

    def __init__(self, state: Callable[[], Mapping[str, Any]]) -> None:
        self._state = state
        self.page = (resources.files(__package__) / "index.html").read_bytes()
        """The console page, as served."""
        self.csp = content_security_policy(self.page)
        """The page's Content-Security-Policy."""

    def __call__(
        self, method: str, raw_path: str, headers: Sequence[tuple[str, str]], source_ip: str
    ) -> GatewayReply:
        """The reply to one request under ``/_local/`` (404 unless a GET of a console page from here)."""
        path = raw_path.partition("?")[0]
        if method != "GET" or not _loopback(source_ip) or _host_name(headers) not in LOCAL_HOST_NAMES:
            return _NOT_FOUND
        if path in (CONSOLE_PATH, f"{CONSOLE_PATH}/"):
            html = {"content-type": "text/html; charset=utf-8", "content-security-policy": self.csp}
            return 200, {**html, **_COMMON_HEADERS}, self.page
        if path == STATE_PATH:
            return self._state_reply()
        if path == ICON_PATH:
            return 200, {"content-type": "image/svg+xml", **_COMMON_HEADERS}, _ICON
        return _NOT_FOUND

    def _state_reply(self) -> GatewayReply:
        headers = {"content-type": "application/json", **_COMMON_HEADERS}
        try:
            document: Mapping[str, Any] = self._state()
        except Exception as error:  # the page shows it and polls again; never a traceback
            message = f"cannot read the local stack's state: {type(error).__name__}: {error}"
            return 503, headers, json.dumps({"error": {"message": message}}).encode()
        return 200, headers, json.dumps(document, ensure_ascii=False).encode("utf-8")
