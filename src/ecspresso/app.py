"""The run context shared by every command: config, AWS clients, definitions, reporting, timing.

Both front ends (cli.py, action.py) build one :class:`App` from :class:`GlobalOptions` and pass it
to a command function with that command's options.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

from ecspresso.aws import AwsContext
from ecspresso.config import Config, load_config, load_envfiles, resolve_config_path
from ecspresso.definitions import DefinitionLoader
from ecspresso.errors import InputError
from ecspresso.log import get_logger
from ecspresso.options import GlobalOptions
from ecspresso.report import Reporter

__all__ = ["App", "GlobalOptions", "Timing"]


@dataclass
class Timing:
    """Injectable clock so tests run in milliseconds."""

    poll_interval: float = 1.0  # fast: when something is about to change (see polling.py)
    max_poll_interval: float = 10.0  # slow: the longest wait while nothing is about to change

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            time.sleep(seconds)

    def sleep_after(self, started: float, interval: float) -> None:
        """Sleep until ``interval`` seconds after ``started`` (a poll's start, from :meth:`now`): a
        slow answer does not stretch the interval between polls."""
        self.sleep(max(0.0, interval - (self.now() - started)))

    @staticmethod
    def now() -> float:
        return time.monotonic()

    @staticmethod
    def wall() -> float:
        """Seconds since the epoch (what "the last minute of logs" is measured against)."""
        return time.time()


class App:
    """One command run: config + AWS + definitions + reporter."""

    def __init__(
        self,
        opts: GlobalOptions,
        *,
        reporter: Reporter | None = None,
        aws: AwsContext | None = None,
        config: Config | None = None,
        timing: Timing | None = None,
    ) -> None:
        self.opts = opts
        self.reporter = reporter or Reporter()
        self._config = config
        self._aws = aws
        interval = max(0.0, float(opts.poll_interval))
        self.timing = timing or Timing(poll_interval=min(1.0, interval), max_poll_interval=interval * 2)

    @cached_property
    def ext_str(self) -> dict[str, str]:
        from ecspresso.render.jsonnet import parse_ext_vars

        return parse_ext_vars(self.opts.ext_str, flag="--ext-str")

    @cached_property
    def ext_code(self) -> dict[str, str]:
        from ecspresso.render.jsonnet import parse_ext_vars

        return parse_ext_vars(self.opts.ext_code, flag="--ext-code")

    @property
    def config(self) -> Config:
        if self._config is None:
            if self.opts.envfile:
                load_envfiles(self.opts.envfile)
            path = resolve_config_path(self.opts.config)
            self._config = load_config(
                path, ext_str=self.ext_str, ext_code=self.ext_code, timeout_override=self.opts.timeout
            )
            # plugins are set up while the config loads, as in ecspresso: an unknown plugin or a
            # function defined twice fails every command (no AWS call: those happen on first use)
            self.loader  # noqa: B018
        return self._config

    def adopt_config(self, config: Config) -> None:
        """Run with ``config`` instead of loading the config file: ``init`` builds its own from its
        flags (the file it is about to write), as ecspresso's ``InitOption.NewConfig`` does. Call it
        before anything reads :attr:`config`, :attr:`aws` or :attr:`log`."""
        self._config = config

    @property
    def aws(self) -> AwsContext:
        if self._aws is None:
            self._aws = AwsContext(
                region=self.config.region,
                assume_role_arn=self.opts.assume_role_arn,
                max_attempts=self.opts.max_attempts,
            )
        return self._aws

    @property
    def log(self) -> Any:
        cfg = self.config
        return get_logger(service=cfg.service or "-", cluster=cfg.cluster)

    def client(self, service: str, region: str | None = None) -> Any:
        return self.aws.client(service, region)

    @cached_property
    def loader(self) -> DefinitionLoader:
        from ecspresso.plugins import PluginSpec, load_plugins

        cfg = self.config
        specs = [
            PluginSpec(
                name=str(p["name"]),
                config=dict(p.get("config") or {}),
                func_prefix=str(p.get("func_prefix") or ""),
            )
            for p in cfg.plugins
        ]
        functions = load_plugins(specs, base_dir=cfg.dir, aws=self.aws, source=str(cfg.path.name))
        return DefinitionLoader(
            template_funcs=functions.template_funcs,
            jsonnet_natives=functions.jsonnet_natives,
            ext_str=self.ext_str,
            ext_code=self.ext_code,
            jpath=(cfg.dir,),
        )

    def task_definition_path(self) -> Path:
        if not self.config.task_definition:
            raise InputError("task_definition is not set", source=self.config.path.name)
        return self.config.task_definition

    def load_task_definition(self, path: Path | None = None) -> dict[str, Any]:
        td = self.loader.task_definition(path or self.task_definition_path())
        return _strip_ignored_tags(td, self.config.ignore_tags)

    def load_service_definition(self) -> dict[str, Any] | None:
        if not self.config.service_definition:
            return None
        sv = self.loader.service_definition(self.config.service_definition, service=self.config.service)
        return _strip_ignored_tags(sv, self.config.ignore_tags)


def _strip_ignored_tags(doc: dict[str, Any], ignore: list[str]) -> dict[str, Any]:
    if ignore and doc.get("tags"):
        doc = {**doc, "tags": [t for t in doc["tags"] if t.get("key") not in ignore]}
    return doc
