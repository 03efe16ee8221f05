"""Releases: the version a build gets from a tag, the release plan (which tags move), the notes
from the changelog towncrier keeps, the checks on the built distributions, and the release
workflow itself on act, in its dry-run mode (nothing published, no tag moved)."""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

from act_harness import Consumer, snapshot, workflow_dispatch_event
from conftest import ROOT

spec = importlib.util.spec_from_file_location("release", ROOT / "scripts" / "release.py")
release = importlib.util.module_from_spec(spec)
spec.loader.exec_module(release)

BIN = Path(sys.executable).parent


def git(repo: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-c", "user.name=Octo Cat", "-c", "user.email=octocat@example.com", *args],
        cwd=repo, check=True, capture_output=True, text=True,
    ).stdout.strip()


def toolkit_repository(target: Path) -> Path:
    """A git repository holding this checkout's files (tracked and new, as git would commit them)."""
    snapshot(ROOT, target)
    git(target, "init", "-q", "-b", "main")
    git(target, "add", "-A")
    git(target, "commit", "-q", "-m", "toolkit")
    return target


def build(source: Path, out: Path) -> list[Path]:
    """The wheel and sdist, built as the release workflow builds them (without its download of the
    build backend: the dev extra has setuptools and setuptools-scm)."""
    subprocess.run(
        [sys.executable, "-m", "uv", "build", "--quiet", "--no-build-isolation", "--python", sys.executable,
         "--out-dir", str(out), str(source)],
        check=True, capture_output=True, text=True,
    )
    (out / ".gitignore").unlink()  # uv's own; `python -m build`, which the workflow runs, writes none
    return sorted(out.iterdir())


# -- the plan -----------------------------------------------------------------------------------


def test_the_newest_release_of_a_major_moves_its_tag():
    decided = release.plan("v1.4.0", ["v1", "v1.2.0", "v1.3.1", "v0.9.0", "v2.0.0"])
    assert decided | {"why": ""} == {
        "version": "1.4.0", "tag": "v1.4.0", "prerelease": "false", "major-tag": "v1", "move-major": "true", "why": "",
    }


def test_a_fix_to_an_older_minor_leaves_the_major_tag_on_the_newer_release():
    decided = release.plan("v1.2.5", ["v1", "v1.2.4", "v1.3.0"])
    assert (decided["move-major"], decided["why"]) == ("false", "v1.3.0 is newer")


def test_a_pre_release_never_moves_the_major_tag():
    decided = release.plan("v2.0.0rc1", ["v1", "v1.9.0"])
    assert (decided["version"], decided["prerelease"], decided["major-tag"], decided["move-major"]) == (
        "2.0.0rc1", "true", "v2", "false",
    )


@pytest.mark.parametrize("tag", ["1.4.0", "v1.4", "v1", "release-1.4.0", "v1.4.0-beta", "refs/heads/main (not a tag)"])
def test_a_tag_that_is_not_a_release_version_is_refused_with_exit_2(tag, capsys):
    assert release.main(["plan", "--tag", tag]) == 2
    assert capsys.readouterr().err.startswith(f"error: tag {tag!r} is not a release version: tag vMAJOR.MINOR.PATCH")


# -- the changelog, the version and the distributions -------------------------------------------------


def test_towncrier_writes_the_section_that_becomes_the_release_notes(tmp_path):
    repo = toolkit_repository(tmp_path / "toolkit")
    for fragment in (repo / "changelog.d").glob("*.*.md"):  # this checkout's own, not yet released
        fragment.unlink()
    (repo / "changelog.d" / "+pinning.doc.md").write_text("The README says how to pin the toolkit.\n")
    (repo / "changelog.d" / "+gates.feature.md").write_text("Quality gates at build time.\n")
    subprocess.run([BIN / "towncrier", "build", "--version", "1.4.0", "--date", "2026-12-06", "--yes"],
                   cwd=repo, check=True, capture_output=True)
    changelog = (repo / "CHANGELOG.md").read_text()
    assert "## 1.4.0 (2026-12-06)" in changelog
    assert not (repo / "changelog.d" / "+gates.feature.md").exists()  # gathered, then removed
    assert release.notes(changelog, "1.4.0") == (
        "### Features\n\n- Quality gates at build time.\n\n### Improved Documentation\n\n"
        "- The README says how to pin the toolkit.\n"
    )
    with pytest.raises(release.ReleaseError, match=r"no section for 1\.5\.0: run `towncrier build --version 1\.5\.0`"):
        release.notes(changelog, "1.5.0")


def test_a_build_takes_its_version_from_the_tag_and_carries_what_the_toolkit_needs(tmp_path):
    repo = toolkit_repository(tmp_path / "toolkit")
    git(repo, "tag", "v1.4.0")
    built = build(repo, tmp_path / "dist")
    assert [path.name for path in built] == [
        "sagemaker_mlops_actions-1.4.0-py3-none-any.whl", "sagemaker_mlops_actions-1.4.0.tar.gz",
    ]
    assert release.check_dist(tmp_path / "dist", "1.4.0") == []
    with zipfile.ZipFile(built[0]) as wheel:
        assert "__version__ = version = '1.4.0'" in wheel.read("smops/_version.py").decode()

    # A commit after the tag is a development version of the next patch, never the release's.
    (repo / "NOTES").write_text("after the release\n")
    git(repo, "add", "NOTES")
    git(repo, "commit", "-q", "-m", "after")
    after = build(repo, tmp_path / "dist-after")
    assert after[0].name.startswith("sagemaker_mlops_actions-1.4.1.dev1+g")
    assert release.check_dist(tmp_path / "dist-after", "1.4.0") == [
        "sagemaker_mlops_actions-1.4.0-py3-none-any.whl is missing",
        "sagemaker_mlops_actions-1.4.0.tar.gz is missing",
        f"{tmp_path / 'dist-after'} also holds {', '.join(path.name for path in after)}: only this release's files are published",
    ]


def test_githubs_tarball_of_a_tag_builds_that_version_without_git(tmp_path):
    """What a runner downloads for `uses: ORG/sagemaker-mlops@v1.4.0` is `git archive` of the tag:
    no .git, but .git_archival.txt filled in (export-subst)."""
    repo = toolkit_repository(tmp_path / "toolkit")
    git(repo, "tag", "v1.4.0")
    unpacked = tmp_path / "tarball"
    unpacked.mkdir()
    archive = tmp_path / "v1.4.0.tar"
    git(repo, "archive", "--format=tar", "-o", str(archive), "v1.4.0")
    with tarfile.open(archive) as tar:
        tar.extractall(unpacked, filter="data")
    assert "describe-name: v1.4.0" in (unpacked / ".git_archival.txt").read_text()
    assert build(unpacked, tmp_path / "dist")[0].name == "sagemaker_mlops_actions-1.4.0-py3-none-any.whl"


def test_a_distribution_without_its_files_or_with_another_version_fails_the_check(tmp_path):
    repo = toolkit_repository(tmp_path / "toolkit")
    git(repo, "tag", "v1.4.0")
    shutil.rmtree(repo / "src" / "smops" / "templates")  # package data gone from the build
    (repo / "LICENSE").write_text("")
    git(repo, "commit", "-q", "-am", "lose the templates")
    git(repo, "tag", "v1.4.1")
    build(repo, tmp_path / "dist")
    assert release.check_dist(tmp_path / "dist", "1.4.1") == ["the wheel lacks smops/templates/pipeline.py"]
    assert release.main(["check-dist", str(tmp_path / "dist"), "--version", "1.4.1"]) == 1


# -- the hooks and Dependabot ---------------------------------------------------------------------------


def test_the_pre_commit_hook_runs_scripts_lint_and_its_config_is_valid():
    import yaml

    subprocess.run([BIN / "pre-commit", "validate-config", str(ROOT / ".pre-commit-config.yaml")], check=True)
    hooks = [hook for repo in yaml.safe_load((ROOT / ".pre-commit-config.yaml").read_text())["repos"] for hook in repo["hooks"]]
    assert [(hook["entry"], hook.get("pass_filenames")) for hook in hooks if hook["id"] == "lint"] == [("scripts/lint", False)]


def test_dependabot_watches_every_folder_with_actions_and_the_python_dependencies():
    import yaml

    updates = yaml.safe_load((ROOT / ".github" / "dependabot.yml").read_text())["updates"]
    watched = {update["package-ecosystem"]: set(update.get("directories") or [update.get("directory")]) for update in updates}
    action_folders = {"/"} | {f"/{path.parent.relative_to(ROOT)}" for path in ROOT.glob("actions/*/action.yml")}
    assert watched["github-actions"] == {"/", "/actions/*"}
    assert all(folder == "/" or folder.startswith("/actions/") for folder in action_folders)
    assert watched["pip"] == {"/"}


# -- the workflow on act ------------------------------------------------------------------------------

PASSING_CI = """\
name: ci
on:
  workflow_call:
permissions: {}
jobs:
  test:
    runs-on: ubuntu-latest
    permissions:
      contents: read
    steps:
      - run: echo "$CI_OUTCOME" && [ "$CI_OUTCOME" = passed ]
        env:
          CI_OUTCOME: %s
"""


def release_repository(consumer: Consumer, ci_outcome: str) -> str:
    """The toolkit as a repository with two releases' history, whose CI (replaced: the real one is
    the whole test suite, which runs here already) ends with CI_OUTCOME; v1.4.0 tagged at HEAD, with
    its changelog section written by towncrier. Returns HEAD."""
    snapshot(ROOT, consumer.root)
    consumer.commit()
    consumer._git("tag", "v1.3.0")
    consumer._git("tag", "v1")
    (consumer.root / ".github" / "workflows" / "ci.yml").write_text(PASSING_CI % ci_outcome)
    consumer.write("changelog.d/+drift.feature.md", "Drift checks twenty times faster.\n")
    subprocess.run([BIN / "towncrier", "build", "--version", "1.4.0", "--yes"], cwd=consumer.root, check=True, capture_output=True)
    head = consumer.commit()
    consumer._git("tag", "v1.4.0")
    return head


@pytest.mark.slow
@pytest.mark.network  # the build job installs build and twine, and the build its backend, from PyPI
def test_a_dry_run_release_builds_checks_and_plans_but_publishes_nothing(tmp_path):
    with Consumer(tmp_path / "sagemaker-mlops", repository="ORG/sagemaker-mlops") as repo:
        head = release_repository(repo, "passed")
        event = workflow_dispatch_event(repo.repository, "release.yml", {"dry-run": "true"}, ref="refs/tags/v1.4.0")
        run = repo.run("workflow_dispatch", event, commit=False)
    assert {job: run.jobs[job].result for job in ("test", "build")} == {"test": "success", "build": "success"}, run.tail()
    assert "pypi" not in run.jobs and "github-release" not in run.jobs  # skipped: nothing published
    assert "release 1.4.0: publish sagemaker-mlops-actions 1.4.0 to PyPI, create the GitHub release v1.4.0; v1 moves to it (the newest v1 release)" in run.log
    assert "dist: the wheel and sdist of sagemaker-mlops-actions 1.4.0 are complete" in run.log
    assert "PASSED" in run.log  # twine check --strict
    summary = "".join(run.jobs["build"].summaries.values())
    assert summary.startswith("### release v1.4.0: dry run, nothing published")
    assert f"| tag | v1 → {head} (the newest v1 release) |" in summary
    assert "sagemaker_mlops_actions-1.4.0-py3-none-any.whl" in summary
    assert "- Drift checks twenty times faster." in summary


@pytest.mark.slow
def test_a_release_whose_ci_failed_builds_nothing(tmp_path):
    with Consumer(tmp_path / "sagemaker-mlops", repository="ORG/sagemaker-mlops") as repo:
        release_repository(repo, "failed")
        event = workflow_dispatch_event(repo.repository, "release.yml", {"dry-run": "true"}, ref="refs/tags/v1.4.0")
        run = repo.run("workflow_dispatch", event, commit=False)
    assert run.jobs["test"].result == "failure"
    assert "build" not in run.jobs or run.jobs["build"].result is None, run.tail()
    assert run.returncode != 0
