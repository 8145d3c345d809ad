"""Boots the real dev stack (`partnerflow dev` on free ports) and runs the invitation story
through it as a user would: CLI, SMTP sink, signed link over HTTP, restart keeps the data."""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from infra.smtp_sink import free_port, port_is_free

pytestmark = pytest.mark.slow


def clean_env(var_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PARTNERFLOW_")}
    env["PARTNERFLOW_VAR_DIR"] = str(var_dir)
    env["PARTNERFLOW_METRICS_PORT"] = str(metrics_port())
    return env


def metrics_port() -> int:
    """A free port whose next port is free too (the worker's business and SDK metrics)."""
    while True:
        port = free_port()
        if port < 65000 and port_is_free(port + 1):
            return port


def cli(env: dict[str, str], *args: str, expect: int = 0) -> Any:
    proc = subprocess.run(
        [sys.executable, "-m", "starter.cli", *args, "--json"],
        env=env,
        capture_output=True,
        text=True,
        # A guard against a hang, not a speed goal: each command is a fresh interpreter that
        # imports the SDK (~2 s of CPU); with both cores kept busy by other processes one took
        # over 60 s in a stress run.
        timeout=180,
    )
    assert proc.returncode == expect, (args, proc.returncode, proc.stdout, proc.stderr)
    assert "Traceback" not in proc.stderr
    return json.loads(proc.stdout)


def start_stack(env: dict[str, str], ports: list[int], var_dir: Path) -> subprocess.Popen[bytes]:
    """``partnerflow dev`` on ``ports``, once it has written ``dev.env``; nothing is left
    running when it fails to get there."""
    log = open(var_dir.parent / "dev.log", "ab")  # noqa: SIM115 (closed with the process)
    try:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "starter.cli",
                "dev",
                "--temporal-port",
                str(ports[0]),
                "--ui-port",
                str(ports[1]),
                "--smtp-port",
                str(ports[2]),
                "--web-port",
                str(ports[3]),
            ],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    finally:
        log.close()  # the child has its own copy of the descriptor
    deadline = time.monotonic() + 90
    try:
        while not (var_dir / "dev.env").exists():
            if proc.poll() is not None or time.monotonic() > deadline:
                raise AssertionError((var_dir.parent / "dev.log").read_text()[-3000:])
            time.sleep(0.2)
    except BaseException:
        end_stack(proc, var_dir)
        raise
    return proc


def end_stack(proc: subprocess.Popen[bytes], var_dir: Path) -> int | None:
    """Stops the supervisor and every child it started, whatever state they are in.

    SIGINT first: the supervisor stops its children (they run in their own sessions, so
    killing the supervisor alone would leave them running). Only when it does not stop in
    time are the children it last recorded and then the supervisor killed. Its exit code,
    or None when it had to be killed.
    """
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)
    try:
        return proc.wait(60)
    except subprocess.TimeoutExpired:
        pass
    try:
        pids = [int(c["pid"]) for c in children(var_dir).values()]
    except (OSError, ValueError, KeyError):
        pids = []
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, signal.SIGKILL)
    proc.kill()
    proc.wait(10)
    return None


def stop_stack(proc: subprocess.Popen[bytes], var_dir: Path, ports: list[int]) -> None:
    """Stops the stack (always) and checks it stopped cleanly."""
    assert end_stack(proc, var_dir) == 0
    assert not (var_dir / "dev.env").exists()
    assert all(port_is_free(p) for p in ports)


def children(var_dir: Path) -> dict[str, Any]:
    """The stack's children as the supervisor last wrote them (name -> pid, restarts)."""
    state: dict[str, Any] = json.loads((var_dir / "dev-children.json").read_text())
    return dict(state["children"])


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def kill_and_wait_for_restart(var_dir: Path, name: str, port: int | None = None) -> int:
    """kill -9 one child; waits until the supervisor has started a new one. Its new pid."""
    old = children(var_dir)[name]["pid"]
    os.kill(old, signal.SIGKILL)
    deadline = time.monotonic() + 30
    while True:
        now = children(var_dir)[name]
        if now["pid"] != old and alive(now["pid"]) and (port is None or not port_is_free(port)):
            assert now["restarts"] == 1
            return int(now["pid"])
        assert time.monotonic() < deadline, f"{name} was not restarted"
        time.sleep(0.2)


# Boots the whole stack twice and kills two children: 78 s alone; 234 s measured with the
# machine's two cores shared by several test suites (load 15), over 360 s at load 21: the
# bound catches a hang, not a slow machine.
@pytest.mark.timeout(900)
def test_dev_stack_invitation_story(tmp_path: Path) -> None:
    """Also: the schedules are applied on a fresh stack; kill -9 of the worker and of the SMTP
    sink leaves the stack up, they come back, and the invitation started before finishes."""
    var_dir = tmp_path / "var"
    env = clean_env(var_dir)
    ports = [free_port() for _ in range(4)]
    proc = start_stack(env, ports, var_dir)
    try:
        schedules = cli(env, "schedules", "list")
        assert {s["id"]: s["state"] for s in schedules} == {
            "incentive-monthly": "active",
            "renewal-scan-daily": "active",
        }
        demo = cli(env, "demo-data")
        assert "P-1001" in demo["partners"]
        refused = cli(
            env, "invite", "--partner", "P-1001", "--customer", "C-2002", "--as", "ps-liu", expect=1
        )
        assert refused["rule"] == "credit_account_no_resale"
        view = cli(env, "invite", "--partner", "P-1001", "--customer", "C-2001", "--as", "ps-liu")
        assert view["status"] == "PENDING"

        deadline = time.monotonic() + 30
        while not (mails := cli(env, "mail", "list", "--to", "it@acme-retail.example")):
            assert time.monotonic() < deadline, "the invitation email did not arrive"
            time.sleep(0.3)
        mail = cli(env, "mail", "show", mails[0]["id"])
        # The demo customer Acme reads Chinese (docs/i18n.md): subject and text in zh-CN.
        assert mail["subject"].startswith("关联邀请："), mail["subject"]
        url = re.search(r"接受：\s*(\S+)", mail["body"])
        assert url, mail["body"]

        kill_and_wait_for_restart(var_dir, "worker")
        kill_and_wait_for_restart(var_dir, "smtp", ports[2])
        assert proc.poll() is None, "the stack stopped when a child died"
        log = (var_dir.parent / "dev.log").read_text()
        assert "worker exited with signal 9 (SIGKILL)" in log
        assert "smtp exited with signal 9 (SIGKILL)" in log

        # The new worker decides, the new sink receives the acceptance emails.
        with httpx.Client(timeout=30) as web:
            # The link page speaks its recipient's language too (Acme: zh-CN).
            assert "接受：请确认" in web.get(url.group(1)).text
            assert "ACCEPTED" in web.post(url.group(1)).text
        deadline = time.monotonic() + 30
        while not cli(env, "mail", "list", "--to", "it@acme-retail.example")[1:]:
            assert time.monotonic() < deadline, "no acceptance email after the sink restarted"
            time.sleep(0.3)

        shown = cli(env, "show", "invitation-P-1001-C-2001")
        assert shown["state"]["status"] == "ACCEPTED" and shown["state"]["binding_id"]
        assert [e["event"] for e in shown["timeline"]] == ["invited", "accepted"]
        assert cli(env, "tasks", "--as", "C-2001") == []
        with httpx.Client(timeout=10) as http:
            worker_ops = f"http://127.0.0.1:{env['PARTNERFLOW_METRICS_PORT']}"
            assert http.get(f"{worker_ops}/readyz").status_code == 200
            assert "partnerflow_workflows_started_total" in http.get(f"{worker_ops}/metrics").text
            assert http.get(f"http://127.0.0.1:{ports[3]}/readyz").status_code == 200
    finally:
        stop_stack(proc, var_dir, ports)

    # A restart keeps workflows and data.
    proc = start_stack(env, ports, var_dir)
    try:
        shown = cli(env, "show", "invitation-P-1001-C-2001")
        assert shown["execution_status"] == "COMPLETED"
        assert shown["state"]["status"] == "ACCEPTED"
    finally:
        stop_stack(proc, var_dir, ports)


def test_dev_stack_refuses_a_busy_port(tmp_path: Path) -> None:
    import socket

    var_dir = tmp_path / "var"
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        proc = subprocess.run(
            [
                sys.executable,
                "-m",
                "starter.cli",
                "dev",
                "--temporal-port",
                str(port),
                "--ui-port",
                str(free_port()),
                "--smtp-port",
                str(free_port()),
                "--web-port",
                str(free_port()),
            ],
            env=clean_env(var_dir),
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert proc.returncode == 2
    assert f"temporal port {port}" in proc.stderr and "--temporal-port" in proc.stderr
    assert "Traceback" not in proc.stderr
