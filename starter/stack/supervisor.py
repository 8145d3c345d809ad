"""Child processes that are restarted when they die, with backoff, until the stack stops.

Used by ``partnerflow dev``. Each child runs in its own process group (so a Ctrl-C in the
terminal reaches only the supervisor, which then stops the children in order) and its output
is relayed line by line, prefixed with its name.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from starter.cli.output import console

COLOURS = {"temporal": "cyan", "smtp": "magenta", "worker": "green", "web": "yellow"}


@dataclass(frozen=True, kw_only=True)
class Backoff:
    """How soon a dead child is started again: ``initial`` doubling up to ``cap`` seconds,
    back to ``initial`` once a child has stayed up ``reset_after`` seconds."""

    initial: float = 0.5
    cap: float = 10.0
    reset_after: float = 30.0
    # A child that exits sooner than this after its start "dies at once".
    instant: float = 1.0


@dataclass(frozen=True, kw_only=True)
class ChildSpec:
    """What to run: a name for the log, the command, and the ports around it."""

    name: str
    argv: list[str]
    port: int | None = None  # opened when the child is ready (waited for at start-up)
    needs: tuple[int, ...] = ()  # ports that must answer before it is (re)started
    env: dict[str, str] = field(default_factory=dict)  # on top of the stack's environment


@dataclass
class Child:
    """One supervised child: its current process and its restart history."""

    spec: ChildSpec
    proc: subprocess.Popen[bytes]
    started_at: float
    restarts: int = 0
    delay: float = 0.0
    fast_exits: int = 0
    restart_at: float | None = None  # set while it is dead and waiting to be restarted
    waiting_for: int | None = None  # a needed port that did not answer yet
    threads: list[threading.Thread] = field(default_factory=list)


def port_open(port: int) -> bool:
    """True when something accepts connections on 127.0.0.1:``port``."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


def exit_reason(returncode: int) -> str:
    """``code 1`` or ``signal 9 (SIGKILL)``."""
    if returncode < 0:
        try:
            name = signal.Signals(-returncode).name
        except ValueError:
            return f"signal {-returncode}"
        return f"signal {-returncode} ({name})"
    return f"code {returncode}"


def say(message: str, style: str = "bold") -> None:
    """A line from the supervisor itself."""
    console.print(f"[{style}]{'dev':>8} | {message}[/]", markup=True, highlight=False)


def _relay(name: str, stream: IO[bytes]) -> None:
    colour = COLOURS.get(name.split("-")[0], "white")
    for raw in iter(stream.readline, b""):
        line = raw.decode(errors="replace").rstrip()
        if line:
            console.print(f"[{colour}]{name:>8}[/] | {line}", markup=True, highlight=False)


class Supervisor:
    """Starts children, restarts the ones that die, and stops them all in reverse order."""

    def __init__(
        self,
        env: dict[str, str],
        stopping: threading.Event,
        *,
        backoff: Backoff | None = None,
        state_file: Path | None = None,
    ) -> None:
        self.env = env
        self.stopping = stopping
        self.backoff = backoff or Backoff()
        self.state_file = state_file
        self.children: list[Child] = []

    def _spawn(self, spec: ChildSpec) -> tuple[subprocess.Popen[bytes], threading.Thread]:
        proc = subprocess.Popen(
            spec.argv,
            env={**self.env, **spec.env},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        assert proc.stdout is not None
        t = threading.Thread(target=_relay, args=(spec.name, proc.stdout), daemon=True)
        t.start()
        return proc, t

    def start(self, spec: ChildSpec) -> Child:
        """Starts a child and keeps it supervised from now on."""
        proc, t = self._spawn(spec)
        child = Child(spec, proc, time.monotonic(), delay=self.backoff.initial, threads=[t])
        self.children.append(child)
        self._write_state()
        return child

    def wait_ready(self, child: Child, note_every: float = 30.0) -> bool:
        """Supervises everything until ``child``'s port accepts connections (True), or the
        stack is asked to stop (False). A child that dies meanwhile is restarted."""
        assert child.spec.port is not None
        since = time.monotonic()
        while not self.stopping.is_set():
            self.tick()
            if (
                child.restart_at is None
                and child.proc.poll() is None
                and port_open(child.spec.port)
            ):
                return True
            if time.monotonic() - since > note_every:
                say(f"still waiting for {child.spec.name} to open port {child.spec.port}")
                since = time.monotonic()
            self.stopping.wait(0.2)
        return False

    def run(self) -> None:
        """Supervises until the stack is asked to stop."""
        while not self.stopping.is_set():
            self.tick()
            self.stopping.wait(0.2)

    def tick(self) -> None:
        """Notices children that died and restarts those whose backoff has passed."""
        now = time.monotonic()
        for child in self.children:
            if child.restart_at is None:
                if child.proc.poll() is not None:
                    self._died(child, now)
            elif now >= child.restart_at:
                self._restart(child)

    def _died(self, child: Child, now: float) -> None:
        b = self.backoff
        name, code = child.spec.name, child.proc.returncode
        # Whatever the dead child left in its process group goes too, so that its ports and
        # files are free for the next one.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(child.proc.pid, signal.SIGKILL)
        up = now - child.started_at
        if up >= b.reset_after:
            child.delay, child.fast_exits = b.initial, 0
        child.fast_exits = child.fast_exits + 1 if up < b.instant else 0
        wait = child.delay
        child.delay = min(child.delay * 2, b.cap)
        child.restarts += 1
        child.restart_at = now + wait
        message = (
            f"{name} exited with {exit_reason(code)} after {up:.1f} s; "
            f"restarting in {wait:.1f} s (restart {child.restarts})"
        )
        if child.fast_exits >= 3:
            capped = " (the longest wait)" if wait >= b.cap else ""
            message += (
                f"; it has died within {b.instant:.0f} s of starting {child.fast_exits} times "
                f"in a row: see its output above. It is restarted every {b.cap:.0f} s at most"
                f"{capped} until it stays up or you stop the stack"
            )
        say(message, "bold red")

    def _restart(self, child: Child) -> None:
        for port in child.spec.needs:
            if not port_open(port):
                if child.waiting_for != port:
                    say(f"{child.spec.name} waits for port {port} to answer before restarting")
                    child.waiting_for = port
                return
        child.waiting_for = None
        child.proc, t = self._spawn(child.spec)
        child.threads.append(t)
        child.started_at = time.monotonic()
        child.restart_at = None
        say(f"{child.spec.name} restarted (pid {child.proc.pid})", "bold green")
        self._write_state()

    def stop(self, timeout: float = 10.0) -> None:
        """Stops the children one by one in reverse start order (link server and workers
        before the SMTP sink and the Temporal server): SIGTERM, then SIGKILL for one that
        does not stop within ``timeout``."""
        for child in reversed(self.children):
            proc = child.proc
            if proc.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                say(f"{child.spec.name} did not stop within {timeout:.0f} s; killing it")
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(proc.pid, signal.SIGKILL)  # anything it left behind
        if self.state_file is not None:
            self.state_file.unlink(missing_ok=True)

    def _write_state(self) -> None:
        """The children's current pids, for operators and tests (``var/dev-children.json``)."""
        if self.state_file is None:
            return
        state = {
            "pid": os.getpid(),
            "children": {
                c.spec.name: {"pid": c.proc.pid, "restarts": c.restarts} for c in self.children
            },
        }
        tmp = self.state_file.with_suffix(".tmp")
        tmp.write_text(json.dumps(state, indent=2) + "\n")
        tmp.replace(self.state_file)
