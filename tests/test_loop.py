"""The loop, as a user gets it (issue 17's proof): a new repository, `smops init` with flags only and
`smops setup-aws` on the emulator's CloudFormation, both as processes; then every event GitHub
would send, run by nektos/act on the starters exactly as init and setup-aws wrote them:

push → v1 built as the build role, with its data baseline → approval, the bridge's dispatch →
staging, then production with capture on → shifted traffic → the daily `schedule` runs monitor.yml
as the monitor role → drift → the build starter retrains → v2 waits for approval with its reason
and the monitor run's URL → `smops status` shows them → a second drift while v2 waits builds
nothing. And the same loop with clean traffic: no retraining.

Not under IAM enforcement: the jobs get their credentials from the emulator's STS by
AssumeRoleWithWebIdentity, which is unsigned, and moto's enforcement refuses unsigned requests
(tests/iam_lifecycle.py assumes its roles before turning enforcement on, which act's jobs cannot).
The roles' policies are enforced in tests/test_iam_enforced.py; here the log names the role each
job assumed.

Each act run's jobs and wall time, and `smops doctor` on the finished repository, are printed
(pytest -s shows them).
"""

from __future__ import annotations

import json
import os
import random

import boto3
import pytest
import yaml
from act_harness import Consumer, push_event, schedule_event
from conftest import leaks, run_smops
from test_loop_defaults import row, training_csv
from test_workflows_act import approval_dispatch, issued_credentials

from smops import registry
from smops.bridge import package
from smops.emulator import settings
from smops.monitor import baseline

pytestmark = [pytest.mark.slow, pytest.mark.network]  # act runs; the jobs install the toolkit and the SDK

REPOSITORY = "octo-org/churn"
ACCOUNT = "123456789012"
REGION = "us-east-1"
BUCKET = f"sagemaker-{REGION}-{ACCOUNT}"  # the SDK's default bucket: init asks for one when it is given no role
PRODUCTION = "churn-production"
SMOKE_ROW = "10.2,2.4,49.7\n"  # one request: the skeleton's three features, no label


@pytest.fixture(scope="session")
def actions_cache(tmp_path_factory):
    return tmp_path_factory.mktemp("loop-actions-cache")


@pytest.fixture
def loop(aws_env, tmp_path, actions_cache):
    """octo-org/churn, new: `smops init` (flags only) and `smops setup-aws` as a user runs them, and
    the table of act runs printed at the end. No run may have printed a secret."""
    settings.processing_outputs["train"] = training_csv(random.Random(1), 600)  # the Preprocess step's train split
    settings.endpoint_seconds = 0.2
    settings.time_scale = 0.002
    installer = {"SMOPS_INSTALLER": os.environ["SMOPS_INSTALLER"]} if os.environ.get("SMOPS_INSTALLER") else {}
    with Consumer(tmp_path / "churn", aws_endpoint=aws_env.url, cache_dir=actions_cache, repository=REPOSITORY,
                  env={"SMOPS_POLL_SECONDS": "0.05", **installer}) as repo:
        smops("init", "--dir", str(repo.root), "--no-input", "--name", "churn", "--region", REGION, "--default-bucket", BUCKET)
        repo.write("ml/smoke-payload.csv", SMOKE_ROW)  # the user's own request, as init's next steps ask
        (tmp_path / "no-dependencies").mkdir()
        package.build_zip(tmp_path / "bridge.zip", tmp_path / "no-dependencies")  # the emulator runs no Lambda
        smops("setup-aws", "--dir", str(repo.root), "--repository", REPOSITORY, "--bridge-zip", str(tmp_path / "bridge.zip"))
        repo.labels = []  # what each act run was, for the table
        yield repo
        print(f"\nact runs ({REPOSITORY}):")
        print("| run | event | jobs (result) | wall time |\n|---|---|---|---|")
        for n, (label, run) in enumerate(zip(repo.labels, repo.runs), 1):
            jobs = ", ".join(f"{job.id} ({job.result or 'skipped'})" for job in run.jobs.values())
            print(f"| {n} | {label} | {jobs} | {run.seconds:.0f} s |")
    texts = {f"act run {n}": run.log + run.stderr for n, run in enumerate(repo.runs, 1)}
    assert leaks(texts, {**repo.secrets(), **issued_credentials()}) == []


def smops(*args: str, expect: int = 0) -> str:
    result = run_smops(*args)
    assert result.returncode == expect, result.stderr
    return result.stdout + result.stderr


def run(repo: Consumer, label: str, event: str, payload: dict, workflow: str):
    found = repo.run(event, payload, workflow=workflow)
    repo.labels.append(label)
    assert found.returncode == 0, found.tail()
    return found


def stack_outputs() -> dict[str, str]:
    [stack] = boto3.client("cloudformation").describe_stacks(StackName="smops-github-oidc")["Stacks"]
    return {o["OutputKey"]: o["OutputValue"] for o in stack["Outputs"]}


def role_name(arn: str) -> str:
    return arn.rsplit("/", 1)[1]


def cron(repo: Consumer) -> str:
    """The monitor starter's own schedule, as GitHub would fire it."""
    [entry] = yaml.safe_load((repo.root / ".github/workflows/monitor.yml").read_text())[True]["schedule"]
    return entry["cron"]


def send(shift: float, seed: int) -> None:
    """Production's traffic: 200 rows, the features shifted by SHIFT (1.0: as in training)."""
    runtime, rng = boto3.client("sagemaker-runtime"), random.Random(seed)
    for _ in range(20):
        body = "\n".join(",".join(row(rng, shift)) for _ in range(10))
        runtime.invoke_endpoint(EndpointName=PRODUCTION, Body=body.encode(), ContentType="text/csv")


def versions() -> list[dict]:
    client = boto3.client("sagemaker")
    listed = client.list_model_packages(ModelPackageGroupName="churn", SortBy="CreationTime")["ModelPackageSummaryList"]
    return [client.describe_model_package(ModelPackageName=p["ModelPackageArn"]) for p in listed]


def build_deploy_and_serve(repo: Consumer, tmp_path, shift: float) -> dict[str, str]:
    """Steps 1-3: push → v1; approval → staging → production, capturing; traffic at SHIFT. Returns
    the stack's outputs."""
    roles = stack_outputs()
    built = run(repo, "push (build.yml)", "push", push_event(repo.repository, repo.commit()), "build.yml")
    assert built.jobs["build"].result == "success"
    assert f"assumed-role/{role_name(roles['BuildRoleArn'])}/GitHubActions" in built.log
    [v1] = versions()
    assert v1["ModelApprovalStatus"] == "PendingManualApproval"
    metadata = v1["CustomerMetadataProperties"]
    assert metadata[baseline.STATISTICS_KEY] == f"s3://{BUCKET}/smops-baseline/churn/v1/statistics.json"
    assert metadata[baseline.CONSTRAINTS_KEY] == f"s3://{BUCKET}/smops-baseline/churn/v1/constraints.json"
    assert registry.RETRAIN_REASON_KEY not in metadata

    event = approval_dispatch(repo, v1["ModelPackageArn"], tmp_path, group="churn")
    deployed = run(repo, "repository_dispatch model_approved (deploy.yml)", "repository_dispatch", event, "deploy.yml")
    assert deployed.jobs["staging"].result == deployed.jobs["production"].result == "success"
    for environment in ("staging", "production"):
        assert f"assumed-role/{role_name(roles[f'DeployRole{environment}Arn'])}/GitHubActions" in deployed.log
    client = boto3.client("sagemaker")
    production = client.describe_endpoint(EndpointName=PRODUCTION)
    capture = production["DataCaptureConfig"]
    assert capture["EnableCapture"] is True
    assert capture["DestinationS3Uri"] == f"s3://{BUCKET}/smops-capture/{PRODUCTION}"
    config = client.describe_endpoint_config(EndpointConfigName=production["EndpointConfigName"])
    assert config["DataCaptureConfig"]["InitialSamplingPercentage"] == 100  # init's --capture-percent default
    staging = client.describe_endpoint(EndpointName="churn-staging")
    assert not staging.get("DataCaptureConfig", {}).get("EnableCapture"), staging.get("DataCaptureConfig")  # only when asked
    send(shift, seed=2)
    return roles


def monitor(repo: Consumer, label: str, roles: dict[str, str]):
    """Step 4: the daily schedule fires monitor.yml, whose drift job runs as the monitor role."""
    found = run(repo, label, "schedule", schedule_event(repo.repository, cron(repo)), "monitor.yml")
    assert f"assumed-role/{role_name(roles['MonitorRoleArn'])}/GitHubActions" in found.log
    assert found.jobs["drift"].result == "success"
    return found


def monitor_run_ids() -> set[str]:
    """The run ids the monitor runs wrote their violations under (the starter's violations-file)."""
    listed = boto3.client("s3").list_objects_v2(Bucket=BUCKET, Prefix=f"smops-monitor/{PRODUCTION}/").get("Contents", [])
    return {item["Key"].split("/")[2] for item in listed}


def test_drift_in_production_retrains_once_through_the_starters_init_wrote(loop, tmp_path):
    roles = build_deploy_and_serve(loop, tmp_path, shift=1.6)

    first = monitor(loop, "schedule (monitor.yml): drift", roles)
    drift = first.jobs["drift"].outputs
    assert (drift["drifted"], drift["retrain"], drift["pending-retraining"]) == ("true", "true", "")
    reason = f"drift:{drift['drifted-features']}"
    assert f"baseline: s3://{BUCKET}/smops-baseline/churn/v1" in first.log
    # The retrain job ran the build starter, as the build role, with the drifted features as reason.
    assert first.jobs["build"].result == "success"
    assert f"assumed-role/{role_name(roles['BuildRoleArn'])}/GitHubActions" in first.log
    v1, v2 = versions()
    assert v2["ModelPackageArn"] == first.jobs["build"].outputs["model-package-arn"]
    assert v2["ModelApprovalStatus"] == "PendingManualApproval"
    metadata = v2["CustomerMetadataProperties"]
    [run_id] = monitor_run_ids()
    run_url = f"https://github.com/{REPOSITORY}/actions/runs/{run_id}"
    assert metadata[registry.RETRAIN_REASON_KEY] == reason
    assert metadata[registry.RETRAIN_RUN_KEY] == run_url
    assert metadata[baseline.STATISTICS_KEY].endswith("/smops-baseline/churn/v2/statistics.json")

    status = smops("status", "--model-package-group", "churn", "--endpoint-name", PRODUCTION, "--region", REGION)
    print(status)
    assert "churn v2: PendingManualApproval\n" in status
    assert f"  retrained: {reason}" in status and run_url in status

    # A second drift while v2 waits: the monitor says so, and the retrain job is skipped.
    send(1.6, seed=3)
    second = monitor(loop, "schedule (monitor.yml): drift again, v2 waiting", roles)
    drift = second.jobs["drift"].outputs
    assert (drift["drifted"], drift["retrain"], drift["pending-retraining"]) == ("true", "false", v2["ModelPackageArn"])
    assert f"**No retraining**: churn v2, retrained for {reason}, still waits for approval" in second.jobs["drift"].summaries["drift"]
    assert "build" not in second.jobs or second.jobs["build"].result in (None, "skipped")
    assert len(versions()) == 2

    monitor_role = role_name(roles["MonitorRoleArn"])
    policy = boto3.client("iam").get_role_policy(RoleName=monitor_role, PolicyName="monitor")["PolicyDocument"]
    print(f"\nthe monitor role's policy, as setup-aws deployed it ({monitor_role}):\n{json.dumps(policy, indent=1)}")
    doctor = run_smops("doctor", "--dir", str(loop.root), env={"SMOPS_REPOSITORY": REPOSITORY, "GITHUB_API_URL": loop.github.url})
    print(f"\nsmops doctor (exit {doctor.returncode}):\n{doctor.stdout}{doctor.stderr}")
    for check in ("production data capture", "production baseline"):
        assert any(line.startswith("  ✓ ") and check in line for line in doctor.stderr.splitlines()), doctor.stderr


def test_clean_traffic_retrains_nothing(loop, tmp_path):
    roles = build_deploy_and_serve(loop, tmp_path, shift=1.0)
    found = monitor(loop, "schedule (monitor.yml): clean traffic", roles)
    drift = found.jobs["drift"].outputs
    assert (drift["drifted"], drift["retrain"]) == ("false", "false")
    assert "✅ no drift" in found.jobs["drift"].summaries["drift"]
    assert "build" not in found.jobs or found.jobs["build"].result in (None, "skipped")
    assert len(versions()) == 1
