"""The ``partnerflow`` CLI: one thin module per area over ``starter.services``.

The root typer app lives in ``starter.cli.root`` and is loaded on first use of ``app`` or
``main``: importing a helper such as ``starter.cli.output`` (the worker does) must not build
the whole CLI, whose modules import the stack and the services in turn.
"""

from __future__ import annotations

from typing import Any


def __getattr__(name: str) -> Any:
    if name in ("app", "main"):
        from starter.cli import root

        return getattr(root, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
