"""Which platform the task runs on, and whether a multi-platform image has it (pure).

The platform is known from the task definition's ``runtimePlatform`` (``cpuArchitecture`` ARM64 =>
arm64, else amd64; ``operatingSystemFamily`` LINUX or unset => linux, else windows), or is
linux/amd64 on Fargate (the task definition requires only FARGATE, or the service runs on it:
launch type, platform version, FARGATE/FARGATE_SPOT capacity provider), as ecspresso decides.
Otherwise it is not known and nothing is checked.

An image index (OCI index, Docker manifest list) lists its platforms: the task's must be there. A
single-platform manifest does not say its platform without fetching its config blob: not checked.
"""

from __future__ import annotations

import json
from typing import Any

INDEX_TYPES = (
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
)


def task_platform(
    task_definition: dict[str, Any], service_definition: dict[str, Any] | None
) -> tuple[str, str] | None:
    """(arch, os) the tasks run on, or None when it cannot be known."""
    rp = task_definition.get("runtimePlatform") or {}
    if rp:
        arch = "arm64" if str(rp.get("cpuArchitecture") or "").upper() == "ARM64" else "amd64"
        family = str(rp.get("operatingSystemFamily") or "LINUX").upper()
        return arch, "linux" if family == "LINUX" else "windows"
    if _fargate(task_definition, service_definition):
        return "amd64", "linux"
    return None


def _fargate(td: dict[str, Any], sv: dict[str, Any] | None) -> bool:
    if list(td.get("requiresCompatibilities") or []) == ["FARGATE"]:
        return True
    if not sv:
        return False
    if sv.get("platformVersion") or sv.get("launchType") == "FARGATE":
        return True
    return any(
        s.get("capacityProvider") in ("FARGATE", "FARGATE_SPOT")
        for s in sv.get("capacityProviderStrategy") or []
    )


def index_platforms(manifest: str, media_type: str = "") -> list[tuple[str, str]] | None:
    """The (arch, os) pairs of an image index; None when ``manifest`` is not an index."""
    try:
        doc = json.loads(manifest)
    except ValueError:
        return None
    if not isinstance(doc, dict):
        return None
    kind = str(doc.get("mediaType") or media_type)
    if kind not in INDEX_TYPES and not (not kind and isinstance(doc.get("manifests"), list)):
        return None
    out = []
    for m in doc.get("manifests") or []:
        p = (m.get("platform") or {}) if isinstance(m, dict) else {}
        if p.get("architecture") and p.get("os") and p.get("architecture") != "unknown":
            out.append((str(p["architecture"]), str(p["os"])))
    return out


def platform_problem(manifest: str, media_type: str, platform: tuple[str, str] | None) -> str | None:
    """Why the image cannot run on ``platform`` (an index without it), or None."""
    if platform is None:
        return None
    found = index_platforms(manifest, media_type)
    if found is None or platform in found:
        return None
    arch, os_ = platform
    listed = ", ".join(f"{o}/{a}" for a, o in found) or "none"
    return f"has no {os_}/{arch} image (the index lists {listed})"
