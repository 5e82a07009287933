"""Load the Lambda handlers (``functions/<name>/app.py``) by path, as Lambda does from their code folder.

Every handler module is called ``app``; each is registered as ``<name>_app`` so they do not clash.
"""

from __future__ import annotations

import importlib.util
import os
import sys
import threading
from pathlib import Path
from types import ModuleType

from modelrouter import env_names

__all__ = ["FUNCTIONS_ENV", "functions_dir", "load_function", "project_root"]

FUNCTIONS_ENV = env_names.MODELROUTER_FUNCTIONS_DIR
"""Overrides where the ``functions/`` folder is (default: the repository this package lives in)."""

_LOADED: dict[str, ModuleType] = {}
_LOCK = threading.Lock()


def project_root() -> Path:
    """The repository this package lives in (``layers/core/modelrouter`` → the folder above ``layers``)."""
    return Path(__file__).resolve().parents[4]


def functions_dir() -> Path:
    """The ``functions/`` folder: ``$MODELROUTER_FUNCTIONS_DIR``, else the project's own."""
    configured = os.environ.get(FUNCTIONS_ENV)
    if configured:
        return Path(configured)
    return project_root() / "functions"


def load_function(name: str) -> ModuleType:
    """The handler module ``functions/<name>/app.py``, loaded once per process.

    Raises:
        FileNotFoundError: there is no such handler (the message names the path looked at).
    """
    with _LOCK:
        module = _LOADED.get(name)
        if module is not None:
            return module
        path = functions_dir() / name / "app.py"
        if not path.is_file():
            raise FileNotFoundError(f"no Lambda handler at {path}")
        module_name = f"{name}_app"
        spec = importlib.util.spec_from_file_location(module_name, path)
        if spec is None or spec.loader is None:
            raise FileNotFoundError(f"cannot load {path}")
        module = importlib.util.module_from_spec(spec)
        sys.modules[module_name] = module
        try:
            spec.loader.exec_module(module)
        except BaseException:
            del sys.modules[module_name]
            raise
        _LOADED[name] = module
        return module
