#!/usr/bin/env python3
"""Keep only the botocore service models ecspresso-py calls; run by the Dockerfile's build stage.

    /opt/venv/bin/python /deps/prune-botocore.py            prune the running interpreter's site-packages
    python scripts/prune-botocore.py --site DIR              prune DIR instead (tests)

botocore ships the model of every AWS service (~440 of them, ~21 MB of data); the product calls a
dozen. The list is ``ecspresso.aws_services.KEEP`` (tests/test_image_models.py derives it from the
code and from botocore's credential providers and fails when it falls short). This script:

- deletes ``botocore/data/<service>`` for every service not in KEEP; the top-level files
  (endpoints.json, partitions.json, _retry.json, sdk-default-configuration.json) all stay;
- deletes ``examples-1.json`` of the kept services (documentation only, never loaded by a client)
  and nothing else: afterwards each kept service must still have its model and endpoint rule set;
- deletes ``boto3/data``: boto3's resource models (``boto3.resource``), which the product never uses;
- fails when a kept service is not in botocore/data (a typo, or a service botocore renamed);
- then creates a client of every kept service with boto3, from the pruned tree, without a network
  call, so a model the clients need but this script removed fails the build, not a deploy.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import sysconfig
from pathlib import Path


def _remove(path: Path) -> int:
    """Delete a file, symlink or tree; the bytes it held (symlinks count 0)."""
    if path.is_symlink() or path.is_file():
        size = 0 if path.is_symlink() else path.stat().st_size
        path.unlink()
        return size
    size = sum(p.stat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink())
    shutil.rmtree(path)
    return size


def prune(site: Path, keep: frozenset[str]) -> tuple[list[str], int]:
    """Prune ``site`` (a site-packages directory) to ``keep``: (removed services, bytes freed)."""
    data = site / "botocore" / "data"
    if not data.is_dir():
        raise SystemExit(f"prune-botocore: {data} is not a directory")
    services = {p.name for p in data.iterdir() if p.is_dir()}
    missing = sorted(keep - services)
    if missing:
        raise SystemExit(
            f"prune-botocore: ecspresso.aws_services keeps {', '.join(missing)}, which botocore "
            f"does not have in {data}: a typo, or a service botocore renamed"
        )
    removed = sorted(services - keep)
    freed = sum(_remove(data / name) for name in removed)
    freed += sum(_remove(p) for p in sorted(data.glob("*/*/examples-1.json")))
    boto3_data = site / "boto3" / "data"
    if boto3_data.exists():
        freed += _remove(boto3_data)
    # a client is created even without its endpoint rule set (botocore falls back to the legacy
    # endpoints.json routing, silently), so check the files rather than only the clients
    for service in sorted(keep):
        for needed in ("service-2.json", "endpoint-rule-set-1.json"):
            if not list(data.glob(f"{service}/*/{needed}*")):
                raise SystemExit(f"prune-botocore: {service} has no {needed} left in {data}")
    return removed, freed


def check_clients(site: Path, keep: frozenset[str]) -> None:
    """Create a client of every kept service from the pruned tree (no AWS call is made)."""
    import boto3
    import botocore

    for module in (boto3, botocore):
        where = Path(module.__file__ or "").parent
        if where.parent.resolve() != site.resolve():
            raise SystemExit(f"prune-botocore: {module.__name__} is imported from {where}, not from {site}")
    session = boto3.Session(
        aws_access_key_id="AKIDPRUNECHECK", aws_secret_access_key="x", region_name="us-east-1"
    )
    for service in sorted(keep):
        session.client(service)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--site", type=Path, default=Path(sysconfig.get_path("purelib")))
    args = parser.parse_args(argv)
    from ecspresso.aws_services import KEEP

    removed, freed = prune(args.site, KEEP)
    check_clients(args.site, KEEP)
    print(
        f"prune-botocore: kept {len(KEEP)} service models ({', '.join(sorted(KEEP))}); "
        f"removed {len(removed)}, {freed / 1e6:.1f} MB",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
