"""Reference-data imports for every front door: the kinds, the preview (dry run) and the
import itself with its follow-up work. ``partnerflow import`` and the console's imports page
call these functions, so both validate, preview and write the same way."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from starter.imports.base import IMPORTERS, Importer, ImportResult, Progress, run_import
from starter.imports.preview import ImportPreview, preview_import
from starter.services.context import AppContext
from starter.services.errors import BadInputError

AfterImport = Callable[[AppContext, ImportResult], Awaitable[None]]


def importers() -> dict[str, Importer[Any]]:
    """Every import kind, by name (importing the modules registers them)."""
    # isort: off
    from starter.imports import incentives, onboarding, renewals, unbinding
    from starter.imports import core

    # isort: on
    del incentives, onboarding, renewals, unbinding, core
    return IMPORTERS


def importer_for(kind: str) -> Importer[Any]:
    """The importer of ``kind``; an unknown kind is bad input naming the known ones."""
    found = importers().get(kind)
    if found is None:
        kinds = ", ".join(sorted(IMPORTERS))
        raise BadInputError(f"KIND: unknown kind {kind!r}; choose one of {kinds}")
    return found


def after_import(kind: str) -> AfterImport | None:
    """The follow-up after a committed import of ``kind`` (e.g. re-send invitations whose
    customer's email changed), whichever front door ran it."""
    from starter.services.core import AFTER_IMPORT
    from starter.services.incentives import _release_frozen
    from starter.services.renewals import signal_extended_orders

    hooks: dict[str, AfterImport] = {
        "subscriptions": signal_extended_orders,
        "bill-status": _release_frozen,
    }
    hooks.update(AFTER_IMPORT)  # customers; and what the CLI modules registered
    return hooks.get(kind)


async def preview(
    ctx: AppContext, kind: str, path: Path, progress: Progress | None = None
) -> ImportPreview:
    """What importing ``path`` as ``kind`` would change; writes nothing. Bad rows raise
    ImportRefusedError (row, field, reason), as the import itself would."""
    return await preview_import(ctx.sessions, importer_for(kind), path, progress)


async def run(
    ctx: AppContext, kind: str, path: Path, progress: Progress | None = None
) -> ImportResult:
    """Imports ``path`` as ``kind`` (all or nothing), then runs the kind's follow-up."""
    result = await run_import(ctx.sessions, importer_for(kind), path, progress)
    after = after_import(kind)
    if after is not None:
        await after(ctx, result)
    return result
