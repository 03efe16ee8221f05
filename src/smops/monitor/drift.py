"""`smops drift`: an endpoint's captured traffic against its baseline, with Model Monitor's checks.

Works without Model Monitor (closed to new customers): it reads the data capture SageMaker writes
for any endpoint (smops.monitor.capture) and runs the checks Model Monitor documents, reporting in its
`constraint_violations.json` shape. Captured input rows map to the baseline's features by
position (the captured CSV has no header, as Model Monitor's `_c0, _c1, …`); the endpoint's output
is compared with the baseline feature named by --prediction-feature. With --monitoring-schedule,
a schedule's latest execution is read instead (smops.monitor.modelmonitor).

Checks (the names are Model Monitor's constraint_check_type):
- baseline_drift_check: the L-infinity distance between the baseline's distribution (its KLL
  sketch) and the captured values' exceeds comparison_threshold; "Robust" subtracts Deequ's
  small-sample allowance 1.8·sqrt((n+m)/(n·m)), "Simple" does not.
- completeness_check: the share of non-missing values is below the baseline's completeness.
- data_type_check: the share of values of the baseline's type is below datatype_check_threshold.
- categorical_values_check: the share of values inside the baseline's domain is below
  domain_content_threshold (unseen categories).
- non_negative_check: negative values in a feature the baseline says is non-negative.
- missing_column_check / extra_column_check: rows with fewer / more columns than the baseline.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
import math
import re
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from smops import aws, gha
from smops.errors import BadInput, RemoteFailure
from smops.monitor import baseline, capture
from smops.monitor.report import Distributions, Feature, Report

C_ALPHA = 1.8  # Deequ's default c(alpha), for the Robust distance
DURATION = re.compile(r"^(\d+(?:\.\d+)?)\s*([mhd])$")
UNITS = {"m": "minutes", "h": "hours", "d": "days"}
BAR_WIDTH = 20
# Threads that read and profile the capture on one runner, a share of the files each. Two beat one
# with a fetch pool by about a fifth on two cores (bench/README.md); three or four added nothing.
READERS = 2
FLUSH_RECORDS = 8192  # captured records parsed and profiled at once, per reader (16384 cost 8 MiB more, for 3% less time)


# -- the window ---------------------------------------------------------------------------------


def window(since: str | None, start: str | None, end: str | None, now: dt.datetime | None = None):
    now = now or dt.datetime.now(dt.timezone.utc)
    finish = _time(end, "--end") if end else now
    if start:
        if since:
            raise BadInput("both --since and --start given", "pass --since 24h, or --start (and --end)")
        begin = _time(start, "--start")
    else:
        match = DURATION.match((since or "24h").strip())
        if not match:
            raise BadInput(f"--since {since!r} is not a duration", "write it as 30m, 24h or 7d")
        begin = finish - dt.timedelta(**{UNITS[match.group(2)]: float(match.group(1))})
    if begin >= finish:
        raise BadInput(f"the window starts ({begin:%Y-%m-%dT%H:%M:%SZ}) after it ends", "swap --start and --end")
    return begin, finish


def _time(text: str, flag: str) -> dt.datetime:
    try:
        when = dt.datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise BadInput(f"{flag} {text!r} is not an ISO-8601 time", "e.g. 2026-05-01T00:00:00Z") from None
    return when if when.tzinfo else when.replace(tzinfo=dt.timezone.utc)


# -- comparing ----------------------------------------------------------------------------------


@dataclass
class Captured:
    """The captured records profiled column by column against a baseline's split points: all that
    the checks read. Profiles of parts of the records merge into the profile of all of them: a
    Processing job's shards each dump theirs (smops.monitor.shard), the runner loads and merges them."""

    records: int
    inputs: object  # data_profile.Table of the baseline's input features
    outputs: object  # data_profile.Table of the --prediction-feature (none without one)

    def merge(self, other: Captured) -> None:
        self.records += other.records
        self.inputs.merge(other.inputs)
        self.outputs.merge(other.outputs)

    def dump(self) -> dict:
        from smops.monitor import data_profile

        return {"records": self.records, "inputs": data_profile.dump_table(self.inputs),
                "outputs": data_profile.dump_table(self.outputs)}

    @classmethod
    def load(cls, state: dict) -> Captured:
        from smops.monitor import data_profile

        return cls(state["records"], data_profile.load_table(state["inputs"]), data_profile.load_table(state["outputs"]))


def compare(base: baseline.Baseline, records_or_batches, prediction: str | None) -> Report:
    """Stream the captured records (capture.Batch or capture.Record items) through the baseline's
    checks."""
    return check(base, profile_capture(base, records_or_batches, prediction), prediction)


def _features(base: baseline.Baseline, prediction: str | None):
    """(input features, output features, split points and CDF by feature name) of a baseline."""
    features = base.features()
    names = [f.get("name") for f in features]
    if prediction and prediction not in names:
        raise BadInput(f"--prediction-feature {prediction!r} is not in the baseline",
                       f"its features: {', '.join(names)}")
    inputs = [f for f in features if f.get("name") != prediction]
    outputs = [f for f in features if f.get("name") == prediction]
    points = {}
    for feature in inputs + outputs:
        config = base.config(feature["name"])
        enabled = (config["distribution_constraints"].get("perform_comparison") or "Enabled") == "Enabled"
        found = base.cdf(feature) if enabled and feature.get("numerical_statistics") else None
        if found:
            points[feature["name"]] = found
    return inputs, outputs, points


def profile_capture(base: baseline.Baseline, records_or_batches, prediction: str | None) -> Captured:
    """Profile the captured records, FLUSH_RECORDS at a time, as the baseline's checks need."""
    from smops.monitor import data_profile

    inputs, outputs, points = _features(base, prediction)

    def table(features: list[dict]):
        return data_profile.Table([data_profile.Column(split_points=points[f["name"]][0] if f["name"] in points else None,
                                             categories="string_statistics" in f or _domains(base, f["name"]))
                              for f in features])

    captured = Captured(0, table(inputs), table(outputs))
    for batch in _gathered(capture.batches(records_or_batches)):
        captured.records += batch.records
        captured.inputs.add_csv(batch.inputs.text())
        captured.inputs.add_rows(batch.inputs.cells)
        if outputs:
            captured.outputs.add_csv(batch.outputs.text())
            captured.outputs.add_rows(batch.outputs.cells)
    return captured


def profile_files(base: baseline.Baseline, s3, bucket: str, keys: list[str], start, end, prediction: str | None,
                  max_records: int | None = None) -> Captured:
    """The records of these capture files in the window, profiled on this runner. READERS threads
    each read and profile an interleaved share of the files, as the Processing engine's instances
    do, and their profiles merge: while one holds the GIL, the other's sockets, pyarrow and numpy
    run on the second core. A --max-records sample is read in one ordered stream instead, so that
    every run takes the same sample."""
    outputs = bool(prediction)
    _features(base, prediction)  # the flags checked, and the split points worked out, before any read
    if max_records is not None:
        return profile_capture(base, capture.read_batches(s3, bucket, keys, start, end, max_records, outputs=outputs),
                               prediction)

    failed = threading.Event()  # a reader's error (or Ctrl-C) ends the other readers after their current file

    def share(part: list[str]) -> Captured:
        batches = capture.read_batches(s3, bucket, part, start, end, outputs=outputs)
        try:
            return profile_capture(base, itertools.takewhile(lambda _: not failed.is_set(), batches), prediction)
        except BaseException:
            failed.set()
            raise

    with ThreadPoolExecutor(READERS, thread_name_prefix="capture-reader") as pool:
        try:
            merged, *others = pool.map(share, [keys[i::READERS] for i in range(READERS)])
        except BaseException:
            failed.set()
            raise
    for other in others:
        merged.merge(other)
    return merged


def check(base: baseline.Baseline, captured: Captured, prediction: str | None) -> Report:
    """The baseline's checks on the captured records' profile."""
    inputs, outputs, points = _features(base, prediction)
    report = Report("", captured.records, [], [])
    for feature, column in zip(inputs + outputs, captured.inputs.columns + captured.outputs.columns):
        report.features.append(_check(base, feature, column, points.get(feature["name"]), report.violations))
    table = captured.inputs
    if table.short:
        _violate(report.violations, inputs[table.narrowest]["name"], "missing_column_check",
                 f"{table.short} captured rows have fewer columns than the baseline's {table.width} inputs")
    if table.long:
        _violate(report.violations, inputs[-1]["name"] if inputs else "", "extra_column_check",
                 f"{table.long} captured rows have more columns than the baseline's {table.width} inputs")
    return report


def _gathered(batches) -> Iterator[capture.Batch]:
    """Batches joined until they hold FLUSH_RECORDS records: fewer, larger parses."""
    pending = capture.Batch()
    for batch in batches:
        pending.extend(batch)
        if pending.records >= FLUSH_RECORDS:
            yield pending
            pending = capture.Batch()
    yield pending


def _check(base, feature: dict, column, cdf, violations: list) -> Feature:
    name = feature["name"]
    config = base.config(name)
    constraint = base.constraint(name)
    expected = feature.get("inferred_type") or constraint.get("inferred_type") or "Fractional"
    numbers = feature.get("numerical_statistics")
    row = Feature(name, _baseline_text(feature), _now_text(column, numbers is not None))
    total = column.present + column.missing
    completeness = column.present / total if total else 1.0
    if "completeness" in constraint and completeness < float(constraint["completeness"]) - 1e-12:
        row.checks.append(_violate(
            violations, name, "completeness_check",
            f"Data completeness requirement is not met. Expected completeness: "
            f"{100 * float(constraint['completeness']):.1f}%. Observed: only {100 * completeness:.1f}% of data is complete."))
    required = float(config.get("datatype_check_threshold", 1.0))
    share = column.type_share(expected)
    if expected in {"Integral", "Fractional"} and column.present and share < required - 1e-12:
        row.checks.append(_violate(
            violations, name, "data_type_check",
            f"Data type match requirement is not met. Expected data type: {expected}, Expected match: "
            f"{100 * required:.1f}%. Observed: only {100 * share:.1f}% of data is {expected}."))
    if (constraint.get("num_constraints") or {}).get("is_non_negative") and column.negatives:
        row.checks.append(_violate(
            violations, name, "non_negative_check",
            f"Non-negativity requirement is not met: {column.negatives} of {column.count} values are "
            f"negative (min {column.min:.4g})."))
    domains = _domains(base, name)
    counts = _categorical_counts(feature) or dict.fromkeys(domains, 0.0)
    if counts and column.categories is not None:
        row.distributions = Distributions(baseline_counts=counts, now_counts=dict(column.categories))
    if domains and column.present:
        inside = sum(column.categories.get(v, 0) for v in domains)
        required = float(config.get("domain_content_threshold", 1.0))
        if inside / column.present < required - 1e-12:
            unseen = [v for v, _ in column.categories.most_common() if v not in set(domains)][:5]
            row.checks.append(_violate(
                violations, name, "categorical_values_check",
                f"Data content requirement is not met. Expected: {100 * required:.1f}% of values in the "
                f"baseline's domain. Observed: only {100 * inside / column.present:.1f}%; unseen values "
                f"include {', '.join(unseen)}."))
    if cdf is not None and column.count:
        points, baseline_cdf, n = cdf
        distribution = config["distribution_constraints"]
        distance = column.cdf_distance(baseline_cdf)
        if (distribution.get("comparison_method") or "Robust") == "Robust":
            m = column.count
            distance = max(0.0, distance - C_ALPHA * math.sqrt((n + m) / (n * m)))
        row.distance = distance
        row.threshold = float(distribution.get("comparison_threshold", 0.1))
        row.distributions = Distributions(points, baseline_cdf, column.cdf_at_split_points(), (column.min, column.max),
                                          sizes=(n, column.count))
        if distance > row.threshold:
            row.checks.append(_violate(
                violations, name, "baseline_drift_check",
                f"Baseline drift distance: {distance:.4f} exceeds threshold: {row.threshold:g}"))
    return row


def _domains(base, name: str) -> list[str]:
    return (base.constraint(name).get("string_constraints") or {}).get("domains") or []


def _violate(violations: list, name: str, check: str, description: str) -> str:
    violations.append({"feature_name": name, "constraint_check_type": check, "description": description})
    return check


def _categorical_buckets(feature: dict) -> list[dict]:
    return (((feature.get("string_statistics") or {}).get("distribution") or {}).get("categorical") or {}).get("buckets") or []


def _categorical_counts(feature: dict) -> dict[str, float]:
    return {str(b.get("value")): float(b.get("count") or 0) for b in _categorical_buckets(feature)}


def _baseline_text(feature: dict) -> str:
    numbers = feature.get("numerical_statistics")
    if numbers:
        return f"mean {numbers.get('mean', 0):.4g} [{numbers.get('min', 0):.4g}, {numbers.get('max', 0):.4g}]"
    return ", ".join(str(b.get("value")) for b in _categorical_buckets(feature)[:4]) or "—"


def _now_text(column, numeric: bool) -> str:
    if numeric:
        return f"mean {column.mean:.4g} [{column.min:.4g}, {column.max:.4g}]" if column.count else "no values"
    common = column.categories.most_common(4) if column.categories is not None else []
    return ", ".join(v for v, _ in common) or "no values"


# -- the command --------------------------------------------------------------------------------


def run(args) -> dict[str, str]:
    if args.max_records is not None and args.max_records < 1:
        raise BadInput(f"--max-records {args.max_records} is less than 1", "sample at least one record")
    if args.monitoring_schedule:
        from smops.monitor import modelmonitor

        report = modelmonitor.latest(args.monitoring_schedule, args.region, args.profile)
        endpoint = report.endpoint or args.endpoint_name or args.monitoring_schedule
    else:
        if not args.endpoint_name:
            raise BadInput("no endpoint given", "pass --endpoint-name (or --monitoring-schedule)")
        endpoint = args.endpoint_name
        report = _compute(args)
        if isinstance(report, str):  # --dry-run: what would run
            gha.log(f"dry run: {report}")
            gha.add_summary(f"### smops drift (dry run): `{endpoint}`\n\nWould run {report}.\n")
            return {"drifted": "", "violations": "", "records": "", "drifted-features": "", "violations-file": "",
                    "html-report": "", "retrain": "", "pending-retraining": ""}
    pending = None
    if report.drifted:
        sm = aws.client("sagemaker", args.region, args.profile)
        pending = retraining_in_flight(sm, endpoint, args.model_package_arn)
    return _finish(args, endpoint, report, pending)


def retraining_in_flight(sm, endpoint_name: str, package_arn: str | None = None) -> dict | None:
    """The package a drift retrained for what the endpoint serves and that still waits for
    approval: while it waits, another drift starts no other build."""
    from smops import endpoint as endpoints
    from smops import registry

    if not package_arn:
        described = endpoints.describe(sm, endpoint_name)
        package_arn = endpoints.config_package(sm, described["EndpointConfigName"]) if described else None
    if not package_arn:
        return None
    return registry.drift_retraining_pending(sm, registry.describe(sm, package_arn)["ModelPackageGroupName"])


def _compute(args) -> Report | str:
    begin, end = window(args.since, args.start, args.end)
    # SageMaker's client only when the endpoint must be described (its model is 30 MiB of memory)
    sm = None if args.data_capture_uri and args.baseline else aws.client("sagemaker", args.region, args.profile)
    described = None
    if sm is not None:
        from smops import endpoint as endpoints

        described = endpoints.describe(sm, args.endpoint_name)
        if described is None:
            raise BadInput(f"endpoint {args.endpoint_name} not found",
                           "check the name and region, or pass --data-capture-uri and --baseline")
    uri = args.data_capture_uri or ((described or {}).get("DataCaptureConfig") or {}).get("DestinationS3Uri")
    if not uri:
        raise BadInput(f"endpoint {args.endpoint_name} does not capture data",
                       "deploy it with --data-capture-uri (smops deploy), or pass --data-capture-uri")
    base = _baseline(args, sm, described)
    s3 = aws.client("s3", args.region, args.profile)
    bucket, _ = capture.split_uri(uri)
    variants = [args.variant_name] if args.variant_name else capture.variants_of(s3, uri, args.endpoint_name)
    objects = capture.list_objects(s3, uri, args.endpoint_name, variants, begin, end)
    keys = [item["Key"] for item in objects]
    until = end
    if not args.end:  # a window up to now ends when the files are listed: no record in them is later
        end, until = dt.datetime.now(dt.timezone.utc), None
    where = f"{uri.rstrip('/')}/{args.endpoint_name}/"
    if not keys:
        raise BadInput(
            f"no data capture under {where} between {capture.iso(begin)} and {capture.iso(end)}",
            "check --data-capture-uri and the window (--since, --start/--end); capture files appear "
            "a few minutes after the invocations",
        )
    gha.log(f"reading {len(keys)} capture files under {where} ({capture.iso(begin)} → {capture.iso(end)})"
            + (f", sampling up to {args.max_records} records" if args.max_records else ""))
    gha.log(f"baseline: {base.source} ({len(base.features())} features)")
    from smops.monitor import processing

    estimated = sum(item["Size"] for item in objects) // processing.RECORD_BYTES
    hours = None
    if processing.wanted(args, estimated):
        if args.dry_run:
            return processing.estimate(args, estimated, len(keys))
        captured, hours = _on_processing(args, base, bucket, keys, begin, until)
        report = check(base, captured, args.prediction_feature)
    elif args.dry_run:
        return f"one process on this runner over {len(keys)} capture files (~{estimated} records)"
    else:
        captured = profile_files(base, s3, bucket, keys, begin, until, args.prediction_feature, args.max_records)
        report = check(base, captured, args.prediction_feature)
    if not report.records:
        raise BadInput(f"the capture files under {where} hold no record between {capture.iso(begin)} and "
                       f"{capture.iso(end)}", "widen the window (--since, --start/--end)")
    report.what = f"{report.records} records captured under `{where}` from {capture.iso(begin)} to " \
                  f"{capture.iso(end)}, against `{base.source}`"
    if hours is not None:
        report.what += f", profiled by a SageMaker Processing job on {args.instance_count} × " \
                       f"{args.instance_type} ({hours:.3f} instance-hours)"
    report.window, report.baseline = (begin, end), base.source
    return report


def _baseline(args, sm, described: dict | None) -> baseline.Baseline:
    if args.baseline:
        return baseline.load(*baseline.files(args.baseline), args.region, args.profile)
    from smops import endpoint as endpoints
    from smops import registry

    arn = args.model_package_arn or endpoints.config_package(sm, described["EndpointConfigName"])
    if not arn:
        raise BadInput(f"no baseline for {args.endpoint_name}: it serves no model package smops can tell",
                       "pass --baseline (smops baseline writes one) or --model-package-arn")
    found = baseline.from_package(registry.describe(sm, arn))
    if not found:
        raise BadInput(f"model package {arn} has no data quality baseline (DriftCheckBaselines, ModelMetrics "
                       "ModelDataQuality, or smops build's metadata)",
                       "build it again with smops build, which records one (--training-data names the data), "
                       "or write one with `smops baseline --dataset TRAINING_CSV --output S3_PREFIX` and pass "
                       "--baseline S3_PREFIX")
    return baseline.load(*found, args.region, args.profile)


def _finish(args, endpoint: str, report: Report, pending: dict | None) -> dict[str, str]:
    from smops import registry

    drifted = report.drifted
    path = args.violations_file
    if path:
        baseline.write_text(path, json.dumps({"violations": report.violations}, indent=2) + "\n", args.region, args.profile)
    outputs = {
        "drifted": str(bool(drifted)).lower(),
        "violations": str(len(report.violations)),
        "records": str(report.records),
        "drifted-features": ",".join(drifted),
        "violations-file": path or "",
        "html-report": args.html_report or "",
        "retrain": str(bool(drifted) and not pending).lower(),
        "pending-retraining": pending["ModelPackageArn"] if pending else "",
    }
    if args.html_report:
        from smops.monitor import drift_html

        baseline.write_text(args.html_report, drift_html.render(endpoint, report), args.region, args.profile)
        gha.log(f"wrote the HTML report to {args.html_report}")
    waiting = ""
    if pending:
        reason = (pending.get("CustomerMetadataProperties") or {}).get(registry.RETRAIN_REASON_KEY)
        waiting = (f"{registry.label(pending)}, retrained for {reason}, still waits for approval: no other "
                   "retraining starts until it is approved or rejected")
    table = _table(report)
    verdict = f"⚠️ drift in {len(drifted)} feature{'s' * (len(drifted) != 1)}: {', '.join(drifted)}" if drifted \
        else "✅ no drift"
    gha.log(f"{endpoint}: {verdict.split(' ', 1)[1]}; {len(report.violations)} violations in {report.records} records")
    if waiting:
        gha.log(waiting)
    if table:
        gha.log(table)
    for violation in report.violations:
        gha.log(f"  {violation['feature_name']}: {violation['constraint_check_type']}: {violation['description']}")
    markdown = f"### smops drift: `{endpoint}` {verdict}\n\n{report.what}.\n"
    if waiting:
        markdown += f"\n**No retraining**: {waiting}.\n"
    if table:
        markdown += "\n" + table + "\n"
    if report.violations:
        markdown += f"\n{len(report.violations)} violations (`{path or 'not written'}`):\n\n" + gha.table(
            ["feature", "check", "description"],
            [[f"`{v['feature_name']}`", v["constraint_check_type"], v["description"]] for v in report.violations],
        )
    if args.html_report:
        markdown += f"\nThe distributions, drawn: `{args.html_report}` (HTML).\n"
    gha.add_summary(markdown)
    if drifted and args.fail_on_drift:
        raise RemoteFailure(f"{endpoint} drifted in {', '.join(drifted)}",
                            "see the drift table in the job summary and the violations file; retrain, or "
                            "drop --fail-on-drift to report drift without failing", outputs=outputs)
    return outputs


def _table(report: Report) -> str:
    """Features by distance, most drifted first, with a bar of the distance (full width = 1.0)."""
    if not report.features:
        return ""
    ordered = sorted(report.features, key=lambda f: -(f.distance if f.distance is not None else -1))
    rows = []
    for f in ordered:
        filled = round(BAR_WIDTH * min(f.distance or 0.0, 1.0))
        bar = "█" * filled + "░" * (BAR_WIDTH - filled) if f.distance is not None else ""
        verdict = "drift" if f.drifted else ", ".join(c.removesuffix("_check") for c in f.checks) or "ok"
        rows.append([f"`{f.name}`", f.baseline, f.now,
                     "" if f.distance is None else f"{f.distance:.3f}",
                     "" if f.threshold is None else f"{f.threshold:g}",
                     ("❌ " if f.checks else "✅ ") + verdict, bar])
    return gha.table(["feature", "baseline", "now", "distance", "threshold", "verdict", "distance (0 → 1)"], rows)


def _on_processing(args, base, bucket: str, keys: list[str], begin, end):
    """Profile the window's capture files on SageMaker Processing: (every instance's Captured, merged;
    instance-hours). `end` None: no later bound (see capture.inside)."""
    from smops.monitor import processing

    merged = profile_capture(base, [], args.prediction_feature)  # also checks the flags first
    settings = {"statistics": base.statistics, "constraints": base.constraints, "baseline_source": base.source,
                "start": begin.isoformat(), "end": end and end.isoformat(), "prediction": args.prediction_feature}
    manifest = [{"prefix": f"s3://{bucket}/"}, *keys]
    partials = processing.run(args, "drift", args.endpoint_name, {"S3DataType": "ManifestFile", "manifest": manifest},
                              settings, f"s3://{bucket}/smops-processing")
    for partial in partials:
        merged.merge(Captured.load(partial["captured"]))
    return merged, partials[0]["instance_hours"]
