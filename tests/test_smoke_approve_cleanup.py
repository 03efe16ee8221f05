"""`smops smoke-test`, `approve` and `cleanup` against the emulator."""

from __future__ import annotations

import pytest
from conftest import ROLE_ARN
from test_deploy import GROUP, register

from smops.cli import main
from smops.emulator import settings


@pytest.fixture
def endpoint(sagemaker):
    settings.endpoint_seconds = 0.05
    settings.time_scale = 0
    assert main(["deploy", "--endpoint-name", "fraud", "--role-arn", ROLE_ARN,
                 "--model-package-arn", register(sagemaker)]) == 0
    return "fraud"


@pytest.fixture
def payload(tmp_path):
    path = tmp_path / "payload.csv"
    path.write_text("0.5,1.2,3.4\n")
    return path


def smoke(endpoint: str, payload, *extra: str) -> int:
    return main(["smoke-test", "--endpoint-name", endpoint, "--payload", str(payload), *extra])


# -- smoke-test ------------------------------------------------------------------------------------


def test_smoke_test_passes(endpoint, payload, outputs, summary):
    settings.invoke_responses[endpoint] = "0.87\n"
    assert smoke(endpoint, payload, "--count", "3", "--expect-contains", "0.87") == 0
    out = outputs()
    assert out["status-code"] == "200" and float(out["latency-ms"]) >= 0
    assert "✅ passed" in summary() and "(text/csv)" in summary()


def test_a_binary_payload_is_sent_as_is(endpoint, tmp_path, outputs):
    image = tmp_path / "cat.jpg"
    image.write_bytes(b"\xff\xd8\xff\xe0 not utf-8")
    assert smoke(endpoint, image, "--content-type", "image/jpeg") == 0
    assert outputs()["status-code"] == "200"


def test_model_error_fails_with_its_status(endpoint, payload, outputs, capsys):
    settings.invoke_failures[endpoint] = (500, "feature count mismatch")
    assert smoke(endpoint, payload) == 1
    err = capsys.readouterr().err
    assert "invocation 1 answered 500" in err and "feature count mismatch" in err
    assert "/aws/sagemaker/Endpoints/fraud" in err
    assert outputs()["status-code"] == "500"


def test_missing_text_fails(endpoint, payload, capsys):
    settings.invoke_responses[endpoint] = '{"label": "legit"}'
    assert smoke(endpoint, payload, "--expect-contains", "fraud_score") == 1
    assert "does not contain 'fraud_score'" in capsys.readouterr().err


def test_slow_median_fails(endpoint, payload, outputs, capsys):
    settings.invoke_latency_ms[endpoint] = 60
    assert smoke(endpoint, payload, "--count", "3", "--max-latency-ms", "20") == 1
    assert "exceeds --max-latency-ms 20" in capsys.readouterr().err
    assert float(outputs()["latency-ms"]) >= 60


def test_unknown_endpoint_is_bad_input(sagemaker, payload, capsys):
    assert smoke("nowhere", payload) == 2
    assert "endpoint nowhere does not exist in us-east-1: deploy it first" in capsys.readouterr().err


def test_missing_payload_is_bad_input(sagemaker, tmp_path, capsys):
    assert smoke("fraud", tmp_path / "nope.json") == 2
    assert "payload file" in capsys.readouterr().err


# -- approve ----------------------------------------------------------------------------------------


def approve(*args: str) -> int:
    return main(["approve", *args])


def test_approve_and_reject(sagemaker, outputs):
    arn = register(sagemaker, status="PendingManualApproval")
    assert approve("--model-package-arn", arn, "--description", "looks good") == 0
    package = sagemaker.describe_model_package(ModelPackageName=arn)
    assert package["ModelApprovalStatus"] == "Approved" and package["ApprovalDescription"] == "looks good"
    assert outputs() == {"model-package-arn": arn, "approval-status": "Approved"}

    assert approve("--model-package-arn", arn, "--status", "Rejected") == 0
    assert sagemaker.describe_model_package(ModelPackageName=arn)["ModelApprovalStatus"] == "Rejected"


def test_already_in_that_status_changes_nothing(sagemaker, capsys):
    arn = register(sagemaker, status="Approved")
    before = sagemaker.describe_model_package(ModelPackageName=arn)
    assert approve("--model-package-arn", arn) == 0
    assert "is already Approved: nothing to change" in capsys.readouterr().err
    after = sagemaker.describe_model_package(ModelPackageName=arn)
    assert after.get("LastModifiedTime") == before.get("LastModifiedTime")


def test_group_approves_the_newest_pending(sagemaker, outputs):
    older = register(sagemaker, status="PendingManualApproval")
    newer = register(sagemaker, status="PendingManualApproval")
    assert approve("--model-package-group", GROUP) == 0
    assert outputs()["model-package-arn"] == newer
    assert sagemaker.describe_model_package(ModelPackageName=older)["ModelApprovalStatus"] == "PendingManualApproval"


def test_approve_needs_a_package(sagemaker, capsys):
    assert approve() == 2
    assert "no model package given" in capsys.readouterr().err


# -- cleanup ----------------------------------------------------------------------------------------


def test_cleanup_keeps_current_and_newest_and_never_touches_others(endpoint, sagemaker, outputs):
    for _ in range(3):
        assert main(["deploy", "--endpoint-name", endpoint, "--role-arn", ROLE_ARN,
                     "--model-package-arn", register(sagemaker)]) == 0
    current = outputs()["endpoint-config-name"]
    configs = [c["EndpointConfigName"] for c in sagemaker.list_endpoint_configs(
        SortBy="CreationTime", SortOrder="Descending")["EndpointConfigs"]]
    assert configs[0] == current and len(configs) == 4
    model = sagemaker.describe_endpoint_config(EndpointConfigName=current)["ProductionVariants"][0]["ModelName"]
    sagemaker.create_endpoint_config(  # made by hand: untagged, so never smops'
        EndpointConfigName=f"{endpoint}-by-hand",
        ProductionVariants=[{"VariantName": "AllTraffic", "ModelName": model,
                             "InitialInstanceCount": 1, "InstanceType": "ml.m5.large"}],
    )

    # A model a killed deploy left without its config, and one made by hand.
    sagemaker.create_model(ModelName=f"{endpoint}-v9-orphan", ExecutionRoleArn=ROLE_ARN,
                           PrimaryContainer={"Image": "i"}, Tags=[{"Key": "smops:endpoint", "Value": endpoint}])
    sagemaker.create_model(ModelName=f"{endpoint}-by-hand", ExecutionRoleArn=ROLE_ARN, PrimaryContainer={"Image": "i"})

    assert main(["cleanup", "--endpoint-name", endpoint, "--keep", "1", "--min-age", "0", "--dry-run"]) == 0
    assert len(sagemaker.list_endpoint_configs()["EndpointConfigs"]) == 5
    assert len(sagemaker.list_models()["Models"]) == 6

    assert main(["cleanup", "--endpoint-name", endpoint, "--keep", "1", "--min-age", "0"]) == 0
    remaining = {c["EndpointConfigName"] for c in sagemaker.list_endpoint_configs()["EndpointConfigs"]}
    assert remaining == {current, configs[1], f"{endpoint}-by-hand"}
    assert {m["ModelName"] for m in sagemaker.list_models()["Models"]} == {current, configs[1], f"{endpoint}-by-hand"}
    assert outputs()["deleted-endpoint-configs"].splitlines() == configs[2:]
    assert sorted(outputs()["deleted-models"].splitlines()) == sorted(configs[2:] + [f"{endpoint}-v9-orphan"])


def test_approving_a_group_again_is_a_no_op(sagemaker, outputs, capsys):
    arn = register(sagemaker, status="PendingManualApproval")
    assert approve("--model-package-group", GROUP) == 0
    assert approve("--model-package-group", GROUP) == 0
    assert outputs() == {"model-package-arn": arn, "approval-status": "Approved"}
    assert "is already Approved: nothing to change" in capsys.readouterr().err
    assert approve("--model-package-group", GROUP, "--status", "Rejected") == 2
