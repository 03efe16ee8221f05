"""`smops bridge package`: the Lambda zip's layout, and (with network) a real build from PyPI."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import github
import pytest

from conftest import run_smops
from smops.bridge.package import build_zip


@pytest.fixture
def dependencies(tmp_path) -> Path:
    """A pip --target directory: the installed PyGithub, and a console script pip would add."""
    target = tmp_path / "deps"
    shutil.copytree(Path(github.__file__).parent, target / "github")
    (target / "bin").mkdir()
    (target / "bin" / "normalizer").write_text("#!/usr/bin/env python\n")
    return target


def test_the_zip_holds_smops_and_the_dependencies_at_its_root(dependencies, tmp_path):
    out = tmp_path / "dist" / "bridge.zip"
    count = build_zip(out, dependencies)

    names = zipfile.ZipFile(out).namelist()
    assert len(names) == count
    assert {"smops/__init__.py", "smops/bridge/__init__.py", "smops/bridge/relay.py",
            "smops/bridge/dispatch.py", "github/__init__.py", "github/Requester.py"} <= set(names)
    assert not [n for n in names if n.startswith(("smops/emulator/", "bin/", "boto3/"))]
    assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc")]


def test_the_zip_is_reproducible(dependencies, tmp_path):
    build_zip(tmp_path / "a.zip", dependencies)
    build_zip(tmp_path / "b.zip", dependencies)
    assert (tmp_path / "a.zip").read_bytes() == (tmp_path / "b.zip").read_bytes()


def test_lambda_finds_the_handler_in_the_zip(dependencies, tmp_path):
    """As Lambda does: the unzipped code first on sys.path, boto3 from the runtime behind it."""
    build_zip(tmp_path / "bridge.zip", dependencies)
    task = tmp_path / "task"
    zipfile.ZipFile(tmp_path / "bridge.zip").extractall(task)
    check = (
        "import importlib, smops, github; "
        "handler = getattr(importlib.import_module('smops.bridge'), 'handler'); "
        "print(smops.__file__); print(github.__file__); print(callable(handler))"
    )
    result = subprocess.run(
        [sys.executable, "-c", check], capture_output=True, text=True,
        env={**os.environ, "PYTHONPATH": str(task)}, cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    smops_file, github_file, is_callable = result.stdout.split()
    assert smops_file.startswith(str(task)) and github_file.startswith(str(task))
    assert is_callable == "True"


@pytest.mark.network
def test_smops_bridge_package_builds_for_lambda(tmp_path, outputs):
    out = tmp_path / "bridge.zip"
    result = run_smops("bridge", "package", "--out", str(out), "--python-version", "3.12", timeout=600)
    assert result.returncode == 0, result.stderr
    assert outputs()["zip"] == str(out)
    names = zipfile.ZipFile(out).namelist()
    assert "smops/bridge/__init__.py" in names and "github/__init__.py" in names
    assert "_cffi_backend.cpython-312-x86_64-linux-gnu.so" in names
    assert any(n.startswith("cryptography/hazmat/bindings/_rust") and n.endswith(".so") for n in names)
    assert any(n.startswith("nacl/") for n in names) and any(n.startswith("jwt/") for n in names)
    assert not [n for n in names if n.startswith(("boto3/", "botocore/"))]
