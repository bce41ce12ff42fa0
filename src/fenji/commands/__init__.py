"""System-of-record commands of the ``fenji`` CLI, one module each (import, run, ...).

Each module exposes ``register(app)``; they import Django only inside their commands, so
``fenji evaluate`` stays as light as the engine.
"""

from __future__ import annotations

import importlib
import pkgutil

import typer


def register_all(app: typer.Typer) -> None:
    """Register every command module of this package on ``app``."""
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{__name__}.{info.name}")
        register = getattr(module, "register", None)
        if register is not None:
            register(app)
