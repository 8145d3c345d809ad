"""``make bench`` / ``python -m bench``: throughput ratios of the real workflows against their
no-op twins, alternated in one run on one stack, and the decision-to-effect latency.

Prints one line per type, ``TYPE: real R/s, floor F/s, ratio X.XX``, the latency line, then the
scale figures (``bench/scale.py``);
exits 1 when a goal of ``bench/goals.py`` is missed, 2 on bad options.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from bench.run import DRIVERS, Options, run
from bench.scale import ScaleOptions
from bench.scale import run as run_scale
from bench.stack import exit_on_sigterm


def parse(argv: list[str]) -> Options:
    """The options; ``--help`` lists them."""
    p = argparse.ArgumentParser(
        prog="python -m bench",
        description=(
            "Runs each workflow type for real and beside it a no-op workflow of the same shape "
            "(derived from a real run's history), alternately on one dev server, worker and "
            "driver, and prints real/floor throughput ratios and the decision-to-effect "
            "latency. Exits 1 when a goal (bench/goals.py) is missed."
        ),
    )
    p.add_argument(
        "--n", type=int, default=Options.n, help=f"workflows per batch (default {Options.n})"
    )
    p.add_argument("--concurrency", type=int, default=50, help="workflows driven at once")
    p.add_argument("--rounds", type=int, default=2, help="real/floor batch pairs per type")
    p.add_argument(
        "--types",
        default=",".join(DRIVERS),
        help=f"comma-separated, from {','.join(DRIVERS)} (default: all)",
    )
    p.add_argument(
        "--latency-samples", type=int, default=40, help="invitation latency samples (0: skip)"
    )
    p.add_argument("--latency-concurrency", type=int, default=4, help="latency samples at once")
    p.add_argument(
        "--port-base",
        type=int,
        default=0,
        help="use ports BASE..BASE+2 for server, its HTTP API and the SMTP sink (default: free)",
    )
    p.add_argument(
        "--profile-dir",
        type=Path,
        help="py-spy the worker during the first real batch (of the first type); raw stacks here",
    )
    p.add_argument(
        "--scale",
        type=int,
        default=1000,
        help="then open this many invitations at once on a fresh stack (bench/scale.py; 0: skip)",
    )
    p.add_argument(
        "--scale-effect-wait",
        type=float,
        help="scale: seconds after the last deadline to wait for every row EXPIRED "
        "(default 60 + N/10)",
    )
    p.add_argument(
        "--scale-histories",
        type=int,
        default=500,
        help="scale: histories read for the expiry timers' firing lateness (default 500)",
    )
    p.add_argument(
        "--keep",
        action="store_true",
        help="keep the working directory (databases, mail, recorded histories and shapes)",
    )
    a = p.parse_args(argv)
    types = [t.strip() for t in a.types.split(",") if t.strip()]
    unknown = [t for t in types if t not in DRIVERS]
    if unknown or not types:
        p.error(
            f"unknown type(s) {', '.join(unknown) or '(none given)'}; choose from {', '.join(DRIVERS)}"
        )
    for name in ("n", "concurrency", "rounds", "latency_concurrency"):
        if getattr(a, name) < 1:
            p.error(f"--{name.replace('_', '-')} must be at least 1")
    if a.latency_samples < 0 or a.scale < 0:
        p.error("--latency-samples and --scale must be 0 or more")
    if a.scale_histories < 1 or (a.scale_effect_wait is not None and a.scale_effect_wait < 0):
        p.error("--scale-histories must be at least 1, --scale-effect-wait 0 or more")
    return Options(
        n=a.n,
        concurrency=a.concurrency,
        rounds=a.rounds,
        types=types,
        latency_samples=a.latency_samples,
        latency_concurrency=a.latency_concurrency,
        port_base=a.port_base,
        profile_dir=a.profile_dir,
        keep=a.keep,
        scale=a.scale,
        scale_effect_wait=a.scale_effect_wait,
        scale_histories=a.scale_histories,
    )


def main(argv: list[str] | None = None) -> int:
    """Parses, runs, returns the exit code."""
    opts = parse(sys.argv[1:] if argv is None else argv)
    exit_on_sigterm()
    code = run(opts)
    if opts.scale:
        # Its own stack: the scale figures should not inherit the throughput runs' history.
        scaled = run_scale(
            ScaleOptions(
                open=opts.scale,
                port_base=opts.port_base,
                keep=opts.keep,
                effect_wait=opts.scale_effect_wait,
                histories=opts.scale_histories,
            )
        )
        code = code or scaled
    return code


if __name__ == "__main__":
    sys.exit(main())
