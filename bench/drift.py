"""`smops drift` over 10^4 to 10^7 captured records, against Evidently and the least work, on the
same records in the same run.

A section of scripts/bench (`scripts/bench --only drift`; SMOPS_BENCH_DRIFT_SIZES=10000,100000
picks the sizes). The records are written streaming into the emulator's S3 (objects spill to
disk) in SageMaker's layout and format, 1000 per file, ten features, BASE64-encoded CSV (the
default), over the last hour; features _c0 to _c2 are shifted by half a standard deviation, the
others are not. The baseline is `smops baseline` of 10^4 unshifted rows, which are also
Evidently's reference. Each tool runs as its own process, its peak resident memory read with
getrusage in a parent made for that one run. Evidently (0.7.23, DataDriftPreset, which needs
pandas<3) and orjson live in the bench's own virtualenv, .tools/evidently, made here with uv and
never in the package's extras; bench/drift_others.py is what runs there. Evidently runs up to 10^6
records (at 10^7 its pandas frame alone would be several GB). Then a clean 10^5 (no feature shifted)
gives both tools' verdicts on data that did not drift, and `--max-records 100000` samples the
largest size (10^7). Each size's objects are deleted after it.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import ROOT, clean_env, median, table

os.environ.setdefault("MOTO_S3_DEFAULT_KEY_BUFFER_SIZE", str(1 << 16))  # 10^7 records are 4.4 GB: on disk

PER_FILE = 1000
FEATURES = 10
SHIFTED = (0, 1, 2)  # shifted by half a standard deviation
SIZES = [10_000, 100_000, 1_000_000, 10_000_000]
EVIDENTLY_UP_TO = 1_000_000
SAMPLE = 100_000
TOOLS = ROOT / ".tools" / "evidently"
OTHERS = ROOT / "bench" / "drift_others.py"
MEASURE = ("import resource, subprocess, sys; done = subprocess.run(sys.argv[1:], stdout=subprocess.PIPE, "
           "stderr=subprocess.DEVNULL, text=True); print(done.stdout.strip().splitlines()[-1] if done.stdout.strip() "
           "else '{}'); print(done.returncode); print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)")


def tools_python() -> str:
    """The bench's own virtualenv with Evidently, pandas<3 and orjson, made once with uv."""
    python = TOOLS / "bin" / "python"
    if not (TOOLS / ".installed").exists():
        subprocess.run([sys.executable, "-m", "uv", "venv", "-q", "--clear", str(TOOLS)], check=True)
        subprocess.run([sys.executable, "-m", "uv", "pip", "install", "-q", "--compile-bytecode", "--python", str(python),
                        "evidently==0.7.23", "pandas<3", "orjson", "boto3"], check=True)
        (TOOLS / ".installed").touch()
    return str(python)


def columns(rng, rows: int, shifted: bool):
    """rows × FEATURES values: feature i ~ N(i, 1 + i/10), the SHIFTED ones moved by half a deviation."""
    import numpy as np

    means = np.arange(FEATURES, dtype=float)
    scales = 1 + means / 10
    if shifted:
        means[list(SHIFTED)] += scales[list(SHIFTED)] / 2
    return rng.normal(means, scales, (rows, FEATURES))


def csv_lines(values) -> list[bytes]:
    import io

    import numpy as np

    text = io.BytesIO()
    np.savetxt(text, values, fmt="%.4f", delimiter=",")
    return text.getvalue().splitlines()


TEMPLATE = ('{{"captureData": {{"endpointInput": {{"observedContentType": "text/csv", "mode": "INPUT", "data": "{data}", '
            '"encoding": "BASE64"}}, "endpointOutput": {{"observedContentType": "text/csv", "mode": "OUTPUT", '
            '"data": "MC40Mgo=", "encoding": "BASE64"}}}}, "eventMetadata": {{"eventId": "{event}", '
            '"inferenceTime": "{when}"}}, "eventVersion": "0"}}')


def line(row: bytes, when: str, event: str) -> str:
    """What json.dumps(capture.record(...)) writes for this row, without building the dict."""
    return TEMPLATE.format(data=base64.b64encode(row).decode(), event=event, when=when)


def write_capture(s3, endpoint: str, records: int, shifted: bool, seed: int) -> None:
    """`records` records in files of PER_FILE over the last hour, a file at a time."""
    import numpy as np

    from smops.monitor import capture

    rng = np.random.default_rng(seed)
    start = dt.datetime.now(dt.timezone.utc) - dt.timedelta(hours=1)
    check = capture.record(start, (b"1,2", "text/csv"), (b"0.42\n", "text/csv"), event_id="e")
    assert json.dumps(check) == line(b"1,2", capture.iso(start), "e"), "the template drifted from capture.record"
    for first in range(0, records, PER_FILE):
        when = start + dt.timedelta(seconds=first * 3600 / records)
        stamp = capture.iso(when)
        rows = csv_lines(columns(rng, min(PER_FILE, records - first), shifted))
        body = "\n".join(line(row, stamp, f"{first + i:032x}") for i, row in enumerate(rows)) + "\n"
        s3.put_object(Bucket="bench", Key=capture.object_key("capture", endpoint, "AllTraffic", when), Body=body.encode())


def delete_capture(s3, endpoint: str) -> None:
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket="bench", Prefix=f"capture/{endpoint}/"):
        keys = [{"Key": item["Key"]} for item in page.get("Contents", [])]
        if keys:
            s3.delete_objects(Bucket="bench", Delete={"Objects": keys})


def measured(command: list[str], env: dict) -> tuple[float, float, dict]:
    """(seconds, peak MiB, the JSON line it printed) of one process."""
    started = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", MEASURE, *command], env=env, check=True, capture_output=True,
                         text=True).stdout.splitlines()
    seconds = time.perf_counter() - started
    if out[1] not in ("0", "1"):
        raise RuntimeError(f"{command[:4]} exited {out[1]}")
    return seconds, int(out[2]) / 1024, json.loads(out[0])


def smops_drift(endpoint: str, env: dict, tmp: Path, *extra: str) -> tuple[float, float, list[str]]:
    from smops import gha

    outputs = tmp / "outputs"
    outputs.unlink(missing_ok=True)
    command = [sys.executable, "-m", "smops", "drift", "--endpoint-name", endpoint, "--data-capture-uri",
               "s3://bench/capture", "--baseline", "s3://bench/baseline", "--since", "3h",
               "--violations-file", str(tmp / "violations.json"), *extra]
    seconds, peak, _ = measured(command, {**env, "GITHUB_OUTPUT": str(outputs)})
    found = gha.read_outputs(outputs)
    return seconds, peak, [f for f in found.get("drifted-features", "").split(",") if f]


def other(tool: str, endpoint: str, env: dict, reference: Path) -> tuple[float, float, dict]:
    return measured([tools_python(), str(OTHERS), tool, "s3://bench/capture", endpoint, str(reference)], env)


def verdicts(drifted: list[str]) -> list[str]:
    return ["drift" if f"_c{i}" in drifted else "no drift" for i in range(FEATURES)]


def run(runs: int) -> dict:
    import boto3

    from smops.emulator import Emulator

    sizes = [int(s) for s in os.environ.get("SMOPS_BENCH_DRIFT_SIZES", ",".join(map(str, SIZES))).split(",")]
    tools_python()
    rows, results, verdict = [], {}, {}
    with Emulator() as emulator, tempfile.TemporaryDirectory() as folder:
        tmp = Path(folder)
        env = clean_env(**emulator.env())
        s3 = boto3.client("s3", endpoint_url=emulator.url, region_name=emulator.region,
                          aws_access_key_id="testing", aws_secret_access_key="testing")
        s3.create_bucket(Bucket="bench")
        import numpy as np

        reference = tmp / "train.csv"
        reference.write_bytes(b"\n".join(csv_lines(columns(np.random.default_rng(0), 10_000, False))) + b"\n")
        subprocess.run([sys.executable, "-m", "smops", "baseline", "--dataset", str(reference), "--output",
                        "s3://bench/baseline", "--no-header"], env=env, check=True, capture_output=True)
        for n, size in enumerate(sizes, 1):
            endpoint = f"shifted-{size}"
            started = time.perf_counter()
            write_capture(s3, endpoint, size, True, seed=n)
            print(f"drift: wrote {size:,} records in {time.perf_counter() - started:.0f} s", file=sys.stderr, flush=True)
            samples: dict[str, list] = {"smops": [], "evidently": [], "least": []}
            for _ in range(runs if size <= EVIDENTLY_UP_TO else 1):
                seconds, peak, drifted = smops_drift(endpoint, env, tmp)
                samples["smops"].append((seconds, peak))
                verdict.setdefault(f"smops shifted {size:,}", verdicts(drifted))
                if size <= EVIDENTLY_UP_TO:
                    seconds, peak, found = other("evidently", endpoint, env, reference)
                    samples["evidently"].append((seconds, peak))
                    verdict.setdefault(f"Evidently shifted {size:,}", verdicts(found["drifted"]))
                seconds, peak, found = other("least-work", endpoint, env, reference)
                assert found["records"] == size, found
                samples["least"].append((seconds, peak))
                print(f"drift: {size:,}: " + ", ".join(f"{k} {v[-1][0]:.1f} s {v[-1][1]:.0f} MiB"
                                                       for k, v in samples.items() if v), file=sys.stderr, flush=True)
            if size == max(sizes) and size >= 10 * SAMPLE:
                seconds, peak, drifted = smops_drift(endpoint, env, tmp, "--max-records", str(SAMPLE))
                results["sampled"] = {"of": size, "records": SAMPLE, "seconds": round(seconds, 1), "peak_mib": round(peak)}
                verdict[f"smops {SAMPLE:,} sampled of {size:,}"] = verdicts(drifted)
                print(f"drift: --max-records {SAMPLE:,} of {size:,}: {seconds:.1f} s {peak:.0f} MiB, drifted {drifted}",
                      file=sys.stderr, flush=True)
            delete_capture(s3, endpoint)
            results[size] = {tool: {"seconds": round(median([s for s, _ in v]), 2), "peak_mib": round(max(p for _, p in v)),
                                    "runs": len(v)} for tool, v in samples.items() if v}
            row = results[size]
            evidently = row.get("evidently")
            rows.append([f"{size:,}", f"{row['smops']['seconds']:.1f} s, {row['smops']['peak_mib']} MiB",
                         f"{evidently['seconds']:.1f} s, {evidently['peak_mib']} MiB" if evidently else "not run",
                         f"{row['least']['seconds']:.1f} s",
                         f"{evidently['seconds'] / row['smops']['seconds']:.1f}×" if evidently else "",
                         f"{row['smops']['seconds'] / row['least']['seconds']:.2f}×"])
        clean = min(max((s for s in sizes if s <= EVIDENTLY_UP_TO), default=SAMPLE), SAMPLE)
        write_capture(s3, "clean", clean, False, seed=99)
        verdict[f"smops clean {clean:,}"] = verdicts(smops_drift("clean", env, tmp)[2])
        verdict[f"Evidently clean {clean:,}"] = verdicts(other("evidently", "clean", env, reference)[2]["drifted"])
        delete_capture(s3, "clean")
    shifted = {f"_c{i}" for i in SHIFTED}
    agree = all(v == verdicts(sorted(shifted)) for k, v in verdict.items() if "shifted" in k or "sampled" in k) and \
        all(v == verdicts([]) for k, v in verdict.items() if "clean" in k)
    text = table(["records", "`smops drift` (median, peak)", "Evidently 0.7.23 DataDriftPreset", "least work",
                  "Evidently ÷ smops", "smops ÷ least work"], rows)
    if "sampled" in results:
        sampled = results["sampled"]
        text += (f"\n\n`--max-records {SAMPLE}` of {sampled['of']:,}: {sampled['seconds']} s, "
                 f"{sampled['peak_mib']} MiB")
    names = list(verdict)
    text += "\n\n" + table(["feature", "shifted", *names],
                           [[f"_c{i}", "yes" if i in SHIFTED else "no", *(verdict[k][i] for k in names)]
                            for i in range(FEATURES)])
    text += f"\n\nEvery verdict as expected (drift exactly in the shifted features): {'yes' if agree else 'NO'}"
    return {"table": text, "results": {str(k): v for k, v in results.items()}, "verdicts": verdict, "agree": agree}


if __name__ == "__main__":
    print(run(int(sys.argv[1]) if len(sys.argv) > 1 else 1)["table"])
