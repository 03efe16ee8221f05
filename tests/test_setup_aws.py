"""`smops setup-aws` on the emulator's CloudFormation, and init → setup-aws → doctor end to end."""

from __future__ import annotations

import json
from pathlib import Path

import boto3
import pytest
import yaml
from conftest import read_outputs, run_smops
from test_doctor import REPO, TOKEN, TOOLKIT, github  # noqa: F401 - the GitHub stand-in fixture

from smops.bridge import package
from smops.cli import main
from smops.onboard import starters

ACCOUNT = "123456789012"
PIPELINE_ROLE = f"arn:aws:iam::{ACCOUNT}:role/churn-pipeline"
MODEL_ROLE = f"arn:aws:iam::{ACCOUNT}:role/churn-model"
SAGEMAKER_TRUST = json.dumps({"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Principal": {"Service": "sagemaker.amazonaws.com"}, "Action": "sts:AssumeRole"}]})
INIT = ["--no-input", "--name", "churn", "--region", "us-east-1", "--pipeline-role-arn", PIPELINE_ROLE, "--model-role-arn", MODEL_ROLE]


@pytest.fixture
def account(aws_env):
    """What a user's account has before setup-aws: the roles SageMaker runs the jobs as."""
    iam = boto3.client("iam")
    for arn in (PIPELINE_ROLE, MODEL_ROLE):
        iam.create_role(RoleName=arn.rsplit("/", 1)[1], AssumeRolePolicyDocument=SAGEMAKER_TRUST)
    return aws_env


@pytest.fixture
def bridge_zip(tmp_path) -> Path:
    """The bridge's zip without its PyGithub wheels (which come from PyPI; the emulator runs no Lambda)."""
    (tmp_path / "no-dependencies").mkdir()
    package.build_zip(tmp_path / "bridge.zip", tmp_path / "no-dependencies")
    return tmp_path / "bridge.zip"


@pytest.fixture
def repo(tmp_path, account) -> Path:
    path = tmp_path / "repo"
    path.mkdir()
    assert main(["init", "--dir", str(path), *INIT]) == 0
    return path


def setup_aws(repo: Path, bridge_zip: Path, *extra: str) -> int:
    return main(["setup-aws", "--dir", str(repo), "--repository", REPO, "--bridge-zip", str(bridge_zip), *extra])


def stack(name: str) -> dict:
    [found] = boto3.client("cloudformation").describe_stacks(StackName=name)["Stacks"]
    return {"status": found["StackStatus"], **{p["ParameterKey"]: p["ParameterValue"] for p in found["Parameters"]},
            **{o["OutputKey"]: o["OutputValue"] for o in found.get("Outputs") or []}}


def stack_names() -> set[str]:
    summaries = boto3.client("cloudformation").list_stacks()["StackSummaries"]
    return {s["StackName"] for s in summaries if s["StackStatus"] != "DELETE_COMPLETE"}


def test_setup_aws_creates_the_stacks_from_the_starters_and_writes_the_roles_back(repo, bridge_zip, outputs, capsys):
    assert setup_aws(repo, bridge_zip) == 0
    oidc, bridge = stack("smops-github-oidc"), stack("smops-approval-bridge")
    assert (oidc["status"], bridge["status"]) == ("CREATE_COMPLETE", "CREATE_COMPLETE")
    assert (oidc["Repository"], oidc["PipelineName"], oidc["ModelPackageGroup"], oidc["EndpointNamePrefix"]) == (REPO, "churn", "churn", "churn-")
    assert (oidc["PipelineExecutionRoleArn"], oidc["ModelExecutionRoleArn"], oidc["CreateOidcProvider"]) == (PIPELINE_ROLE, MODEL_ROLE, "true")
    assert (bridge["ModelPackageGroups"], bridge["GitHubRepository"], bridge["CodeS3Bucket"]) == ("churn", REPO, f"sagemaker-us-east-1-{ACCOUNT}")
    code = boto3.client("s3").get_object(Bucket=bridge["CodeS3Bucket"], Key=bridge["CodeS3Key"])["Body"].read()
    assert code == bridge_zip.read_bytes()
    boto3.client("sagemaker").describe_model_package_group(ModelPackageGroupName="churn")  # created for the rule and roles
    answers, _ = starters.read(repo)
    assert (answers.build_role_arn, answers.staging_role_arn, answers.production_role_arn) == (
        oidc["BuildRoleArn"], oidc["DeployRolestagingArn"], oidc["DeployRoleproductionArn"])
    assert outputs()["oidc-stack-action"] == outputs()["bridge-stack-action"] == "created"
    assert outputs()["bridge-secret-arn"] == bridge["SecretArn"]
    err = capsys.readouterr().err
    assert "Add     BuildRole (AWS::IAM::Role)" in err and "CREATE_COMPLETE      smops-approval-bridge" in err
    assert f"aws secretsmanager put-secret-value --secret-id {bridge['SecretArn']}" in err


def test_setup_aws_again_changes_nothing_then_updates_what_a_starter_changed(repo, bridge_zip, outputs, tmp_path):
    assert setup_aws(repo, bridge_zip) == 0
    written = {name: starters.starter_path(repo, name).read_text() for name in starters.STARTERS}
    assert setup_aws(repo, bridge_zip, "--json") == 0
    assert read_outputs(tmp_path / "github_output")["oidc-stack-action"] == "unchanged"
    assert {name: starters.starter_path(repo, name).read_text() for name in starters.STARTERS} == written
    role = stack("smops-github-oidc")["BuildRoleArn"]

    new_model_role = f"arn:aws:iam::{ACCOUNT}:role/churn-model-v2"
    boto3.client("iam").create_role(RoleName="churn-model-v2", AssumeRolePolicyDocument=SAGEMAKER_TRUST)
    starters.write_inputs(repo / ".github/workflows/deploy.yml", "deploy", {"model-role-arn": new_model_role})
    (tmp_path / "github_output").unlink()
    assert setup_aws(repo, bridge_zip) == 0
    assert (outputs()["oidc-stack-action"], outputs()["bridge-stack-action"]) == ("updated", "unchanged")
    updated = stack("smops-github-oidc")
    assert (updated["status"], updated["ModelExecutionRoleArn"], updated["BuildRoleArn"]) == ("UPDATE_COMPLETE", new_model_role, role)
    policy = boto3.client("iam").get_role_policy(RoleName=updated["DeployRoleproductionArn"].rsplit("/", 1)[1], PolicyName="deploy")
    assert new_model_role in json.dumps(policy["PolicyDocument"])


def test_setup_aws_creates_the_pipeline_and_model_roles_when_init_was_given_none(tmp_path, aws_env, bridge_zip, outputs, capsys, monkeypatch):
    repo = tmp_path / "repo"
    repo.mkdir()
    assert main(["init", "--dir", str(repo), "--no-input", "--name", "churn", "--region", "us-east-1",
                 "--default-bucket", "churn-artifacts"]) == 0
    assert setup_aws(repo, bridge_zip) == 0
    oidc = stack("smops-github-oidc")
    assert oidc["PipelineExecutionRoleArn"] == oidc["ModelExecutionRoleArn"] == ""
    iam = boto3.client("iam")
    for output in ("PipelineRoleArn", "ModelRoleArn"):
        role = iam.get_role(RoleName=oidc[output].rsplit("/", 1)[1])["Role"]
        assert role["AssumeRolePolicyDocument"]["Statement"][0]["Principal"] == {"Service": "sagemaker.amazonaws.com"}
    # Written where the jobs pass them, and the only roles the build and deploy roles may pass.
    answers, _ = starters.read(repo)
    assert (answers.pipeline_role_arn, answers.model_role_arn, answers.monitor_role_arn) == (
        oidc["PipelineRoleArn"], oidc["ModelRoleArn"], oidc["MonitorRoleArn"])
    assert (outputs()["pipeline-role-arn"], outputs()["model-role-arn"], outputs()["monitor-role-arn"]) == (
        oidc["PipelineRoleArn"], oidc["ModelRoleArn"], oidc["MonitorRoleArn"])
    build = iam.get_role_policy(RoleName=oidc["BuildRoleArn"].rsplit("/", 1)[1], PolicyName="build")["PolicyDocument"]
    [passing] = [s for s in build["Statement"] if s["Sid"] == "PassOnlyThePipelineRole"]
    assert passing["Resource"] == oidc["PipelineRoleArn"]
    passes_itself = iam.get_role_policy(RoleName=oidc["PipelineRoleArn"].rsplit("/", 1)[1], PolicyName="pass-itself")
    assert passes_itself["PolicyDocument"]["Statement"][0]["Resource"] == oidc["PipelineRoleArn"]
    # doctor agrees: the starters hold the roles the stack made.
    monkeypatch.setenv("SMOPS_REPOSITORY", REPO)
    main(["doctor", "--dir", str(repo)])
    assert "✓ stacks match the starters" in capsys.readouterr().err
    # Again: the ARNs now in the starters are the stack's own, so nothing changes (no role deleted).
    (tmp_path / "github_output").unlink()
    assert setup_aws(repo, bridge_zip) == 0
    assert outputs()["oidc-stack-action"] == "unchanged"
    assert stack("smops-github-oidc")["PipelineRoleArn"] == oidc["PipelineRoleArn"]
    # The user names a role of their own for the models: the stack's model role goes.
    iam.create_role(RoleName="churn-model", AssumeRolePolicyDocument=SAGEMAKER_TRUST)
    starters.write_inputs(repo / ".github/workflows/deploy.yml", "deploy", {"model-role-arn": MODEL_ROLE})
    assert setup_aws(repo, bridge_zip) == 0
    updated = stack("smops-github-oidc")
    assert (updated["ModelExecutionRoleArn"], updated["ModelRoleArn"]) == (MODEL_ROLE, MODEL_ROLE)
    assert oidc["ModelRoleArn"].rsplit("/", 1)[1] not in {r["RoleName"] for r in iam.list_roles()["Roles"]}
    assert updated["PipelineRoleArn"] == oidc["PipelineRoleArn"]


def test_setup_aws_writes_the_monitor_and_rollback_roles_and_the_monitored_endpoint(repo, bridge_zip):
    assert setup_aws(repo, bridge_zip) == 0
    oidc = stack("smops-github-oidc")
    assert (oidc["MonitoredEndpoint"], oidc["ModelMonitorReads"]) == ("churn-production", "false")
    monitor = starters.reusable_job(yaml.safe_load(starters.starter_path(repo, "monitor").read_text()), "monitor")["with"]
    rollback = starters.reusable_job(yaml.safe_load(starters.starter_path(repo, "rollback").read_text()), "rollback")["with"]
    assert monitor["role-to-assume"] == oidc["MonitorRoleArn"]
    assert rollback["role-to-assume"] == oidc["DeployRoleproductionArn"]
    iam = boto3.client("iam")
    monitor_role = oidc["MonitorRoleArn"].rsplit("/", 1)[1]
    trust = iam.get_role(RoleName=monitor_role)["Role"]["AssumeRolePolicyDocument"]
    assert trust["Statement"][0]["Condition"]["StringEquals"]["token.actions.githubusercontent.com:sub"] == f"repo:{REPO}:ref:refs/heads/main"

    def sids() -> list[str]:
        return [s["Sid"] for s in iam.get_role_policy(RoleName=monitor_role, PolicyName="monitor")["PolicyDocument"]["Statement"]]

    assert "ModelMonitorReads" not in sids()
    assert setup_aws(repo, bridge_zip, "--model-monitor-reads") == 0  # an account that already uses Model Monitor
    assert stack("smops-github-oidc")["ModelMonitorReads"] == "true" and "ModelMonitorReads" in sids()


def test_dry_run_shows_the_change_sets_and_changes_nothing(repo, bridge_zip, outputs, capsys):
    written = {name: starters.starter_path(repo, name).read_text() for name in starters.STARTERS}
    assert setup_aws(repo, bridge_zip, "--dry-run") == 0
    err = capsys.readouterr().err
    assert "smops-github-oidc: create with these changes" in err and "Add     DeployRoleproduction (AWS::IAM::Role)" in err
    assert "Add     GroupAccesschurn (AWS::IAM::RolePolicy)" in err and "(dry run: nothing changes)" in err
    assert (outputs()["oidc-stack-action"], outputs()["bridge-stack-action"]) == ("create", "create")
    assert stack_names() == set()  # the CREATE change sets' empty stacks are gone too
    assert boto3.client("s3").list_buckets()["Buckets"] == []
    assert {name: starters.starter_path(repo, name).read_text() for name in starters.STARTERS} == written

    assert setup_aws(repo, bridge_zip) == 0
    starters.write_inputs(repo / ".github/workflows/build.yml", "build", {"pipeline-name": "churn-v2"})
    before = stack("smops-github-oidc")
    capsys.readouterr()
    assert setup_aws(repo, bridge_zip, "--dry-run") == 0
    err = capsys.readouterr().err
    assert "smops-github-oidc: update with these changes" in err and "Modify  BuildRole (AWS::IAM::Role)" in err
    assert "smops-approval-bridge: no changes" in err
    assert stack("smops-github-oidc") == before


@pytest.mark.parametrize(
    "change, message",
    [
        ({"model-package-group": "Churn"}, "model-package-group 'Churn' is not in lower case"),
        ({"pipeline-name": ""}, "the starters do not say pipeline_name"),
    ],
)
def test_bad_starters_are_refused_before_anything_changes(repo, bridge_zip, capsys, change, message):
    starters.write_inputs(repo / ".github/workflows/build.yml", "build", change)
    assert setup_aws(repo, bridge_zip) == 2
    assert message in capsys.readouterr().err
    assert stack_names() == set() and boto3.client("s3").list_buckets()["Buckets"] == []


def test_without_starters_or_a_repository(tmp_path, bridge_zip, account, capsys):
    assert main(["setup-aws", "--dir", str(tmp_path), "--repository", REPO, "--bridge-zip", str(bridge_zip)]) == 2
    assert "does not exist: run smops init first" in capsys.readouterr().err
    repo = tmp_path / "repo"
    repo.mkdir()
    assert main(["init", "--dir", str(repo), *INIT]) == 0
    assert main(["setup-aws", "--dir", str(repo), "--bridge-zip", str(bridge_zip)]) == 2
    assert "the repository (unknown) is not OWNER/REPO: pass --repository OWNER/REPO" in capsys.readouterr().err


def test_an_environment_name_the_template_cannot_use_is_refused(repo, bridge_zip, capsys):
    assert setup_aws(repo, bridge_zip, "--production-environment", "prod-eu") == 2
    assert "environment 'prod-eu' has characters other than letters and digits" in capsys.readouterr().err


def test_an_existing_oidc_provider_is_used_not_created_again(repo, bridge_zip):
    boto3.client("iam").create_open_id_connect_provider(
        Url="https://token.actions.githubusercontent.com", ClientIDList=["sts.amazonaws.com"], ThumbprintList=["6938fd4d98bab03faadb97b34396831e3780aea1"])
    assert setup_aws(repo, bridge_zip) == 0
    assert stack("smops-github-oidc")["CreateOidcProvider"] == "false"
    assert setup_aws(repo, bridge_zip) == 0  # the provider it found stays the account's, not the stack's
    assert stack("smops-github-oidc")["CreateOidcProvider"] == "false"


# -- init → setup-aws → doctor, as a user runs them -----------------------------------------------


def smops(*args: str, env: dict) -> tuple[int, str]:
    result = run_smops(*args, env=env, timeout=600)
    return result.returncode, result.stderr


def test_init_setup_aws_doctor_on_the_emulator_then_three_planted_mistakes(tmp_path, account, bridge_zip, github):  # noqa: F811
    github.repositories.repositories[REPO.lower()].private = False  # so a token's scopes decide, not its visibility
    repo = tmp_path / "repo"
    repo.mkdir()
    env = {"GITHUB_TOKEN": TOKEN, "GITHUB_API_URL": github.url, "SMOPS_REPOSITORY": REPO}
    code, log = smops("init", "--dir", str(repo), *INIT, "--toolkit-repository", TOOLKIT, env=env)
    assert code == 0, log
    (repo / "ml/smoke-payload.csv").write_text("0.455,0.365,0.095,0.514,0.2245,0.101,0.15,0,0,1\n")
    code, log = smops("setup-aws", "--dir", str(repo), "--bridge-zip", str(bridge_zip), env=env)
    assert code == 0, log
    secret = stack("smops-approval-bridge")["SecretArn"]
    bridge_token = "ghp_bridgeTokenNotReal00000000000000000000"
    github.repositories.add_token(bridge_token, scopes=["repo"])
    boto3.client("secretsmanager").put_secret_value(SecretId=secret, SecretString=bridge_token)

    code, log = smops("doctor", "--dir", str(repo), "--json", env=env)
    print(log)
    assert code == 0, log
    assert log.count("  ✓ ") == 28 and "✗" not in log
    # The loop's checks of production wait for the first deploy.
    assert [line.split()[1:3] for line in log.splitlines() if line.startswith("  - ")] == [
        ["production", "data"], ["production", "baseline"]]

    # 1. The build role trusts another repository (a role copied from an older project).
    iam = boto3.client("iam")
    build_role = stack("smops-github-oidc")["BuildRoleArn"].rsplit("/", 1)[1]
    trust = iam.get_role(RoleName=build_role)["Role"]["AssumeRolePolicyDocument"]
    trust["Statement"][0]["Condition"]["StringEquals"]["token.actions.githubusercontent.com:sub"] = "repo:octo-org/churn-old:ref:refs/heads/main"
    iam.update_assume_role_policy(RoleName=build_role, PolicyDocument=json.dumps(trust))
    # 2. Nobody reviews production.
    github.repositories.repositories[REPO.lower()].environments["production"].reviewers = []
    # 3. The bridge's token has no scope that may dispatch.
    weak = "ghp_bridgeTokenReadOrgOnly0000000000000000"
    github.repositories.add_token(weak, scopes=["read:org"])
    boto3.client("secretsmanager").put_secret_value(SecretId=secret, SecretString=weak)

    code, log = smops("doctor", "--dir", str(repo), env=env)
    print(log)
    assert code == 1
    assert f"✗ build role trust             arn:aws:iam::{ACCOUNT}:role/{build_role} trusts repo:octo-org/churn-old:ref:refs/heads/main, not repo:{REPO}:ref:refs/heads/main" in log
    assert "✗ production reviewers         environment production has no required reviewers" in log
    assert "✗ bridge token may dispatch    the bridge's classic token has the scopes read:org: repository_dispatch needs repo or public_repo" in log
    assert "error: 3 of 30 checks failed (production reviewers, build role trust, bridge token may dispatch)" in log


def test_the_starters_init_and_setup_aws_write_are_valid_workflows(repo, bridge_zip):
    assert setup_aws(repo, bridge_zip) == 0
    for name in starters.ALL_STARTERS:
        document = yaml.safe_load(starters.starter_path(repo, name).read_text())
        job = starters.reusable_job(document, name)
        assert job["uses"] == f"ORG/sagemaker-mlops/.github/workflows/{name}.yml@v1" and job["with"]["toolkit-ref"] == "v1"
        assert "${{" in starters.starter_path(repo, name).read_text()  # the expressions survived the round trip
