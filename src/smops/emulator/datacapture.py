"""Data capture: an endpoint with DataCaptureConfig writes each invocation to the emulator's S3.

As SageMaker does: only when EnableCapture is not false, for InitialSamplingPercentage percent of
the requests, the input and/or output as CaptureOptions asks (Input, Output, InputAndOutput),
encoded by CaptureContentTypeHeader, in SageMaker's layout and record format (smops.monitor.capture).
One file per captured invocation (SageMaker batches a few minutes into one file; a reader sees the
same records). A destination bucket that does not exist receives nothing, as in SageMaker.
"""

from __future__ import annotations

import datetime as dt
import json
import random

from smops.monitor import capture


def write(account: str, endpoint, variant: str, request: tuple[bytes, str], response: tuple[bytes, str]) -> str | None:
    """Capture one invocation of `endpoint` (moto's FakeEndpoint); returns the S3 URI written, if any."""
    config = getattr(endpoint, "data_capture_config", None) or {}
    if not config or config.get("EnableCapture") is False:
        return None
    if random.uniform(0, 100) >= float(config.get("InitialSamplingPercentage", 0)):
        return None
    modes = {option.get("CaptureMode") for option in config.get("CaptureOptions") or []}
    wants_input = bool(modes & {"Input", "InputAndOutput"})
    wants_output = bool(modes & {"Output", "InputAndOutput"})
    if not (wants_input or wants_output):
        return None
    bucket, prefix = capture.split_uri(config["DestinationS3Uri"])
    now = dt.datetime.now(dt.timezone.utc)
    event = capture.record(
        now,
        request if wants_input else None,
        response if wants_output else None,
        config.get("CaptureContentTypeHeader"),
    )
    from moto.s3.exceptions import MissingBucket
    from moto.s3.models import s3_backends

    key = capture.object_key(prefix, endpoint.endpoint_name, variant, now)
    try:
        s3_backends[account]["aws"].put_object(bucket, key, (json.dumps(event) + "\n").encode())
    except MissingBucket:
        return None
    return f"s3://{bucket}/{key}"
