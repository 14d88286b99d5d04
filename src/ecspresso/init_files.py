"""The files ``init`` writes, made from what AWS returned (pure: no AWS, no filesystem).

* :func:`service_definition_file`: a DescribeServices service without what ECS reports about it
  (ARNs, counts, status, deployments, events, task sets, the task definition, its name...): the
  members of the service the CreateService input takes, lowerCamel as the API names them, with
  the attributes ECS reports only on the PRIMARY deployment (service connect, volume and VPC
  Lattice configurations) lifted up and ``propagateTags`` ``NONE`` when unset (ecspresso's
  ``treatmentServiceDefinition``).
* :func:`task_definition_file`: a DescribeTaskDefinition result (with its tags) without the fields
  RegisterTaskDefinition does not take (ARN, revision, status, requiresAttributes,
  compatibilities, registeredAt/By, deregisteredAt...) nor this tool's own bookkeeping tags;
  ``sort`` applies ecspresso's ``sortTaskDefinition``.
* :func:`config_document`: the config ecspresso's ``init`` writes (region, cluster, service, the
  two paths, timeout, and the ``codedeploy`` section of a CodeDeploy service).
* :func:`definition_text` / :func:`config_text`: the text of each file, JSON or Jsonnet (YAML too
  for the config) after its extension, in the shape our own loader reads back to the same thing:
  ``{{`` in a value is written as ``{{`{{`}}`` so the Go-template pass the loader runs on every
  definition file gives it back unchanged.
* :func:`target_paths`: where the files go (``--jsonnet`` renames ``.json`` -> ``.jsonnet`` and a
  ``.yml``/``.yaml`` config -> ``.jsonnet``) and :func:`config_reference`: how the config names a
  definition file (relative to the config's directory, as the loader resolves it).
"""

from __future__ import annotations

import copy
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import PurePath
from typing import Any

from ecspresso import normalize

DEFAULT_TIMEOUT = "10m0s"  # ecspresso's DefaultTimeout as its init writes it
CONFIG_EXTENSIONS = (".yml", ".yaml", ".json", ".jsonnet")
# CreateService members that name the call or its target rather than describe the service
_NOT_A_SERVICE_ATTRIBUTE = frozenset({"cluster", "serviceName", "taskDefinition", "clientToken", "role"})
_PROPAGATE_TAGS = ("SERVICE", "TASK_DEFINITION")
# what the Go template pass of the loader turns back into "{{"
_ESCAPED_ACTION = "{{`{{`}}"


@dataclass(frozen=True)
class Targets:
    """The files ``init`` writes (paths as given, relative to the working directory)."""

    config: PurePath
    task_definition: PurePath
    service_definition: PurePath | None  # None: --task-definition (no service)

    def all(self) -> tuple[PurePath, ...]:
        defs = (self.service_definition,) if self.service_definition else ()
        return (*defs, self.task_definition, self.config)


def _with_suffix(path: PurePath, old: tuple[str, ...], new: str) -> PurePath:
    return path.with_suffix(new) if path.suffix.lower() in old else path


def target_paths(
    config: str, task_definition: str, service_definition: str | None, *, jsonnet: bool
) -> Targets:
    """The paths of the files to write; with ``jsonnet`` ``.json`` definitions become ``.jsonnet``
    and a ``.yml``/``.yaml`` config ``.jsonnet``, as in ecspresso."""
    cfg, td = PurePath(config), PurePath(task_definition)
    sv = PurePath(service_definition) if service_definition else None
    if jsonnet:
        cfg = _with_suffix(cfg, (".yml", ".yaml"), ".jsonnet")
        td = _with_suffix(td, (".json",), ".jsonnet")
        sv = _with_suffix(sv, (".json",), ".jsonnet") if sv else None
    return Targets(config=cfg, task_definition=td, service_definition=sv)


def config_reference(definition: PurePath, config: PurePath) -> str:
    """How the config names ``definition``: relative to the config's directory (both paths are
    relative to the working directory, or absolute), an absolute path as it is."""
    if definition.is_absolute():
        return str(definition)
    return os.path.relpath(os.path.join(os.curdir, definition), os.path.join(os.curdir, config.parent))


# -- the documents -----------------------------------------------------------------------------------


def service_definition_file(described: Mapping[str, Any]) -> dict[str, Any]:
    """The service definition of a DescribeServices service (see the module's docstring)."""
    sv = normalize.service_from_describe(normalize.normalize_keys(dict(described)))
    accepted = normalize.input_members("CreateServiceRequest")
    out = {
        key: copy.deepcopy(sv[key])
        for key in accepted
        if key in sv and key not in _NOT_A_SERVICE_ATTRIBUTE and sv[key] is not None
    }
    if out.get("propagateTags") not in _PROPAGATE_TAGS:
        out["propagateTags"] = "NONE"
    if not out.get("tags"):
        out.pop("tags", None)
    return out


def task_definition_file(described: Mapping[str, Any], *, sort: bool = False) -> dict[str, Any]:
    """The task definition of a DescribeTaskDefinition result (bare with ``tags`` inside, or
    wrapped ``{"taskDefinition": ..., "tags": ...}``) as RegisterTaskDefinition takes it."""
    td, _ = normalize.unwrap_task_definition(normalize.normalize_keys(dict(described)))
    output_only = normalize.td_output_only_fields()
    out = {key: value for key, value in td.items() if key not in output_only}
    tags = normalize.without_own_tags(out.pop("tags", None))
    if tags:
        out["tags"] = tags
    return normalize.sort_task_definition(out) if sort else out


def config_document(
    *,
    region: str,
    cluster: str,
    service: str,
    service_definition: str,
    task_definition: str,
    timeout: str = DEFAULT_TIMEOUT,
    codedeploy: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """The config, keys in ecspresso's order; without a service (``--task-definition``) there is
    no ``service`` nor ``service_definition``."""
    doc: dict[str, Any] = {"region": region, "cluster": cluster}
    if service:
        doc["service"] = service
        doc["service_definition"] = service_definition
    doc["task_definition"] = task_definition
    doc["timeout"] = timeout
    if codedeploy:
        doc["codedeploy"] = dict(codedeploy)
    return doc


# -- the texts ---------------------------------------------------------------------------------------


def is_jsonnet(path: PurePath) -> bool:
    return path.suffix.lower() == ".jsonnet"


def escape_template_actions(text: str) -> str:
    """``text`` with every ``{{`` written so that a Go-template pass gives it back unchanged."""
    return text.replace("{{", _ESCAPED_ACTION)


def definition_text(doc: Mapping[str, Any], path: PurePath) -> str:
    """A definition file's text: the API's JSON (lowerCamel keys, sorted, nulls and empty lists
    left out, 2-space indent), as Jsonnet (go-jsonnet formatter style) for a ``.jsonnet`` path."""
    text = normalize.to_api_json(doc)
    if is_jsonnet(path):
        from ecspresso.commands.render import to_jsonnet

        text = to_jsonnet(json.loads(text)) + "\n"
    return escape_template_actions(text)


def config_text(doc: Mapping[str, Any], path: PurePath) -> str:
    """The config's text after its extension: YAML, JSON or Jsonnet."""
    suffix = path.suffix.lower()
    if suffix == ".jsonnet":
        from ecspresso.commands.render import to_jsonnet

        return to_jsonnet(dict(doc)) + "\n"
    if suffix == ".json":
        return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"
    import yaml

    return str(yaml.safe_dump(dict(doc), sort_keys=False, allow_unicode=True, default_flow_style=False))


# -- messages ----------------------------------------------------------------------------------------


def refusal(existing: list[str]) -> str:
    """Why ``init`` writes nothing when files exist and nobody can be asked."""
    names = ", ".join(existing)
    verb = "exists" if len(existing) == 1 else "exist"
    return (
        f"{names} already {verb} and stdin is not a terminal to confirm overwriting: "
        "pass --force-overwrite to overwrite"
    )
