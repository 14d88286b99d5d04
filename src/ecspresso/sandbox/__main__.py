"""``python -m ecspresso.sandbox`` / ``ecspresso-sandbox``: run the sandbox until SIGINT/SIGTERM.

Prints the URL (and nothing else) on stdout once it is ready, so scripts can read one line::

    URL=$(ecspresso-sandbox --port 0 | head -1)   # or: ecspresso-sandbox --port 4566 &
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
import time
from collections.abc import Sequence
from types import FrameType

from ecspresso.sandbox.server import DEFAULT_REGION, Sandbox, is_loopback


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="ecspresso-sandbox",
        description="A local AWS endpoint (moto) whose ECS and CodeDeploy deployments roll out, fail "
        "and roll back like real ones. Control it under /_sandbox/ (scenario, codedeploy_scenario, "
        "run_task_scenario, "
        "fault, reset).",
    )
    parser.add_argument("--host", default="127.0.0.1", help="loopback address to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=4566, help="port; 0 picks a free one (default 4566)")
    parser.add_argument("--region", default=DEFAULT_REGION, help=f"default region (default {DEFAULT_REGION})")
    parser.add_argument(
        "--seed",
        metavar="DIR",
        action="append",
        default=[],
        help="create the cluster, task definition and service of the ecspresso config in DIR "
        "(again after each reset); repeatable",
    )
    parser.add_argument("--verbose", action="store_true", help="log every request on stderr")
    args = parser.parse_args(argv)
    if not is_loopback(args.host):
        parser.error(f"--host must be a loopback address, not {args.host}")
    if not 0 <= args.port <= 65535:
        parser.error(f"--port {args.port} is out of range")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    stop = threading.Event()

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    started = time.monotonic()
    try:
        import moto  # noqa: F401
    except ImportError:
        print(
            "ecspresso-sandbox needs moto: install the sandbox extra, e.g. "
            "pip install 'ecspresso-py[sandbox] @ git+https://github.com/org/ecspresso-py' (see README)",
            file=sys.stderr,
        )
        return 2
    sandbox = Sandbox(args.host, args.port, args.region, log_requests=args.verbose)
    try:
        sandbox.start()
    except OSError as exc:
        print(f"ecspresso-sandbox: cannot listen on {args.host}:{args.port}: {exc}", file=sys.stderr)
        return 1
    try:
        for directory in args.seed:
            sandbox.seed(directory, keep=True)
        print(sandbox.url, flush=True)
        print(
            f"ecspresso-sandbox ready in {time.monotonic() - started:.2f}s; "
            f"export AWS_ENDPOINT_URL={sandbox.url} AWS_ACCESS_KEY_ID=dummy AWS_SECRET_ACCESS_KEY=dummy "
            f"AWS_REGION={args.region}",
            file=sys.stderr,
            flush=True,
        )
        stop.wait()  # signal handlers run in this (main) thread and set it
    except Exception as exc:
        print(f"ecspresso-sandbox: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    finally:
        sandbox.stop()
    print("ecspresso-sandbox stopped", file=sys.stderr, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
