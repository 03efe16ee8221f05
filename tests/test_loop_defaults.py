"""What `smops init` writes, built as written on the emulator's real path (not a rehearsal), and the
loop's defaults: each package gets a data baseline that `smops drift` finds with no flags, a
retraining carries its reason, and one drift retraining per endpoint is in flight at a time.

Every smops command runs as a process, as a workflow step would, with the values the starters hold.
"""

from __future__ import annotations

import json
import random

import boto3
import pytest
from conftest import ROLE_ARN as ROLE
from conftest import ROOT, run_smops
from test_example_pipeline import quiet_sdk
from test_gates import pull_request  # noqa: F401 (fixture)
from test_init import FLAGS, MODEL_ROLE, init, reusable_inputs

from smops import registry
from smops.cli import main
from smops.emulator import settings
from smops.monitor import baseline

BUCKET = "churn-artifacts"
PRODUCTION = "churn-production"
FEATURES = 3  # the skeleton's data: the label first, then three numeric features


def row(rng: random.Random, shift: float) -> list[str]:
    features = [rng.gauss(10 * shift, 2), rng.uniform(0, 5) * shift, rng.gauss(50, 5) * shift]
    return [f"{v:.3f}" for v in features]


def training_csv(rng: random.Random, rows: int) -> str:
    """The train split as the skeleton's preprocess.py writes it: label first, no header."""
    lines = []
    for _ in range(rows):
        features = row(rng, 1.0)
        lines.append(",".join([f"{sum(map(float, features)):.3f}", *features]))
    return "\n".join(lines) + "\n"


@pytest.fixture
def project(tmp_path, aws_env, monkeypatch):
    """A repository set up by `smops init` with flags only; its starter's build inputs."""
    repo = tmp_path / "repo"
    repo.mkdir()
    region = aws_env.region
    assert init(repo, *_flags(region)) == 0
    quiet_sdk(monkeypatch, tmp_path)
    boto3.client("s3").create_bucket(Bucket=BUCKET)
    settings.processing_outputs["train"] = training_csv(random.Random(1), 600)
    settings.endpoint_seconds = 0
    return repo, reusable_inputs(repo, "build")


def _flags(region: str) -> list[str]:
    flags = list(FLAGS)
    flags[flags.index("--region") + 1] = region
    return flags + ["--default-bucket", BUCKET]


def build(project, *extra: str, env: dict | None = None):
    """`smops build` with the build starter's values, gates included, as the reusable workflow
    passes them to the build action on a push to main."""
    repo, inputs = project
    gates = [arg for gate in inputs["gates"].split() for arg in ("--gate", gate)]
    return run_smops(
        "build", "--pipeline", inputs["pipeline"], "--pipeline-name", inputs["pipeline-name"],
        "--role-arn", inputs["pipeline-role-arn"], "--default-bucket", inputs["default-bucket"],
        "--model-package-group", inputs["model-package-group"], "--region", inputs["region"],
        "--baseline-endpoint", inputs["baseline-endpoint"], *gates, *extra, cwd=repo, env=env,
    )


def package(arn: str) -> dict:
    return boto3.client("sagemaker").describe_model_package(ModelPackageName=arn)


def test_inits_own_output_builds_with_its_own_gates_and_gets_a_data_baseline(project, outputs, summary):
    result = build(project)
    assert result.returncode == 0, result.stderr
    out = outputs()
    assert out["execution-status"] == "Succeeded" and out["model-package-arn"].endswith("/1")
    assert "gate regression_metrics.r2>=0.5: passed" in result.stderr
    assert "gate mse:no-worse-than-baseline:2%: passed" in result.stderr
    v1 = package(out["model-package-arn"])
    assert v1["ModelApprovalStatus"] == "PendingManualApproval"
    # The evaluation report is the package's ModelMetrics; the gates read it.
    assert v1["ModelMetrics"]["ModelQuality"]["Statistics"]["S3Uri"].endswith("/evaluation/evaluation.json")
    # The data baseline: the training job's train split, the label left out, recorded on the package.
    metadata = v1["CustomerMetadataProperties"]
    statistics = metadata[baseline.STATISTICS_KEY]
    assert statistics == f"s3://{BUCKET}/smops-baseline/churn/v1/statistics.json"
    assert metadata[baseline.CONSTRAINTS_KEY] == f"s3://{BUCKET}/smops-baseline/churn/v1/constraints.json"
    document = json.loads(boto3.client("s3").get_object(Bucket=BUCKET, Key="smops-baseline/churn/v1/statistics.json")["Body"].read())
    assert document["dataset"]["item_count"] == 600 and len(document["features"]) == FEATURES
    assert registry.RETRAIN_REASON_KEY not in metadata  # not a retraining
    assert f"**Data baseline** for `smops drift`: `{statistics}`" in summary()

    # A retraining reason is accepted by the skeleton, and recorded with the run that decided it.
    run = {"GITHUB_SERVER_URL": "https://github.com", "GITHUB_REPOSITORY": "octo-org/churn", "GITHUB_RUN_ID": "77"}
    result = build(project, "--parameter", "RetrainReason=drift:x", env=run)
    assert result.returncode == 0, result.stderr
    metadata = package(outputs()["model-package-arn"])["CustomerMetadataProperties"]
    assert metadata[registry.RETRAIN_REASON_KEY] == "drift:x"
    assert metadata[registry.RETRAIN_RUN_KEY] == "https://github.com/octo-org/churn/actions/runs/77"
    assert "**Retrained**: `drift:x` ([run](https://github.com/octo-org/churn/actions/runs/77))" in summary()


def test_a_pipeline_that_registers_no_metrics_gets_no_gates_and_is_told_why(tmp_path):
    repo = tmp_path / "repo"
    (repo / "ml").mkdir(parents=True)
    (repo / "ml" / "pipeline.py").write_text("def get_pipeline(region, role=None):\n    ...  # trains, registers\n")
    assert init(repo, *FLAGS) == 0
    inputs = reusable_inputs(repo, "build")
    assert "gates" not in inputs
    text = (repo / ".github/workflows/build.yml").read_text()
    assert "# No gates: ml/pipeline.py registers no ModelMetrics for them to read" in text
    assert "#   regression_metrics.r2>=0.5" in text
    assert init(repo, *FLAGS) == 0  # a second run keeps it as it is
    # A pipeline that registers metrics keeps the gates.
    other = tmp_path / "other"
    (other / "ml").mkdir(parents=True)
    (other / "ml" / "pipeline.py").write_text("model_metrics = ModelMetrics(...)\n")
    assert init(other, *FLAGS) == 0
    assert reusable_inputs(other, "build")["gates"].split() == ["regression_metrics.r2>=0.5", "mse:no-worse-than-baseline:2%"]


def drift(tmp_path, outputs):
    result = run_smops("drift", "--endpoint-name", PRODUCTION, "--since", "1h",
                       "--violations-file", str(tmp_path / "violations.json"))
    assert result.returncode == 0, result.stderr
    return outputs(), result


def test_drift_finds_the_build_baseline_and_one_drift_retraining_is_in_flight(project, tmp_path, outputs, summary):
    assert build(project).returncode == 0
    v1 = outputs()["model-package-arn"]
    assert run_smops("approve", "--model-package-arn", v1).returncode == 0
    deployed = run_smops("deploy", "--model-package-arn", v1, "--endpoint-name", PRODUCTION, "--role-arn", MODEL_ROLE,
                         "--data-capture-uri", f"s3://{BUCKET}/smops-capture")
    assert deployed.returncode == 0, deployed.stderr
    runtime = boto3.client("sagemaker-runtime")
    rng = random.Random(2)

    def send(shift: float) -> None:
        for _ in range(20):
            body = "\n".join(",".join(row(rng, shift)) for _ in range(10))
            runtime.invoke_endpoint(EndpointName=PRODUCTION, Body=body.encode(), ContentType="text/csv")

    send(1.0)
    found, result = drift(tmp_path, outputs)  # no --baseline: the one the build recorded on v1
    assert f"baseline: s3://{BUCKET}/smops-baseline/churn/v1" in result.stderr
    assert (found["drifted"], found["retrain"]) == ("false", "false")

    send(1.6)
    found, _ = drift(tmp_path, outputs)
    assert (found["drifted"], found["retrain"], found["pending-retraining"]) == ("true", "true", "")
    reason = f"drift:{found['drifted-features']}"
    assert build(project, "--parameter", f"RetrainReason={reason}").returncode == 0
    v2 = outputs()["model-package-arn"]
    assert package(v2)["CustomerMetadataProperties"][registry.RETRAIN_REASON_KEY] == reason

    # A second drift while v2 waits for approval starts no other retraining, and says so.
    found, result = drift(tmp_path, outputs)
    assert (found["drifted"], found["retrain"], found["pending-retraining"]) == ("true", "false", v2)
    assert f"**No retraining**: churn v2, retrained for {reason}, still waits for approval" in summary()

    status = run_smops("status", "--model-package-group", "churn", "--endpoint-name", PRODUCTION)
    assert status.returncode == 0, status.stderr
    assert f"churn v2: PendingManualApproval\n" in status.stdout
    assert f"  retrained: {reason}" in status.stdout

    # Once v2 is rejected, the next drift retrains again.
    assert run_smops("approve", "--model-package-arn", v2, "--status", "Rejected").returncode == 0
    found, _ = drift(tmp_path, outputs)
    assert (found["drifted"], found["retrain"]) == ("true", "true")


def test_a_package_without_a_baseline_makes_drift_say_how_to_make_one(aws_env, tmp_path):
    settings.endpoint_seconds = 0
    sagemaker, s3 = boto3.client("sagemaker"), boto3.client("s3")
    s3.create_bucket(Bucket=BUCKET)
    sagemaker.create_model_package_group(ModelPackageGroupName="churn")
    arn = sagemaker.create_model_package(
        ModelPackageGroupName="churn", ModelApprovalStatus="Approved",
        InferenceSpecification={"Containers": [{"Image": "img"}], "SupportedContentTypes": ["text/csv"],
                                "SupportedResponseMIMETypes": ["text/csv"]})["ModelPackageArn"]
    deployed = run_smops("deploy", "--model-package-arn", arn, "--endpoint-name", PRODUCTION, "--role-arn", MODEL_ROLE,
                         "--data-capture-uri", f"s3://{BUCKET}/smops-capture")
    assert deployed.returncode == 0, deployed.stderr
    boto3.client("sagemaker-runtime").invoke_endpoint(EndpointName=PRODUCTION, Body=b"1,2,3", ContentType="text/csv")
    result = run_smops("drift", "--endpoint-name", PRODUCTION, "--violations-file", str(tmp_path / "v.json"))
    assert result.returncode == 2
    assert f"model package {arn} has no data quality baseline" in result.stderr
    assert "build it again with smops build, which records one" in result.stderr



# -- where the baseline is recorded, for any pipeline ------------------------------------------------

DEFINITION = ROOT / "tests" / "data" / "pipeline-definition.json"
REGISTERED = "s3://example-bucket/registered-baseline"


def definition_with_drift_check_baselines(tmp_path) -> str:
    """The test definition, its package registered with DriftCheckBaselines that no step writes."""
    definition = json.loads(DEFINITION.read_text())
    register = definition["Steps"][-1]["Arguments"]["IfSteps"][0]["Arguments"]
    register["DriftCheckBaselines"] = {"ModelDataQuality": {
        "Statistics": {"ContentType": "application/json", "S3Uri": f"{REGISTERED}/statistics.json"},
        "Constraints": {"ContentType": "application/json", "S3Uri": f"{REGISTERED}/constraints.json"}}}
    path = tmp_path / "pipeline.json"
    path.write_text(json.dumps(definition))
    return str(path)


def build_json(pipeline: str, *extra: str) -> int:
    return main(["build", "--pipeline", pipeline, "--pipeline-name", "churn", "--role-arn", ROLE, *extra])


@pytest.fixture
def example_bucket(aws_env):
    boto3.client("s3").create_bucket(Bucket="example-bucket")
    settings.processing_outputs["train"] = training_csv(random.Random(4), 50)


def test_the_baseline_goes_where_the_pipeline_registered_drift_check_baselines(example_bucket, tmp_path, outputs):
    assert build_json(definition_with_drift_check_baselines(tmp_path)) == 0
    found = package(outputs()["model-package-arn"])
    assert baseline.STATISTICS_KEY not in (found.get("CustomerMetadataProperties") or {})
    written = baseline.load(f"{REGISTERED}/statistics.json", f"{REGISTERED}/constraints.json")
    assert written.statistics["dataset"]["item_count"] == 50 and len(written.features()) == FEATURES
    assert baseline.from_package(found) == (f"{REGISTERED}/statistics.json", f"{REGISTERED}/constraints.json")


def test_a_baseline_the_pipeline_wrote_itself_is_kept(example_bucket, tmp_path, summary):
    own = json.dumps({"version": 0, "features": [{"name": "mine", "inferred_type": "Fractional"}]})
    boto3.client("s3").put_object(Bucket="example-bucket", Key="registered-baseline/statistics.json", Body=own.encode())
    assert build_json(definition_with_drift_check_baselines(tmp_path)) == 0
    assert baseline.read_text(f"{REGISTERED}/statistics.json") == own
    assert "registered by the pipeline" in summary()


def test_training_data_and_its_label_column_can_be_named(example_bucket, outputs):
    s3 = boto3.client("s3")
    s3.put_object(Bucket="example-bucket", Key="named/part-1.csv", Body=b"tenure,churned,charges\n1,0,20.5\n2,1,30.5\n")
    s3.put_object(Bucket="example-bucket", Key="named/part-2.csv", Body=b"tenure,churned,charges\n3,0,40.5\n")
    assert build_json(str(DEFINITION), "--default-bucket", "example-bucket", "--training-data",
                      "s3://example-bucket/named", "--training-label-column", "churned") == 0
    found = package(outputs()["model-package-arn"])
    statistics = found["CustomerMetadataProperties"][baseline.STATISTICS_KEY]
    assert statistics == "s3://example-bucket/smops-baseline/smops-test-models/v1/statistics.json"
    written = baseline.load(statistics, None)
    assert [f["name"] for f in written.features()] == ["tenure", "charges"]
    assert written.statistics["dataset"]["item_count"] == 3


def test_no_training_data_is_a_warning_not_a_failed_build(aws_env, outputs, capsys):
    """The build registered its package: a missing baseline is said, and drift asks for one later."""
    assert build_json(str(DEFINITION)) == 0  # s3://example-bucket does not exist
    err = capsys.readouterr().err
    assert "no data baseline for smops-test-models v1, so `smops drift` will ask for one" in err
    assert baseline.STATISTICS_KEY not in (package(outputs()["model-package-arn"]).get("CustomerMetadataProperties") or {})


def test_training_data_that_is_not_in_s3_is_refused_before_anything_changes(aws_env, capsys):
    assert build_json(str(DEFINITION), "--training-data", "data/train.csv") == 2
    assert "--training-data 'data/train.csv' is not an s3:// URI" in capsys.readouterr().err
    assert boto3.client("sagemaker").list_pipelines()["PipelineSummaries"] == []


def test_the_emulator_describes_a_pipelines_training_job_with_what_it_read(example_bucket, outputs):
    """DescribeTrainingJob, as SageMaker answers for a job a pipeline started: its channels resolved
    (here the Preprocess step's train output, which the emulator wrote as train.csv)."""
    assert build_json(str(DEFINITION)) == 0
    sagemaker = boto3.client("sagemaker")
    steps = sagemaker.list_pipeline_execution_steps(PipelineExecutionArn=outputs()["execution-arn"])["PipelineExecutionSteps"]
    arn = next(s["Metadata"]["TrainingJob"]["Arn"] for s in steps if "TrainingJob" in s.get("Metadata", {}))
    job = sagemaker.describe_training_job(TrainingJobName=arn.rsplit("/", 1)[-1])
    assert job["TrainingJobArn"] == arn and job["TrainingJobStatus"] == "Completed"
    [channel] = job["InputDataConfig"]
    assert channel["ChannelName"] == "train"
    assert channel["DataSource"]["S3DataSource"]["S3Uri"] == "s3://example-bucket/data/train"
    assert boto3.client("s3").get_object(Bucket="example-bucket", Key="data/train/train.csv")["Body"].read().decode() \
        == settings.processing_outputs["train"]
    with pytest.raises(sagemaker.exceptions.ClientError):
        sagemaker.describe_training_job(TrainingJobName="no-such-job")


def test_the_retrain_reason_shows_in_the_pull_request_comment(aws_env, pull_request, tmp_path, monkeypatch):  # noqa: F811
    monkeypatch.setenv("GITHUB_SERVER_URL", "https://github.com")
    monkeypatch.setenv("GITHUB_RUN_ID", "42")
    definition = json.loads(DEFINITION.read_text())
    definition["Parameters"].append({"Name": "RetrainReason", "Type": "String", "DefaultValue": "none"})
    path = tmp_path / "pipeline.json"
    path.write_text(json.dumps(definition))
    assert build_json(str(path), "--parameter", "RetrainReason=drift:tenure", "--pr-comment") == 0
    [comment] = pull_request.comments.on("octo/churn", 7)
    assert "**Retrained**: `drift:tenure` ([run](https://github.com/octo/churn/actions/runs/42))" in comment["body"]
