"""The image keeps only the botocore models the product calls (issue #12 item 6); none it needs is missing.

The Dockerfile's build stage runs scripts/prune-botocore.py, which keeps ecspresso.aws_services.KEEP.
These tests derive what must be kept without trusting that list:

- the services the code calls, by an AST scan of src/ecspresso (``app.client("ecs")``,
  ``ctx.aws.client(...)``, ``session.client(...)``, ``aws_call(ctx, "ssm", ...)``,
  ``Loader().load_service_model("ecs", ...)``); a service name that is not a string literal fails
  the scan unless it is the parameter of a pass-through function (``AwsContext.client(service)``);
- the services botocore's own credential providers create clients for (assume-role and web
  identity: sts; SSO: sso, sso-oidc; ``aws login``: signin), by the same scan of botocore's source;

and then prune a copy of the installed botocore/boto3 with the real script and create a client of
every derived service from it, as the image would.
"""

from __future__ import annotations

import ast
import importlib.util
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import botocore
import botocore.session
import pytest

from ecspresso import aws_services
from test_action_static import dockerfile_instructions

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src" / "ecspresso"
# The sandbox is the moto-backed stand-in for AWS used by tests and demos: it needs moto, which the
# image does not have, so its clients are not the product's.
NOT_IN_PRODUCT = {SRC / "sandbox"}

#: call name -> index of the positional argument naming the service
CLIENT_MAKERS = {
    "client": 0,  # boto3 Session.client, AwsContext.client, App.client
    "create_client": 0,  # botocore Session.create_client
    "load_service_model": 0,  # botocore Loader
    "aws_call": 1,  # plugins: aws_call(ctx, service, operation, ...)
    "_client_creator": 0,  # botocore credential providers
    "create_nested_client": 1,  # botocore: create_nested_client(session, service, ...)
}
SERVICE_KEYWORDS = ("service", "service_name")


def _service_arg(call: ast.Call, index: int) -> ast.expr | None:
    if len(call.args) > index:
        return call.args[index]
    return next((k.value for k in call.keywords if k.arg in SERVICE_KEYWORDS), None)


def _params(func: ast.FunctionDef | ast.AsyncFunctionDef) -> set[str]:
    a = func.args
    return {p.arg for p in [*a.posonlyargs, *a.args, *a.kwonlyargs]}


class _Scan(ast.NodeVisitor):
    def __init__(self, where: str) -> None:
        self.where = where
        self.services: dict[str, list[str]] = {}
        self.unknown: list[str] = []
        self._params: list[set[str]] = [set()]

    def visit_FunctionDef(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        self._params.append(_params(node))
        self.generic_visit(node)
        self._params.pop()

    visit_AsyncFunctionDef = visit_FunctionDef

    def visit_Call(self, node: ast.Call) -> None:
        func = node.func
        name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
        if name in CLIENT_MAKERS:
            arg = _service_arg(node, CLIENT_MAKERS[name])
            at = f"{self.where}:{node.lineno}"
            if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                self.services.setdefault(arg.value, []).append(at)
            elif isinstance(arg, ast.Name) and arg.id in self._params[-1]:
                pass  # pass-through: the caller names the service, and the caller is scanned too
            elif arg is not None:
                self.unknown.append(f"{at}: {name}({ast.unparse(arg)}, ...)")
        self.generic_visit(node)


def scan(files: Iterator[Path], root: Path) -> tuple[dict[str, list[str]], list[str]]:
    """{service: [file:line, ...]} of the client-making calls in ``files``, and the calls whose
    service cannot be told from the source."""
    services: dict[str, list[str]] = {}
    unknown: list[str] = []
    for path in files:
        visitor = _Scan(str(path.relative_to(root)))
        visitor.visit(ast.parse(path.read_text(encoding="utf-8"), str(path)))
        for service, where in visitor.services.items():
            services.setdefault(service, []).extend(where)
        unknown += visitor.unknown
    return services, unknown


def product_files() -> Iterator[Path]:
    for path in sorted(SRC.rglob("*.py")):
        if not any(path.is_relative_to(skip) for skip in NOT_IN_PRODUCT):
            yield path


def called_services() -> dict[str, list[str]]:
    services, unknown = scan(product_files(), ROOT)
    assert not unknown, (
        "cannot tell which AWS service these calls use, so the image cannot keep its model; "
        "name the service with a string literal:\n" + "\n".join(unknown)
    )
    return services


BOTOCORE = Path(botocore.__file__).parent


def credential_services() -> dict[str, list[str]]:
    files = (p for p in sorted(BOTOCORE.rglob("*.py")) if "docs" not in p.relative_to(BOTOCORE).parts)
    services, _ = scan(files, BOTOCORE.parent)
    return services


def test_the_scan_finds_the_calls_it_is_meant_to() -> None:
    """The scanner itself: literal names found, pass-through parameters accepted, anything else refused."""
    code = (
        "def f(app, ctx, service):\n"
        "    app.client('ecs').describe_services()\n"
        "    aws_call(ctx, 'ssm', 'get_parameter', 'x', Name='n')\n"
        "    Loader().load_service_model('codedeploy', 'service-2')\n"
        "    session.client(service_name='logs')\n"
        "    return session.client(service)\n"
        "def g(app, name):\n"
        "    svc = 'elbv2'\n"
        "    return app.client(svc)\n"
    )
    visitor = _Scan("x.py")
    visitor.visit(ast.parse(code))
    assert set(visitor.services) == {"ecs", "ssm", "codedeploy", "logs"}
    assert visitor.unknown == ["x.py:9: client(svc, ...)"]


def test_every_service_the_code_calls_is_kept() -> None:
    called = called_services()
    # the scan sees the calls the design lists (aws.py, plugins, CodeDeploy, auto scaling, in-use checks)
    assert {"ecs", "sts", "ssm", "secretsmanager", "s3", "cloudformation", "codedeploy"} <= set(called)
    missing = {s: called[s] for s in sorted(set(called) - aws_services.KEEP)}
    assert not missing, (
        f"the code calls {', '.join(missing)} but the image prunes its botocore model: add it to "
        f"ecspresso.aws_services.CALLED ({missing})"
    )
    # and the list does not carry services nothing calls any more (each costs image size)
    assert set(called) == aws_services.CALLED, sorted(aws_services.CALLED - set(called))


def test_botocore_credential_providers_keep_their_models() -> None:
    """A profile with role_arn or web identity needs sts; an SSO profile sso and sso-oidc; ``aws
    login`` signin. Derived from the installed botocore, so an upgrade adding a provider goes red."""
    needed = credential_services()
    assert "sts" in needed and "sso" in needed, needed  # the scan still finds the providers
    missing = sorted(set(needed) - aws_services.KEEP)
    assert not missing, f"botocore creates clients for {missing} ({needed}): add to aws_services.CREDENTIALS"
    assert set(needed) == aws_services.CREDENTIALS, needed


def test_kept_names_are_botocore_services() -> None:
    available = set(botocore.session.get_session().get_available_services())
    assert available >= aws_services.KEEP, sorted(aws_services.KEEP - available)


def test_dockerfile_prunes_with_the_script_after_installing_the_project() -> None:
    instructions = dockerfile_instructions()
    assert ("COPY", "scripts/prune-botocore.py /deps/") in instructions
    runs = [a for w, a in instructions if w == "RUN"]
    step = next(r for r in runs if "/deps/prune-botocore.py" in r)
    # the script reads the list from the installed package, and compileall comes after the pruning
    assert step.index("pip install --no-deps /src") < step.index(
        "/opt/venv/bin/python /deps/prune-botocore.py"
    )
    assert step.index("/deps/prune-botocore.py") < step.index("compileall")


# --- the real script on a copy of the installed botocore and boto3 ---------------------------------


def _load_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("prune_botocore", ROOT / "scripts" / "prune-botocore.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _mirror(package: Path, dest: Path) -> None:
    """``dest`` like ``package``: real directories for the package and its data/ and data/*/*,
    symlinks for everything else (a cheap copy that pruning can delete from)."""
    dest.mkdir()
    for entry in package.iterdir():
        if entry.name == "data" and entry.is_dir():
            (dest / "data").mkdir()
            for item in entry.iterdir():
                if item.is_dir():
                    for version in item.iterdir():
                        (dest / "data" / item.name / version.name).mkdir(parents=True)
                        for f in version.iterdir():
                            (dest / "data" / item.name / version.name / f.name).symlink_to(f)
                else:
                    (dest / "data" / item.name).symlink_to(item)
        elif entry.name != "__pycache__":
            (dest / entry.name).symlink_to(entry)


@pytest.fixture(scope="module")
def pruned_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    import boto3

    site = tmp_path_factory.mktemp("site")
    _mirror(BOTOCORE, site / "botocore")
    _mirror(Path(boto3.__file__).parent, site / "boto3")
    proc = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "prune-botocore.py"), "--site", str(site)],
        env={**os.environ, "PYTHONPATH": os.pathsep.join([str(site), str(ROOT / "src")])},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert "prune-botocore: kept" in proc.stderr
    return site


def _clients(site: Path, services: list[str]) -> subprocess.CompletedProcess[str]:
    code = (
        "import sys\n"
        "sys.path.insert(0, sys.argv[1])\n"
        "import boto3, botocore\n"
        "assert botocore.__file__.startswith(sys.argv[1]), botocore.__file__\n"
        "s = boto3.Session(aws_access_key_id='a', aws_secret_access_key='b', region_name='eu-west-1')\n"
        "bad = []\n"
        "for name in sys.argv[2:]:\n"
        "    try:\n"
        "        client = s.client(name)\n"
        "    except Exception as exc:\n"
        "        bad.append(f'{name}: {type(exc).__name__}: {exc}')\n"
        "        continue\n"
        "    if client._ruleset_resolver is None:  # botocore fell back to legacy endpoints\n"
        "        bad.append(f'{name}: no endpoint rule set')\n"
        "print('\\n'.join(bad))\n"
        "sys.exit(1 if bad else 0)\n"
    )
    return subprocess.run(
        [sys.executable, "-I", "-c", code, str(site), *services],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_pruned_botocore_makes_a_client_of_every_service_needed(pruned_site: Path) -> None:
    kept = sorted(p.name for p in (pruned_site / "botocore" / "data").iterdir() if p.is_dir())
    assert set(kept) == aws_services.KEEP
    assert not (pruned_site / "boto3" / "data").exists()
    assert not list((pruned_site / "botocore" / "data").glob("*/*/examples-1.json"))
    needed = sorted(set(called_services()) | set(credential_services()))
    proc = _clients(pruned_site, needed)
    assert proc.returncode == 0, f"clients the image could not create:\n{proc.stdout}{proc.stderr}"
    # every file of a needed model is still there, but for the documentation's examples
    for service in needed:
        before = {p.relative_to(BOTOCORE / "data") for p in (BOTOCORE / "data" / service).rglob("*")}
        after = {
            p.relative_to(pruned_site / "botocore" / "data")
            for p in (pruned_site / "botocore" / "data" / service).rglob("*")
        }
        assert after == {p for p in before if p.name != "examples-1.json"}, (service, before - after)
    # and the pruning did prune: a service nobody calls is gone
    proc = _clients(pruned_site, ["ec2"])
    assert proc.returncode == 1 and "UnknownServiceError" in proc.stdout, proc.stdout + proc.stderr


def test_prune_refuses_a_kept_name_botocore_does_not_have_or_a_kept_model_without_its_files(
    tmp_path: Path,
) -> None:
    data = tmp_path / "botocore" / "data"
    for name in ("ecs", "ec2", "logs"):
        (data / name / "2014-11-13").mkdir(parents=True)
        for f in ("service-2.json.gz", "endpoint-rule-set-1.json.gz", "examples-1.json"):
            (data / name / "2014-11-13" / f).write_text("{}")
    (data / "endpoints.json").write_text("{}")
    script = _load_script()
    with pytest.raises(SystemExit, match="ecss"):
        script.prune(tmp_path, frozenset({"ecs", "ecss"}))
    (data / "logs" / "2014-11-13" / "endpoint-rule-set-1.json.gz").unlink()
    with pytest.raises(SystemExit, match=r"logs has no endpoint-rule-set-1\.json"):
        script.prune(tmp_path, frozenset({"ecs", "logs"}))
    removed, _ = script.prune(tmp_path, frozenset({"ecs"}))
    assert removed == ["logs"]  # ec2 went in the run that failed above
    assert sorted(p.name for p in data.iterdir()) == ["ecs", "endpoints.json"]
    assert sorted(p.name for p in (data / "ecs" / "2014-11-13").iterdir()) == [
        "endpoint-rule-set-1.json.gz",
        "service-2.json.gz",
    ]
