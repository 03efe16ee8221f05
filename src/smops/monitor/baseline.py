"""Baselines in Model Monitor's file formats, and `smops baseline`, which computes one from CSV or Parquet.

`statistics.json` (per feature: inferred_type; numerical_statistics with common.num_present /
num_missing, mean, sum, std_dev, min, max and distribution.kll {buckets, sketch}; or
string_statistics with distinct_count and distribution.categorical.buckets) and `constraints.json`
(per feature: inferred_type, completeness, num_constraints.is_non_negative,
string_constraints.domains; monitoring_config with the thresholds). Schemas: the SageMaker
Developer Guide's "Schema for Statistics" and "Schema for Constraints" pages. Files that Model
Monitor's baselining job wrote serve `smops drift`, and the files written here serve Model Monitor:
the sketch holds KLL compactor levels (level h items weigh 2^h) with Deequ's parameters.
"""

from __future__ import annotations

import csv
import json
import math
import os
from dataclasses import dataclass, field
from pathlib import Path

from smops import aws, gha
from smops.errors import BadInput

STATISTICS, CONSTRAINTS = "statistics.json", "constraints.json"
# Where `smops build` records a baseline the pipeline did not register (s3:// URIs; doctor reads them).
STATISTICS_KEY, CONSTRAINTS_KEY = "smops:baseline-statistics", "smops:baseline-constraints"
# What a Model Monitor execution writes beside its statistics.json.
VIOLATIONS = "constraint_violations.json"
KLL_K, KLL_C = 2048, 0.64  # Deequ's sketch size and shrinking factor
BUCKETS = 10  # Model Monitor materializes every distribution in 10 buckets
DOMAIN_MAX = 20  # categorical values listed as a domain (Model Monitor: "for small cardinality")
MONITORING_CONFIG = {
    "evaluate_constraints": "Enabled",
    "emit_metrics": "Enabled",
    "datatype_check_threshold": 1.0,
    "domain_content_threshold": 1.0,
    "distribution_constraints": {
        "perform_comparison": "Enabled",
        "comparison_threshold": 0.1,
        "comparison_method": "Robust",
    },
}


@dataclass
class Baseline:
    statistics: dict
    constraints: dict
    source: str
    _cdfs: dict = field(default_factory=dict, init=False, repr=False, compare=False)

    def features(self) -> list[dict]:
        return list(self.statistics.get("features") or [])

    def cdf(self, feature: dict):
        """cdf_points(feature), worked out once (every reader of the capture asks for it)."""
        name = feature.get("name")
        if name not in self._cdfs:
            self._cdfs[name] = cdf_points(feature)
        return self._cdfs[name]

    def constraint(self, name: str) -> dict:
        return next((f for f in self.constraints.get("features") or [] if f.get("name") == name), {})

    def config(self, name: str) -> dict:
        """monitoring_config, with the feature's monitoringConfigOverrides applied."""
        config = dict(self.constraints.get("monitoring_config") or {})
        config.update(self.constraint(name).get("monitoringConfigOverrides") or {})
        distribution = dict((self.constraints.get("monitoring_config") or {}).get("distribution_constraints") or {})
        distribution.update(config.get("distribution_constraints") or {})
        config["distribution_constraints"] = distribution
        return config


# -- where baselines live --------------------------------------------------------------------


def read_text(location: str, region=None, profile=None) -> str | None:
    """A local file or an s3:// object as text; None when it does not exist."""
    if location.startswith("s3://"):
        import botocore.exceptions

        bucket, key = aws.split_s3_uri(location)
        try:
            body = aws.client("s3", region, profile).get_object(Bucket=bucket, Key=key)["Body"]
        except botocore.exceptions.ClientError as exc:
            if aws.error_code(exc) in {"NoSuchKey", "404", "NoSuchBucket"}:
                return None
            raise
        return body.read().decode("utf-8")
    path = Path(location)
    return path.read_text() if path.is_file() else None


def read_violations(folder: str, region=None, profile=None) -> list[dict]:
    """The violations of a Model Monitor execution's output folder; none when it wrote no file."""
    text = read_text(f"{folder}/{VIOLATIONS}", region, profile)
    return (json.loads(text).get("violations") or []) if text else []


def write_text(location: str, text: str, region=None, profile=None) -> None:
    if location.startswith("s3://"):
        bucket, key = aws.split_s3_uri(location)
        aws.client("s3", region, profile).put_object(Bucket=bucket, Key=key, Body=text.encode())
        return
    Path(location).parent.mkdir(parents=True, exist_ok=True)
    Path(location).write_text(text)


def join(folder: str, name: str) -> str:
    return folder.rstrip("/") + "/" + name if folder.startswith("s3://") else os.path.join(folder, name)


def folder_of(location: str) -> str:
    """The folder a file is in: s3://b/p for s3://b/p/f, "." for a bare local file name."""
    return location.rsplit("/", 1)[0] if location.startswith("s3://") else os.path.dirname(location) or "."


def files(location: str) -> tuple[str, str]:
    """(statistics.json, constraints.json) of --baseline: a folder holding both, or a statistics
    file (any name ending .json) with constraints.json beside it."""
    if location.endswith(".json"):
        return location, join(folder_of(location), CONSTRAINTS)
    return join(location, STATISTICS), join(location, CONSTRAINTS)


def load(statistics_uri: str, constraints_uri: str | None, region=None, profile=None) -> Baseline:
    """Read a baseline; constraints are optional (then Model Monitor's defaults apply)."""
    statistics = _json(statistics_uri, region, profile, required=True)
    constraints = _json(constraints_uri, region, profile, required=False) if constraints_uri else None
    if not isinstance(statistics.get("features"), list):
        raise BadInput(f"{statistics_uri} has no features list", "pass a Model Monitor statistics.json")
    if constraints is None:
        gha.log(f"no constraints.json next to {statistics_uri}: Model Monitor's default thresholds apply")
        constraints = {"version": 0, "features": [], "monitoring_config": MONITORING_CONFIG}
    return Baseline(statistics, constraints, folder_of(statistics_uri))


def _json(location: str, region, profile, required: bool) -> dict | None:
    text = read_text(location, region, profile)
    if text is None:
        if required:
            raise BadInput(f"baseline file {location} not found", "check the --baseline location")
        return None
    try:
        document = json.loads(text)
    except ValueError as exc:
        raise BadInput(f"{location} is not JSON ({exc})", "pass Model Monitor's statistics.json / constraints.json") from None
    if not isinstance(document, dict):
        raise BadInput(f"{location} is not a JSON object", "pass Model Monitor's statistics.json / constraints.json")
    return document


def from_package(package: dict) -> tuple[str, str | None] | None:
    """The package's data quality baseline: the one its pipeline registered (DriftCheckBaselines,
    a QualityCheckStep's, else ModelMetrics), else the one `smops build` recorded in its customer
    metadata."""
    found = registered(package)
    if found:
        return found
    metadata = package.get("CustomerMetadataProperties") or {}
    if metadata.get(STATISTICS_KEY):
        return metadata[STATISTICS_KEY], metadata.get(CONSTRAINTS_KEY)
    return None


def registered(package: dict) -> tuple[str, str | None] | None:
    """The ModelDataQuality baseline the pipeline registered with the package, if any."""
    for section in (package.get("DriftCheckBaselines"), package.get("ModelMetrics")):
        quality = (section or {}).get("ModelDataQuality") or {}
        statistics = (quality.get("Statistics") or {}).get("S3Uri")
        if statistics:
            return statistics, (quality.get("Constraints") or {}).get("S3Uri")
    return None


# -- computing one from a dataset --------------------------------------------------------------


def compute(rows, names: list[str]) -> Baseline:
    """Profile the rows into statistics and constraints: an iterable of cell lists, or of what
    read_dataset yields (Arrow record batches with the columns in `names`' order, and lists of rows)."""
    table, items = profile_rows(rows, names)
    return summarize(table.columns, items, names)


def profile_rows(rows, names: list[str]):
    """(a data_profile.Table of a column per name, the number of rows): what shards of a Processing job
    each compute, and merge (data_profile.Table.merge)."""
    from smops.monitor import data_profile

    table = data_profile.Table([data_profile.Column(sketch_k=KLL_K) for _ in names])
    items = 0
    pending: list[list[str]] = []
    for item in rows:
        if hasattr(item, "num_rows"):
            items += item.num_rows
            table.add_arrays(item.columns)
            continue
        batch = item if item and isinstance(item[0], list) else [item]
        pending += batch
        items += len(batch)
        if len(pending) >= data_profile.BATCH_ROWS:
            table.add_rows(pending)
            pending = []
    table.add_rows(pending)
    return table, items


def summarize(columns: list, items: int, names: list[str]) -> Baseline:
    """Statistics and constraints of profiled columns."""
    statistics = {"version": 0, "dataset": {"item_count": items}, "features": []}
    constraints = {"version": 0, "features": [], "monitoring_config": MONITORING_CONFIG}
    for name, column in zip(names, columns):
        kind = column.inferred_type
        common = {"num_present": column.present, "num_missing": column.missing}
        constraint = {"name": name, "inferred_type": kind,
                      "completeness": column.present / items if items else 1.0}
        if kind == "String":
            values = sorted(column.categories.items(), key=lambda kv: (-kv[1], kv[0]))
            statistics["features"].append({
                "name": name, "inferred_type": kind,
                "string_statistics": {
                    "common": common, "distinct_count": float(len(values) + (1 if column.other else 0)),
                    "distribution": {"categorical": {"buckets": [{"value": v, "count": n} for v, n in values]}},
                },
            })
            if len(values) <= DOMAIN_MAX and not column.other:
                constraint["string_constraints"] = {"domains": sorted(v for v, _ in values)}
        else:
            statistics["features"].append({
                "name": name, "inferred_type": kind,
                "numerical_statistics": {
                    "common": common, "mean": column.mean, "sum": column.total, "std_dev": column.std_dev,
                    "min": column.min if column.count else 0.0, "max": column.max if column.count else 0.0,
                    "distribution": {"kll": {"buckets": _buckets(column), "sketch": _sketch(column.sketch)}},
                },
            })
            constraint["num_constraints"] = {"is_non_negative": column.count > 0 and column.negatives == 0}
        constraints["features"].append(constraint)
    return Baseline(statistics, constraints, "")


def _sketch(sketch) -> dict:
    """The KLL sketch as Deequ writes it: compactor levels, level h holding the items of weight 2^h."""
    levels: list[list[float]] = []
    for item, weight in sketch if not sketch.is_empty() else ():
        level = int(math.log2(weight))
        levels += [[] for _ in range(level + 1 - len(levels))]
        levels[level].append(float(item))
    return {"parameters": {"c": KLL_C, "k": KLL_K}, "data": levels or [[]]}


def _buckets(column) -> list[dict]:
    if not column.count:
        return []
    low, high = column.min, column.max
    edges = [low + (high - low) * i / BUCKETS for i in range(BUCKETS + 1)]
    inner = sorted(set(edges[1:-1]))
    if not inner:  # a constant column: one bucket holds everything
        return [{"lower_bound": low, "upper_bound": high, "count": float(column.count)}]
    cdf = [0.0, *column.sketch.get_cdf(inner)[:-1], 1.0]
    return [
        {"lower_bound": edges[i], "upper_bound": edges[i + 1], "count": round((cdf[i + 1] - cdf[i]) * column.count, 3)}
        for i in range(BUCKETS)
    ]


def cdf_points(feature: dict):
    """(split points, baseline CDF at each) of a numerical feature: from its KLL sketch (each item
    weighs 2^level), else from its buckets; None when the baseline has neither."""
    import numpy as np

    kll = ((feature.get("numerical_statistics") or {}).get("distribution") or {}).get("kll") or {}
    levels = (kll.get("sketch") or {}).get("data") or []
    values = [float(v) for level in levels for v in level]
    weights = [2.0**h for h, level in enumerate(levels) for _ in level]
    if not values:
        buckets = kll.get("buckets") or []
        values = [float(b["upper_bound"]) for b in buckets]
        weights = [float(b.get("count") or 0) for b in buckets]
    if not values or sum(weights) <= 0:
        return None
    order = np.argsort(values, kind="stable")
    points, weights = np.asarray(values)[order], np.asarray(weights)[order]
    unique = np.unique(points)
    cumulative = np.cumsum(weights)
    # the CDF at each distinct point: the running weight at its last occurrence
    last = np.searchsorted(points, unique, side="right") - 1
    return unique, cumulative[last] / cumulative[-1], float(cumulative[-1])


# -- `smops baseline` ---------------------------------------------------------------------------


def read_dataset(location: str, header: bool | None, region=None, profile=None):
    """(column names, batches) of the training data: a CSV file or s3:// object, a Parquet file, or
    a folder or s3:// prefix of Parquet files. The batches are Arrow record batches (the columns
    in the names' order; CSV cells as text, null for missing) and lists of the CSV rows of another
    width, for `compute`; they stream, so memory does not grow with the rows. S3 objects are
    copied to a temporary folder first, removed once the batches are read (or dropped)."""
    import tempfile

    folder = tempfile.TemporaryDirectory(prefix="smops-dataset-") if location.startswith("s3://") else None
    try:
        paths = _local(location, folder.name if folder else "", region, profile)
        names, batches = _parquet(location, paths) if paths[0].endswith(".parquet") else _csv(location, paths[0], header)
    except BaseException:
        if folder:
            folder.cleanup()
        raise

    def owned():
        try:
            yield from batches
        finally:
            if folder:
                folder.cleanup()

    return names, owned()


def _local(location: str, folder: str, region, profile) -> list[str]:
    """The local paths of the dataset: itself, the Parquet files of a folder, or copies in `folder`
    of an S3 object or of the Parquet objects under an S3 prefix."""
    if not location.startswith("s3://"):
        path = Path(location)
        if path.is_dir():
            found = sorted(str(p) for p in path.rglob("*.parquet"))
            if not found:
                raise BadInput(f"--dataset {location} holds no .parquet file",
                               "pass a CSV or Parquet file, or a folder of Parquet files")
            return found
        if not path.is_file():
            raise BadInput(f"--dataset {location} not found", "pass a CSV or Parquet file or an s3:// URI")
        return [location]
    import botocore.exceptions

    s3 = aws.client("s3", region, profile)
    bucket, key = aws.split_s3_uri(location)
    keys = [key]
    if not key.endswith((".parquet", ".csv")):
        pages = s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=key.rstrip("/") + "/")
        keys = sorted(item["Key"] for page in pages for item in page.get("Contents", [])
                      if item["Key"].endswith(".parquet")) or keys
    paths = []
    for i, name in enumerate(keys):
        paths.append(os.path.join(folder, f"{i}-{os.path.basename(name) or 'dataset'}"))
        try:
            s3.download_file(bucket, name, paths[-1])
        except botocore.exceptions.ClientError as exc:
            raise BadInput(f"cannot read --dataset s3://{bucket}/{name}: {aws.error_message(exc)}", "check the URI") from None
    return paths


def _parquet(location: str, paths: list[str]):
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        files = [pq.ParquetFile(path) for path in paths]
    except (pa.ArrowInvalid, OSError) as exc:
        raise BadInput(f"--dataset {location} is not Parquet ({exc})", "pass Parquet files, or a CSV file") from None
    names = files[0].schema_arrow.names
    for path, file in zip(paths, files):
        if file.schema_arrow.names != names:
            raise BadInput(f"the Parquet files of --dataset {location} have different columns "
                           f"({os.path.basename(path)}: {', '.join(file.schema_arrow.names)}; first: {', '.join(names)})",
                           "pass a prefix of one dataset's files")
    return names, (batch for file in files for batch in file.iter_batches(batch_size=65536, columns=names))


def _csv(location: str, path: str, header: bool | None):
    from smops.monitor import data_profile

    with open(path, encoding="utf-8", newline="") as text:
        first, second = text.readline().rstrip("\r\n"), text.readline().rstrip("\r\n")
    if not first:
        raise BadInput(f"--dataset {location} is empty", "pass the training data as CSV or Parquet")
    sample = "\n".join(filter(None, [first, second]))
    if header is None:
        header = bool(second) and csv.Sniffer().has_header(sample + "\n")
    first_row = next(csv.reader([first]))
    names = [n.strip() or f"_c{i}" for i, n in enumerate(first_row)] if header else [f"_c{i}" for i in range(len(first_row))]

    def batches():
        import pyarrow as pa
        import pyarrow.csv as pa_csv

        odd: list[str] = []
        options = data_profile.csv_options(len(names), [f"_c{i}" for i in range(len(names))], odd.append, int(header))
        try:
            for batch in pa_csv.open_csv(path, **options):
                yield batch
                if odd:
                    yield [row for row in csv.reader(odd) if row]
                    odd.clear()
        except pa.ArrowInvalid as exc:
            raise BadInput(f"--dataset {location} is not readable CSV ({exc})", "pass UTF-8 CSV, or Parquet") from None
        if odd:
            yield [row for row in csv.reader(odd) if row]

    return names, batches()


def run(args) -> dict[str, str]:
    """`smops baseline`: profile a CSV or Parquet dataset into statistics.json and constraints.json."""
    from smops.monitor import processing

    remote = args.dataset.startswith("s3://")
    if args.engine == "processing" and not remote:
        raise BadInput("--engine processing reads --dataset from S3", "upload it and pass its s3:// URI")
    first, size, objects = _dataset_objects(args) if remote and args.engine != "local" else (args.dataset, 0, 1)
    sharded = remote and args.engine != "local" and processing.wanted(args, size // processing.RECORD_BYTES)
    if objects > 1 and not sharded and not first.endswith(".parquet"):
        raise BadInput(f"--dataset {args.dataset} holds {objects} objects; one runner reads one CSV",
                       "pass one object, a prefix of Parquet files, or --engine processing to read them all")
    # the column names from the first object when the rows are read elsewhere (or not at all)
    names, batches = read_dataset(first if sharded or args.dry_run else args.dataset, args.header, args.region,
                                  args.profile)
    label = column_index(args.label_column, names, "--label-column") if args.label_column else None
    order = None
    if label is not None:
        order = [i for i in range(len(names)) if i != label] + [label]
        names = [names[i] for i in order]
        batches = (reordered(batch, order) for batch in batches)
    gha.log(f"profiling {args.dataset}: {len(names)} columns ({', '.join(names[:12])}{'…' if len(names) > 12 else ''})")
    if args.dry_run:
        what = processing.estimate(args, size // processing.RECORD_BYTES, objects) if sharded else \
            f"one process on this runner would profile {args.dataset}"
        gha.log(f"dry run: {what}")
        return {}
    hours = None
    if sharded:
        header = names != [f"_c{i}" for i in range(len(names))]
        table, items, hours = _on_processing(args, names, header, order)
        baseline = summarize(table.columns, items, names)
    else:
        baseline = compute(batches, names)
    items = baseline.statistics["dataset"]["item_count"]
    if not items:
        raise BadInput(f"--dataset {args.dataset} has no rows", "pass the training data as CSV")
    statistics_uri, constraints_uri = join(args.output, STATISTICS), join(args.output, CONSTRAINTS)
    write_text(statistics_uri, json.dumps(baseline.statistics, indent=2), args.region, args.profile)
    write_text(constraints_uri, json.dumps(baseline.constraints, indent=2), args.region, args.profile)
    gha.log(f"wrote {statistics_uri} and {constraints_uri} ({items} records)")
    engine = "" if hours is None else (f" (profiled by a SageMaker Processing job on {args.instance_count} × "
                                       f"{args.instance_type}: {hours:.3f} instance-hours)")
    rows_md = [[f"`{f['name']}`", f["inferred_type"], _summary(f)] for f in baseline.features()]
    gha.add_summary(
        f"### smops baseline: {items} records, {len(names)} features\n\n"
        + gha.table(["feature", "type", "distribution"], rows_md)
        + f"\n\nWritten to `{statistics_uri}` and `{constraints_uri}`{engine}."
    )
    return {"statistics-uri": statistics_uri, "constraints-uri": constraints_uri, "records": str(items),
            "features": str(len(names))}


def _dataset_objects(args) -> tuple[str, int, int]:
    """(the first object's URI, bytes, objects) under the --dataset prefix (an object is its own)."""
    bucket, prefix = aws.split_s3_uri(args.dataset)
    keys, size = [], 0
    for page in aws.client("s3", args.region, args.profile).get_paginator("list_objects_v2").paginate(
            Bucket=bucket, Prefix=prefix):
        keys += [item["Key"] for item in page.get("Contents", [])]
        size += sum(item["Size"] for item in page.get("Contents", []))
    if not keys:
        raise BadInput(f"--dataset {args.dataset}: no object under it", "check the URI")
    return (args.dataset if keys == [prefix] else f"s3://{bucket}/{min(keys)}"), size, len(keys)


def reordered(batch, order: list[int]):
    """A batch with its columns in this order: an Arrow record batch, or rows (a short row's absent
    cells become missing)."""
    if hasattr(batch, "num_rows"):
        return batch.select(order)
    return [[row[i] if i < len(row) else "" for i in order] for row in batch]


def column_index(spec: str, names: list[str], flag: str) -> int:
    if spec in names:
        return names.index(spec)
    if spec.isdigit() and int(spec) < len(names):
        return int(spec)
    raise BadInput(f"{flag} {spec!r} is neither a column name nor an index", f"columns: {', '.join(names)}")


def _summary(feature: dict) -> str:
    numbers = feature.get("numerical_statistics")
    if numbers:
        return f"mean {numbers['mean']:.4g}, min {numbers['min']:.4g}, max {numbers['max']:.4g}"
    buckets = feature["string_statistics"]["distribution"]["categorical"]["buckets"]
    return ", ".join(f"{b['value']} ({b['count']})" for b in buckets[:5])


def _on_processing(args, names: list[str], header: bool, order: list[int] | None):
    """Profile --dataset (every object under it, sharded) on Processing: (a data_profile.Table of every
    instance's, rows, instance-hours)."""
    from smops.monitor import data_profile, processing

    table, items = profile_rows([], names)
    bucket, _ = aws.split_s3_uri(args.dataset)
    partials = processing.run(args, "baseline", args.dataset, {"S3Uri": args.dataset, "S3DataType": "S3Prefix"},
                              {"names": names, "header": header, "order": order}, f"s3://{bucket}/smops-processing")
    for partial in partials:
        table.merge(data_profile.load_table(partial["table"]))
        items += partial["records"]
    return table, items, partials[0]["instance_hours"]
