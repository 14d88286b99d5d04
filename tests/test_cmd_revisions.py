"""``revisions``: ACTIVE revisions of the family with what uses them, in ecspresso's three formats."""

from __future__ import annotations

import json

import pytest

from ecs_fixtures import (
    ACCOUNT,
    REGION,
    client,
    make_app,
    make_project,
    register,
    schedule,
    seed_service,
    stdout_of,
)
from ecspresso.commands.revisions import RevisionsOption, format_table, revisions
from ecspresso.errors import UsageError

TD = f"arn:aws:ecs:{REGION}:{ACCOUNT}:task-definition"


@pytest.fixture
def web(sandbox, tmp_path):
    """Service web on app:1; app:2 pinned by an EventBridge rule; app:3 unused; app:4 INACTIVE."""
    config = make_project(tmp_path)
    seed_service(sandbox, config)
    register(sandbox, config, count=3)
    client(sandbox, "ecs").deregister_task_definition(taskDefinition="app:4")
    schedule(sandbox, "nightly", f"{TD}/app:2")
    return config


ROWS = [("app:1", "PRIMARY deployment"), ("app:2", "EventBridge rule nightly"), ("app:3", "")]


@pytest.mark.parametrize(
    ("output", "log_format", "expected"),
    [
        (
            None,
            "text",
            "| NAME  |          IN USE          |\n"
            "+-------+--------------------------+\n"
            "| app:1 | PRIMARY deployment       |\n"
            "| app:2 | EventBridge rule nightly |\n"
            "| app:3 |                          |\n",
        ),
        ("tsv", "text", "app:1\tPRIMARY deployment\napp:2\tEventBridge rule nightly\napp:3\t\n"),
        ("json", "text", "json"),
        (None, "json", "json"),
    ],
    ids=["table-default", "tsv", "json", "json-by-log-format"],
)
def test_formats(sandbox, web, output, log_format, expected):
    app = make_app(sandbox, web, log_format=log_format)

    revisions(app, RevisionsOption(output=output))

    out = stdout_of(app)
    if expected == "json":
        # one pretty object per revision, concatenated (not an array), as ecspresso prints them
        assert out.startswith('{\n  "in_use": "PRIMARY deployment",\n  "name": "app:1"\n}\n{\n')
        assert [(d["name"], d["in_use"]) for d in _json_stream(out)] == ROWS
    else:
        assert out == expected


def _json_stream(text):
    decoder, pos, docs = json.JSONDecoder(), 0, []
    while pos < len(text):
        doc, pos = decoder.raw_decode(text, pos)
        docs.append(doc)
        while pos < len(text) and text[pos].isspace():
            pos += 1
    return docs


def test_table_of_nothing_is_just_the_header():
    assert format_table([]) == "| NAME | IN USE |\n+------+--------+\n"


@pytest.mark.parametrize(("revision", "expected"), [("2", 2), ("latest", 3), ("current", 1)])
def test_revision_prints_the_full_task_definition(sandbox, web, revision, expected):
    app = make_app(sandbox, web)

    result = revisions(app, RevisionsOption(revision=revision))

    td = json.loads(stdout_of(app))
    assert td["taskDefinitionArn"] == f"{TD}/app:{expected}" == result.task_definition_arn
    assert td["containerDefinitions"][0]["image"] == "nginx:1"


def test_current_without_a_service_is_the_latest(sandbox, tmp_path):
    config = make_project(tmp_path, service=None)
    seed_service(sandbox, config, revisions=2)
    app = make_app(sandbox, config)

    revisions(app, RevisionsOption(revision="current"))

    assert json.loads(stdout_of(app))["revision"] == 2


def test_invalid_revision(sandbox, web):
    with pytest.raises(UsageError, match="invalid --revision"):
        revisions(make_app(sandbox, web), RevisionsOption(revision="previous"))
