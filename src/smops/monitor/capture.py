"""SageMaker data capture: its S3 layout and JSON Lines records, written (by the emulator) and read.

SageMaker writes what a real-time endpoint with DataCaptureConfig receives and answers to
`DESTINATION/ENDPOINT/VARIANT/yyyy/mm/dd/hh/MM-SS-mmm-UUID.jsonl`, one JSON object per line:

    {"captureData": {"endpointInput": {"observedContentType": "text/csv", "mode": "INPUT",
                                       "data": "...", "encoding": "CSV"},
                     "endpointOutput": {... "mode": "OUTPUT" ...}},
     "eventMetadata": {"eventId": "UUID", "inferenceTime": "2022-02-14T17:25:49Z"},
     "eventVersion": "0"}

`encoding` is CSV or JSON when the content type is in CaptureContentTypeHeader's CsvContentTypes or
JsonContentTypes, else BASE64 (the default with no header configured). Reading streams: one S3
object at a time, line by line, so memory does not grow with the number of records. Standard
library only: the emulator writes with it and the drift check reads with it.
"""

from __future__ import annotations

import base64
import csv
import datetime as dt
import io
import json
import random
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

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
    if not uri.startswith("s3://") or len(uri) <= 5:
        raise BadInput(f"{uri!r} is not an s3:// URI", "pass s3://bucket/prefix")
    bucket, _, key = uri[5:].partition("/")
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


def list_files(s3, uri: str, endpoint: str, variants: Iterable[str], start: dt.datetime, end: dt.datetime) -> list[str]:
    """Keys of the capture files in the window, in time order (the key names the hour and minute)."""
    return [item["Key"] for item in list_objects(s3, uri, endpoint, variants, start, end)]


def list_objects(s3, uri: str, endpoint: str, variants: Iterable[str], start: dt.datetime, end: dt.datetime) -> list[dict]:
    """The capture files in the window as ListObjectsV2 lists them (Key, Size, ...), in time order."""
    bucket, prefix = split_uri(uri)
    items = []
    paginator = s3.get_paginator("list_objects_v2")
    for variant in variants:
        for folder in hour_prefixes(prefix, endpoint, variant, start, end):
            for page in paginator.paginate(Bucket=bucket, Prefix=folder):
                items += [item for item in page.get("Contents", []) if item["Key"].endswith(".jsonl")]
    return sorted(items, key=lambda item: item["Key"].rsplit("/", 5)[-5:])


def variants_of(s3, uri: str, endpoint: str) -> list[str]:
    """The variant folders under DESTINATION/ENDPOINT/ (one per production variant captured)."""
    bucket, prefix = split_uri(uri)
    folder = "/".join(filter(None, [prefix, endpoint])) + "/"
    found = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=folder, Delimiter="/"):
        found += [p["Prefix"][len(folder):].strip("/") for p in page.get("CommonPrefixes", [])]
    return found


def read(
    s3,
    bucket: str,
    keys: list[str],
    start: dt.datetime,
    end: dt.datetime,
    max_records: int | None = None,
    seed: int = 0,
) -> Iterator[Record]:
    """Stream the records of these files that fall in [start, end]. With max_records, files are
    read in a random (seeded) order until that many records were read: a sample spread over the
    window that costs only what it reads."""
    if max_records is not None:
        keys = list(keys)
        random.Random(seed).shuffle(keys)
    count = 0
    for key in keys:
        body = s3.get_object(Bucket=bucket, Key=key)["Body"]
        for line in body.iter_lines():
            if not line.strip():
                continue
            captured = parse(line)
            if not start <= captured.time <= end:
                continue
            yield captured
            count += 1
            if max_records is not None and count >= max_records:
                return


def parse(line: bytes | str) -> Record:
    """One JSON line → Record; a line that is not a capture record raises BadInput."""
    try:
        event = json.loads(line)
        data = event["captureData"]
        when = dt.datetime.fromisoformat(event["eventMetadata"]["inferenceTime"].replace("Z", "+00:00"))
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise BadInput(
            f"not a SageMaker data capture record ({type(exc).__name__}: {exc}): {str(line)[:120]!r}",
            "point --data-capture-uri at the endpoint's DataCaptureConfig DestinationS3Uri",
        ) from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.timezone.utc)
    return Record(when, rows(data.get("endpointInput")), rows(data.get("endpointOutput")))


def rows(payload: dict | None) -> list[list[str]]:
    """The rows a captured payload holds: CSV lines, or JSON instances (see _json_rows)."""
    if not payload:
        return []
    text = payload.get("data") or ""
    if payload.get("encoding") == "BASE64":
        text = base64.b64decode(text).decode("utf-8", errors="replace")
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
