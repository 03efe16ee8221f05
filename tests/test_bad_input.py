"""Bad input, every command: exit 2, one error line naming the problem and the fix, nothing changed.

Each case runs `smops` as a process, as a workflow step would, against an emulator holding one of
everything smops touches (a pipeline and its execution, models, endpoint configs, an endpoint,
package groups and packages, alarms, an S3 object, an EventBridge rule delivering to a queue, a
secret). A snapshot of all of it is taken before and after each case and must not differ; the
GitHub stand-in must get no request. SMOPS_* variables set to "" are what an unset workflow input
gives the actions.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import boto3
import pytest
from conftest import ROLE_ARN, ROOT, run_smops
from test_deploy import GROUP as APPROVED_GROUP
from test_deploy import register

from smops import aws
from smops.cli import main
from smops.emulator import settings
from smops.emulator.github import GitHubStandIn

DEFINITION = ROOT / "tests" / "data" / "pipeline-definition.json"
PENDING_GROUP = "smops-test-models"  # what the test definition registers into
STAGING = "fraud-staging"
ACCOUNT = "123456789012"
OTHER_REGION_PACKAGE = f"arn:aws:sagemaker:eu-west-1:{ACCOUNT}:model-package/{APPROVED_GROUP}/1"
TOO_LONG = "a" * 64


@dataclass
class World:
    approved: str  # an Approved package ARN, served by STAGING
    pending: str  # a PendingManualApproval package ARN
    files: Path  # payloads, events and pipelines the cases read
    github: GitHubStandIn
    env: dict[str, str] = field(default_factory=dict)
    last: dict | None = None  # the snapshot after the previous case: nothing runs in between


@dataclass
class Case:
    id: str
    argv: list[str]
    problem: str  # in the error line: what is wrong
    fix: str  # in the error line, after the problem: what to do
    env: dict[str, str] = field(default_factory=dict)


def argv(*words: str) -> list[str]:
    return list(words)


def build_of(pipeline: str, name: str = "churn", role: str = ROLE_ARN) -> list[str]:
    return argv("build", "--pipeline", pipeline, "--pipeline-name", name, "--role-arn", role)


BUILD = build_of(str(DEFINITION))
DEPLOY = argv("deploy", "--endpoint-name", STAGING, "--role-arn", ROLE_ARN, "--model-package-group", APPROVED_GROUP)
NEW_DEPLOY = argv(
    "deploy", "--endpoint-name", "fraud-new", "--role-arn", ROLE_ARN, "--model-package-group", APPROVED_GROUP
)
SMOKE = argv("smoke-test", "--endpoint-name", STAGING)
REQUIRED = "the following arguments are required"

CASES = [
    # -- build ----------------------------------------------------------------------------------
    Case("build-malformed-role-arn", build_of(str(DEFINITION), role="arn:aws:iam::123:user/me"),
         "is not an IAM role ARN", "pass arn:aws:iam::ACCOUNT:role/NAME"),
    Case("build-name-bad-characters", build_of(str(DEFINITION), name="churn_model"),
         "pipeline name 'churn_model' is not valid", "letters, digits and hyphens"),
    Case("build-missing-definition", build_of("{files}/nope.json"), "nope.json not found", "check the --pipeline path"),
    Case("build-definition-not-json", build_of("{files}/broken.json"), "is not valid JSON", "fix the file"),
    Case("build-definition-not-utf8", build_of("{files}/latin1.json"), "is not UTF-8", "save it as UTF-8 JSON"),
    Case("build-definition-no-steps", build_of("{files}/no-steps.json"),
         "is not a pipeline definition (no Steps list)", "pipeline.definition()"),
    Case("build-py-raises", build_of("{files}/raises.py"),
         "ValueError: no training data configured", "fix the pipeline code"),
    Case("build-py-wrong-type", build_of("{files}/wrong_type.py"),
         "returned int, not a pipeline", "return a sagemaker Pipeline"),
    Case("build-parameter-not-name-value", BUILD + ["--parameter", "Epochs"], "expected NAME=VALUE, got 'Epochs'",
         "see `smops build --help`"),
    Case("build-parameter-unknown", BUILD + ["--parameter", "Epoch=3"], "unknown pipeline parameter 'Epoch'",
         "valid parameters: Epochs, ModelApprovalStatus"),
    Case("build-parameter-wrong-type", BUILD + ["--parameter", "Epochs=ten"],
         "parameter Epochs='ten' is not a valid Integer", "give Epochs a value of type Integer"),
    Case("build-tag-bad-characters", BUILD + ["--tag", "team=ml|ops"], "tag team='ml|ops' has a value AWS refuses",
         "letters, digits, spaces"),
    Case("build-timeout-not-a-number", BUILD + ["--timeout", "soon"], "'soon' is not a number of minutes", "--help"),
    Case("build-unset-pipeline-input", argv("build"), f"{REQUIRED}: --pipeline", "set SMOPS_PIPELINE",
         env={"SMOPS_PIPELINE": "", "SMOPS_PIPELINE_NAME": "churn", "SMOPS_ROLE_ARN": ROLE_ARN}),
    Case("build-wait-input-not-boolean", BUILD, "SMOPS_WAIT='sometimes' is invalid", "use true or false",
         env={"SMOPS_WAIT": "sometimes"}),
    # -- deploy ---------------------------------------------------------------------------------
    Case("deploy-endpoint-name-too-long", argv("deploy", "--endpoint-name", TOO_LONG, "--model-package-group",
         APPROVED_GROUP), f"endpoint name '{TOO_LONG}' is not valid", "use up to 63 letters, digits and hyphens"),
    Case("deploy-malformed-package-arn", argv("deploy", "--endpoint-name", STAGING, "--model-package-arn",
         "arn:aws:sagemaker:us-east-1:123:model-package"), "is not a model package ARN",
         "arn:aws:sagemaker:REGION:ACCOUNT:model-package/GROUP/VERSION"),
    Case("deploy-package-arn-of-another-region", argv("deploy", "--endpoint-name", STAGING, "--model-package-arn",
         OTHER_REGION_PACKAGE), "is in eu-west-1, not us-east-1", "pass --region eu-west-1"),
    Case("deploy-package-that-does-not-exist", argv("deploy", "--endpoint-name", STAGING, "--model-package-arn",
         f"arn:aws:sagemaker:us-east-1:{ACCOUNT}:model-package/{APPROVED_GROUP}/99"), "not found",
         "check the ARN and the region"),
    Case("deploy-missing-group", argv("deploy", "--endpoint-name", STAGING, "--model-package-group", "no-such-group"),
         "model package group no-such-group does not exist in us-east-1", "check the name and the region"),
    Case("deploy-pending-package", argv("deploy", "--endpoint-name", STAGING, "--model-package-arn", "{pending}"),
         "is PendingManualApproval, not Approved", "approve it first"),
    Case("deploy-both-arn-and-group", DEPLOY + ["--model-package-arn", "{approved}"],
         "both --model-package-arn and --model-package-group given", "pass one of them"),
    Case("deploy-no-package", argv("deploy", "--endpoint-name", STAGING), "no model package given",
         "pass --model-package-arn"),
    Case("deploy-instance-count-zero", NEW_DEPLOY + ["--instance-count", "0"], "--instance-count 0 is less than 1",
         "deploy at least one instance"),
    Case("deploy-capture-percent-over-100", NEW_DEPLOY + ["--data-capture-uri", "s3://capture/fraud",
         "--data-capture-percent", "101"], "--data-capture-percent 101 is not a percentage", "use 0-100"),
    Case("deploy-canary-over-50", DEPLOY + ["--strategy", "canary", "--canary-size", "60"],
         "--canary-size 60 is outside 1-50 percent", "pick a value from 1 to 50"),
    Case("deploy-batch-over-50", DEPLOY + ["--strategy", "rolling", "--batch-size", "75"],
         "--batch-size 75 is outside 5-50 percent", "pick a value from 5 to 50"),
    Case("deploy-wait-interval-over-an-hour", DEPLOY + ["--wait-interval", "4000"],
         "--wait-interval 4000 is outside 0-3600 seconds", "pick a value"),
    Case("deploy-serverless-memory-not-a-step", NEW_DEPLOY + ["--serverless-memory-mb", "1000"],
         "--serverless-memory-mb 1000 is not allowed", "use 1024, 2048"),
    Case("deploy-latency-threshold-zero", NEW_DEPLOY + ["--create-alarms", "--latency-threshold-ms", "0"],
         "--latency-threshold-ms 0 is less than 1", "in milliseconds"),
    Case("deploy-missing-alarm", NEW_DEPLOY + ["--alarm", "no-such-alarm"],
         "rollback alarm(s) no-such-alarm do not exist", "create them first, or use --create-alarms"),
    Case("deploy-eleven-alarms", DEPLOY + [w for i in range(11) for w in ("--alarm", f"a{i}")],
         "11 rollback alarms given", "SageMaker takes at most 10"),
    Case("deploy-missing-staging-endpoint", DEPLOY + ["--require-on-endpoint", "fraud-gone"],
         "promotion guard: endpoint fraud-gone does not exist", "deploy to fraud-gone first"),
    Case("deploy-new-variant-name", DEPLOY + ["--instance-count", "2", "--variant-name", "Blue"],
         f"endpoint {STAGING} serves variant(s) AllTraffic, not Blue", "pass --variant-name AllTraffic"),
    Case("deploy-tag-reserved-prefix", NEW_DEPLOY + ["--tag", "aws:team=ml"], "tag key 'aws:team'", "aws: is reserved"),
    Case("deploy-unset-endpoint-input", argv("deploy", "--model-package-group", APPROVED_GROUP),
         f"{REQUIRED}: --endpoint-name", "set SMOPS_ENDPOINT_NAME", env={"SMOPS_ENDPOINT_NAME": ""}),
    Case("deploy-instance-count-input-not-a-number", DEPLOY, "SMOPS_INSTANCE_COUNT='two' is invalid",
         "expected a whole number", env={"SMOPS_INSTANCE_COUNT": "two"}),
    Case("deploy-strategy-input-unknown", DEPLOY, "SMOPS_STRATEGY='blue-green' is invalid",
         "choose from all-at-once, canary, linear, rolling", env={"SMOPS_STRATEGY": "blue-green"}),
    # -- smoke-test -----------------------------------------------------------------------------
    Case("smoke-missing-payload", SMOKE + ["--payload", "{files}/nope.csv"], "payload file",
         "check the --payload path"),
    Case("smoke-unreadable-payload", SMOKE + ["--payload", "{files}"], "cannot read payload file",
         "check the --payload path"),
    Case("smoke-payload-not-utf8", SMOKE + ["--payload", "{files}/latin1.csv"], "is not UTF-8 text",
         "save it as UTF-8, or pass --content-type"),
    Case("smoke-count-zero", SMOKE + ["--payload", "{files}/payload.csv", "--count", "0"],
         "--count 0 is less than 1", "invoke at least once"),
    Case("smoke-missing-endpoint", argv("smoke-test", "--endpoint-name", "fraud-gone", "--payload",
         "{files}/payload.csv"), "endpoint fraud-gone does not exist in us-east-1", "deploy it first"),
    Case("smoke-endpoint-name-bad-characters", argv("smoke-test", "--endpoint-name", "fraud staging", "--payload",
         "{files}/payload.csv"), "endpoint name 'fraud staging' is not valid", "hyphens"),
    # -- approve --------------------------------------------------------------------------------
    Case("approve-unknown-status", argv("approve", "--model-package-arn", "{pending}", "--status", "Approve"),
         "invalid choice: 'Approve'", "choose from"),
    Case("approve-missing-group", argv("approve", "--model-package-group", "no-such-group"),
         "model package group no-such-group does not exist in us-east-1", "check the name and the region"),
    Case("approve-package-arn-of-another-region", argv("approve", "--model-package-arn", OTHER_REGION_PACKAGE),
         "is in eu-west-1, not us-east-1", "pass --region eu-west-1"),
    Case("approve-unset-inputs", argv("approve"), "no model package given", "--model-package-group",
         env={"SMOPS_MODEL_PACKAGE_ARN": "", "SMOPS_MODEL_PACKAGE_GROUP": "", "SMOPS_STATUS": ""}),
    # -- cleanup --------------------------------------------------------------------------------
    Case("cleanup-negative-keep", argv("cleanup", "--endpoint-name", STAGING, "--keep", "-1"),
         "--keep -1 is negative", "keep 0 or more"),
    Case("cleanup-endpoint-name-too-long", argv("cleanup", "--endpoint-name", TOO_LONG),
         "is not valid", "use up to 63 letters, digits and hyphens"),
    # -- dispatch -------------------------------------------------------------------------------
    Case("dispatch-nothing-named", argv("dispatch"), "give either --event FILE or --model-package-arn ARN",
         "see `smops dispatch --help`"),
    Case("dispatch-missing-event-file", argv("dispatch", "--event", "{files}/nope.json"), "cannot read --event",
         "pass a saved EventBridge event"),
    Case("dispatch-event-not-utf8", argv("dispatch", "--event", "{files}/latin1.json"), "'utf-8' codec can't decode",
         "pass a saved EventBridge event"),
    Case("dispatch-event-not-an-object", argv("dispatch", "--event", "{files}/list.json"), "is not a JSON object",
         "pass a saved EventBridge event"),
    Case("dispatch-malformed-package-arn", argv("dispatch", "--model-package-arn", "fraud-models/1"),
         "'fraud-models/1' is not a model package ARN", "arn:aws:sagemaker:REGION:ACCOUNT:model-package/GROUP/N"),
    Case("dispatch-package-in-another-region", argv("dispatch", "--model-package-arn", OTHER_REGION_PACKAGE,
         "--repository", "octo-org/fraud"), "does not exist", "check the ARN"),
    Case("dispatch-repository-not-owner-repo", argv("dispatch", "--model-package-arn", "{approved}",
         "--repository", "fraud"), "repository 'fraud' from SMOPS_REPOSITORY", "e.g. octo-org/churn"),
    Case("dispatch-repository-map-not-json", argv("dispatch", "--model-package-arn", "{approved}"),
         "SMOPS_REPOSITORY_MAP is not a JSON object of strings", '{"model-package-group": "owner/repo"',
         env={"SMOPS_REPOSITORY_MAP": "fraud-models=octo-org/fraud"}),
    Case("dispatch-missing-secret", argv("dispatch", "--model-package-arn", "{approved}", "--repository",
         "octo-org/fraud", "--github-secret-arn", "smops/no-such-secret"), "cannot be read", "create it"),
    Case("dispatch-no-credentials", argv("dispatch", "--model-package-arn", "{approved}", "--repository",
         "octo-org/fraud"), "no GitHub credentials", "set GITHUB_TOKEN", env={"GITHUB_TOKEN": ""}),
    # -- bridge, emulator, demo, the command line itself ------------------------------------------
    Case("emulator-fail-step-not-name-value", argv("emulator", "--fail-step", "Train"),
         "expected NAME=VALUE, got 'Train'", "--help"),
    Case("demo-fail-step-not-name-value", argv("demo", "--fail-step", "Train:boom"),
         "expected NAME=VALUE, got 'Train:boom'", "--help"),
    Case("unknown-command", argv("promote"), "invalid choice: 'promote'", "--help"),
    Case("no-region", DEPLOY, "no AWS region configured", "pass --region",
         env={"AWS_REGION": "", "AWS_DEFAULT_REGION": ""}),
    Case("unknown-profile", DEPLOY + ["--profile", "no-such-profile"], "no-such-profile", "pass an existing --profile"),
]


def test_the_table_has_at_least_40_cases():
    assert len(CASES) >= 40
    assert len({case.id for case in CASES}) == len(CASES)


# -- the world every case runs against ------------------------------------------------------------


@pytest.fixture(scope="module")
def world(emulator, tmp_path_factory) -> World:
    files = tmp_path_factory.mktemp("bad-input")
    write_files(files)
    with GitHubStandIn() as github, pytest.MonkeyPatch.context() as mp:
        for name in list(os.environ):
            if name.startswith(("AWS_", "SMOPS_", "GITHUB_")):
                mp.delenv(name)
        env = {
            **emulator.env(),
            "AWS_CONFIG_FILE": str(files / "no-aws-config"),
            "AWS_SHARED_CREDENTIALS_FILE": str(files / "no-aws-credentials"),
            "SMOPS_POLL_SECONDS": "0.02",
            "GITHUB_API_URL": github.url,
            "GITHUB_TOKEN": "ghp_bad_input_cases",
        }
        for name, value in env.items():
            mp.setenv(name, value)
        aws.session.cache_clear()
        aws.client.cache_clear()
        emulator.reset()
        settings.step_seconds = 0.05
        settings.endpoint_seconds = 0.05
        approved, pending = populate(files)
        aws.session.cache_clear()
        aws.client.cache_clear()
        yield World(approved=approved, pending=pending, files=files, github=github, env=env)


def write_files(files: Path) -> None:
    (files / "broken.json").write_text('{"Steps": [')
    (files / "latin1.json").write_bytes('{"Description": "Modèle"}'.encode("latin-1"))
    (files / "no-steps.json").write_text('{"Version": "2020-12-01"}')
    (files / "list.json").write_text("[]")
    (files / "raises.py").write_text("def get_pipeline(role):\n    raise ValueError('no training data configured')\n")
    (files / "wrong_type.py").write_text("def get_pipeline():\n    return 42\n")
    (files / "payload.csv").write_text("1.0,2.0,3.0\n")
    (files / "latin1.csv").write_bytes("1.0,caf\xe9\n".encode("latin-1"))


def populate(files: Path) -> tuple[str, str]:
    """One of everything smops touches, settled (no simulation still moving)."""
    assert main(["build", "--pipeline", str(DEFINITION), "--pipeline-name", "churn", "--role-arn", ROLE_ARN]) == 0
    sm = boto3.client("sagemaker")
    packages = sm.list_model_packages(ModelPackageGroupName=PENDING_GROUP)["ModelPackageSummaryList"]
    [pending] = [p["ModelPackageArn"] for p in packages]
    approved = register(sm)
    assert main(["deploy", "--endpoint-name", STAGING, "--role-arn", ROLE_ARN, "--model-package-arn", approved,
                 "--create-alarms"]) == 0
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket="fraud-artifacts")
    s3.put_object(Bucket="fraud-artifacts", Key="model.tar.gz", Body=b"model")
    sqs = boto3.client("sqs")
    queue = sqs.create_queue(QueueName="approvals")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events = boto3.client("events")
    events.put_rule(Name="smops-approvals", EventPattern=json.dumps({"source": ["aws.sagemaker"]}))
    events.put_targets(Rule="smops-approvals", Targets=[{"Id": "queue", "Arn": queue_arn}])
    boto3.client("secretsmanager").create_secret(Name="smops/github", SecretString="ghp_bad_input_secret")
    return approved, pending


def snapshot() -> dict:
    """Every resource in the services smops touches, as the APIs describe them."""
    sm = boto3.client("sagemaker")
    state: dict = {}

    def keep(key: str, value: dict, arn_key: str | None = None) -> None:
        value = {k: v for k, v in value.items() if k != "ResponseMetadata"}
        if arn_key:
            value["Tags"] = sm.list_tags(ResourceArn=value[arn_key], MaxResults=100)["Tags"]
        state[key] = value

    for p in sm.list_pipelines()["PipelineSummaries"]:
        name = p["PipelineName"]
        keep(f"pipeline/{name}", sm.describe_pipeline(PipelineName=name), "PipelineArn")
        for e in sm.list_pipeline_executions(PipelineName=name)["PipelineExecutionSummaries"]:
            arn = e["PipelineExecutionArn"]
            keep(f"execution/{arn}", sm.describe_pipeline_execution(PipelineExecutionArn=arn))
            state[f"steps/{arn}"] = sm.list_pipeline_execution_steps(PipelineExecutionArn=arn)["PipelineExecutionSteps"]
    for m in sm.list_models()["Models"]:
        keep(f"model/{m['ModelName']}", sm.describe_model(ModelName=m["ModelName"]), "ModelArn")
    for c in sm.list_endpoint_configs()["EndpointConfigs"]:
        name = c["EndpointConfigName"]
        keep(f"config/{name}", sm.describe_endpoint_config(EndpointConfigName=name), "EndpointConfigArn")
    for e in sm.list_endpoints()["Endpoints"]:
        keep(f"endpoint/{e['EndpointName']}", sm.describe_endpoint(EndpointName=e["EndpointName"]), "EndpointArn")
    for g in sm.list_model_package_groups()["ModelPackageGroupSummaryList"]:
        name = g["ModelPackageGroupName"]
        keep(f"group/{name}", sm.describe_model_package_group(ModelPackageGroupName=name), "ModelPackageGroupArn")
        for p in sm.list_model_packages(ModelPackageGroupName=name)["ModelPackageSummaryList"]:
            arn = p["ModelPackageArn"]
            keep(f"package/{arn}", sm.describe_model_package(ModelPackageName=arn), "ModelPackageArn")
    state["alarms"] = boto3.client("cloudwatch").describe_alarms()["MetricAlarms"]
    s3 = boto3.client("s3")
    for bucket in s3.list_buckets()["Buckets"]:
        objects = s3.list_objects_v2(Bucket=bucket["Name"]).get("Contents", [])
        state[f"s3/{bucket['Name']}"] = [(o["Key"], o["ETag"], o["Size"]) for o in objects]
    events = boto3.client("events")
    for rule in events.list_rules()["Rules"]:
        state[f"rule/{rule['Name']}"] = [rule, events.list_targets_by_rule(Rule=rule["Name"])["Targets"]]
    sqs = boto3.client("sqs")
    for url in sqs.list_queues().get("QueueUrls", []):  # what the rules delivered
        attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])
        state[f"queue/{url}"] = attributes["Attributes"]
    secrets = boto3.client("secretsmanager")
    for secret in secrets.list_secrets()["SecretList"]:
        secret.pop("LastAccessedDate", None)  # reading is not changing
        state[f"secret/{secret['Name']}"] = [secret, secrets.get_secret_value(SecretId=secret["ARN"])["SecretString"]]
    return state


# -- the cases ------------------------------------------------------------------------------------


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_bad_input_exits_2_with_one_line_and_changes_nothing(world, monkeypatch, case):
    for name, value in world.env.items():
        monkeypatch.setenv(name, value)
    values = {"files": str(world.files), "approved": world.approved, "pending": world.pending}
    args = [word.format(**values) for word in case.argv]
    before = world.last or snapshot()
    requests_before = len(world.github.requests)

    result = run_smops(*args, env=case.env)
    after = world.last = snapshot()

    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert result.returncode == 2, result.stderr
    assert len(errors) == 1, result.stderr
    line = errors[0]
    assert case.problem in line, line
    assert case.fix in line.split(case.problem, 1)[1], line  # the fix comes after the problem
    assert "internal error" not in result.stderr
    if "Traceback" in result.stderr:  # only the user's own code may show one
        assert case.id == "build-py-raises" and "smops/" not in result.stderr, result.stderr
    assert after == before
    assert len(world.github.requests) == requests_before
