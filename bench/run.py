"""One benchmark run: record each type's shape from a real run, then alternate batches of real
workflows and their no-op twins on the same stack, and compare."""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

from temporalio.client import Client

from bench.drivers import Driver, InvitationDriver, RenewalDriver, Sessions, UnbindingDriver
from bench.drivers_more import IncentiveDriver, OnboardingDriver
from bench.floor import run_floor
from bench.goals import LATENCY_P95_RATIO_GOAL, THROUGHPUT_RATIO_GOALS
from bench.latency import LatencyResult, measure_latency
from bench.shape import Shape, shape_from_history
from bench.stack import TASK_QUEUE, Stack, running_stack
from infra.codec import data_converter
from infra.config import Settings
from infra.db import make_engine, make_sessions

DRIVERS: dict[str, Callable[[], Driver]] = {
    "invitation": InvitationDriver,
    "unbinding": UnbindingDriver,
    "incentive": IncentiveDriver,
    "renewal": RenewalDriver,
    "onboarding": OnboardingDriver,
}


@dataclass(kw_only=True)
class Options:
    """What ``python -m bench`` was asked to do."""

    # 100 per batch at 50 at once, as the issue measured: a batch of 60 is mostly ramp-up and
    # drain, whose idle moments favour whichever side has less work in flight.
    n: int = 100
    concurrency: int = 50
    rounds: int = 2
    types: list[str] = field(default_factory=lambda: list(DRIVERS))
    latency_samples: int = 40
    latency_concurrency: int = 4
    port_base: int = 0
    profile_dir: Path | None = None
    keep: bool = False
    scale: int = 0
    scale_effect_wait: float | None = None  # bench/scale.py --effect-wait (None: its default)
    scale_histories: int = 500  # bench/scale.py --histories


@dataclass
class Tally:
    """Completions and seconds of one type, real and floor, over every round."""

    real_n: int = 0
    real_s: float = 0.0
    floor_n: int = 0
    floor_s: float = 0.0
    ratios: list[float] = field(default_factory=list)
    failures: int = 0

    def rate(self, real: bool) -> float:
        """Workflows per second over every batch."""
        n, s = (self.real_n, self.real_s) if real else (self.floor_n, self.floor_s)
        return n / s if s else 0.0


def say(msg: str) -> None:
    """Progress on stderr, so stdout keeps only the results."""
    print(msg, file=sys.stderr, flush=True)


async def batch(
    n: int, concurrency: int, one: Callable[[int], Awaitable[object]]
) -> tuple[float, list[BaseException]]:
    """Runs ``one(0..n-1)`` with at most ``concurrency`` at a time; the seconds it took and
    the failures (a failed workflow does not stop the others)."""
    sem = asyncio.Semaphore(concurrency)

    async def guarded(j: int) -> None:
        async with sem:
            await one(j)

    started = time.perf_counter()
    results = await asyncio.gather(*(guarded(j) for j in range(n)), return_exceptions=True)
    failures = [r for r in results if isinstance(r, BaseException)]
    return time.perf_counter() - started, failures


def start_profiler(stack: Stack, out: Path) -> subprocess.Popen[bytes] | None:
    """py-spy on the worker's threads while they run on a CPU, when the venv has it."""
    spy = Path(sys.executable).parent / "py-spy"
    found = str(spy) if spy.exists() else shutil.which("py-spy")
    if found is None:
        say("py-spy not installed: no profile (pip install py-spy into the venv)")
        return None
    argv = [found, "record", "--pid", str(stack.worker_pid), "--threads"]
    argv += ["--rate", "50", "--format", "raw", "--output", str(out), "--nonblocking"]
    return subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def stop_profiler(proc: subprocess.Popen[bytes] | None) -> None:
    """Stops py-spy, which then writes its output."""
    if proc is None:
        return
    proc.send_signal(2)  # SIGINT: py-spy writes the file and exits
    try:
        proc.wait(30)
    except subprocess.TimeoutExpired:
        proc.kill()


def real_one(
    d: Driver, client: Client, sessions: Sessions, base: int
) -> Callable[[int], Awaitable[object]]:
    """Instance ``base + j`` of the real workflow, driven to its end."""

    def one(j: int) -> Awaitable[object]:
        return d.run_one(client, sessions, TASK_QUEUE, base + j)

    return one


def floor_one(
    client: Client, shape: Shape, prefix: str, *, poll: bool = True
) -> Callable[[int], Awaitable[object]]:
    """Twin ``prefix-j``, driven to its end."""

    def one(j: int) -> Awaitable[object]:
        return run_floor(client, TASK_QUEUE, shape, f"{prefix}-{j}", poll=poll)

    return one


async def record_shape(
    driver: Driver, client: Client, sessions: Sessions, workdir: Path
) -> tuple[Shape, float]:
    """Runs one real workflow (instance 0; also the warm-up) and reads its shape from its
    history; both are kept in ``workdir`` for a look afterwards."""
    started = time.perf_counter()
    h = await driver.run_one(client, sessions, TASK_QUEUE, 0)
    took = time.perf_counter() - started
    raw = (await h.fetch_history()).to_json()
    shape = shape_from_history(json.loads(raw))
    (workdir / f"{driver.name}-history.json").write_text(raw)
    (workdir / f"{driver.name}-shape.json").write_text(shape.model_dump_json(indent=1))
    return shape, took


def run(opts: Options) -> int:
    """The whole benchmark; the exit code (0 when every goal is met)."""
    with running_stack(port_base=opts.port_base, keep=opts.keep) as stack:
        say(
            f"stack up in {stack.workdir} (temporal {stack.temporal_address}, "
            f"smtp {stack.smtp_port}, worker pid {stack.worker_pid})"
        )
        return asyncio.run(_run(opts, stack))


async def _run(opts: Options, stack: Stack) -> int:
    # The bench worker's converter: dev settings, the codec keys of this environment.
    converter = data_converter(Settings(environment="dev", _env_file=None))
    client = await Client.connect(stack.temporal_address, data_converter=converter)
    engine = make_engine(stack.database_url)
    sessions = make_sessions(engine)
    drivers = {name: DRIVERS[name]() for name in opts.types}
    per_type = 1 + opts.rounds * opts.n
    for name, d in drivers.items():
        extra = opts.latency_samples if name == "invitation" else 0
        await d.seed(sessions, per_type + extra)
    shapes: dict[str, Shape] = {}
    for name, d in drivers.items():
        shape, took = await record_shape(d, client, sessions, stack.workdir)
        shapes[name] = shape
        say(f"{name}: recorded shape in {took:.1f}s: {shape.describe()}")
        await run_floor(client, TASK_QUEUE, shape, f"floor-{name}-warmup", poll=d.polls)
    tallies = {name: Tally() for name in drivers}
    profiled = False
    for r in range(opts.rounds):
        for name, d in drivers.items():
            base = 1 + r * opts.n
            t = tallies[name]
            # Alternate which goes first, so that a drift in the machine's load cancels.
            order = ("real", "floor") if r % 2 == 0 else ("floor", "real")
            secs: dict[str, float] = {}
            for which in order:
                spy = None
                if which == "real" and opts.profile_dir and not profiled:
                    opts.profile_dir.mkdir(parents=True, exist_ok=True)
                    spy = start_profiler(stack, opts.profile_dir / f"{name}-real.txt")
                    profiled = True
                one = (
                    real_one(d, client, sessions, base)
                    if which == "real"
                    else floor_one(client, shapes[name], f"floor-{name}-{r}", poll=d.polls)
                )
                secs[which], failures = await batch(opts.n, opts.concurrency, one)
                if failures:
                    t.failures += len(failures)
                    say(f"  {len(failures)} failed, e.g. {failures[0]!r}")
                if spy is not None:
                    stop_profiler(spy)
                    assert opts.profile_dir is not None
                    (opts.profile_dir / f"{name}-real.seconds").write_text(f"{secs[which]:.3f}\n")
                say(
                    f"round {r + 1}/{opts.rounds} {name} {which}: {opts.n} in "
                    f"{secs[which]:.1f}s = {opts.n / secs[which]:.1f}/s"
                )
            t.real_n += opts.n
            t.real_s += secs["real"]
            t.floor_n += opts.n
            t.floor_s += secs["floor"]
            t.ratios.append(secs["floor"] / secs["real"])
    latency: LatencyResult | None = None
    if "invitation" in drivers and opts.latency_samples > 0:
        inv = drivers["invitation"]
        assert isinstance(inv, InvitationDriver)
        latency = await measure_latency(
            inv,
            client,
            sessions,
            stack,
            shapes["invitation"],
            first_index=per_type,
            samples=opts.latency_samples,
            concurrency=opts.latency_concurrency,
            progress=say,
        )
    await engine.dispose()
    return report(opts, tallies, latency)


def report(opts: Options, tallies: dict[str, Tally], latency: LatencyResult | None) -> int:
    """Prints one line per type (and the latency line); 1 when a goal is missed."""
    missed = False
    for name, t in tallies.items():
        real, floor = t.rate(True), t.rate(False)
        ratio = real / floor if floor else 0.0
        goal = THROUGHPUT_RATIO_GOALS[name]
        ok = ratio >= goal and not t.failures
        missed |= not ok
        rounds = ", ".join(f"{x:.2f}" for x in t.ratios)
        print(
            f"{name}: real {real:.1f}/s, floor {floor:.1f}/s, ratio {ratio:.2f} "
            f"(rounds {rounds}; goal >= {goal:.2f}: {'met' if ok else 'MISSED'})"
            + (f"; {t.failures} workflows FAILED" if t.failures else "")
        )
    if latency is not None:
        ok = latency.ratio_p95 <= LATENCY_P95_RATIO_GOAL
        missed |= not ok
        print(
            latency.line() + f" (goal <= {LATENCY_P95_RATIO_GOAL:.1f}: {'met' if ok else 'MISSED'})"
        )
    print(f"n {opts.n} per batch, concurrency {opts.concurrency}, rounds {opts.rounds}")
    return 1 if missed else 0
