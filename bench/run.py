"""Benchmarks: how fast smops starts and how much it adds around AWS's own waits.

Run with `.venv/bin/python bench/run.py [--demo]` (after scripts/bootstrap). It prints a Markdown
table of medians; `--demo` adds one timed `smops demo` (the README promises under a minute). Timings belong here, never in tests. The emulator is set to zero-length steps and
endpoint updates, so what is measured is smops itself (process start, imports, API calls, polls).
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from smops.emulator import Emulator, settings  # noqa: E402

ROLE = "arn:aws:iam::123456789012:role/bench"
DEFINITION = ROOT / "tests" / "data" / "pipeline-definition.json"


def timed(args: list[str], env: dict, runs: int) -> tuple[float, float]:
    """Median and best wall time of a smops process, in milliseconds."""
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run([sys.executable, "-m", "smops", *args], env=env, check=True, capture_output=True)
        samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples), min(samples)


def main() -> None:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "SMOPS_", "GITHUB_"))}
    rows = [
        ("smops --help", *timed(["--help"], base, 10)),
        ("smops deploy --help", *timed(["deploy", "--help"], base, 10)),
    ]
    with Emulator() as emulator:
        settings.step_seconds = 0
        settings.endpoint_seconds = 0
        settings.time_scale = 0
        env = {**base, **emulator.env(), "SMOPS_POLL_SECONDS": "0.05"}
        build = ["build", "--pipeline", str(DEFINITION), "--pipeline-name", "bench", "--role-arn", ROLE]
        rows.append(("smops build (JSON, 4 instant steps)", *timed(build, env, 5)))
        subprocess.run(
            [sys.executable, "-m", "smops", "approve", "--model-package-group", "smops-test-models"],
            env=env, check=True, capture_output=True,
        )
        deploy = ["deploy", "--model-package-group", "smops-test-models", "--endpoint-name", "bench",
                  "--role-arn", ROLE]
        rows.append(("smops deploy (create, instant endpoint)", *timed(deploy, env, 1)))
        rows.append(("smops deploy (re-run, unchanged)", *timed(deploy, env, 5)))
        payload = ROOT / "examples" / "smoke-payload.csv"
        smoke = ["smoke-test", "--endpoint-name", "bench", "--payload", str(payload), "--count", "10"]
        rows.append(("smops smoke-test (10 invocations)", *timed(smoke, env, 5)))
    if "--demo" in sys.argv[1:]:
        with tempfile.TemporaryDirectory() as tmp:
            rows.append(("smops demo (whole lifecycle)", *timed(["demo", "--report", f"{tmp}/r.md"], base, 1)))
    print("| benchmark | median ms | best ms |\n|---|---:|---:|")
    for name, median, best in rows:
        print(f"| {name} | {median:.0f} | {best:.0f} |")


if __name__ == "__main__":
    main()
