"""`smops status` on small states made for the case: what waits, what is missing, bad input."""

from __future__ import annotations

import json

import pytest

from smops import aws
from smops.cli import main

GROUP = "churn"
IMAGE = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1"


def register(sm, status: str, metadata: dict | None = None) -> str:
    request = {
        "ModelPackageGroupName": GROUP,
        "ModelApprovalStatus": status,
        "InferenceSpecification": {"Containers": [{"Image": IMAGE}], "SupportedContentTypes": ["text/csv"],
                                   "SupportedResponseMIMETypes": ["text/csv"]},
    }
    if metadata:
        request["CustomerMetadataProperties"] = metadata
    return sm.create_model_package(**request)["ModelPackageArn"]


@pytest.fixture
def group(sagemaker):
    sagemaker.create_model_package_group(ModelPackageGroupName=GROUP)
    return sagemaker


def test_what_waits_for_approval_and_who_registered_it(group, capsys, outputs):
    approved = register(group, "Approved", {"auc": "0.91"})
    group.update_model_package(ModelPackageArn=approved, ModelApprovalStatus="Approved", ApprovalDescription="ok by ana")
    pending = [register(group, "PendingManualApproval"), register(group, "PendingManualApproval")]
    assert main(["status", "--model-package-group", GROUP]) == 0
    text = capsys.readouterr().out.splitlines()
    assert text[-1] == f"waiting for approval: {GROUP} v3, {GROUP} v2"
    assert f"{GROUP} v1: Approved" in text
    assert "  metrics: CustomerMetadata.auc 0.91" in text
    assert any(line.startswith("  registered ") and line.endswith(" by arn:aws:sts::123456789012:user/moto") for line in text)
    assert any(line.startswith("  set Approved ") and line.endswith(": ok by ana") for line in text)
    assert json.loads(outputs()["pending-approval"]) == pending[::-1]
    assert json.loads(outputs()["endpoints"]) == []


def test_limit_keeps_the_newest_packages_and_every_pending_one(group, capsys):
    for _ in range(3):
        register(group, "Rejected")
    register(group, "PendingManualApproval")
    register(group, "Approved")
    assert main(["status", "--model-package-group", GROUP, "--limit", "1", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert [p["version"] for p in report["model-packages"]] == [5, 4]


def serve(sm, name: str, package: str) -> None:
    """An endpoint serving the package, made as smops deploy makes one: Model, config, endpoint."""
    sm.create_model(ModelName=name, PrimaryContainer={"ModelPackageName": package},
                    ExecutionRoleArn="arn:aws:iam::123456789012:role/smops")
    sm.create_endpoint_config(EndpointConfigName=name, ProductionVariants=[
        {"VariantName": "AllTraffic", "ModelName": name, "InstanceType": "ml.m5.large", "InitialInstanceCount": 1}])
    sm.create_endpoint(EndpointName=name, EndpointConfigName=name)


def test_a_group_alone_reads_each_endpoint_once(group, capsys):
    """Finding the endpoints that serve the group reads what the report shows: no second look."""
    serve(group, "churn-staging", register(group, "Approved"))
    serve(group, "churn-production", register(group, "Approved"))
    group.create_model_package_group(ModelPackageGroupName="other")
    serve(group, "other-production", group.create_model_package(
        ModelPackageGroupName="other", ModelApprovalStatus="Approved",
        InferenceSpecification={"Containers": [{"Image": IMAGE}], "SupportedContentTypes": ["text/csv"],
                                "SupportedResponseMIMETypes": ["text/csv"]})["ModelPackageArn"])
    made: list[str] = []
    client = aws.client("sagemaker", None, None)  # the one status.run gets
    client.meta.events.register("before-call.sagemaker", lambda model, **_: made.append(model.name))
    assert main(["status", "--model-package-group", GROUP, "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert [e["endpoint-name"] for e in report["endpoints"]] == ["churn-production", "churn-staging"]
    assert all(e["model-package-arn"] and "deployed-at" in e for e in report["endpoints"])
    # Three endpoints listed, each described once with its config and model; tags read for the two kept.
    assert (made.count("DescribeEndpoint"), made.count("DescribeEndpointConfig"), made.count("DescribeModel")) == (3, 3, 3)


def test_an_endpoint_alone_says_nothing_of_approvals_unless_something_waits(group, capsys):
    serve(group, "churn-production", register(group, "Approved"))
    assert main(["status", "--endpoint-name", "churn-production"]) == 0
    text = capsys.readouterr().out
    assert text.startswith(f"churn-production: ") and f"serves {GROUP} v1 (Approved)" in text
    assert "waiting for approval" not in text
    register(group, "PendingManualApproval")
    assert main(["status", "--endpoint-name", "churn-production"]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == f"waiting for approval: {GROUP} v2"


@pytest.mark.parametrize(
    "flags, message",
    [
        ([], "nothing to report on: pass --model-package-group, --endpoint-name, or both"),
        (["--model-package-group", "missing"], "model package group missing not found: check the name and the region"),
        (["--endpoint-name", "missing"], "endpoint missing not found: check the name and the region"),
        (["--model-package-group", GROUP, "--limit", "0"], "--limit 0 is less than 1"),
    ],
)
def test_bad_input(group, capsys, flags, message):
    assert main(["status", *flags]) == 2
    assert message in capsys.readouterr().err
