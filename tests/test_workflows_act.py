"""The consumer's view on a real workflow engine: the starters of workflows/, filled in, calling
the reusable workflows as ORG/sagemaker-mlops/...@v1, run by nektos/act (tests/act_harness.py).

The non-rehearsal path runs against the session's emulator, with credentials that the
configure-aws-credentials stand-in gets from the emulator's STS; a rehearsal starts its own
emulator inside the job. Every run is checked for leaked secrets when its test ends.

The scenarios marked `slow` are the rest of the matrix (the rehearsals, which install the
emulator in every job; the failures; the deploy's dry run; drift and its retraining, whose job
installs numpy); `scripts/test` runs them, `pytest` alone skips them.
"""

from __future__ import annotations

import json
import os
import zipfile

import boto3
import pytest
from act_harness import (
    Consumer,
    pull_request_event,
    push_event,
    repository_dispatch_event,
    workflow_dispatch_event,
)
from conftest import ROOT, leaks, run_smops
from test_bridge import app_secret
from test_gates import with_evaluation

from smops.emulator import settings
from smops.endpoint import config_package

# The consumer's pipeline registers its evaluation report as the package's metrics, which the
# build starter's quality gates read.
DEFINITION = json.dumps(with_evaluation(json.loads((ROOT / "tests" / "data" / "pipeline-definition.json").read_text())))
SAMPLE_EVENT = ROOT / "tests" / "data" / "model-package-state-change.json"
ACCOUNT = "123456789012"
REGION = "us-east-1"
GROUP = "churn-models"
IMAGE = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1"
MODEL_ROLE = f"arn:aws:iam::{ACCOUNT}:role/churn-model"
BUILD = {
    "pipeline": "ml/pipeline.json",  # a JSON definition: the job needs no SageMaker SDK
    "pipeline-name": "churn",
    "pipeline-role-arn": f"arn:aws:iam::{ACCOUNT}:role/churn-pipeline",
    "model-package-group": GROUP,
    "default-bucket": f"churn-artifacts-{ACCOUNT}",
    "region": REGION,
    "role-to-assume": f"arn:aws:iam::{ACCOUNT}:role/churn-github-build",
    "sdk-extra": False,
}
DEPLOY = {
    "staging-endpoint-name": "churn-staging",
    "production-endpoint-name": "churn-production",
    "region": REGION,
    "staging-role-to-assume": f"arn:aws:iam::{ACCOUNT}:role/churn-github-staging",
    "production-role-to-assume": f"arn:aws:iam::{ACCOUNT}:role/churn-github-production",
    "model-role-arn": MODEL_ROLE,
    "smoke-payload": "ml/smoke-payload.csv",
    "production-data-capture-uri": "",  # the tests that capture say so
}
slow = pytest.mark.slow
pytestmark = pytest.mark.network  # every job pip-installs the toolkit from PyPI (cached per session)


@pytest.fixture(scope="session")
def actions_cache(tmp_path_factory):
    """actions/cache's store for the session: pip's downloads, kept across runs as on GitHub."""
    return tmp_path_factory.mktemp("actions-cache")


@pytest.fixture
def consumer(aws_env, tmp_path, actions_cache):
    """octo-org/churn: a pipeline definition, a smoke-test payload, and whatever starters the test
    adds. When the test ends, no run may have printed a secret."""
    # SMOPS_INSTALLER (uv by default) reaches the jobs: bench/act.py times these runs with pip too.
    installer = {"SMOPS_INSTALLER": os.environ["SMOPS_INSTALLER"]} if os.environ.get("SMOPS_INSTALLER") else {}
    with Consumer(
        tmp_path / "churn", aws_endpoint=aws_env.url, cache_dir=actions_cache,
        env={"SMOPS_POLL_SECONDS": "0.05", **installer},
    ) as repo:
        repo.write("ml/pipeline.json", DEFINITION)
        repo.write("ml/smoke-payload.csv", "34,1,0,12.5\n")
        yield repo
    texts = {f"act run {n}": run.log + run.stderr for n, run in enumerate(repo.runs, 1)}
    assert leaks(texts, {**repo.secrets(), **issued_credentials()}) == []


def issued_credentials() -> dict[str, str]:
    """Every secret key and session token the emulator's STS handed out."""
    from moto.sts.models import sts_backends

    found = {}
    for account in list(sts_backends):
        for backend in sts_backends[account].values():
            for n, role in enumerate(backend.assumed_roles, 1):
                found[f"secret key of {role.arn} #{n}"] = role.secret_access_key
                found[f"session token of {role.arn} #{n}"] = role.session_token
    return found


def sagemaker():
    return boto3.client("sagemaker")


def model_package(status: str, data: str = "model.tar.gz", **more) -> str:
    """A version of churn-models; MORE: other fields of CreateModelPackage."""
    client = sagemaker()
    try:
        client.create_model_package_group(ModelPackageGroupName=GROUP)
    except client.exceptions.ClientError:
        pass  # the group exists: a second version
    return client.create_model_package(
        ModelPackageGroupName=GROUP,
        ModelApprovalStatus=status,
        InferenceSpecification={
            "Containers": [{"Image": IMAGE, "ModelDataUrl": f"s3://churn-artifacts/models/{data}"}],
            "SupportedContentTypes": ["text/csv"],
            "SupportedResponseMIMETypes": ["text/csv"],
        },
        **more,
    )["ModelPackageArn"]


def smops_deploy(arn: str, endpoint: str, *flags: str) -> str:
    """Deploy ARN to ENDPOINT with smops, as a test's set-up; returns the endpoint config."""
    result = run_smops("deploy", "--model-package-arn", arn, "--endpoint-name", endpoint, "--role-arn", MODEL_ROLE,
                       "--json", *flags)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)["endpoint-config-name"]


def serving(endpoint: str) -> str:
    client = sagemaker()
    return config_package(client, client.describe_endpoint(EndpointName=endpoint)["EndpointConfigName"])


def approval_dispatch(consumer, arn: str, tmp_path, group: str = GROUP) -> dict:
    """Approve the package (a version of GROUP) and run the approval bridge on the state-change
    event, as a process with a GitHub App's key in Secrets Manager; returns the event GitHub then
    delivers. What the bridge printed or wrote is checked for the key and the installation token."""
    sagemaker().update_model_package(ModelPackageArn=arn, ModelApprovalStatus="Approved")
    secret, _ = app_secret()
    key = json.loads(secret)["private_key"]
    secret_arn = boto3.client("secretsmanager").create_secret(Name="churn/github-app", SecretString=secret)["ARN"]
    event = json.loads(SAMPLE_EVENT.read_text())
    event["detail"].update(ModelPackageArn=arn, ModelPackageGroupName=group, ModelApprovalStatus="Approved")
    event_file = tmp_path / "state-change.json"
    event_file.write_text(json.dumps(event))
    output, summary = tmp_path / "bridge-output", tmp_path / "bridge-summary.md"
    github = consumer.github
    bridge = run_smops(
        "dispatch", "--event", str(event_file), "--github-secret-arn", secret_arn, "--repository", consumer.repository,
        env={"GITHUB_API_URL": github.url, "GITHUB_OUTPUT": str(output), "GITHUB_STEP_SUMMARY": str(summary)},
    )
    assert bridge.returncode == 0, bridge.stderr
    (sent,) = github.dispatches()
    consumer.known_secrets["GitHub App private key"] = key.splitlines()[1]
    written = {"bridge stdout": bridge.stdout, "bridge stderr": bridge.stderr,
               "bridge GITHUB_OUTPUT": output.read_text(), "bridge summary": summary.read_text()}
    assert github.tokens and leaks(written, consumer.secrets()) == []
    return repository_dispatch_event(consumer.repository, sent.body["event_type"], sent.body["client_payload"])


# -- build.yml ------------------------------------------------------------------------------------


# The starter's own `ml/pipeline.py`, with no SDK: it returns the definition, noting the
# template arguments it was given in the definition's Metadata.
PIPELINE_FUNCTION = """\
import json, pathlib

def get_pipeline(**kwargs):
    definition = json.loads((pathlib.Path(__file__).parent / "pipeline.json").read_text())
    definition["Metadata"] = {"kwargs": {k: v for k, v in kwargs.items() if isinstance(v, str)}}
    return definition
"""


def test_push_builds_for_real_with_the_build_role(consumer):
    consumer.write("ml/pipeline.py", PIPELINE_FUNCTION)
    more = {"base-job-prefix": "churn", "project-name": "churn-project", "description": "Churn model, built by CI",
            "tags": "team=ml\ncost-center=42\n"}
    consumer.starter("build.yml", {**BUILD, "pipeline": "ml/pipeline.py", "parameters": "Epochs=3\nMseThreshold=7.5"}, more)
    consumer.report("build.yml", needs="build")
    sha = consumer.commit()
    run = consumer.run("push", push_event(consumer.repository, sha))
    assert run.returncode == 0, run.tail()
    assert run.jobs["build"].result == "success"
    assert f"Authenticated as arn:aws:sts::{ACCOUNT}:assumed-role/churn-github-build/GitHubActions" in run.log
    # The session's secrets reached the later steps masked (the fixture then finds none in clear).
    assert issued_credentials() and consumer.github.id_tokens
    assert "::set-env:: AWS_SECRET_ACCESS_KEY=***" in run.log and "::set-env:: AWS_SESSION_TOKEN=***" in run.log
    built = run.needs["build"]
    assert built["result"] == "success"
    assert built["outputs"]["execution-status"] == "Succeeded"
    # In the emulator: the pipeline the job built, as the inputs described it.
    client = sagemaker()
    execution = built["outputs"]["execution-arn"]
    assert client.describe_pipeline_execution(PipelineExecutionArn=execution)["PipelineExecutionStatus"] == "Succeeded"
    parameters = client.list_pipeline_parameters_for_execution(PipelineExecutionArn=execution)["PipelineParameters"]
    values = {p["Name"]: p["Value"] for p in parameters}
    assert values["Epochs"] == "3" and values["MseThreshold"] == "7.5"
    pipeline = client.describe_pipeline(PipelineName="churn")
    assert pipeline["PipelineDescription"] == "Churn model, built by CI"
    kwargs = json.loads(pipeline["PipelineDefinition"])["Metadata"]["kwargs"]
    assert kwargs["default_bucket"] == BUILD["default-bucket"] and kwargs["base_job_prefix"] == "churn"
    assert kwargs["sagemaker_project_name"] == "churn-project" and kwargs["model_package_group_name"] == GROUP
    tags = {t["Key"]: t["Value"] for t in client.list_tags(ResourceArn=pipeline["PipelineArn"])["Tags"]}
    assert tags["team"] == "ml" and tags["cost-center"] == "42"
    assert tags["smops:git-sha"] == sha  # the pushed commit, from the event act ran
    package = client.describe_model_package(ModelPackageName=built["outputs"]["model-package-arn"])
    assert package["ModelApprovalStatus"] == "PendingManualApproval"


@slow
def test_a_pull_request_rehearses_in_its_own_job_and_touches_nothing_else(consumer):
    consumer.starter("build.yml", BUILD)
    consumer.report("build.yml", needs="build")
    run = consumer.run("pull_request", pull_request_event(consumer.repository, consumer.commit()))
    assert run.returncode == 0, run.tail()
    built = run.needs["build"]
    assert built["outputs"]["execution-status"] == "Succeeded"
    assert built["outputs"]["model-package-arn"]
    assert "smops emulator listening on http://127.0.0.1:" in run.log
    # No credentials asked for, nothing built where the real path builds.
    assert consumer.github.id_tokens == [] and issued_credentials() == {}
    assert sagemaker().list_pipelines()["PipelineSummaries"] == []


@slow
def test_a_failing_pipeline_step_fails_the_build_job_and_names_the_step(consumer):
    settings.fail_steps["Train"] = "AlgorithmError: loss is NaN"
    consumer.starter("build.yml", BUILD)
    consumer.report("build.yml", needs="build")
    run = consumer.run("push", push_event(consumer.repository, consumer.commit()))
    assert run.returncode != 0
    assert run.jobs["build"].result == "failure"
    assert "smops build" in run.jobs["build"].failed_steps()
    assert "step Train (Failed): AlgorithmError: loss is NaN" in run.log
    assert run.jobs["build"].outputs["execution-status"] == "Failed"
    # act ends a run at a failed job, where GitHub would still run an `if: always()` job after it:
    # the caller's view of a failure cannot be checked here.


# -- deploy.yml -----------------------------------------------------------------------------------


def test_an_approval_deploys_staging_then_production(consumer, tmp_path):
    arn = model_package("PendingManualApproval")
    event = approval_dispatch(consumer, arn, tmp_path)
    consumer.starter("deploy.yml", DEPLOY, {"variant-name": "Blue", "tags": "team=ml\ncost-center=42", "wait-if-busy": True})
    consumer.report("deploy.yml", needs="deploy")
    run = consumer.run("repository_dispatch", event)
    assert run.returncode == 0, run.tail()
    assert run.jobs["staging"].result == "success" and run.jobs["production"].result == "success"
    for role in ("churn-github-staging", "churn-github-production"):
        assert f"assumed-role/{role}/GitHubActions" in run.log
    assert "smops cleanup (staging)" in [step.name for step in run.jobs["staging"].steps]
    deployed = run.needs["deploy"]["outputs"]
    assert deployed["model-package-arn"] == arn
    assert deployed["production-action"] == "created"
    assert deployed["production-endpoint-arn"].endswith(":endpoint/churn-production")
    # In the emulator: both endpoints serve the dispatched package, with the inputs' settings.
    assert serving("churn-staging") == arn and serving("churn-production") == arn
    client = sagemaker()
    endpoint = client.describe_endpoint(EndpointName="churn-production")
    (variant,) = client.describe_endpoint_config(EndpointConfigName=endpoint["EndpointConfigName"])["ProductionVariants"]
    assert variant["VariantName"] == "Blue"
    tags = {t["Key"]: t["Value"] for t in client.list_tags(ResourceArn=endpoint["EndpointArn"])["Tags"]}
    assert tags["team"] == "ml" and tags["cost-center"] == "42" and tags["smops:environment"] == "production"
    # smops status (the `status` input, true by default) put where production stands in the summary.
    status = run.jobs["production"].summaries["status"]
    assert f"| `churn-production` | InService | {GROUP} v1 |" in status and "| production |" in status


def test_an_unapproved_package_fails_staging_with_exit_2(consumer):
    arn = model_package("PendingManualApproval")
    consumer.starter("deploy.yml", DEPLOY)
    consumer.report("deploy.yml", needs="deploy")
    event = workflow_dispatch_event(consumer.repository, "deploy.yml", {"model-package-arn": arn, "rehearsal": "false"})
    run = consumer.run("workflow_dispatch", event)
    assert run.returncode != 0
    assert run.jobs["staging"].result == "failure"
    assert "smops deploy (staging)" in run.jobs["staging"].failed_steps()
    assert "exit status 2" in run.log and "is PendingManualApproval, not Approved" in run.log
    assert "production" not in run.jobs or run.jobs["production"].result is None
    assert sagemaker().list_endpoints()["Endpoints"] == []


@slow
def test_a_rollback_fails_the_production_job(consumer, tmp_path):
    first = model_package("Approved", "v1.tar.gz")
    for endpoint in ("churn-staging", "churn-production"):
        smops_deploy(first, endpoint)
    second = model_package("PendingManualApproval", "v2.tar.gz")
    event = approval_dispatch(consumer, second, tmp_path)
    settings.fail_endpoints["churn-production"] = "Invocation5XXErrors alarm fired during the canary's bake"
    consumer.starter("deploy.yml", DEPLOY)
    consumer.report("deploy.yml", needs="deploy")
    run = consumer.run("repository_dispatch", event)
    assert run.returncode != 0
    assert run.jobs["staging"].result == "success"
    assert run.jobs["production"].result == "failure"
    assert "smops deploy (production)" in run.jobs["production"].failed_steps()
    assert "rolled back" in run.log
    assert serving("churn-staging") == second
    assert serving("churn-production") == first
    # act, as GitHub, runs a step whose `if:` has !cancelled() after a failed one: smops status
    # reports production back on v1, and why; cleanup (success() only) does not run.
    steps = {step.id: step.result for step in run.jobs["production"].steps}
    assert steps["deploy"] == "failure" and steps["status"] == "success" and "cleanup" not in steps
    status = run.jobs["production"].summaries["status"]
    assert f"| `churn-production` | InService | {GROUP} v1 |" in status
    assert "Invocation5XXErrors alarm fired during the canary's bake" in status


@slow
def test_a_manual_rehearsal_with_string_inputs_deploys_on_each_jobs_emulator(consumer):
    arn = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:model-package/{GROUP}/4"
    consumer.starter("deploy.yml", DEPLOY)
    consumer.report("deploy.yml", needs="deploy")
    event = workflow_dispatch_event(consumer.repository, "deploy.yml", {"model-package-arn": arn, "rehearsal": "true"})
    run = consumer.run("workflow_dispatch", event)
    assert run.returncode == 0, run.tail()
    deployed = run.needs["deploy"]["outputs"]
    assert deployed["model-package-arn"] == arn
    assert deployed["production-action"] == "created"
    steps = {step.name: step.result for step in run.jobs["production"].steps}
    assert steps["Rehearsal replay of the staging deploy"] == "success"
    # The string "true" made it a rehearsal: the unprotected environment, no credentials, and
    # nothing deployed where the real path deploys.
    assert "| Environment | rehearsal |" in run.log
    assert consumer.github.id_tokens == [] and issued_credentials() == {}
    assert sagemaker().list_endpoints()["Endpoints"] == []


@slow
def test_a_dry_run_plans_both_jobs_and_changes_nothing(consumer):
    """The deploy starter as a plan-only workflow (dry-run: true), on the real path: staging does
    not exist yet, production serves v1."""
    first = model_package("Approved", "v1.tar.gz")
    config = smops_deploy(first, "churn-production")
    second = model_package("Approved", "v2.tar.gz")
    consumer.starter("deploy.yml", DEPLOY, {"dry-run": True})
    consumer.report("deploy.yml", needs="deploy")
    event = workflow_dispatch_event(consumer.repository, "deploy.yml", {"model-package-arn": second, "rehearsal": "false"})
    run = consumer.run("workflow_dispatch", event)
    assert run.returncode == 0, run.tail()
    outputs = run.needs["deploy"]["outputs"]
    staging, production = json.loads(outputs["staging-plan"]), json.loads(outputs["production-plan"])
    assert (staging["endpoint-name"], staging["action"], staging["model-package-arn"]) == ("churn-staging", "created", second)
    assert (production["endpoint-name"], production["action"]) == ("churn-production", "updated")
    assert production["model-package-arn"] == second and "canary 10%" in production["strategy"]
    # The starter's create-alarms, planned and not made.
    assert {a["state"] for a in production["alarms"]} == {"created by this command"}
    assert outputs["production-action"] == "updated" and outputs["model-package-arn"] == second
    # No smoke test and no cleanup (the starter keeps 2) ran; production's deploy planned with the
    # promotion guard off, or it would have refused: staging does not exist.
    staging_steps = {step.id: step.result for step in run.jobs["staging"].steps}
    production_steps = {step.id: step.result for step in run.jobs["production"].steps}
    assert staging_steps["deploy"] == "success" and {"smoke-test", "cleanup"}.isdisjoint(staging_steps)
    assert production_steps["deploy"] == "success" and "cleanup" not in production_steps
    assert run.jobs["staging"].summaries["deploy"].startswith("### smops deploy --dry-run: would create churn-staging (staging)")
    assert run.jobs["production"].summaries["deploy"].startswith(
        "### smops deploy --dry-run: would update churn-production (production)")
    assert "promotion guard" not in run.log
    # Nothing changed: production still serves v1 from its one config, no staging, no alarms.
    client = sagemaker()
    assert [e["EndpointName"] for e in client.list_endpoints()["Endpoints"]] == ["churn-production"]
    assert client.describe_endpoint(EndpointName="churn-production")["EndpointConfigName"] == config
    assert [c["EndpointConfigName"] for c in client.list_endpoint_configs()["EndpointConfigs"]] == [config]
    assert boto3.client("cloudwatch").describe_alarms()["MetricAlarms"] == []
    # smops status still reports production, as it stands.
    assert f"| `churn-production` | InService | {GROUP} v1 |" in run.jobs["production"].summaries["status"]


# -- rollback.yml ---------------------------------------------------------------------------------


def test_the_rollback_starter_puts_production_back_on_a_version(consumer):
    configs = [smops_deploy(model_package("Approved", data), "churn-production") for data in ("v1.tar.gz", "v2.tar.gz")]
    consumer.starter(
        "rollback.yml",
        {"endpoint-name": "churn-production", "region": REGION, "role-to-assume": DEPLOY["production-role-to-assume"]},
        {"strategy": "canary"},
    )
    consumer.report("rollback.yml", needs="rollback")
    inputs = {"to-version": "1", "to-config": "", "dry-run": "false"}
    run = consumer.run("workflow_dispatch", workflow_dispatch_event(consumer.repository, "rollback.yml", inputs))
    assert run.returncode == 0, run.tail()
    assert "assumed-role/churn-github-production/GitHubActions" in run.log
    assert run.needs["rollback"]["outputs"] == {
        "endpoint-config-name": configs[0], "rolled-back-from": configs[1], "action": "updated"}
    assert "### smops rollback: `churn-production` ✅ updated" in run.jobs["rollback"].summaries["rollback"]
    # In the emulator: the first config serves again, moved back by a canary.
    found = sagemaker().describe_endpoint(EndpointName="churn-production")
    assert found["EndpointConfigName"] == configs[0]
    assert found["LastDeploymentConfig"]["BlueGreenUpdatePolicy"]["TrafficRoutingConfiguration"]["Type"] == "CANARY"


# -- monitor.yml ----------------------------------------------------------------------------------

MODEL_MONITOR = ROOT / "tests" / "data" / "model-monitor"  # a baseline in Model Monitor's files


def drifted_production() -> None:
    """churn-production serving a package that registered a data quality baseline, and a day's
    capture of traffic far to the right of it in tenure and monthly_charges (tests/test_drift.py)."""
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket="churn-monitoring")
    for name in ("statistics.json", "constraints.json"):
        s3.put_object(Bucket="churn-monitoring", Key=f"baseline/{name}", Body=(MODEL_MONITOR / name).read_bytes())
    files = {kind: {"ContentType": "application/json", "S3Uri": f"s3://churn-monitoring/baseline/{kind.lower()}.json"}
             for kind in ("Statistics", "Constraints")}
    arn = model_package("Approved", DriftCheckBaselines={"ModelDataQuality": files})
    smops_deploy(arn, "churn-production", "--data-capture-uri", "s3://churn-monitoring/capture")
    runtime = boto3.client("sagemaker-runtime")
    for _ in range(30):
        runtime.invoke_endpoint(EndpointName="churn-production", Body=b"9,79.0,monthly\n8,75.0,yearly\n", ContentType="text/csv")


def retraining(execution_arn: str) -> str:
    """The RetrainReason a build's pipeline execution was given."""
    parameters = sagemaker().list_pipeline_parameters_for_execution(PipelineExecutionArn=execution_arn)
    return {p["Name"]: p["Value"] for p in parameters["PipelineParameters"]}["RetrainReason"]


@slow
def test_drift_retrains_through_the_build_starter(consumer):
    drifted_production()
    definition = json.loads(DEFINITION)  # the pipeline declares RetrainReason, as the build starter asks
    definition["Parameters"].append({"Name": "RetrainReason", "Type": "String", "DefaultValue": "none"})
    consumer.write("ml/pipeline.json", json.dumps(definition))
    consumer.starter("build.yml", {**BUILD, "baseline-endpoint": "churn-production"})
    monitor = {"endpoint-name": "churn-production", "region": REGION,
               "role-to-assume": f"arn:aws:iam::{ACCOUNT}:role/churn-github-monitor",
               "violations-file": "constraint_violations.json"}
    consumer.starter("monitor.yml", monitor)
    consumer.report("monitor.yml", needs="[drift, retrain]")
    run = consumer.run("workflow_dispatch", workflow_dispatch_event(consumer.repository, "monitor.yml", {"since": "24h"}))
    assert run.returncode == 0, run.tail()
    assert "assumed-role/churn-github-monitor/GitHubActions" in run.log
    drift = run.needs["drift"]["outputs"]
    assert drift["drifted"] == "true" and drift["drifted-features"] == "tenure,monthly_charges"
    assert drift["records"] == "30"
    table = run.jobs["drift"].summaries["drift"]
    assert "### smops drift: `churn-production` ⚠️ drift in 2 features" in table
    assert "| `tenure` |" in table and "❌ drift" in table
    # The HTML report went up as an artifact (the stand-in keeps the zip GitHub would), linked
    # from the job summary by its URL in the run.
    [artifact] = consumer.artifacts.glob("*/smops-drift-report-churn-production.zip")
    with zipfile.ZipFile(artifact) as archive:
        assert archive.namelist() == ["smops-drift-report.html"]
        page = archive.read("smops-drift-report.html").decode()
    assert 'data-feature="tenure"' in page and 'data-feature="monthly_charges"' in page
    url = f"https://github.com/{consumer.repository}/actions/runs/{artifact.parent.name}/artifacts/1"
    assert f"📈 [The drift report, drawn]({url})" in run.jobs["drift"].summaries["report-link"]
    # The retrain job ran the build starter with the features as the reason; the build registered.
    # (act gives a job that calls a workflow calling another an empty result in `needs`, where
    # GitHub gives success: the called build job's own result says it.)
    assert run.jobs["build"].result == "success"
    built = run.jobs["build"].outputs
    assert built["execution-status"] == "Succeeded" and built["model-package-arn"]
    assert retraining(built["execution-arn"]) == "drift:tenure,monthly_charges"
    # The approval bridge's model_drift dispatch (its payload as test_bridge_drift.py has it)
    # starts the same build with the features it names.
    payload = {"endpoint-name": "churn-production", "monitoring-schedule": "churn-dq", "features": "tenure",
               "region": REGION, "account": ACCOUNT}
    event = repository_dispatch_event(consumer.repository, "model_drift", payload)
    run = consumer.run("repository_dispatch", event)
    assert run.returncode == 0, run.tail()
    assert retraining(run.jobs["build"].outputs["execution-arn"]) == "drift:tenure"


# -- the actions, in a consumer's own job ---------------------------------------------------------

ACTIONS_WORKFLOW = """\
name: actions
on: workflow_dispatch
permissions: {}
jobs:
  tour:
    runs-on: ubuntu-latest
    permissions:
      id-token: write
      contents: read
    outputs:
      steps: ${{ toJSON(steps) }}
    env:
      ROLE: arn:aws:iam::123456789012:role/churn-model
    steps:
      - uses: actions/checkout@v6
      - uses: aws-actions/configure-aws-credentials@v5
        with:
          aws-region: us-east-1
          role-to-assume: arn:aws:iam::123456789012:role/churn-github-build
      - id: build
        uses: ORG/sagemaker-mlops/actions/build@v1
        with:
          pipeline: ml/pipeline.json
          pipeline-name: churn
          role-arn: ${{ env.ROLE }}
          parameter: |
            Epochs=3
            MseThreshold=7.5
          tag: |
            team=ml
            cost-center=42
      - id: build-root
        uses: ORG/sagemaker-mlops@v1
        with:
          command: build
          working-directory: ml
          pipeline: pipeline.json
          pipeline-name: churn-nowait
          role-arn: ${{ env.ROLE }}
          wait: false
          keep: 5  # cleanup's and deploy's inputs: build must not take them as flags
          strategy: canary
      - id: bad-input
        continue-on-error: true
        uses: ORG/sagemaker-mlops/actions/build@v1
        with:
          pipeline: ml/pipeline.json
          pipeline-name: churn-bad
          role-arn: ${{ env.ROLE }}
          wait: sometimes
      - id: approve
        uses: ORG/sagemaker-mlops@v1
        with:
          command: approve
          model-package-arn: ${{ steps.build.outputs.model-package-arn }}
          description: reviewed in CI
      - id: deploy
        uses: ORG/sagemaker-mlops/actions/deploy@v1
        with:
          model-package-group: smops-test-models
          endpoint-name: churn-staging
          role-arn: ${{ env.ROLE }}
          environment: staging
          tag: team=ml
      - id: deploy-again
        uses: ORG/sagemaker-mlops/actions/deploy@v1
        with:
          model-package-arn: ${{ steps.approve.outputs.model-package-arn }}
          endpoint-name: churn-staging
          role-arn: ${{ env.ROLE }}
          environment: staging
          tag: team=ml
      - id: deploy-scaled
        uses: ORG/sagemaker-mlops/actions/deploy@v1
        with:
          model-package-arn: ${{ steps.approve.outputs.model-package-arn }}
          endpoint-name: churn-staging
          role-arn: ${{ env.ROLE }}
          instance-count: 2
          wait-interval: 0
      - id: guard
        continue-on-error: true
        uses: ORG/sagemaker-mlops/actions/deploy@v1
        with:
          model-package-arn: ${{ steps.approve.outputs.model-package-arn }}
          endpoint-name: churn-production
          role-arn: ${{ env.ROLE }}
          require-on-endpoint: churn-nowhere
      - id: serverless
        uses: ORG/sagemaker-mlops/actions/deploy@v1
        with:
          model-package-arn: ${{ steps.approve.outputs.model-package-arn }}
          endpoint-name: churn-serverless
          role-arn: ${{ env.ROLE }}
          variant-name: Blue
          serverless-memory-mb: 2048
          serverless-max-concurrency: 7
      - id: smoke
        uses: ORG/sagemaker-mlops/actions/smoke-test@v1
        with:
          endpoint-name: churn-staging
          payload: ml/smoke-payload.csv
          count: 2
      - id: smoke-missing
        continue-on-error: true
        uses: ORG/sagemaker-mlops/actions/smoke-test@v1
        with:
          endpoint-name: churn-staging
          payload: ml/nowhere.json
      - id: cleanup
        uses: ORG/sagemaker-mlops@v1
        with:
          command: cleanup
          endpoint-name: churn-staging
          keep: 0
          min-age: 0
          dry-run: true
"""
DEPLOY_OUTPUTS = {"endpoint-name", "endpoint-arn", "endpoint-config-name", "model-name", "model-package-arn", "action"}


def unused_config(endpoint: str, name: str) -> None:
    """A model and endpoint config smops made for ENDPOINT that never served, as a deploy that
    SageMaker rolled back leaves behind."""
    client, ours = sagemaker(), [{"Key": "smops:endpoint", "Value": endpoint}]
    client.create_model(ModelName=name, ExecutionRoleArn=MODEL_ROLE, PrimaryContainer={"Image": IMAGE}, Tags=ours)
    client.create_endpoint_config(
        EndpointConfigName=name, Tags=ours,
        ProductionVariants=[{"VariantName": "AllTraffic", "ModelName": name, "InitialInstanceCount": 1,
                             "InstanceType": "ml.m5.large"}],
    )


def test_every_action_in_a_consumers_own_job(consumer):
    unused_config("churn-staging", "churn-staging-v0-unused")
    consumer.write(".github/workflows/actions.yml", ACTIONS_WORKFLOW)
    consumer.report("actions.yml", needs="tour")
    run = consumer.run("workflow_dispatch", workflow_dispatch_event(consumer.repository, "actions.yml", {}))
    assert run.returncode == 0, run.tail()
    steps = json.loads(run.needs["tour"]["outputs"]["steps"])
    out = {name: step["outputs"] for name, step in steps.items()}
    failed = {name for name, step in steps.items() if step["outcome"] == "failure"}
    assert failed == {"bad-input", "guard", "smoke-missing"}  # each refused, as it should be
    client = sagemaker()
    # actions/build: every output, multi-line inputs as repeated flags.
    build = out["build"]
    assert build["execution-status"] == "Succeeded" and build["pipeline-arn"].endswith(":pipeline/churn")
    assert build["execution-arn"].startswith(build["pipeline-arn"] + "/execution/")
    parameters = client.list_pipeline_parameters_for_execution(PipelineExecutionArn=build["execution-arn"])
    values = {p["Name"]: p["Value"] for p in parameters["PipelineParameters"]}
    assert values["Epochs"] == "3" and values["MseThreshold"] == "7.5"
    tags = {t["Key"]: t["Value"] for t in client.list_tags(ResourceArn=build["pipeline-arn"])["Tags"]}
    assert tags["team"] == "ml" and tags["cost-center"] == "42"
    # The root action: the command it is given, working-directory, other commands' outputs empty.
    root = out["build-root"]
    assert root["execution-status"] == "Executing" and root["model-package-arn"] == ""
    assert root["pipeline-arn"].endswith(":pipeline/churn-nowait") and root["endpoint-name"] == ""
    # A bad input: refused before touching AWS.
    assert "SMOPS_WAIT='sometimes' is invalid" in run.log
    assert "churn-bad" not in [p["PipelineName"] for p in client.list_pipelines()["PipelineSummaries"]]
    # approve → deploy (created) → again (unchanged) → scaled (updated) → cleanup's dry run.
    assert out["approve"]["model-package-arn"] == build["model-package-arn"]
    assert out["approve"]["approval-status"] == "Approved"
    assert set(out["deploy"]) == DEPLOY_OUTPUTS | {"plan"} and out["deploy"].pop("plan") == ""  # not a dry run
    assert all(out["deploy"].values())
    assert out["deploy"]["action"] == "created" and out["deploy"]["model-package-arn"] == build["model-package-arn"]
    assert out["deploy-again"]["action"] == "unchanged"
    assert out["deploy-again"]["endpoint-config-name"] == out["deploy"]["endpoint-config-name"]
    assert out["deploy-scaled"]["action"] == "updated"
    assert client.describe_endpoint(EndpointName="churn-staging")["EndpointConfigName"] == out["deploy-scaled"]["endpoint-config-name"]
    # Cleanup keeps the config in service and the one `smops rollback` would return to (the first
    # deploy's); the config that never served goes, with its model.
    assert out["cleanup"]["deleted-endpoint-configs"] == "churn-staging-v0-unused"
    assert out["cleanup"]["deleted-models"] == "churn-staging-v0-unused"
    kept = run.jobs["tour"].summaries["cleanup"]
    assert f"| config `{out['deploy-scaled']['endpoint-config-name']}` | kept (in use) |" in kept
    assert f"| config `{out['deploy']['endpoint-config-name']}` | kept (what `smops rollback` returns to) |" in kept
    assert "| config `churn-staging-v0-unused` | would be deleted |" in kept
    client.describe_endpoint_config(EndpointConfigName="churn-staging-v0-unused")  # a dry run
    # The promotion guard refused, and nothing was created.
    assert "churn-nowhere" in run.log
    assert "churn-production" not in [e["EndpointName"] for e in client.list_endpoints()["Endpoints"]]
    # Serverless and the variant name reached the endpoint config.
    config = client.describe_endpoint(EndpointName="churn-serverless")["EndpointConfigName"]
    (variant,) = client.describe_endpoint_config(EndpointConfigName=config)["ProductionVariants"]
    assert variant["VariantName"] == "Blue"
    assert variant["ServerlessConfig"] == {"MemorySizeInMB": 2048, "MaxConcurrency": 7}
    # actions/smoke-test: status and latency; a missing payload refused.
    assert out["smoke"]["status-code"] == "200" and float(out["smoke"]["latency-ms"]) >= 0
    assert "nowhere.json" in run.log
