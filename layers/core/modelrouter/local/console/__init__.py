"""The local console at ``/_local/console``: recent requests with their decisions explained, routing mix
per route, spend against budget per tenant and what the requests say about breakers, live.

Served by local mode's gateway only (outside the API stage; never in ``template.yaml``): the page
(``index.html``, plain HTML and a little JavaScript, no build step, no external URL) polls
``/_local/console/state.json`` every two seconds. :mod:`modelrouter.local.console_state` computes the
document, :mod:`.reader` reads the embedded AWS, :mod:`.pages` answers HTTP.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from modelrouter.local.console.pages import CONSOLE_PATH, STATE_PATH, ConsolePages, console_url

if TYPE_CHECKING:
    from modelrouter.local.stack import LocalStack

__all__ = ["CONSOLE_PATH", "STATE_PATH", "ConsolePages", "attach_console", "console_url"]


def attach_console(stack: LocalStack) -> None:
    """Serve the console on ``stack``'s gateway, reading ``stack``'s embedded AWS (no-op without an API)."""
    from modelrouter.local.console.reader import ConsoleReader
    from modelrouter.local.environment import POLICY_POINTER_KEY

    if stack.gateway is None or stack.resources is None:
        return
    reader = ConsoleReader(
        dynamodb=stack.client("dynamodb"),
        s3=stack.client("s3"),
        bucket=stack.resources.bucket,
        policy_key=POLICY_POINTER_KEY,  # the store follows the active pointer
        tables=stack.resources.tables,
        containers=stack.containers,
    )
    stack.gateway.local_pages = ConsolePages(reader.state)
