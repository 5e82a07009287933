"""X-Ray tracing without the X-Ray SDK: subsegments sent straight to the Lambda X-Ray daemon.

Lambda's active tracing records the function's segment; what the router adds are subsegments: one for
the handler (annotated ``ColdStart`` and ``Service`` as Powertools' tracer does), one per AWS SDK call
(:mod:`modelrouter.tracing.botocore_hooks`, through botocore's event hooks) and one per HTTP provider
call (:mod:`modelrouter.tracing.httpx_hooks`). Each is a JSON segment document sent over UDP to
``AWS_XRAY_DAEMON_ADDRESS`` when it ends, the daemon protocol the SDK itself uses.

Why not the SDK: importing ``aws_xray_sdk.core`` costs about 200 ms of every cold start (it builds two
botocore X-Ray clients for its sampler, which Lambda does not use: Lambda samples), and Powertools'
``Tracer`` imports it even where tracing is off. Sampling is Lambda's: a request is traced only when
its trace header says ``Sampled=1``; otherwise every call here is a no-op.
"""

from __future__ import annotations

from modelrouter.tracing.header import TraceHeader
from modelrouter.tracing.recorder import Recorder, Subsegment, recorder

__all__ = ["Recorder", "Subsegment", "TraceHeader", "recorder"]
