"""`smops bridge package`: the approval bridge's Lambda zip, smops plus PyGithub and its dependencies.

pip fetches manylinux x86_64 wheels for the Lambda's Python (`--platform`, `--only-binary=:all:`)
whatever machine runs it, so cryptography, cffi and PyNaCl load in Lambda. PyGithub is pinned to
the version installed here, the one the tests ran. boto3 is not bundled: the Lambda runtime has it.
The zip is reproducible (sorted entries, fixed timestamps), so an unchanged build has the same hash.
"""

from __future__ import annotations

import hashlib
import stat
import subprocess
import sys
import tempfile
import zipfile
from importlib.metadata import version
from pathlib import Path

from smops import gha
import smops
from smops.errors import BadInput, RemoteFailure

PLATFORM = "manylinux2014_x86_64"
ZIP_TIME = (1980, 1, 1, 0, 0, 0)
FILE_MODE = (stat.S_IFREG | 0o644) << 16


def run(args) -> dict[str, str]:
    out = Path(args.out)
    if out.suffix != ".zip":
        raise BadInput(f"--out {out} does not end in .zip", "e.g. --out dist/bridge.zip")
    with tempfile.TemporaryDirectory(prefix="smops-bridge-") as deps:
        with gha.group(f"pip install PyGithub for Lambda python{args.python_version} ({PLATFORM})"):
            install_dependencies(Path(deps), args.python_version)
        count = build_zip(out, Path(deps))
    digest = hashlib.sha256(out.read_bytes()).hexdigest()
    gha.log(f"wrote {out}: {count} files, {out.stat().st_size} bytes, sha256 {digest}")
    return {"zip": str(out), "sha256": digest, "python-version": args.python_version}


def install_dependencies(target: Path, python_version: str) -> None:
    """pip install PyGithub and its dependencies into target, as wheels for Lambda's platform."""
    command = [
        sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
        "--no-compile", "--target", str(target),
        "--platform", PLATFORM, "--implementation", "cp", "--python-version", python_version,
        "--only-binary=:all:", f"PyGithub=={version('PyGithub')}",
    ]
    try:
        subprocess.run(command, check=True)
    except (OSError, subprocess.CalledProcessError) as exc:
        raise RemoteFailure(
            f"pip could not fetch PyGithub's wheels for python{python_version} ({exc})",
            "check access to PyPI (or set PIP_INDEX_URL to a mirror) and that pip is installed",
        ) from None


def build_zip(out: Path, dependencies: Path) -> int:
    """Write the zip: the installed dependencies at its root, next to the smops package."""
    source = Path(smops.__file__).parent
    # Left out: pip's console scripts, and the emulator (it needs moto and never runs in Lambda).
    files = _files(dependencies, dependencies, skip="bin") + _files(source, source.parent, skip="emulator")
    out.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, path in sorted(files):
            info = zipfile.ZipInfo(name, ZIP_TIME)
            info.external_attr = FILE_MODE
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, path.read_bytes())
    return len(files)


def _files(top: Path, root: Path, skip: str) -> list[tuple[str, Path]]:
    """(name in the zip, path) for the files under top, but none under top/skip or in caches."""
    files = []
    for path in top.rglob("*"):
        parts = path.relative_to(top).parts
        if path.is_file() and parts[0] != skip and "__pycache__" not in parts and path.suffix != ".pyc":
            files.append((path.relative_to(root).as_posix(), path))
    return files
