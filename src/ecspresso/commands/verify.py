"""``verify``: check, before a deploy, that what the task and service definitions refer to exists
and can be used (ecspresso's ``verify``).

Prints a tree on stdout as it goes (``--log-format json``: one JSON line per finished check)::

    TaskDefinition
      ExecutionRole[arn:aws:iam::123456789012:role/ecsTaskExecutionRole]
      --> [OK]
      ContainerDefinition[app]
        Image[123456789012.dkr.ecr.us-east-1.amazonaws.com/app:v1]
        --> [OK]
        Secret TOKEN[/app/token]
        --> [OK]
      --> [OK]
    --> [OK]
    ServiceDefinition
    ...
    Cluster
    --> [OK]

OK passed, NG would break the deploy (the first NG stops verify: exit 1, the error line names the
item), SKIP not checked on purpose, WARN could not be checked here (access denied with the tool's
credentials, registry unreachable). ``(cached)``: the same role, image or secret was checked
earlier in this run (``--no-cache`` checks it again).

Secrets, logs and ECR images are checked as the task's execution role when ``sts:AssumeRole`` on
it succeeds (session ``ecspresso-verifier``), else with the current credentials. Writes: only the
log test line of ``--put-logs`` (CreateLogGroup with ``awslogs-create-group``, CreateLogStream,
PutLogEvents); ``--no-put-logs`` writes nothing. ``--no-get-secrets`` reads no secret. Secret
values are never printed.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from ecspresso.app import App
from ecspresso.errors import EcspressoError
from ecspresso.options import Command, option
from ecspresso.report import Result
from ecspresso.verify.core import Check, Sink, header_line, json_line, render_text, result_line


@dataclass
class VerifyOption:
    get_secrets: bool = option(
        True, "read secrets from SSM Parameter Store and Secrets Manager", negatable=True
    )
    put_logs: bool = option(True, "write a test line to CloudWatch Logs", negatable=True)
    cache: bool = option(True, "check the same role, image or secret once", negatable=True)


class _Printer(Sink):
    """Prints the tree as it grows: text lines, or a JSON line per finished check."""

    def __init__(self, app: App) -> None:
        self.app = app
        self.json = app.opts.log_format == "json"

    def started(self, check: Check) -> None:
        if not self.json:
            self.app.reporter.output(header_line(check))

    def ended(self, check: Check) -> None:
        self.app.reporter.output(json_line(check) if self.json else result_line(check))


def verify(app: App, opts: VerifyOption) -> Result:
    from ecspresso.verify.context import Settings, VerifyContext, assume_execution_role
    from ecspresso.verify.core import Aborted, Status, Verifier, counts
    from ecspresso.verify.service import verify_cluster, verify_service_definition
    from ecspresso.verify.taskdef import verify_task_definition

    cfg, log = app.config, app.log
    td = app.load_task_definition()
    sv = app.load_service_definition()
    exec_role = str(td.get("executionRoleArn") or "")
    exec_aws = assume_execution_role(app, exec_role) if exec_role else None
    if not exec_role:
        log.info("executionRoleArn is not set: verifying with the current credentials")
    verifier = Verifier(_Printer(app), cache=opts.cache)
    ctx = VerifyContext(
        app=app,
        settings=Settings(get_secrets=opts.get_secrets, put_logs=opts.put_logs),
        verifier=verifier,
        task_definition=td,
        service_definition=sv,
        exec_aws=exec_aws or app.aws,
        assumed_role=exec_role if exec_aws is not None else "",
        now_ns=time.time_ns,
    )
    log.info("Starting verify")
    result = Result(command="verify", service=cfg.service, cluster=cfg.cluster)
    try:
        verifier.check("TaskDefinition", lambda: verify_task_definition(ctx))
        verifier.check("ServiceDefinition", lambda: verify_service_definition(ctx))
        verifier.check("Cluster", lambda: verify_cluster(ctx))
    except Aborted as abort:
        result.report = render_text(verifier.roots)
        result.result = "failed"
        result.message = f"verify {' > '.join(abort.failed.path)}: {abort.failed.message}"
        result.exit_code = 1
        err = EcspressoError(result.message, title="verify failed")
        err.result = result
        raise err from None
    tally = counts(verifier.roots)
    summary = ", ".join(f"{n} {s.value}" for s, n in tally.items() if n and s is not Status.NG)
    result.result = "ok"
    result.message = summary
    result.report = render_text(verifier.roots)
    if tally[Status.WARN]:
        log.warning(f"Verify OK, but {tally[Status.WARN]} check(s) could not be made (WARN)")
    log.info(f"Verify OK! ({summary})")
    return result


COMMANDS = [
    Command(
        "verify",
        "verify the resources the task and service definitions refer to",
        VerifyOption,
        verify,
        examples=("verify", "verify --no-get-secrets --no-put-logs", "--log-format json verify"),
    )
]
