"""Platform commands: dev, worker, web, db, import, demo-data, tasks, show, mail."""

import asyncio
from typing import Annotated, Any

import typer
from sqlalchemy import select

from infra.config import configured_environment
from infra.migrate import upgrade, upgrade_async
from infra.smtp_sink import read_mail_dir
from infra.tables import HumanTask
from starter.cli.output import console, emit, report_error
from starter.cli.runner import JSON_HELP, run_async
from starter.services.context import AppContext, load_settings
from starter.services.core import (
    _mail_rows,
    _task_dict,
    describe_workflow,
    inbox_filter,
)
from starter.services.errors import BadInputError, CliError

Json = Annotated[bool, typer.Option("--json", help=JSON_HELP)]

db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
mail_app = typer.Typer(help="Messages received by the dev stack's SMTP sink.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    """Adds the platform commands to the CLI."""

    @app.command()
    def dev(
        temporal_port: Annotated[
            int | None, typer.Option(help="Temporal gRPC port (7233).")
        ] = None,
        ui_port: Annotated[int | None, typer.Option(help="Temporal web UI port (8233).")] = None,
        smtp_port: Annotated[int | None, typer.Option(help="SMTP sink port (1025).")] = None,
        web_port: Annotated[int | None, typer.Option(help="Link server port (8080).")] = None,
        workers: Annotated[
            int, typer.Option(help="Worker processes on the task queue (1 to 16).")
        ] = 1,
    ) -> None:
        """Run the embedded stack: Temporal dev server, SMTP sink, worker and link server.

        State lives in var/ (SQLite for Temporal and PartnerFlow, received mail), so a
        restart keeps workflows and data. A child that dies is restarted (backoff 0.5 s
        doubling to 10 s); the Temporal Schedules are applied once the server is up.
        Ctrl-C (or SIGTERM) stops everything.
        """
        from starter.stack.devstack import DevPorts, run_dev_stack

        try:
            s = load_settings()
            code = run_dev_stack(
                s,
                DevPorts(
                    temporal=temporal_port or s.dev_temporal_port,
                    ui=ui_port or s.dev_temporal_ui_port,
                    smtp=smtp_port or s.dev_smtp_port,
                    web=web_port or s.web_port,
                ),
                workers=workers,
            )
        except CliError as exc:
            raise typer.Exit(report_error(exc, False)) from None
        raise typer.Exit(code)

    @app.command()
    def worker() -> None:
        """Run a worker: it executes the workflows and activities of the task queue."""
        import logging

        from worker import run_worker

        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
        try:
            asyncio.run(run_worker(load_settings()))
        except CliError as exc:
            raise typer.Exit(report_error(exc, False)) from None

    @app.command()
    def web() -> None:
        """Run the link server (signed accept/approve links from emails)."""
        from starter.web.links import serve

        try:
            serve(load_settings())
        except CliError as exc:
            raise typer.Exit(report_error(exc, False)) from None

    @db_app.command("upgrade")
    def db_upgrade(as_json: Json = False) -> None:
        """Create or migrate the database schema to the newest version."""
        try:
            url = load_settings().database_url
            upgrade(url)
        except CliError as exc:
            raise typer.Exit(report_error(exc, as_json)) from None
        except Exception as exc:
            raise typer.Exit(
                report_error(CliError(f"migration failed on {url}: {exc}"), as_json)
            ) from None
        emit({"database": url, "status": "up to date"}, as_json, f"database {url} is up to date")

    app.add_typer(db_app, name="db")

    # `import` (and its --dry-run) lives in its own module; registered here to keep its place.
    from starter.cli import imports as cli_imports

    cli_imports.register(app)

    @app.command("demo-data")
    def demo_data(as_json: Json = False) -> None:
        """Load a small, realistic data set that exercises every rule (safe to re-run).

        Refused in production: the demo partners, customers and payouts are invented."""
        from starter.demo.core import demo_refusal, load_demo

        refusal = demo_refusal(configured_environment())
        if refusal is not None:
            raise typer.Exit(report_error(refusal, as_json))

        async def body(ctx: AppContext) -> None:
            await upgrade_async(ctx.settings.database_url)
            summary = await load_demo(ctx)
            emit(summary, as_json, lambda: _print_demo(summary))

        run_async(as_json, body)

    from starter.cli.tasks import tasks_app

    @tasks_app.callback(invoke_without_command=True)
    def tasks(
        typer_ctx: typer.Context,
        as_user: Annotated[
            str | None, typer.Option("--as", help="Show the tasks this user may act on.")
        ] = None,
        all_: Annotated[bool, typer.Option("--all", help="Include finished tasks.")] = False,
        limit: Annotated[int, typer.Option(min=1, help="At most this many rows.")] = 50,
        as_json: Json = False,
    ) -> None:
        """The approver inbox: human tasks waiting for a person (claim, release, reassign)."""
        if typer_ctx.invoked_subcommand is not None:
            return

        async def body(ctx: AppContext) -> None:
            actor = await ctx.actor(as_user) if as_user else None
            q = select(HumanTask).order_by(
                HumanTask.due_at.is_(None), HumanTask.due_at, HumanTask.id
            )
            if not all_:
                q = q.where(HumanTask.status == "open")
            if actor is not None:
                q = q.where(inbox_filter(actor))
            async with ctx.sessions() as s:
                rows = (await s.scalars(q.limit(limit))).all()
            data = [_task_dict(t) for t in rows]
            emit(data, as_json, lambda: _print_tasks(data))

        run_async(as_json, body)

    app.add_typer(tasks_app, name="tasks")

    @app.command()
    def show(
        workflow_id: Annotated[str, typer.Argument(help="A workflow id, e.g. invitation-P-C.")],
        as_json: Json = False,
    ) -> None:
        """A workflow's status and the timeline of its business events."""

        async def body(ctx: AppContext) -> None:
            data = await describe_workflow(ctx, workflow_id)
            emit(data, as_json, lambda: _print_show(data))

        run_async(as_json, body)

    @mail_app.command("list")
    def mail_list(
        to: Annotated[str | None, typer.Option(help="Only messages to this address.")] = None,
        limit: Annotated[int, typer.Option(min=1, help="The newest N messages.")] = 20,
        as_json: Json = False,
    ) -> None:
        """Messages the dev SMTP sink received, newest last."""
        try:
            rows = _mail_rows(to)[-limit:]
        except CliError as exc:
            raise typer.Exit(report_error(exc, as_json)) from None
        emit(rows, as_json, lambda: _print_mail(rows))

    @mail_app.command("show")
    def mail_show(
        mail_id: Annotated[str, typer.Argument(help="An id from `partnerflow mail list`.")],
        html: Annotated[
            bool, typer.Option(help="Print the HTML part instead of the text.")
        ] = False,
        as_json: Json = False,
    ) -> None:
        """One message: headers and text (or HTML) body, links included."""
        directory = load_settings().dev_mail_dir
        for mid, msg in read_mail_dir(directory):
            if mid == mail_id or msg["Message-ID"] == mail_id:
                body = msg.get_body(preferencelist=("html",) if html else ("plain",))
                content = "" if body is None else body.get_content()
                doc = {
                    "id": mid,
                    "from": str(msg["From"]),
                    "to": str(msg["To"]),
                    "subject": str(msg["Subject"]),
                    "date": str(msg["Date"]),
                    "message_id": str(msg["Message-ID"]),
                    "body": content,
                }
                text = (
                    f"From: {doc['from']}\nTo: {doc['to']}\nSubject: {doc['subject']}\n"
                    f"Date: {doc['date']}\nMessage-ID: {doc['message_id']}\n\n{content}"
                )
                if as_json:
                    emit(doc, as_json)
                else:
                    console.print(text, markup=False)
                return
        raise typer.Exit(
            report_error(BadInputError(f"no message {mail_id!r} in {directory}"), as_json)
        )

    app.add_typer(mail_app, name="mail")


# ----- helpers shared with the web console ------------------------------------------------


def _print_tasks(rows: list[dict[str, Any]]) -> None:
    if not rows:
        console.print("no tasks")
        return
    for t in rows:
        due = f"due {t['due_at']:%Y-%m-%d %H:%M}" if t["due_at"] else "no due date"
        who = t["assignee_role"] + (f"/{t['assignee_party']}" if t["assignee_party"] else "")
        console.print(
            f"#{t['id']:<5} {t['status']:<9} {t['kind']:<24} {who:<28} {due}\n"
            f"       {t['title']}  [{t['workflow_id']}]",
            markup=False,
        )


def _print_show(d: dict[str, Any]) -> None:
    console.print(f"[bold]{d['workflow_id']}[/] ({d['type']}) {d['execution_status']}")
    state = d["state"]
    if isinstance(state, dict):
        for k, v in state.items():
            if v not in (None, "", [], {}):
                console.print(f"  {k}: {v}", markup=False)
    if d["timeline"]:
        console.print("[bold]timeline[/]")
        for e in d["timeline"]:
            by = f"by {e['actor']}" + (f" (operator {e['operator']})" if e["operator"] else "")
            console.print(
                f"  {e['at']:%Y-%m-%d %H:%M:%S}  {e['event']:<22} {by:<19} {e['detail']}",
                markup=False,
            )
    if d["tasks"]:
        console.print("[bold]tasks[/]")
        for t in d["tasks"]:
            by = f" by {t['decided_by']}" if t["decided_by"] else ""
            console.print(f"  #{t['id']} {t['kind']} {t['status']}{by}", markup=False)
    if d["emails"]:
        console.print("[bold]emails[/]")
        for m in d["emails"]:
            tries = f"{m['attempts']} attempt{'' if m['attempts'] == 1 else 's'}"
            to = repr(m["to"]) if m["status"] == "invalid" else m["to"]  # may hold a line break
            error = f"\n          last error: {m['last_error']}" if m["last_error"] else ""
            console.print(
                f"  {m['status']:<8} {to:<32} {tries:<10} {m['subject']}{error}",
                markup=False,
            )


def _print_mail(rows: list[dict[str, Any]]) -> None:
    if not rows:
        console.print("no messages")
    for r in rows:
        console.print(f"{r['id']}  {r['to']:<34} {r['subject']}", markup=False)


def _print_demo(summary: dict[str, Any]) -> None:
    from starter.console.demo import tour

    console.print(tour(summary), markup=False, highlight=False)
