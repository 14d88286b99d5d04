"""botocore's API models, each parsed once per process.

The definitions are checked against ECS's model (definitions.py), the UpdateService and
CreateService fields are derived from it (normalize.py), and the AWS clients (aws.py) are built
from it. All of them load it through one botocore loader, whose cache keeps every model file it
parsed: ECS's (about 1 MB of JSON, ~20 ms) is parsed once, whichever asks first. Nothing here, nor
botocore, is imported until a model is needed.
"""

from __future__ import annotations

import functools
import os
from typing import Any


@functools.cache
def data_loader(data_path: str | None = None) -> Any:
    """The botocore loader for ``data_path`` (botocore's ``data_path`` setting, as its sessions
    create theirs), one per process."""
    from botocore.loaders import create_loader

    return create_loader(data_path)


def service_model_json(service: str) -> dict[str, Any]:
    """botocore's model of ``service`` (``service-2``), as its clients load it: with the same
    arguments, so that the loader's cache serves both."""
    loader = data_loader(os.environ.get("AWS_DATA_PATH"))
    model: dict[str, Any] = loader.load_service_model(service, "service-2", api_version=None)
    return model


@functools.cache
def ecs_service_model() -> Any:
    """botocore's ``ServiceModel`` of ECS (its shapes resolve lazily and are cached in it)."""
    from botocore.model import ServiceModel

    return ServiceModel(service_model_json("ecs"), service_name="ecs")


def boto3_session(*, region_name: str | None, botocore_session: Any = None) -> Any:
    """A new ``boto3.Session`` (on ``botocore_session`` if given) whose clients load their models
    through :func:`data_loader`. Only the loader is shared: credentials and settings are not."""
    import boto3
    from botocore.session import get_session

    core = botocore_session or get_session()
    # as botocore's own (lazy) registration, with the process's loader for that data path
    core.lazy_register_component("data_loader", lambda: data_loader(core.get_config_variable("data_path")))
    session = boto3.Session(botocore_session=core, region_name=region_name)
    loader = core.get_component("data_loader")
    loader.search_paths[:] = dict.fromkeys(loader.search_paths)  # each boto3.Session appends its own
    return session
