"""Lambda response streaming for Python: the response type, and a Runtime API loop that streams it.

Lambda's managed Python runtime returns buffered responses only. The router function streams by
running :mod:`modelrouter.lambda_runtime.loop` in its place (started by the layer's exec wrapper,
``AWS_LAMBDA_EXEC_WRAPPER=/opt/modelrouter-streaming``), which speaks the Lambda Runtime API's
documented streaming protocol (:mod:`.runtime_api`) and hands handlers a :mod:`.context` like the
managed runtime's. Importing this package imports only :mod:`.response` (handlers import it).
"""

from __future__ import annotations

from modelrouter.lambda_runtime.response import (
    HTTP_INTEGRATION_CONTENT_TYPE,
    PRELUDE_DELIMITER,
    StreamingResponse,
    split_prelude,
)

__all__ = ["HTTP_INTEGRATION_CONTENT_TYPE", "PRELUDE_DELIMITER", "StreamingResponse", "split_prelude"]
