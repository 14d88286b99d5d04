"""Text diffs as ``ecspresso diff`` prints them."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from ecspresso import diffing as d

COMPAT = Path(__file__).parent / "compat"
RED, GREEN, RESET = "\x1b[31m", "\x1b[32m", "\x1b[0m"


def load(name: str) -> Any:
    return json.loads((COMPAT / name).read_text(encoding="utf-8"))


def changes(diff: str) -> tuple[list[str], list[str]]:
    """The ``-`` and ``+`` body lines of a diff (headers excluded)."""
    lines = diff.splitlines()
    minus = [x for x in lines if x.startswith("-") and not x.startswith("--- ")]
    plus = [x for x in lines if x.startswith("+") and not x.startswith("+++ ")]
    return minus, plus


# --------------------------------------------------------------------------- unified_diff / line_diff

TEN = "".join(f"line{i}\n" for i in range(1, 11))


@pytest.mark.parametrize(
    ("remote", "local", "expected"),
    [
        pytest.param(TEN, TEN, "", id="equal"),
        pytest.param("", "", "", id="both-empty"),
        pytest.param(
            TEN,
            TEN.replace("line5\n", "LINE5\n"),
            "--- r\n+++ l\n@@ -2,7 +2,7 @@\n line2\n line3\n line4\n-line5\n+LINE5\n line6\n line7\n line8\n",
            id="one-line-changed-3-context",
        ),
        pytest.param("", "a\nb\n", "--- r\n+++ l\n@@ -0,0 +1,2 @@\n+a\n+b\n", id="remote-empty"),
        pytest.param("a\n", "", "--- r\n+++ l\n@@ -1 +0,0 @@\n-a\n", id="local-empty"),
        pytest.param("a\nb\n", "a\nb", "--- r\n+++ l\n@@ -1,2 +1,2 @@\n a\n-b\n+b\n\\ No newline at end of file\n",
                     id="no-newline-at-eof"),
        pytest.param(
            TEN,
            TEN.replace("line1\n", "first\n").replace("line10\n", "last\n"),
            "--- r\n+++ l\n@@ -1,4 +1,4 @@\n-line1\n+first\n line2\n line3\n line4\n"
            "@@ -7,4 +7,4 @@\n line7\n line8\n line9\n-line10\n+last\n",
            id="two-hunks",
        ),
    ],
)  # fmt: skip
def test_unified_diff(remote: str, local: str, expected: str) -> None:
    assert d.unified_diff(remote, local, remote_name="r", local_name="l") == expected


def test_unified_diff_color() -> None:
    out = d.unified_diff("a\nb\n", "a\nc\n", remote_name="arn:remote", local_name="sv.json", color=True)
    assert out == (
        f"{RED}--- arn:remote{RESET}\n{GREEN}+++ sv.json{RESET}\n@@ -1,2 +1,2 @@\n a\n{RED}-b{RESET}\n{GREEN}+c{RESET}\n"
    )
    assert d.unified_diff("a\n", "a\n", remote_name="r", local_name="l", color=True) == ""


@pytest.mark.parametrize(
    ("remote", "local", "expected"),
    [
        ("a\nb\nc\n", "a\nb\nc\n", ""),
        ("a\nb\nc\n", "a\nx\nc\n", " a\n-b\n+x\n c\n"),
        ("", "a\n", "+a\n"),
        ("a\n", "a\nb\n", " a\n+b\n"),
    ],
)
def test_line_diff(remote: str, local: str, expected: str) -> None:
    assert d.line_diff(remote, local) == expected


def test_colorize_leaves_context_alone() -> None:
    assert d.colorize(" a\n-b\n+c\n@@ x @@\n") == f" a\n{RED}-b{RESET}\n{GREEN}+c{RESET}\n@@ x @@\n"


# --------------------------------------------------------------------------- task definitions


@pytest.mark.parametrize(
    ("remote", "local"),
    [
        ("td.json", "td-plain.json"),
        ("td-in-tags.json", "td-plain-in-tags.json"),
        ("td-plain.json", "td.json"),
    ],
)
def test_equivalent_task_definitions_have_no_diff(remote: str, local: str) -> None:
    assert d.diff_task_definitions(load(remote), load(local), remote_name="arn", local_name=local) == ""


def test_changed_image_is_a_one_line_change() -> None:
    remote = load("td.json")
    local = copy.deepcopy(load("td-plain.json"))
    local["containerDefinitions"][0]["image"] = "katsubushi/katsubushi:v2"
    out = d.diff_task_definitions(
        remote,
        local,
        remote_name="arn:aws:ecs:us-east-1:1:task-definition/katsubushi:1",
        local_name="td.json",
    )
    assert out.startswith("--- arn:aws:ecs:us-east-1:1:task-definition/katsubushi:1\n+++ td.json\n@@ ")
    minus, plus = changes(out)
    assert minus == ['-      "image": "katsubushi/katsubushi:{{ env `TAG` `latest` }}",']
    assert plus == ['+      "image": "katsubushi/katsubushi:v2",']


def test_task_definition_without_remote_is_all_additions() -> None:
    out = d.diff_task_definitions(None, load("td-plain.json"), remote_name="", local_name="td.json")
    minus, plus = changes(out)
    assert out.startswith("--- \n+++ td.json\n@@ -0,0 ")
    assert minus == []
    assert plus and plus[0] == "+{"


def test_no_unified_form_has_header_and_every_line() -> None:
    local = copy.deepcopy(load("td-plain.json"))
    local["family"] = "other"
    out = d.diff_task_definitions(load("td.json"), local, remote_name="r", local_name="l", unified=False)
    lines = out.splitlines()
    assert lines[:2] == ["--- r", "+++ l"]
    assert all(line[:1] in ("-", "+", " ") for line in lines[2:])
    assert changes(out) == (['-  "family": "katsubushi",'], ['+  "family": "other",'])
    assert d.diff_task_definitions(load("td.json"), load("td-plain.json"), unified=False) == ""


# --------------------------------------------------------------------------- services


def remote_service() -> dict[str, Any]:
    sv = load("sv.json")
    sv.update(
        {
            "serviceArn": "arn:aws:ecs:us-east-1:1:service/default/test",
            "serviceName": "test",
            "status": "ACTIVE",
            "runningCount": 2,
            "pendingCount": 0,
            "deploymentController": {"type": "ECS"},
            "deployments": [{"id": "ecs-svc/1", "status": "PRIMARY", "desiredCount": 2}],
            "events": [],
            "enableECSManagedTags": False,
            "enableExecuteCommand": False,
            "propagateTags": "SERVICE",
            "healthCheckGracePeriodSeconds": 0,
            "placementConstraints": [],
            "placementStrategy": [],
            "serviceRegistries": [],
        }
    )
    dc = sv["deploymentConfiguration"]
    dc.update({"strategy": "ROLLING", "bakeTimeInMinutes": 0})
    dc["deploymentCircuitBreaker"].update(
        {"resetOnHealthyTask": True, "thresholdConfiguration": {"type": "BOUNDED_PERCENT", "value": 50}}
    )
    return sv


def test_service_same_as_remote_has_no_diff() -> None:
    assert d.diff_services(remote_service(), load("sv.json"), remote_name="arn", local_name="sv.json") == ""


@pytest.mark.parametrize(
    ("local_changes", "expect_diff"),
    [
        pytest.param({"desiredCount": None}, False, id="local-without-desired-count-ignores-remote"),
        pytest.param({"desiredCount": 5}, True, id="local-desired-count-differs"),
        pytest.param({"loadBalancers": []}, True, id="load-balancer-removed"),
        pytest.param(
            {"launchType": "EXTERNAL", "schedulingStrategy": None}, False, id="launch-type-not-compared"
        ),
    ],
)
def test_service_diff_cases(local_changes: dict[str, Any], expect_diff: bool) -> None:
    local = load("sv.json")
    for key, value in local_changes.items():
        if value is None:
            local.pop(key, None)
        else:
            local[key] = value
    out = d.diff_services(remote_service(), local, remote_name="arn", local_name="sv.json")
    assert (out != "") is expect_diff, out


def test_remote_desired_count_missing_locally_reported_when_local_has_it() -> None:
    # ecspresso diff_test.go TestDiffServices
    no_count = {"launchType": "FARGATE"}
    has_count = {"launchType": "FARGATE", "desiredCount": 2}
    assert d.diff_services(has_count, no_count, remote_name="r", local_name="file") == ""
    out = d.diff_services(no_count, has_count, remote_name="r", local_name="file")
    assert changes(out) == ([], ['+  "desiredCount": 2,'])


def test_service_without_remote_has_only_additions() -> None:
    out = d.diff_services(None, {"launchType": "FARGATE"}, remote_name="", local_name="file")
    minus, plus = changes(out)
    assert minus == [] and plus
    assert sum(1 for line in out.splitlines() if line.startswith("-")) == 1  # only the "---" header


def test_service_diff_color_and_code_deploy_target_group() -> None:
    remote = remote_service()
    remote["deploymentController"] = {"type": "CODE_DEPLOY"}
    remote["loadBalancers"][0]["targetGroupArn"] = (
        "arn:aws:elasticloadbalancing:us-east-1:1:targetgroup/green/1"
    )
    local = load("sv.json")
    local["deploymentController"] = {"type": "CODE_DEPLOY"}
    assert d.diff_services(remote, local, remote_name="r", local_name="l", color=True) == ""
    local["propagateTags"] = "NONE"
    out = d.diff_services(remote, local, remote_name="r", local_name="l", color=True)
    assert f'{RED}-  "propagateTags": "SERVICE",{RESET}' in out
    assert f'{GREEN}+  "propagateTags": "NONE",{RESET}' in out
