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
# Marker → the variable that runs its tests (scripts/test sets both to 1).
OPT_IN = {"network": "SMOPS_NETWORK_TESTS", "slow": "SMOPS_SLOW_TESTS"}


def pytest_collection_modifyitems(config, items):
    """Skip the `network` and `slow` tests unless their variable is 1."""
    for marker, variable in OPT_IN.items():
        if os.environ.get(variable) != "1":
            skip = pytest.mark.skip(reason=f"{marker}: set {variable}=1 (scripts/test does)")
            for item in items:
                if marker in item.keywords:
                    item.add_marker(skip)


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


def run_smops(*args: str, env: dict | None = None, cwd: Path | None = None, timeout: float = 600):
    """Run `python -m smops` as a separate process, as a workflow step would. The timeout is a
    safety net for a hung process, far above what a busy machine takes."""
    return subprocess.run(
        [sys.executable, "-m", "smops", *args],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        cwd=cwd,
        timeout=timeout,
    )


def leaks(texts: dict[str, str], secrets: dict[str, str]) -> list[str]:
    """Where each secret appears, as "SECRET-LABEL in PLACE": never the secret itself, so that a
    failing assertion does not print it either."""
    return [f"{label} in {place}" for label, secret in secrets.items() if secret for place, text in texts.items() if secret in text]
