"""Shared fixtures: one embedded emulator per session, reset for every test; Actions files."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import boto3
import pytest

from smops import aws, gha
from smops.emulator import Emulator, settings

ROOT = Path(__file__).resolve().parents[1]
ROLE_ARN = "arn:aws:iam::123456789012:role/smops-test"


@pytest.fixture(scope="session")
def emulator():
    with Emulator() as emu:
        yield emu


@pytest.fixture(autouse=True)
def _hermetic_env(monkeypatch, tmp_path):
    """No real AWS or GitHub settings leak in; outputs and summary go to files under tmp_path."""
    for name in list(os.environ):
        if name.startswith(("AWS_", "SMOPS_", "GITHUB_")):
            monkeypatch.delenv(name)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
    monkeypatch.setenv("GITHUB_OUTPUT", str(tmp_path / "github_output"))
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(tmp_path / "step_summary.md"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))  # smops' render cache, per test
    aws.session.cache_clear()
    aws.client.cache_clear()


@pytest.fixture
def aws_env(emulator, monkeypatch):
    """A clean emulator, fast simulated steps and fast polling; returns the emulator."""
    emulator.reset()
    settings.step_seconds = 0.05
    for name, value in emulator.env().items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("SMOPS_POLL_SECONDS", "0.02")
    return emulator


@pytest.fixture
def sagemaker(aws_env):
    return boto3.client("sagemaker")


read_outputs = gha.read_outputs


@pytest.fixture
def outputs(tmp_path):
    return lambda: read_outputs(tmp_path / "github_output")


@pytest.fixture
def summary(tmp_path):
    path = tmp_path / "step_summary.md"
    return lambda: path.read_text() if path.exists() else ""


def run_smops(*args: str, env: dict | None = None, cwd: Path | None = None, timeout: float = 120):
    """Run `python -m smops` as a separate process, as a workflow step would."""
    return subprocess.run(
        [sys.executable, "-m", "smops", *args],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        cwd=cwd,
        timeout=timeout,
    )
