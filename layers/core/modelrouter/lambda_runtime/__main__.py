"""``python -m modelrouter.lambda_runtime``: the streaming runtime loop (started by the exec wrapper)."""

from __future__ import annotations

import sys

from modelrouter.lambda_runtime.loop import main

if __name__ == "__main__":
    sys.exit(main())
