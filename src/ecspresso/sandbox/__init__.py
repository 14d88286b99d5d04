"""Local AWS endpoint for tests and demos: moto plus an ECS rollout simulator and fault injection.

INTERIM: a plain moto server. The rollout simulator, fault injection and control API come with
issue #3 and keep this public surface (Sandbox.start/stop/reset/url/region/client/aws).
"""

from __future__ import annotations

import threading
from typing import Any

DEFAULT_REGION = "us-east-1"


class Sandbox:
    """A moto server on 127.0.0.1, in this process."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, region: str = DEFAULT_REGION) -> None:
        self.host, self.port, self.region = host, port, region
        self._server: Any = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> Sandbox:
        from moto.moto_server.threaded_moto_server import MotoRequestHandler
        from moto.server import DomainDispatcherApplication, create_backend_app
        from werkzeug.serving import make_server

        app = DomainDispatcherApplication(create_backend_app)
        self._server = make_server(self.host, self.port, app, True, request_handler=MotoRequestHandler)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server = None

    def reset(self) -> None:
        from moto.moto_api._internal.models import moto_api_backend

        moto_api_backend.reset()

    def __enter__(self) -> Sandbox:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def client(self, service: str) -> Any:
        import boto3

        return boto3.client(
            service,
            region_name=self.region,
            endpoint_url=self.url,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )

    def aws(self, **kwargs: Any) -> Any:
        """An :class:`ecspresso.aws.AwsContext` pointed at this sandbox."""
        from ecspresso.aws import AwsContext

        kwargs.setdefault("region", self.region)
        return AwsContext(endpoint_url=self.url, **kwargs)
