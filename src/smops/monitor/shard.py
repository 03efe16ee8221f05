"""One instance of a `--engine processing` job: profile this instance's share of the input.

SageMaker Processing downloads each input under /opt/ml/processing/input/NAME (the data input
`ShardedByS3Key`: this instance's share of the objects), names this instance in
/opt/ml/config/resourceconfig.json, and uploads /opt/ml/processing/output when the job ends. The
job's script runs `python3 -m smops.monitor.shard /opt/ml`, with smops from the job's own code input (the
runner's copy), so both sides run the same reader and profiler. This instance writes
`partial-HOST.json`: the profiled columns (smops.monitor.data_profile.dump: counts, categories, histograms,
KLL sketches in DataSketches' format) and counts, which smops.monitor.processing merges on the runner.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import sys
from pathlib import Path

from smops.monitor import baseline, capture, data_profile, drift


def main(root: str) -> None:
    root_path = Path(root)
    host = json.loads((root_path / "config" / "resourceconfig.json").read_text())["current_host"]
    job = json.loads((root_path / "processing" / "input" / "code" / "job.json").read_text())
    files = sorted(p for p in (root_path / "processing" / "input" / "data").rglob("*") if p.is_file())
    print(f"{host}: {job['kind']} over {len(files)} files", flush=True)
    partial = (_drift if job["kind"] == "drift" else _baseline)(job, files)
    partial.update(host=host, files=len(files))
    output = root_path / "processing" / "output"
    output.mkdir(parents=True, exist_ok=True)
    (output / f"partial-{host}.json").write_text(json.dumps(partial))
    print(f"{host}: wrote partial-{host}.json ({partial['records']} records)", flush=True)


def _drift(job: dict, files: list[Path]) -> dict:
    base = baseline.Baseline(job["statistics"], job["constraints"], job["baseline_source"])
    start, end = (dt.datetime.fromisoformat(job[k]) for k in ("start", "end"))
    profiled = drift.profile_records(base, _records(files, start, end), job.get("prediction"))
    return {"records": profiled.counts["records"], "counts": profiled.counts,
            "columns": {name: data_profile.dump(column) for name, column in profiled.columns.items()}}


def _records(files: list[Path], start: dt.datetime, end: dt.datetime):
    """The capture records of these files inside the window, as capture.read yields them from S3."""
    for path in files:
        with path.open("rb") as lines:
            for line in lines:
                if line.strip():
                    captured = capture.parse(line)
                    if start <= captured.time <= end:
                        yield captured


def _baseline(job: dict, files: list[Path]) -> dict:
    order = job.get("order")

    def rows():
        for path in files:
            with path.open(newline="", encoding="utf-8") as text:
                reader = csv.reader(text)
                if job["header"]:
                    next(reader, None)
                for row in reader:
                    if row:
                        yield [row[i] if i < len(row) else "" for i in order] if order else row

    columns, items = baseline.profile_rows(rows(), job["names"])
    return {"records": items, "columns": [data_profile.dump(column) for column in columns]}


if __name__ == "__main__":
    main(sys.argv[1])
