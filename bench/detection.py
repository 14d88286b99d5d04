"""How late ecspresso-py notices a rollout's end, and how many requests it makes meanwhile, at the
defaults a user gets (no ECSPRESSO_POLL_INTERVAL).

    .venv/bin/python bench/detection.py            # completion at 6..34 s and failures, once each
    .venv/bin/python bench/detection.py --long     # plus a five-minute rollout (request rate)

Starts the in-process sandbox, seeds one service (2 tasks), and for each completion time T sets
a scenario that completes (or fails) T seconds after UpdateService, runs ``ecspresso deploy`` as
a subprocess, and measures: latency = process exit - (rollout start + T); requests per second =
polling calls (DescribeServices, DescribeServiceDeployments, ListServiceDeployments) / wait time.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

POLLING = ("DescribeServices", "DescribeServiceDeployments", "ListServiceDeployments")


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--long", action="store_true", help="add a 300 s rollout for the request rate")
    args = parser.parse_args()
    from ecs_fixtures import make_project, seed_service, set_image
    from ecspresso.sandbox import Sandbox
    from ecspresso.sandbox import simulator as sim

    starts: list[float] = []
    real_start = sim.Simulator._start

    def recording_start(self, backend, svc, td_arn, **kw):  # type: ignore[no-untyped-def]
        starts.append(time.monotonic())
        return real_start(self, backend, svc, td_arn, **kw)

    sim.Simulator._start = recording_start  # type: ignore[method-assign]
    rows = []
    with Sandbox() as sb, tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "AWS_ENDPOINT_URL": sb.url, "AWS_ACCESS_KEY_ID": "x", "AWS_SECRET_ACCESS_KEY": "x",
               "AWS_REGION": "us-east-1"}  # fmt: skip
        env.pop("ECSPRESSO_POLL_INTERVAL", None)
        times = [6, 9, 13, 17, 21, 26, 30, 34] + ([300] if args.long else [])
        for kind in ("stable", "fail"):
            for seconds in times if kind == "stable" else [6, 13, 21, 30]:
                sb.reset()
                config = make_project(Path(tmp) / f"{kind}{seconds}", service="web", desired=2)
                seed_service(sb, config)
                sb.client("ecs").describe_services(cluster="default", services=["web"])
                sb.client("ecs").describe_services(cluster="default", services=["web"])
                set_image(config, "nginx:2")
                sb.scenario("web", kind, seconds=seconds, reason="CannotPullContainerError: not found")
                sb.operations.clear()
                starts.clear()
                subprocess.run([str(ROOT / ".venv/bin/ecspresso"), "--config", str(config), "deploy"], env=env,
                               capture_output=True, check=False)  # fmt: skip
                end = time.monotonic()
                began = starts[0]
                polls = sum(sb.operations.count(op) for op in POLLING)
                rows.append((kind, seconds, end - (began + seconds), polls / max(end - began, 0.001)))
                print(
                    f"{kind:6} T={seconds:>3}s  noticed after {rows[-1][2]:5.2f}s  {rows[-1][3]:.2f} req/s",
                    flush=True,
                )
    done = [r[2] for r in rows if r[0] == "stable" and r[1] <= 34]
    failed = [r[2] for r in rows if r[0] == "fail"]
    print(
        f"median latency: completion {statistics.median(done):.2f}s, failure {statistics.median(failed):.2f}s"
    )
    longest = [r for r in rows if r[1] == 300]
    if longest:
        print(f"five-minute rollout: {longest[0][3]:.2f} requests/s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
