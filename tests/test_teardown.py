"""`smops teardown` on the emulator: what init, setup-aws and two deploys made, shown, asked for and
deleted; the registry and what smops did not make are kept."""

from __future__ import annotations

import json
import sys

import boto3
import pytest
from conftest import read_outputs
from test_deploy import IMAGE
from test_setup_aws import MODEL_ROLE, account, bridge_zip, repo, setup_aws, stack_names  # noqa: F401 - fixtures

from smops import aws
from smops.cli import main
from smops.emulator import faults, settings

CAPTURE = "s3://churn-capture/capture"
STAGING, PRODUCTION = "churn-staging", "churn-production"


@pytest.fixture
def deployed(repo, bridge_zip):
    """setup-aws's stacks; staging, and production with alarms, autoscaling and captured traffic;
    an endpoint config made by hand, which is not smops' to delete."""
    settings.endpoint_seconds = 0.05
    assert setup_aws(repo, bridge_zip) == 0
    sm = boto3.client("sagemaker")
    package = sm.create_model_package(
        ModelPackageGroupName="churn", ModelApprovalStatus="Approved",
        InferenceSpecification={"Containers": [{"Image": IMAGE, "ModelDataUrl": "s3://bucket/model.tar.gz"}],
                                "SupportedContentTypes": ["text/csv"], "SupportedResponseMIMETypes": ["text/csv"]},
    )["ModelPackageArn"]
    boto3.client("s3").create_bucket(Bucket="churn-capture")
    deploy = ["deploy", "--model-package-arn", package, "--role-arn", MODEL_ROLE]
    assert main([*deploy, "--endpoint-name", STAGING]) == 0
    assert main([*deploy, "--endpoint-name", PRODUCTION, "--create-alarms", "--data-capture-uri", CAPTURE,
                 "--autoscaling-min", "1", "--autoscaling-max", "2", "--autoscaling-target", "100"]) == 0
    boto3.client("sagemaker-runtime").invoke_endpoint(EndpointName=PRODUCTION, Body=b"1,2,3", ContentType="text/csv")
    sm.create_endpoint_config(EndpointConfigName=f"{PRODUCTION}-by-hand", ProductionVariants=[
        {"VariantName": "AllTraffic", "ModelName": sm.list_models()["Models"][0]["ModelName"],
         "InstanceType": "ml.m5.large", "InitialInstanceCount": 1}])
    return repo


def everything() -> dict[str, object]:
    """What the account holds that teardown is about."""
    sm = boto3.client("sagemaker")
    return {
        "endpoints": sorted(e["EndpointName"] for e in sm.list_endpoints()["Endpoints"]),
        "configs": sorted(c["EndpointConfigName"] for c in sm.list_endpoint_configs()["EndpointConfigs"]),
        "models": len(sm.list_models()["Models"]),
        "alarms": sorted(a["AlarmName"] for a in boto3.client("cloudwatch").describe_alarms()["MetricAlarms"]),
        "scaling": len(boto3.client("application-autoscaling").describe_scalable_targets(
            ServiceNamespace="sagemaker")["ScalableTargets"]),
        "capture": boto3.client("s3").list_objects_v2(Bucket="churn-capture").get("KeyCount", 0),
        "stacks": sorted(stack_names()),
        "secrets": len(boto3.client("secretsmanager").list_secrets()["SecretList"]),
        "packages": len(sm.list_model_packages(ModelPackageGroupName="churn")["ModelPackageSummaryList"]),
        "groups": [g["ModelPackageGroupName"] for g in sm.list_model_package_groups()["ModelPackageGroupSummaryList"]],
    }


def teardown(repo, *extra: str) -> int:
    return main(["teardown", "--dir", str(repo), *extra])


def test_dry_run_lists_everything_in_order_and_deletes_nothing(deployed, outputs, capsys):
    before = everything()
    assert before["endpoints"] == [PRODUCTION, STAGING] and before["capture"] and before["scaling"] == 1
    assert teardown(deployed, "--dry-run") == 0
    assert everything() == before
    plan = json.loads(outputs()["plan"])
    kinds = [step["kind"] for step in plan]
    at = {(step["kind"], step["name"]): i for i, step in enumerate(plan)}
    assert at[("autoscaling", f"{PRODUCTION}/AllTraffic")] < at[("endpoint", PRODUCTION)]  # deregistered first
    last = {kind: max(i for i, k in enumerate(kinds) if k == kind) for kind in kinds}
    first = {kind: kinds.index(kind) for kind in kinds}
    assert last["endpoint"] < first["endpoint config"] <= last["endpoint config"] < first["model"]
    assert at[("stack", "smops-approval-bridge")] < first["secret"]  # the stack retains it
    names = {step["kind"]: [s["name"] for s in plan if s["kind"] == step["kind"]] for step in plan}
    assert names["endpoint"] == [STAGING, PRODUCTION] and names["autoscaling"] == [f"{PRODUCTION}/AllTraffic"]
    assert names["alarm"] == [f"{PRODUCTION}-AllTraffic-5xx-errors", f"{PRODUCTION}-AllTraffic-p99-model-latency"]
    assert names["capture data"] == [f"{CAPTURE}/{PRODUCTION}/"]
    assert names["stack"] == ["smops-approval-bridge", "smops-github-oidc"]
    assert f"{PRODUCTION}-by-hand" not in names["endpoint config"]
    assert "model package" not in kinds and json.loads(outputs()["deleted"]) == []
    err = capsys.readouterr().err
    assert "(dry run: nothing is deleted)" in err
    assert "kept: model package group churn and its packages (pass --delete-registry to delete them too)" in err


def test_without_a_terminal_it_needs_yes(deployed, capsys):
    before = everything()
    assert teardown(deployed) == 2
    assert "there is no terminal to ask: pass --yes to delete it, or --dry-run" in capsys.readouterr().err
    assert everything() == before


def test_on_a_terminal_it_asks_and_a_no_deletes_nothing(deployed, monkeypatch, capsys):
    before = everything()
    monkeypatch.setattr(sys.stdin, "isatty", lambda: True, raising=False)
    monkeypatch.setattr("builtins.input", lambda prompt: "n")
    assert teardown(deployed) == 2
    assert "teardown not confirmed: nothing was deleted" in capsys.readouterr().err
    assert everything() == before


def test_yes_deletes_what_was_listed_and_keeps_the_registry(deployed, outputs, tmp_path, capsys):
    assert teardown(deployed, "--yes") == 0
    after = everything()
    assert after == {
        "endpoints": [], "configs": [f"{PRODUCTION}-by-hand"], "models": 0, "alarms": [], "scaling": 0,
        "capture": 0, "stacks": [], "secrets": 0, "packages": 1, "groups": ["churn"],
    }
    assert json.loads(outputs()["deleted"]) == json.loads(outputs()["plan"])
    secrets = boto3.client("secretsmanager").list_secrets(IncludePlannedDeletion=True)["SecretList"]
    assert [bool(s.get("DeletedDate")) for s in secrets] == [True]  # recoverable for 7 days
    assert f"deleted endpoint {PRODUCTION}" in capsys.readouterr().err

    (tmp_path / "github_output").unlink()
    assert teardown(deployed, "--yes") == 0  # again: nothing left, nothing to ask
    assert read_outputs(tmp_path / "github_output")["plan"] == "[]"


def test_delete_registry_deletes_the_packages_and_the_group(deployed):
    assert teardown(deployed, "--yes", "--delete-registry") == 0
    assert everything()["groups"] == []


def test_endpoints_given_without_starters(deployed, tmp_path, outputs):
    assert main(["teardown", "--dir", str(tmp_path / "elsewhere"), "--endpoint-name", STAGING, "--dry-run",
                 "--oidc-stack", "none", "--bridge-stack", "none"]) == 0
    assert {(s["kind"], s["name"]) for s in json.loads(outputs()["plan"])} >= {("endpoint", STAGING)}
    assert all(STAGING in s["name"] for s in json.loads(outputs()["plan"]))


def test_nothing_to_tear_down_is_bad_input(aws_env, tmp_path, capsys):
    assert main(["teardown", "--dir", str(tmp_path), "--dry-run"]) == 2
    assert "no endpoints to tear down" in capsys.readouterr().err


def test_a_refused_deletion_stops_it_naming_what_is_left_and_a_rerun_finishes(deployed, outputs, monkeypatch, capsys):
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")  # no retry hides the refusal
    aws.client.cache_clear()
    faults.inject("DeleteEndpointConfig", "500", times=1)
    assert teardown(deployed, "--yes") == 1
    err = capsys.readouterr().err
    line = next(line for line in err.splitlines() if line.startswith("error:"))
    assert "teardown stopped deleting endpoint config churn-staging-v1-" in line and "InternalFailure" in line
    assert "still there: endpoint config churn-staging-v1-" in line and "stack smops-github-oidc" in line
    assert "run smops teardown again" in line
    assert [step["kind"] for step in json.loads(outputs()["deleted"])][:2] == ["endpoint", "autoscaling"]
    assert everything()["endpoints"] == []
    assert teardown(deployed, "--yes") == 0
    assert everything()["configs"] == [f"{PRODUCTION}-by-hand"] and everything()["stacks"] == []
