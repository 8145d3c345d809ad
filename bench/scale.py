"""``python -m bench.scale --open N``: N open invitations waiting on their expiry timers.

Starts N invitations at the full rate the stack allows (at most ``--in-flight`` being created at
once: each started with update-with-start of the workflow's ``sent`` update, which answers once
the invitation email is out; so the worker never holds a backlog of half-made invitations that
its cache would evict and replay), all due at the same moment: each gets the validity left until one common deadline. It reports

- the start rate: invitations that became PENDING per second, for every ``--step`` of them;
- the worker's RSS (goal <= 300 MiB) when all are open, and its growth per open invitation;
- how late the expiry timers fire after their deadline (goal: the latest within one second per
  1,000 due at once, and never less than one second), from the histories of a sample
  (``--histories``: half the invitations due last, half at random; bench/firing.py);
- beside it, without a goal, how late the expiries take effect (the row EXPIRED in the database)
  after their own deadline: each runs activities (DB update, emails) that drain at the worker's
  activity rate, so at 10,000 due at once the last effect comes minutes after its timer fired.
  ``--effect-wait`` bounds how long the run waits for them after the last deadline.

Exits 1 when a goal is missed, 2 on bad options.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import func, select
from temporalio.client import Client, WithStartWorkflowOperation
from temporalio.common import WorkflowIDConflictPolicy

from bench.drivers import InvitationDriver, Sessions, start_checked
from bench.firing import Firing, firing_lateness, sample
from bench.goals import SCALE_LATENESS_PER_1000_S, SCALE_RSS_MIB
from bench.stack import TASK_QUEUE, Stack, exit_on_sigterm, running_stack
from domain.invitations import InvitationRequest, InvitationStatus
from infra.codec import data_converter
from infra.config import Settings
from infra.db import make_engine, make_sessions
from infra.tables import Invitation
from infra.temporal import index_attributes
from workflows.invitation import InvitationWorkflow

# A start is only due "at once" with the others when it still has this much validity left.
MIN_VALIDITY_S = 5.0
WORKFLOW_PREFIX = "scale-invitation-"
# The rows of the measured invitations (not the warm-up's).
SCALE_ROWS = Invitation.workflow_id.like(f"{WORKFLOW_PREFIX}%")


@dataclass(kw_only=True)
class ScaleOptions:
    """What ``python -m bench.scale`` was asked to do."""

    open: int = 1000
    due_after: float | None = None
    in_flight: int = 100
    step: int = 0
    port_base: int = 0
    keep: bool = False
    effect_wait: float | None = None
    histories: int = 500

    @property
    def effect_wait_s(self) -> float:
        """Seconds to wait after the last deadline for every row to be EXPIRED: the effects
        drain at ~20/s here, so 60 s plus 10 per second per 1,000 leaves a margin of two."""
        return self.effect_wait if self.effect_wait is not None else 60 + self.open / 10

    @property
    def every(self) -> int:
        """Report the start rate every this many invitations."""
        return self.step or (1000 if self.open >= 5000 else max(1, self.open // 5))


@dataclass
class ScaleResult:
    """The figures of one run."""

    n: int
    marks: list[tuple[int, float]] = field(default_factory=list)  # (pending, seconds)
    rss_start_mib: float = 0.0
    rss_open_mib: float = 0.0
    rss_peak_mib: float = 0.0
    late_starts: int = 0
    due_spread_s: float = 0.0
    effect_lateness_s: float = 0.0
    expired: int = 0
    firing: Firing = field(default_factory=Firing)

    def lines(self) -> list[str]:
        """The report, one figure per line."""
        out: list[str] = []
        prev_n, prev_t = 0, 0.0
        for n, t in self.marks:
            out.append(
                f"  {prev_n + 1}-{n} PENDING in {t - prev_t:.1f}s: {(n - prev_n) / (t - prev_t):.1f}/s"
            )
            prev_n, prev_t = n, t
        total = self.marks[-1][1] if self.marks else 0.0
        per = (self.rss_open_mib - self.rss_start_mib) * 1024 / self.n if self.n else 0.0
        limit = self.lateness_limit_s
        out.append(
            f"start: {self.n} PENDING in {total:.1f}s = {self.n / total if total else 0:.1f}/s"
        )
        out.append(
            f"worker RSS: {self.rss_start_mib:.0f} MiB idle, {self.rss_open_mib:.0f} MiB with "
            f"{self.n} open ({per:.0f} KiB each), peak {self.rss_peak_mib:.0f} MiB "
            f"(goal <= {SCALE_RSS_MIB} MiB: {'met' if self.rss_ok else 'MISSED'})"
        )
        f = self.firing
        out.append(
            f"expiry timers fired: p50 {f.p50:.2f}s, p95 {f.p95:.2f}s, max {f.max:.2f}s after "
            f"their deadline ({f.fired}/{f.sampled} sampled histories fired"
            + (f", {f.no_timer} expired before their wait began, no timer" if f.no_timer else "")
            + (f", {f.unread} unread" if f.unread else "")
            + f"; goal max <= {limit:.1f}s: {'met' if self.lateness_ok else 'MISSED'})"
        )
        out.append(
            f"expiry effect (no goal): {self.expired}/{self.n} EXPIRED in the database, the "
            f"latest {self.effect_lateness_s:.1f}s after its deadline ({self.n} due within "
            f"{self.due_spread_s:.0f}s, {self.late_starts} started too late to be)"
        )
        return out

    @property
    def lateness_limit_s(self) -> float:
        """One second per 1,000 due at once, and never less than one second: below 1,000 the
        floor is one workflow task and one activity on a loaded machine."""
        return SCALE_LATENESS_PER_1000_S * max(1.0, self.n / 1000)

    @property
    def rss_ok(self) -> bool:
        """Peak RSS within the goal."""
        return self.rss_peak_mib <= SCALE_RSS_MIB

    @property
    def lateness_ok(self) -> bool:
        """Every sampled invitation expired (by its timer, or without one when its deadline had
        passed before the wait began), the latest timer within a second per 1,000 due at once."""
        f = self.firing
        return f.complete and f.max <= self.lateness_limit_s


def rss_mib(pid: int) -> float:
    """Resident set size of ``pid`` (MiB), from /proc."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


async def count(sessions: Sessions, *statuses: InvitationStatus) -> int:
    """Measured invitation rows in one of ``statuses``."""
    async with sessions() as s:
        n = await s.scalar(
            select(func.count())
            .select_from(Invitation)
            .where(Invitation.status.in_([x.value for x in statuses]), SCALE_ROWS)
        )
    return int(n or 0)


async def scale(opts: ScaleOptions, stack: Stack, say: Callable[[str], None]) -> ScaleResult:
    """Runs the scenario on ``stack``."""
    client = await Client.connect(
        stack.temporal_address,
        data_converter=data_converter(Settings(environment="dev", _env_file=None)),
    )
    engine = make_engine(stack.database_url)
    sessions = make_sessions(engine)
    driver = InvitationDriver()
    await driver.seed(sessions, opts.open + 1)
    assert driver.staff is not None
    # One invitation first, so that the worker has imported, validated and connected
    # everything before the clock and the RSS baseline start; it is then cancelled.
    warm = await driver.start(client, TASK_QUEUE, opts.open)
    await warm.terminate("bench warm-up")
    res = ScaleResult(n=opts.open, rss_start_mib=rss_mib(stack.worker_pid))
    # Without a deadline given, assume 10 PENDING/s (14-22/s measured here) and add a margin.
    due_after = opts.due_after if opts.due_after is not None else 60 + opts.open / 10
    t0 = time.monotonic()
    due = datetime.now(UTC) + timedelta(seconds=due_after)
    say(f"{opts.open} invitations due at {due:%H:%M:%S} UTC ({due_after:.0f}s from now)")

    staff = driver.staff
    done = 0
    next_mark = opts.every
    slots = asyncio.Semaphore(opts.in_flight)

    async def start(i: int) -> None:
        """Starts invitation ``i`` and waits until its email is out (update-with-start of
        ``sent``): at most ``in_flight`` are being created at once, so the worker never holds
        more half-made invitations than its cache."""
        nonlocal done, next_mark
        async with slots:
            left = (due - datetime.now(UTC)).total_seconds()
            if left < MIN_VALIDITY_S:
                res.late_starts += 1
            req = InvitationRequest(
                partner_id="P-INV",
                customer_id=f"CI-{i}",
                requested_by=staff,
                validity=timedelta(seconds=max(left, MIN_VALIDITY_S)),
                reminder_before=timedelta(0),
            )
            view, _ = await start_checked(
                client,
                InvitationWorkflow.sent,
                lambda: WithStartWorkflowOperation(
                    InvitationWorkflow.run,
                    req,
                    id=f"{WORKFLOW_PREFIX}{i}",
                    task_queue=TASK_QUEUE,
                    search_attributes=index_attributes(partner_id="P-INV", customer_id=f"CI-{i}"),
                    id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
                ),
            )
            if view.status in (InvitationStatus.REFUSED, InvitationStatus.ALREADY_BOUND):
                raise SystemExit(f"invitation {i} was {view.status}: the seed is wrong")
        done += 1
        while done >= next_mark and next_mark <= opts.open:
            res.marks.append((next_mark, time.monotonic() - t0))
            say(
                f"  {next_mark} PENDING after {time.monotonic() - t0:.1f}s, worker RSS "
                f"{rss_mib(stack.worker_pid):.0f} MiB"
            )
            next_mark += opts.every

    async def watch_rss() -> None:
        while True:
            res.rss_peak_mib = max(res.rss_peak_mib, rss_mib(stack.worker_pid))
            await asyncio.sleep(0.2)

    watcher = asyncio.create_task(watch_rss())
    try:
        await asyncio.wait_for(
            asyncio.gather(*(start(i) for i in range(opts.open))), due_after + 600
        )
    except TimeoutError:
        raise SystemExit(f"only {done}/{opts.open} PENDING after {due_after + 600:.0f}s") from None
    finally:
        watcher.cancel()
    res.rss_open_mib = rss_mib(stack.worker_pid)
    say(f"all open; worker RSS {res.rss_open_mib:.0f} MiB; waiting for the deadline")
    first_due, last_due = await expiry_range(sessions)
    res.due_spread_s = (last_due - first_due).total_seconds()
    # Each row's effect lateness: when this poll first saw it EXPIRED, after its expires_at.
    seen: set[int] = set()
    while len(seen) < opts.open:
        async with sessions() as s:
            rows = (
                await s.execute(
                    select(Invitation.id, Invitation.expires_at).where(
                        Invitation.status == InvitationStatus.EXPIRED.value, SCALE_ROWS
                    )
                )
            ).all()
        now = datetime.now(UTC)
        for row_id, expires_at in rows:
            if row_id not in seen and expires_at is not None:
                seen.add(row_id)
                res.effect_lateness_s = max(
                    res.effect_lateness_s, (now - expires_at).total_seconds()
                )
        res.expired = len(seen)
        res.rss_peak_mib = max(res.rss_peak_mib, rss_mib(stack.worker_pid))
        if (now - last_due).total_seconds() > opts.effect_wait_s:
            say(
                f"stopped waiting: {res.expired}/{opts.open} EXPIRED "
                f"{opts.effect_wait_s:.0f}s after the last deadline"
            )
            break
        await asyncio.sleep(0.25)
    ids = await latest_first(sessions)
    picked = sample(ids, opts.histories)
    say(f"reading {len(picked)} histories for the expiry timers' firing times")
    res.firing = await firing_lateness(client, picked)
    await engine.dispose()
    return res


async def latest_first(sessions: Sessions) -> list[str]:
    """The measured invitations' workflow ids, the latest deadline first."""
    async with sessions() as s:
        rows = await s.scalars(
            select(Invitation.workflow_id)
            .where(SCALE_ROWS, Invitation.expires_at.is_not(None))
            .order_by(Invitation.expires_at.desc())
        )
        return [w for w in rows if w]


async def expiry_range(sessions: Sessions) -> tuple[datetime, datetime]:
    """The earliest and latest ``expires_at``: each workflow adds its validity to its own clock
    once its checks are done, so they spread by the start-to-PENDING time."""
    async with sessions() as s:
        row = (
            await s.execute(
                select(func.min(Invitation.expires_at), func.max(Invitation.expires_at)).where(
                    SCALE_ROWS
                )
            )
        ).one()
    assert row[0] is not None and row[1] is not None
    return row[0], row[1]


def parse(argv: list[str]) -> ScaleOptions:
    """The options; ``--help`` lists them."""
    p = argparse.ArgumentParser(prog="python -m bench.scale", description=__doc__.split("\n")[0])
    p.add_argument("--open", type=int, default=1000, help="open invitations (default 1000)")
    p.add_argument(
        "--due-after",
        type=float,
        help="seconds from the first start to the common deadline (default 60 + N/10)",
    )
    p.add_argument(
        "--in-flight", type=int, default=100, help="invitations being created at once (100)"
    )
    p.add_argument("--step", type=int, default=0, help="report the start rate every N")
    p.add_argument(
        "--effect-wait",
        type=float,
        help="seconds after the last deadline to wait for every row EXPIRED (default 60 + N/10)",
    )
    p.add_argument(
        "--histories",
        type=int,
        default=500,
        help="histories read for the timers' firing lateness: half due last, half random (500)",
    )
    p.add_argument("--port-base", type=int, default=0, help="ports BASE..BASE+2 (default free)")
    p.add_argument("--keep", action="store_true", help="keep the working directory")
    a = p.parse_args(argv)
    if a.open < 1 or a.in_flight < 1 or a.histories < 1 or a.step < 0:
        p.error("--open, --in-flight and --histories must be at least 1, --step 0 or more")
    if a.effect_wait is not None and a.effect_wait < 0:
        p.error("--effect-wait must be 0 or more")
    return ScaleOptions(
        open=a.open,
        due_after=a.due_after,
        in_flight=a.in_flight,
        step=a.step,
        port_base=a.port_base,
        keep=a.keep,
        effect_wait=a.effect_wait,
        histories=a.histories,
    )


def say(msg: str) -> None:
    """Progress on stderr, so stdout keeps only the results."""
    print(msg, file=sys.stderr, flush=True)


def run(opts: ScaleOptions) -> int:
    """Starts a stack, runs, prints the figures; 1 when a goal is missed."""
    with running_stack(port_base=opts.port_base, keep=opts.keep) as stack:
        say(f"stack up in {stack.workdir} (worker pid {stack.worker_pid})")
        res = asyncio.run(scale(opts, stack, say))
    print(f"scale ({opts.open} open invitations):")
    for line in res.lines():
        print(line)
    return 0 if res.rss_ok and res.lateness_ok else 1


if __name__ == "__main__":
    exit_on_sigterm()
    sys.exit(run(parse(sys.argv[1:])))
