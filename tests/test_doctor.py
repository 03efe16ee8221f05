"""`smops doctor`: each check passing and failing, against the emulator and the GitHub stand-in.

A world that passes is set up the way a user's would be (init's starters, the roles, the
environments); each test then breaks one thing and reads what doctor says about it. The roles
here get hand-written policies; tests/test_setup_aws.py runs doctor on the roles the templates
create.
"""

from __future__ import annotations

import json
from pathlib import Path

import boto3
import pytest

from smops.cli import main
from smops.emulator.github import GitHubStandIn
from smops.onboard import starters
from smops.onboard.doctor import aws_checks

REPO = "octo-org/churn"
ACCOUNT = "123456789012"
REGION = "us-east-1"
TOKEN = "ghp_doctorUserTokenNotReal000000000000000"
PIPELINE_ROLE = f"arn:aws:iam::{ACCOUNT}:role/churn-pipeline"
MODEL_ROLE = f"arn:aws:iam::{ACCOUNT}:role/churn-model"
OIDC = f"arn:aws:iam::{ACCOUNT}:oidc-provider/token.actions.githubusercontent.com"
TOOLKIT = "octo-org/sagemaker-mlops"  # the consumer's copy of the toolkit, as init --toolkit-repository names it


def document(*statements) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def github_trust(subject: str, operator: str = "StringEquals") -> str:
    return document({
        "Effect": "Allow", "Principal": {"Federated": OIDC}, "Action": "sts:AssumeRoleWithWebIdentity",
        "Condition": {"StringEquals": {"token.actions.githubusercontent.com:aud": "sts.amazonaws.com"},
                      operator: {"token.actions.githubusercontent.com:sub": subject}} if operator == "StringLike" else
                     {"StringEquals": {"token.actions.githubusercontent.com:aud": "sts.amazonaws.com",
                                       "token.actions.githubusercontent.com:sub": subject}},
    })


@pytest.fixture
def github():
    with GitHubStandIn() as stand_in:
        repositories = stand_in.repositories
        repositories.add_repository(REPO, protected_branches={"main"})
        repositories.add_environment(REPO, "staging")
        repositories.add_environment(REPO, "production", reviewers=["ana"], branch_policy="custom", branch_names=["main"])
        repositories.add_repository(TOOLKIT, private=False, tags={"v1"})
        repositories.add_token(TOKEN, scopes=["repo", "workflow"])
        yield stand_in


@pytest.fixture
def iam(aws_env):
    return boto3.client("iam")


@pytest.fixture
def world(tmp_path, iam, github, monkeypatch):
    """A repository whose starters, roles and GitHub settings pass every check doctor makes of them."""
    repo = tmp_path / "repo"
    repo.mkdir()
    assert main(["init", "--dir", str(repo), "--no-input", "--name", "churn", "--region", REGION,
                 "--pipeline-role-arn", PIPELINE_ROLE, "--model-role-arn", MODEL_ROLE, "--toolkit-repository", TOOLKIT]) == 0
    (repo / "ml/smoke-payload.csv").write_text("0.455,0.365,0.095\n")
    iam.create_open_id_connect_provider(Url="https://token.actions.githubusercontent.com", ClientIDList=["sts.amazonaws.com"],
                                        ThumbprintList=["6938fd4d98bab03faadb97b34396831e3780aea1"])
    sagemaker_trust = document({"Effect": "Allow", "Principal": {"Service": "sagemaker.amazonaws.com"}, "Action": "sts:AssumeRole"})
    for arn in (PIPELINE_ROLE, MODEL_ROLE):
        iam.create_role(RoleName=arn.rsplit("/", 1)[1], AssumeRolePolicyDocument=sagemaker_trust)
    roles = {}
    for name, subject in (("build", "ref:refs/heads/main"), ("staging", "environment:staging"), ("production", "environment:production"),
                          ("monitor", "ref:refs/heads/main")):
        roles[name] = iam.create_role(RoleName=f"github-{name}", AssumeRolePolicyDocument=github_trust(f"repo:{REPO}:{subject}"))["Role"]["Arn"]
    starters.write_inputs(repo / ".github/workflows/build.yml", "build", {"role-to-assume": roles["build"]})
    starters.write_inputs(repo / ".github/workflows/deploy.yml", "deploy",
                         {"staging-role-to-assume": roles["staging"], "production-role-to-assume": roles["production"]})
    starters.write_inputs(repo / ".github/workflows/monitor.yml", "monitor", {"role-to-assume": roles["monitor"]})
    for name in roles:
        grant(iam, f"github-{name}", needs(repo, name))
    boto3.client("sagemaker").create_model_package_group(ModelPackageGroupName="churn")
    monkeypatch.setenv("GITHUB_TOKEN", TOKEN)
    return repo


def needs(repo: Path, name: str) -> list[aws_checks.Need]:
    args = type("Args", (), {"main_branch": "main"})
    ctx = type("Ctx", (), {"answers": starters.read(repo)[0], "region": REGION, "account": ACCOUNT, "args": args})
    return aws_checks.needs(ctx, name)


def grant(iam, role: str, granted: list[aws_checks.Need], leave_out: str = "") -> None:
    statements = [{"Effect": "Allow", "Action": [a for a in need.actions if a != leave_out], "Resource": need.resource,
                   **({"Condition": {"StringEquals": {"iam:PassedToService": need.passed_to}}} if need.passed_to else {}),
                   **({"Condition": {"StringLike": {"s3:prefix": need.prefix + "*"}}} if need.prefix is not None else {})}
                  for need in granted]
    iam.put_role_policy(RoleName=role, PolicyName="smops", PolicyDocument=document(*[s for s in statements if s["Action"]]))


def doctor(repo: Path, github: GitHubStandIn, capsys) -> dict[str, dict]:
    """Run smops doctor; its results by check name (and the exit code under 'exit')."""
    code = main(["doctor", "--dir", str(repo), "--repository", REPO, "--github-api-url", github.url, "--json"])
    results = {r["check"]: r for r in json.loads(capsys.readouterr().out)["checks"]}
    results["exit"] = code
    return results


def status(results: dict, check: str) -> tuple[str, str, str]:
    return results[check]["status"], results[check]["message"], results[check]["fix"]


# -- the starters -------------------------------------------------------------------------------


def test_every_check_of_a_well_set_up_repository_passes_or_says_why_not(world, github, capsys):
    results = doctor(world, github, capsys)
    failed = {name: r for name, r in results.items() if name != "exit" and r["status"] == "fail"}
    # Without the stacks (setup-aws's, tested in test_setup_aws.py) only their checks fail.
    assert set(failed) == {"stacks match the starters"}
    assert {name for name, r in results.items() if name != "exit" and r["status"] == "skip"} == {
        "bridge rule", "bridge dead-letter queue", "bridge secret", "bridge token may dispatch",
        "monitor starter", "production data capture", "production baseline"}
    assert results["monitor role trust"]["status"] == results["monitor role permissions"]["status"] == "ok"
    assert results["exit"] == 1


def test_starters_not_filled_in_name_their_inputs_and_who_fills_them(world, github, capsys):
    starters.write_inputs(world / ".github/workflows/deploy.yml", "deploy", {"staging-role-to-assume": ""})
    assert status(doctor(world, github, capsys), "starters") == (
        "fail", "not filled in: staging-role-to-assume (deploy.yml)", "run smops setup-aws")


def test_roles_init_left_empty_are_setup_aws_s_to_fill_in(world, github, capsys):
    starters.write_inputs(world / ".github/workflows/build.yml", "build", {"pipeline-role-arn": ""})
    starters.write_inputs(world / ".github/workflows/deploy.yml", "deploy", {"model-role-arn": ""})
    results = doctor(world, github, capsys)
    assert status(results, "starters") == (
        "fail", "not filled in: pipeline-role-arn (build.yml), model-role-arn (deploy.yml)", "run smops setup-aws")
    assert status(results, "pipeline and model roles")[0] == "skip"


def test_a_missing_starter_is_reported(world, github, capsys):
    (world / ".github/workflows/deploy.yml").unlink()
    state, message, fix = status(doctor(world, github, capsys), "starters")
    assert state == "fail" and message.endswith("deploy.yml does not exist") and fix == "run smops init"


def test_names_in_mixed_case_are_refused(world, github, capsys):
    starters.write_inputs(world / ".github/workflows/build.yml", "build", {"model-package-group": "Churn"})
    state, message, fix = status(doctor(world, github, capsys), "names in lower case")
    assert state == "fail" and "model-package-group (build.yml) 'Churn'" in message and "IAM compares ARNs case-sensitively" in fix


def test_a_toolkit_ref_out_of_step_is_refused(world, github, capsys):
    starters.write_inputs(world / ".github/workflows/build.yml", "build", {"toolkit-ref": "v2"})
    state, message, _ = status(doctor(world, github, capsys), "toolkit ref in step")
    assert (state, message) == ("fail", f"build.yml uses {TOOLKIT}/.github/workflows/build.yml@v1 with toolkit-ref v2; "
                                f"build.yml uses {TOOLKIT}/actions/setup@v1 with toolkit-ref v2")


def test_a_missing_pipeline_file_and_the_payload_placeholder_are_refused(world, github, capsys):
    (world / "ml/pipeline.py").unlink()
    (world / "ml/smoke-payload.csv").write_text("REPLACE-ME: ...\n")
    results = doctor(world, github, capsys)
    assert status(results, "pipeline file")[:2] == ("fail", "ml/pipeline.py does not exist")
    assert status(results, "smoke payload")[:2] == ("fail", "ml/smoke-payload.csv is still the placeholder smops init wrote")


def test_the_toolkit_left_as_org_fails_the_starters_offline_with_the_fix(world, github, capsys):
    """init without --toolkit-repository leaves the starters calling ORG/sagemaker-mlops."""
    for name in starters.STARTERS:
        path = world / f".github/workflows/{name}.yml"
        path.write_text(path.read_text().replace(TOOLKIT, starters.TOOLKIT_REPOSITORY))
    results = doctor(world, github, capsys)
    state, message, fix = status(results, "starters")
    assert (state, message) == ("fail", "the starters call the toolkit as ORG/sagemaker-mlops, a placeholder")
    assert fix == "name the toolkit's repository: smops init --toolkit-repository OWNER/sagemaker-mlops --force"
    # The release it names cannot be looked for: that follows from the placeholder, said once above.
    assert status(results, "toolkit release")[:2] == (
        "skip", "not checked: because of the starters check: the starters call the placeholder ORG/sagemaker-mlops")


def test_a_mixed_case_production_endpoint_in_deploy_alone_is_said_once(world, github, capsys):
    """deploy.yml's production-endpoint-name in mixed case, build.yml's baseline-endpoint as init wrote it."""
    starters.write_inputs(world / ".github/workflows/deploy.yml", "deploy", {"production-endpoint-name": "Churn-Production"})
    results = doctor(world, github, capsys)
    assert status(results, "starters") == (
        "fail",
        "the starters disagree: baseline-endpoint (build.yml) is 'churn-production', "
        "production-endpoint-name (deploy.yml) is 'Churn-Production' (not a valid lower-case name)",
        "give both the lower-case name: smops init --production-endpoint-name churn-production --force")
    because = ("skip", "not checked: because of the starters check: the starters disagree on "
                       "production-endpoint-name (deploy.yml) and baseline-endpoint (build.yml) and "
                       "endpoint-name (monitor.yml) and endpoint-name (rollback.yml)")
    assert status(results, "names in lower case")[:2] == because
    # No line of implicitDeny for every ARN made of that name: the roles whose ARNs hold it follow from it.
    assert status(results, "build role permissions")[:2] == status(results, "production role permissions")[:2] == because
    assert status(results, "staging role permissions")[0] == "ok"
    failed = [name for name, r in results.items() if name != "exit" and r["status"] == "fail"]
    assert failed == ["starters", "stacks match the starters"]  # no stacks here: setup-aws's, see the first test


# -- GitHub -------------------------------------------------------------------------------------


def test_a_repository_the_token_cannot_see(world, github, capsys, monkeypatch):
    github.repositories.add_token("ghp_otherUserNoRepoScope0000000000000000", scopes=["read:org"])
    monkeypatch.setenv("GITHUB_TOKEN", "ghp_otherUserNoRepoScope0000000000000000")
    results = doctor(world, github, capsys)
    assert status(results, "repository")[:2] == ("fail", f"{REPO} was not found on GitHub, or the token cannot see it")
    assert results["environments"]["status"] == results["production reviewers"]["status"] == "skip"


def test_without_a_token_the_github_checks_are_not_checked_and_say_how_to_get_one(world, github, capsys, monkeypatch):
    monkeypatch.delenv("GITHUB_TOKEN")
    results = doctor(world, github, capsys)
    for check in ("repository", "environments", "production reviewers", "production branches", "toolkit release"):
        assert status(results, check) == ("skip", "not checked: no GITHUB_TOKEN to read GitHub with: "
                                          "export GITHUB_TOKEN=$(gh auth token), then run smops doctor again", "")
    assert [name for name, r in results.items() if name != "exit" and r["status"] == "fail"] == ["stacks match the starters"]


def test_offline_the_github_checks_are_not_checked(world, capsys):
    with GitHubStandIn() as gone:
        pass  # its port is closed now: what an offline laptop or a wrong --github-api-url meets
    results = doctor(world, gone, capsys)
    for check in ("repository", "environments", "production reviewers", "production branches", "toolkit release"):
        state, message, _ = status(results, check)
        assert state == "skip" and message.startswith(f"not checked: could not reach GitHub at {gone.url}")
        assert message.endswith("check the network and --github-api-url (GITHUB_API_URL)")
    assert [name for name, r in results.items() if name != "exit" and r["status"] == "fail"] == ["stacks match the starters"]


def test_missing_environments_are_named(world, github, capsys):
    del github.repositories.repositories[REPO].environments["staging"]
    results = doctor(world, github, capsys)
    assert status(results, "environments")[:2] == ("fail", f"environment staging missing in {REPO}")
    assert results["production reviewers"]["status"] == "ok"


def test_production_without_reviewers_is_refused(world, github, capsys):
    github.repositories.repositories[REPO].environments["production"].reviewers = []
    state, message, fix = status(doctor(world, github, capsys), "production reviewers")
    assert state == "fail" and message == "environment production has no required reviewers: nothing stops a deploy to production"
    assert "add required reviewers in Settings → Environments → production" in fix


def test_production_reviewers_pass_with_their_names(world, github, capsys):
    assert status(doctor(world, github, capsys), "production reviewers")[:2] == ("ok", "production waits for ana")


@pytest.mark.parametrize(
    "policy, names, protected, outcome",
    [
        (None, [], {"main"}, "any branch may deploy to production"),
        ("custom", ["release/*"], {"main"}, "production admits the branches release/*, not main: deploys would be refused"),
        ("protected", [], set(), "production admits protected branches only, and main is not protected: deploys would be refused"),
        ("protected", [], {"main"}, None),
        ("custom", ["ma*"], set(), None),
    ],
)
def test_production_must_limit_deployment_branches_and_admit_main(world, github, capsys, policy, names, protected, outcome):
    environment = github.repositories.repositories[REPO].environments["production"]
    environment.branch_policy, environment.branch_names = policy, names
    github.repositories.repositories[REPO].protected_branches = protected
    state, message, _ = status(doctor(world, github, capsys), "production branches")
    assert (state, message if outcome else "") == (("fail", outcome) if outcome else ("ok", ""))


def test_a_toolkit_release_that_does_not_exist(world, github, capsys):
    github.repositories.repositories[TOOLKIT].tags = {"v2"}
    state, message, fix = status(doctor(world, github, capsys), "toolkit release")
    assert (state, message) == ("fail", f"the starters call {TOOLKIT}@v1, but {TOOLKIT} has no ref v1")
    assert "--toolkit-ref" in fix


# -- AWS ----------------------------------------------------------------------------------------


def test_no_credentials_fail_once_and_skip_the_rest(world, github, capsys, monkeypatch):
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.delenv(name)
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    results = doctor(world, github, capsys)
    assert status(results, "AWS credentials")[:2] == ("fail", "no AWS credentials")
    assert results["OIDC provider"]["status"] == results["build role trust"]["status"] == "skip"


def test_without_the_oidc_provider(world, github, iam, capsys):
    iam.delete_open_id_connect_provider(OpenIDConnectProviderArn=OIDC)
    state, message, fix = status(doctor(world, github, capsys), "OIDC provider")
    assert (state, message) == ("fail", "this account has no OIDC provider for token.actions.githubusercontent.com")
    assert "smops setup-aws" in fix


@pytest.mark.parametrize(
    "role, trust, message",
    [
        ("build", github_trust(f"repo:{REPO}:ref:refs/heads/dev"), f"trusts repo:{REPO}:ref:refs/heads/dev, not repo:{REPO}:ref:refs/heads/main"),
        ("production", github_trust(f"repo:{REPO}:environment:staging"), f"trusts repo:{REPO}:environment:staging, not repo:{REPO}:environment:production"),
        ("staging", github_trust(f"repo:{REPO}:*", "StringLike"), f"trusts the pattern repo:{REPO}:*, not exactly repo:{REPO}:environment:staging"),
        ("build", github_trust([f"repo:{REPO}:ref:refs/heads/main", f"repo:{REPO}:pull_request"]), "not only"),
        ("build", document({"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}),
         "does not trust GitHub's OIDC provider"),
    ],
)
def test_a_role_must_trust_exactly_its_subject(world, github, iam, capsys, role, trust, message):
    iam.update_assume_role_policy(RoleName=f"github-{role}", PolicyDocument=trust)
    state, found, fix = status(doctor(world, github, capsys), f"{role} role trust")
    assert state == "fail" and message in found and "StringEquals" in fix


def test_role_trust_passes_with_the_exact_subject(world, github, capsys):
    assert status(doctor(world, github, capsys), "production role trust")[:2] == (
        "ok", f"github-production trusts exactly repo:{REPO}:environment:production")


def test_a_role_that_does_not_exist(world, github, iam, capsys):
    iam.delete_role_policy(RoleName="github-staging", PolicyName="smops")
    iam.delete_role(RoleName="github-staging")
    state, message, _ = status(doctor(world, github, capsys), "staging role permissions")
    assert (state, message) == ("fail", f"the staging role arn:aws:iam::{ACCOUNT}:role/github-staging does not exist")


def test_role_permissions_name_each_call_the_policy_does_not_allow(world, github, iam, capsys):
    grant(iam, "github-production", needs(world, "production"), leave_out="sagemaker:UpdateEndpoint")
    state, message, _ = status(doctor(world, github, capsys), "production role permissions")
    assert state == "fail"
    sagemaker = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}"
    assert message == (f"github-production may not: sagemaker:UpdateEndpoint on {sagemaker}:endpoint-config/churn-production-v1-smops-doctor "
                       f"(implicitDeny); sagemaker:UpdateEndpoint on {sagemaker}:endpoint/churn-production (implicitDeny)")


def test_passing_a_role_to_another_service_is_not_enough(world, github, iam, capsys):
    granted = needs(world, "build")
    granted[-1].passed_to = "ec2.amazonaws.com"
    grant(iam, "github-build", granted)
    state, message, _ = status(doctor(world, github, capsys), "build role permissions")
    assert state == "fail" and message.endswith(f"iam:PassRole on {PIPELINE_ROLE} (implicitDeny)")


def test_role_permissions_pass_when_every_call_is_allowed(world, github, capsys):
    state, message, _ = status(doctor(world, github, capsys), "build role permissions")
    assert (state, message) == ("ok", "github-build may make all 17 calls smops makes as the build role")


def test_a_model_role_sagemaker_cannot_assume(world, github, iam, capsys):
    iam.update_assume_role_policy(RoleName="churn-model", PolicyDocument=github_trust("repo:x/y:ref:refs/heads/main"))
    state, message, _ = status(doctor(world, github, capsys), "pipeline and model roles")
    assert (state, message) == ("fail", f"the model role {MODEL_ROLE} does not trust sagemaker.amazonaws.com: SageMaker cannot run as it")


def test_a_missing_model_package_group(world, github, capsys):
    starters.write_inputs(world / ".github/workflows/build.yml", "build", {"model-package-group": "fraud"})
    assert status(doctor(world, github, capsys), "model package group") == (
        "fail", f"model package group fraud does not exist in {REGION}", "run smops setup-aws (it creates the group)")


def test_the_report_goes_to_the_job_summary_and_the_outputs(world, github, capsys, summary, outputs):
    github.repositories.repositories[REPO].environments["production"].reviewers = []
    doctor(world, github, capsys)
    assert (outputs()["status"], outputs()["failed"]) == ("failed", "2")  # reviewers, and the stacks (none here)
    assert {"check": "production reviewers", "status": "fail"}.items() <= next(
        c for c in json.loads(outputs()["checks"]) if c["check"] == "production reviewers").items()
    text = summary()
    assert text.startswith("### smops doctor: ") and "| ❌ | production reviewers | environment production has no required reviewers" in text


# -- the stacks and the approval bridge, as smops setup-aws deploys them ------------------------


@pytest.fixture
def deployed(world, github, tmp_path):
    """world, with the stacks setup-aws deploys (its roles replace the hand-made ones) and a bridge
    token that may dispatch in the secret."""
    from smops.bridge import package

    (tmp_path / "no-dependencies").mkdir()
    package.build_zip(tmp_path / "bridge.zip", tmp_path / "no-dependencies")
    assert main(["setup-aws", "--dir", str(world), "--repository", REPO, "--bridge-zip", str(tmp_path / "bridge.zip")]) == 0
    bridge = {o["OutputKey"]: o["OutputValue"] for o in
              boto3.client("cloudformation").describe_stacks(StackName="smops-approval-bridge")["Stacks"][0]["Outputs"]}
    put_secret(bridge, "ghp_bridgeTokenNotReal00000000000000000000")
    github.repositories.add_token("ghp_bridgeTokenNotReal00000000000000000000", scopes=["repo"])
    return bridge


def put_secret(bridge: dict, value: str) -> None:
    boto3.client("secretsmanager").put_secret_value(SecretId=bridge["SecretArn"], SecretString=value)


def app_key() -> str:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                             serialization.NoEncryption()).decode()


def test_with_the_stacks_every_check_passes(deployed, world, github, capsys):
    results = doctor(world, github, capsys)
    assert results.pop("exit") == 0
    # Production does not exist before the first deploy: its checks wait for it.
    assert {name: r["status"] for name, r in results.items() if r["status"] != "ok"} == {
        "production data capture": "skip", "production baseline": "skip"}
    assert results["production data capture"]["message"].endswith(
        "churn-production does not exist yet: checked after the first deploy to production")
    assert results["monitor starter"]["message"].startswith("monitor.yml checks churn-production as ")


# -- the loop: the monitor starter, production's capture and its package's baseline ---------------


def test_a_missing_monitor_starter_is_reported_and_its_role_not_checked(world, github, capsys):
    (world / ".github/workflows/monitor.yml").unlink()
    results = doctor(world, github, capsys)
    state, message, fix = status(results, "monitor starter")
    assert state == "fail" and message.endswith("monitor.yml does not exist: nothing checks production's traffic for drift")
    assert fix == "run smops init (it adds the missing starters and keeps the others), then smops setup-aws"
    assert results["monitor role trust"]["status"] == results["monitor role permissions"]["status"] == "skip"
    assert results["starters"]["status"] == "ok"  # build and deploy are what every project needs


def test_the_monitor_roles_trust_and_permissions_are_checked(world, github, iam, capsys):
    iam.update_assume_role_policy(RoleName="github-monitor", PolicyDocument=github_trust(f"repo:{REPO}:pull_request"))
    grant(iam, "github-monitor", needs(world, "monitor"), leave_out="s3:GetObject")
    results = doctor(world, github, capsys)
    assert status(results, "monitor role trust")[1] == (
        f"arn:aws:iam::{ACCOUNT}:role/github-monitor trusts repo:{REPO}:pull_request, not repo:{REPO}:ref:refs/heads/main")
    state, message, _ = status(results, "monitor role permissions")
    capture = f"arn:aws:s3:::sagemaker-{REGION}-{ACCOUNT}/smops-capture/churn-production/churn-production/AllTraffic/"
    assert state == "fail" and f"s3:GetObject on {capture}" in message


def test_a_monitor_role_that_may_list_another_prefix_only_is_refused(world, github, iam, capsys):
    wanted = needs(world, "monitor")
    for need in wanted:
        if need.prefix is not None:
            need.prefix = "smops-capture/churn-staging/"
    grant(iam, "github-monitor", wanted)
    state, message, _ = status(doctor(world, github, capsys), "monitor role permissions")
    assert state == "fail" and f"s3:ListBucket on arn:aws:s3:::sagemaker-{REGION}-{ACCOUNT} (implicitDeny)" in message


def serve_in_production(world, *capture: str, baseline: dict | None = None) -> str:
    """Register an approved package (with a baseline recorded in its metadata, or none) and
    deploy it to production as the deploy starter would."""
    from smops.emulator import settings

    settings.endpoint_seconds = 0.05
    sagemaker = boto3.client("sagemaker")
    arn = sagemaker.create_model_package(
        ModelPackageGroupName="churn", ModelApprovalStatus="Approved",
        InferenceSpecification={"Containers": [{"Image": "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1",
                                                "ModelDataUrl": "s3://bucket/model.tar.gz"}],
                                "SupportedContentTypes": ["text/csv"], "SupportedResponseMIMETypes": ["text/csv"]},
        **({"CustomerMetadataProperties": baseline} if baseline else {}),
    )["ModelPackageArn"]
    answers, _ = starters.read(world)
    assert main(["deploy", "--model-package-arn", arn, "--endpoint-name", answers.production_endpoint_name,
                 "--role-arn", answers.model_role_arn, *capture]) == 0
    return arn


def test_production_with_capture_and_a_baseline_passes_the_loop_checks(deployed, world, github, capsys):
    answers, _ = starters.read(world)
    statistics = f"s3://{answers.default_bucket}/smops-baseline/churn/v1/statistics.json"
    serve_in_production(world, "--data-capture-uri", answers.production_capture_uri, "--data-capture-percent", "100",
                        baseline={"smops:baseline-statistics": statistics,
                                  "smops:baseline-constraints": statistics.replace("statistics", "constraints")})
    results = doctor(world, github, capsys)
    assert results.pop("exit") == 0, {n: r for n, r in results.items() if r["status"] != "ok"}
    assert results["production data capture"]["message"].startswith(
        f"churn-production captures to {answers.production_capture_uri}, readable by ")
    assert results["production baseline"]["message"] == f"churn v1 has its baseline at {statistics}"


def test_production_without_capture_or_baseline_fails_the_loop_checks(deployed, world, github, capsys):
    arn = serve_in_production(world)
    results = doctor(world, github, capsys)
    assert status(results, "production data capture")[:2] == (
        "fail", "churn-production does not capture its traffic: the monitor has nothing to check")
    state, message, fix = status(results, "production baseline")
    assert state == "fail" and message.startswith(f"{arn} has no data quality baseline")


def test_a_capture_or_baseline_the_monitor_role_cannot_read_is_refused(deployed, world, github, capsys):
    serve_in_production(world, "--data-capture-uri", f"s3://sagemaker-{REGION}-{ACCOUNT}/elsewhere",
                        baseline={"smops:baseline-statistics": "s3://other-bucket/statistics.json"})
    results = doctor(world, github, capsys)
    state, message, fix = status(results, "production data capture")
    assert state == "fail" and "may not read churn-production's capture at s3://" in message and "smops-capture/churn-production" in fix
    state, message, _ = status(results, "production baseline")
    assert state == "fail" and message.endswith("may not read the baseline s3://other-bucket/statistics.json")


def test_starters_that_disagree_with_the_stacks(deployed, world, github, capsys):
    starters.write_inputs(world / ".github/workflows/deploy.yml", "deploy", {"production-endpoint-name": "fraud-production"})
    state, message, fix = status(doctor(world, github, capsys), "stacks match the starters")
    assert (state, message) == ("fail", "endpoint fraud-production does not start with the roles' EndpointNamePrefix churn-")
    assert fix.startswith("run smops setup-aws")


def test_a_disabled_rule(deployed, world, github, capsys):
    name = deployed["RuleArn"].rsplit("/", 1)[-1]
    boto3.client("events").disable_rule(Name=name)
    assert status(doctor(world, github, capsys), "bridge rule") == (
        "fail", f"the approval rule {name} is DISABLED: approvals reach nobody", f"aws events enable-rule --name {name}")


def test_events_waiting_in_the_dead_letter_queue(deployed, world, github, capsys):
    boto3.client("sqs").send_message(QueueUrl=deployed["DeadLetterQueueUrl"], MessageBody="{}")
    state, message, fix = status(doctor(world, github, capsys), "bridge dead-letter queue")
    assert (state, message) == ("fail", f"1 approval did not reach GitHub and waits in {deployed['DeadLetterQueueUrl']}")
    assert "smops dispatch --event FILE" in fix


def test_an_empty_secret(world, github, capsys, tmp_path):
    from smops.bridge import package

    (tmp_path / "none").mkdir()
    package.build_zip(tmp_path / "bridge.zip", tmp_path / "none")
    assert main(["setup-aws", "--dir", str(world), "--repository", REPO, "--bridge-zip", str(tmp_path / "bridge.zip")]) == 0
    results = doctor(world, github, capsys)
    state, message, fix = status(results, "bridge secret")
    assert state == "fail" and message.endswith("holds no value yet") and fix.startswith("aws secretsmanager put-secret-value --secret-id arn:aws:secretsmanager:")
    assert results["bridge token may dispatch"]["status"] == "skip"


@pytest.mark.parametrize(
    "value, message",
    [
        ("not a token", "the bridge's secret does not hold a GitHub token"),
        ('{"app_id": 1, "installation_id": 2}', "the GitHub secret has no private_key"),
    ],
)
def test_a_secret_in_the_wrong_shape(deployed, world, github, capsys, value, message):
    put_secret(deployed, value)
    results = doctor(world, github, capsys)
    assert results["bridge secret"]["status"] == "fail" and results["bridge secret"]["message"].startswith(message)
    assert value not in json.dumps(results)  # never printed


def test_a_classic_token_without_the_repo_scope_cannot_see_a_private_repository(deployed, world, github, capsys):
    github.repositories.add_token("ghp_publicRepoOnly000000000000000000000000", scopes=["public_repo"])
    put_secret(deployed, "ghp_publicRepoOnly000000000000000000000000")
    assert status(doctor(world, github, capsys), "bridge token may dispatch")[:2] == ("fail", f"the bridge's token cannot see {REPO}")


def test_a_token_whose_user_may_not_push(deployed, world, github, capsys):
    github.repositories.add_token("ghp_readOnlyCollaborator00000000000000000", scopes=["repo"], push=False)
    put_secret(deployed, "ghp_readOnlyCollaborator00000000000000000")
    assert status(doctor(world, github, capsys), "bridge token may dispatch")[:2] == (
        "fail", f"the bridge token's user may not push to {REPO}: repository_dispatch needs write access")


def test_a_fine_grained_tokens_permissions_cannot_be_seen(deployed, world, github, capsys):
    github.repositories.add_token("github_pat_fineGrained000000000000", scopes=None, repositories={REPO})
    put_secret(deployed, "github_pat_fineGrained000000000000")
    state, message, _ = status(doctor(world, github, capsys), "bridge token may dispatch")
    assert state == "skip" and "GitHub shows a fine-grained token's permissions to no API: make sure it has Contents: read and write" in message


def test_a_fine_grained_token_without_access_to_the_repository(deployed, world, github, capsys):
    github.repositories.add_token("github_pat_otherRepos000000000000", scopes=None, repositories={"octo-org/other"})
    put_secret(deployed, "github_pat_otherRepos000000000000")
    assert status(doctor(world, github, capsys), "bridge token may dispatch")[:2] == ("fail", f"the bridge's token cannot see {REPO}")


@pytest.mark.parametrize(
    "installation, outcome",
    [
        ({"installation_id": 42, "repositories": [REPO], "permissions": {"contents": "write", "metadata": "read"}},
         ("ok", f"GitHub App 7 is installed on {REPO} with Contents: write")),
        ({"installation_id": 42, "repositories": [REPO], "permissions": {"contents": "read", "metadata": "read"}},
         ("fail", f"GitHub App 7 has Contents: read on {REPO}; repository_dispatch needs write")),
        ({"installation_id": 42, "repositories": ["octo-org/other"]}, ("fail", f"GitHub App 7 is not installed on {REPO}")),
        ({"installation_id": 43, "repositories": [REPO]}, ("fail", f"the secret's installation_id 42 is not the App's installation on {REPO} (43)")),
    ],
)
def test_a_github_apps_installation_and_its_contents_permission(deployed, world, github, capsys, installation, outcome):
    github.repositories.add_installation(**installation)
    put_secret(deployed, json.dumps({"app_id": 7, "installation_id": 42, "private_key": app_key()}))
    assert status(doctor(world, github, capsys), "bridge token may dispatch")[:2] == outcome


@pytest.fixture
def oidc_token_server():
    """The Actions runtime's token endpoint (ACTIONS_ID_TOKEN_REQUEST_URL); records the requests."""
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    asked = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - http.server's name
            asked.append((self.path, self.headers.get("Authorization")))
            body = json.dumps({"value": "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJyZXBvOm9jdG8tb3JnL2NodXJuOnJlZjpyZWZzL2hlYWRzL21haW4ifQ.c2ln"}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}", asked
    server.shutdown()
    server.server_close()


def test_in_actions_doctor_takes_the_build_role_with_the_jobs_oidc_token(world, github, oidc_token_server):
    """The build starter's doctor job has id-token: write and no credentials step."""
    from conftest import run_smops

    url, asked = oidc_token_server
    env = {"GITHUB_ACTIONS": "true", "GITHUB_REPOSITORY": REPO, "GITHUB_REF": "refs/heads/main", "GITHUB_API_URL": github.url,
           "ACTIONS_ID_TOKEN_REQUEST_URL": f"{url}/idtoken?api-version=2.0", "ACTIONS_ID_TOKEN_REQUEST_TOKEN": "runtime-token",
           "AWS_ACCESS_KEY_ID": "", "AWS_SECRET_ACCESS_KEY": ""}
    result = run_smops("doctor", "--dir", str(world), "--json", env=env)
    checks = {c["check"]: c for c in json.loads(result.stdout)["checks"]}
    assert checks["AWS credentials"]["status"] == "ok", result.stderr
    assert checks["AWS credentials"]["message"].endswith(f"as arn:aws:sts::{ACCOUNT}:assumed-role/github-build/smops-doctor")
    [(path, authorization)] = asked
    assert "api-version=2.0" in path and "audience=sts.amazonaws.com" in path and authorization == "bearer runtime-token"
    assert "::add-mask::eyJhbGciOiJSUzI1NiJ9." in result.stderr  # the token is hidden from the log


def test_in_a_repository_without_starters_doctor_says_what_to_run_first(tmp_path, aws_env, github, capsys, monkeypatch):
    monkeypatch.delenv("AWS_REGION")
    monkeypatch.delenv("AWS_DEFAULT_REGION")
    results = doctor(tmp_path, github, capsys)
    assert results.pop("exit") == 1
    assert status(results, "starters")[2] == "run smops init"
    assert status(results, "AWS credentials") == ("fail", "no AWS region: the starters name none", "pass --region, or run smops init")
    assert results["OIDC provider"]["status"] == results["bridge secret"]["status"] == "skip"
