"""SageMaker data capture: its S3 layout and JSON Lines records, written (by the emulator) and read.

SageMaker writes what a real-time endpoint with DataCaptureConfig receives and answers to
`DESTINATION/ENDPOINT/VARIANT/yyyy/mm/dd/hh/MM-SS-mmm-UUID.jsonl`, one JSON object per line:

    {"captureData": {"endpointInput": {"observedContentType": "text/csv", "mode": "INPUT",
                                       "data": "...", "encoding": "CSV"},
                     "endpointOutput": {... "mode": "OUTPUT" ...}},
     "eventMetadata": {"eventId": "UUID", "inferenceTime": "2022-02-14T17:25:49Z"},
     "eventVersion": "0"}

`encoding` is CSV or JSON when the content type is in CaptureContentTypeHeader's CsvContentTypes or
JsonContentTypes, else BASE64 (the default with no header configured). Writing uses the standard
library only (the emulator captures with it). Reading goes a file at a time (`read_batches`): a
small pool of threads fetches the next few S3 objects while one is parsed, so memory is bounded by
the pool, not the number of records; pyarrow's JSON reader parses a whole file at once, and the
CSV payloads of its records are decoded and joined into one CSV text for the profiler to parse in
one go. A payload that is not plain CSV goes through `rows` (the record-by-record reader).
"""

from __future__ import annotations

import base64
import binascii
import csv
import datetime as dt
import io
import itertools
import json
import random
import re
import statistics
import time
import uuid
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from smops import aws
from smops.errors import BadInput

CSV_TYPES = ("text/csv",)
JSON_TYPES = ("application/json", "application/jsonlines")


def media_type(content_type: str | None) -> str:
    """text/csv; charset=utf-8 → text/csv"""
    return (content_type or "").split(";", 1)[0].strip().lower()


def encoding_for(content_type: str | None, header: dict | None) -> str:
    """The encoding SageMaker captures a payload of this content type with."""
    kind = media_type(content_type)
    header = header or {}
    if kind in (t.lower() for t in header.get("CsvContentTypes") or ()):
        return "CSV"
    if kind in (t.lower() for t in header.get("JsonContentTypes") or ()):
        return "JSON"
    return "BASE64"


def _payload(body: bytes, content_type: str, mode: str, header: dict | None) -> dict:
    encoding = encoding_for(content_type, header)
    data = base64.b64encode(body).decode("ascii") if encoding == "BASE64" else body.decode("utf-8")
    return {"observedContentType": content_type, "mode": mode, "data": data, "encoding": encoding}


def record(
    when: dt.datetime,
    request: tuple[bytes, str] | None,
    response: tuple[bytes, str] | None,
    header: dict | None = None,
    event_id: str | None = None,
) -> dict:
    """One capture record: the request and/or response as (body, content type)."""
    data = {}
    if request is not None:
        data["endpointInput"] = _payload(*request, "INPUT", header)
    if response is not None:
        data["endpointOutput"] = _payload(*response, "OUTPUT", header)
    return {
        "captureData": data,
        "eventMetadata": {"eventId": event_id or str(uuid.uuid4()), "inferenceTime": iso(when)},
        "eventVersion": "0",
    }


def iso(when: dt.datetime) -> str:
    return when.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def object_key(prefix: str, endpoint: str, variant: str, when: dt.datetime) -> str:
    """Where SageMaker puts a capture file written at `when`, under the destination's key prefix."""
    when = when.astimezone(dt.timezone.utc)
    name = f"{when:%M-%S}-{when.microsecond // 1000:03d}-{uuid.uuid4()}.jsonl"
    return "/".join(filter(None, [prefix.strip("/"), endpoint, variant, f"{when:%Y/%m/%d/%H}", name]))


def split_uri(uri: str) -> tuple[str, str]:
    """s3://bucket/some/prefix → (bucket, "some/prefix")"""
    bucket, key = aws.split_s3_uri(uri)
    if not uri.startswith("s3://") or not bucket:
        raise BadInput(f"{uri!r} is not an s3:// URI", "pass s3://bucket/prefix")
    return bucket, key.strip("/")


# -- reading -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Record:
    """What one captured invocation holds, as rows of cells (a CSV line or a JSON instance each)."""

    time: dt.datetime
    inputs: list[list[str]]
    outputs: list[list[str]]


def hour_prefixes(prefix: str, endpoint: str, variant: str, start: dt.datetime, end: dt.datetime) -> list[str]:
    """The hour folders a window spans, oldest first."""
    hour = start.astimezone(dt.timezone.utc).replace(minute=0, second=0, microsecond=0)
    folders = []
    while hour <= end:
        folders.append("/".join(filter(None, [prefix.strip("/"), endpoint, variant, f"{hour:%Y/%m/%d/%H}/"])))
        hour += dt.timedelta(hours=1)
    return folders


def list_objects(s3, uri: str, endpoint: str, variants: Iterable[str], start: dt.datetime, end: dt.datetime) -> list[dict]:
    """The capture files in the window, {Key, Size} each (no more: a day of a busy endpoint is tens
    of thousands of files), in time order."""
    bucket, prefix = split_uri(uri)
    items = []
    paginator = s3.get_paginator("list_objects_v2")
    for variant in variants:
        for folder in hour_prefixes(prefix, endpoint, variant, start, end):
            for page in paginator.paginate(Bucket=bucket, Prefix=folder):
                items += [{"Key": item["Key"], "Size": item["Size"]} for item in page.get("Contents", [])
                          if item["Key"].endswith(".jsonl")]
    return sorted(items, key=lambda item: item["Key"].rsplit("/", 5)[-5:])


def variants_of(s3, uri: str, endpoint: str) -> list[str]:
    """The variant folders under DESTINATION/ENDPOINT/ (one per production variant captured)."""
    bucket, prefix = split_uri(uri)
    folder = "/".join(filter(None, [prefix, endpoint])) + "/"
    found = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=folder, Delimiter="/"):
        found += [p["Prefix"][len(folder):].strip("/") for p in page.get("CommonPrefixes", [])]
    return found


def sample_order(keys: list[str], max_records: int | None, seed: int) -> list[str]:
    """With max_records, the files in a random (seeded) order: a sample spread over the window that
    costs only what it reads. Without, as listed (time order)."""
    if max_records is None:
        return keys
    keys = list(keys)
    random.Random(seed).shuffle(keys)
    return keys


# At most how many S3 objects are fetched ahead of the one being parsed: enough to hide S3's latency
# behind parsing, few enough that memory stays a handful of capture files (about 0.5 MB each).
FETCH_AHEAD = 4


def fetch(s3, bucket: str, keys: Iterable[str], then=lambda key, body: (key, body),
          ahead: int = FETCH_AHEAD) -> Iterator:
    """then(key, body) of each object, in order. Up to `ahead` of them are fetched (and handled:
    pyarrow and numpy let go of the GIL) by threads ahead of the caller, as many as S3's latency
    needs (`in_flight`): over the internet from a GitHub runner, several; from an S3 that answers
    about as fast as an object is worked on, none, where more threads would only contend for the GIL."""
    latencies: deque = deque(maxlen=16)  # seconds of the last GETs
    work: deque = deque(maxlen=16)  # seconds spent on each of the last objects: `then`, and the caller's

    def get(key: str):
        started = time.perf_counter()
        body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
        fetched = time.perf_counter()
        latencies.append(fetched - started)
        return then(key, body), time.perf_counter() - fetched

    keys = iter(keys)
    pending: deque = deque()
    with ThreadPoolExecutor(max_workers=max(ahead, 1), thread_name_prefix="capture-fetch") as pool:
        while True:
            wanted = in_flight(latencies, work, ahead)
            pending.extend(pool.submit(get, key) for key in itertools.islice(keys, max(wanted - len(pending), 0)))
            if pending:
                done, handling = pending.popleft().result()
            else:
                key = next(keys, None)
                if key is None:
                    return
                done, handling = get(key)
            handed = time.perf_counter()
            yield done
            work.append(handling + time.perf_counter() - handed)


def in_flight(latencies, work, ahead: int) -> int:
    """How many GETs to keep ahead of the caller: one for each three objects' work a GET takes, at
    most `ahead`. A shorter wait costs nothing, as smops drift's other reader works meanwhile; on
    the emulator's local S3 every thread fetching ahead made drift slower (bench/README.md)."""
    if len(latencies) < latencies.maxlen or not work:  # judged on a full window of GETs
        return 0
    # a slow GET now and then is not S3's latency; the work per object is its mean (the caller
    # profiles in batches, a file's worth of time every few files)
    latency, each = statistics.median(latencies), statistics.fmean(work)
    return min(ahead, int(latency / max(3 * each, 1e-6)))


@dataclass
class Rows:
    """The rows of one side (the endpoint's input or output) of many records: the plain CSV payloads
    as one text (`csv`, each payload ending with a newline, for the profiler to parse at once), and
    the rows of every other payload as cells (`cells`)."""

    csv: list[bytes] = field(default_factory=list)
    cells: list[list[str]] = field(default_factory=list)

    def add(self, payload) -> None:
        """One captured payload: plain CSV to `csv`, anything else through `rows` to `cells`."""
        data = _plain_csv(payload)
        if data is None:
            self.cells += rows(payload)
        elif data.strip():
            self.csv.append(data if data.endswith(b"\n") else data + b"\n")

    def add_all(self, payloads) -> None:
        """Many payloads: a list of them, or an Arrow struct array (a file's), joined at once when all
        are plain CSV."""
        joined = None if isinstance(payloads, list) else _arrow_csv(payloads)
        if joined is not None:
            self.csv.append(joined)
            return
        for payload in payloads if isinstance(payloads, list) else payloads.to_pylist():
            self.add(payload)

    def extend(self, other: Rows) -> None:
        self.csv += other.csv
        self.cells += other.cells

    def text(self) -> bytes:
        return b"".join(self.csv)


@dataclass
class Batch:
    """The records of one capture file (or of a few Records) that fell in the window."""

    records: int = 0
    inputs: Rows = field(default_factory=Rows)
    outputs: Rows = field(default_factory=Rows)

    def extend(self, other: Batch) -> None:
        self.records += other.records
        self.inputs.extend(other.inputs)
        self.outputs.extend(other.outputs)

    @classmethod
    def of(cls, records: Iterable[Record]) -> Batch:
        batch = cls()
        for captured in records:
            batch.records += 1
            batch.inputs.cells += captured.inputs
            batch.outputs.cells += captured.outputs
        return batch


def batches(items: Iterable[Record | Batch], size: int = 4096) -> Iterator[Batch]:
    """Batches as they come, and Records (the record-by-record reader's) gathered `size` at a time."""
    pending: list[Record] = []
    for item in items:
        if isinstance(item, Batch):
            yield item
            continue
        pending.append(item)
        if len(pending) >= size:
            yield Batch.of(pending)
            pending = []
    if pending:
        yield Batch.of(pending)


def read_batches(
    s3,
    bucket: str,
    keys: list[str],
    start: dt.datetime,
    end: dt.datetime | None,
    max_records: int | None = None,
    seed: int = 0,
    outputs: bool = True,
    ahead: int = FETCH_AHEAD,
) -> Iterator[Batch]:
    """The records of these files that fall in [start, end], a Batch per file: what `read` reads,
    without a Python object per record. `end` None: no later bound than the listing of the files
    (see `inside`). `outputs=False` leaves the endpoint's outputs unread. `ahead`: see `fetch`."""
    def window_of(key: str):
        return None if inside(key, start, end) else (start, end)

    def parsed(key: str, body: bytes) -> tuple[str, bytes, Batch]:
        return key, body, parse_file(body, window_of(key), outputs)

    count = 0
    for key, body, batch in fetch(s3, bucket, sample_order(keys, max_records, seed), parsed, ahead):
        if max_records is not None and count + batch.records > max_records:  # the sample's last file, cut
            batch = parse_file(body, window_of(key), outputs, max_records - count)
        count += batch.records
        yield batch
        if max_records is not None and count >= max_records:
            return


def inside(key: str, start: dt.datetime, end: dt.datetime | None) -> bool:
    """Whether every record of this file is inside the window by its key alone: SageMaker files a
    record under the hour (yyyy/mm/dd/hh) it was captured in, so a file whose whole hour is in the
    window needs no look at its records' times. `end` None: the window has no later bound than the
    moment the files were listed, which no record they hold can be after."""
    try:
        hour = dt.datetime.strptime("/".join(key.rsplit("/", 5)[-5:-1]), "%Y/%m/%d/%H").replace(tzinfo=dt.timezone.utc)
    except ValueError:
        return False
    return start <= hour and (end is None or hour + dt.timedelta(hours=1) <= end)


def parse_file(body: bytes, window: tuple[dt.datetime, dt.datetime] | None, outputs: bool = True,
               limit: int | None = None) -> Batch:
    """A capture file's records in the window (None: all of them), the first `limit` of them."""
    batch = _sagemaker_base64_csv(body, window, outputs, limit)
    if batch is not None:
        return batch
    try:
        inputs, output_payloads, times = _arrow_events(body, window is not None, outputs)
    except ValueError:  # a line pyarrow cannot read as a capture record: read line by line
        inputs, output_payloads, times = _line_events(body, outputs)
    keep = range(len(inputs)) if window is None else _inside(times, window)
    if limit is not None:
        keep = keep[:limit]
    batch = Batch(records=len(keep))
    batch.inputs.add_all(_take(inputs, keep))
    if outputs:
        batch.outputs.add_all(_take(output_payloads, keep))
    return batch


def _base64_csv_pattern(side: str, mode: str):
    """A text/csv payload captured as BASE64, its fields in SageMaker's order, JSON's blanks allowed
    between them; the group: its data."""
    return re.compile(rb'"%s"[ \t]*:[ \t]*\{[ \t]*"observedContentType"[ \t]*:[ \t]*"[ \t]*(?i:text/csv)[ \t]*'
                      rb'(?:;[^"\\]*)?"[ \t]*,[ \t]*"mode"[ \t]*:[ \t]*"%s"[ \t]*,[ \t]*"data"[ \t]*:[ \t]*'
                      rb'"([A-Za-z0-9+/=]*)"[ \t]*,[ \t]*"encoding"[ \t]*:[ \t]*"BASE64"[ \t]*\}'
                      % (side.encode(), mode.encode()))


BASE64_CSV_INPUT = _base64_csv_pattern("endpointInput", "INPUT")
BASE64_CSV_OUTPUT = _base64_csv_pattern("endpointOutput", "OUTPUT")
INFERENCE_TIME = re.compile(rb'"inferenceTime"[ \t]*:[ \t]*"([^"\\]*)"')


def _object_lines(body: bytes) -> int | None:
    """The number of lines when each is one JSON object, by its ends ({ first, } last); None when a
    line is not (blank, cut short, CRLF, a byte-order mark...). numpy looks at every byte at once."""
    import numpy as np

    if not body:
        return 0
    data = np.frombuffer(body, dtype=np.uint8)
    if data[0] != ord("{") or not body.endswith((b"}", b"}\n")):
        return None
    newline = data == ord("\n")
    if (newline[1:] & (data[:-1] != ord("}"))).any() or (newline[:-1] & (data[1:] != ord("{"))).any():
        return None
    return int(np.count_nonzero(newline)) + (not body.endswith(b"\n"))


def _sagemaker_base64_csv(body: bytes, window, outputs: bool, limit: int | None) -> Batch | None:
    """A file of SageMaker's default capture of CSV (text/csv payloads captured as BASE64, their
    fields in the order SageMaker writes them), read with regular expressions: about three times
    faster than pyarrow's JSON reader, which parses every field of every record. None when a line
    is not such a record, or a payload is not plain CSV: then the file goes the general way."""
    lines = _object_lines(body)
    if lines is None:
        return None
    sides = [BASE64_CSV_INPUT.findall(body)] + ([BASE64_CSV_OUTPUT.findall(body)] if outputs else [])
    if any(len(found) != lines for found in sides):
        return None
    keep = range(lines)
    if window is not None:
        times = INFERENCE_TIME.findall(body)
        try:
            keep = _inside([_time(text.decode()) for text in times], window) if len(times) == lines else None
        except ValueError:
            keep = None
        if keep is None:
            return None
    if limit is not None:
        keep = keep[:limit]
    batch = Batch(records=len(keep))
    for rows, found in zip((batch.inputs, batch.outputs), sides):
        found = _take(found, keep)
        if not found:
            continue
        text = _joined_csv(set(CSV_TYPES), found, {"BASE64"})
        if text is None:
            return None
        rows.csv.append(text)
    return batch


def _take(payloads, keep):
    if len(keep) == len(payloads):
        return payloads
    if not keep:
        return []
    return [payloads[i] for i in keep] if isinstance(payloads, list) else payloads.take(list(keep))


def _schema(times: bool, outputs: bool):
    import pyarrow as pa

    payload = pa.struct([(name, pa.string()) for name in ("observedContentType", "data", "encoding")])
    data = [("endpointInput", payload)] + ([("endpointOutput", payload)] if outputs else [])
    fields = [("captureData", pa.struct(data))]
    if times:
        fields.append(("eventMetadata", pa.struct([("inferenceTime", pa.string())])))
    return pa.schema(fields)


def _arrow_events(body: bytes, times: bool, outputs: bool):
    """(input payloads, output payloads, times) of a file, the payloads as Arrow struct arrays,
    parsed by pyarrow's JSON reader, which reads only the fields asked for. ValueError when a line
    is not a capture record."""
    import pyarrow as pa
    import pyarrow.json as pa_json

    try:
        table = pa_json.read_json(pa.py_buffer(body), read_options=pa_json.ReadOptions(use_threads=False),
                                  parse_options=pa_json.ParseOptions(
            explicit_schema=_schema(times, outputs), unexpected_field_behavior="ignore"))
    except pa.ArrowInvalid as exc:
        raise ValueError(str(exc)) from None
    data = table.column("captureData").combine_chunks()
    if data.null_count:
        raise ValueError("a record has no captureData")
    output_payloads = data.field("endpointOutput") if outputs else None
    found = _times(table.column("eventMetadata").combine_chunks().field("inferenceTime")) if times else []
    return data.field("endpointInput"), output_payloads, found


def _times(texts):
    """inferenceTime strings as an Arrow UTC timestamp array (pyarrow's ISO-8601 cast), else (a time
    without its zone) as a list of datetimes, one by one."""
    import pyarrow as pa

    if texts.null_count:
        raise ValueError("a record has no eventMetadata.inferenceTime")
    try:
        return texts.cast(pa.timestamp("us", "UTC"))
    except pa.ArrowInvalid:
        return [_time(text) for text in texts.to_pylist()]


def _inside(times, window: tuple[dt.datetime, dt.datetime | None]):
    """The indices of the times (a list, or an Arrow timestamp array) in the window (its end None:
    no later bound)."""
    window = (window[0], window[1] or dt.datetime.max.replace(tzinfo=dt.timezone.utc))
    if isinstance(times, list):
        return [i for i, when in enumerate(times) if window[0] <= when <= window[1]]
    import pyarrow as pa
    import pyarrow.compute as pc

    micros = times.cast(pa.int64())
    epoch = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)
    start, end = ((when - epoch) // dt.timedelta(microseconds=1) for when in window)
    bounds = pc.min_max(micros).as_py()
    if not len(times) or (start <= bounds["min"] and bounds["max"] <= end):
        return range(len(times))
    inside = pc.and_(pc.greater_equal(micros, start), pc.less_equal(micros, end))
    return [i for i, yes in enumerate(inside.to_pylist()) if yes]


def _line_events(body: bytes, outputs: bool) -> tuple[list, list, list]:
    inputs, output_payloads, found = [], [], []
    for line in body.splitlines():
        if line.strip():
            event, when = _event(line)
            inputs.append(event["captureData"].get("endpointInput"))
            output_payloads.append(event["captureData"].get("endpointOutput") if outputs else None)
            found.append(when)
    return inputs, output_payloads, found


def _arrow_csv(payloads) -> bytes | None:
    """The CSV text of an Arrow struct array of payloads (see _joined_csv); None when a field is null."""
    if not len(payloads) or payloads.null_count or payloads.field("data").null_count:
        return None
    return _joined_csv(set(payloads.field("observedContentType").unique().to_pylist()),
                       payloads.field("data").to_pylist(), set(payloads.field("encoding").unique().to_pylist()))


def _joined_csv(types: set[str], data: list, encodings: set[str]) -> bytes | None:
    """The CSV text of many payloads (their content types, data, and the encodings they were captured
    with), each followed by a newline, when all are CSV captured with one encoding and hold no quote;
    None otherwise (then each payload goes its own way). binascii, a payload at a time, decodes
    BASE64 about five times faster here than numpy on the joined text."""
    if not data or any(media_type(t) not in CSV_TYPES for t in types):
        return None
    if encodings == {"CSV"}:
        text = "\n".join(data).encode("utf-8") + b"\n"
    elif encodings == {"BASE64"}:
        try:
            text = b"\n".join([binascii.a2b_base64(payload) for payload in data]) + b"\n"
        except binascii.Error:
            return None
    else:
        return None
    return None if b'"' in text or b"\r" in text else text


def _plain_csv(payload) -> bytes | None:
    """The bytes of a payload that is CSV, captured as CSV or BASE64, with no quote (so that joined
    with others it parses as it would alone); None for anything else."""
    if not isinstance(payload, dict) or media_type(payload.get("observedContentType")) not in CSV_TYPES:
        return None
    text = payload.get("data") or ""
    if not isinstance(text, str):
        return None
    encoding = payload.get("encoding")
    try:
        data = binascii.a2b_base64(text) if encoding == "BASE64" else text.encode("utf-8") if encoding == "CSV" else None
    except (binascii.Error, UnicodeEncodeError):
        return None
    return None if data is None or b'"' in data or b"\r" in data else data


def parse(line: bytes | str) -> Record:
    """One JSON line → Record; a line that is not a capture record raises BadInput."""
    event, when = _event(line)
    data = event["captureData"]
    return Record(when, rows(data.get("endpointInput")), rows(data.get("endpointOutput")))


def _event(line: bytes | str) -> tuple[dict, dt.datetime]:
    """A capture record's JSON and its inference time; BadInput when the line is not one."""
    try:
        event = json.loads(line)
        if not isinstance(event["captureData"], dict):
            raise TypeError("captureData is not an object")
        when = _time(event["eventMetadata"]["inferenceTime"])
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise BadInput(
            f"not a SageMaker data capture record ({type(exc).__name__}: {exc}): {str(line)[:120]!r}",
            "point --data-capture-uri at the endpoint's DataCaptureConfig DestinationS3Uri",
        ) from None
    return event, when


def _time(text: str) -> dt.datetime:
    when = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    return when if when.tzinfo else when.replace(tzinfo=dt.timezone.utc)


def rows(payload: dict | None) -> list[list[str]]:
    """The rows a captured payload holds: CSV lines, or JSON instances (see _json_rows)."""
    if not payload:
        return []
    text = payload.get("data") or ""
    if payload.get("encoding") == "BASE64":
        try:
            text = base64.b64decode(text).decode("utf-8", errors="replace")
        except binascii.Error:
            return [["<unparsed>"]]
    kind = media_type(payload.get("observedContentType"))
    if payload.get("encoding") == "JSON" or kind in JSON_TYPES or (kind not in CSV_TYPES and text[:1] in "[{"):
        try:
            return [_cells(row) for row in _json_rows(text)]
        except ValueError:
            return [["<unparsed>"]]
    return [row for row in csv.reader(io.StringIO(text)) if row]


def _json_rows(text: str) -> list:
    """JSON Lines, or one document: {"instances": [...]} or {"predictions": [...]} (one row per
    element), {"features": [...]} (one row), a list of rows, a list of values (one row), a value."""
    documents = [json.loads(line) for line in text.splitlines() if line.strip()] if "\n" in text.strip() else [json.loads(text)]
    found = []
    for document in documents:
        if isinstance(document, dict) and isinstance(document.get("instances", document.get("predictions")), list):
            found += document.get("instances", document.get("predictions"))
        elif isinstance(document, list) and document and all(isinstance(row, (list, dict)) for row in document):
            found += document
        else:
            found.append(document)
    return found


def _cells(row) -> list[str]:
    if isinstance(row, dict):
        for key in ("features", "data", "score", "predicted_label", "label"):
            if key in row:
                return _cells(row[key])
        return [_cell(v) for v in row.values()]
    if isinstance(row, list):
        return [_cell(v) for v in row]
    return [_cell(row)]


def _cell(value) -> str:
    return "" if value is None else json.dumps(value) if isinstance(value, (list, dict)) else str(value)
