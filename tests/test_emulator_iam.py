"""IAM enforcement in the emulator decides as AWS does: resource ARNs, action names, implied actions."""

from __future__ import annotations

import json

import boto3
import pytest
from botocore.exceptions import ClientError

from smops.emulator import iam

ACCOUNT, REGION = "123456789012", "us-east-1"
SM = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}"
MODEL_ROLE = f"arn:aws:iam::{ACCOUNT}:role/churn-model"
CONTAINER = {"Image": f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/m:1"}
# A deploy policy in small: everything scoped to the churn- prefix.
POLICY = {
    "Version": "2012-10-17",
    "Statement": [
        {"Effect": "Allow", "Action": ["sagemaker:DescribeEndpoint", "sagemaker:CreateEndpoint", "sagemaker:InvokeEndpoint"],
         "Resource": [f"{SM}:endpoint/churn-*", f"{SM}:endpoint-config/churn-*"]},
        {"Effect": "Allow", "Action": "sagemaker:CreateModel", "Resource": f"{SM}:model/churn-*"},
        {"Effect": "Allow", "Action": "sagemaker:AddTags", "Resource": f"{SM}:model/churn-tagged*"},
        {"Effect": "Allow", "Action": "iam:PassRole", "Resource": MODEL_ROLE,
         "Condition": {"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}}},
        {"Effect": "Allow", "Action": ["cloudwatch:PutMetricAlarm", "cloudwatch:DescribeAlarms"],
         "Resource": f"arn:aws:cloudwatch:{REGION}:{ACCOUNT}:alarm:churn-*"},
    ],
}


@pytest.fixture
def scoped(aws_env):
    """Clients with the credentials of a role holding POLICY, under enforcement."""
    iam_client = boto3.client("iam")
    iam_client.create_role(RoleName="deployer", AssumeRolePolicyDocument=json.dumps({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"AWS": ACCOUNT}, "Action": "sts:AssumeRole"}],
    }))
    iam_client.put_role_policy(RoleName="deployer", PolicyName="deploy", PolicyDocument=json.dumps(POLICY))
    answer = boto3.client("sts").assume_role(RoleArn=f"arn:aws:iam::{ACCOUNT}:role/deployer", RoleSessionName="job")
    credentials = answer["Credentials"]

    def client(service: str):
        return boto3.client(service, aws_access_key_id=credentials["AccessKeyId"],
                            aws_secret_access_key=credentials["SecretAccessKey"],
                            aws_session_token=credentials["SessionToken"])

    previous = iam.enforce(aws_env.url)
    try:
        yield client
    finally:
        iam.enforce(aws_env.url, previous)


def denied(call, action: str, resource: str) -> None:
    with pytest.raises(ClientError) as raised:
        call()
    error = raised.value.response["Error"]
    assert error["Code"] in {"AccessDeniedException", "AccessDenied"}
    assert error["Message"] == (
        f"User: arn:aws:sts::{ACCOUNT}:assumed-role/deployer/job is not authorized to perform: {action} on "
        f"resource: {resource} because no identity-based policy allows the {action} action"
    )


def not_found(call) -> None:
    """Allowed: the call reached SageMaker, which has no such endpoint."""
    with pytest.raises(ClientError) as raised:
        call()
    assert raised.value.response["Error"]["Code"] == "ValidationException"


def test_a_statement_scoped_to_a_prefix_allows_it_and_denies_the_rest(scoped):
    sagemaker = scoped("sagemaker")
    not_found(lambda: sagemaker.describe_endpoint(EndpointName="churn-staging"))
    denied(lambda: sagemaker.describe_endpoint(EndpointName="other-staging"),
           "sagemaker:DescribeEndpoint", f"{SM}:endpoint/other-staging")
    # SageMaker writes names in lower case in its ARNs: a policy names them so.
    not_found(lambda: sagemaker.describe_endpoint(EndpointName="Churn-Staging"))
    runtime = scoped("sagemaker-runtime")
    denied(lambda: runtime.invoke_endpoint(EndpointName="other-staging", Body=b"1", ContentType="text/csv"),
           "sagemaker:InvokeEndpoint", f"{SM}:endpoint/other-staging")


def test_creating_an_endpoint_needs_its_config_too(scoped):
    sagemaker = scoped("sagemaker")
    denied(lambda: sagemaker.create_endpoint(EndpointName="churn-staging", EndpointConfigName="other-config"),
           "sagemaker:CreateEndpoint", f"{SM}:endpoint-config/other-config")


def test_a_role_is_passed_only_where_the_policy_allows(scoped, aws_env):
    sagemaker = scoped("sagemaker")
    sagemaker.create_model(ModelName="churn-m1", ExecutionRoleArn=MODEL_ROLE, PrimaryContainer=CONTAINER)
    other_role = f"arn:aws:iam::{ACCOUNT}:role/admin"
    denied(lambda: sagemaker.create_model(ModelName="churn-m2", ExecutionRoleArn=other_role, PrimaryContainer=CONTAINER),
           "iam:PassRole", other_role)
    # Tags on create need sagemaker:AddTags on the new resource.
    tags = [{"Key": "smops:environment", "Value": "staging"}]
    sagemaker.create_model(ModelName="churn-tagged", ExecutionRoleArn=MODEL_ROLE, PrimaryContainer=CONTAINER, Tags=tags)
    denied(lambda: sagemaker.create_model(ModelName="churn-m3", ExecutionRoleArn=MODEL_ROLE,
                                          PrimaryContainer=CONTAINER, Tags=tags),
           "sagemaker:AddTags", f"{SM}:model/churn-m3")


def test_cloudwatch_is_authorized_as_cloudwatch_on_the_alarm(scoped):
    cloudwatch = scoped("cloudwatch")
    alarm = {"Namespace": "AWS/SageMaker", "MetricName": "Invocation5XXErrors", "Statistic": "Sum", "Period": 60,
             "EvaluationPeriods": 1, "Threshold": 1, "ComparisonOperator": "GreaterThanOrEqualToThreshold"}
    cloudwatch.put_metric_alarm(AlarmName="churn-staging-5xx", **alarm)  # moto asked for monitoring:PutMetricAlarm
    assert cloudwatch.describe_alarms(AlarmNames=["churn-staging-5xx"])["MetricAlarms"]
    denied(lambda: cloudwatch.put_metric_alarm(AlarmName="other-5xx", **alarm),
           "cloudwatch:PutMetricAlarm", f"arn:aws:cloudwatch:{REGION}:{ACCOUNT}:alarm:other-5xx")


def test_every_decision_is_recorded(scoped):
    start = len(iam.decisions)
    with pytest.raises(ClientError):
        scoped("sagemaker").describe_endpoint(EndpointName="other-staging")
    assert iam.decisions[start:] == [iam.Decision(
        principal=f"arn:aws:sts::{ACCOUNT}:assumed-role/deployer/job", operation="sagemaker:DescribeEndpoint",
        action="sagemaker:DescribeEndpoint", resource=f"{SM}:endpoint/other-staging", allowed=False,
    )]
