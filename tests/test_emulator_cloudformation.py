"""The emulator's CloudFormation creates infra/'s templates as AWS would, through plain boto3 calls."""

from __future__ import annotations

import json

import boto3
import pytest
from botocore.exceptions import ClientError
from conftest import ROOT

from smops.emulator import events

ACCOUNT, REGION = "123456789012", "us-east-1"
CAPABILITIES = ["CAPABILITY_IAM", "CAPABILITY_AUTO_EXPAND"]
OIDC = {
    "Repository": "octo-org/churn",
    "PipelineName": "churn-build",
    "PipelineExecutionRoleArn": f"arn:aws:iam::{ACCOUNT}:role/churn-pipeline",
    "ModelPackageGroup": "churn-model",
    "EndpointNamePrefix": "churn-",
    "ModelExecutionRoleArn": f"arn:aws:iam::{ACCOUNT}:role/churn-model",
}
BRIDGE = {
    "ModelPackageGroups": "churn-model,fraud-model",
    "GitHubRepository": "octo-org/churn",
    "CodeS3Bucket": "smops-code",
    "CodeS3Key": "smops-bridge/0123456789abcdef.zip",
}


def body(name: str) -> str:
    return (ROOT / "infra" / name).read_text()


def parameters(values: dict[str, str]) -> list[dict[str, str]]:
    return [{"ParameterKey": key, "ParameterValue": value} for key, value in values.items()]


def outputs(cloudformation, stack: str) -> dict[str, str]:
    found = cloudformation.describe_stacks(StackName=stack)["Stacks"][0]
    return {o["OutputKey"]: o["OutputValue"] for o in found.get("Outputs", [])}


def resources(cloudformation, stack: str) -> dict[str, tuple[str, str]]:
    summaries = cloudformation.list_stack_resources(StackName=stack)["StackResourceSummaries"]
    return {r["LogicalResourceId"]: (r["ResourceType"], r["PhysicalResourceId"]) for r in summaries}


def inline_policy(iam, role_arn: str, name: str) -> dict:
    return iam.get_role_policy(RoleName=role_arn.rsplit("/", 1)[1], PolicyName=name)["PolicyDocument"]


@pytest.fixture
def cloudformation(aws_env):
    return boto3.client("cloudformation")


@pytest.fixture
def bridge_code(aws_env):
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket=BRIDGE["CodeS3Bucket"])
    s3.put_object(Bucket=BRIDGE["CodeS3Bucket"], Key=BRIDGE["CodeS3Key"], Body=b"PK\x05\x06" + bytes(18))


def test_the_oidc_template_makes_the_provider_and_a_role_per_environment(cloudformation):
    cloudformation.create_stack(StackName="oidc", TemplateBody=body("github-oidc.yaml"), Capabilities=CAPABILITIES,
                                Parameters=parameters({**OIDC, "Environments": "staging,production,qa"}))
    found = outputs(cloudformation, "oidc")
    assert sorted(found) == ["BuildRoleArn", "DeployRoleproductionArn", "DeployRoleqaArn", "DeployRolestagingArn",
                             "ModelRoleArn", "MonitorRoleArn", "PipelineRoleArn"]
    iam = boto3.client("iam")
    [provider] = iam.list_open_id_connect_providers()["OpenIDConnectProviderList"]
    assert provider["Arn"] == f"arn:aws:iam::{ACCOUNT}:oidc-provider/token.actions.githubusercontent.com"
    assert iam.get_open_id_connect_provider(OpenIDConnectProviderArn=provider["Arn"])["ClientIDList"] == [
        "sts.amazonaws.com"
    ]
    qa = iam.get_role(RoleName=found["DeployRoleqaArn"].rsplit("/", 1)[1])["Role"]
    [trust] = qa["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Principal"] == {"Federated": provider["Arn"]}
    assert trust["Condition"]["StringEquals"]["token.actions.githubusercontent.com:sub"] == (
        "repo:octo-org/churn:environment:qa"
    )
    assert qa["MaxSessionDuration"] == 10800
    # JSON, not a Python repr: IAM enforcement reads it (test_iam_enforced).
    deploy = inline_policy(iam, found["DeployRoleqaArn"], "deploy")
    endpoints = next(s for s in deploy["Statement"] if s["Sid"] == "Endpoints")
    assert endpoints["Resource"] == f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:endpoint/churn-*"
    # `!If [HasArtifactBucket, ..., !Ref AWS::NoValue]` leaves no null statement behind.
    build = inline_policy(iam, found["BuildRoleArn"], "build")
    assert [s["Sid"] for s in build["Statement"]] == [
        "Pipeline", "PipelineExecutions", "RegisteredModelPackages", "TrainingData",
        "BaselinePackageListingHasNoResourceScope", "BaselineEndpoint", "PassOnlyThePipelineRole",
    ]


def test_the_bridge_template_makes_every_resource(cloudformation, bridge_code):
    cloudformation.create_stack(StackName="bridge", TemplateBody=body("approval-bridge.yaml"),
                                Capabilities=CAPABILITIES, Parameters=parameters(BRIDGE))
    made = resources(cloudformation, "bridge")
    found = outputs(cloudformation, "bridge")
    assert {kind for kind, _ in made.values()} == {
        "AWS::SecretsManager::Secret", "AWS::SQS::Queue", "AWS::SQS::QueuePolicy", "AWS::Logs::LogGroup",
        "AWS::IAM::Role", "AWS::IAM::RolePolicy", "AWS::Lambda::Function", "AWS::Lambda::EventInvokeConfig",
        "AWS::Events::Rule", "AWS::Lambda::Permission", "AWS::CloudWatch::Alarm",
    }
    assert sorted(found) == ["DeadLetterAlarmName", "DeadLetterQueueUrl", "FunctionArn", "RuleArn", "SecretArn"]

    secrets = boto3.client("secretsmanager")
    assert secrets.describe_secret(SecretId=found["SecretArn"])["Name"] == "bridge/github"
    with pytest.raises(ClientError, match="ResourceNotFoundException"):  # empty until the token is put
        secrets.get_secret_value(SecretId=found["SecretArn"])

    function = boto3.client("lambda").get_function(FunctionName=found["FunctionArn"])
    variables = function["Configuration"]["Environment"]["Variables"]
    assert variables["SMOPS_GITHUB_SECRET_ARN"] == found["SecretArn"]
    assert variables["SMOPS_MODEL_PACKAGE_GROUPS"] == "churn-model,fraud-model"
    assert function["Concurrency"] == {"ReservedConcurrentExecutions": 1}

    iam = boto3.client("iam")
    role = function["Configuration"]["Role"]
    assert sorted(iam.list_role_policies(RoleName=role.rsplit("/", 1)[1])["PolicyNames"]) == [
        "approval-bridge", "model-package-group-churn-model", "model-package-group-fraud-model",
    ]
    group = inline_policy(iam, role, "model-package-group-fraud-model")["Statement"][0]
    assert group["Resource"] == f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:model-package/fraud-model/*"

    queue = boto3.client("sqs").get_queue_attributes(QueueUrl=found["DeadLetterQueueUrl"], AttributeNames=["All"])
    [statement] = json.loads(queue["Attributes"]["Policy"])["Statement"]
    assert statement["Condition"] == {"ArnEquals": {"aws:SourceArn": [found["RuleArn"]]}}  # drift rules join when routed
    invoke = boto3.client("lambda").get_function_event_invoke_config(FunctionName=found["FunctionArn"])
    assert invoke["MaximumRetryAttempts"] == 2
    assert invoke["DestinationConfig"]["OnFailure"]["Destination"] == queue["Attributes"]["QueueArn"]
    [alarm] = boto3.client("cloudwatch").describe_alarms(AlarmNames=[found["DeadLetterAlarmName"]])["MetricAlarms"]
    assert alarm["Dimensions"] == [{"Name": "QueueName", "Value": found["DeadLetterQueueUrl"].rsplit("/", 1)[1]}]
    assert alarm["AlarmActions"] == []  # `!If [HasAlarmTopic, ..., !Ref AWS::NoValue]`


def test_an_approval_reaches_the_function_and_nothing_else_does(cloudformation, bridge_code, sagemaker):
    cloudformation.create_stack(StackName="bridge", TemplateBody=body("approval-bridge.yaml"),
                                Capabilities=CAPABILITIES, Parameters=parameters(BRIDGE))
    function = outputs(cloudformation, "bridge")["FunctionArn"]
    for group in ("churn-model", "other-model"):
        sagemaker.create_model_package_group(ModelPackageGroupName=group)
        arn = sagemaker.create_model_package(
            ModelPackageGroupName=group, ModelApprovalStatus="PendingManualApproval",
            InferenceSpecification={"Containers": [{"Image": "x.dkr.ecr.us-east-1.amazonaws.com/m:1"}],
                                    "SupportedContentTypes": ["text/csv"], "SupportedResponseMIMETypes": ["text/csv"]},
        )["ModelPackageArn"]
        # moto raised inside this call (HTTP 500) when the event matched a rule with a Lambda target.
        sagemaker.update_model_package(ModelPackageArn=arn, ModelApprovalStatus="Approved")
    delivered = events.invocations(function, ACCOUNT, REGION)
    assert [(e["detail"]["ModelPackageGroupName"], e["detail"]["ModelApprovalStatus"]) for e in delivered] == [
        ("churn-model", "PendingManualApproval"), ("churn-model", "Approved"),
    ]
    assert delivered[1]["detail-type"] == "SageMaker Model Package State Change"
    assert delivered[1]["time"].endswith("Z")
    assert events.invocations(function, ACCOUNT, REGION) == []  # taken once


def test_updates_and_change_sets_change_what_the_parameters_change(cloudformation):
    template = body("github-oidc.yaml")
    created = cloudformation.create_change_set(
        StackName="oidc", ChangeSetName="create", ChangeSetType="CREATE", TemplateBody=template,
        Capabilities=CAPABILITIES, Parameters=parameters(OIDC),
    )
    cloudformation.execute_change_set(ChangeSetName=created["Id"])
    assert sorted(outputs(cloudformation, "oidc")) == ["BuildRoleArn", "DeployRoleproductionArn", "DeployRolestagingArn",
                                                       "ModelRoleArn", "MonitorRoleArn", "PipelineRoleArn"]

    same = cloudformation.create_change_set(
        StackName="oidc", ChangeSetName="same", ChangeSetType="UPDATE", TemplateBody=template,
        Capabilities=CAPABILITIES, Parameters=parameters(OIDC),
    )
    unchanged = cloudformation.describe_change_set(ChangeSetName=same["Id"])
    assert unchanged["Status"] == "FAILED"
    assert "didn't contain changes" in unchanged["StatusReason"]

    # A bucket changes the roles only through a condition; one environment fewer removes a role.
    changed = {**OIDC, "ArtifactBucket": "churn-artifacts", "Environments": "production"}
    update = cloudformation.create_change_set(
        StackName="oidc", ChangeSetName="bucket", ChangeSetType="UPDATE", TemplateBody=template,
        Capabilities=CAPABILITIES, Parameters=parameters(changed),
    )
    changes = cloudformation.describe_change_set(ChangeSetName=update["Id"])["Changes"]
    assert sorted((c["ResourceChange"]["Action"], c["ResourceChange"]["LogicalResourceId"]) for c in changes) == [
        ("Modify", "BuildRole"), ("Modify", "DeployRoleproduction"), ("Modify", "MonitorRole"), ("Remove", "DeployRolestaging"),
    ]
    cloudformation.execute_change_set(ChangeSetName=update["Id"])
    found = outputs(cloudformation, "oidc")
    assert sorted(found) == ["BuildRoleArn", "DeployRoleproductionArn", "ModelRoleArn", "MonitorRoleArn", "PipelineRoleArn"]
    iam = boto3.client("iam")
    statements = {s["Sid"]: s for s in inline_policy(iam, found["BuildRoleArn"], "build")["Statement"]}
    assert statements["Artifacts"]["Resource"] == "arn:aws:s3:::churn-artifacts/*"
    assert statements["ArtifactBucket"]["Resource"] == "arn:aws:s3:::churn-artifacts"

    with pytest.raises(ClientError, match="No updates are to be performed"):
        cloudformation.update_stack(StackName="oidc", TemplateBody=template, Capabilities=CAPABILITIES,
                                    Parameters=parameters(changed))
    # A prefix that reaches the policies only through ${EndpointNamePrefix} in Fn::Sub.
    cloudformation.update_stack(
        StackName="oidc", TemplateBody=template, Capabilities=CAPABILITIES,
        Parameters=[{"ParameterKey": key, "UsePreviousValue": True} for key in changed if key != "EndpointNamePrefix"]
        + [{"ParameterKey": "EndpointNamePrefix", "ParameterValue": "fraud-"}],
    )
    deploy = inline_policy(iam, found["DeployRoleproductionArn"], "deploy")
    endpoints = next(s for s in deploy["Statement"] if s["Sid"] == "Endpoints")
    assert endpoints["Resource"] == f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:endpoint/fraud-*"
    assert cloudformation.get_template(StackName="oidc")["TemplateBody"] == template  # as written


def test_deleting_the_bridge_keeps_only_the_retained_secret(cloudformation, bridge_code):
    cloudformation.create_stack(StackName="bridge", TemplateBody=body("approval-bridge.yaml"),
                                Capabilities=CAPABILITIES, Parameters=parameters(BRIDGE))
    cloudformation.delete_stack(StackName="bridge")
    assert [s["Name"] for s in boto3.client("secretsmanager").list_secrets()["SecretList"]] == ["bridge/github"]
    assert boto3.client("iam").list_roles()["Roles"] == []
    assert boto3.client("lambda").list_functions()["Functions"] == []
    assert boto3.client("cloudwatch").describe_alarms()["MetricAlarms"] == []


def test_a_for_each_that_cannot_expand_is_refused(cloudformation):
    template = body("github-oidc.yaml").replace("    - Environment\n    - !Ref Environments\n", "    - Environment\n", 1)
    with pytest.raises(ClientError, match="Transform AWS::LanguageExtensions failed"):
        cloudformation.create_stack(StackName="oidc", TemplateBody=template, Capabilities=CAPABILITIES,
                                    Parameters=parameters(OIDC))


def test_updating_the_function_role_keeps_the_group_policies(cloudformation, bridge_code):
    """Its Policies property changes; the AWS::IAM::RolePolicy resources on it are not its own."""
    cloudformation.create_stack(StackName="bridge", TemplateBody=body("approval-bridge.yaml"),
                                Capabilities=CAPABILITIES, Parameters=parameters(BRIDGE))
    changed = body("approval-bridge.yaml").replace("PolicyName: approval-bridge", "PolicyName: bridge")
    cloudformation.update_stack(StackName="bridge", TemplateBody=changed, Capabilities=CAPABILITIES,
                                Parameters=parameters(BRIDGE))
    role = resources(cloudformation, "bridge")["FunctionRole"][1]
    assert sorted(boto3.client("iam").list_role_policies(RoleName=role)["PolicyNames"]) == [
        "bridge", "model-package-group-churn-model", "model-package-group-fraud-model",
    ]
