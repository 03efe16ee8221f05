"""The emulator's SimulatePrincipalPolicy: moto's policy engine behind IAM's request and answer."""

from __future__ import annotations

import json

import boto3
import pytest
from botocore.exceptions import ClientError

PIPELINE = "arn:aws:sagemaker:us-east-1:123456789012:pipeline/churn"
PASSED = "arn:aws:iam::123456789012:role/churn-pipeline"
TO_SAGEMAKER = [{"ContextKeyName": "iam:PassedToService", "ContextKeyValues": ["sagemaker.amazonaws.com"], "ContextKeyType": "string"}]


def policy(*statements) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


@pytest.fixture
def iam(aws_env):
    return boto3.client("iam")


@pytest.fixture
def role(iam) -> str:
    trust = policy({"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"})
    arn = iam.create_role(RoleName="build", AssumeRolePolicyDocument=trust)["Role"]["Arn"]
    iam.put_role_policy(RoleName="build", PolicyName="build", PolicyDocument=policy(
        {"Sid": "Pipeline", "Effect": "Allow", "Action": ["sagemaker:StartPipelineExecution", "sagemaker:DescribePipeline"], "Resource": PIPELINE},
        {"Sid": "Pass", "Effect": "Allow", "Action": "iam:PassRole", "Resource": PASSED,
         "Condition": {"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}}},
    ))
    return arn


def decisions(iam, role, actions, resources=None, context=None) -> dict[str, str]:
    kwargs = {"PolicySourceArn": role, "ActionNames": actions}
    if resources:
        kwargs["ResourceArns"] = resources
    if context:
        kwargs["ContextEntries"] = context
    return {r["EvalActionName"]: r["EvalDecision"] for r in iam.simulate_principal_policy(**kwargs)["EvaluationResults"]}


def test_allowed_on_the_resource_the_statement_names_and_denied_elsewhere(iam, role):
    assert decisions(iam, role, ["sagemaker:StartPipelineExecution", "sagemaker:DeletePipeline"], [PIPELINE]) == {
        "sagemaker:StartPipelineExecution": "allowed",
        "sagemaker:DeletePipeline": "implicitDeny",
    }
    assert decisions(iam, role, ["sagemaker:StartPipelineExecution"], [PIPELINE.replace("churn", "other")]) == {
        "sagemaker:StartPipelineExecution": "implicitDeny"
    }


def test_the_answer_has_iams_shape_with_the_statement_that_decided(iam, role):
    answer = iam.simulate_principal_policy(PolicySourceArn=role, ActionNames=["sagemaker:DescribePipeline"],
                                           ResourceArns=[PIPELINE, PIPELINE + "-2"])
    [result] = answer["EvaluationResults"]  # one per action; per resource below, most restrictive on top
    assert result["EvalDecision"] == "implicitDeny" and answer["IsTruncated"] is False
    assert [(r["EvalResourceName"], r["EvalResourceDecision"]) for r in result["ResourceSpecificResults"]] == [
        (PIPELINE, "allowed"), (PIPELINE + "-2", "implicitDeny")
    ]
    assert result["ResourceSpecificResults"][0]["MatchedStatements"] == [{"SourcePolicyId": "build", "SourcePolicyType": "role"}]


def test_a_condition_is_met_only_with_its_context_and_a_missing_key_is_reported(iam, role):
    assert decisions(iam, role, ["iam:PassRole"], [PASSED], TO_SAGEMAKER) == {"iam:PassRole": "allowed"}
    other = [{**TO_SAGEMAKER[0], "ContextKeyValues": ["ec2.amazonaws.com"]}]
    assert decisions(iam, role, ["iam:PassRole"], [PASSED], other) == {"iam:PassRole": "implicitDeny"}
    [result] = iam.simulate_principal_policy(PolicySourceArn=role, ActionNames=["iam:PassRole"], ResourceArns=[PASSED])["EvaluationResults"]
    assert (result["EvalDecision"], result["MissingContextValues"]) == ("implicitDeny", ["iam:PassedToService"])


def test_an_explicit_deny_wins_and_managed_policies_count(iam, role):
    deny = iam.create_policy(PolicyName="no-start", PolicyDocument=policy(
        {"Effect": "Deny", "Action": "sagemaker:StartPipelineExecution", "Resource": "*"}))["Policy"]["Arn"]
    iam.attach_role_policy(RoleName="build", PolicyArn=deny)
    [result] = iam.simulate_principal_policy(PolicySourceArn=role, ActionNames=["sagemaker:StartPipelineExecution"],
                                             ResourceArns=[PIPELINE])["EvaluationResults"]
    assert result["EvalDecision"] == "explicitDeny"
    assert result["MatchedStatements"] == [{"SourcePolicyId": "no-start", "SourcePolicyType": "user-managed"}]


def test_a_permissions_boundary_limits_what_the_policies_allow(iam, role):
    boundary = iam.create_policy(PolicyName="boundary", PolicyDocument=policy(
        {"Effect": "Allow", "Action": "sagemaker:Describe*", "Resource": "*"}))["Policy"]["Arn"]
    iam.put_role_permissions_boundary(RoleName="build", PermissionsBoundary=boundary)
    assert decisions(iam, role, ["sagemaker:StartPipelineExecution", "sagemaker:DescribePipeline"], [PIPELINE]) == {
        "sagemaker:StartPipelineExecution": "implicitDeny",
        "sagemaker:DescribePipeline": "allowed",
    }


def test_policy_input_list_is_simulated_with_the_principals_policies(iam, role):
    extra = policy({"Effect": "Allow", "Action": "sagemaker:DeletePipeline", "Resource": PIPELINE})
    [result] = iam.simulate_principal_policy(PolicySourceArn=role, ActionNames=["sagemaker:DeletePipeline"],
                                             ResourceArns=[PIPELINE], PolicyInputList=[extra])["EvaluationResults"]
    assert result["EvalDecision"] == "allowed"
    assert result["MatchedStatements"] == [{"SourcePolicyId": "PolicyInputList.1", "SourcePolicyType": "none"}]


def test_a_users_group_policies_count(iam):
    iam.create_user(UserName="ana")
    iam.create_group(GroupName="ml")
    iam.add_user_to_group(GroupName="ml", UserName="ana")
    iam.put_group_policy(GroupName="ml", PolicyName="ml", PolicyDocument=policy({"Effect": "Allow", "Action": "sagemaker:*", "Resource": "*"}))
    user = iam.get_user(UserName="ana")["User"]["Arn"]
    assert decisions(iam, user, ["sagemaker:CreateEndpoint"]) == {"sagemaker:CreateEndpoint": "allowed"}


def test_an_unknown_role_is_no_such_entity(iam):
    with pytest.raises(ClientError, match="NoSuchEntity"):
        iam.simulate_principal_policy(PolicySourceArn="arn:aws:iam::123456789012:role/nobody", ActionNames=["s3:GetObject"])


def test_the_paginator_walks_the_results(iam, role):
    pages = iam.get_paginator("simulate_principal_policy").paginate(
        PolicySourceArn=role, ActionNames=["sagemaker:StartPipelineExecution", "sagemaker:DescribePipeline", "sagemaker:DeletePipeline"],
        ResourceArns=[PIPELINE], PaginationConfig={"PageSize": 2})
    assert [r["EvalDecision"] for page in pages for r in page["EvaluationResults"]] == ["allowed", "allowed", "implicitDeny"]
