"""What bench/drift.py measures smops against, run in the bench's own virtualenv (.tools/evidently,
never the package's): Evidently's DataDriftPreset on the same captured records, and the least work
any tool must do on them (orjson + base64 + one numpy parse + histograms).

    python bench/drift_others.py evidently|least-work S3_URI ENDPOINT REFERENCE_CSV

Both read every capture file under S3_URI/ENDPOINT/ from the emulator (AWS_ENDPOINT_URL), four
objects at a time, as smops does. Prints one JSON line: the drifted columns (Evidently) or the
records counted (least work).
"""

from __future__ import annotations

import base64
import io
import itertools
import json
import sys
from collections import deque
from concurrent.futures import ThreadPoolExecutor

import boto3


def objects(uri: str, endpoint: str):
    """The bodies of the capture files in key order, the next four fetched while one is used."""
    bucket, _, prefix = uri[5:].partition("/")
    s3 = boto3.client("s3")
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=f"{prefix}/{endpoint}/")
    keys = iter(sorted(item["Key"] for page in pages for item in page.get("Contents", [])))

    def get(key: str) -> bytes:
        return s3.get_object(Bucket=bucket, Key=key)["Body"].read()

    with ThreadPoolExecutor(4) as pool:
        pending = deque(pool.submit(get, key) for key in itertools.islice(keys, 4))
        while pending:
            body = pending.popleft().result()
            pending.extend(pool.submit(get, key) for key in itertools.islice(keys, 1))
            yield body


def evidently(uri: str, endpoint: str, reference: str) -> dict:
    """As a user would: the JSON Lines parsed, the payloads decoded and read by pandas, and
    Evidently's DataDriftPreset run against the training data."""
    import pandas as pd
    from evidently import Report
    from evidently.presets import DataDriftPreset

    payloads = []
    for body in objects(uri, endpoint):
        for line in body.splitlines():
            payloads.append(base64.b64decode(json.loads(line)["captureData"]["endpointInput"]["data"]))
    reference_data = pd.read_csv(reference, header=None)
    reference_data.columns = [f"_c{i}" for i in range(reference_data.shape[1])]
    current = pd.read_csv(io.BytesIO(b"\n".join(payloads)), header=None, names=list(reference_data.columns))
    del payloads
    result = Report([DataDriftPreset()]).run(reference_data=reference_data, current_data=current).dict()
    drifted = [m["config"]["column"] for m in result["metrics"]
               if m["config"].get("type", "").endswith("ValueDrift") and m["value"] >= m["config"]["threshold"]]
    return {"records": len(current), "drifted": drifted}


def least_work(uri: str, endpoint: str, reference: str) -> dict:
    """The records' JSON parsed by orjson, the payloads decoded, every 64 files' CSV parsed by one
    numpy call, and each column counted into 100 fixed bins."""
    import numpy as np
    import orjson

    width = len(open(reference).readline().split(","))
    edges = np.linspace(-10, 20, 101)
    counts = np.zeros((width, 100), dtype=np.int64)
    records = 0
    chunks: list[bytes] = []

    def flush() -> None:
        values = np.fromstring(b",".join(chunks).replace(b"\n", b","), sep=",").reshape(-1, width)
        for i in range(width):
            counts[i] += np.histogram(values[:, i], edges)[0]
        chunks.clear()

    for n, body in enumerate(objects(uri, endpoint), 1):
        for line in body.splitlines():
            chunks.append(base64.b64decode(orjson.loads(line)["captureData"]["endpointInput"]["data"]).strip())
            records += 1
        if n % 64 == 0:
            flush()
    if chunks:
        flush()
    return {"records": records, "binned": int(counts.sum())}


if __name__ == "__main__":
    tool, *rest = sys.argv[1:]
    print(json.dumps({"evidently": evidently, "least-work": least_work}[tool](*rest)))
