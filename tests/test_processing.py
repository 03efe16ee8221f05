"""`--engine processing`: the emulator runs the Processing job's instances as processes, and the
merged partial profiles give what one process gives."""

from __future__ import annotations

import datetime as dt
import json
import random

import boto3
import pytest
from conftest import run_smops
from datasketches import kll_doubles_sketch

from smops.cli import parser
from smops.monitor import baseline, capture, drift

PROCESSING_ROLE = "arn:aws:iam::123456789012:role/smops-processing"
NOW = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
FILES, PER_FILE = 12, 40


def row(rng: random.Random, shift: float) -> str:
    category = rng.choice("abc" if rng.random() > 0.1 * shift else "abcd")
    second = "" if rng.random() < 0.05 * shift else f"{rng.gauss(5, 2):.3f}"
    return f"{rng.gauss(shift, 1):.4f},{second},{category}"


@pytest.fixture
def traffic(aws_env):
    """A baseline of three features, and FILES capture files whose first feature shifted, with
    unseen categories and missing values."""
    rng = random.Random(7)
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket="capture")
    base = baseline.compute((row(rng, 0).split(",") for _ in range(2000)), ["x", "y", "plan"])
    s3.put_object(Bucket="capture", Key="baseline/statistics.json", Body=json.dumps(base.statistics).encode())
    s3.put_object(Bucket="capture", Key="baseline/constraints.json", Body=json.dumps(base.constraints).encode())
    for index in range(FILES):
        when = NOW - dt.timedelta(minutes=50 - 4 * index)
        lines = [json.dumps(capture.record(when, (row(rng, 1).encode(), "text/csv"), None)) for _ in range(PER_FILE)]
        s3.put_object(Bucket="capture", Key=capture.object_key("dc", "churn-prod", "AllTraffic", when),
                      Body=("\n".join(lines) + "\n").encode())
    return s3


def drift_args(*extra: str):
    return parser().parse_args(["drift", "--endpoint-name", "churn-prod", "--data-capture-uri", "s3://capture/dc",
                                "--baseline", "s3://capture/baseline", "--since", "2h", *extra])


def test_one_two_and_four_shards_judge_as_one_process(traffic):
    one = drift._compute(drift_args())
    tolerance = kll_doubles_sketch.get_normalized_rank_error(baseline.KLL_K, False)
    assert one.records == FILES * PER_FILE and one.drifted == ["x"]
    assert {"completeness_check", "categorical_values_check"} <= {v["constraint_check_type"] for v in one.violations}
    for shards in (1, 2, 4):
        merged = drift._compute(drift_args("--engine", "processing", "--instance-count", str(shards),
                                           "--processing-role-arn", PROCESSING_ROLE))
        assert merged.records == one.records
        assert merged.drifted == one.drifted
        assert merged.violations == one.violations
        for mine, theirs in zip(merged.features, one.features, strict=True):
            assert (mine.name, mine.checks, mine.now) == (theirs.name, theirs.checks, theirs.now)
            if theirs.distance is not None:
                assert abs(mine.distance - theirs.distance) <= tolerance
        assert f"{shards} × ml.m5.xlarge" in merged.what and "instance-hours" in merged.what


def test_the_job_is_sharded_tagged_and_logged(traffic, outputs, summary, monkeypatch, tmp_path):
    monkeypatch.setenv("GITHUB_SHA", "0123456789abcdef0123456789abcdef01234567")
    result = run_smops("drift", "--endpoint-name", "churn-prod", "--data-capture-uri", "s3://capture/dc",
                       "--baseline", "s3://capture/baseline", "--since", "2h", "--engine", "processing",
                       "--instance-count", "3", "--processing-role-arn", PROCESSING_ROLE,
                       "--html-report", str(tmp_path / "drift.html"))
    assert result.returncode == 0, result.stderr
    assert "<svg" in (tmp_path / "drift.html").read_text()  # the merged profile draws as one process's
    assert outputs()["drifted-features"] == "x" and outputs()["records"] == str(FILES * PER_FILE)
    sm = boto3.client("sagemaker")
    [summary_row] = sm.list_processing_jobs()["ProcessingJobSummaries"]
    job = sm.describe_processing_job(ProcessingJobName=summary_row["ProcessingJobName"])
    assert job["ProcessingJobStatus"] == "Completed"
    assert job["ProcessingResources"]["ClusterConfig"]["InstanceCount"] == 3
    data = next(i for i in job["ProcessingInputs"] if i["InputName"] == "data")["S3Input"]
    assert (data["S3DataType"], data["S3DataDistributionType"]) == ("ManifestFile", "ShardedByS3Key")
    assert job["AppSpecification"]["ImageUri"].endswith("/sagemaker-scikit-learn:1.4-2-cpu-py3")
    tags = {t["Key"]: t["Value"] for t in sm.list_tags(ResourceArn=job["ProcessingJobArn"])["Tags"]}
    assert tags["smops:git-sha"] == "0123456789abcdef0123456789abcdef01234567"
    # each instance profiled its own share (files dealt out 4, 4, 4) and logged under its own stream
    bucket, prefix = job["ProcessingOutputConfig"]["Outputs"][0]["S3Output"]["S3Uri"][5:].split("/", 1)
    partials = [json.loads(traffic.get_object(Bucket=bucket, Key=o["Key"])["Body"].read())
                for o in traffic.list_objects_v2(Bucket=bucket, Prefix=prefix)["Contents"]]
    assert sorted((p["host"], p["files"], p["records"]) for p in partials) == [
        ("algo-1", 4, 4 * PER_FILE), ("algo-2", 4, 4 * PER_FILE), ("algo-3", 4, 4 * PER_FILE)]
    logs = boto3.client("logs")
    streams = logs.describe_log_streams(logGroupName="/aws/sagemaker/ProcessingJobs",
                                        logStreamNamePrefix=job["ProcessingJobName"] + "/")["logStreams"]
    assert len(streams) == 3
    assert "SageMaker Processing job on 3 × ml.m5.xlarge" in summary() and "instance-hours" in summary()


def test_a_failed_job_shows_its_log_lines_and_exits_1(traffic):
    when = NOW - dt.timedelta(minutes=5)
    traffic.put_object(Bucket="capture", Key=capture.object_key("dc", "churn-prod", "AllTraffic", when),
                       Body=b'{"hello": "world"}\n')
    result = run_smops("drift", "--endpoint-name", "churn-prod", "--data-capture-uri", "s3://capture/dc",
                       "--baseline", "s3://capture/baseline", "--since", "2h", "--engine", "processing",
                       "--processing-role-arn", PROCESSING_ROLE)
    assert result.returncode == 1, result.stderr
    assert "Failed: AlgorithmError" in result.stderr
    assert "not a SageMaker data capture record" in result.stderr  # the instance's own log line
    assert "/aws/sagemaker/ProcessingJobs" in result.stderr


def test_dry_run_estimates_and_creates_nothing(traffic):
    result = run_smops("drift", "--endpoint-name", "churn-prod", "--data-capture-uri", "s3://capture/dc",
                       "--baseline", "s3://capture/baseline", "--since", "2h", "--engine", "processing",
                       "--processing-role-arn", PROCESSING_ROLE, "--instance-count", "4", "--dry-run")
    assert result.returncode == 0, result.stderr
    assert "a Processing job on 4 × ml.m5.xlarge over 12 objects" in result.stderr
    assert "instance-hours" in result.stderr
    assert boto3.client("sagemaker").list_processing_jobs()["ProcessingJobSummaries"] == []


def test_processing_without_a_role_is_bad_input(traffic):
    result = run_smops("drift", "--endpoint-name", "churn-prod", "--data-capture-uri", "s3://capture/dc",
                       "--baseline", "s3://capture/baseline", "--since", "2h", "--engine", "processing")
    assert result.returncode == 2 and "--engine processing needs --processing-role-arn" in result.stderr


def test_a_baseline_from_shards_matches_one_process(aws_env, tmp_path):
    rng = random.Random(3)
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket="train")
    rows = [row(rng, 0) for _ in range(3000)]
    for part in range(6):
        s3.put_object(Bucket="train", Key=f"data/part-{part}.csv",
                      Body=("x,y,plan\n" + "\n".join(rows[part::6]) + "\n").encode())
    (tmp_path / "all.csv").write_text("x,y,plan\n" + "\n".join(rows) + "\n")
    local = run_smops("baseline", "--dataset", str(tmp_path / "all.csv"), "--output", str(tmp_path / "local"))
    sharded = run_smops("baseline", "--dataset", "s3://train/data/", "--output", str(tmp_path / "sharded"),
                        "--engine", "processing", "--instance-count", "2", "--processing-role-arn", PROCESSING_ROLE)
    assert local.returncode == 0 and sharded.returncode == 0, local.stderr + sharded.stderr
    one = json.loads((tmp_path / "local" / "statistics.json").read_text())["features"]
    two = json.loads((tmp_path / "sharded" / "statistics.json").read_text())["features"]
    for mine, theirs in zip(two, one, strict=True):
        assert mine["name"] == theirs["name"] and mine["inferred_type"] == theirs["inferred_type"]
        if "numerical_statistics" in theirs:
            a, b = mine["numerical_statistics"], theirs["numerical_statistics"]
            assert a["common"] == b["common"] and (a["min"], a["max"]) == (b["min"], b["max"])
            assert a["mean"] == pytest.approx(b["mean"]) and a["std_dev"] == pytest.approx(b["std_dev"])
        else:
            assert mine["string_statistics"] == theirs["string_statistics"]


# -- IAM: the template's processing block, under the emulator's IAM enforcement ------------------


@pytest.fixture
def caller(traffic, aws_env):
    """The stack with its processing block, and a role like the monitor role: it reads the capture
    and the baseline, describes the endpoint, and has ProcessingCallerPolicy attached; its
    credentials, assumed."""
    from test_emulator_cloudformation import CAPABILITIES, OIDC, body, outputs, parameters

    cloudformation = boto3.client("cloudformation")
    cloudformation.create_stack(StackName="oidc", TemplateBody=body("github-oidc.yaml"), Capabilities=CAPABILITIES,
                                Parameters=parameters({**OIDC, "ProcessingResultsPrefix": "capture/smops-processing",
                                                       "ProcessingCapturePrefix": "capture/dc"}))
    found = outputs(cloudformation, "oidc")
    iam = boto3.client("iam")
    trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                                     "Principal": {"AWS": "arn:aws:iam::123456789012:root"}}]}

    def assume(name: str, attach: bool) -> dict:
        role = iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust))["Role"]
        iam.put_role_policy(RoleName=name, PolicyName="read-capture", PolicyDocument=json.dumps({
            "Version": "2012-10-17", "Statement": [
                {"Effect": "Allow", "Action": "s3:ListBucket", "Resource": "arn:aws:s3:::capture"},
                {"Effect": "Allow", "Action": "s3:GetObject",
                 "Resource": ["arn:aws:s3:::capture/dc/*", "arn:aws:s3:::capture/baseline/*"]},
                # on drift, what the endpoint serves: is a drift retraining of it still in flight?
                {"Effect": "Allow", "Action": "sagemaker:DescribeEndpoint",
                 "Resource": "arn:aws:sagemaker:us-east-1:123456789012:endpoint/churn-prod"}]}))
        if attach:
            iam.attach_role_policy(RoleName=name, PolicyArn=found["ProcessingCallerPolicyArn"])
        credentials = boto3.client("sts").assume_role(RoleArn=role["Arn"], RoleSessionName="drift")["Credentials"]
        return {"AWS_ACCESS_KEY_ID": credentials["AccessKeyId"], "AWS_SECRET_ACCESS_KEY": credentials["SecretAccessKey"],
                "AWS_SESSION_TOKEN": credentials["SessionToken"]}

    roles = {"granted": assume("monitor", True), "bare": assume("monitor-without-processing", False)}
    from smops.emulator import iam as enforcement

    before = enforcement.enforce(aws_env.url)
    yield found, roles
    enforcement.enforce(aws_env.url, str(before) if before != float("inf") else "inf")


def test_the_caller_policy_is_all_a_processing_run_needs(caller):
    found, roles = caller
    assert found["ProcessingRoleArn"].startswith("arn:aws:iam::123456789012:role/")
    command = ["drift", "--endpoint-name", "churn-prod", "--data-capture-uri", "s3://capture/dc", "--baseline",
               "s3://capture/baseline", "--since", "2h", "--engine", "processing",
               "--processing-role-arn", found["ProcessingRoleArn"], "--violations-file", ""]
    granted = run_smops(*command, env=roles["granted"])
    assert granted.returncode == 0, granted.stderr
    assert "drift in 1 feature: x" in granted.stderr
    bare = run_smops(*command, env=roles["bare"])
    assert bare.returncode == 1 and "AWS denied PutObject" in bare.stderr  # the job's code, under the results prefix
    other = run_smops(*command[:-4], "--processing-role-arn", "arn:aws:iam::123456789012:role/other",
                      "--violations-file", "", env=roles["granted"])
    assert other.returncode == 1 and "may not iam:PassRole" in other.stderr


def test_auto_hands_a_window_to_processing_only_above_the_threshold(traffic, monkeypatch):
    from smops.monitor import processing

    sm = boto3.client("sagemaker")
    auto = ("--engine", "auto", "--processing-role-arn", PROCESSING_ROLE)
    assert "Processing" not in drift._compute(drift_args(*auto)).what  # ~500 records: this runner
    assert sm.list_processing_jobs()["ProcessingJobSummaries"] == []
    estimated = sum(o["Size"] for o in traffic.list_objects_v2(Bucket="capture", Prefix="dc/")["Contents"]) \
        // processing.RECORD_BYTES
    monkeypatch.setattr(processing, "AUTO_RECORDS", estimated - 1)
    assert "SageMaker Processing job on 2 × ml.m5.xlarge" in drift._compute(drift_args(*auto)).what
    assert len(sm.list_processing_jobs()["ProcessingJobSummaries"]) == 1
    # without a processing role, auto stays on this runner
    assert "Processing" not in drift._compute(drift_args("--engine", "auto")).what
