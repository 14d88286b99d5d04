"""The sandbox server: moto's WSGI app behind fault injection, plus the ``/_sandbox/*`` control API.

Only the standard library is imported at module level; moto, werkzeug and boto3 are imported by
:meth:`Sandbox.start` and friends.
"""

from __future__ import annotations

import ipaddress
import json
import os
import threading
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

DEFAULT_REGION = "us-east-1"
_READ_ONLY_PREFIXES = ("Describe", "List", "Get", "BatchGet", "Head", "Filter")


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class Sandbox:
    """A local AWS endpoint (moto) whose ECS services roll out, fail and roll back like real ECS.

    Runs in this process on a background thread; use it as a context manager or call
    :meth:`start`/:meth:`stop`. The control methods (:meth:`scenario`, :meth:`fault`,
    :meth:`reset`, :meth:`seed`) are also served over HTTP under ``/_sandbox/``.
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        region: str = DEFAULT_REGION,
        *,
        log_requests: bool = False,
    ) -> None:
        if not is_loopback(host):
            raise ValueError(f"the sandbox serves on loopback only, not on {host!r}")
        self.host, self.port, self.region = host, port, region
        self.log_requests = log_requests
        self.operations: list[str] = []
        self._server: Any = None
        self._thread: threading.Thread | None = None
        self._injector: Any = None
        self._kept_seeds: list[Path] = []

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    # -- lifecycle -----------------------------------------------------------------------------------
    def start(self) -> Sandbox:
        if self._server is not None:
            return self
        # ECS deploys need no AMIs; loading moto's ~20,000 defaults on every reset costs seconds
        os.environ.setdefault("MOTO_EC2_LOAD_DEFAULT_AMIS", "false")
        from moto.moto_server.threaded_moto_server import MotoRequestHandler
        from moto.server import DomainDispatcherApplication, create_backend_app
        from werkzeug.serving import make_server

        from ecspresso.sandbox import patches
        from ecspresso.sandbox.faults import FaultInjector

        patches.install()
        moto_app = DomainDispatcherApplication(create_backend_app)
        self._injector = FaultInjector(moto_app, self.operations)
        app = _ControlApp(self, self._injector)
        handler = MotoRequestHandler if self.log_requests else _QuietHandler(MotoRequestHandler)
        self._server = make_server(self.host, self.port, app, threaded=True, request_handler=handler)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.1},  # stop() returns within 0.1 s
            name="ecspresso-sandbox",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.shutdown()
            server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> Sandbox:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- control -------------------------------------------------------------------------------------
    def reset(self) -> None:
        """Wipe moto's state, scenarios, faults and recorded operations (then re-apply kept seeds)."""
        from moto.moto_api._internal.models import moto_api_backend

        from ecspresso.sandbox import codedeploy, run_task
        from ecspresso.sandbox.simulator import SIMULATOR

        with SIMULATOR.lock:
            moto_api_backend.reset()
            SIMULATOR.clear()
            codedeploy.clear()
            run_task.clear()
        if self._injector is not None:
            self._injector.clear()
        self.operations.clear()
        for path in self._kept_seeds:
            self._seed(path)

    def scenario(
        self,
        service: str,
        kind: str = "stable",
        *,
        cluster: str = "default",
        polls: int = 2,
        seconds: float | None = None,
        rollback: bool = False,
        reason: str | None = None,
        exit_code: int | None = None,
        failed_tasks: int | None = None,
        rollback_polls: int = 2,
        fail_at_stage: str | None = None,
        pause_at: str | Sequence[str] | None = None,
        codedeploy_fail_at: str | None = None,
        log_lines: Sequence[str] = (),
        target_health: str | None = None,
    ) -> None:
        """How the next deployment of ``cluster``/``service`` behaves (see ``Scenario``);
        ``rollback_polls``: how long ECS's own rollback takes when ``rollback`` is set.

        BLUE_GREEN/LINEAR/CANARY services (see ``lifecycle``) walk one lifecycle stage per poll (per
        ``seconds`` when given); ``fail_at_stage`` makes the deployment fail and roll back at that
        stage, ``pause_at`` adds PAUSE hooks at those stages for this deployment. Rolling services
        ignore both.

        The next CodeDeploy deployment of a CODE_DEPLOY service takes this scenario too (``stable``:
        it succeeds; ``fail``: its tasks fail to start at Install; ``never``: it stays at Install);
        ``codedeploy_fail_at`` (a lifecycle event) is ``codedeploy_scenario(service, "fail",
        at=codedeploy_fail_at, reason=reason, …)``.

        ``log_lines``: what each failed task's container wrote before it stopped (written to the
        task definition's awslogs stream, for tasks whose containers ran). ``target_health``: a
        reason code such as ``Target.FailedHealthChecks``: the failed tasks become unhealthy targets
        of the service's target groups (moto's ELBv2 ones), and without ``reason``/``exit_code``
        they are stopped for failing the ELB health checks.
        """
        from ecspresso.sandbox.model import Scenario
        from ecspresso.sandbox.simulator import SIMULATOR

        if codedeploy_fail_at is not None:
            self.codedeploy_scenario(
                service, "fail", cluster=cluster, at=codedeploy_fail_at, reason=reason, seconds=seconds,
                exit_code=exit_code, failed_tasks=failed_tasks, log_lines=log_lines, target_health=target_health,
            )  # fmt: skip
            return

        stages = (pause_at,) if isinstance(pause_at, str) else tuple(pause_at or ())
        scenario = Scenario(
            kind,
            polls,
            seconds,
            rollback,
            reason,
            exit_code,
            failed_tasks,
            rollback_polls,
            fail_at_stage,
            stages,
            tuple(log_lines),
            target_health,
        )
        SIMULATOR.set_scenario(cluster, service, scenario)

    def codedeploy_scenario(
        self,
        service: str,
        kind: str = "succeed",
        *,
        cluster: str = "default",
        at: str | None = None,
        reason: str | None = None,
        seconds: float | None = None,
        exit_code: int | None = None,
        failed_tasks: int | None = None,
        log_lines: Sequence[str] = (),
        target_health: str | None = None,
    ) -> None:
        """How the next CodeDeploy deployment of ``cluster``/``service`` behaves (see ``codedeploy``).

        ``kind``: ``succeed``; ``fail`` at lifecycle event ``at`` (default Install: the replacement's
        tasks fail to start with ``reason`` or ``exit_code``; ``failed_tasks`` of them); ``never``:
        it stays InProgress at ``at`` (default Install). ``seconds``: one step per that many seconds
        of real time instead of one per GetDeployment.
        """
        from ecspresso.sandbox.codedeploy import CdScenario, set_scenario

        set_scenario(cluster, service, CdScenario(kind, at, reason, seconds, exit_code, failed_tasks,
                                                  tuple(log_lines), target_health))  # fmt: skip

    def run_task_scenario(
        self,
        family: str,
        *,
        exit_code: int = 0,
        reason: str | None = None,
        start_failure: str | None = None,
        lines: Sequence[str] = (),
        container: str | None = None,
        polls: int = 1,
        steps: int = 2,
        late_lines: int = 0,
    ) -> None:
        """How the tasks of the next RunTask of task definition ``family`` behave (see ``run_task``):
        PENDING, then one step per ``polls`` DescribeTasks: RUNNING for ``steps`` steps, then STOPPED
        with ``container`` (default: the first) exiting with ``exit_code`` and ``reason``; or, with
        ``start_failure``, STOPPED at the first step with stopCode TaskFailedToStart and that reason.
        ``lines`` go to the container's awslogs stream a share per step; the last ``late_lines`` of
        them only at the second GetLogEvents of the stream after the task stopped (delivery lag)."""
        from ecspresso.sandbox.run_task import RunScenario, set_scenario

        scenario = RunScenario(
            exit_code, reason, start_failure, tuple(lines), container, polls, steps, late_lines
        )
        set_scenario(family.split("/")[-1].split(":")[0], scenario)

    def fault(
        self,
        operation: str,
        code: str = "ThrottlingException",
        *,
        status: int = 400,
        times: int = 1,
        delay: float = 0.0,
        message: str | None = None,
        after: bool = False,
        body: dict[str, Any] | None = None,
        skip: int = 0,
    ) -> None:
        """Answer the next ``times`` ``operation`` calls (``"*"`` for any) with an error and/or delay.

        ``code="delay"`` (or ``None``) only adds ``delay`` seconds of latency; a negative ``times``
        never runs out. ``operation`` may be qualified by signing name: ``"ecs:*"``, ``"sts:GetCallerIdentity"``.
        ``after=True`` lets the call take effect before answering with the error (an ambiguous
        write); ``body`` answers 200 with that JSON instead of moto's answer; ``skip`` lets that
        many matching calls through first.
        """
        from ecspresso.sandbox.faults import Fault

        if self._injector is None:
            raise RuntimeError("start the sandbox before adding faults")
        if not 100 <= status <= 599:
            raise ValueError(f"invalid HTTP status {status}")
        self._injector.add(Fault(operation, code, status, times, delay, message, after, body, skip))

    def peek_service(self, service: str, cluster: str = "default") -> dict[str, Any]:
        """The service's deployments and counts as the simulator holds them, without a
        DescribeServices (which would be one step of time); ``service_deployments``: its service
        deployments as DescribeServiceDeployments shows them, newest first. A CODE_DEPLOY service
        also has ``taskSets``, ``codedeploy`` (its newest CodeDeploy deployment: status, lifecycle
        event statuses, traffic weight, rollback ids; None if none) and ``codedeploy_deployments``
        (all of them, newest first), without a GetDeployment."""
        import copy

        from moto.core import DEFAULT_ACCOUNT_ID
        from moto.ecs.models import ecs_backends

        from ecspresso.sandbox import codedeploy_walk
        from ecspresso.sandbox import service_deployments as sds
        from ecspresso.sandbox import task_sets as tsets
        from ecspresso.sandbox.simulator import SIMULATOR

        with SIMULATOR.lock:
            svc = ecs_backends[DEFAULT_ACCOUNT_ID][self.region]._get_service(cluster, service)
            out: dict[str, Any] = {
                "taskDefinition": svc.task_definition,
                "desiredCount": svc.desired_count,
                "runningCount": svc.running_count,
                "deployments": [dict(d) for d in svc.deployments],
                "service_deployments": [copy.deepcopy(sd.describe(svc)) for sd in sds.newest_first(svc)],
            }
            if tsets.is_code_deploy(svc):
                out["taskSets"] = [tsets.describe(ts) for ts in svc.task_sets]
                runs = codedeploy_walk.runs_of(DEFAULT_ACCOUNT_ID, self.region, svc.cluster_name, svc.name)
                out["codedeploy"] = codedeploy_walk.summary(runs[0]) if runs else None
                out["codedeploy_deployments"] = [codedeploy_walk.summary(run) for run in runs]
            return out

    def mutating_operations(self) -> list[str]:
        """Recorded operations that are not read-only: ``Describe*``, ``List*``, ``Get*``, ``BatchGet*``,
        ``Head*`` (S3) and ``Filter*`` (``FilterLogEvents``) are."""
        return [op for op in self.operations if not op.startswith(_READ_ONLY_PREFIXES)]

    def seed(self, config_path: str | Path, *, keep: bool = False) -> None:
        """Create the cluster, task definition and service of an ecspresso config, rolled out and stable.

        ``config_path`` is a config file or a directory holding ``ecspresso.yml`` (or .yaml/.json/.jsonnet).
        With ``keep``, :meth:`reset` seeds it again (the CLI's ``--seed``).
        """
        path = Path(config_path)
        self._seed(path)
        if keep:
            self._kept_seeds.append(path)

    def _seed(self, path: Path) -> None:
        from ecspresso.sandbox.seed import seed

        if self._injector is not None:
            self._injector.paused = True
        try:
            seed(self, path)
        finally:
            if self._injector is not None:
                self._injector.paused = False

    # -- clients -------------------------------------------------------------------------------------
    def client(self, service: str, **kwargs: Any) -> Any:
        """A plain boto3 client for this sandbox (dummy credentials); ``kwargs`` go to ``boto3.client``."""
        import boto3

        kwargs.setdefault("region_name", self.region)
        make: Any = boto3.client  # boto3-stubs' per-service overloads do not take **kwargs
        return make(
            service,
            endpoint_url=self.url,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
            **kwargs,
        )

    def aws(self, **kwargs: Any) -> Any:
        """An :class:`ecspresso.aws.AwsContext` pointed at this sandbox."""
        from ecspresso.aws import AwsContext

        kwargs.setdefault("region", self.region)
        return AwsContext(endpoint_url=self.url, **kwargs)


class _ControlApp:
    """``/_sandbox/{scenario,codedeploy_scenario,run_task_scenario,fault,reset,seed,operations}``; everything else goes
    to the injector."""

    def __init__(self, sandbox: Sandbox, app: Callable[..., Iterable[bytes]]) -> None:
        self.sandbox, self.app = sandbox, app

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if not path.startswith("/_sandbox/"):
            return self.app(environ, start_response)
        try:
            status, payload = self._route(environ["REQUEST_METHOD"], path[len("/_sandbox/") :], environ)
        except Exception as exc:  # a bad request or seed: report it to the caller, keep serving
            status, payload = 400, {"error": f"{type(exc).__name__}: {exc}"}
        body = json.dumps(payload).encode()
        headers = [("Content-Type", "application/json"), ("Content-Length", str(len(body)))]
        start_response(f"{status} {'OK' if status == 200 else 'Error'}", headers)
        return [body]

    def _route(self, method: str, route: str, environ: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        sb = self.sandbox
        if route == "operations" and method == "GET":
            return 200, {"operations": list(sb.operations), "mutating": sb.mutating_operations()}
        if method != "POST":
            return 405, {"error": f"{method} /_sandbox/{route} is not supported"}
        body = {k: v for k, v in _json_body(environ).items() if v is not None or k == "code"}
        if route == "scenario":
            service = body.pop("service")
            sb.scenario(service, **body)
        elif route == "codedeploy_scenario":
            service = body.pop("service")
            sb.codedeploy_scenario(service, **body)
        elif route == "run_task_scenario":
            family = body.pop("family")
            sb.run_task_scenario(family, **body)
        elif route == "fault":
            sb.fault(body.pop("operation"), **body)
        elif route == "reset":
            sb.reset()
        elif route == "seed":
            sb.seed(body["config"], keep=bool(body.get("keep", False)))
        else:
            return 404, {"error": f"no such route /_sandbox/{route}"}
        return 200, {"ok": True}


def _QuietHandler(base: type) -> type:
    """``base`` (moto's request handler) without werkzeug's access log line per request."""

    def log_request(self: Any, *args: Any, **kwargs: Any) -> None:
        pass

    return type("QuietMotoRequestHandler", (base,), {"log_request": log_request})


def _json_body(environ: dict[str, Any]) -> dict[str, Any]:
    length = int(environ.get("CONTENT_LENGTH") or 0)
    raw = environ["wsgi.input"].read(length) if length else b""
    body = json.loads(raw or b"{}")
    if not isinstance(body, dict):
        raise ValueError("the request body must be a JSON object")
    return body
