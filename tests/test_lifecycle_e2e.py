"""The deploy half end to end: every phase a separate `smops` process, as the workflows run them."""

from __future__ import annotations

import json

from conftest import ROLE_ARN, ROOT, read_outputs, run_smops

from smops.emulator import settings

DEFINITION = ROOT / "tests" / "data" / "pipeline-definition.json"


def step(tmp_path, name: str, *args: str, expect: int = 0) -> dict[str, str]:
    """Run one phase with its own GITHUB_OUTPUT, like a workflow step; return its outputs."""
    output = tmp_path / f"{name}.out"
    result = run_smops(*args, env={"GITHUB_OUTPUT": str(output), "GITHUB_ACTIONS": "true"})
    assert result.returncode == expect, f"{name}: {result.stderr}"
    return read_outputs(output)


def test_build_approve_staging_smoke_production(aws_env, tmp_path):
    settings.endpoint_seconds = 0.1
    settings.time_scale = 0.002
    settings.invoke_responses["churn-staging"] = "0.93\n"
    payload = tmp_path / "payload.csv"
    payload.write_text("34,1,0,12.5\n")

    built = step(tmp_path, "build", "build", "--pipeline", str(DEFINITION), "--pipeline-name", "churn",
                 "--role-arn", ROLE_ARN)
    package = built["model-package-arn"]
    assert built["execution-status"] == "Succeeded" and package

    refused = step(tmp_path, "early-deploy", "deploy", "--model-package-arn", package,
                   "--endpoint-name", "churn-staging", "--role-arn", ROLE_ARN, expect=2)
    assert refused == {}

    approved = step(tmp_path, "approve", "approve", "--model-package-arn", package)
    assert approved == {"model-package-arn": package, "approval-status": "Approved"}

    staging = step(tmp_path, "staging", "deploy", "--model-package-arn", package, "--endpoint-name",
                   "churn-staging", "--role-arn", ROLE_ARN, "--environment", "staging")
    assert staging["action"] == "created"

    smoke = step(tmp_path, "smoke", "smoke-test", "--endpoint-name", "churn-staging", "--payload",
                 str(payload), "--expect-contains", "0.93")
    assert smoke["status-code"] == "200"

    # Production already runs (the same package on other instances), so this is a real
    # blue/green canary update rather than a create.
    older = step(tmp_path, "old-production", "deploy", "--model-package-arn", package, "--endpoint-name",
                 "churn-production", "--role-arn", ROLE_ARN, "--instance-type", "ml.m5.xlarge")
    production = step(tmp_path, "production", "deploy", "--model-package-arn", package, "--endpoint-name",
                      "churn-production", "--role-arn", ROLE_ARN, "--environment", "production",
                      "--strategy", "canary", "--canary-size", "20", "--create-alarms",
                      "--require-on-endpoint", "churn-staging", "--json")
    assert production["action"] == "updated"
    assert production["endpoint-config-name"] != older["endpoint-config-name"]
    import boto3

    found = boto3.client("sagemaker").describe_endpoint(EndpointName="churn-production")
    assert found["EndpointConfigName"] == production["endpoint-config-name"]
    routing = found["LastDeploymentConfig"]["BlueGreenUpdatePolicy"]["TrafficRoutingConfiguration"]
    assert routing["Type"] == "CANARY" and routing["CanarySize"]["Value"] == 20
    assert json.dumps(found["LastDeploymentConfig"]["AutoRollbackConfiguration"]).count("churn-production-AllTraffic") == 2
