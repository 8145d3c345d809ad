"""Uploads of the console's imports page: kept on disk between the preview and the
confirmation, keyed by a random id bound to the uploader's session, and expired after
``console_import_ttl``.

The preview and the import each run as a background task of the console process, telling
the job how many rows they have done; the progress page reads that. The console is served by
one process (``partnerflow web``), so the jobs themselves live in memory: a restart forgets
them (an unfinished import's transaction is rolled back by the database), and the next
upload deletes the files they left behind.
"""

from __future__ import annotations

import asyncio
import re
import secrets
import shutil
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Literal

from infra.db import utcnow
from starter.imports.base import ImportRefusedError, ImportResult, RowError
from starter.imports.preview import ImportPreview
from starter.services.errors import CliError

State = Literal["checking", "preview", "refused", "importing", "done", "failed"]
RUNNING: frozenset[State] = frozenset({"checking", "importing"})
SUFFIXES = (".csv", ".json")


def safe_name(filename: str) -> str:
    """The base name with only letters (any script), digits, ``.``, ``-`` and ``_`` (others
    become ``_``), at most 95 characters, ending in its lower-case suffix."""
    name = Path(filename.replace("\\", "/")).name
    suffix = next((s for s in SUFFIXES if name.lower().endswith(s)), Path(name).suffix.lower())
    stem = re.sub(r"[^\w.-]", "_", name[: len(name) - len(suffix)]).strip("._") or "upload"
    return stem[:90] + suffix


@dataclass
class ImportJob:
    """One uploaded file, from its preview to its import."""

    id: str
    session_id: str
    user_id: str
    kind: str
    filename: str
    path: Path
    created_at: datetime
    state: State = "checking"
    done: int = 0
    total: int = 0
    preview: ImportPreview | None = None
    result: ImportResult | None = None
    errors: list[RowError] = field(default_factory=list)
    problem: str | None = None  # a whole-file refusal or failure, in words
    task: asyncio.Task[None] | None = None

    def progress(self, done: int, total: int) -> None:
        """The import's progress callback."""
        self.done, self.total = done, total

    def as_progress(self) -> dict[str, Any]:
        """What the progress page polls."""
        percent = int(self.done * 100 / self.total) if self.total else 0
        return {
            "id": self.id,
            "state": self.state,
            "running": self.state in RUNNING,
            "done": self.done,
            "total": self.total,
            "percent": percent,
        }


class ImportJobs:
    """The uploads of this console process."""

    def __init__(self, directory: Path, ttl: timedelta) -> None:
        self.directory = directory
        self.ttl = ttl
        self._jobs: dict[str, ImportJob] = {}

    def expired(self, job: ImportJob, now: datetime | None = None) -> bool:
        """A job not running whose upload is older than the TTL."""
        return job.state not in RUNNING and (now or utcnow()) - job.created_at > self.ttl

    def purge(self) -> None:
        """Forgets expired jobs and deletes their files (and those a restart left behind)."""
        now = utcnow()
        for job in [j for j in self._jobs.values() if self.expired(j, now)]:
            del self._jobs[job.id]
            shutil.rmtree(job.path.parent, ignore_errors=True)
        if not self.directory.is_dir():
            return
        for folder in self.directory.iterdir():
            if folder.name in self._jobs or not folder.is_dir():
                continue
            age = now.timestamp() - folder.stat().st_mtime
            if age > self.ttl.total_seconds():
                shutil.rmtree(folder, ignore_errors=True)

    def create(
        self, session_id: str, user_id: str, kind: str, filename: str, content: bytes
    ) -> ImportJob:
        """Stores an upload under a new random id, in a folder of its own; the file keeps a
        safe form of its name, so that messages about it name the file its uploader knows."""
        self.purge()
        job_id = secrets.token_urlsafe(18)
        folder = self.directory / job_id
        folder.mkdir(parents=True, mode=0o700)
        path = folder / safe_name(filename)
        path.write_bytes(content)
        job = ImportJob(job_id, session_id, user_id, kind, filename, path, utcnow())
        self._jobs[job_id] = job
        return job

    def get(self, job_id: str, session_id: str) -> ImportJob | None:
        """The job, only for the session that uploaded it and only until it expires."""
        job = self._jobs.get(job_id)
        if job is None or not secrets.compare_digest(job.session_id, session_id):
            return None
        if self.expired(job):
            self.purge()
            return None
        return job

    def start(
        self, job: ImportJob, state: State, work: Callable[[ImportJob], Awaitable[State]]
    ) -> None:
        """Runs ``work`` in the background; it returns the state to end in."""
        job.state, job.done, job.total = state, 0, 0
        job.task = asyncio.create_task(self._run(job, work))

    async def _run(self, job: ImportJob, work: Callable[[ImportJob], Awaitable[State]]) -> None:
        try:
            job.state = await work(job)
        except ImportRefusedError as exc:
            job.errors, job.state = exc.errors, "refused"
        except CliError as exc:
            job.problem, job.state = exc.message, "refused"
        except Exception as exc:  # shown to ops on the page, not lost in a log
            job.problem, job.state = f"{type(exc).__name__}: {exc}", "failed"
        finally:
            job.created_at = utcnow()  # the TTL counts from the last step

    async def settle(self, job: ImportJob, seconds: float) -> None:
        """Waits up to ``seconds`` for the job's step: a small file's page shows its end."""
        if job.task is not None and not job.task.done():
            await asyncio.wait({job.task}, timeout=seconds)
