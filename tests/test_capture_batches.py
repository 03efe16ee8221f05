"""The batch reader of captured records and the dataset reader of `smops baseline`: what they read
at once equals what the record-by-record reader (capture.parse) and a CSV read give."""

from __future__ import annotations

import base64
import datetime as dt
import json
import random
from pathlib import Path

import boto3
import pytest
from conftest import run_smops

from smops.monitor import baseline, capture, drift
from smops.errors import BadInput

MODEL_MONITOR = Path(__file__).parent / "data" / "model-monitor"
HOUR = dt.datetime(2026, 5, 1, 12, tzinfo=dt.timezone.utc)
CSV_HEADER = {"CsvContentTypes": ["text/csv"], "JsonContentTypes": ["application/json"]}


def event(body: bytes, kind: str = "text/csv", header: dict | None = None, output: bytes | None = b"0.4\n",
          when: dt.datetime = HOUR) -> dict:
    return capture.record(when, (body, kind), (output, "text/csv") if output is not None else None, header)


def jsonl(events: list[dict]) -> bytes:
    return "".join(json.dumps(e) + "\n" for e in events).encode()


def both_ways(body: bytes, prediction: str | None = None) -> tuple[drift.Report, drift.Report]:
    """The report from the file read at once, and from its records read one by one."""
    base = baseline.load(str(MODEL_MONITOR / "statistics.json"), str(MODEL_MONITOR / "constraints.json"))
    at_once = drift.compare(base, [capture.parse_file(body, None, outputs=prediction is not None)], prediction)
    one_by_one = drift.compare(base, [capture.parse(line) for line in body.splitlines() if line.strip()], prediction)
    return at_once, one_by_one


def without_examples(violations: list[dict]) -> list[dict]:
    """The violations, less the unseen values a categorical check names as examples: among values
    seen equally often, which come first depends on the order the rows were profiled in."""
    return [{**v, "description": v["description"].split("; unseen values include")[0]} for v in violations]


def assert_same(at_once: drift.Report, one_by_one: drift.Report) -> None:
    assert at_once.records == one_by_one.records
    assert without_examples(at_once.violations) == without_examples(one_by_one.violations)
    for mine, theirs in zip(at_once.features, one_by_one.features, strict=True):
        assert (mine.name, mine.baseline, mine.checks) == (theirs.name, theirs.baseline, theirs.checks)
        if mine.name != "contract" or mine.now.count(",") < 3:  # the commonest values, ties as above
            assert mine.now == theirs.now
        assert mine.distance == pytest.approx(theirs.distance)


@pytest.mark.parametrize("header", [None, CSV_HEADER], ids=["base64", "csv"])
def test_a_file_of_csv_payloads_is_one_csv_text(header):
    rows = [f"{i % 9},{20 + i / 7:.2f},{'monthly' if i % 3 else 'yearly'}" for i in range(200)]
    body = jsonl([event(row.encode(), header=header) for row in rows])
    batch = capture.parse_file(body, None, outputs=False)
    assert batch.records == 200 and batch.inputs.cells == [] and batch.outputs.csv == []
    assert batch.inputs.text() == "".join(row + "\n" for row in rows).encode()
    assert_same(*both_ways(body))


def test_each_encoding_and_odd_payload_reads_as_record_by_record():
    rng = random.Random(5)
    events = []
    for i in range(300):
        row = f"{rng.randint(1, 9)},{rng.uniform(20, 80):.2f},{rng.choice(['monthly', 'yearly'])}"
        kind = i % 10
        if kind == 0:  # JSON encoded (JsonContentTypes)
            events.append(event(json.dumps({"instances": [row.split(",")]}).encode(), "application/json", CSV_HEADER))
        elif kind == 1:  # JSON content, BASE64 encoded (no header)
            events.append(event(json.dumps([row.split(",")]).encode(), "application/json"))
        elif kind == 2:  # two rows, CSV encoded, one short
            events.append(event(f"{row}\n3,40.0\n".encode(), header=CSV_HEADER))
        elif kind == 3:  # a quoted cell and a missing one
            events.append(event(b'"4",,"monthly"\n'))
        elif kind == 4:  # no input captured (CaptureOptions: Output only)
            only_output = event(b"", output=b"0.9\n")
            del only_output["captureData"]["endpointInput"]
            events.append(only_output)
        elif kind == 5:  # data that is not BASE64, and a long row
            broken = event(row.encode())
            broken["captureData"]["endpointInput"]["data"] = "not base64!"
            events.append(broken)
            events.append(event(f"{row},extra".encode()))
        elif kind == 6:  # blanks, NaN and a string where a number belongs
            events.append(event(b" 5 , nan ,yearly\n"))
            events.append(event(b"six,NaN,monthly\n"))
        else:
            events.append(event(row.encode()))
    body = jsonl(events)
    at_once, one_by_one = both_ways(body)
    assert_same(at_once, one_by_one)
    assert {v["constraint_check_type"] for v in at_once.violations} >= {"missing_column_check", "extra_column_check",
                                                                        "data_type_check"}
    assert_same(*both_ways(body, prediction="monthly_charges"))


def sagemaker_line(row: bytes, output: bytes = b"0.4\n", kind: str = "text/csv", compact: bool = True,
                   when: dt.datetime = HOUR) -> str:
    """A record as SageMaker writes it (compact JSON), or as json.dumps does (spaced)."""
    record = capture.record(when, (row, kind), (output, "text/csv"))
    return json.dumps(record, separators=(",", ":") if compact else None)


FAST_CASES = {
    "compact": lambda rows: [sagemaker_line(r) for r in rows],
    "spaced": lambda rows: [sagemaker_line(r, compact=False) for r in rows],
    "charset": lambda rows: [sagemaker_line(r, kind="Text/CSV; charset=utf-8") for r in rows],
    "no last newline": lambda rows: [sagemaker_line(r) for r in rows],
    "tabs between fields": lambda rows: [sagemaker_line(r).replace(',"mode":', ',\t"mode":\t') for r in rows],
}


@pytest.mark.parametrize("case", FAST_CASES)
@pytest.mark.parametrize("prediction", [None, "monthly_charges"])
def test_sagemakers_own_layout_is_read_with_regular_expressions(case, prediction):
    rows = [f"{i % 7},{30 + i / 3:.2f},{'monthly' if i % 4 else 'yearly'}".encode() for i in range(120)]
    lines = FAST_CASES[case](rows)
    body = ("\n".join(lines) + ("" if case == "no last newline" else "\n")).encode()
    fast = capture._sagemaker_base64_csv(body, None, prediction is not None, None)
    assert fast is not None, "the file should have been read without its JSON parsed"
    assert fast.inputs.text() == b"".join(row + b"\n" for row in rows)
    assert_same(*both_ways(body, prediction))
    window = (HOUR - dt.timedelta(minutes=1), None)  # no later bound: every record is in
    assert capture._sagemaker_base64_csv(body, window, False, 50).records == 50


def reordered(line: str) -> str:
    """The input's encoding written before its data: the same record, another field order."""
    record = json.loads(line)
    payload = record["captureData"]["endpointInput"]
    record["captureData"]["endpointInput"] = {k: payload[k] for k in ("observedContentType", "mode", "encoding", "data")}
    return json.dumps(record, separators=(",", ":"))


def escaped_slash(line: str) -> str:
    """A payload whose BASE64 holds a slash, written escaped (JSON allows \\/ for /)."""
    line = sagemaker_line(b"70,10.000,monthly?")
    assert '"data":"NzAsMTAuMDAwLG1vbnRobHk/"' in line
    return line.replace("NzAsMTAuMDAwLG1vbnRobHk/", "NzAsMTAuMDAwLG1vbnRobHk\\/")


SLOW_CASES = {
    "fields in another order": reordered,
    "an escaped slash": escaped_slash,
    "JSON content": lambda line: line.replace('"observedContentType":"text/csv","mode":"INPUT"',
                                              '"observedContentType":"application/json","mode":"INPUT"'),
    "CSV encoding": lambda line: line.replace('"encoding":"BASE64"}', '"encoding":"CSV"}', 1).replace(
        line.split('"data":"')[1].split('"')[0], "1,2.5,monthly", 1),
    "no input captured": lambda line: '{"captureData":{"endpointOutput":' + line.split('"endpointOutput":')[1],
    "a blank line": lambda line: line + "\n",
    "CRLF": lambda line: line + "\r",
    "a quote in the payload": lambda line: line.replace(line.split('"data":"')[1].split('"')[0],
                                                        base64.b64encode(b'"4",2.0,monthly').decode(), 1),
}


@pytest.mark.parametrize("case", SLOW_CASES)
def test_any_other_layout_goes_the_general_way_with_the_same_result(case):
    """A file with one line that is not SageMaker's BASE64 CSV layout is read by the JSON reader."""
    lines = [sagemaker_line(f"{i % 7},{30 + i / 3:.2f},monthly".encode()) for i in range(40)]
    lines[17] = SLOW_CASES[case](lines[17])
    body = ("\n".join(lines) + "\n").encode()
    assert capture._sagemaker_base64_csv(body, None, True, None) is None
    assert_same(*both_ways(body))
    assert_same(*both_ways(body, "monthly_charges"))


@pytest.mark.parametrize("broken", ["cut short", "a vertical tab"])
def test_a_broken_line_is_refused_as_the_json_reader_refuses_it(broken):
    """A line the regular expressions would find a payload in, but that is not JSON."""
    lines = [sagemaker_line(f"{i},{30 + i / 3:.2f},monthly".encode(), compact=False) for i in range(5)]
    lines[2] = lines[2][:-20] if broken == "cut short" else lines[2].replace('"mode": ', '"mode":\x0b')
    body = ("\n".join(lines) + "\n").encode()
    assert capture._sagemaker_base64_csv(body, None, False, None) is None
    with pytest.raises(BadInput, match="not a SageMaker data capture record"):
        capture.parse_file(body, None)


def test_a_line_that_is_not_a_capture_record_is_bad_input():
    body = jsonl([event(b"1,2.0,monthly")]) + b'{"hello": "world"}\n'
    with pytest.raises(BadInput, match="not a SageMaker data capture record"):
        capture.parse_file(body, None)


def test_the_output_is_read_only_when_asked():
    body = jsonl([event(b"1,2.0,monthly", output=b"0.7\n") for _ in range(3)])
    assert capture.parse_file(body, None, outputs=False).outputs.text() == b""
    assert capture.parse_file(body, None, outputs=True).outputs.text().split() == [b"0.7"] * 3


def test_the_window_by_key_and_by_time():
    key = capture.object_key("dc", "e", "AllTraffic", HOUR.replace(minute=5))
    assert capture.inside(key, HOUR, HOUR + dt.timedelta(hours=1))
    assert not capture.inside(key, HOUR + dt.timedelta(minutes=1), HOUR + dt.timedelta(hours=2))
    assert not capture.inside(key, HOUR - dt.timedelta(hours=1), HOUR + dt.timedelta(minutes=59))
    assert not capture.inside("dc/not-a-capture-layout.jsonl", HOUR, HOUR + dt.timedelta(hours=1))
    times = [HOUR + dt.timedelta(minutes=m) for m in range(0, 60, 5)]
    body = jsonl([event(f"{i},1.0,monthly".encode(), when=when) for i, when in enumerate(times)])
    window = (HOUR + dt.timedelta(minutes=12), HOUR + dt.timedelta(minutes=40))
    batch = capture.parse_file(body, window, outputs=False)
    assert batch.inputs.text() == b"".join(f"{i},1.0,monthly\n".encode() for i in range(3, 9))
    assert capture.parse_file(body, window, outputs=False, limit=2).records == 2
    # a window up to when the files were listed: only the start bounds it
    assert capture.inside(key, HOUR, None) and not capture.inside(key, HOUR + dt.timedelta(minutes=1), None)
    batch = capture.parse_file(body, (window[0], None), outputs=False)
    assert batch.inputs.text() == b"".join(f"{i},1.0,monthly\n".encode() for i in range(3, 12))


def test_read_batches_reads_what_parse_reads(aws_env):
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket="capture")
    rng = random.Random(7)
    for minute in range(0, 180, 20):  # three hour folders, a file every 20 minutes
        when = HOUR + dt.timedelta(minutes=minute)
        records = [event(f"{rng.randint(1, 9)},{rng.uniform(20, 80):.2f},monthly".encode(),
                         when=when + dt.timedelta(seconds=30 * i)) for i in range(30)]
        s3.put_object(Bucket="capture", Key=capture.object_key("dc", "e", "AllTraffic", when), Body=jsonl(records))
    start, end = HOUR + dt.timedelta(minutes=30), HOUR + dt.timedelta(hours=2, minutes=30)
    keys = [item["Key"] for item in capture.list_objects(s3, "s3://capture/dc", "e", ["AllTraffic"], start, end)]
    batches = list(capture.read_batches(s3, "capture", keys, start, end, outputs=False))
    lines = (line for key in keys for line in s3.get_object(Bucket="capture", Key=key)["Body"].read().splitlines())
    records = [r for r in map(capture.parse, lines) if start <= r.time <= end]  # the record-by-record parse
    # 12:30-14:30: the 12:20 file's last 10 records, all of the 12:40 to 13:40 files' (the 13:00
    # hour is inside the window by its key), the 14:20 file's first 21 (to 14:30:00 included).
    assert sum(b.records for b in batches) == len(records) == 10 + 5 * 30 + 21
    assert b"".join(b.inputs.text() for b in batches) == b"".join(
        (",".join(row) + "\n").encode() for r in records for row in r.inputs)
    sampled = list(capture.read_batches(s3, "capture", keys, start, end, max_records=45, outputs=False))
    assert sum(b.records for b in sampled) == 45
    # smops drift's readers, a share of the files each, profile what one ordered stream does
    base = baseline.load(str(MODEL_MONITOR / "statistics.json"), str(MODEL_MONITOR / "constraints.json"))
    shared = drift.profile_files(base, s3, "capture", keys, start, end, None)
    one_stream = drift.profile_capture(base, batches, None)
    assert_same_profile(shared, one_stream)
    assert shared.records == 10 + 5 * 30 + 21
    assert drift.profile_files(base, s3, "capture", keys, start, end, None, max_records=45).records == 45


def test_objects_are_fetched_ahead_as_s3s_latency_needs():
    """One GET in flight for each three objects' work a GET takes, at most `ahead`, judged on a full
    window of GETs."""
    from collections import deque

    def last(seconds: float, slow: float | None = None) -> deque:
        return deque([seconds] * (15 if slow else 16) + ([slow] if slow else []), maxlen=16)

    work = deque([0.005] * 16, maxlen=16)
    assert capture.in_flight(deque(maxlen=16), work, 4) == 0
    assert capture.in_flight(deque([0.3] * 8, maxlen=16), work, 4) == 0  # too few GETs to judge
    assert capture.in_flight(last(0.003), work, 4) == 0  # a local S3: the other reader covers the wait
    assert capture.in_flight(last(0.031), work, 4) == 2
    assert capture.in_flight(last(0.300), work, 4) == 4
    assert capture.in_flight(last(0.003, slow=0.5), work, 4) == 0  # one slow GET is not the trend


def test_fetching_ahead_keeps_the_order(aws_env):
    """With S3 slow to answer (each GET held 50 ms here), threads fetch ahead; the objects still come
    in the order asked, each once."""
    import threading
    import time

    s3 = boto3.client("s3")
    s3.create_bucket(Bucket="capture")
    keys = [f"k/{i:03d}" for i in range(40)]
    for key in keys:
        s3.put_object(Bucket="capture", Key=key, Body=key.encode())
    threads = set()

    def slow(**_):
        threads.add(threading.current_thread().name)
        time.sleep(0.05)

    s3.meta.events.register("before-send.s3.GetObject", slow)
    assert [body for _, body in capture.fetch(s3, "capture", keys)] == [key.encode() for key in keys]
    assert any(name.startswith("capture-fetch") for name in threads)


def test_a_readers_error_stops_the_other_reader(aws_env):
    """The first reader's first file is not capture: the other reader, 150 files to go, stops after
    the file it is reading instead of reading them all before the error is told."""
    import threading

    s3 = boto3.client("s3")
    s3.create_bucket(Bucket="capture")
    bad = capture.object_key("dc", "e", "AllTraffic", HOUR)
    s3.put_object(Bucket="capture", Key=bad, Body=b'{"hello": "world"}\n')
    good = [capture.object_key("dc", "e", "AllTraffic", HOUR + dt.timedelta(seconds=i + 1)) for i in range(300)]
    body = jsonl([event(b"1,20.0,monthly")])
    for key in good:
        s3.put_object(Bucket="capture", Key=key, Body=body)
    fetched, bad_fetched = [], threading.Event()

    def count(params, **_):
        fetched.append(params["Key"])
        if params["Key"] != bad:  # the other reader starts once the bad file is in
            bad_fetched.wait(60)

    s3.meta.events.register("before-parameter-build.s3.GetObject", count)
    s3.meta.events.register("after-call.s3.GetObject", lambda **_: bad_fetched.set())
    base = baseline.load(str(MODEL_MONITOR / "statistics.json"), str(MODEL_MONITOR / "constraints.json"))
    keys = [bad, *good]
    assert keys[0::drift.READERS][0] == bad
    with pytest.raises(BadInput, match="not a SageMaker data capture record"):
        drift.profile_files(base, s3, "capture", keys, HOUR, None, None)
    assert bad in fetched and len(fetched) < 1 + 150


def assert_same_profile(mine: drift.Captured, theirs: drift.Captured) -> None:
    assert mine.records == theirs.records
    for a, b in zip(mine.inputs.columns + mine.outputs.columns, theirs.inputs.columns + theirs.outputs.columns,
                    strict=True):
        assert (a.present, a.missing, a.integral, a.count, a.negatives, a.min, a.max) == \
            (b.present, b.missing, b.integral, b.count, b.negatives, b.min, b.max)
        assert a.mean == pytest.approx(b.mean) and a.std_dev == pytest.approx(b.std_dev)
        assert a.categories == b.categories
        if b.split_points is not None:
            assert list(a.below) == list(b.below) and list(a.at_or_below) == list(b.at_or_below)
    assert (mine.inputs.short, mine.inputs.long) == (theirs.inputs.short, theirs.inputs.long)


# -- smops baseline's datasets ----------------------------------------------------------------------


def training_data():
    import pyarrow as pa

    rng = random.Random(11)
    n = 3000
    tenure = [rng.randint(0, 72) for _ in range(n)]
    charges = [None if i % 50 == 0 else round(rng.uniform(20, 120), 2) for i in range(n)]
    contract = [rng.choice(["monthly", "yearly", "two-year"]) for _ in range(n)]
    return pa.table({"tenure": tenure, "monthly_charges": charges, "contract": contract})


def features(folder: Path) -> list[dict]:
    return json.loads((folder / "statistics.json").read_text())["features"]


def summary(feature: dict) -> tuple:
    numbers = feature.get("numerical_statistics")
    if numbers:
        return (feature["name"], feature["inferred_type"], numbers["common"], round(numbers["mean"], 6),
                numbers["min"], numbers["max"])
    strings = feature["string_statistics"]
    return feature["name"], feature["inferred_type"], strings["common"], strings["distribution"]["categorical"]["buckets"]


@pytest.mark.parametrize("where", ["file", "folder", "s3-prefix", "s3-file", "s3-prefix-on-processing"])
def test_a_parquet_dataset_gives_the_baseline_its_csv_gives(aws_env, tmp_path, where):
    import pyarrow.csv as pa_csv
    import pyarrow.parquet as pq

    table = training_data()
    pa_csv.write_csv(table, tmp_path / "train.csv")
    folder = tmp_path / "parquet"
    folder.mkdir()
    pq.write_table(table.slice(0, 1000), folder / "part-0.parquet")
    pq.write_table(table.slice(1000), folder / "part-1.parquet")
    pq.write_table(table, tmp_path / "train.parquet")
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket="data")
    for path in (*folder.iterdir(), tmp_path / "train.parquet"):
        s3.upload_file(str(path), "data", f"train/{'parts/' if path.parent == folder else ''}{path.name}")
    dataset = {"file": str(tmp_path / "train.parquet"), "folder": str(folder),
               "s3-prefix": "s3://data/train/parts", "s3-file": "s3://data/train/train.parquet",
               "s3-prefix-on-processing": "s3://data/train/parts"}[where]
    # on Processing, each of two shards reads its Parquet file with the same reader
    engine = ["--engine", "processing", "--instance-count", "2", "--processing-role-arn",
              "arn:aws:iam::123456789012:role/smops-processing"] if where.endswith("processing") else []
    for source, out, extra in ((str(tmp_path / "train.csv"), "from-csv", []), (dataset, "from-parquet", engine)):
        result = run_smops("baseline", "--dataset", source, "--output", str(tmp_path / out), "--json", *extra)
        assert result.returncode == 0, result.stderr
        assert json.loads(result.stdout)["records"] == "3000"
    from_csv, from_parquet = features(tmp_path / "from-csv"), features(tmp_path / "from-parquet")
    assert [summary(f) for f in from_parquet] == [summary(f) for f in from_csv]
    assert [f["inferred_type"] for f in from_parquet] == ["Integral", "Fractional", "String"]
    assert from_parquet[1]["numerical_statistics"]["common"] == {"num_present": 2940, "num_missing": 60}


def test_a_folder_without_parquet_files_is_bad_input(tmp_path):
    (tmp_path / "data").mkdir()
    result = run_smops("baseline", "--dataset", str(tmp_path / "data"), "--output", str(tmp_path / "out"))
    assert result.returncode == 2 and "holds no .parquet file" in result.stderr


def test_profiles_of_parts_merge_into_the_profile_of_the_whole():
    """What a shard's profile must give: merged, the same checks as one pass over every record."""
    base = baseline.load(str(MODEL_MONITOR / "statistics.json"), str(MODEL_MONITOR / "constraints.json"))
    rng = random.Random(13)
    files = [jsonl([event(f"{rng.randint(-2, 9)},{rng.uniform(20, 90):.2f},{rng.choice(['monthly', 'weekly'])}"
                          f"{',x' if rng.random() < 0.05 else ''}".encode(), output=f"{rng.random():.3f}\n".encode())
                    for _ in range(200)]) for _ in range(4)]
    whole = drift.profile_capture(base, [capture.parse_file(f, None) for f in files], "monthly_charges")
    # each part as a Processing shard hands it back: dumped to JSON, loaded on the runner
    parts = [drift.Captured.load(json.loads(json.dumps(
        drift.profile_capture(base, [capture.parse_file(f, None)], "monthly_charges").dump()))) for f in files]
    merged = parts[0]
    for part in parts[1:]:
        merged.merge(part)
    assert merged.records == whole.records == 800
    assert_same_profile(merged, whole)
    assert_same(drift.check(base, merged, "monthly_charges"), drift.check(base, whole, "monthly_charges"))


def test_counts_at_the_split_points_are_those_of_each_value_compared():
    """The histograms a drift distance is read from, against a comparison of every value with every
    point: values below, equal to, between and above the points, negatives among them."""
    import numpy as np

    from smops.monitor import data_profile

    points = np.array([-1.5, 0.0, 0.25, 2.0, 7.0])
    rng = np.random.default_rng(3)
    batches = [np.concatenate([rng.normal(1, 3, 500), rng.choice(points, 40)]) for _ in range(3)]
    column = data_profile.Column(split_points=points, categories=False)
    for values in batches:
        column._numbers(values)
    values = np.concatenate(batches)
    below = [int((values < p).sum()) for p in points]
    at_or_below = [int((values <= p).sum()) for p in points]
    assert list(np.cumsum(column.below)[:-1]) == below and column.below.sum() == values.size
    assert list(np.cumsum(column.at_or_below)[:-1]) == at_or_below and column.at_or_below.sum() == values.size
    assert (column.min, column.max, column.negatives) == (values.min(), values.max(), int((values < 0).sum()))
    assert column.mean == pytest.approx(values.mean()) and column.std_dev == pytest.approx(values.std())
