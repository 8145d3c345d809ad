"""The benchmark's goals: what ``make bench`` holds the product to.

Throughput is a ratio: the real workflow's completions per second over those of its no-op
twin (same shape, activities that return at once) run alternately on the same server,
worker and driver. 1.0 would mean the product adds nothing to Temporal's own cost.
"""

from __future__ import annotations

# type -> the lowest acceptable ratio real/floor.
THROUGHPUT_RATIO_GOALS: dict[str, float] = {
    "invitation": 0.8,
    "unbinding": 0.6,
    "incentive": 0.6,
    "renewal": 0.6,
    "onboarding": 0.6,
}

# p95 of decision-to-effect (an invitation accepted until the binding is in the database and
# the customer's email is in the SMTP sink) over p95 of a bare update round trip.
LATENCY_P95_RATIO_GOAL = 1.5

# Scale (bench/scale.py): the worker's resident memory with every invitation open, and how
# late the last expiry timer FIRES after its deadline (TimerFired - (TimerStarted +
# start_to_fire_timeout) in the sampled histories, bench/firing.py), per 1,000 invitations due
# at once and never less than one second. The expiries' effect in the database (activities
# draining at the worker's rate) is reported beside it without a goal.
SCALE_RSS_MIB = 300
SCALE_LATENESS_PER_1000_S = 1.0
