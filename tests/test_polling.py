"""polling.next_interval / imminent: fast when a change is near, slow while nothing is (pure)."""

from __future__ import annotations

from typing import Any

from ecspresso.polling import WARM, backoff, imminent, next_interval


def svc(
    running: int, desired: int = 2, failed: int = 0, rollout: str = "IN_PROGRESS", old_running: int = 2
) -> dict[str, Any]:
    return {"deployments": [
        {"id": "d2", "status": "PRIMARY", "desiredCount": desired, "runningCount": running, "failedTasks": failed,
         "rolloutState": rollout},
        {"id": "d1", "status": "ACTIVE", "desiredCount": 2, "runningCount": old_running, "rolloutState": "COMPLETED"},
    ]}  # fmt: skip


def test_about_to_change() -> None:
    assert imminent(svc(2), "d2")  # all new tasks run: old ones draining, completion is near
    assert imminent(svc(0, failed=1), "d2")  # a task failed: the circuit breaker is about to decide
    assert not imminent(svc(1), "d2")  # still placing and pulling
    assert not imminent(svc(2, rollout="COMPLETED"), "d2")
    assert not imminent(None)


def interval(**kw: Any) -> float:
    args: dict[str, Any] = {"elapsed": WARM + 1, "quiet_polls": 5, "previous": 4.0, "about_to_change": False,
                            "fast": 1.0, "slow": 10.0}  # fmt: skip
    args.update(kw)
    return next_interval(**args)


def test_fast_after_a_change_or_about_to_change() -> None:
    assert interval(quiet_polls=0) == 1.0
    assert interval(about_to_change=True) == 1.0
    assert interval(elapsed=3.0, about_to_change=True) == 1.0


def test_every_other_second_while_young_and_quiet() -> None:
    assert interval(elapsed=3.0) == 2.0
    assert interval(elapsed=3.0, fast=0.0) == 0.0  # tests' zero interval stays zero


def test_a_long_drain_is_polled_fast_for_its_first_half_minute_only() -> None:
    assert interval(about_to_change=True, imminent_for=WARM - 1) == 1.0
    assert interval(about_to_change=True, imminent_for=WARM + 1) == 6.0  # back to growing


def test_a_five_minute_drain_costs_tens_of_requests_not_hundreds() -> None:
    """A load balancer's default 300 s deregistration delay: the new tasks all run from the start,
    the old ones drain for five minutes."""
    t, previous, polls = WARM, 1.0, 10  # past the warm window
    while t < WARM + 300:
        previous = next_interval(elapsed=t, quiet_polls=polls, previous=previous, about_to_change=True,
                                 fast=1.0, slow=10.0, imminent_for=t - WARM)  # fmt: skip
        t += previous
        polls += 1
    assert polls - 10 <= 65  # 30 in its first half minute, then growing to one every 10 s (not 300)


def test_a_throttled_answer_doubles_the_interval_up_to_four_times_slow() -> None:
    assert backoff(1.0, fast=1.0, slow=10.0) == 2.0
    assert backoff(0.0, fast=1.0, slow=10.0) == 2.0  # from at least the fast interval
    assert backoff(30.0, fast=1.0, slow=10.0) == 40.0


def test_slow_grows_by_half_up_to_the_cap() -> None:
    assert interval() == 6.0
    assert interval(previous=9.0) == 10.0


def test_a_five_minute_quiet_rollout_stays_under_a_third_of_a_request_a_second() -> None:
    t, previous, polls = 0.0, 1.0, 0
    while t < 300:
        previous = next_interval(elapsed=t, quiet_polls=polls, previous=previous, about_to_change=False,
                                 fast=1.0, slow=10.0)  # fmt: skip
        t += previous
        polls += 1
    assert polls / 300 <= 0.3


# -- the loop: intervals run from poll start to poll start ----------------------------------------


def test_a_slow_answer_does_not_stretch_the_interval(sandbox: Any, tmp_path: Any, monkeypatch: Any) -> None:
    """At the defaults a young rollout is polled every second: when an answer takes 0.4 s, the
    pause after it is 0.6 s, not 1 s (the fixed-delay loop noticed completions late under load)."""
    from ecs_fixtures import make_project, seed_service, set_image
    from ecspresso import ecs
    from ecspresso.app import Timing
    from ecspresso.cli import run

    monkeypatch.setenv("AWS_ENDPOINT_URL", sandbox.url)
    monkeypatch.delenv("ECSPRESSO_POLL_INTERVAL", raising=False)
    config = make_project(tmp_path, service="web", desired=2)
    seed_service(sandbox, config)
    clock = {"t": 1000.0}
    sleeps: list[float] = []
    monkeypatch.setattr(Timing, "now", lambda self: clock["t"])

    def sleep(self: Timing, seconds: float) -> None:
        sleeps.append(round(seconds, 3))
        clock["t"] += seconds

    monkeypatch.setattr(Timing, "sleep", sleep)
    real_describe = ecs.describe_service

    def slow_describe(*args: Any, **kwargs: Any) -> Any:
        clock["t"] += 0.4  # the answer takes 0.4 s
        return real_describe(*args, **kwargs)

    monkeypatch.setattr(ecs, "describe_service", slow_describe)
    sandbox.scenario("web", "stable", polls=4)
    set_image(config, "nginx:2")
    code, _ = run(["--config", str(config), "deploy"])
    assert code == 0
    assert sleeps and all(s == 0.6 for s in sleeps), sleeps
