"""One chaos run: start the stack, seed, drive every case while the faults go in, wait for
the ends, check, print the table."""

from __future__ import annotations

import asyncio
import logging
import random
import shutil
import signal
import sys
import tempfile
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path

from temporalio.client import Client

from bench.chaos import ops
from bench.chaos.check import Outcome, Verdict, check
from bench.chaos.faults import FaultLog, FaultPlan, inject
from bench.chaos.procs import DRIVER_APP_NAME, AppDatabase, ChaosStack, postgres_answers
from bench.chaos.report import table
from bench.chaos.scenarios import Case, Fleet, counts_of
from infra.codec import data_converter
from infra.config import Settings
from infra.db import make_engine, make_sessions
from infra.runtime import CORE_LOGGER, sdk_runtime


@dataclass(kw_only=True)
class ChaosOptions:
    """What ``python -m bench.chaos`` was asked to do."""

    n: int = 15  # workflows per (kind, outcome)
    per_type: int | None = None  # if set: workflows per kind, split over its outcomes
    workers: int = 3
    window: float = 480.0  # seconds over which cases start and faults go in
    business_seconds: float = 20.0
    concurrency: int = 60
    seed: int = 0
    database: str = "auto"  # auto | postgres | sqlite
    keep: bool = False
    plan: FaultPlan = field(default_factory=lambda: FaultPlan(window=480.0))


@dataclass
class RunResult:
    """The figures of one run (the test reads them)."""

    outcomes: list[Outcome]
    faults: FaultLog
    verdict: Verdict
    seconds: float
    driving_seconds: float  # from the first start to the last case's end
    database: str
    workdir: Path
    resent: dict[str, int] = field(default_factory=dict)  # failed updates sent again, by name

    @property
    def ok(self) -> bool:
        """Nothing lost, every case at its expected end."""
        return not self.verdict.problems


def say(msg: str) -> None:
    """Progress on stderr; stdout keeps the table."""
    print(msg, file=sys.stderr, flush=True)


async def drive(case: Case, fleet: Fleet, client: Client, sessions: object) -> Outcome:
    """Drives one case; what happened, never an exception."""
    out = Outcome(case=case)
    try:
        out.workflow_id, out.status = await fleet.runner(case)(client, sessions)  # type: ignore[arg-type]
    except ops.RefusedError as exc:
        out.refused = str(exc)
    except Exception as exc:  # a loss to report, not a reason to stop the others
        out.error = f"{type(exc).__name__}: {exc}"
        say("".join(traceback.format_exception_only(exc)).strip())
    return out


async def run_chaos(opts: ChaosOptions) -> RunResult:
    """The whole run; the stack is stopped and (unless ``keep``) removed at the end."""
    started = time.monotonic()
    # The SDK core warns on each retried call; during a server restart that is expected.
    logging.getLogger(CORE_LOGGER).setLevel(logging.ERROR)
    ops.RESENT.clear()
    workdir = Path(tempfile.mkdtemp(prefix="pf-chaos-"))
    use_pg = opts.database == "postgres" or (opts.database == "auto" and await postgres_answers())
    if opts.database == "postgres" and not await postgres_answers():
        raise SystemExit("PostgreSQL does not answer on 127.0.0.1:5432")
    db = await AppDatabase.create(workdir, use_pg)
    stack = ChaosStack(workdir=workdir, db=db, workers=opts.workers)
    keeper: asyncio.Task[None] | None = None
    engine = make_engine(
        db.url,
        pool_pre_ping=True,
        **(
            {"connect_args": {"server_settings": {"application_name": DRIVER_APP_NAME}}}
            if use_pg
            else {}
        ),
    )
    try:
        await stack.start_server()
        await stack.start_sink()
        keeper = asyncio.create_task(stack.keep_workers())
        await stack.wait_workers_polling()
        say(
            f"stack up in {workdir}: temporal {stack.temporal_address}, smtp {stack.smtp_port}, "
            f"{opts.workers} workers, app database {'PostgreSQL ' + str(db.pg_name) if use_pg else 'SQLite'}"
        )
        client = await Client.connect(
            stack.temporal_address,
            data_converter=data_converter(Settings(environment="dev", _env_file=None)),
            runtime=sdk_runtime(),
        )
        sessions = make_sessions(engine)
        counts = counts_of(opts.n, opts.per_type)
        fleet = await Fleet.seed(sessions, counts, opts.business_seconds)
        cases = fleet.cases()
        rng = random.Random(opts.seed)
        rng.shuffle(cases)
        say(f"seeded; driving {len(cases)} workflows over {opts.window:.0f}s with faults")
        log = FaultLog()
        t0 = time.monotonic()
        opts.plan.window = opts.window
        faults = asyncio.create_task(inject(stack, opts.plan, rng, log, t0))
        sem = asyncio.Semaphore(opts.concurrency)
        gap = opts.window * 0.8 / max(1, len(cases))  # starts end before the last faults

        async def paced(k: int, case: Case) -> Outcome:
            await asyncio.sleep(k * gap)
            async with sem:
                return await drive(case, fleet, client, sessions)

        tasks = [asyncio.create_task(paced(k, c)) for k, c in enumerate(cases)]
        progress = asyncio.create_task(_progress(tasks, log, t0))
        outcomes = list(await asyncio.gather(*tasks))
        driving = time.monotonic() - t0
        await faults
        progress.cancel()
        say(f"driving done in {driving:.0f}s ({len(cases) / driving:.1f} wf/s); checking")
        verdict = await check(client, sessions, stack.mail_dir, outcomes)
        return RunResult(
            outcomes=outcomes,
            faults=log,
            verdict=verdict,
            seconds=time.monotonic() - started,
            driving_seconds=driving,
            database="PostgreSQL" if use_pg else "SQLite",
            workdir=workdir,
            resent=dict(ops.RESENT),
        )
    finally:
        if keeper is not None:
            keeper.cancel()
        await asyncio.to_thread(stack.stop_all)
        await engine.dispose()
        if not opts.keep:
            await db.drop()
            shutil.rmtree(workdir, ignore_errors=True)


async def _progress(tasks: list[asyncio.Task[Outcome]], log: FaultLog, t0: float) -> None:
    while True:
        await asyncio.sleep(30)
        done = sum(t.done() for t in tasks)
        say(f"{time.monotonic() - t0:5.0f}s: {done}/{len(tasks)} ended; faults {log.counts}")


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt  # so that the run's ``finally`` stops the stack it started


def main_run(opts: ChaosOptions) -> int:
    """Runs, prints the table, returns the exit code (1 on any loss)."""
    signal.signal(signal.SIGTERM, _interrupt)
    result = asyncio.run(run_chaos(opts))
    print(table(result))
    if opts.keep:
        say(f"kept {result.workdir}")
    return 0 if result.ok else 1
