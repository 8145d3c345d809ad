"""What an import would change, without writing: ``partnerflow import --dry-run`` and the
console's preview page.

The preview runs the importer's own checks and its own ``write`` inside a transaction that is
rolled back, with autoflush off, and reads the pending inserts and the changed attributes
from the session: the same code decides what the import writes and what the preview shows,
so the two cannot drift apart.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from enum import Enum
from pathlib import Path
from typing import Any, Literal

from sqlalchemy import inspect
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import Session

from domain.text import N_, MarkedText
from starter.imports.base import (
    Importer,
    ImportResult,
    Progress,
    check_rows,
    read_rows,
    validate_rows,
    write_rows,
)

# Bookkeeping columns an import sets on every row it touches: not a change of the data.
BOOKKEEPING = frozenset({"updated_at", "created_at"})

Action = Literal["insert", "update", "start"]


@dataclass
class FieldChange:
    """One field an update would change."""

    field: str
    old: str | None
    new: str | None


@dataclass
class RowChange:
    """One row the import would insert or update (or, for ``applications``, start)."""

    row: int | None  # the file's data row (1-based); None when the importer names no key
    key: str
    action: Action
    table: str
    fields: list[FieldChange] = field(default_factory=list)


@dataclass
class ImportPreview:
    """What importing the file would do; nothing was written."""

    kind: str
    file: str
    rows: int
    inserts: int = 0
    updates: int = 0
    unchanged: int = 0
    starts: int = 0  # workflows an ``applications`` import would start
    changes: list[RowChange] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    dry_run: bool = True


def shown(value: Any) -> str | None:
    """A value as the preview shows it (enums by value, datetimes in UTC ISO form)."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"  # as the files write it
    if isinstance(value, Enum):
        return str(value.value)
    if isinstance(value, datetime):
        aware = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
        return aware.astimezone(UTC).isoformat()
    return str(value)


def same(old: Any, new: Any) -> bool:
    """Whether an attribute set to ``new`` over ``old`` keeps the stored value."""
    if isinstance(old, Decimal) or isinstance(new, Decimal):
        try:
            return Decimal(str(old)) == Decimal(str(new))
        except ArithmeticError:
            return False
    return shown(old) == shown(new)


def _key_text(key: tuple[Any, ...]) -> str:
    return "/".join(shown(k) or "" for k in key)


def pending_changes(session: Session, rows_by_key: dict[tuple[Any, ...], int]) -> list[RowChange]:
    """The session's unflushed inserts and real updates, in the file's row order."""
    changes: list[RowChange] = []
    for obj in session.new:
        mapper = inspect(obj).mapper
        key = tuple(mapper.primary_key_from_instance(obj))
        changes.append(
            RowChange(rows_by_key.get(key), _key_text(key), "insert", mapper.local_table.name)
        )
    for obj in session.dirty:
        state = inspect(obj)
        fields = []
        for attr in state.mapper.column_attrs:
            if attr.key in BOOKKEEPING:
                continue
            history = state.attrs[attr.key].history
            if not history.added:
                continue
            old = history.deleted[0] if history.deleted else None
            new = history.added[0]
            if not same(old, new):
                fields.append(FieldChange(attr.key, shown(old), shown(new)))
        if fields:
            key = tuple(state.mapper.primary_key_from_instance(obj))
            changes.append(
                RowChange(
                    rows_by_key.get(key),
                    _key_text(key),
                    "update",
                    state.mapper.local_table.name,
                    fields,
                )
            )
    changes.sort(key=lambda c: (c.row is None, c.row or 0, c.key))
    return changes


async def preview_import(
    sessions: async_sessionmaker[AsyncSession],
    importer: Importer[Any],
    path: Path,
    progress: Progress | None = None,
) -> ImportPreview:
    """Validates and checks the file as the import does, and says what it would change.

    Refused files raise the import's own errors (ImportRefusedError with row, field and
    reason; BadInputError for an unreadable file). Nothing is written in any case.
    """
    rows = validate_rows(path, importer.model, read_rows(path))
    preview = ImportPreview(kind=importer.kind, file=str(path), rows=len(rows))
    async with sessions() as s:
        try:
            await check_rows(s, importer, path, rows)
            if not importer.transactional:
                # It starts workflows: nothing to roll back, so it is not run at all.
                preview.starts = len(rows)
                preview.changes = [
                    RowChange(n, str(n), "start", importer.kind) for n in range(1, len(rows) + 1)
                ]
                preview.notes.append(
                    MarkedText(N_("running workflows are checked again when importing"))
                )
                return preview
            result = ImportResult(kind=importer.kind, file=str(path), rows=len(rows))
            keys: dict[tuple[Any, ...], int] = {}
            if importer.key is not None:
                keys = {importer.key(r): n for n, r in enumerate(rows, start=1)}
            with s.no_autoflush:
                await write_rows(s, importer, rows, result, progress)
                preview.changes = pending_changes(s.sync_session, keys)
            preview.notes = list(result.notes)
        finally:
            await s.rollback()
    preview.inserts = sum(1 for c in preview.changes if c.action == "insert")
    preview.updates = sum(1 for c in preview.changes if c.action == "update")
    preview.unchanged = max(preview.rows - preview.inserts - preview.updates, 0)
    return preview
