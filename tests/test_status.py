"""`smops status` on small states made for the case: what waits, what is missing, bad input."""

from __future__ import annotations

import json

import pytest

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


def test_an_endpoint_that_does_not_exist_is_said_so(sagemaker, capsys):
    assert main(["status", "--endpoint-name", "nope"]) == 0
    assert capsys.readouterr().out.splitlines()[0] == "nope: does not exist"


@pytest.mark.parametrize(
    "flags, message",
    [
        ([], "nothing to report on: pass --model-package-group, --endpoint-name, or both"),
        (["--model-package-group", "missing"], "model package group missing not found"),
        (["--model-package-group", GROUP, "--limit", "0"], "--limit 0 is less than 1"),
    ],
)
def test_bad_input(group, capsys, flags, message):
    assert main(["status", *flags]) == 2
    assert message in capsys.readouterr().err
