"""Summarises a py-spy raw profile of the worker (``--profile-dir``): where the busy samples
went, by thread and by cost centre. ``python -m bench.profile FILE [--top N]``."""

from __future__ import annotations

import argparse
import re
import sys
from collections import Counter
from pathlib import Path

# Frames that mean "waiting, not working" at the leaf of a stack.
IDLE_LEAVES = (
    "select (selectors.py",
    "wait (threading.py",
    "get (queue.py",
    "_worker (concurrent/futures/thread.py",
    "poll (selectors.py",
    "BaseSelector",
    # aiosqlite's thread blocked on its request queue (a C call, so no deeper frame).
    "_connection_worker_thread (aiosqlite/core.py:59)",
)

# Cost centres, first match wins (checked against the whole stack, outermost first).
CENTRES: list[tuple[str, tuple[str, ...]]] = [
    ("sandbox: new workflow instance (imports)", ("_create_workflow_instance",)),
    ("jinja2 (templates)", ("jinja2/",)),
    ("aiosmtplib / email building", ("aiosmtplib/", "email/", "infra/mailer.py")),
    ("SQLAlchemy", ("sqlalchemy/",)),
    ("aiosqlite / sqlite3", ("aiosqlite/",)),
    ("pydantic (de)serialisation", ("pydantic", "converter")),
    ("workflow code in the sandbox", ("workflow_sandbox/", "workflows/")),
    ("activities (own code)", ("activities/",)),
    ("temporalio worker / bridge", ("temporalio/",)),
    ("asyncio event loop", ("asyncio/",)),
]

_FRAME = re.compile(r"^(?P<name>.+?) \((?P<file>[^:()]+)(?::\d+)?\)$")


def parse(path: Path) -> list[tuple[str, list[str], int]]:
    """(thread, frames outermost first, samples) per line of a py-spy raw file."""
    out: list[tuple[str, list[str], int]] = []
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        frames = stack.split(";")
        thread = frames[0]
        out.append((thread, frames[1:], int(count)))
    return out


def is_idle(frames: list[str]) -> bool:
    """True when the innermost frame is a wait."""
    return not frames or any(p in frames[-1] for p in IDLE_LEAVES)


def centre(frames: list[str]) -> str:
    """The cost centre of a busy stack."""
    joined = ";".join(frames)
    for name, markers in CENTRES:
        if any(m in joined for m in markers):
            return name
    return "other"


def _thread_kind(thread: str, frames: list[str]) -> str:
    if "MainThread" in thread:
        return "main thread (event loop)"
    if any("aiosqlite" in f for f in frames):
        return "aiosqlite connection threads"
    return "other threads"


def summary(path: Path, top: int = 15, rate: int = 50) -> str:
    """The printed summary; with ``<file stem>.seconds`` beside the file (the wall time of
    the batch profiled), samples are also shown as the share of one core they used."""
    side = path.with_suffix(".seconds")
    wall = float(side.read_text()) if side.exists() else 0.0

    def share(n: int) -> str:
        return f"  ({100 * n / (wall * rate):.0f}% of one core)" if wall else ""

    rows = parse(path)
    total = sum(n for _, _, n in rows)
    busy = Counter[str]()
    threads = Counter[str]()
    leaves = Counter[str]()
    inclusive = Counter[str]()
    main_total = 0
    sqlite_threads: set[str] = set()
    for thread, frames, n in rows:
        if "MainThread" in thread:
            main_total += n
        elif any("aiosqlite" in f for f in frames):
            sqlite_threads.add(thread)
        if is_idle(frames):
            continue
        kind = _thread_kind(thread, frames)
        threads[kind] += n
        if kind.startswith("main"):
            busy[centre(frames)] += n
        leaves[frames[-1]] += n
        for f in set(frames):
            inclusive[f] += n
    busy_total = sum(threads.values())
    main_busy = threads["main thread (event loop)"]
    lines = [
        f"{path}: {total} samples, {busy_total} busy (all threads); main thread busy "
        f"{100 * main_busy / max(1, main_total):.0f}% of its {main_total} samples; "
        f"{len(sqlite_threads)} aiosqlite connection threads seen"
    ]
    lines.append("busy samples by thread:")
    if wall:
        lines.append(f"wall time of the batch {wall:.1f}s at {rate} samples/s")
    lines += [f"  {v:6d}  {k}{share(v)}" for k, v in threads.most_common()]
    lines.append(f"main thread busy samples by cost centre (of {main_busy}):")
    lines += [f"  {v:6d}  {100 * v / max(1, main_busy):5.1f}%  {k}" for k, v in busy.most_common()]
    lines.append(f"top {top} functions by own busy samples:")
    lines += [f"  {v:6d}  {k}" for k, v in leaves.most_common(top)]
    own = ("activities/", "workflows/", "infra/", "domain/")
    ours = [(k, v) for k, v in inclusive.most_common() if any(o in k for o in own)]
    lines.append(f"top {top} PartnerFlow functions by inclusive busy samples:")
    lines += [f"  {v:6d}  {k}" for k, v in ours[:top]]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Prints the summary of the file given."""
    p = argparse.ArgumentParser(prog="python -m bench.profile", description=__doc__)
    p.add_argument("file", type=Path)
    p.add_argument("--top", type=int, default=15)
    a = p.parse_args(argv)
    if not a.file.exists():
        p.error(f"{a.file} does not exist")
    print(summary(a.file, a.top))
    return 0


if __name__ == "__main__":
    sys.exit(main())
