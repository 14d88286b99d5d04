"""``tasks [list|find|stop|logs]``: the service's tasks and the standalone tasks of its family."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from ecs_fixtures import (
    REGION,
    FakeTTY,
    client,
    default_network,
    make_app,
    make_project,
    seed_service,
    start_recording,
    stdout_of,
    task_definition,
)
from ecspresso.app import Timing
from ecspresso.commands.tasks import (
    COLUMNS,
    TasksOption,
    format_tasks,
    resolve_subcommand,
    select_tasks,
    tasks,
)
from ecspresso.commands.tasks_logs import log_window
from ecspresso.errors import EcspressoError, UsageError
from ecspresso.sandbox import container_logs

AWSLOGS = {
    "logDriver": "awslogs",
    "options": {"awslogs-group": "/ecs/app", "awslogs-region": REGION, "awslogs-stream-prefix": "ecs"},
}


def _task_def(family: str = "app") -> dict:
    td = task_definition(family)
    td["containerDefinitions"][0]["logConfiguration"] = AWSLOGS
    # a helper without logs (not essential): the default container of `logs` is `app`
    td["containerDefinitions"].append(
        {"name": "sidecar", "image": "busybox", "essential": False, "memory": 64}
    )
    return td


def _settle(sandbox, *services: str) -> None:
    for _ in range(3):  # the simulator starts and runs the tasks, one step per DescribeServices
        client(sandbox, "ecs").describe_services(cluster="default", services=list(services))


def _ids(sandbox, service: str) -> set[str]:
    arns = client(sandbox, "ecs").list_tasks(cluster="default", serviceName=service)["taskArns"]
    return {a.rsplit("/", 1)[-1] for a in arns}


class Project:
    def __init__(self, config: Path, td_arn: str, web: set[str], standalone: str, api: set[str], other: str):
        self.config, self.td_arn, self.web, self.standalone, self.api, self.other = (
            config, td_arn, web, standalone, api, other,
        )  # fmt: skip

    @property
    def listed(self) -> set[str]:
        return self.web | {self.standalone}


@pytest.fixture
def project(sandbox, tmp_path):
    """web (2 tasks, family app), a standalone task of app, service api on app too (not web's), and a
    standalone task of another family."""
    config = make_project(tmp_path, task_def=_task_def(), desired=2)
    seeded = seed_service(sandbox, config)
    ecs = client(sandbox, "ecs")
    subnets, groups = default_network(sandbox)
    network = {"awsvpcConfiguration": {"subnets": subnets, "securityGroups": groups}}
    ecs.create_service(cluster="default", serviceName="api", taskDefinition=seeded.task_definition_arn,
                       desiredCount=1, launchType="FARGATE", networkConfiguration=network)  # fmt: skip
    _settle(sandbox, "web", "api")

    def run(td_arn: str) -> str:  # standalone, as RunTask starts it
        out = ecs.run_task(cluster="default", taskDefinition=td_arn, launchType="FARGATE",
                           networkConfiguration=network)  # fmt: skip
        return str(out["tasks"][0]["taskArn"]).rsplit("/", 1)[-1]

    other_td = ecs.register_task_definition(**task_definition("other"))["taskDefinition"]["taskDefinitionArn"]
    proj = Project(config, seeded.task_definition_arn, _ids(sandbox, "web"), run(seeded.task_definition_arn),
                   _ids(sandbox, "api"), run(other_td))  # fmt: skip
    assert len(proj.web) == 2 and len(proj.api) == 1
    return proj


# -- list ------------------------------------------------------------------------------------------


def test_list_table_is_the_services_tasks_and_the_familys_standalone_ones(sandbox, project):
    app = make_app(sandbox, project.config)

    tasks(app, TasksOption())

    lines = stdout_of(app).splitlines()
    assert [c.strip() for c in lines[0].strip("|").split("|")] == [
        "ID", "TASK DEFINITION", "INSTANCE", "LAST STATUS", "DESIRED STATUS", "CREATED AT", "GROUP", "TYPE",
    ]  # fmt: skip
    assert set(lines[1]) == {"+", "-"}
    rows = [[c.strip() for c in line.strip("|").split("|")] for line in lines[2:]]
    assert {r[0] for r in rows} == project.listed  # not api's task, not the other family's
    by_id = {r[0]: r for r in rows}
    assert by_id[project.standalone][6] == "family:app"
    for task_id in project.web:
        assert by_id[task_id][1:2] == ["app:1"] and by_id[task_id][3:5] == ["RUNNING", "RUNNING"]
        assert by_id[task_id][6:] == ["service:web", "FARGATE"]
    assert len({len(line) for line in lines}) == 1  # aligned


def test_list_tsv_has_ecstas_header(sandbox, project):
    app = make_app(sandbox, project.config)

    tasks(app, TasksOption(output="tsv"))

    header, *rows = stdout_of(app).splitlines()
    assert header.split("\t") == list(COLUMNS)
    assert {r.split("\t")[0] for r in rows} == project.listed
    assert all(len(r.split("\t")) == len(COLUMNS) for r in rows)


@pytest.mark.parametrize(("output", "log_format"), [("json", "text"), (None, "json")])
def test_list_json_is_one_describe_tasks_object_per_task(sandbox, project, output, log_format):
    app = make_app(sandbox, project.config, log_format=log_format)

    tasks(app, TasksOption(output=output))

    docs = _json_stream(stdout_of(app))
    assert {d["taskArn"].rsplit("/", 1)[-1] for d in docs} == project.listed
    assert all(d["taskDefinitionArn"] == project.td_arn for d in docs)


def test_a_stopped_task_is_still_listed_last(sandbox, project):
    victim = sorted(project.web)[0]
    client(sandbox, "ecs").stop_task(cluster="default", task=victim)
    app = make_app(sandbox, project.config)

    tasks(app, TasksOption(output="tsv"))

    rows = [r.split("\t") for r in stdout_of(app).splitlines()[1:]]
    assert next(r for r in rows if r[0] == victim)[3:5] == ["STOPPED", "STOPPED"]
    stopped = [r[3] == "STOPPED" for r in rows]
    assert stopped == sorted(stopped)  # after the others


def test_without_a_service_it_lists_the_family(sandbox, project, tmp_path):
    config = make_project(tmp_path / "batch", service=None, task_def=_task_def())
    app = make_app(sandbox, config)

    tasks(app, TasksOption(output="tsv"))

    listed = {r.split("\t")[0] for r in stdout_of(app).splitlines()[1:]}
    assert listed == project.web | project.api | {project.standalone}


def test_select_tasks_keeps_each_once_and_leaves_other_services_out():
    def t(arn, group, status="RUNNING", created=1):
        return {"taskArn": arn, "group": group, "lastStatus": status,
                "createdAt": datetime.fromtimestamp(created, UTC)}  # fmt: skip

    mine = [t("a", "service:web", created=3), t("b", "service:web", "STOPPED", created=1)]
    family = [t("a", "service:web", created=3), t("c", "family:app", created=2), t("d", "service:api")]

    assert [x["taskArn"] for x in select_tasks(mine, family, "web")] == ["c", "a", "b"]
    assert [x["taskArn"] for x in select_tasks([], family, None)] == ["d", "c", "a"]


def test_table_of_no_task_is_the_header():
    assert format_tasks([], "table").count("\n") == 2
    assert format_tasks([], "tsv") == "\t".join(COLUMNS) + "\n"
    assert format_tasks([], "json") == ""


# -- subcommands and flags -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("opts", "expected"),
    [
        (TasksOption(), ("list", [])),
        (TasksOption(subcommand="stop", force=True, id="x"), ("stop", [])),
        (TasksOption(find=True, id="x"), ("find", ["--find is deprecated: use 'ecspresso tasks find'"])),
        (TasksOption(stop=True, force=True), ("stop", ["--stop is deprecated: use 'ecspresso tasks stop'"])),
        (TasksOption(subcommand="logs", follow=True, duration="5m", container="app"), ("logs", [])),
        (TasksOption(force=True), "--force does not apply to 'tasks list' (only to: stop)"),
        (TasksOption(id="x"), "--id does not apply to 'tasks list' (only to: find, stop, logs)"),
        (TasksOption(subcommand="find", follow=True), "--follow does not apply to 'tasks find'"),
        (TasksOption(subcommand="stop", output="json"), "--output does not apply to 'tasks stop'"),
        (TasksOption(subcommand="logs", stop=True), "--stop conflicts with 'tasks logs'"),
    ],
)
def test_resolve_subcommand(opts, expected):
    if isinstance(expected, str):
        with pytest.raises(UsageError, match=expected.replace("(", r"\(").replace(")", r"\)")):
            resolve_subcommand(opts)
    else:
        assert resolve_subcommand(opts) == expected


def test_help_lists_the_subcommands_but_not_the_deprecated_flags(capsys):
    from ecspresso.cli import run

    assert run(["tasks", "--help"])[0] == 0

    out = capsys.readouterr().out
    assert "{list,find,stop,logs}" in out and "--follow, -f" in out
    assert "--find" not in out and "--stop" not in out


def test_the_deprecated_flags_still_work_through_the_parser():
    from ecspresso.cli import parse_args

    _, cmd, opts = parse_args(["tasks", "--find", "--id", "abc"])
    assert cmd is not None and cmd.name == "tasks"
    assert resolve_subcommand(opts)[0] == "find" and opts.id == "abc"
    _, _, opts = parse_args(["tasks", "logs", "-f", "-d", "5m", "-s", "2024-05-01T10:00:00Z"])
    assert (opts.subcommand, opts.follow, opts.duration, opts.start_time) == (
        "logs",
        True,
        "5m",
        "2024-05-01T10:00:00Z",
    )


# -- find ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("as_arn", [False, True], ids=["id", "arn"])
def test_find_prints_the_task_as_json(sandbox, project, as_arn):
    task_id = sorted(project.web)[0]
    arn = f"arn:aws:ecs:{REGION}:123456789012:task/default/{task_id}"
    app = make_app(sandbox, project.config)

    result = tasks(app, TasksOption(subcommand="find", id=arn if as_arn else task_id))

    doc = json.loads(stdout_of(app))
    assert doc["taskArn"] == arn and doc["group"] == "service:web" and doc["lastStatus"] == "RUNNING"
    assert result.task_definition_arn == project.td_arn


def test_find_with_output_tsv_prints_its_row(sandbox, project):
    app = make_app(sandbox, project.config)

    tasks(app, TasksOption(subcommand="find", id=project.standalone, output="tsv"))

    _header, row = stdout_of(app).splitlines()
    assert row.split("\t")[:2] == [project.standalone, "app:1"]


def test_unknown_id_is_one_line_exit_1(sandbox, project):
    start_recording(sandbox)
    for sub in ("find", "stop", "logs"):
        with pytest.raises(EcspressoError, match=r"^task nope not found in cluster default$") as err:
            tasks(
                make_app(sandbox, project.config), TasksOption(subcommand=sub, id="nope", force=sub == "stop")
            )
        assert err.value.exit_code == 1

    assert sandbox.mutating_operations() == []


def test_without_id_and_without_a_terminal_it_is_a_usage_error(sandbox, project):
    for sub in ("find", "stop", "logs"):
        with pytest.raises(UsageError, match=f"'tasks {sub}' needs --id"):
            tasks(make_app(sandbox, project.config), TasksOption(subcommand=sub, force=sub == "stop"))


def test_without_id_on_a_terminal_it_asks_which(sandbox, project, monkeypatch, capsys):
    app = make_app(sandbox, project.config)
    tasks(app, TasksOption(output="tsv"))
    second = stdout_of(app).splitlines()[2].split("\t")[0]
    monkeypatch.setattr(sys, "stdin", FakeTTY("2"))
    app = make_app(sandbox, project.config)

    tasks(app, TasksOption(subcommand="find"))

    assert json.loads(stdout_of(app))["taskArn"].endswith("/" + second)
    assert f"  2  {second}\t" in capsys.readouterr().err


# -- stop ------------------------------------------------------------------------------------------


def _status(sandbox, task_id):
    return client(sandbox, "ecs").describe_tasks(cluster="default", tasks=[task_id])["tasks"][0]["lastStatus"]


def test_stop_with_force(sandbox, project):
    victim = sorted(project.web)[0]
    app = make_app(sandbox, project.config)
    start_recording(sandbox)

    result = tasks(app, TasksOption(subcommand="stop", id=victim, force=True))

    assert result.result == "stopped"
    assert sandbox.mutating_operations() == ["StopTask"]
    assert _status(sandbox, victim) == "STOPPED"
    assert {t for t in project.web if t != victim} == {
        t for t in project.web if _status(sandbox, t) == "RUNNING"
    }


def test_stop_without_force_and_without_a_terminal_refuses(sandbox, project):
    victim = sorted(project.web)[0]
    start_recording(sandbox)

    with pytest.raises(EcspressoError, match="stdin is not a terminal: pass --force") as err:
        tasks(make_app(sandbox, project.config), TasksOption(subcommand="stop", id=victim))

    assert err.value.exit_code == 1 and not isinstance(err.value, UsageError)
    assert sandbox.mutating_operations() == []
    assert _status(sandbox, victim) == "RUNNING"


@pytest.mark.parametrize(("answer", "status"), [("y", "STOPPED"), ("n", "RUNNING"), ("", "RUNNING")])
def test_stop_asks_on_a_terminal(sandbox, project, monkeypatch, answer, status):
    victim = sorted(project.web)[0]
    monkeypatch.setattr(sys, "stdin", FakeTTY(answer))
    start_recording(sandbox)
    app = make_app(sandbox, project.config)

    if answer == "y":
        tasks(app, TasksOption(subcommand="stop", id=victim))
    else:
        with pytest.raises(EcspressoError, match="confirmation failed"):
            tasks(app, TasksOption(subcommand="stop", id=victim))

    assert _status(sandbox, victim) == status
    assert sandbox.mutating_operations() == (["StopTask"] if answer == "y" else [])


def test_stopping_a_stopped_task_calls_nothing(sandbox, project):
    victim = sorted(project.web)[0]
    client(sandbox, "ecs").stop_task(cluster="default", task=victim)
    start_recording(sandbox)

    result = tasks(make_app(sandbox, project.config), TasksOption(subcommand="stop", id=victim, force=True))

    assert result.result == "ok" and sandbox.mutating_operations() == []


# -- logs ------------------------------------------------------------------------------------------


class Clock(Timing):
    """Wall clock fixed at ``now``; each sleep runs the next of ``steps`` (no real sleep)."""

    def __init__(self, now: float, steps=()):
        super().__init__(poll_interval=0.0, max_poll_interval=0.0)
        self.fixed, self.steps, self.sleeps = now, list(steps), 0

    def wall(self) -> float:
        return self.fixed

    def sleep(self, seconds: float) -> None:
        self.sleeps += 1
        if self.steps:
            self.steps.pop(0)()
        else:
            raise AssertionError("slept once too often: the follow did not end")


def _write(project, task_id, lines, at_ms, container="app"):
    td = _task_def()
    td["taskDefinitionArn"] = project.td_arn
    assert container_logs.write_for_task(td, container, task_id, lines, region=REGION, start_ms=at_ms)


def _logs(sandbox, project, clock, **kw):
    app = make_app(sandbox, project.config)
    app.timing = clock
    result = tasks(app, TasksOption(subcommand="logs", **kw))
    return result, [line.split("\t") for line in stdout_of(app).splitlines()]


NOW = time.time()
NOW_MS = int(NOW * 1000)


def test_logs_print_the_containers_lines_once_each_in_order(sandbox, project):
    task_id = sorted(project.web)[0]
    _write(project, task_id, ["one", "two", "three"], NOW_MS - 30_000)
    _write(project, sorted(project.web)[1], ["not mine"], NOW_MS - 20_000)

    _, lines = _logs(sandbox, project, Clock(NOW), id=task_id)

    assert [ln[1:] for ln in lines] == [["app", "one"], ["app", "two"], ["app", "three"]]
    first = datetime.fromisoformat(lines[0][0].replace("Z", "+00:00"))
    assert abs(first.timestamp() * 1000 - (NOW_MS - 30_000)) < 1


@pytest.mark.parametrize(
    ("duration", "expected"), [("1m", ["recent"]), ("10m", ["old", "recent"]), ("10s", [])]
)
def test_logs_duration_is_the_span_before_now(sandbox, project, duration, expected):
    task_id = project.standalone
    _write(project, task_id, ["old"], NOW_MS - 5 * 60_000)
    _write(project, task_id, ["recent"], NOW_MS - 30_000)
    _write(project, task_id, ["future"], NOW_MS + 60_000)  # after "now": outside the span

    _, lines = _logs(sandbox, project, Clock(NOW), id=task_id, duration=duration)

    assert [ln[2] for ln in lines] == expected


def test_logs_start_time_is_the_span_from_there(sandbox, project):
    task_id = project.standalone
    _write(project, task_id, ["before", "at", "inside"], NOW_MS - 10 * 60_000 - 1)
    _write(project, task_id, ["after"], NOW_MS - 8 * 60_000)
    start = datetime.fromtimestamp((NOW_MS - 10 * 60_000) / 1000, UTC).isoformat()

    _, lines = _logs(sandbox, project, Clock(NOW), id=task_id, start_time=start, duration="1m")

    assert [ln[2] for ln in lines] == ["at", "inside"]


def test_logs_follow_picks_up_later_lines_until_the_task_stops(sandbox, project):
    task_id = sorted(project.web)[0]
    _write(project, task_id, ["a", "b"], NOW_MS - 1000)

    def more():
        _write(project, task_id, ["c"], NOW_MS + 1000)

    def nothing():
        pass

    def last_and_stop():
        _write(project, task_id, ["d"], NOW_MS + 2000)
        client(sandbox, "ecs").stop_task(cluster="default", task=task_id)

    clock = Clock(NOW, [more, nothing, last_and_stop])
    _, lines = _logs(sandbox, project, clock, id=task_id, follow=True)

    assert [ln[2] for ln in lines] == ["a", "b", "c", "d"]  # each once, "d" read after the stop
    assert clock.sleeps == 3


def test_logs_follow_ends_quietly_when_interrupted(sandbox, project):
    task_id = project.standalone
    _write(project, task_id, ["a"], NOW_MS - 1000)

    def interrupt():
        raise KeyboardInterrupt

    result, lines = _logs(sandbox, project, Clock(NOW, [interrupt]), id=task_id, follow=True)

    assert [ln[2] for ln in lines] == ["a"] and result.exit_code == 0


@pytest.mark.parametrize(
    ("container", "message"),
    [
        (
            "sidecar",
            "no logs to show: container sidecar uses no log driver, not awslogs (containers: app, sidecar)",
        ),
        (
            "nope",
            "no logs to show: no container named 'nope' in the task definition (containers: app, sidecar)",
        ),
    ],
)
def test_logs_of_a_container_without_awslogs_is_one_line_exit_1(sandbox, project, container, message):
    with pytest.raises(EcspressoError) as err:
        _logs(sandbox, project, Clock(NOW), id=project.standalone, container=container)

    assert str(err.value) == message and err.value.exit_code == 1


@pytest.mark.parametrize(
    ("duration", "start", "follow", "expected"),
    [
        ("1m", "", False, (NOW_MS - 60_000, NOW_MS)),
        ("90s", "", True, (NOW_MS - 90_000, None)),
        ("2m", "2024-05-01T10:00:00Z", False, (1714557600_000, 1714557720_000)),
        ("0", "2024-05-01T10:00:00+09:00", False, (1714525200_000, 1714525200_000)),
    ],
)
def test_log_window(duration, start, follow, expected):
    assert log_window(NOW_MS / 1000, duration, start, follow=follow) == expected


@pytest.mark.parametrize(("duration", "start"), [("soon", ""), ("-1m", ""), ("1m", "yesterday")])
def test_log_window_refuses_bad_flags(duration, start):
    with pytest.raises(UsageError, match="--duration" if start != "yesterday" else "--start-time"):
        log_window(NOW, duration, start)


# -- the CLI ---------------------------------------------------------------------------------------


def test_cli(sandbox, project):
    env = {
        **os.environ,
        "AWS_ENDPOINT_URL": sandbox.url,
        "PYTHONPATH": str(Path(__file__).parents[1] / "src"),
        "ECSPRESSO_CONFIG": str(project.config),
    }

    def cli(*args):
        return subprocess.run([sys.executable, "-m", "ecspresso", "tasks", *args], env=env, stdin=subprocess.DEVNULL,
                              capture_output=True, text=True, timeout=60, check=False)  # fmt: skip

    listed = cli("--output", "tsv")
    assert listed.returncode == 0, listed.stderr
    assert {r.split("\t")[0] for r in listed.stdout.splitlines()[1:]} == project.listed

    refused = cli("stop", "--id", sorted(project.web)[0])
    assert refused.returncode == 1
    assert next(ln for ln in refused.stderr.splitlines() if "FAILED" in ln).endswith("pass --force")
    assert not refused.stdout

    usage = cli("find")
    assert usage.returncode == 2 and "needs --id" in usage.stderr


def _json_stream(text):
    decoder, pos, docs = json.JSONDecoder(), 0, []
    while pos < len(text):
        doc, pos = decoder.raw_decode(text, pos)
        docs.append(doc)
        while pos < len(text) and text[pos].isspace():
            pos += 1
    return docs
