"""Faults injected into the emulator and the GitHub stand-in: what survives, what is reported.

Waits ride out throttling, 5xx answers and dropped connections (botocore's retries, then the wait
itself between polls), end with exit 1 naming the last error when AWS keeps failing, and never
leave a half-done change unreported. AWS_MAX_ATTEMPTS=2 keeps botocore's own retries short here.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
import urllib.error

import boto3
import botocore.config
import botocore.exceptions
import pytest
from conftest import ROLE_ARN, run_smops
from test_bridge import (  # noqa: F401 - github and github_server are fixtures
    DISPATCHES,
    GROUP,
    REPOSITORY,
    TOKEN,
    app_secret,
    github,
    github_server,
    sample_event,
    write_event,
)
from test_build import build
from test_deploy import deploy, first_error_line, register

from smops import waiting
from smops.bridge import handler
from smops.emulator import faults, settings


@pytest.fixture(autouse=True)
def fast(aws_env, monkeypatch):
    settings.endpoint_seconds = 0.05
    settings.time_scale = 0.001
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "2")  # one retry per call: a burst of 3 outlasts it
    yield
    faults.clear()


def endpoint_faults_then_deploy(kind: str, times: int, *extra: str) -> int:
    """Fault the wait's DescribeEndpoint (the first call, before any change, goes through)."""
    faults.inject("DescribeEndpoint", kind, times=times, after=1)
    return deploy(*extra)


# -- the switch -----------------------------------------------------------------------------------


def test_each_fault_answers_as_aws_would_then_the_call_goes_through(aws_env):
    one_try = botocore.config.Config(retries={"mode": "standard", "total_max_attempts": 1})
    sm = boto3.client("sagemaker", config=one_try)
    seen = {}
    for kind in faults.KINDS:
        faults.inject("ListModels", kind)
        with pytest.raises((botocore.exceptions.ClientError, botocore.exceptions.ConnectionClosedError)) as caught:
            sm.list_models()
        error = caught.value
        seen[kind] = error.response["Error"]["Code"] if isinstance(error, botocore.exceptions.ClientError) else "closed"
        assert sm.list_models()["Models"] == []
    assert seen == {
        "throttle": "ThrottlingException",
        "500": "InternalFailure",
        "503": "ServiceUnavailable",
        "drop": "closed",
        "drop-answer": "closed",
    }


def test_drop_answer_handles_the_request_before_hanging_up(sagemaker):
    faults.inject("CreateModelPackageGroup", "drop-answer")
    one_try = botocore.config.Config(retries={"mode": "standard", "total_max_attempts": 1})
    with pytest.raises(botocore.exceptions.ConnectionClosedError):
        boto3.client("sagemaker", config=one_try).create_model_package_group(ModelPackageGroupName="g")
    assert sagemaker.describe_model_package_group(ModelPackageGroupName="g")["ModelPackageGroupStatus"]


def test_the_control_path_reaches_an_emulator_in_another_process(tmp_path):
    """`smops emulator` in its own process, faults injected over HTTP, seen by a client."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_ENDPOINT_URL")}
    command = [sys.executable, "-m", "smops", "emulator"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env)
    try:
        exports = (line.strip().removeprefix("export ") for line in process.stdout)
        url = next(line.split("=", 1)[1] for line in exports if line.startswith("AWS_ENDPOINT_URL="))
        faults.inject("ListEndpoints", "throttle", times=2, url=url)
        assert faults.pending(url) == [{"operation": "ListEndpoints", "kind": "throttle", "times": 2, "after": 0}]
        assert faults.pending() == []  # not in this process's emulator
        config = botocore.config.Config(retries={"mode": "standard", "total_max_attempts": 1})
        sm = boto3.client("sagemaker", endpoint_url=url, config=config)
        for _ in range(2):
            with pytest.raises(botocore.exceptions.ClientError, match="ThrottlingException"):
                sm.list_endpoints()
        assert sm.list_endpoints()["Endpoints"] == []
        faults.inject("ListEndpoints", "503", times=5, url=url)
        faults.clear(url)
        assert faults.pending(url) == [] and sm.list_endpoints()["Endpoints"] == []
        with pytest.raises(urllib.error.HTTPError, match="400"):
            faults._control(url, "POST", {"operation": "ListEndpoints", "kind": "flood"})
    finally:
        process.terminate()
        process.wait(timeout=60)


def test_only_what_botocore_would_retry_is_transient():
    def client_error(code, status):
        response = {"Error": {"Code": code, "Message": "m"}, "ResponseMetadata": {"HTTPStatusCode": status}}
        return botocore.exceptions.ClientError(response, "DescribeEndpoint")

    assert waiting.transient(client_error("ThrottlingException", 400))
    assert waiting.transient(client_error("ServiceUnavailable", 503))
    assert waiting.transient(client_error("InternalFailure", 500))
    assert waiting.transient(botocore.exceptions.ConnectionClosedError(endpoint_url="http://x"))
    assert not waiting.transient(client_error("ValidationException", 400))
    assert not waiting.transient(client_error("AccessDeniedException", 400))
    assert not waiting.transient(botocore.exceptions.ParamValidationError(report="bad"))
    assert not waiting.transient(KeyError("x"))


# -- waits survive transient errors ---------------------------------------------------------------


@pytest.mark.parametrize("kind", ["throttle", "500", "503", "drop"])
def test_a_deploy_wait_survives_a_burst(sagemaker, outputs, capsys, kind):
    # Three failures: botocore's two attempts fail one poll, the next poll's retry gets through.
    assert endpoint_faults_then_deploy(kind, 3, "--model-package-arn", register(sagemaker)) == 0
    assert outputs()["action"] == "created"
    assert faults.pending() == []
    assert "polling endpoint fraud-prod failed" in capsys.readouterr().err
    assert sagemaker.describe_endpoint(EndpointName="fraud-prod")["EndpointStatus"] == "InService"


@pytest.mark.parametrize(
    "operation, kind", [("DescribePipelineExecution", "throttle"), ("ListPipelineExecutionSteps", "503")]
)
def test_a_build_wait_survives_a_burst(sagemaker, outputs, capsys, operation, kind):
    faults.inject(operation, kind, times=3)
    assert build() == 0
    assert outputs()["execution-status"] == "Succeeded" and outputs()["model-package-arn"]
    assert faults.pending() == []
    assert "polling pipeline execution failed" in capsys.readouterr().err


def test_a_wait_gives_up_after_three_failed_polls_naming_the_error_and_what_goes_on(sagemaker, outputs, capsys):
    arn = register(sagemaker)
    assert deploy("--model-package-arn", arn) == 0
    assert endpoint_faults_then_deploy("503", 100, "--model-package-arn", arn, "--instance-count", "2") == 1
    line = first_error_line(capsys.readouterr().err)
    assert "could not read the state of endpoint fraud-prod: 3 polls in a row failed" in line
    assert "(ServiceUnavailable)" in line and "Service Unavailable" in line
    assert "the deployment goes on in SageMaker; watch it with `aws sagemaker describe-endpoint" in line
    pending = outputs()["endpoint-config-name"]
    assert outputs()["action"] == "updated"  # the change that was started is in the outputs

    faults.clear()  # AWS answers again: re-running waits for that same deployment
    assert deploy("--model-package-arn", arn, "--instance-count", "2") == 0
    assert outputs()["action"] == "unchanged"
    assert sagemaker.describe_endpoint(EndpointName="fraud-prod")["EndpointConfigName"] == pending


def test_a_build_that_loses_aws_says_the_execution_goes_on(sagemaker, outputs, capsys):
    faults.inject("DescribePipelineExecution", "drop", times=100)
    assert build() == 1
    line = first_error_line(capsys.readouterr().err)
    arn = outputs()["execution-arn"]
    assert "could not read the state of pipeline execution: 3 polls in a row failed" in line
    assert "Connection was closed before we received a valid response" in line
    assert f"describe-pipeline-execution --pipeline-execution-arn {arn}" in line


def test_an_error_that_is_not_transient_ends_the_wait_at_once(sagemaker, capsys):
    """The endpoint deleted while a deploy waits for it: a refusal, not worth another poll."""
    settings.endpoint_seconds = 60  # Creating until deleted
    arn = register(sagemaker)

    def delete_once_created():
        while not sagemaker.list_endpoints()["Endpoints"]:
            time.sleep(0.01)
        sagemaker.delete_endpoint(EndpointName="fraud-prod")

    thread = threading.Thread(target=delete_once_created)
    thread.start()
    try:
        assert deploy("--model-package-arn", arn) == 1
    finally:
        thread.join()
    err = capsys.readouterr().err
    assert "AWS refused DescribeEndpoint" in first_error_line(err) and "Could not find endpoint" in err
    assert "polling endpoint fraud-prod failed" not in err


# -- no half-done change goes unreported ----------------------------------------------------------


@pytest.mark.parametrize("first", [True, False], ids=["create", "update"])
def test_a_lost_answer_to_the_endpoint_call_is_recognised(sagemaker, outputs, capsys, first):
    """The call went through, its answer was lost, botocore's retry was refused: deploy carries on."""
    arn = register(sagemaker)
    if not first:
        assert deploy("--model-package-arn", arn) == 0
    operation = "CreateEndpoint" if first else "UpdateEndpoint"
    settings.endpoint_seconds = 3  # still deploying when botocore's retry (within 1 s) comes
    faults.inject(operation, "drop-answer")
    assert deploy("--model-package-arn", arn, "--instance-count", "3") == 0
    assert outputs()["action"] == ("created" if first else "updated")
    err = capsys.readouterr().err
    assert f"AWS refused {operation} for fraud-prod" in err and "the request went through, waiting for it" in err
    found = sagemaker.describe_endpoint(EndpointName="fraud-prod")
    assert found["EndpointConfigName"] == outputs()["endpoint-config-name"]


def test_a_lost_answer_to_starting_the_pipeline_starts_one_execution(sagemaker, outputs):
    """botocore's retry carries the same ClientRequestToken, so SageMaker does not start a second."""
    faults.inject("StartPipelineExecution", "drop-answer")
    assert build() == 0
    assert faults.pending() == []  # the first answer was lost
    executions = sagemaker.list_pipeline_executions(PipelineName="churn")["PipelineExecutionSummaries"]
    assert [e["PipelineExecutionArn"] for e in executions] == [outputs()["execution-arn"]]


def test_a_config_that_cannot_be_created_says_what_is_left(sagemaker, outputs, capsys):
    faults.inject("CreateEndpointConfig", "throttle", times=100)
    assert deploy("--model-package-arn", register(sagemaker)) == 1
    line = first_error_line(capsys.readouterr().err)
    assert "AWS refused CreateEndpointConfig for fraud-prod: ThrottlingException: Rate exceeded" in line
    assert "the endpoint itself was not changed; `smops cleanup --endpoint-name fraud-prod` removes" in line
    assert sagemaker.list_models()["Models"] == []  # the model made for it was deleted again


def test_an_update_whose_rollback_fails_says_what_serves(sagemaker, outputs, capsys):
    """The update fails part-way (after the canary shift) and SageMaker cannot roll it back."""
    arn = register(sagemaker)
    assert deploy("--model-package-arn", arn) == 0
    old = outputs()["endpoint-config-name"]
    settings.fail_endpoints["fraud-prod"] = "The new fleet failed its health checks after the canary shift."
    settings.fail_rollbacks["fraud-prod"] = "Rollback of the old fleet's capacity failed."
    assert deploy("--model-package-arn", arn, "--strategy", "canary", "--instance-count", "2") == 1
    line = first_error_line(capsys.readouterr().err)
    new = outputs()["endpoint-config-name"]
    assert "deployment to fraud-prod failed and so did its rollback: Rollback of the old fleet's capacity" in line
    assert f"it now serves a mix of {old} and {new}" in line
    assert f"aws sagemaker update-endpoint --endpoint-name fraud-prod --endpoint-config-name {old}" in line
    assert sagemaker.describe_endpoint(EndpointName="fraud-prod")["EndpointStatus"] == "UpdateRollbackFailed"


# -- the approval bridge: Secrets Manager and GitHub ---------------------------------------------


@pytest.fixture
def bridge_env(sagemaker, github, monkeypatch):
    """An Approved package of GROUP routed to REPOSITORY; the secret is the test's to make."""
    monkeypatch.setenv("SMOPS_REPOSITORY_MAP", json.dumps({GROUP: REPOSITORY}))
    sagemaker.create_model_package_group(ModelPackageGroupName=GROUP)
    package = sagemaker.create_model_package(ModelPackageGroupName=GROUP)["ModelPackageArn"]
    sagemaker.update_model_package(ModelPackageArn=package, ModelApprovalStatus="Approved")
    return boto3.client("secretsmanager")


def dispatch_with_secret(tmp_path, secret: str):
    """`smops dispatch` of the sample approval, credentials from the named secret."""
    return run_smops("dispatch", "--event", write_event(tmp_path, sample_event()), "--github-secret-arn", secret)


@pytest.mark.parametrize(
    "secret, problem",
    [
        (None, "cannot be read: Secrets Manager can't find the specified secret."),
        (b"\x00binary", "holds binary data, not text"),
        ('{"token": ', "looks like JSON but does not parse"),
        ('{"app_id": 1, "installation_id": 2}', "has no private_key"),
    ],
    ids=["missing", "binary", "bad-json", "incomplete-app"],
)
def test_a_missing_or_malformed_secret_is_refused_and_sends_nothing(bridge_env, github, tmp_path, secret, problem):
    name = "smops/github"
    if isinstance(secret, bytes):
        bridge_env.create_secret(Name=name, SecretBinary=secret)
    elif secret is not None:
        bridge_env.create_secret(Name=name, SecretString=secret)
    result = dispatch_with_secret(tmp_path, name)
    assert result.returncode == 2, result.stderr
    [line] = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert problem in line and ":" in line.split(problem, 1)[1]  # the problem, then what to do
    assert "Traceback" not in result.stderr
    assert github.requests == []


def test_the_lambda_raises_on_a_missing_secret_so_the_event_is_kept(bridge_env, github, sagemaker, monkeypatch):
    monkeypatch.setenv("SMOPS_GITHUB_SECRET_ARN", "smops/github-gone")
    with pytest.raises(Exception, match="cannot be read.*create it"):
        handler(sample_event(), None)
    assert github.requests == []


def test_a_throttled_secret_and_a_failing_github_are_ridden_out(bridge_env, github, tmp_path, outputs):
    """GetSecretValue throttled, the App's token request answered 500 then 201, the dispatch 503
    then 204: one dispatch goes out."""
    app, _ = app_secret()
    bridge_env.create_secret(Name="smops/github", SecretString=app)
    faults.inject("GetSecretValue", "throttle", times=1)
    github.fail("/app/installations/42/access_tokens", 500)
    github.fail(DISPATCHES, 503)
    result = dispatch_with_secret(tmp_path, "smops/github")
    assert result.returncode == 0, result.stderr
    assert outputs()["action"] == "dispatched"
    tokens = [r for r in github.requests if r.path.endswith("/access_tokens")]
    assert len(tokens) == 2 and len(github.dispatches()) == 2  # each retried once
    assert faults.pending() == []


def test_a_dropped_connection_to_secrets_manager_is_retried(bridge_env, github, tmp_path):
    bridge_env.create_secret(Name="smops/github", SecretString=TOKEN)
    faults.inject("GetSecretValue", "drop", times=1)
    result = dispatch_with_secret(tmp_path, "smops/github")
    assert result.returncode == 0, result.stderr
    assert len(github.dispatches()) == 1 and TOKEN not in result.stderr


def test_deploy_as_a_process_survives_throttling(sagemaker, tmp_path):
    arn = register(sagemaker)
    faults.inject("DescribeEndpoint", "throttle", times=3, after=1)
    result = run_smops("deploy", "--endpoint-name", "fraud-prod", "--role-arn", ROLE_ARN, "--model-package-arn", arn)
    assert result.returncode == 0, result.stderr
    assert "ThrottlingException" in result.stderr and faults.pending() == []
