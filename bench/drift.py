"""Benchmark: `smops drift` over 10^4, 10^5 and 10^6 captured records in the emulator's S3.

Run with `.venv/bin/python bench/drift.py [SIZES...]` (after scripts/bootstrap). The records are
written in SageMaker's layout and format by smops.monitor.capture (the code the emulator's endpoints
capture with), 1000 per file as SageMaker batches them, ten features each, BASE64-encoded CSV
(SageMaker's default); the baseline comes from `smops baseline` on 10^4 rows of the same
distribution. Each `smops drift` runs as its own process; its peak resident memory is read with
getrusage in a parent made for that one run. Timings belong here, never in tests.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import platform
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

import boto3  # noqa: E402

from smops import capture  # noqa: E402
from smops.emulator import Emulator  # noqa: E402

PER_FILE = 1000
FEATURES = 10
MEASURE = ("import resource, subprocess, sys; subprocess.run(sys.argv[1:], check=True, stdout=subprocess.DEVNULL, "
           "stderr=subprocess.DEVNULL); print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)")


def row(rng: random.Random) -> str:
    return ",".join(f"{rng.gauss(i, 1 + i / 10):.4f}" for i in range(FEATURES))


def write_capture(s3, endpoint: str, records: int, rng: random.Random) -> None:
    start = dt.datetime.now(dt.timezone.utc) - dt.timedelta(hours=1)
    for first in range(0, records, PER_FILE):
        when = start + dt.timedelta(seconds=first * 3600 / records)
        lines = (json.dumps(capture.record(when, (row(rng).encode(), "text/csv"), (b"0.42\n", "text/csv")))
                 for _ in range(min(PER_FILE, records - first)))
        key = capture.object_key("capture", endpoint, "AllTraffic", when)
        s3.put_object(Bucket="bench", Key=key, Body=("\n".join(lines) + "\n").encode())


def main(sizes: list[int]) -> None:
    rng = random.Random(1)
    with Emulator() as emulator, tempfile.TemporaryDirectory() as tmp:
        env = {**{k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "SMOPS_", "GITHUB_"))},
               **emulator.env()}
        s3 = boto3.client("s3", endpoint_url=emulator.url, region_name=emulator.region,
                          aws_access_key_id="testing", aws_secret_access_key="testing")
        s3.create_bucket(Bucket="bench")
        dataset = Path(tmp) / "train.csv"
        dataset.write_text("".join(row(rng) + "\n" for _ in range(10_000)))
        subprocess.run([sys.executable, "-m", "smops", "baseline", "--dataset", str(dataset), "--output",
                        "s3://bench/baseline", "--no-header"], env=env, check=True, capture_output=True)
        results = []
        for size in sizes:
            endpoint = f"bench-{size}"
            write_capture(s3, endpoint, size, rng)
            command = [sys.executable, "-m", "smops", "drift", "--endpoint-name", endpoint, "--data-capture-uri",
                       "s3://bench/capture", "--baseline", "s3://bench/baseline", "--since", "3h",
                       "--violations-file", str(Path(tmp) / "v.json")]
            started = time.perf_counter()
            peak_kb = int(subprocess.run([sys.executable, "-c", MEASURE, *command], env=env, check=True,
                                         capture_output=True, text=True).stdout)
            seconds = time.perf_counter() - started
            results.append((size, seconds, peak_kb / 1024))
            print(f"{size} records: {seconds:.1f} s, peak {peak_kb / 1024:.0f} MiB", file=sys.stderr, flush=True)
    print(f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
          f"{dt.date.today()}\n")
    print("| captured records | files | seconds | records/s | peak memory (MiB) |\n|---:|---:|---:|---:|---:|")
    for size, seconds, peak in results:
        print(f"| {size:,} | {-(-size // PER_FILE):,} | {seconds:.1f} | {size / seconds:,.0f} | {peak:.0f} |")


if __name__ == "__main__":
    main([int(a) for a in sys.argv[1:]] or [10_000, 100_000, 1_000_000])
