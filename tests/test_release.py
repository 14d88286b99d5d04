"""The release path: the digest pin of action.yml and the release commit, as release.yml runs them.

scripts/pin-action-image.sh and scripts/release-branch.sh are the release workflow's own code
(release.yml calls them; a test below checks that it does, and that it does not rewrite action.yml
itself). The fast tests run them on copies of action.yml and in scratch git repositories. The whole
path (build, push to a registry on 127.0.0.1, digest read back, pin, pull by digest) is
scripts/release-rehearsal.sh, run here when asked:

    ECSPRESSO_RELEASE_REHEARSAL=1 .venv/bin/pytest tests/test_release.py          # builds the image
    ECSPRESSO_RELEASE_REHEARSAL=no-build .venv/bin/pytest tests/test_release.py   # the image built before
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from ecspresso import __version__

ROOT = Path(__file__).resolve().parent.parent
PIN = ROOT / "scripts" / "pin-action-image.sh"
DIGEST = "sha256:" + "0123456789abcdef" * 4
REF = f"ghcr.io/org/ecspresso-py@{DIGEST}"
MAIN_LINE = "  image: Dockerfile\n"


def pin(ref: str, file: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "GITHUB_ACTIONS"}
    return subprocess.run(["bash", str(PIN), ref, str(file)], capture_output=True, text=True, env=env)


@pytest.fixture
def action(tmp_path: Path) -> Path:
    dest = tmp_path / "action.yml"
    shutil.copy(ROOT / "action.yml", dest)
    return dest


def test_the_pin_rewrites_main_s_image_line_and_nothing_else(action: Path) -> None:
    before = action.read_text()
    assert before.count(MAIN_LINE) == 1

    res = pin(REF, action)

    assert res.returncode == 0, res.stderr
    after = action.read_text()
    assert after == before.replace(MAIN_LINE, f"  image: docker://{REF}\n")
    assert yaml.safe_load(after)["runs"] == {"using": "docker", "image": f"docker://{REF}", "args": []}


@pytest.mark.parametrize(
    "ref",
    [
        "127.0.0.1:5000/org/ecspresso-py@" + DIGEST,
        "ghcr.io/my-org/ecspresso_py.x@" + DIGEST,
    ],
)
def test_registry_hosts_with_ports_and_punctuated_names_are_pins(action: Path, ref: str) -> None:
    assert pin(ref, action).returncode == 0
    assert f"  image: docker://{ref}\n" in action.read_text()


@pytest.mark.parametrize(
    "ref",
    [
        "ghcr.io/org/ecspresso-py:v1.2.3",  # a tag can move
        f"ghcr.io/org/ecspresso-py:v1.2.3@{DIGEST}",  # podman, skopeo and buildah refuse tag + digest
        f"ghcr.io/org/ecspresso-py@{DIGEST[:-1]}",  # short digest
        f"ghcr.io/org/ecspresso-py@{DIGEST.upper()}",
        f"ghcr.io/Org/ecspresso-py@{DIGEST}",  # ghcr.io names are lower case
        f"docker://ghcr.io/org/ecspresso-py@{DIGEST}",  # the script adds docker://
        f"ecspresso-py@{DIGEST}",  # no registry: Docker Hub, not the release's
        f"ghcr.io/org/ecspresso-py@{DIGEST}|x",
        f"ghcr.io/org/ecspresso-py@{DIGEST}\n  image: Dockerfile",
        "",
    ],
)
def test_anything_but_a_digest_pin_is_refused_and_the_file_left_alone(action: Path, ref: str) -> None:
    before = action.read_text()
    res = pin(ref, action)
    assert res.returncode == 2
    assert "not an image pinned by digest" in res.stderr
    assert action.read_text() == before


@pytest.mark.parametrize("lines", [0, 2], ids=["already-pinned", "two-image-lines"])
def test_a_file_that_is_not_main_s_action_yml_is_refused(action: Path, lines: int) -> None:
    text = action.read_text().replace(MAIN_LINE, "")
    action.write_text(text + MAIN_LINE * lines)
    res = pin(REF, action)
    assert res.returncode == 1
    assert f"has {lines} '  image: Dockerfile' lines, not 1" in res.stderr
    assert action.read_text() == text + MAIN_LINE * lines


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True, check=True).stdout


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A repository whose HEAD is main's action.yml and the release scripts, like a tag's checkout."""
    repo = tmp_path / "repo"
    (repo / "scripts").mkdir(parents=True)
    shutil.copy(ROOT / "action.yml", repo)
    for name in ("pin-action-image.sh", "release-branch.sh"):
        shutil.copy(ROOT / "scripts" / name, repo / "scripts")
    git(repo, "init", "-q", "-b", "main")
    git(repo, "config", "user.name", "test")
    git(repo, "config", "user.email", "test@localhost")
    git(repo, "add", ".")
    git(repo, "commit", "-qm", "main")
    git(repo, "tag", "v1.2.3")
    return repo


def release_branch(repo: Path, version: str, ref: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", "scripts/release-branch.sh", version, ref], cwd=repo, capture_output=True, text=True
    )


def test_the_release_commit_pins_the_image_on_releases_vN_and_moves_both_tags(repo: Path) -> None:
    main = git(repo, "rev-parse", "HEAD").strip()

    res = release_branch(repo, "v1.2.3", REF)

    assert res.returncode == 0, res.stderr
    assert res.stdout == "releases/v1\n"
    head = git(repo, "rev-parse", "HEAD").strip()
    assert git(repo, "rev-parse", "HEAD~1").strip() == main
    assert git(repo, "branch", "--show-current") == "releases/v1\n"
    for tag in ("v1.2.3", "v1"):
        assert git(repo, "rev-parse", f"{tag}^{{commit}}").strip() == head
    assert git(repo, "diff", "--numstat", main, "v1") == "1\t1\taction.yml\n"
    assert f"  image: docker://{REF}\n" in git(repo, "show", "v1:action.yml")
    assert MAIN_LINE in git(repo, "show", f"{main}:action.yml")


@pytest.mark.parametrize("version", ["v1.2", "1.2.3", "v1.2.3-rc1", "main"])
def test_the_release_commit_needs_a_vX_Y_Z_version(repo: Path, version: str) -> None:
    main = git(repo, "rev-parse", "HEAD").strip()
    res = release_branch(repo, version, REF)
    assert res.returncode == 2
    assert git(repo, "rev-parse", "HEAD").strip() == main
    assert git(repo, "status", "--porcelain") == ""


def test_a_refused_pin_makes_no_release_commit(repo: Path) -> None:
    main = git(repo, "rev-parse", "HEAD").strip()
    res = release_branch(repo, "v1.2.3", "ghcr.io/org/ecspresso-py:v1.2.3")
    assert res.returncode == 2
    assert git(repo, "rev-parse", "HEAD").strip() == main
    assert git(repo, "rev-parse", "v1.2.3^{commit}").strip() == main
    assert git(repo, "branch", "--list", "releases/*") == ""


def test_release_yml_runs_these_scripts_and_pins_by_digest_alone() -> None:
    workflow = yaml.safe_load((ROOT / ".github" / "workflows" / "release.yml").read_text())
    steps = workflow["jobs"]["release-branch"]["steps"]
    [step] = [s for s in steps if "release-branch.sh" in s.get("run", "")]
    assert 'bash scripts/release-branch.sh "$GITHUB_REF_NAME" "$REF"' in step["run"]
    assert step["env"]["REF"] == "${{ needs.image.outputs.image }}@${{ needs.image.outputs.digest }}"
    # the rewrite lives in the scripts only
    runs = [s.get("run", "") for job in workflow["jobs"].values() for s in job["steps"]]
    assert not [r for r in runs if "action.yml" in r or "sed " in r or "git tag" in r]


@pytest.mark.skipif(
    os.environ.get("ECSPRESSO_RELEASE_REHEARSAL") not in ("1", "no-build"),
    reason="builds and pushes the image (root, buildah): set ECSPRESSO_RELEASE_REHEARSAL=1 or no-build",
)
def test_release_rehearsal_against_a_registry_on_127_0_0_1() -> None:
    args = ["--no-build"] if os.environ["ECSPRESSO_RELEASE_REHEARSAL"] == "no-build" else []
    res = subprocess.run(
        ["bash", str(ROOT / "scripts" / "release-rehearsal.sh"), *args],
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert res.returncode == 0, res.stderr[-4000:]
    assert "release rehearsal:" in res.stderr and "0 check(s) failed" in res.stderr
    assert res.stderr.count("    ok: ") >= 12
    assert "FAILED" not in res.stderr


@pytest.mark.parametrize(
    ("tag", "ok"),
    [
        (f"v{__version__}", True),
        ("v99.0.0", False),
        (f"{__version__}", False),
        (f"v{__version__}-rc1", False),
    ],
)
def test_a_release_tag_must_name_the_packages_version(tag: str, ok: bool) -> None:
    """The image labelled vX.Y.Z must print vX.Y.Z; release.yml refuses a tag the package does not report."""
    res = subprocess.run(["bash", str(ROOT / "scripts" / "check-release-tag.sh"), tag], capture_output=True,
                         text=True, check=False)  # fmt: skip
    assert (res.returncode == 0) is ok, res.stdout + res.stderr
    if not ok:
        assert res.stdout.startswith("::error::tag ") and tag in res.stdout


def test_release_yml_checks_the_tag_first() -> None:
    workflow = yaml.safe_load((ROOT / ".github" / "workflows" / "release.yml").read_text())
    first = workflow["jobs"]["image"]["steps"][1]
    assert 'bash scripts/check-release-tag.sh "$GITHUB_REF_NAME"' in first["run"]
