"""What a release does, decided before anything is published: run by .github/workflows/release.yml
(and by hand, to see a release's plan before tagging).

    release.py plan --tag v1.4.0 [--tags FILE]   the version, and which tags move
    release.py notes --version 1.4.0             the CHANGELOG.md section, the release's notes
    release.py check-dist dist --version 1.4.0   the wheel and sdist carry that version and the
                                                 files the toolkit needs at run time

The major tag (`v1`) is what consumers pin (`uses: ORG/sagemaker-mlops@v1`), so it moves only to
a final release that is the newest of its major version: a pre-release, or a fix to an older
minor (v1.2.5 after v1.3.0), leaves it where it is.

Outputs go to GITHUB_OUTPUT when set; the plan and problems to stderr. Exit 2 for a tag that is
not a release version (nothing is built), 1 for a distribution or changelog that fails a check.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import tarfile
import zipfile
from email.parser import HeaderParser
from pathlib import Path

from packaging.version import Version

ROOT = Path(__file__).resolve().parents[1]
DISTRIBUTION = "sagemaker-mlops-actions"
# What `smops init`, `setup-aws` and the actions read from the installed package, besides code.
WHEEL_FILES = (
    "smops/__init__.py",
    "smops/_version.py",
    "smops/cli/__init__.py",
    "smops/starters/build.yml",
    "smops/starters/deploy.yml",
    "smops/starters/monitor.yml",
    "smops/starters/rollback.yml",
    "smops/templates/pipeline.py",
    "smops/infra/github-oidc.yaml",
    "smops/infra/approval-bridge.yaml",
)
TAG = re.compile(r"^v(\d+)\.(\d+)\.(\d+)((?:a|b|rc)\d+)?$")


class ReleaseError(Exception):
    """A release that must not go on; `code` is the exit code."""

    def __init__(self, message: str, code: int = 1):
        super().__init__(message)
        self.code = code


def plan(tag: str, existing: list[str]) -> dict[str, str]:
    """The release's version and tag moves, from its tag and the repository's other tags."""
    match = TAG.match(tag)
    if not match:
        raise ReleaseError(
            f"tag {tag!r} is not a release version: tag vMAJOR.MINOR.PATCH (or with a1, b1, rc1), e.g. v1.4.0",
            code=2,
        )
    version = Version(tag[1:])
    major = f"v{version.major}"
    same_major = []
    for other in existing:
        if TAG.match(other):
            other_version = Version(other[1:])
            if other_version.major == version.major and not other_version.is_prerelease:
                same_major.append(other_version)
    newest = not any(other > version for other in same_major)
    move = not version.is_prerelease and newest
    if version.is_prerelease:
        why = "a pre-release: consumers of @" + major + " keep what they have"
    elif not newest:
        why = f"v{max(same_major)} is newer"
    else:
        why = f"the newest {major} release"
    return {
        "version": str(version),
        "tag": tag,
        "prerelease": str(version.is_prerelease).lower(),
        "major-tag": major,
        "move-major": str(move).lower(),
        "why": why,
    }


def notes(changelog: str, version: str) -> str:
    """The section of CHANGELOG.md that towncrier wrote for VERSION (its heading starts
    `## VERSION `), without the heading."""
    lines = changelog.splitlines()
    start = next((n for n, line in enumerate(lines) if line.startswith(f"## {version} ")), None)
    if start is None:
        raise ReleaseError(
            f"CHANGELOG.md has no section for {version}: run `towncrier build --version {version}`, "
            "commit, and tag that commit"
        )
    end = next((n for n in range(start + 1, len(lines)) if lines[n].startswith("## ")), len(lines))
    body = "\n".join(lines[start + 1 : end]).strip()
    if not body:
        raise ReleaseError(f"CHANGELOG.md's section for {version} is empty: add news fragments to changelog.d/")
    return body + "\n"


def check_dist(folder: Path, version: str) -> list[str]:
    """Problems with the wheel and sdist in FOLDER for VERSION; none when both are right."""
    stem = f"{DISTRIBUTION.replace('-', '_')}-{version}"
    wheel, sdist = folder / f"{stem}-py3-none-any.whl", folder / f"{stem}.tar.gz"
    problems = [f"{path.name} is missing" for path in (wheel, sdist) if not path.exists()]
    others = sorted(p.name for p in folder.iterdir() if p not in (wheel, sdist))
    if others:
        problems.append(f"{folder} also holds {', '.join(others)}: only this release's files are published")
    if wheel.exists():
        with zipfile.ZipFile(wheel) as archive:
            names = set(archive.namelist())
            metadata = HeaderParser().parsestr(archive.read(f"{stem}.dist-info/METADATA").decode())
        problems += [f"the wheel lacks {name}" for name in WHEEL_FILES if name not in names]
        if f"{stem}.dist-info/licenses/LICENSE" not in names:
            problems.append("the wheel carries no LICENSE")
        if any(name.startswith(("tests/", "bench/")) for name in names):
            problems.append("the wheel carries tests or benches")
        expected = {"Name": DISTRIBUTION, "Version": version, "License-Expression": "Apache-2.0"}
        for field, value in expected.items():
            if metadata.get(field) != value:
                problems.append(f"the wheel's {field} is {metadata.get(field)!r}, not {value!r}")
        if not metadata.get("Requires-Python"):
            problems.append("the wheel's metadata has no Requires-Python")
    if sdist.exists():
        with tarfile.open(sdist) as archive:
            pkg_info = archive.extractfile(f"{stem}/PKG-INFO")
            if pkg_info is None or HeaderParser().parsestr(pkg_info.read().decode()).get("Version") != version:
                problems.append(f"the sdist's PKG-INFO does not say Version: {version}")
    return problems


def write_outputs(values: dict[str, str]) -> None:
    target = os.environ.get("GITHUB_OUTPUT")
    if target:
        with open(target, "a", encoding="utf-8") as out:
            out.writelines(f"{name}={value}\n" for name, value in values.items())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="release.py", description=__doc__.split("\n\n")[0], allow_abbrev=False)
    commands = parser.add_subparsers(dest="command", required=True)
    planning = commands.add_parser("plan", help="the version and the tag moves of a release tag")
    planning.add_argument("--tag", required=True)
    planning.add_argument("--tags", type=Path, help="a file of the repository's tags, one a line (default: none)")
    noting = commands.add_parser("notes", help="write the CHANGELOG section of a version to stdout")
    noting.add_argument("--version", required=True)
    noting.add_argument("--changelog", type=Path, default=ROOT / "CHANGELOG.md")
    checking = commands.add_parser("check-dist", help="check the built wheel and sdist")
    checking.add_argument("folder", type=Path)
    checking.add_argument("--version", required=True)
    args = parser.parse_args(argv)
    try:
        if args.command == "plan":
            tags = args.tags.read_text().split() if args.tags else []
            decided = plan(args.tag, tags)
            print(
                f"release {decided['version']}: publish {DISTRIBUTION} {decided['version']} to PyPI, "
                f"create the GitHub release {decided['tag']}"
                + (" (pre-release)" if decided["prerelease"] == "true" else "")
                + f"; {decided['major-tag']} "
                + ("moves to it" if decided["move-major"] == "true" else "stays")
                + f" ({decided['why']})",
                file=sys.stderr,
            )
            write_outputs(decided)
        elif args.command == "notes":
            sys.stdout.write(notes(args.changelog.read_text(encoding="utf-8"), args.version))
        else:
            problems = check_dist(args.folder, args.version)
            for problem in problems:
                print(f"::error::{problem}", file=sys.stderr)
            if problems:
                return 1
            print(f"{args.folder}: the wheel and sdist of {DISTRIBUTION} {args.version} are complete", file=sys.stderr)
    except ReleaseError as error:
        print(f"error: {error}", file=sys.stderr)
        return error.code
    return 0


if __name__ == "__main__":
    sys.exit(main())
