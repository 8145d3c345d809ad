"""All-or-nothing import of reference data from CSV or JSON files.

Every row is validated with a pydantic model first; one bad row refuses the whole file with
its row number, field and reason, and nothing is written. Then all rows are written in one
transaction (upsert by primary key), so a re-import updates what changed.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ValidationError
from sqlalchemy import inspect as sa_inspect
from sqlalchemy import select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from domain.text import N_, MarkedError, MarkedText
from infra.metrics_db import record_import
from starter.services.errors import BadInputError

M = TypeVar("M", bound=BaseModel)

MAX_ERRORS_SHOWN = 20
# Rows written between two progress reports (one transaction either way).
CHUNK_ROWS = 200

# Row errors several importers give (marked: the imports page translates them).
NO_PARTNER = N_("no partner %(id)s")
NO_CUSTOMER = N_("no customer %(id)s")
NO_PARTNER_YET = N_("no partner %(id)s; import partners first")
NO_CUSTOMER_YET = N_("no customer %(id)s; import customers first")

# Session info key: (table, primary keys of this chunk that are not in the database).
ABSENT = "partnerflow_import_absent"

# Told (rows written, rows in the file) while an import writes; 0 first, the total last.
Progress = Callable[[int, int], None]


@dataclass
class RowError:
    """One problem in the file."""

    row: int  # 1-based data row (CSV: the header is row 0, so this is the line number - 1)
    field: str
    reason: str

    def __str__(self) -> str:
        return f"row {self.row}, field {self.field!r}: {self.reason}"


class ImportRefusedError(BadInputError):
    """The file has bad rows; nothing was written."""

    def __init__(self, path: Path, errors: Sequence[RowError]) -> None:
        shown = "\n  ".join(str(e) for e in errors[:MAX_ERRORS_SHOWN])
        more = (
            f"\n  ... and {len(errors) - MAX_ERRORS_SHOWN} more"
            if len(errors) > MAX_ERRORS_SHOWN
            else ""
        )
        super().__init__(
            f"{path.name}: {len(errors)} bad row(s), nothing was imported:\n  {shown}{more}",
            rule="invalid_rows",
            details=[e.__dict__ for e in errors],
        )
        self.errors = list(errors)


@dataclass
class ImportResult:
    """What an import wrote."""

    kind: str
    file: str
    rows: int
    inserted: int = 0
    updated: int = 0
    notes: list[str] = field(default_factory=list)

    def count(self, inserted: bool) -> None:
        """Counts one written row as inserted or updated."""
        if inserted:
            self.inserted += 1
        else:
            self.updated += 1

    def note(self, text: str) -> None:
        """Adds a note once (rows are written in chunks, each may add the same note)."""
        if text not in self.notes:
            self.notes.append(text)

    # Facts for follow-up work after the commit (e.g. customers whose email changed).
    extra: dict[str, Any] = field(default_factory=dict)


def read_text(path: Path) -> str:
    """The file's text (UTF-8, with or without BOM); bad input names the file and the problem."""
    if not path.exists():
        raise BadInputError(f"FILE: {path} does not exist", rule="invalid_file")
    if not path.is_file():
        raise BadInputError(f"FILE: {path} is a directory, not a file", rule="invalid_file")
    try:
        return path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        line = path.read_bytes()[: exc.start].count(b"\n") + 1
        raise BadInputError(
            f"{path.name}: not UTF-8 text (byte 0x{exc.object[exc.start]:02x} at offset "
            f"{exc.start}, line {line}); save the file as UTF-8 (CSV UTF-8 in spreadsheet "
            "programs) and import it again",
            rule="invalid_file",
        ) from None
    except OSError as exc:
        raise BadInputError(
            f"FILE: cannot read {path}: {exc.strerror or exc}", rule="invalid_file"
        ) from None


def read_rows(path: Path) -> list[dict[str, Any]]:
    """Rows of a ``.csv`` (header line) or ``.json`` (a list of objects) file."""
    text = read_text(path)
    suffix = path.suffix.lower()
    if suffix == ".json":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise BadInputError(
                f"{path.name}: not valid JSON ({exc})", rule="invalid_file"
            ) from None
        if (
            isinstance(data, dict)
            and len(data) == 1
            and isinstance(next(iter(data.values())), list)
        ):
            data = next(iter(data.values()))
        if not isinstance(data, list) or not all(isinstance(r, dict) for r in data):
            raise BadInputError(
                f"{path.name}: expected a JSON list of objects", rule="invalid_file"
            )
        return data
    if suffix == ".csv":
        try:
            return _csv_rows(path, text)
        except csv.Error as exc:
            raise BadInputError(
                f"{path.name}: not a readable CSV file ({exc})", rule="invalid_file"
            ) from None
    raise BadInputError(
        f"{path.name}: unsupported file type {suffix!r}; use .csv or .json", rule="invalid_file"
    )


def _csv_rows(path: Path, text: str) -> list[dict[str, Any]]:
    """The rows of a CSV text; empty cells are left out."""
    reader = csv.DictReader(io.StringIO(text))
    rows = []
    for raw in reader:
        if None in raw:
            raise BadInputError(
                f"{path.name}: line {reader.line_num} has more values than the header",
                rule="invalid_file",
            )
        # Empty CSV cells mean "not given": the model's default applies.
        rows.append(
            {k.strip(): v.strip() for k, v in raw.items() if v is not None and v.strip() != ""}
        )
    return rows


def row_reason(err: Mapping[str, Any]) -> str:
    """A row error's reason: pydantic's English as the CLI has always printed it, and the
    marked message for the imports page: a door type's (``MarkedError``), or the forms'
    words for pydantic's own error types (``commands.FRIENDLY``)."""
    from starter.services.commands import FRIENDLY  # the forms' words; imported late (cycle)

    cause = (err.get("ctx") or {}).get("error")
    if isinstance(cause, MarkedError):
        return MarkedText.worded(str(err["msg"]), cause.message, cause.params)
    friendly = FRIENDLY.get(err["type"])
    if friendly is not None:
        limits = err.get("ctx") or {}
        limit = next((limits[k] for k in ("ge", "le", "gt", "max_length") if k in limits), "")
        return MarkedText.worded(
            str(err["msg"]), friendly, {"limit": limit} if "%(" in friendly else {}
        )
    return str(err["msg"])


def validate_rows(path: Path, model: type[M], rows: list[dict[str, Any]]) -> list[M]:
    """Validates every row; raises ImportRefusedError listing every bad one."""
    errors: list[RowError] = []
    out: list[M] = []
    for n, raw in enumerate(rows, start=1):
        try:
            out.append(model.model_validate(raw))
        except ValidationError as exc:
            for err in exc.errors():
                loc = ".".join(str(p) for p in err["loc"]) or "(row)"
                errors.append(RowError(row=n, field=loc, reason=row_reason(err)))
    if not rows:
        raise BadInputError(f"{path.name}: the file has no rows", rule="invalid_file")
    if errors:
        raise ImportRefusedError(path, errors)
    return out


@dataclass
class Importer(Generic[M]):
    """An import kind: its row model, extra whole-file checks, and how to write rows.

    ``check`` sees every validated row and the database, and returns further RowErrors
    (unknown references, duplicates in the file). ``write`` runs in one transaction, called
    once per chunk of rows when ``transactional`` (it only writes to that transaction, so a
    preview can run it and roll back); otherwise once, with every row (it starts workflows).
    ``key`` gives a row's primary key in ``table``, the table it upserts into: a preview
    names the file's row of each change, and each chunk's existing rows are loaded with one
    query instead of one per row.
    """

    kind: str
    model: type[M]
    write: Callable[[AsyncSession, list[M], ImportResult], Awaitable[None]]
    check: Callable[[AsyncSession, list[M]], Awaitable[list[RowError]]] | None = None
    help: str = ""
    key: Callable[[M], tuple[Any, ...]] | None = None
    table: type[Any] | None = None
    transactional: bool = True


async def check_rows(s: AsyncSession, importer: Importer[Any], path: Path, rows: list[Any]) -> None:
    """Runs the importer's whole-file checks; raises ImportRefusedError listing every problem."""
    if importer.check is not None:
        errors = await importer.check(s, rows)
        if errors:
            raise ImportRefusedError(path, errors)


async def write_rows(
    s: AsyncSession,
    importer: Importer[Any],
    rows: list[Any],
    result: ImportResult,
    progress: Progress | None = None,
) -> None:
    """Writes the rows in chunks (one transaction), telling ``progress`` after each chunk."""
    total = len(rows)
    if progress is not None:
        progress(0, total)
    if not importer.transactional:
        await importer.write(s, rows, result)
    else:
        # Nothing is flushed until every chunk is written: on SQLite the first INSERT or
        # UPDATE takes the database's write lock until the commit, and the workers and the
        # console (each page touches its session row) must not wait for a whole large file.
        with s.no_autoflush:
            for start in range(0, total, CHUNK_ROWS):
                chunk = rows[start : start + CHUNK_ROWS]
                # Held until the chunk is written: the session keeps loaded rows weakly only.
                loaded = await _load_existing(s, importer, chunk)
                try:
                    await importer.write(s, chunk, result)
                finally:
                    s.info.pop(ABSENT, None)
                del loaded
                if progress is not None and start + CHUNK_ROWS < total:
                    progress(start + CHUNK_ROWS, total)
    if progress is not None:
        progress(total, total)


async def _load_existing(s: AsyncSession, importer: Importer[Any], chunk: list[Any]) -> list[Any]:
    """Loads the chunk's existing rows into the session, and notes the keys that have none,
    so that ``upsert_row`` asks the database nothing more (one query per 200 rows instead of
    one per row: 20,000 new customers in seconds rather than a minute)."""
    if importer.table is None or importer.key is None or not chunk:
        return []
    columns = list(sa_inspect(importer.table).primary_key)
    keys = [importer.key(r) for r in chunk]
    if len(columns) == 1:
        where = columns[0].in_([k[0] for k in keys])
    else:
        where = tuple_(*columns).in_(keys)
    found = list((await s.scalars(select(importer.table).where(where))).all())
    known = {tuple(sa_inspect(row).identity or ()) for row in found}
    s.info[ABSENT] = (importer.table, {k for k in keys if k not in known})
    return found


async def run_import(
    sessions: async_sessionmaker[AsyncSession],
    importer: Importer[Any],
    path: Path,
    progress: Progress | None = None,
) -> ImportResult:
    """Reads, validates, checks and writes a file; all or nothing. Each run is recorded
    (kind, ok or refused) for the imports metric; ``progress`` hears of the rows written."""
    try:
        rows = validate_rows(path, importer.model, read_rows(path))
        result = ImportResult(kind=importer.kind, file=str(path), rows=len(rows))
        async with sessions.begin() as s:
            await check_rows(s, importer, path, rows)
            await write_rows(s, importer, rows, result, progress)
    except BadInputError as exc:
        await record_import(sessions, importer.kind, "refused", f"{path.name}: {exc.rule or exc}")
        raise
    await record_import(
        sessions,
        importer.kind,
        "ok",
        f"{path.name}: {result.rows} rows, {result.inserted} new, {result.updated} updated",
    )
    return result


def duplicates(
    rows: Sequence[Any], key: Callable[[Any], object], field_name: str
) -> list[RowError]:
    """RowErrors for rows whose key repeats an earlier row's."""
    seen: dict[object, int] = {}
    errors = []
    for n, row in enumerate(rows, start=1):
        k = key(row)
        if k in seen:
            errors.append(
                RowError(n, field_name, MarkedText(N_("duplicate of row %(row)s"), row=seen[k]))
            )
        else:
            seen[k] = n
    return errors


async def upsert_row(s: AsyncSession, table: type[Any], key: Any, values: dict[str, Any]) -> bool:
    """Inserts the row, or updates the one with that primary key; True when inserted.

    Every import and the demo data write this way, so that a re-import updates what changed.
    """
    absent = s.info.get(ABSENT)
    known_absent = (
        absent is not None
        and absent[0] is table
        and (key if isinstance(key, tuple) else (key,)) in absent[1]
    )
    row = None if known_absent else await s.get(table, key)
    if row is None:
        s.add(table(**values))
        return True
    for k, v in values.items():
        setattr(row, k, v)
    return False


IMPORTERS: dict[str, Importer[Any]] = {}


def register_importer(importer: Importer[Any]) -> Importer[Any]:
    """Makes ``partnerflow import <kind> FILE`` available."""
    IMPORTERS[importer.kind] = importer
    return importer
