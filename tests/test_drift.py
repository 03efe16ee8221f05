"""smops drift and smops baseline: SageMaker's capture format, Model Monitor's files, each check."""

from __future__ import annotations

import argparse
import base64
import datetime as dt
import json
import random
import re
import subprocess
import sys
import time
from pathlib import Path

import boto3
import pytest
from conftest import ROOT, run_smops

from smops.errors import BadInput
from smops.monitor import baseline, capture, drift

MODEL_MONITOR = Path(__file__).parent / "data" / "model-monitor"
NOW = dt.datetime(2026, 5, 1, 12, 30, tzinfo=dt.timezone.utc)
ROLE = "arn:aws:iam::123456789012:role/smops-test"


def captured(*rows: str, when: dt.datetime = NOW, output: str | None = None) -> capture.Record:
    """One invocation as SageMaker captures it (CSV rows in, CSV out), read back."""
    event = capture.record(when, ("\n".join(rows).encode(), "text/csv"),
                           (output.encode(), "text/csv") if output else None, {"CsvContentTypes": ["text/csv"]})
    return capture.parse(json.dumps(event))


def model_monitor_baseline() -> baseline.Baseline:
    return baseline.load(str(MODEL_MONITOR / "statistics.json"), str(MODEL_MONITOR / "constraints.json"))


def checks(report: drift.Report) -> set[tuple[str, str]]:
    return {(v["feature_name"], v["constraint_check_type"]) for v in report.violations}


# -- the capture format -------------------------------------------------------------------------


@pytest.mark.parametrize("header, encoding", [
    ({"CsvContentTypes": ["text/csv"]}, "CSV"),
    (None, "BASE64"),  # no CaptureContentTypeHeader: SageMaker base64-encodes
])
def test_a_csv_capture_record_round_trips(header, encoding):
    event = capture.record(NOW, (b"1,2.5,a\n3,4.5,b\n", "text/csv"), (b"0.7\n0.2\n", "text/csv; charset=utf-8"),
                           header, event_id="aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee")
    assert event["eventVersion"] == "0"
    assert event["eventMetadata"] == {"eventId": "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee",
                                      "inferenceTime": "2026-05-01T12:30:00Z"}
    assert event["captureData"]["endpointInput"]["mode"] == "INPUT"
    assert event["captureData"]["endpointOutput"]["mode"] == "OUTPUT"
    assert event["captureData"]["endpointInput"]["encoding"] == encoding
    if encoding == "BASE64":
        assert base64.b64decode(event["captureData"]["endpointInput"]["data"]) == b"1,2.5,a\n3,4.5,b\n"
    read = capture.parse(json.dumps(event))
    assert read.time == NOW and read.inputs == [["1", "2.5", "a"], ["3", "4.5", "b"]]
    assert read.outputs == [["0.7"], ["0.2"]]


def test_the_documented_sample_record_parses():
    """The record on the SageMaker Developer Guide's "Capture data" page, as it prints it."""
    line = ('{"captureData":{"endpointInput":{"observedContentType":"text/csv","mode":"INPUT",'
            '"data":"69,0,153.7,109,194.0\\n","encoding":"CSV"},"endpointOutput":{"observedContentType":'
            '"text/csv; charset=utf-8","mode":"OUTPUT","data":"0.0254181120544672","encoding":"CSV"}},'
            '"eventMetadata":{"eventId":"aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee","inferenceTime":'
            '"2022-02-14T17:25:49Z"},"eventVersion":"0"}')
    read = capture.parse(line)
    assert read.inputs == [["69", "0", "153.7", "109", "194.0"]] and read.outputs == [["0.0254181120544672"]]
    assert read.time == dt.datetime(2022, 2, 14, 17, 25, 49, tzinfo=dt.timezone.utc)


def test_json_payloads_give_one_row_per_instance():
    header = {"JsonContentTypes": ["application/json"]}
    event = capture.record(NOW, (b'{"instances": [[1, 2], [3, 4]]}', "application/json"),
                           (b'{"predictions": [0.1, 0.9]}', "application/json"), header)
    assert event["captureData"]["endpointInput"]["encoding"] == "JSON"
    read = capture.parse(json.dumps(event))
    assert read.inputs == [["1", "2"], ["3", "4"]] and read.outputs == [["0.1"], ["0.9"]]


def test_the_s3_layout_is_sagemakers():
    key = capture.object_key("datacapture/", "churn-prod", "AllTraffic", NOW.replace(second=7, microsecond=123000))
    assert re.fullmatch(r"datacapture/churn-prod/AllTraffic/2026/05/01/12/30-07-123-[0-9a-f-]{36}\.jsonl", key)
    start, end = NOW - dt.timedelta(hours=2), NOW
    assert capture.hour_prefixes("p", "e", "v", start, end) == [
        "p/e/v/2026/05/01/10/", "p/e/v/2026/05/01/11/", "p/e/v/2026/05/01/12/"]


def test_a_line_that_is_not_a_capture_record_is_bad_input():
    with pytest.raises(BadInput, match="not a SageMaker data capture record"):
        capture.parse('{"hello": "world"}')


# -- the emulator captures what SageMaker would --------------------------------------------------


def serve(sagemaker, name: str, **capture_config) -> None:
    sagemaker.create_model(ModelName=name, ExecutionRoleArn=ROLE, PrimaryContainer={"Image": "img"})
    config = {"EnableCapture": True, "InitialSamplingPercentage": 100, "DestinationS3Uri": "s3://capture/dc",
              "CaptureOptions": [{"CaptureMode": "Input"}, {"CaptureMode": "Output"}], **capture_config}
    sagemaker.create_endpoint_config(
        EndpointConfigName=name, DataCaptureConfig=config,
        ProductionVariants=[{"VariantName": "AllTraffic", "ModelName": name, "InstanceType": "ml.m5.large",
                             "InitialInstanceCount": 1}])
    sagemaker.create_endpoint(EndpointName=name, EndpointConfigName=name)
    while sagemaker.describe_endpoint(EndpointName=name)["EndpointStatus"] != "InService":
        time.sleep(0.05)


def captured_files(s3, endpoint: str) -> list[dict]:
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket="capture", Prefix=f"dc/{endpoint}/")
    keys = [item["Key"] for page in pages for item in page.get("Contents", [])]
    return [json.loads(s3.get_object(Bucket="capture", Key=k)["Body"].read()) for k in keys]


@pytest.fixture
def endpoints(sagemaker):
    from smops.emulator import settings

    settings.endpoint_seconds = 0
    boto3.client("s3").create_bucket(Bucket="capture")
    return sagemaker


def invoke(name: str, count: int, body: bytes = b"1,2,3\n") -> None:
    runtime = boto3.client("sagemaker-runtime")
    for _ in range(count):
        runtime.invoke_endpoint(EndpointName=name, Body=body, ContentType="text/csv")


def test_the_emulator_captures_each_invocation_in_sagemakers_layout(endpoints):
    serve(endpoints, "both", CaptureContentTypeHeader={"CsvContentTypes": ["text/csv"]})
    invoke("both", 3)
    s3 = boto3.client("s3")
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket="capture")["Contents"]]
    assert len(keys) == 3
    assert all(re.fullmatch(r"dc/both/AllTraffic/\d{4}/\d\d/\d\d/\d\d/\d\d-\d\d-\d{3}-[0-9a-f-]{36}\.jsonl", k) for k in keys)
    record = captured_files(s3, "both")[0]
    assert record["captureData"]["endpointInput"] == {"observedContentType": "text/csv", "mode": "INPUT",
                                                      "data": "1,2,3\n", "encoding": "CSV"}
    assert record["captureData"]["endpointOutput"]["data"] == "0.42\n"


@pytest.mark.parametrize("modes, parts", [
    (["Input"], {"endpointInput"}),
    (["Output"], {"endpointOutput"}),
    (["InputAndOutput"], {"endpointInput", "endpointOutput"}),
])
def test_capture_options_choose_what_is_captured(endpoints, modes, parts):
    name = f"only-{'-'.join(modes).lower()}"
    serve(endpoints, name, CaptureOptions=[{"CaptureMode": m} for m in modes])
    invoke(name, 1)
    [record] = captured_files(boto3.client("s3"), name)
    assert set(record["captureData"]) == parts
    assert record["captureData"][sorted(parts)[0]]["encoding"] == "BASE64"  # no content type header


def test_sampling_percentage_and_enable_capture_are_respected(endpoints):
    serve(endpoints, "none", InitialSamplingPercentage=0)
    serve(endpoints, "off", EnableCapture=False)
    serve(endpoints, "half", InitialSamplingPercentage=50)
    for name in ("none", "off", "half"):
        invoke(name, 200)
    s3 = boto3.client("s3")
    assert captured_files(s3, "none") == [] and captured_files(s3, "off") == []
    # 200 draws at 50 %: outside 50..150 has a probability below 1e-12.
    assert 50 < len(captured_files(s3, "half")) < 150


# -- Model Monitor's baseline files --------------------------------------------------------------


def test_model_monitors_files_are_read(tmp_path):
    base = model_monitor_baseline()
    assert [f["name"] for f in base.features()] == ["tenure", "monthly_charges", "contract"]
    points, cdf, total = baseline.cdf_points(base.features()[0])
    # Level 1 items weigh 2: 1, 2, 3, 4 (1 each), 6 and 9 (2 each) → 8 in all.
    assert list(points) == [1, 2, 3, 4, 6, 9] and total == 8
    assert list(cdf) == [0.125, 0.25, 0.375, 0.5, 0.75, 1.0]
    assert base.config("tenure")["distribution_constraints"]["comparison_method"] == "Simple"


@pytest.mark.parametrize("location", ["statistics.json", "./statistics.json", "base/statistics.json", "base"])
def test_a_statistics_file_reads_the_constraints_beside_it(tmp_path, monkeypatch, location):
    """--baseline statistics.json (a bare file name) found its constraints at statistics.json/constraints.json."""
    folder = tmp_path / "base" if location.startswith("base") else tmp_path
    folder.mkdir(exist_ok=True)
    for name in ("statistics.json", "constraints.json"):
        (folder / name).write_bytes((MODEL_MONITOR / name).read_bytes())
    monkeypatch.chdir(tmp_path)
    args = argparse.Namespace(baseline=location, region=None, profile=None)
    base = drift._baseline(args, None, None)
    assert base.constraints == json.loads((MODEL_MONITOR / "constraints.json").read_text())
    assert base.source == ("." if location.startswith(("statistics", "./")) else "base")


def schema_of(value):
    """The shape of a JSON document: keys and types, lists by their first element."""
    if isinstance(value, dict):
        return {k: schema_of(v) for k, v in value.items()}
    if isinstance(value, list):
        return [schema_of(value[0])] if value else []
    return "number" if isinstance(value, (int, float)) and not isinstance(value, bool) else type(value).__name__


def test_our_baseline_has_model_monitors_shape_and_reads_back(tmp_path):
    dataset = tmp_path / "train.csv"
    rng = random.Random(3)
    dataset.write_text("tenure,monthly_charges,contract\n" + "".join(
        f"{rng.randint(1, 9)},{rng.uniform(20, 80):.2f},{rng.choice(['monthly', 'yearly'])}\n" for _ in range(5000)))
    result = run_smops("baseline", "--dataset", str(dataset), "--output", str(tmp_path / "base"), "--json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["records"] == "5000"
    ours = json.loads((tmp_path / "base" / "statistics.json").read_text())
    theirs = json.loads((MODEL_MONITOR / "statistics.json").read_text())
    for mine, model_monitor in zip(ours["features"], theirs["features"]):
        assert schema_of(mine) == schema_of(model_monitor), mine["name"]
    assert schema_of(ours["dataset"]) == schema_of(theirs["dataset"])
    constraints = json.loads((tmp_path / "base" / "constraints.json").read_text())
    expected = json.loads((MODEL_MONITOR / "constraints.json").read_text())
    assert [schema_of(f) for f in constraints["features"]] == [schema_of(f) for f in expected["features"]]
    assert schema_of(constraints["monitoring_config"]) == schema_of(expected["monitoring_config"])
    # The sketch: KLL levels whose weights (2^level) add up to the count; more than k items compacted.
    sketch = ours["features"][1]["numerical_statistics"]["distribution"]["kll"]["sketch"]
    assert sum(len(level) * 2**h for h, level in enumerate(sketch["data"])) == 5000
    assert sum(map(len, sketch["data"])) < 5000 and sketch["parameters"] == {"c": 0.64, "k": 2048}
    buckets = ours["features"][1]["numerical_statistics"]["distribution"]["kll"]["buckets"]
    assert len(buckets) == 10 and abs(sum(b["count"] for b in buckets) - 5000) < 1
    assert constraints["features"][2]["string_constraints"]["domains"] == ["monthly", "yearly"]
    # Read back as a baseline: same-distribution traffic does not drift.
    base = baseline.load(str(tmp_path / "base" / "statistics.json"), str(tmp_path / "base" / "constraints.json"))
    traffic = [captured(f"{rng.randint(1, 9)},{rng.uniform(20, 80):.2f},monthly") for _ in range(400)]
    report = drift.compare(base, traffic, None)
    assert ("tenure", "baseline_drift_check") not in checks(report)
    assert ("monthly_charges", "baseline_drift_check") not in checks(report)


def test_label_column_goes_last_as_the_prediction(tmp_path):
    dataset = tmp_path / "train.csv"
    dataset.write_text("".join(f"{i % 7},{i / 10},{i % 3}\n" for i in range(300)))
    assert run_smops("baseline", "--dataset", str(dataset), "--output", str(tmp_path), "--no-header",
                     "--label-column", "0").returncode == 0
    names = [f["name"] for f in json.loads((tmp_path / "statistics.json").read_text())["features"]]
    assert names == ["_c1", "_c2", "_c0"]
    base = baseline.load(str(tmp_path / "statistics.json"), str(tmp_path / "constraints.json"))
    clean = drift.compare(base, [captured(f"{i / 10},{i % 3}", output=f"{i % 7}") for i in range(300)], "_c0")
    assert checks(clean) == set()
    shifted = drift.compare(base, [captured(f"{i / 10},{i % 3}", output="40") for i in range(300)], "_c0")
    assert ("_c0", "baseline_drift_check") in checks(shifted)


# -- each check, clean and violated ------------------------------------------------------------------


CLEAN = ["1,20.5,monthly", "2,35.0,yearly", "3,48.2,monthly", "4,55.0,monthly",
         "6,60.0,yearly", "6,68.0,monthly", "9,80.1,yearly", "9,,monthly"]


def test_traffic_like_the_baseline_violates_nothing():
    report = drift.compare(model_monitor_baseline(), [captured(r) for r in CLEAN * 20], None)
    assert report.violations == [] and report.records == 160 and report.drifted == []


@pytest.mark.parametrize("rows, violation", [
    # Distribution distance: tenure shifted far right of the baseline's sketch.
    ([f"{8 + i % 3},50.0,monthly" for i in range(100)], ("tenure", "baseline_drift_check")),
    # Completeness: monthly_charges missing in half the rows (baseline 87.5 %).
    ([f"{1 + i % 9},{'' if i % 2 else '50.0'},monthly" for i in range(100)], ("monthly_charges", "completeness_check")),
    # Data type: tenure is Integral in the baseline.
    ([f"{1 + i % 9}.5,50.0,monthly" for i in range(100)], ("tenure", "data_type_check")),
    # Non-negativity.
    ([f"{1 + i % 9},{-5.0 if i == 0 else 50.0},monthly" for i in range(100)], ("monthly_charges", "non_negative_check")),
    # Unseen categories.
    ([f"{1 + i % 9},50.0,{'weekly' if i % 4 == 0 else 'monthly'}" for i in range(100)], ("contract", "categorical_values_check")),
    # Columns.
    (["1,50.0"] * 10, ("contract", "missing_column_check")),
    (["1,50.0,monthly,extra"] * 10, ("contract", "extra_column_check")),
])
def test_each_check_finds_its_violation(rows, violation):
    report = drift.compare(model_monitor_baseline(), [captured(r) for r in rows], None)
    assert violation in checks(report)
    description = next(v["description"] for v in report.violations if (v["feature_name"], v["constraint_check_type"]) == violation)
    assert description


def test_the_distance_is_deequs_l_infinity_distance():
    """Deequ's own KLLDistanceTest: sketch [1, 2, 3, 4] against [2, 3, 4, 5] is 0.25 Simple, 0.0 Robust."""
    feature = {"name": "x", "inferred_type": "Integral", "numerical_statistics": {
        "common": {"num_present": 4, "num_missing": 0}, "mean": 2.5, "sum": 10.0, "std_dev": 1.1, "min": 1.0,
        "max": 4.0, "distribution": {"kll": {"buckets": [], "sketch": {"parameters": {"c": 0.64, "k": 4},
                                                                       "data": [[1.0, 2.0, 3.0, 4.0]]}}}}}
    distances = {}
    for method in ("Simple", "Robust"):
        base = baseline.Baseline({"version": 0, "features": [feature]}, {"version": 0, "features": [], "monitoring_config": {
            "distribution_constraints": {"comparison_method": method, "comparison_threshold": 0.1}}}, "inline")
        [found] = drift.compare(base, [captured(str(v)) for v in (2, 3, 4, 5)], None).features
        distances[method] = found.distance
    assert distances == {"Simple": pytest.approx(0.25), "Robust": 0.0}


def test_comparison_can_be_disabled_per_feature():
    base = model_monitor_baseline()
    base.constraints["features"][0]["monitoringConfigOverrides"] = {
        "distribution_constraints": {"perform_comparison": "Disabled"}}
    report = drift.compare(base, [captured("9,50.0,monthly")] * 50, None)
    assert ("tenure", "baseline_drift_check") not in checks(report)


# -- the command ---------------------------------------------------------------------------------


@pytest.fixture
def production(endpoints, tmp_path):
    """An endpoint capturing into s3://capture/dc, and the Model Monitor baseline in S3."""
    serve(endpoints, "churn-prod", CaptureContentTypeHeader={"CsvContentTypes": ["text/csv"]})
    s3 = boto3.client("s3")
    for name in ("statistics.json", "constraints.json"):
        s3.put_object(Bucket="capture", Key=f"baseline/{name}", Body=(MODEL_MONITOR / name).read_bytes())
    return "s3://capture/baseline"


def test_drift_as_a_process_finds_shifted_traffic(production, tmp_path, outputs, summary):
    invoke("churn-prod", 30, body=b"9,79.0,monthly\n8,75.0,yearly\n")
    violations = tmp_path / "violations.json"
    page = tmp_path / "report" / "drift.html"
    result = run_smops("drift", "--endpoint-name", "churn-prod", "--baseline", production,
                       "--violations-file", str(violations), "--fail-on-drift", "--html-report", str(page))
    assert result.returncode == 1, result.stderr
    assert "churn-prod drifted in tenure, monthly_charges" in result.stderr
    out = outputs()
    assert out["drifted"] == "true" and out["records"] == "30"
    assert out["drifted-features"] == "tenure,monthly_charges"
    written = json.loads(violations.read_text())["violations"]
    assert {(v["feature_name"], v["constraint_check_type"]) for v in written} >= {
        ("tenure", "baseline_drift_check"), ("monthly_charges", "baseline_drift_check")}
    assert out["violations"] == str(len(written))
    text = summary()
    assert "### smops drift: `churn-prod` ⚠️ drift in 2 features" in text
    assert "| `tenure` |" in text and "❌ drift" in text and "█" in text
    # The HTML report is written even though the check fails: that is when it is read.
    assert out["html-report"] == str(page) and f"`{page}` (HTML)" in text
    html = page.read_text()
    assert '<figure class="feature" data-feature="tenure" data-kind="numeric">' in html
    assert '<figure class="feature" data-feature="monthly_charges" data-kind="numeric">' in html


def test_drift_without_fail_on_drift_exits_0_and_reports_clean_traffic(production, tmp_path, outputs):
    invoke("churn-prod", 20, body="\n".join(CLEAN).encode())
    result = run_smops("drift", "--endpoint-name", "churn-prod", "--baseline", production,
                       "--violations-file", str(tmp_path / "v.json"), "--json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["drifted"] == "false" and outputs()["violations"] == "0"


def test_max_records_samples(production, tmp_path, outputs):
    invoke("churn-prod", 12, body=b"4,50.0,monthly\n")
    result = run_smops("drift", "--endpoint-name", "churn-prod", "--baseline", production, "--max-records", "5",
                       "--violations-file", str(tmp_path / "v.json"))
    assert result.returncode == 0, result.stderr
    assert outputs()["records"] == "5" and "sampling up to 5 records" in result.stderr


def test_the_baseline_comes_from_the_served_model_package(production, endpoints, tmp_path, outputs):
    """With no --baseline: the DriftCheckBaselines of the package the endpoint serves."""
    endpoints.create_model_package_group(ModelPackageGroupName="churn")
    arn = endpoints.create_model_package(
        ModelPackageGroupName="churn", ModelApprovalStatus="Approved",
        InferenceSpecification={"Containers": [{"Image": "img"}], "SupportedContentTypes": ["text/csv"],
                                "SupportedResponseMIMETypes": ["text/csv"]},
        DriftCheckBaselines={"ModelDataQuality": {
            "Statistics": {"ContentType": "application/json", "S3Uri": f"{production}/statistics.json"},
            "Constraints": {"ContentType": "application/json", "S3Uri": f"{production}/constraints.json"}}},
    )["ModelPackageArn"]
    invoke("churn-prod", 5)
    result = run_smops("drift", "--endpoint-name", "churn-prod", "--model-package-arn", arn,
                       "--violations-file", str(tmp_path / "v.json"))
    assert result.returncode == 0, result.stderr
    assert f"baseline: {production}" in result.stderr


@pytest.mark.parametrize("args, message", [
    (["--since", "yesterday"], "--since 'yesterday' is not a duration"),
    (["--start", "2026-05-02T00:00:00Z", "--end", "2026-05-01T00:00:00Z"], "starts"),
    (["--max-records", "0"], "--max-records 0 is less than 1"),
    (["--prediction-feature", "churned"], "--prediction-feature 'churned' is not in the baseline"),
])
def test_bad_input_exits_2(production, args, message):
    invoke("churn-prod", 1)
    result = run_smops("drift", "--endpoint-name", "churn-prod", "--baseline", production, *args)
    assert result.returncode == 2 and message in result.stderr, result.stderr


def test_no_capture_under_the_prefix_names_the_prefix(production, tmp_path):
    result = run_smops("drift", "--endpoint-name", "churn-prod", "--baseline", production,
                       "--violations-file", str(tmp_path / "v.json"))
    assert result.returncode == 2
    assert "no data capture under s3://capture/dc/churn-prod/ between" in result.stderr
    assert not (tmp_path / "v.json").exists()


def test_unknown_endpoint_and_missing_baseline_exit_2(production):
    result = run_smops("drift", "--endpoint-name", "nope")
    assert result.returncode == 2 and "endpoint nope not found" in result.stderr
    invoke("churn-prod", 1)
    result = run_smops("drift", "--endpoint-name", "churn-prod", "--baseline", "s3://capture/elsewhere")
    assert result.returncode == 2 and "baseline file s3://capture/elsewhere/statistics.json not found" in result.stderr


# -- existing Model Monitor customers ----------------------------------------------------------------


def test_monitoring_schedule_reports_the_latest_execution(aws_env, tmp_path, outputs, summary):
    from moto.sagemaker.models import sagemaker_backends

    from smops.emulator import monitoring

    sagemaker = boto3.client("sagemaker")
    boto3.client("s3").create_bucket(Bucket="reports")
    sagemaker.create_monitoring_schedule(MonitoringScheduleName="churn-dq", MonitoringScheduleConfig={
        "ScheduleConfig": {"ScheduleExpression": "cron(0 * ? * * *)"},
        "MonitoringJobDefinition": {
            "MonitoringInputs": [{"EndpointInput": {"EndpointName": "churn-prod", "LocalPath": "/opt/ml/processing/input"}}],
            "MonitoringOutputConfig": {"MonitoringOutputs": [{"S3Output": {"S3Uri": "s3://reports/mm", "LocalPath": "/opt/ml/processing/output"}}]},
            "MonitoringResources": {"ClusterConfig": {"InstanceCount": 1, "InstanceType": "ml.m5.xlarge", "VolumeSizeInGB": 20}},
            "MonitoringAppSpecification": {"ImageUri": monitoring.IMAGE},
            "RoleArn": ROLE}})
    backend = sagemaker_backends["123456789012"]["us-east-1"]
    result = run_smops("drift", "--monitoring-schedule", "churn-dq")
    assert result.returncode == 2 and "has no finished execution yet" in result.stderr
    monitoring.execute(backend, "churn-dq", [], 900)
    monitoring.execute(backend, "churn-dq", [
        {"feature_name": "tenure", "constraint_check_type": "baseline_drift_check",
         "description": "Baseline drift distance: 0.31 exceeds threshold: 0.1"}], 1200)
    result = run_smops("drift", "--monitoring-schedule", "churn-dq", "--violations-file", str(tmp_path / "v.json"))
    assert result.returncode == 0, result.stderr
    assert outputs() == {"drifted": "true", "violations": "1", "records": "1200", "drifted-features": "tenure",
                         "violations-file": str(tmp_path / "v.json"), "html-report": "", "retrain": "true", "pending-retraining": ""}
    assert "Model Monitor schedule `churn-dq`" in summary() and "`churn-prod`" in summary()
    assert run_smops("drift", "--monitoring-schedule", "nope").returncode == 2


def test_the_deploy_path_never_imports_numpy():
    code = ("import sys, smops.cli, smops.deploy.deploy, smops.deploy.smoke, smops.registry, smops.bridge, smops.monitor.capture, "
            "smops.monitor.drift, smops.monitor.baseline; print(sorted(m for m in sys.modules if m.split('.')[0] in "
            "{'numpy', 'scipy', 'datasketches'}))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert result.stdout.strip() == "[]"
