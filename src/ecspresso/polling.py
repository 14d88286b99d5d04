"""When to poll next while waiting: a pure function of what the rollout shows.

Fast (``fast``, 1 s by default) when something is about to change or just changed:

* right after a change (a new event, counts, a stage);
* the new deployment runs all its tasks but the rollout is not COMPLETED yet (old tasks
  draining: completion is near), for the first :data:`WARM` seconds of that drain;
* tasks of the new deployment have failed while it is still IN_PROGRESS (the circuit breaker is
  about to decide).

In the first :data:`WARM` seconds after the update, with nothing about to change, every other
second (twice ``fast``): a quick rollout shows its tasks running before it completes, and tasks that
cannot start fail there, both of which switch to ``fast``; blind one-second polls would add
nothing but requests (50 services deploying at once: 50 a second).

Otherwise (tasks still being placed and pulled, a long bake) the interval grows by half each quiet
poll up to ``slow`` (twice ``--poll-interval``: 10 s by default). A ROLLING service deployment is
read only when DescribeServices shows a change or an end, so a poll is one request.

Measured by ``make bench`` against the sandbox at the defaults (bench/results.md, 2026-11-29):
a completion is noticed 0.82 s after it happens (median over completions at 6-55 s), a failure
0.60 s, at parity with fabfuel's constant one-second polls (runs differ by more than the tools); a
five-minute rollout averages 0.27 requests/s, the first 30 s 0.5 a second. Account-wide (ECS
allows about 20 DescribeServices a second per account and Region): one service deploying stays
far below; 50 services started at the same moment ask about 27 a second during their first 30 s,
are throttled, and back off (watch.py doubles the interval on each throttled answer and keeps
reporting), then average about 13 a second over five minutes.
"""

from __future__ import annotations

from typing import Any

WARM = 30.0  # seconds after the update during which a rollout is polled fast
BURST = 2  # fast polls after a change


def imminent(service: dict[str, Any] | None, deployment_id: str = "") -> bool:
    """Whether the rollout is about to change state (see the module docstring)."""
    deps = (service or {}).get("deployments") or []
    ours = next((d for d in deps if d.get("id") == deployment_id), None) if deployment_id else None
    ours = ours or next((d for d in deps if d.get("status") == "PRIMARY"), None)
    if ours is None:
        return False
    desired, running = int(ours.get("desiredCount") or 0), int(ours.get("runningCount") or 0)
    in_progress = ours.get("rolloutState") in (None, "", "IN_PROGRESS")
    if in_progress and desired and running >= desired:
        return True
    return bool(in_progress and int(ours.get("failedTasks") or 0) > 0)


def next_interval(
    *,
    elapsed: float,
    quiet_polls: int,
    previous: float,
    about_to_change: bool,
    fast: float,
    slow: float,
    imminent_for: float = 0.0,
) -> float:
    """Seconds until the next poll. ``quiet_polls``: polls since the last change;
    ``imminent_for``: how long the rollout has looked about to change. A change that stays near for
    more than WARM seconds (a load balancer's 300 s deregistration delay while the old tasks drain)
    is polled like a quiet rollout again, so a long drain costs tens of requests, not hundreds."""
    if (about_to_change and imminent_for < WARM) or quiet_polls < BURST:
        return fast
    if elapsed < WARM:
        return min(2 * fast, max(slow, fast))
    return min(max(previous, fast) * 1.5, max(slow, fast))


def backoff(previous: float, *, fast: float, slow: float) -> float:
    """The interval after a throttled or 5xx answer (once botocore's retries gave up): double the
    last one, at least ``fast``, at most four times ``slow`` (40 s at the defaults)."""
    return min(max(previous, fast) * 2, slow * 4)
