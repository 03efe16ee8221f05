"""One instance of a `--engine processing` job: profile this instance's share of the input.

SageMaker Processing downloads each input under /opt/ml/processing/input/NAME (the data input
`ShardedByS3Key`: this instance's share of the objects), names this instance in
/opt/ml/config/resourceconfig.json, and uploads /opt/ml/processing/output when the job ends. The
job's script runs `python3 -m smops.monitor.shard /opt/ml`, with smops from the job's own code input (the
runner's copy), so both sides run the same reader and profiler. This instance writes
`partial-HOST.json`: its profile (smops.monitor.data_profile.dump_table: counts, categories, histograms, KLL
sketches in DataSketches' format), which smops.monitor.processing loads and merges on the runner.
"""

from __future__ import annotations

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
    """The capture files' records in the window, profiled as `smops drift` does on one runner."""
    base = baseline.Baseline(job["statistics"], job["constraints"], job["baseline_source"])
    start, end = (job[k] and dt.datetime.fromisoformat(job[k]) for k in ("start", "end"))
    prediction = job.get("prediction")
    batches = (capture.parse_file(path.read_bytes(), None if capture.inside(path.as_posix(), start, end) else (start, end),
                                  outputs=bool(prediction)) for path in files)
    captured = drift.profile_capture(base, batches, prediction)
    return {"records": captured.records, "captured": captured.dump()}


def _baseline(job: dict, files: list[Path]) -> dict:
    """The dataset's objects (CSV or Parquet), profiled as `smops baseline` does on one runner."""
    order = job.get("order")

    def batches():
        for path in files:
            _, read = baseline.read_dataset(str(path), job["header"])
            yield from (baseline.reordered(batch, order) for batch in read) if order else read

    table, items = baseline.profile_rows(batches(), job["names"])
    return {"records": items, "table": data_profile.dump_table(table)}


if __name__ == "__main__":
    main(sys.argv[1])
