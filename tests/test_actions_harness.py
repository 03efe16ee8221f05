"""The actions' glue, executed: their `run:` steps with the env a runner gives, against the emulator.

What GitHub itself would do (install Python, substitute `${{ }}`, collect GITHUB_OUTPUT) is played
by tests/actions_harness.py; everything else is the real YAML and the real smops processes.
"""

from __future__ import annotations

import importlib.util
import json
import re
import shutil
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import boto3
import pytest
from actions_harness import HarnessError, run_action
from conftest import ROLE_ARN, ROOT

from smops.emulator import settings

DEFINITION = ROOT / "tests" / "data" / "pipeline-definition.json"
GROUP = "smops-test-models"
IMAGE = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1"

needs_deploy = pytest.mark.skipif(
    importlib.util.find_spec("smops.deploy") is None, reason="smops deploy is not on this branch yet"
)
needs_smoke_test = pytest.mark.skipif(
    importlib.util.find_spec("smops.smoke") is None, reason="smops smoke-test is not on this branch yet"
)


@pytest.fixture
def workspace(tmp_path) -> Path:
    """The consumer's checkout: a pipeline definition and a smoke-test payload."""
    root = tmp_path / "workspace"
    (root / "ml").mkdir(parents=True)
    shutil.copy(DEFINITION, root / "ml" / "pipeline.json")
    (root / "ml" / "payload.csv").write_text("1.0,2.0,3.0\n")
    return root


def build_inputs(**extra: str) -> dict[str, str]:
    return {
        "pipeline": "ml/pipeline.json",
        "pipeline-name": "churn",
        "role-arn": ROLE_ARN,
        **extra,
    }


# -- actions/build ------------------------------------------------------------------------------


def test_build_action_runs_the_pipeline_and_maps_every_output(aws_env, workspace, tmp_path, sagemaker):
    result = run_action(
        "actions/build",
        build_inputs(parameter="Epochs=3\nMseThreshold=7.5\n", tag="team=ml\ncost-center=42"),
        workspace=workspace,
        tmp_path=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    assert result.skipped == ["python", "cache", "setup"] and result.ran == ["cache-key", "smops"]
    out = result.outputs
    assert out["execution-status"] == "Succeeded"
    assert out["pipeline-arn"].endswith(":pipeline/churn")
    assert out["execution-arn"].startswith(out["pipeline-arn"] + "/execution/")
    package = sagemaker.describe_model_package(ModelPackageName=out["model-package-arn"])
    assert package["ModelPackageGroupName"] == GROUP
    # The multi-line inputs arrived as repeated flags: parameters on the execution, tags on the pipeline.
    parameters = sagemaker.list_pipeline_parameters_for_execution(PipelineExecutionArn=out["execution-arn"])
    values = {p["Name"]: p["Value"] for p in parameters["PipelineParameters"]}
    assert values["Epochs"] == "3" and values["MseThreshold"] == "7.5"
    tags = {t["Key"]: t["Value"] for t in sagemaker.list_tags(ResourceArn=out["pipeline-arn"])["Tags"]}
    assert tags["team"] == "ml" and tags["cost-center"] == "42"
    assert "churn" in result.summary


def test_cache_key_step_keys_the_install_the_action_asks_for(aws_env, workspace, tmp_path):
    # build with the SDK, deploy without: two keys, one cache directory under RUNNER_TEMP.
    runner = {"RUNNER_OS": "Linux", "RUNNER_ARCH": "X64"}
    build = run_action(
        "actions/build",
        build_inputs(**{"sdk-extra": "true", "dry-run": "true"}),
        workspace=workspace,
        tmp_path=tmp_path / "build",
        env=runner,
    )
    deploy = run_action(
        "actions/deploy", {"endpoint-name": "nowhere"}, workspace=workspace, tmp_path=tmp_path / "deploy", env=runner
    )
    keys = {name: result.steps["cache-key"] for name, result in (("build", build), ("deploy", deploy))}
    assert re.match(r"smops-uv[\d.]+-Linux-X64-cpython3\.", keys["build"]["key"]) and "-sdk-" in keys["build"]["key"]
    assert "-base-" in keys["deploy"]["key"]
    for name, outputs in keys.items():
        assert outputs["key"].startswith(outputs["restore-key"])
        assert outputs["dir"] == str((tmp_path / name / "runner-temp" / "smops-cache").resolve())


def test_build_action_working_directory_resolves_the_pipeline(aws_env, workspace, tmp_path):
    result = run_action(
        "actions/build",
        build_inputs(pipeline="pipeline.json", **{"working-directory": "ml", "wait": "false"}),
        workspace=workspace,
        tmp_path=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    assert result.outputs["execution-status"] == "Executing"
    assert result.outputs["model-package-arn"] == ""


def test_build_action_fails_the_step_and_still_reports_the_execution(aws_env, workspace, tmp_path):
    settings.fail_steps["Train"] = "AlgorithmError: loss is NaN"
    result = run_action("actions/build", build_inputs(), workspace=workspace, tmp_path=tmp_path)
    assert result.returncode == 1
    assert result.outputs["execution-status"] == "Failed"
    assert result.outputs["execution-arn"]
    assert "loss is NaN" in result.stderr


def test_build_action_refuses_a_bad_input_before_touching_aws(aws_env, workspace, tmp_path, sagemaker):
    result = run_action("actions/build", build_inputs(wait="sometimes"), workspace=workspace, tmp_path=tmp_path)
    assert result.returncode == 2
    assert "SMOPS_WAIT='sometimes' is invalid" in result.stderr
    assert sagemaker.list_pipelines()["PipelineSummaries"] == []


# -- the root action ----------------------------------------------------------------------------


def test_root_action_runs_the_command_it_is_given(aws_env, workspace, tmp_path):
    result = run_action(
        ".",
        {"command": "build", **build_inputs(), "wait": "false"},
        workspace=workspace,
        tmp_path=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    assert result.outputs["execution-status"] == "Executing"
    assert result.outputs["pipeline-arn"].endswith(":pipeline/churn")
    # Outputs of the commands not run stay empty rather than missing.
    assert result.outputs["endpoint-name"] == ""


def test_root_action_inputs_of_other_commands_do_not_leak_into_this_one(aws_env, workspace, tmp_path):
    # `keep` belongs to cleanup and `strategy` to deploy: build must not see them as flags.
    result = run_action(
        ".",
        {"command": "build", **build_inputs(), "wait": "false", "keep": "5", "strategy": "canary"},
        workspace=workspace,
        tmp_path=tmp_path,
    )
    assert result.returncode == 0, result.stderr


# -- actions/deploy and actions/smoke-test ------------------------------------------------------


def approved_package(sagemaker) -> str:
    sagemaker.create_model_package_group(ModelPackageGroupName=GROUP)
    return sagemaker.create_model_package(
        ModelPackageGroupName=GROUP,
        ModelApprovalStatus="Approved",
        InferenceSpecification={
            "Containers": [{"Image": IMAGE, "ModelDataUrl": "s3://example-bucket/models/model.tar.gz"}],
            "SupportedContentTypes": ["text/csv"],
            "SupportedResponseMIMETypes": ["text/csv"],
        },
    )["ModelPackageArn"]


DEPLOY_OUTPUTS = {"endpoint-name", "endpoint-arn", "endpoint-config-name", "model-name", "model-package-arn", "action"}


@needs_deploy
def test_deploy_action_creates_then_leaves_the_endpoint_unchanged(aws_env, workspace, tmp_path, sagemaker):
    arn = approved_package(sagemaker)
    inputs = {
        "model-package-arn": arn,
        "endpoint-name": "churn-staging",
        "role-arn": ROLE_ARN,
        "environment": "staging",
        "tag": "team=ml",
    }
    first = run_action("actions/deploy", inputs, workspace=workspace, tmp_path=tmp_path / "first")
    assert first.returncode == 0, first.stderr
    assert set(first.outputs) == DEPLOY_OUTPUTS and all(first.outputs.values())
    assert first.outputs["action"] == "created"
    assert first.outputs["endpoint-name"] == "churn-staging"
    assert first.outputs["model-package-arn"] == arn
    endpoint = sagemaker.describe_endpoint(EndpointName="churn-staging")
    assert endpoint["EndpointArn"] == first.outputs["endpoint-arn"]
    assert endpoint["EndpointConfigName"] == first.outputs["endpoint-config-name"]

    again = run_action("actions/deploy", inputs, workspace=workspace, tmp_path=tmp_path / "again")
    assert again.returncode == 0, again.stderr
    assert again.outputs["action"] == "unchanged"
    assert again.outputs["endpoint-config-name"] == first.outputs["endpoint-config-name"]


@needs_deploy
def test_deploy_action_resolves_the_newest_approved_package_of_a_group(aws_env, workspace, tmp_path, sagemaker):
    arn = approved_package(sagemaker)
    inputs = {"model-package-group": GROUP, "endpoint-name": "churn-staging", "role-arn": ROLE_ARN}
    result = run_action("actions/deploy", inputs, workspace=workspace, tmp_path=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.outputs["model-package-arn"] == arn


@needs_deploy
def test_deploy_action_promotion_guard_refuses_what_staging_does_not_serve(aws_env, workspace, tmp_path, sagemaker):
    arn = approved_package(sagemaker)
    inputs = {
        "model-package-arn": arn,
        "endpoint-name": "churn-production",
        "role-arn": ROLE_ARN,
        "require-on-endpoint": "churn-staging",
    }
    result = run_action("actions/deploy", inputs, workspace=workspace, tmp_path=tmp_path)
    assert result.returncode == 2
    assert "churn-staging" in result.stderr
    assert sagemaker.list_endpoints()["Endpoints"] == []


@needs_deploy
@needs_smoke_test
def test_smoke_test_action_reports_status_and_latency(aws_env, workspace, tmp_path, sagemaker):
    arn = approved_package(sagemaker)
    deployed = run_action(
        "actions/deploy",
        {"model-package-arn": arn, "endpoint-name": "churn-staging", "role-arn": ROLE_ARN},
        workspace=workspace,
        tmp_path=tmp_path / "deploy",
    )
    assert deployed.returncode == 0, deployed.stderr
    result = run_action(
        "actions/smoke-test",
        {"endpoint-name": "churn-staging", "payload": "ml/payload.csv", "count": "2"},
        workspace=workspace,
        tmp_path=tmp_path / "smoke",
    )
    assert result.returncode == 0, result.stderr
    assert result.outputs["status-code"] == "200"
    assert float(result.outputs["latency-ms"]) >= 0


@needs_smoke_test
def test_smoke_test_action_fails_on_a_missing_payload_file(aws_env, workspace, tmp_path):
    result = run_action(
        "actions/smoke-test",
        {"endpoint-name": "churn-staging", "payload": "ml/nowhere.json"},
        workspace=workspace,
        tmp_path=tmp_path,
    )
    assert result.returncode == 2
    assert "nowhere.json" in result.stderr


# -- the harness itself ---------------------------------------------------------------------------


def test_harness_refuses_an_expression_inside_run(tmp_path, monkeypatch):
    import actions_harness

    spec = {
        "inputs": {"name": {"default": "x"}},
        "runs": {"steps": [{"id": "bad", "shell": "bash", "run": "echo ${{ inputs.name }}"}]},
    }
    monkeypatch.setattr(actions_harness, "load", lambda action: spec)
    with pytest.raises(HarnessError, match="inside run"):
        run_action("fake", {}, workspace=tmp_path, tmp_path=tmp_path)


# -- actions/emulator: the rehearsal's AWS, as a real background process -------------------------


def _env_file(path: Path) -> dict[str, str]:
    return dict(line.split("=", 1) for line in path.read_text().splitlines() if "=" in line)


@pytest.fixture
def started_emulator(tmp_path, workspace):
    """Run actions/emulator; yields (result, env the later steps get); stops the process after."""
    env_file = tmp_path / "github_env"
    env_file.write_text("")
    holder = {}

    def start(inputs: dict[str, str]):
        result = run_action(
            "actions/emulator", inputs, workspace=workspace, tmp_path=tmp_path, env={"GITHUB_ENV": str(env_file)}
        )
        holder["pid"] = result.outputs.get("pid")
        return result, _env_file(env_file)

    yield start
    if holder.get("pid"):
        subprocess.run(["kill", holder["pid"]], check=False)


def test_emulator_action_leaves_a_running_emulator_for_later_steps(started_emulator):
    arn = "arn:aws:sagemaker:eu-west-1:111122223333:model-package/churn-models/7"
    result, later = started_emulator({"region": "eu-west-1", "model-package": f"{arn}\nfraud-models\n"})
    assert result.returncode == 0, result.stderr
    assert later["AWS_ENDPOINT_URL"] == result.outputs["endpoint-url"]
    assert later["AWS_REGION"] == "eu-west-1"
    # The step is over; the emulator still answers, with the stand-ins the deploy will look for.
    sagemaker = boto3.client(
        "sagemaker",
        endpoint_url=later["AWS_ENDPOINT_URL"],
        region_name=later["AWS_REGION"],
        aws_access_key_id=later["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=later["AWS_SECRET_ACCESS_KEY"],
    )
    package = sagemaker.describe_model_package(ModelPackageName=arn)
    assert package["ModelPackageArn"] == arn
    assert package["ModelApprovalStatus"] == "Approved"
    assert package["ModelPackageVersion"] == 7
    newest = sagemaker.list_model_packages(
        ModelPackageGroupName="fraud-models", ModelApprovalStatus="Approved", SortBy="CreationTime", SortOrder="Descending"
    )["ModelPackageSummaryList"]
    assert len(newest) == 1


def test_emulator_action_fails_the_step_on_a_bad_model_package(started_emulator):
    result, later = started_emulator({"model-package": "arn:aws:s3:::not-a-package"})
    assert result.returncode != 0
    assert "neither a model package version ARN nor a group name" in result.stderr
    assert "AWS_ENDPOINT_URL" not in later


def test_root_action_approve_maps_its_outputs(aws_env, workspace, tmp_path, sagemaker):
    sagemaker.create_model_package_group(ModelPackageGroupName=GROUP)
    arn = sagemaker.create_model_package(
        ModelPackageGroupName=GROUP,
        ModelApprovalStatus="PendingManualApproval",
        InferenceSpecification={
            "Containers": [{"Image": IMAGE, "ModelDataUrl": "s3://example-bucket/models/model.tar.gz"}],
            "SupportedContentTypes": ["text/csv"],
            "SupportedResponseMIMETypes": ["text/csv"],
        },
    )["ModelPackageArn"]
    result = run_action(
        ".",
        {"command": "approve", "model-package-group": GROUP, "description": "reviewed in CI"},
        workspace=workspace,
        tmp_path=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    assert result.outputs["model-package-arn"] == arn
    assert result.outputs["approval-status"] == "Approved"
    assert sagemaker.describe_model_package(ModelPackageName=arn)["ModelApprovalStatus"] == "Approved"


def test_root_action_cleanup_dry_run_maps_its_outputs(aws_env, workspace, tmp_path, sagemaker):
    first = approved_package(sagemaker)
    deploy = {"endpoint-name": "churn-staging", "role-arn": ROLE_ARN, "wait-interval": "0"}
    old = run_action("actions/deploy", {**deploy, "model-package-arn": first}, workspace=workspace, tmp_path=tmp_path / "v1")
    assert old.returncode == 0, old.stderr
    second = sagemaker.create_model_package(
        ModelPackageGroupName=GROUP,
        ModelApprovalStatus="Approved",
        InferenceSpecification={
            "Containers": [{"Image": IMAGE, "ModelDataUrl": "s3://example-bucket/models/v2.tar.gz"}],
            "SupportedContentTypes": ["text/csv"],
            "SupportedResponseMIMETypes": ["text/csv"],
        },
    )["ModelPackageArn"]
    new = run_action("actions/deploy", {**deploy, "model-package-arn": second}, workspace=workspace, tmp_path=tmp_path / "v2")
    assert new.returncode == 0, new.stderr
    assert new.outputs["action"] == "updated"
    result = run_action(
        ".",
        {"command": "cleanup", "endpoint-name": "churn-staging", "keep": "0", "dry-run": "true"},
        workspace=workspace,
        tmp_path=tmp_path / "cleanup",
    )
    assert result.returncode == 0, result.stderr
    assert result.outputs["deleted-endpoint-configs"] == old.outputs["endpoint-config-name"]
    assert result.outputs["deleted-models"] == old.outputs["model-name"]
    # A dry run: still there.
    sagemaker.describe_endpoint_config(EndpointConfigName=old.outputs["endpoint-config-name"])


def test_emulator_start_waits_for_every_export_in_full():
    spec = importlib.util.spec_from_file_location("smops_emulator_start", ROOT / "actions" / "emulator" / "start.py")
    start = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(start)
    whole = (
        "export AWS_ENDPOINT_URL=http://127.0.0.1:5000\nexport AWS_REGION=us-east-1\n"
        "export AWS_DEFAULT_REGION=us-east-1\nexport AWS_ACCESS_KEY_ID=testing\n"
        "export AWS_SECRET_ACCESS_KEY=testing\n"
    )
    # A read that caught the write half-done: not ready yet, not even with the last name cut short.
    assert start.complete_exports(whole[:60]) is None
    assert start.complete_exports(whole[:-3]) is None
    assert start.complete_exports(whole)["AWS_SECRET_ACCESS_KEY"] == "testing"

