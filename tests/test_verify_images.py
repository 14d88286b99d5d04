"""``verify`` of images: ECR (BatchGetImage, the platform of an image index) and other registries
(their v2 API with an anonymous token; unreachable is WARN, never NG)."""

from __future__ import annotations

import http.server
import json
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from ecs_fixtures import client
from verify_fixtures import IMAGE, Setup, failed, setup

__all__ = ["setup"]  # the fixture


def test_missing_ecr_image_is_ng(setup: Setup) -> None:
    setup.container["image"] = IMAGE.replace(":v1", ":v2")
    result, out = setup.run()
    failed(result, out, "Image[", "image app:v2 is not found in ECR")


def test_an_image_index_without_the_task_platform_is_ng(setup: Setup) -> None:
    index = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": [
        {"mediaType": "application/vnd.oci.image.manifest.v1+json", "size": 1, "digest": "sha256:" + "b" * 64,
         "platform": {"architecture": "arm64", "os": "linux"}}]})  # fmt: skip
    client(setup.sandbox, "ecr").put_image(repositoryName="app", imageManifest=index, imageTag="arm")
    setup.container["image"] = IMAGE.replace(":v1", ":arm")  # the task is Fargate: linux/amd64
    result, out = setup.run()
    failed(result, out, "Image[", "image app:arm has no linux/amd64 image (the index lists linux/arm64)")

    setup.td["runtimePlatform"] = {"cpuArchitecture": "ARM64", "operatingSystemFamily": "LINUX"}
    result, out = setup.run(put_logs=False)
    assert result.result == "ok", out


# -- registries other than ECR ------------------------------------------------------------------------


class _Registry(http.server.BaseHTTPRequestHandler):
    """A registry v2 API that knows one image and wants an anonymous token, as Docker Hub does."""

    def do_HEAD(self) -> None:
        if self.path == "/v2/team/app/manifests/1":
            ok = self.headers.get("Authorization") == "Bearer anon-token"
            self.send_response(200 if ok else 401)
            if not ok:
                realm = f"http://127.0.0.1:{self.server.server_address[1]}/token"
                self.send_header("WWW-Authenticate", f'Bearer realm="{realm}",service="test"')
        else:
            self.send_response(404)
        self.end_headers()

    def do_GET(self) -> None:
        body = json.dumps({"token": "anon-token"}).encode()
        self.send_response(200 if self.path.startswith("/token?") else 404)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def registry() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Registry)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"localhost:{server.server_address[1]}"
    server.shutdown()


def test_registry_image_found_with_an_anonymous_token(setup: Setup, registry: str) -> None:
    setup.container["image"] = f"{registry}/team/app:1"
    result, out = setup.run(put_logs=False)
    assert result.result == "ok", out
    assert f"      Image[{registry}/team/app:1]\n      --> [OK]\n" in out


def test_registry_image_missing_is_ng(setup: Setup, registry: str) -> None:
    setup.container["image"] = f"{registry}/team/app:2"
    result, out = setup.run()
    failed(result, out, "Image[", f"image {registry}/team/app:2 is not found in the registry")


def test_unreachable_registry_is_warn_never_ng(setup: Setup) -> None:
    setup.container["image"] = "nginx:1"  # Docker Hub: no network here
    result, out = setup.run(put_logs=False)
    assert result.result == "ok", out
    assert (
        "      Image[nginx:1]\n      --> [WARN] cannot verify: registry registry-1.docker.io is unreachable"
        in out
    )
