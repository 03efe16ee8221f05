"""The example consumer project: its SDK v3 pipeline renders offline and runs on the emulator.

These tests need the SageMaker Python SDK (the [sdk] extra, installed by scripts/bootstrap) and
fail when it is missing: the example is what users copy, so it must keep compiling.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import py_compile
import socket
import time
from pathlib import Path

import boto3
import pytest
from conftest import ROLE_ARN, ROOT

from smops.cli import main
from smops.emulator import settings
from smops.emulator.settings import regression_report

pytestmark = pytest.mark.sdk

EXAMPLES = ROOT / "examples"
REGION = "us-east-1"
BUCKET = "smops-example"
PREFIX = "abalone"  # get_pipeline's default base_job_prefix
GROUP = "abalone-models"
ARGUMENTS = dict(
    region=REGION,
    role=ROLE_ARN,
    default_bucket=BUCKET,
    pipeline_name="abalone",
    model_package_group_name=GROUP,
)
TELEMETRY_OPT_OUT = """\
SchemaVersion: "1.0"
SageMaker: {PythonSDK: {Modules: {TelemetryOptOut: true}}}
"""
STEPS = [
    "PreprocessAbaloneData",
    "TrainAbaloneModel",
    "EvaluateAbaloneModel",
    "CheckAbaloneR2",
    "RegisterAbaloneModel",
]
EVALUATION_URI = (
    "Steps.EvaluateAbaloneModel.ProcessingOutputConfig.Outputs['evaluation'].S3Output.S3Uri"
)


def load_example(path: Path, name: str):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def quiet_sdk(mp: pytest.MonkeyPatch, directory: Path) -> None:
    """SDK settings for tests: no telemetry calls home, no user's SDK config file applies."""
    config = directory / "sagemaker-config.yaml"
    config.write_text(TELEMETRY_OPT_OUT)
    mp.setenv("SAGEMAKER_ADMIN_CONFIG_OVERRIDE", str(config))
    mp.setenv("SAGEMAKER_USER_CONFIG_OVERRIDE", str(config))
    # get_pipeline sets SAGEMAKER_VALIDATE_ROLE for the process: have monkeypatch restore it.
    mp.setenv("SAGEMAKER_VALIDATE_ROLE", "")
    mp.delenv("SAGEMAKER_VALIDATE_ROLE")


@contextlib.contextmanager
def network_blocked():
    """Refuse, and record, every connection beyond this machine."""
    attempts: list[str] = []
    real_getaddrinfo = socket.getaddrinfo

    def getaddrinfo(host, *args, **kwargs):
        if host not in ("127.0.0.1", "localhost", "::1"):
            attempts.append(str(host))
            raise OSError(f"network blocked in tests: {host}")
        return real_getaddrinfo(host, *args, **kwargs)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(socket, "getaddrinfo", getaddrinfo)
        yield attempts


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    """get_pipeline(...) and its definition, rendered with no credentials and no network.

    Module-scoped: rendering takes seconds. It runs before conftest's per-test environment
    scrubbing, so it scrubs the AWS and SDK settings itself.
    """
    directory = tmp_path_factory.mktemp("offline")
    with pytest.MonkeyPatch.context() as mp:
        for name in list(os.environ):
            if name.startswith(("AWS_", "SAGEMAKER_")):
                mp.delenv(name)
        mp.setenv("AWS_CONFIG_FILE", str(directory / "no-aws-config"))
        mp.setenv("AWS_SHARED_CREDENTIALS_FILE", str(directory / "no-aws-credentials"))
        mp.setenv("AWS_EC2_METADATA_DISABLED", "true")  # no credentials to look for on EC2
        mp.setenv("AWS_DEFAULT_REGION", REGION)  # SDK v3 cannot be imported without a region
        quiet_sdk(mp, directory)
        with network_blocked() as attempts:
            module = load_example(EXAMPLES / "pipeline.py", "example_pipeline")
            pipeline = module.get_pipeline(**ARGUMENTS)
            definition = json.loads(pipeline.definition())
    return pipeline, definition, attempts


@pytest.fixture
def definition(rendered) -> dict:
    return json.loads(json.dumps(rendered[1]))  # a copy per test


def steps_by_name(steps: list[dict]) -> dict[str, dict]:
    """Every step, also those inside a Condition's branches."""
    found = {}
    for step in steps:
        found[step["Name"]] = step
        if step["Type"] == "Condition":
            found |= steps_by_name(step["Arguments"]["IfSteps"] + step["Arguments"]["ElseSteps"])
    return found


def get_paths(value) -> set[str]:
    """The paths of every {"Get": path} in a definition."""
    if isinstance(value, dict) and set(value) == {"Get"}:
        return {value["Get"]}
    if isinstance(value, (dict, list)):
        inner = value.values() if isinstance(value, dict) else value
        return set().union(*map(get_paths, inner))
    return set()


# -- the rendered definition -------------------------------------------------------------------


def test_renders_an_sdk_v3_pipeline_offline(rendered):
    from sagemaker.mlops.workflow.pipeline import Pipeline

    pipeline, definition, attempts = rendered
    assert isinstance(pipeline, Pipeline)
    assert pipeline.name == "abalone"
    assert definition["Version"] == "2020-12-01"
    assert attempts == []  # not even a telemetry call


def test_steps_and_the_condition_branches(definition):
    assert [(s["Name"], s["Type"]) for s in definition["Steps"]] == [
        ("PreprocessAbaloneData", "Processing"),
        ("TrainAbaloneModel", "Training"),
        ("EvaluateAbaloneModel", "Processing"),
        ("CheckAbaloneR2", "Condition"),
    ]
    branches = definition["Steps"][3]["Arguments"]
    assert [(s["Name"], s["Type"]) for s in branches["IfSteps"]] == [
        ("RegisterAbaloneModel", "RegisterModel")
    ]
    assert [(s["Name"], s["Type"]) for s in branches["ElseSteps"]] == [("AbaloneR2TooLow", "Fail")]


def test_parameters_declared(definition):
    assert {p["Name"]: (p["Type"], p["DefaultValue"]) for p in definition["Parameters"]} == {
        "ProcessingInstanceType": ("String", "ml.m5.xlarge"),
        "ProcessingInstanceCount": ("Integer", 1),
        "TrainingInstanceType": ("String", "ml.m5.xlarge"),
        "TrainingInstanceCount": ("Integer", 1),
        "InputDataUrl": ("String", f"s3://{BUCKET}/{PREFIX}/data/abalone.csv"),
        "MinimumR2": ("Float", 0.4),
        "ModelApprovalStatus": ("String", "PendingManualApproval"),
        "RetrainReason": ("String", "none"),
    }


def test_registration_waits_for_manual_approval_through_the_parameter(definition):
    register = steps_by_name(definition["Steps"])["RegisterAbaloneModel"]["Arguments"]
    assert register["ModelApprovalStatus"] == {"Get": "Parameters.ModelApprovalStatus"}
    assert register["ModelPackageGroupName"] == GROUP
    (container,) = register["InferenceSpecification"]["Containers"]
    assert container["ModelDataUrl"] == {
        "Get": "Steps.TrainAbaloneModel.ModelArtifacts.S3ModelArtifacts"
    }
    assert container["Image"].endswith(".amazonaws.com/sagemaker-xgboost:1.7-1")
    assert register["InferenceSpecification"]["SupportedContentTypes"] == ["text/csv"]
    statistics = register["ModelMetrics"]["ModelQuality"]["Statistics"]
    assert statistics["ContentType"] == "application/json"
    assert statistics["S3Uri"] == {
        "Std:Join": {
            "On": "/",
            "Values": [
                {"Get": EVALUATION_URI},
                "evaluation.json",
            ],
        }
    }


def test_condition_compares_the_evaluation_report_with_the_threshold(definition):
    evaluate = steps_by_name(definition["Steps"])["EvaluateAbaloneModel"]
    assert evaluate["PropertyFiles"] == [
        {
            "PropertyFileName": "EvaluationReport",
            "OutputName": "evaluation",
            "FilePath": "evaluation.json",
        }
    ]
    outputs = evaluate["Arguments"]["ProcessingOutputConfig"]["Outputs"]
    assert [o["OutputName"] for o in outputs] == ["evaluation"]
    (condition,) = definition["Steps"][3]["Arguments"]["Conditions"]
    assert condition == {
        "Type": "GreaterThanOrEqualTo",
        "LeftValue": {
            "Std:JsonGet": {
                "PropertyFile": {
                    "Get": "Steps.EvaluateAbaloneModel.PropertyFiles.EvaluationReport"
                },
                "Path": "regression_metrics.r2.value",
            }
        },
        "RightValue": {"Get": "Parameters.MinimumR2"},
    }


def test_every_reference_names_a_declared_parameter_or_step(definition):
    parameters = {p["Name"] for p in definition["Parameters"]}
    steps = steps_by_name(definition["Steps"])
    for path in get_paths(definition["Steps"]):
        kind, name = path.split(".")[:2]
        assert kind in {"Parameters", "Steps", "Execution"}, path
        if kind == "Parameters":
            assert name in parameters, path
        if kind == "Steps":
            assert name in steps, path


def test_scripts_are_referenced_by_s3_uri_and_shipped(definition):
    steps = steps_by_name(definition["Steps"])
    scripts = {"PreprocessAbaloneData": "preprocess.py", "EvaluateAbaloneModel": "evaluate.py"}
    for step_name, script in scripts.items():
        arguments = steps[step_name]["Arguments"]
        inputs = {i["InputName"]: i["S3Input"] for i in arguments["ProcessingInputs"]}
        assert inputs["code"]["S3Uri"] == f"s3://{BUCKET}/{PREFIX}/code/{script}"
        py_compile.compile(str(EXAMPLES / "code" / script), doraise=True)


def test_get_pipeline_needs_a_bucket_rather_than_creating_one(rendered):
    # `rendered` has imported the SDK, which needs a region and probes for credentials.
    module = load_example(EXAMPLES / "pipeline.py", "example_pipeline_again")
    with pytest.raises(ValueError, match="--default-bucket"):
        module.get_pipeline(region=REGION, role=ROLE_ARN)


def test_smoke_payload_is_one_row_of_the_model_features():
    preprocess = load_example(EXAMPLES / "code" / "preprocess.py", "example_preprocess")
    (row,) = (EXAMPLES / "smoke-payload.csv").read_text().splitlines()
    values = [float(v) for v in row.split(",")]
    assert len(values) == len(preprocess.FEATURES)


# -- the definition run on the emulator --------------------------------------------------------


def run(sagemaker, definition: dict, **parameters: str) -> tuple[str, str, dict[str, dict]]:
    """Create the pipeline, start it, poll until it ends: (execution ARN, status, steps)."""
    sagemaker.create_pipeline(
        PipelineName="abalone", PipelineDefinition=json.dumps(definition), RoleArn=ROLE_ARN
    )
    arn = sagemaker.start_pipeline_execution(
        PipelineName="abalone",
        PipelineParameters=[{"Name": k, "Value": v} for k, v in parameters.items()],
    )["PipelineExecutionArn"]
    deadline = time.monotonic() + 300  # a safety net; it ends in seconds
    while True:
        execution = sagemaker.describe_pipeline_execution(PipelineExecutionArn=arn)
        steps = sagemaker.list_pipeline_execution_steps(PipelineExecutionArn=arn)
        status = execution["PipelineExecutionStatus"]
        if status not in {"Executing", "Stopping"}:
            return arn, status, {s["StepName"]: s for s in steps["PipelineExecutionSteps"]}
        assert time.monotonic() < deadline, f"still {status} after 300 s"
        time.sleep(0.02)


def packages_in_group(sagemaker) -> list[str]:
    listed = sagemaker.list_model_packages(ModelPackageGroupName=GROUP)
    return [p["ModelPackageArn"] for p in listed["ModelPackageSummaryList"]]


def test_execution_registers_a_model_pending_approval_with_its_metrics(sagemaker, definition):
    arn, status, steps = run(sagemaker, definition)
    assert status == "Succeeded"
    assert {name: s["StepStatus"] for name, s in steps.items()} == dict.fromkeys(STEPS, "Succeeded")
    assert steps["CheckAbaloneR2"]["Metadata"]["Condition"]["Outcome"] == "True"
    package_arn = steps["RegisterAbaloneModel"]["Metadata"]["RegisterModel"]["Arn"]
    assert packages_in_group(sagemaker) == [package_arn]

    package = sagemaker.describe_model_package(ModelPackageName=package_arn)
    execution_id = arn.rsplit("/", 1)[-1]
    assert package["ModelApprovalStatus"] == "PendingManualApproval"
    assert package["MetadataProperties"]["GeneratedBy"] == arn
    assert package["ModelMetrics"]["ModelQuality"]["Statistics"] == {
        "ContentType": "application/json",
        "S3Uri": f"s3://{BUCKET}/{PREFIX}/{execution_id}/evaluation/evaluation.json",
    }
    model_url = package["InferenceSpecification"]["Containers"][0]["ModelDataUrl"]
    training_job = f"pipelines-{execution_id}-TrainAbaloneModel"
    assert model_url.startswith(f"s3://{BUCKET}/{PREFIX}/models/{training_job}")
    assert model_url.endswith("/output/model.tar.gz")
    described = json.dumps(package, default=str)
    assert '"Get"' not in described and "Std:" not in described


def test_approval_status_parameter_decides_the_registered_status(sagemaker, definition):
    _, status, steps = run(sagemaker, definition, ModelApprovalStatus="Approved")
    assert status == "Succeeded"
    package_arn = steps["RegisterAbaloneModel"]["Metadata"]["RegisterModel"]["Arn"]
    package = sagemaker.describe_model_package(ModelPackageName=package_arn)
    assert package["ModelApprovalStatus"] == "Approved"


def test_the_evaluation_report_lands_where_model_metrics_point_and_decides_the_condition(sagemaker, definition):
    settings.evaluation_report = regression_report(mse=4.41, mae=1.49, r2=0.577)
    _, status, steps = run(sagemaker, definition, MinimumR2="0.577")
    assert status == "Succeeded"
    assert steps["CheckAbaloneR2"]["Metadata"]["Condition"]["Outcome"] == "True"  # 0.577 >= 0.577
    package_arn = steps["RegisterAbaloneModel"]["Metadata"]["RegisterModel"]["Arn"]
    uri = sagemaker.describe_model_package(ModelPackageName=package_arn)["ModelMetrics"]["ModelQuality"]["Statistics"]["S3Uri"]
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    written = json.loads(boto3.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read())
    assert written == settings.evaluation_report
    assert written["regression_metrics"]["r2"] == {"value": 0.577}


def test_else_branch_fails_at_the_fail_step_with_its_message(sagemaker, definition):
    settings.evaluation_report = regression_report(mse=6.1, mae=1.9, r2=0.52)  # R2 below MinimumR2 = 0.6
    _, status, steps = run(sagemaker, definition, MinimumR2="0.6")
    assert status == "Failed"
    assert steps["CheckAbaloneR2"]["Metadata"]["Condition"]["Outcome"] == "False"
    fail = steps["AbaloneR2TooLow"]
    assert fail["StepStatus"] == "Failed"
    assert fail["FailureReason"] == "R2 on the test set is below MinimumR2 = 0.6"
    assert fail["Metadata"]["Fail"]["ErrorMessage"] == fail["FailureReason"]
    assert "RegisterAbaloneModel" not in steps
    assert packages_in_group(sagemaker) == []


def test_smops_build_runs_the_example_file(sagemaker, definition, monkeypatch, tmp_path, outputs):
    """`smops build` renders the same definition with the emulator's endpoint and credentials."""
    quiet_sdk(monkeypatch, tmp_path)
    with network_blocked() as attempts:
        code = main(
            [
                "build",
                "--pipeline", str(EXAMPLES / "pipeline.py"),
                "--pipeline-name", "abalone",
                "--role-arn", ROLE_ARN,
                "--default-bucket", BUCKET,
                "--model-package-group", GROUP,
            ]
        )
    assert code == 0
    assert attempts == []
    out = outputs()
    assert out["execution-status"] == "Succeeded"
    package = sagemaker.describe_model_package(ModelPackageName=out["model-package-arn"])
    assert package["ModelApprovalStatus"] == "PendingManualApproval"
    deployed = sagemaker.describe_pipeline(PipelineName="abalone")["PipelineDefinition"]
    assert json.loads(deployed) == definition
