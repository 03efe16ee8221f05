"""The data baseline `smops build` gives every package it registers, so `smops drift` needs no flags.

After the execution registered a package, smops profiles the data its training job read (the job's
`train` channel, else its first; or --training-data) as `smops baseline` does, leaving out the label
column (the endpoint's requests do not carry it; SageMaker's built-in algorithms take it first), and
records where the baseline is: at the ModelDataQuality URIs the pipeline registered
(DriftCheckBaselines, else ModelMetrics) when it registered some and no step of it wrote them, else
under s3://<default bucket>/smops-baseline/<group>/v<version>/ with the location in the package's
customer metadata (baseline.STATISTICS_KEY, baseline.CONSTRAINTS_KEY). A baseline the pipeline wrote
itself is kept as it is.
"""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass, field

from smops import gha, registry
from smops.errors import BadInput
from smops.monitor import baseline, capture

PREFIX = "smops-baseline"
NO_LABEL = "none"


@dataclass
class Recorded:
    """What the build did about the package's data baseline, for its log and summary."""

    statistics_uri: str
    where: str  # how the package records it
    dataset: str = ""
    records: int = 0
    features: int = 0
    metadata: dict[str, str] = field(default_factory=dict)  # to add to the package's customer metadata

    def markdown(self) -> str:
        made = f" from `{self.dataset}` ({self.records} records, {self.features} features)" if self.dataset else ""
        return f"**Data baseline** for `smops drift`: `{self.statistics_uri}`{made}; {self.where}"


def attach(sm, s3, package: dict, step_list: list[dict], args) -> Recorded | None:
    """Make sure the package has a data baseline drift can find; None when there is no data to
    profile (a notice says why)."""
    registered = baseline.registered(package)
    if registered and baseline.read_text(registered[0], args.region, args.profile) is not None:
        return Recorded(registered[0], "registered by the pipeline")
    dataset = args.training_data or training_data(sm, step_list)
    if not dataset:
        gha.notice(f"no data baseline for {registry.label(package)}: the execution ran no training job to take the data "
                   "from; pass --training-data")
        return None
    if registered:
        statistics_uri = registered[0]
        constraints_uri = registered[1] or baseline.join(statistics_uri.rsplit("/", 1)[0], baseline.CONSTRAINTS)
        where = "at the DriftCheckBaselines the pipeline registered"
    else:
        folder = f"s3://{args.default_bucket or capture.split_uri(dataset)[0]}/{PREFIX}/" \
                 f"{package['ModelPackageGroupName']}/v{package['ModelPackageVersion']}"
        statistics_uri, constraints_uri = baseline.join(folder, baseline.STATISTICS), baseline.join(folder, baseline.CONSTRAINTS)
        where = f"recorded in the package's metadata ({baseline.STATISTICS_KEY})"
    names, rows = _dataset(s3, dataset, args)
    computed = baseline.compute(rows, names)
    records = computed.statistics["dataset"]["item_count"]
    if not records:
        gha.notice(f"no data baseline for {registry.label(package)}: {dataset} holds no rows")
        return None
    baseline.write_text(statistics_uri, json.dumps(computed.statistics, indent=2), args.region, args.profile)
    baseline.write_text(constraints_uri, json.dumps(computed.constraints, indent=2), args.region, args.profile)
    gha.log(f"data baseline of {registry.label(package)}: {records} records of {dataset} -> {statistics_uri}")
    recorded = Recorded(statistics_uri, where, dataset, records, len(names))
    if not registered:
        recorded.metadata = {baseline.STATISTICS_KEY: statistics_uri, baseline.CONSTRAINTS_KEY: constraints_uri}
    return recorded


def training_data(sm, step_list: list[dict]) -> str | None:
    """The S3 data the execution's training job read: its `train` channel, else its first."""
    for step in step_list:
        arn = ((step.get("Metadata") or {}).get("TrainingJob") or {}).get("Arn")
        if not arn:
            continue
        job = sm.describe_training_job(TrainingJobName=arn.rsplit("/", 1)[-1])
        channels = job.get("InputDataConfig") or []
        chosen = next((c for c in channels if c.get("ChannelName") == "train"), channels[0] if channels else {})
        uri = ((chosen.get("DataSource") or {}).get("S3DataSource") or {}).get("S3Uri")
        if uri:
            return uri
    return None


def _dataset(s3, location: str, args):
    """(feature names, batches as baseline.read_dataset yields them) of every CSV or Parquet object
    under the location, the label column left out."""
    bucket, key = capture.split_uri(location)
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=key)
    keys = [item["Key"] for page in pages for item in page.get("Contents") or [] if not item["Key"].endswith("/")]
    if not keys:
        raise BadInput(f"the training data {location} holds no objects", "pass --training-data")
    names, rows = baseline.read_dataset(f"s3://{bucket}/{keys[0]}", None, args.region, args.profile)
    more = (baseline.read_dataset(f"s3://{bucket}/{k}", None, args.region, args.profile)[1] for k in keys[1:])
    rows = itertools.chain(rows, itertools.chain.from_iterable(more))
    label = args.training_label_column
    if label == NO_LABEL:
        return names, rows
    index = baseline.column_index(label, names, "--training-label-column")
    features = names[:index] + names[index + 1:]
    if names == [f"_c{i}" for i in range(len(names))]:  # no header: number the features as requests carry them
        features = [f"_c{i}" for i in range(len(features))]
    keep = [i for i in range(len(names)) if i != index]
    return features, (baseline.reordered(batch, keep) for batch in rows)
