"""The CloudFormation templates agree with the code: the rule's pattern, the handler, the env."""

from __future__ import annotations

import importlib
import json
import re
from pathlib import Path

import boto3
import pytest
from botocore.exceptions import ClientError
from cfnlint.decode import decode

from smops.bridge import relay

INFRA = Path(__file__).resolve().parents[1] / "infra"
SAMPLE = Path(__file__).parent / "data" / "model-package-state-change.json"
GROUPS = ["churn-model", "fraud-model"]


def template(name: str) -> dict:
    loaded, problems = decode(str(INFRA / name))
    assert not problems
    return loaded


def resolve_groups(node):
    """The pattern as deployed with ModelPackageGroups=churn-model,fraud-model."""
    if node == {"Ref": "ModelPackageGroups"}:
        return GROUPS
    if isinstance(node, dict):
        return {key: resolve_groups(value) for key, value in node.items()}
    return node


def deployed_pattern() -> str:
    """The rule's event pattern, as JSON, as deployed with ModelPackageGroups=GROUPS."""
    rule = template("approval-bridge.yaml")["Resources"]["ApprovalRule"]["Properties"]
    return json.dumps(resolve_groups(rule["EventPattern"]))


@pytest.fixture
def pattern(aws_env) -> str:
    return deployed_pattern()


def matches(pattern: str, **changes) -> bool:
    event = json.loads(SAMPLE.read_text())
    event["detail"].update(changes.pop("detail", {}))
    event.update(changes)
    return boto3.client("events").test_event_pattern(EventPattern=pattern, Event=json.dumps(event))["Result"]


def test_the_rule_matches_every_state_change_of_a_bridged_group(pattern):
    assert matches(pattern)
    assert matches(pattern, detail={"ModelPackageGroupName": "fraud-model"})
    # Not only approvals: the bridge learns from a rejection that the next approval is a new one
    # (test_bridge: a rejection dispatches nothing and clears the package's tag).
    assert matches(pattern, detail={"ModelApprovalStatus": "Rejected"})
    assert matches(pattern, detail={"ModelApprovalStatus": "PendingManualApproval"})


@pytest.mark.parametrize(
    "changes",
    [
        {"detail": {"ModelPackageGroupName": "some-other-model"}},
        {"source": "aws.s3"},
        {"detail-type": "SageMaker Model Building Pipeline Execution Status Change"},
    ],
)
def test_the_rule_matches_nothing_else(pattern, changes):
    assert not matches(pattern, **changes)


def test_the_emulator_checks_the_event_envelope(pattern):
    with pytest.raises(ClientError, match="Parameter Event is not valid"):
        boto3.client("events").test_event_pattern(EventPattern=pattern, Event=json.dumps({"source": "x"}))


def test_the_function_may_read_tag_and_untag_only_the_groups_packages():
    _, groups, body = template("approval-bridge.yaml")["Resources"]["Fn::ForEach::GroupAccess"]
    assert groups == {"Ref": "ModelPackageGroups"}
    [policy] = body.values()
    statements = {s["Sid"]: s for s in policy["Properties"]["PolicyDocument"]["Statement"]}
    packages = statements["ReadAndMarkModelPackages"]
    assert set(packages["Action"]) == {
        "sagemaker:DescribeModelPackage", "sagemaker:ListTags", "sagemaker:AddTags", "sagemaker:DeleteTags",
    }
    assert packages["Resource"]["Fn::Sub"].endswith(":model-package/${Group}/*")


@pytest.mark.parametrize(
    "name, parameter",
    [
        ("approval-bridge.yaml", "ModelPackageGroups"),
        ("github-oidc.yaml", "PipelineName"),
        ("github-oidc.yaml", "ModelPackageGroup"),
        ("github-oidc.yaml", "EndpointNamePrefix"),
    ],
)
def test_sagemaker_names_must_be_lower_case(name, parameter):
    """IAM compares ARNs case-sensitively and SageMaker writes names in lower case in them."""
    allowed = template(name)["Parameters"][parameter]["AllowedPattern"]
    assert re.fullmatch(allowed, "churn-model2")
    for refused in ("Churn-Model", "churnModel", "-churn", ""):
        assert not re.fullmatch(allowed, refused)


def test_the_function_runs_the_bridge_with_the_environment_it_reads():
    function = template("approval-bridge.yaml")["Resources"]["Function"]["Properties"]
    module, _, name = function["Handler"].rpartition(".")
    assert callable(getattr(importlib.import_module(module), name))
    assert sorted(function["Environment"]["Variables"]) == sorted(relay.ENVIRONMENT)


def test_each_deploy_role_trusts_only_its_environment():
    resources = template("github-oidc.yaml")["Resources"]
    _, environments, body = resources["Fn::ForEach::DeployRoles"]
    assert environments == {"Ref": "Environments"}
    [role] = body.values()
    [statement] = role["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    subject = statement["Condition"]["StringEquals"]["token.actions.githubusercontent.com:sub"]
    assert subject == {"Fn::Sub": "repo:${Repository}:environment:${Environment}"}
    build = resources["BuildRole"]["Properties"]["AssumeRolePolicyDocument"]["Statement"][0]
    assert build["Condition"]["StringEquals"]["token.actions.githubusercontent.com:sub"] == {
        "Fn::Sub": "repo:${Repository}:ref:refs/heads/${MainBranch}"
    }
