"""``partnerflow import KIND FILE [--dry-run]``: reference data, on the imports service."""

from dataclasses import asdict
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)

from infra import i18n
from infra.i18n import N_
from starter.cli.output import console, emit, err_console, language
from starter.cli.runner import JSON_HELP, run_async
from starter.imports.preview import ImportPreview, RowChange
from starter.services import imports
from starter.services.context import AppContext

# A file with at least this many rows gets a progress bar (on a terminal, without --json).
BAR_MIN_ROWS = 1000
# Changes the human dry-run output lists; --json lists every one.
SHOWN_CHANGES = 50


class ProgressBar:
    """A rich progress bar on stderr for the rows an import writes; appears once the file
    has ``min_rows`` rows, and only on a terminal."""

    def __init__(self, out: Console, min_rows: int = BAR_MIN_ROWS) -> None:
        self._out = out
        self._min_rows = min_rows
        self._bar: Progress | None = None
        self._task: TaskID | None = None

    def __call__(self, done: int, total: int) -> None:
        """Told by the import after each chunk of rows."""
        if self._bar is None:
            if total < self._min_rows or not self._out.is_terminal:
                return
            self._bar = Progress(
                TextColumn(i18n.gettext(language(), N_("importing"))),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn(i18n.gettext(language(), N_("rows"))),
                TimeElapsedColumn(),
                console=self._out,
                transient=False,
            )
            self._bar.start()
            self._task = self._bar.add_task("import", total=total)
        assert self._task is not None
        self._bar.update(self._task, completed=done)

    def close(self) -> None:
        """Stops the bar (leaves its last line on the terminal)."""
        if self._bar is not None:
            self._bar.stop()
            self._bar = None


def _t(message: str, **values: object) -> str:
    text = i18n.gettext(language(), message)
    return text % values if values else text


def _change_line(c: RowChange) -> str:
    where = _t(N_("row %(row)s"), row=c.row) if c.row is not None else "-"
    action = _t({"insert": N_("insert"), "update": N_("update"), "start": N_("start")}[c.action])
    fields = "; ".join(f"{f.field}: {f.old} → {f.new}" for f in c.fields)
    return f"  {where:<9} {action:<7} {c.key}" + (f"  {fields}" if fields else "")


def print_preview(p: ImportPreview) -> None:
    """The dry run for a person: counts, then the first changes."""
    if p.starts:
        head = _t(
            N_(
                "dry run: %(kind)s, %(rows)s rows: %(starts)s workflows to start; nothing was written"
            ),
            kind=p.kind,
            rows=p.rows,
            starts=p.starts,
        )
    else:
        head = _t(
            N_(
                "dry run: %(kind)s, %(rows)s rows: %(inserts)s to insert, %(updates)s to "
                "update, %(unchanged)s unchanged; nothing was written"
            ),
            kind=p.kind,
            rows=p.rows,
            inserts=p.inserts,
            updates=p.updates,
            unchanged=p.unchanged,
        )
    console.print(head, markup=False)
    for c in p.changes[:SHOWN_CHANGES]:
        console.print(_change_line(c), markup=False)
    if len(p.changes) > SHOWN_CHANGES:
        more = len(p.changes) - SHOWN_CHANGES
        console.print(_t(N_("  ... and %(n)s more (--json lists every one)"), n=more))
    for note in p.notes:
        console.print(f"  {note}", markup=False)


def register(app: typer.Typer) -> None:
    """Adds ``partnerflow import``."""
    kinds = ", ".join(sorted(imports.importers()))

    @app.command("import")
    def import_(
        kind: Annotated[str, typer.Argument(help=f"What the file holds: {kinds}.")],
        file: Annotated[Path, typer.Argument(help="A .csv file (header row) or .json list.")],
        dry_run: Annotated[
            bool,
            typer.Option(
                "--dry-run",
                help="Validate and show what would be inserted and updated; write nothing.",
            ),
        ] = False,
        as_json: Annotated[bool, typer.Option("--json", help=JSON_HELP)] = False,
    ) -> None:
        """Import reference data. Every row is validated first; one bad row refuses the
        whole file (row number, field and reason) and nothing is written. Large files show a
        progress bar on a terminal."""

        async def body(ctx: AppContext) -> None:
            if dry_run:
                preview = await imports.preview(ctx, kind, file)
                emit(asdict(preview), as_json, lambda: print_preview(preview))
                return
            bar = ProgressBar(err_console) if not as_json else None
            try:
                result = await imports.run(ctx, kind, file, bar)
            finally:
                if bar is not None:
                    bar.close()
            emit(
                result.__dict__,
                as_json,
                f"{result.kind}: {result.rows} rows ({result.inserted} new, "
                f"{result.updated} updated)" + "".join(f"\n  {n}" for n in result.notes),
            )

        run_async(as_json, body)
