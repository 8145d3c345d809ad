"""The one table a chaos run prints: workflows by type and outcome, faults injected, rows
checked, email duplicates, and every problem found."""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING

from bench.chaos.scenarios import CASES, OUTCOMES

if TYPE_CHECKING:
    from bench.chaos.run import RunResult

FAULT_NAMES = {
    "worker_kill": "worker SIGKILL (restarted)",
    "server_restart": "Temporal server restart",
    "smtp_outage": "SMTP outage (sink stopped)",
    "smtp_4xx": "SMTP 4xx burst",
    "db_kill": "pg_terminate_backend (app)",
}


def table(r: RunResult) -> str:
    """The run's table as text."""
    driven: Counter[tuple[str, str]] = Counter()
    reached: Counter[tuple[str, str]] = Counter()
    refused: Counter[tuple[str, str]] = Counter()
    lost: Counter[tuple[str, str]] = Counter()
    for o in r.outcomes:
        key = (o.case.kind, o.case.outcome)
        driven[key] += 1
        if o.refused is not None:
            refused[key] += 1
        elif o.error is not None or o.status != o.case.expected:
            lost[key] += 1
        else:
            reached[key] += 1
    w = 52
    rate = len(r.outcomes) / r.driving_seconds if r.driving_seconds > 0 else 0.0
    lines = [
        f"chaos run: {len(r.outcomes)} workflows, {r.database}, {r.seconds:.0f} s "
        f"({r.driving_seconds:.0f} s of driving: {rate:.1f} workflows/s)",
        f"{'workflows (type / outcome -> end)':<{w}}{'driven':>7}{'reached':>8}{'refused':>8}{'lost':>6}",
    ]
    for kind, outcomes in OUTCOMES.items():
        keys = [(kind, outcome) for outcome in outcomes]
        lines.append(
            f"  {kind + ' (all outcomes)':<{w - 2}}{sum(driven[k] for k in keys):>7}"
            f"{sum(reached[k] for k in keys):>8}{sum(refused[k] for k in keys):>8}"
            f"{sum(lost[k] for k in keys):>6}"
        )
        for key in keys:
            end = CASES[key]
            lines.append(
                f"    {key[1] + ' -> ' + end:<{w - 4}}{driven[key]:>7}{reached[key]:>8}"
                f"{refused[key]:>8}{lost[key]:>6}"
            )
    lines.append(f"{'faults injected':<{w}}{'count':>7}")
    for kind, label in FAULT_NAMES.items():
        lines.append(f"  {label:<{w - 2}}{r.faults.counts.get(kind, 0):>7}")
    v = r.verdict
    if "server_down_s" in r.faults.extra:
        lines.append(
            f"  {'seconds Temporal was down (all restarts)':<{w - 2}}{r.faults.extra['server_down_s']:>7.1f}"
        )
    if "db_connections_killed" in r.faults.extra:
        lines.append(
            f"  {'app connections terminated':<{w - 2}}{r.faults.extra['db_connections_killed']:>7.0f}"
        )
    resent = ", ".join(f"{k} {c}" for k, c in sorted(r.resent.items())) or "none"
    lines.append(
        f"  {'updates failed without a rule, sent again: ' + resent:<{w - 2}}{sum(r.resent.values()):>7}"
    )
    temporal = ", ".join(f"{k} {c}" for k, c in sorted(v.temporal.items()))
    outbox = ", ".join(f"{k} {c}" for k, c in sorted(v.outbox.items())) or "empty"
    lines += [
        f"{'checked':<{w}}",
        f"  {'Temporal executions (' + temporal + ')':<{w - 2}}{sum(v.temporal.values()):>7}",
        f"  {'database rows read':<{w - 2}}{v.rows_checked:>7}",
        f"  {'idempotency keys (one row each)':<{w - 2}}{v.keys_checked:>7}",
        f"  {'human tasks (none open for an ended workflow)':<{w - 2}}{v.open_tasks_checked:>7}",
        f"  {'outbox emails (' + outbox + ')':<{w - 2}}{sum(v.outbox.values()):>7}",
        f"  {'messages at the SMTP sink':<{w - 2}}{v.sink_messages:>7}",
        f"  {'duplicates at the sink (same Message-ID)':<{w - 2}}{v.duplicates:>7}",
        f"{'problems':<{w}}{len(v.problems):>7}",
    ]
    lines += [f"  {p}" for p in v.problems[:40]]
    if len(v.problems) > 40:
        lines.append(f"  ... and {len(v.problems) - 40} more")
    lines.append("RESULT: " + ("nothing lost" if r.ok else "LOSS: see problems above"))
    return "\n".join(lines)
