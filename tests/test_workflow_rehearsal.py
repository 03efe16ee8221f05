"""The reusable workflows' rehearsal path, job by job, with real smops processes and emulators.

tests/workflow_harness.py plays the runner: it skips checkout and configure-aws-credentials,
runs the toolkit's actions with the workflow's `with:` evaluated, and carries GITHUB_ENV from
the emulator step to the later ones. Each job starts its own emulator process, as on GitHub.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import boto3
import pytest
from conftest import ROLE_ARN, ROOT
from workflow_harness import call_inputs, evaluate, run_job

DEFINITION = ROOT / "tests" / "data" / "pipeline-definition.json"
FAST = {"SMOPS_POLL_SECONDS": "0.05"}


@pytest.fixture
def workspace(tmp_path) -> Path:
    root = tmp_path / "workspace"
    (root / "ml").mkdir(parents=True)
    shutil.copy(DEFINITION, root / "ml" / "pipeline.json")
    (root / "ml" / "smoke.csv").write_text("1.0,2.0,3.0\n")
    return root


@pytest.fixture
def stop_emulators():
    """Every emulator a job started is stopped after the test (the runner would end the job)."""
    jobs = []
    yield jobs.append
    for job in jobs:
        for name, result in job.steps:
            if result.outputs.get("pid") and "endpoint-url" in result.outputs:
                subprocess.run(["kill", result.outputs["pid"]], check=False)


def test_build_rehearsal_runs_the_pipeline_on_the_jobs_emulator(workspace, tmp_path, stop_emulators):
    inputs = call_inputs(
        ".github/workflows/build.yml",
        {
            "pipeline": "ml/pipeline.json",
            "pipeline-name": "churn",
            "pipeline-role-arn": ROLE_ARN,
            "region": "eu-west-1",
            "parameters": "Epochs=3",
            "rehearsal": True,
        },
    )
    job = run_job(".github/workflows/build.yml", "build", inputs, workspace=workspace, tmp_path=tmp_path, env=FAST)
    stop_emulators(job)
    assert job.returncode == 0, job.steps[-1][1].stderr
    assert [name for name, _ in job.steps] == ["emulator", "build"]
    assert job.skipped == ["step0", "step1", "session", "credentials"]  # two checkouts, AWS session and credentials
    assert job.outputs["execution-status"] == "Succeeded"
    assert job.outputs["execution-arn"].startswith("arn:aws:sagemaker:eu-west-1:")
    assert job.outputs["model-package-arn"].startswith("arn:aws:sagemaker:eu-west-1:")


def test_build_rehearsal_passes_the_template_arguments_tags_and_description(workspace, tmp_path, stop_emulators):
    # A pipeline function that notes what it was given, and returns the JSON definition.
    (workspace / "ml" / "pipeline.py").write_text(
        "import json, pathlib\n"
        "HERE = pathlib.Path(__file__).parent\n"
        "def get_pipeline(**kwargs):\n"
        "    (HERE / 'kwargs.json').write_text(json.dumps(kwargs))\n"
        "    return json.loads((HERE / 'pipeline.json').read_text())\n"
    )
    inputs = call_inputs(
        ".github/workflows/build.yml",
        {
            "pipeline": "ml/pipeline.py",
            "pipeline-name": "churn",
            "pipeline-role-arn": ROLE_ARN,
            "region": "eu-west-1",
            "default-bucket": "churn-artifacts",
            "base-job-prefix": "churn",
            "project-name": "churn-project",
            "description": "Churn model, built by CI",
            "tags": "team=ml\ncost-center=42\n",
            "rehearsal": True,
        },
    )
    job = run_job(".github/workflows/build.yml", "build", inputs, workspace=workspace, tmp_path=tmp_path, env=FAST)
    stop_emulators(job)
    assert job.returncode == 0, job.steps[-1][1].stderr
    kwargs = json.loads((workspace / "ml" / "kwargs.json").read_text())
    assert kwargs["default_bucket"] == "churn-artifacts"
    assert kwargs["base_job_prefix"] == "churn"
    assert kwargs["sagemaker_project_name"] == "churn-project"
    emulator = dict(job.steps)["emulator"].outputs["endpoint-url"]
    sagemaker = boto3.client(
        "sagemaker", endpoint_url=emulator, region_name="eu-west-1", aws_access_key_id="x", aws_secret_access_key="x"
    )
    pipeline = sagemaker.describe_pipeline(PipelineName="churn")
    assert pipeline["PipelineDescription"] == "Churn model, built by CI"
    tags = {t["Key"]: t["Value"] for t in sagemaker.list_tags(ResourceArn=pipeline["PipelineArn"])["Tags"]}
    assert tags["team"] == "ml" and tags["cost-center"] == "42"


def staging_then_production(inputs, workspace, tmp_path, stop_emulators):
    """Run deploy.yml's staging job, then its production job with staging's outputs, as GitHub would."""
    staging = run_job(
        ".github/workflows/deploy.yml", "staging", inputs, workspace=workspace, tmp_path=tmp_path / "staging", env=FAST
    )
    stop_emulators(staging)
    assert staging.returncode == 0, staging.steps[-1][1].stderr
    production = run_job(
        ".github/workflows/deploy.yml",
        "production",
        inputs,
        workspace=workspace,
        tmp_path=tmp_path / "production",
        needs={"staging": {"outputs": staging.outputs}},
        env=FAST,
    )
    stop_emulators(production)
    assert production.returncode == 0, production.steps[-1][1].stderr
    return staging, production


def test_deploy_rehearsal_promotes_from_staging_to_production(workspace, tmp_path, stop_emulators):
    arn = "arn:aws:sagemaker:eu-west-1:111122223333:model-package/churn-models/4"
    inputs = call_inputs(
        ".github/workflows/deploy.yml",
        {
            "model-package-arn": arn,
            "staging-endpoint-name": "churn-staging",
            "production-endpoint-name": "churn-production",
            "region": "eu-west-1",
            "model-role-arn": ROLE_ARN,
            "strategy": "canary",
            "wait-interval": 0,
            "create-alarms": True,
            "smoke-payload": "ml/smoke.csv",
            "rehearsal": True,
        },
    )
    staging, production = staging_then_production(inputs, workspace, tmp_path, stop_emulators)
    assert [name for name, _ in staging.steps] == ["emulator", "deploy", "smoke-test"]
    assert dict(staging.steps)["smoke-test"].outputs["status-code"] == "200"
    assert staging.outputs["model-package-arn"] == arn
    assert ":endpoint/churn-staging" in staging.outputs["endpoint-arn"]
    assert [name for name, _ in production.steps] == ["emulator", "replay", "deploy", "status"]
    deploy = dict(production.steps)["deploy"]
    assert production.outputs["action"] == "created"
    # smops status puts where production stands in the job summary.
    assert f"| `churn-production` | InService | churn-models v4 |" in dict(production.steps)["status"].summary
    assert ":endpoint/churn-production" in production.outputs["endpoint-arn"]
    # The promotion guard ran against the replayed staging endpoint.
    assert "churn-staging" in deploy.env["smops"]["SMOPS_REQUIRE_ON_ENDPOINT"]


def test_deploy_rehearsal_resolves_a_group_and_hands_the_arn_to_production(workspace, tmp_path, stop_emulators):
    inputs = call_inputs(
        ".github/workflows/deploy.yml",
        {
            "model-package-group": "churn-models",
            "staging-endpoint-name": "churn-staging",
            "production-endpoint-name": "churn-production",
            "region": "us-east-1",
            "model-role-arn": ROLE_ARN,
            "smoke-payload": "ml/smoke.csv",
            "staging-in-another-account": True,
            "rehearsal": True,
        },
    )
    staging, production = staging_then_production(inputs, workspace, tmp_path, stop_emulators)
    assert staging.outputs["model-package-arn"].endswith(":model-package/churn-models/1")
    deploy = dict(production.steps)["deploy"]
    # Staging in another account: no promotion guard, and still exactly staging's package.
    assert deploy.env["smops"]["SMOPS_REQUIRE_ON_ENDPOINT"] == ""
    assert deploy.env["smops"]["SMOPS_MODEL_PACKAGE_ARN"] == staging.outputs["model-package-arn"]


def test_deploy_rehearsal_fails_the_staging_job_on_settings_sagemaker_refuses(workspace, tmp_path, stop_emulators):
    inputs = call_inputs(
        ".github/workflows/deploy.yml",
        {
            "model-package-group": "churn-models",
            "staging-endpoint-name": "churn-staging",
            "production-endpoint-name": "churn-production",
            "region": "us-east-1",
            "model-role-arn": ROLE_ARN,
            "strategy": "canary",
            "canary-size": 80,  # SageMaker allows at most half the fleet as a canary
            "smoke-payload": "ml/smoke.csv",
            "rehearsal": True,
        },
    )
    staging = run_job(
        ".github/workflows/deploy.yml", "staging", inputs, workspace=workspace, tmp_path=tmp_path, env=FAST
    )
    stop_emulators(staging)
    assert staging.returncode == 2
    assert "canary" in staging.steps[-1][1].stderr


def _client(job, service: str, region: str):
    url = dict(job.steps)["emulator"].outputs["endpoint-url"]
    return boto3.client(service, endpoint_url=url, region_name=region, aws_access_key_id="x", aws_secret_access_key="x")


def test_deploy_rehearsal_serverless_with_variant_tags_and_cleanup(workspace, tmp_path, stop_emulators):
    arn = "arn:aws:sagemaker:eu-west-1:111122223333:model-package/churn-models/4"
    inputs = call_inputs(
        ".github/workflows/deploy.yml",
        {
            "model-package-arn": arn,
            "staging-endpoint-name": "churn-staging",
            "production-endpoint-name": "churn-production",
            "region": "eu-west-1",
            "model-role-arn": ROLE_ARN,
            "variant-name": "Blue",
            "serverless-memory-mb": "2048",
            "serverless-max-concurrency": "7",
            "tags": "team=ml\ncost-center=42",
            "wait-if-busy": True,
            "cleanup-keep": "0",
            "smoke-payload": "ml/smoke.csv",
            "rehearsal": True,
        },
    )
    staging = run_job(
        ".github/workflows/deploy.yml", "staging", inputs, workspace=workspace, tmp_path=tmp_path / "staging", env=FAST
    )
    stop_emulators(staging)
    assert staging.returncode == 0, staging.steps[-1][1].stderr
    assert [name for name, _ in staging.steps] == ["emulator", "deploy", "smoke-test", "cleanup"]
    sagemaker = _client(staging, "sagemaker", "eu-west-1")
    endpoint = sagemaker.describe_endpoint(EndpointName="churn-staging")
    (variant,) = sagemaker.describe_endpoint_config(EndpointConfigName=endpoint["EndpointConfigName"])[
        "ProductionVariants"
    ]
    assert variant["VariantName"] == "Blue"
    assert variant["ServerlessConfig"] == {"MemorySizeInMB": 2048, "MaxConcurrency": 7}
    tags = {t["Key"]: t["Value"] for t in sagemaker.list_tags(ResourceArn=endpoint["EndpointArn"])["Tags"]}
    assert tags["team"] == "ml" and tags["cost-center"] == "42"
    deploy = dict(staging.steps)["deploy"].env["smops"]
    assert deploy["SMOPS_WAIT_IF_BUSY"] == "true"
    # The only config is the one in service: cleanup keeps it.
    cleanup = dict(staging.steps)["cleanup"]
    assert cleanup.env["smops"]["COMMAND"] == "cleanup" and cleanup.env["smops"]["SMOPS_KEEP"] == "0"
    assert cleanup.outputs["deleted-endpoint-configs"] == ""
    sagemaker.describe_endpoint_config(EndpointConfigName=endpoint["EndpointConfigName"])

    production = run_job(
        ".github/workflows/deploy.yml",
        "production",
        inputs,
        workspace=workspace,
        tmp_path=tmp_path / "production",
        needs={"staging": {"outputs": staging.outputs}},
        env=FAST,
    )
    stop_emulators(production)
    assert production.returncode == 0, production.steps[-1][1].stderr
    assert [name for name, _ in production.steps] == ["emulator", "replay", "deploy", "status", "cleanup"]
    assert dict(production.steps)["cleanup"].env["smops"]["SMOPS_ENDPOINT_NAME"] == "churn-production"


def test_deploy_rehearsal_refuses_a_max_execution_timeout_within_the_bakes(workspace, tmp_path, stop_emulators):
    inputs = call_inputs(
        ".github/workflows/deploy.yml",
        {
            "model-package-group": "churn-models",
            "staging-endpoint-name": "churn-staging",
            "production-endpoint-name": "churn-production",
            "region": "us-east-1",
            "smoke-payload": "ml/smoke.csv",
            "model-role-arn": ROLE_ARN,
            "strategy": "canary",
            "wait-interval": 600,
            "max-execution-timeout": "600",  # not more than the canary's bakes: SageMaker refuses
            "rehearsal": True,
        },
    )
    staging = run_job(
        ".github/workflows/deploy.yml", "staging", inputs, workspace=workspace, tmp_path=tmp_path, env=FAST
    )
    stop_emulators(staging)
    assert staging.returncode == 2
    assert [name for name, _ in staging.steps] == ["emulator", "deploy"]
    assert "--max-execution-timeout 600" in staging.steps[-1][1].stderr


def test_deploy_dry_run_plans_both_jobs_and_changes_nothing(workspace, tmp_path, stop_emulators):
    arn = "arn:aws:sagemaker:eu-west-1:111122223333:model-package/churn-models/4"
    inputs = call_inputs(
        ".github/workflows/deploy.yml",
        {
            "model-package-arn": arn,
            "staging-endpoint-name": "churn-staging",
            "production-endpoint-name": "churn-production",
            "region": "eu-west-1",
            "model-role-arn": ROLE_ARN,
            "autoscaling-min": "1",
            "autoscaling-max": "4",
            "autoscaling-target": "70",
            "cleanup-keep": "1",
            "smoke-payload": "ml/smoke.csv",
            "rehearsal": True,
            "dry-run": True,
        },
    )
    staging, production = staging_then_production(inputs, workspace, tmp_path, stop_emulators)
    assert [name for name, _ in staging.steps] == ["emulator", "deploy"]  # no smoke test, no cleanup
    plan = json.loads(staging.outputs["plan"])
    assert plan["action"] == "created" and plan["model-package-arn"] == arn
    assert plan["autoscaling"]["after"]["min"] == 1 and plan["autoscaling"]["after"]["max"] == 4
    assert "would create churn-staging" in dict(staging.steps)["deploy"].stderr
    deploy = dict(production.steps)["deploy"]
    assert deploy.env["smops"]["SMOPS_REQUIRE_ON_ENDPOINT"] == ""  # staging was not deployed
    assert deploy.env["smops"]["SMOPS_DRY_RUN"] == "true"
    assert json.loads(production.outputs["plan"])["endpoint-name"] == "churn-production"


def test_after_a_failure_only_steps_that_ask_for_it_run():
    """As on a runner: the production job's status step runs after a failed (rolled back) deploy."""
    context = {"failed": True, "inputs": {"status": True}, "steps": {"deploy": {"outcome": "failure"}}}
    assert evaluate("!cancelled() && inputs.status && steps.deploy.outcome != 'skipped'", context) is True
    assert evaluate("success()", context) is False and evaluate("failure()", context) is True
    context["steps"]["deploy"]["outcome"] = "skipped"  # an earlier step failed: nothing to report on
    assert evaluate("!cancelled() && inputs.status && steps.deploy.outcome != 'skipped'", context) is False
