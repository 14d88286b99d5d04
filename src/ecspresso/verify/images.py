"""Container images: the image the task will pull exists.

* ECR (``<account>.dkr.ecr.<region>.amazonaws.com[.cn]/<repo>[:tag|@digest]``): BatchGetImage in
  that Region and registry, as the execution role when it could be assumed (the call ECS makes to
  pull it; DescribeImages is not in the execution role's usual policy). A missing repository or
  image is NG.
* Any other registry (Docker Hub, ghcr.io, a private registry): the registry's v2 API
  (``HEAD /v2/<repo>/manifests/<ref>``, with an anonymous pull token when the registry asks for
  one), with a short time-out. Found => OK; 404 => NG; unreachable (no network, DNS, time-out),
  private (401/403) or anything else => WARN with the reason, never NG: verify cannot tell.
  Rate limited (429) => SKIP, as ecspresso. ``localhost`` and loopback registries are plain HTTP
  (as Docker treats them), others HTTPS.

The tag defaults to ``latest``; a digest reference (``@sha256:…``) is looked up by digest.
"""

from __future__ import annotations

import ipaddress
import json
import re
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from typing import Any

from ecspresso.errors import AwsError
from ecspresso.verify.context import VerifyContext, call
from ecspresso.verify.core import Ng, Skip, Warn

#: seconds to wait for a registry (connect and each read)
REGISTRY_TIMEOUT = 5.0

_ECR = re.compile(r"^(\d{12})\.dkr\.ecr\.([a-z0-9-]+)\.amazonaws\.com(?:\.cn)?/(.+)$")
MANIFEST_TYPES = (
    "application/vnd.docker.distribution.manifest.v2+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.v1+prettyjws",
)


@dataclass(frozen=True)
class ImageRef:
    """An image reference, split (pure)."""

    registry: str  # host[:port]; "registry-1.docker.io" for Docker Hub
    repository: str  # "library/nginx", "org/app"
    tag: str = ""  # "" when ``digest`` is given
    digest: str = ""
    ecr_account: str = ""  # set for ECR
    ecr_region: str = ""

    @property
    def reference(self) -> str:
        return self.digest or self.tag

    @property
    def is_ecr(self) -> bool:
        return bool(self.ecr_account)


def _split_name(rest: str) -> tuple[str, str, str]:
    """``repo[:tag][@digest]`` -> (repo, tag, digest); tag ``latest`` when neither is given."""
    repo, _, digest = rest.partition("@")
    tag = ""
    last = repo.rsplit("/", 1)[-1]
    if ":" in last:
        repo, tag = repo.rsplit(":", 1)
    if not digest and not tag:
        tag = "latest"
    return repo, ("" if digest else tag), digest


def parse_image(image: str) -> ImageRef:
    """Docker's rules: the first part is a registry when it has a dot or a port or is localhost;
    otherwise Docker Hub (``library/`` for one-part names). Raises :class:`Ng` when empty."""
    if not image:
        raise Ng("image is not defined")
    m = _ECR.match(image)
    if m:
        repo, tag, digest = _split_name(m.group(3))
        host = image.split("/", 1)[0]
        return ImageRef(host, repo, tag, digest, ecr_account=m.group(1), ecr_region=m.group(2))
    first, sep, rest = image.partition("/")
    if sep and ("." in first or ":" in first or first == "localhost"):
        registry, name = first, rest
    else:
        registry, name = "docker.io", image
    repo, tag, digest = _split_name(name)
    if registry in ("docker.io", "index.docker.io"):
        registry = "registry-1.docker.io"
        if "/" not in repo:
            repo = f"library/{repo}"
    return ImageRef(registry, repo, tag, digest)


def verify_image(ctx: VerifyContext, image: str) -> str | None:
    ref = parse_image(image)
    if ref.is_ecr:
        return _ecr(ctx, ref)
    return registry_lookup(ref)


def _ecr(ctx: VerifyContext, ref: ImageRef) -> str | None:
    ecr = ctx.exec_aws.client("ecr", ref.ecr_region)
    image_id = {"imageDigest": ref.digest} if ref.digest else {"imageTag": ref.tag}
    where = f"{ref.repository}:{ref.tag}" if ref.tag else f"{ref.repository}@{ref.digest}"
    try:
        out = call(ctx, f"BatchGetImage {where}", ecr.batch_get_image, as_execution_role=True,
                   registryId=ref.ecr_account, repositoryName=ref.repository, imageIds=[image_id],
                   acceptedMediaTypes=list(MANIFEST_TYPES))  # fmt: skip
    except AwsError as exc:
        if exc.code == "RepositoryNotFoundException":
            raise Ng(
                f"ECR repository {ref.repository} does not exist in {ref.ecr_account} {ref.ecr_region}"
            ) from exc
        raise Ng(str(exc)) from exc
    images = out.get("images") or []
    if images:
        from ecspresso.verify.platform import platform_problem, task_platform

        platform = task_platform(ctx.task_definition, ctx.service_definition)
        image = images[0]
        problem = platform_problem(
            str(image.get("imageManifest") or ""), str(image.get("imageManifestMediaType") or ""), platform
        )
        if problem:
            raise Ng(f"image {where} {problem}")
        return None
    reasons = "; ".join(
        f"{f.get('failureCode', '')}: {f.get('failureReason', '')}".strip(": ")
        for f in out.get("failures") or []
    )
    raise Ng(
        f"image {where} is not found in ECR ({ref.ecr_account} {ref.ecr_region})"
        + (f": {reasons}" if reasons else "")
    )


def _is_loopback(registry: str) -> bool:
    host = urllib.parse.urlsplit(f"//{registry}").hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def registry_lookup(ref: ImageRef, *, timeout: float | None = None) -> str | None:
    """Ask the registry whether ``ref`` exists (see the module docstring for the outcomes)."""
    timeout = REGISTRY_TIMEOUT if timeout is None else timeout
    scheme = "http" if _is_loopback(ref.registry) else "https"
    url = f"{scheme}://{ref.registry}/v2/{ref.repository}/manifests/{ref.reference}"
    shown = (
        f"{ref.registry}/{ref.repository}:{ref.tag}"
        if ref.tag
        else f"{ref.registry}/{ref.repository}@{ref.digest}"
    )
    try:
        status, challenge = _head(url, None, timeout)
        if status == 401 and challenge.lower().startswith("bearer "):
            token = _anonymous_token(challenge, ref.repository, timeout)
            if token:
                status, _ = _head(url, token, timeout)
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        raise Warn(f"cannot verify: registry {ref.registry} is unreachable ({reason})") from exc
    if 200 <= status < 300:
        return None
    if status == 404:
        raise Ng(f"image {shown} is not found in the registry")
    if status == 429:
        raise Skip(f"registry {ref.registry} rate-limits anonymous requests; {shown} not checked")
    if status in (401, 403):
        raise Warn(f"cannot verify: registry {ref.registry} needs credentials for {ref.repository}")
    raise Warn(f"cannot verify: registry {ref.registry} answered HTTP {status} for {shown}")


def _head(url: str, token: str | None, timeout: float) -> tuple[int, str]:
    headers = {"Accept": ", ".join(MANIFEST_TYPES), "User-Agent": "ecspresso-py verify"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(url, method="HEAD", headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as resp:  # http(s) only
            return int(resp.status), ""
    except urllib.error.HTTPError as exc:
        return int(exc.code), str(exc.headers.get("WWW-Authenticate", "") if exc.headers else "")


def parse_challenge(challenge: str) -> dict[str, str]:
    """``Bearer realm="…",service="…",scope="…"`` -> its parameters (pure)."""
    return {k.lower(): v for k, v in re.findall(r'(\w+)="([^"]*)"', challenge)}


def _anonymous_token(challenge: str, repository: str, timeout: float) -> str:
    params = parse_challenge(challenge)
    realm = params.get("realm", "")
    if not realm.startswith(("https://", "http://")):
        return ""
    query = {"scope": params.get("scope") or f"repository:{repository}:pull"}
    if params.get("service"):
        query["service"] = params["service"]
    url = f"{realm}?{urllib.parse.urlencode(query)}"
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:  # the registry's realm
            doc: Any = json.loads(resp.read(1 << 20).decode("utf-8", "replace"))
    except urllib.error.HTTPError:
        return ""
    if not isinstance(doc, dict):
        return ""
    return str(doc.get("token") or doc.get("access_token") or "")


def check_image(ctx: VerifyContext, container: dict[str, Any]) -> None:
    image = str(container.get("image") or "")
    ctx.verifier.check(f"Image[{image}]", lambda: verify_image(ctx, image), key=("image", image))
