"""What the benchmark sections share: paths, a clean environment, running smops, medians, tables."""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
# The emulator's request log (moto's recorder) is read from this file; moto reads the variable
# when it is first imported, so it is set before any section imports it.
RECORDING = Path(os.environ.setdefault("MOTO_RECORDER_FILEPATH", str(ROOT / "bench" / ".moto-recording")))
# What the sections build and deploy with: moto's fake account, the tests' pipeline definition.
ROLE = "arn:aws:iam::123456789012:role/bench"
DEFINITION = ROOT / "tests" / "data" / "pipeline-definition.json"


def load_average() -> str:
    """`uptime`'s three numbers: the machine is shared, so every table says how busy it was."""
    return " ".join(f"{n:.2f}" for n in os.getloadavg())


def clean_env(**extra: str) -> dict[str, str]:
    """This process's environment without AWS, smops or GitHub settings."""
    base = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "SMOPS_", "GITHUB_"))}
    return {**base, **extra}


def smops(args: list[str], env: dict[str, str], check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "smops", *args], env=env, check=check, capture_output=True, text=True)


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def table(head: list[str], rows: list[list[object]]) -> str:
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join("---" if i == 0 else "---:" for i in range(len(head))) + "|"]
    return "\n".join(lines + ["| " + " | ".join(str(c) for c in row) + " |" for row in rows])
