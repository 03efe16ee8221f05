"""A package's metrics, as the registry, the build's gates and `smops status` read them.

Metrics come from the reports a package's `ModelMetrics` point to in S3 — SageMaker's model quality
shapes (`{"regression_metrics": {"mse": {"value": 4.2, "standard_deviation": 0.3}}}`,
`binary_classification_metrics`, `multiclass_classification_metrics`, …) or any JSON of numbers —
and from its numeric `CustomerMetadataProperties`. A metric is named by its category and path:
`ModelQuality.regression_metrics.mse`, `CustomerMetadata.r2`; a gate may name any unique suffix
(`regression_metrics.mse`, `mse`). Comparing them and gating on them is the build's
(smops.build.gates).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Any

import botocore.exceptions

from smops import aws


# Reports are small JSON documents; anything bigger is linked, not read.
REPORT_MAX_BYTES = 1 << 20
# Keys of SageMaker's reports whose numbers are not metrics of the model (counts, spreads).
NOT_METRICS = {"confusion_matrix", "standard_deviation"}
CUSTOMER_METADATA = "CustomerMetadata"


# -- reading --------------------------------------------------------------------------------------


@dataclass
class Metrics:
    """A package's metrics (name → value) and the reports that could not be read (name → URI)."""

    values: dict[str, float] = field(default_factory=dict)
    unread: dict[str, str] = field(default_factory=dict)


def read(package: dict, s3) -> Metrics:
    found = Metrics()
    for category, reports in (package.get("ModelMetrics") or {}).items():
        for report_name, report in (reports or {}).items():
            uri = (report or {}).get("S3Uri")
            if not uri:
                continue
            # Constraints files hold thresholds, not measurements: linked, not read.
            document = None if report_name.endswith("Constraints") else _read_json(s3, uri)
            if document is None:
                found.unread[f"{category}.{report_name}"] = uri
            else:
                found.values.update(numbers(document, category))
    for key, value in (package.get("CustomerMetadataProperties") or {}).items():
        parsed = number(value)
        if parsed is not None:
            found.values[f"{CUSTOMER_METADATA}.{key}"] = parsed
    return found


def numbers(document: Any, prefix: str = "") -> dict[str, float]:
    """Flatten a report: `{"value": x}` objects and plain numbers, under their dotted path."""
    if isinstance(document, dict):
        value = number(document.get("value"))
        if value is not None:
            return {prefix: value}
        found: dict[str, float] = {}
        for key, inner in document.items():
            if key not in NOT_METRICS:
                found.update(numbers(inner, f"{prefix}.{key}" if prefix else str(key)))
        return found
    value = number(document)
    return {prefix: value} if value is not None and prefix else {}


def number(value: Any) -> float | None:
    """A finite number from a JSON value or a numeric string ("NaN" is none)."""
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        return None
    try:
        parsed = float(value)
    except ValueError:
        return None
    return parsed if math.isfinite(parsed) else None


def _read_json(s3, uri: str) -> Any:
    bucket, key = aws.split_s3_uri(uri)
    try:
        if s3.head_object(Bucket=bucket, Key=key)["ContentLength"] > REPORT_MAX_BYTES:
            return None
        return json.loads(s3.get_object(Bucket=bucket, Key=key)["Body"].read())
    except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError, ValueError):
        return None


# -- which way is better ------------------------------------------------------------------------

def number_text(value: float | None) -> str:
    return "—" if value is None else f"{value:.4g}"


# -- the gate -------------------------------------------------------------------------------------
