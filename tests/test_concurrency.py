"""Two hands on one endpoint (or one pipeline): real `smops` processes raced against the emulator.

The order of events is set with the emulator's own holds, never with sleeps: a held endpoint
keeps each of its updates `Updating` until released, and a held request (one operation, from one
caller's access key) waits in the emulator until released. A process is known to have reached a
point when the emulator holds its request, or when it has printed a line. Each test asserts the
endpoint's final state, each process's exit code and the first line of its message.
"""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import threading

import urllib.error

import boto3
import botocore.exceptions
import pytest
from conftest import ROLE_ARN, ROOT, read_outputs
from test_deploy import register

from smops.emulator import faults, settings

ENDPOINT = "acc-fault"
REPOSITORY = "octo/fraud"
SAFETY_NET = 300  # seconds: only a hung process ever waits this long


@pytest.fixture(autouse=True)
def fast(aws_env):
    settings.endpoint_seconds = 0.05
    settings.time_scale = 0.001
    yield
    faults.release()


class Smops:
    """`smops` as a process of its own, as one workflow run: its own access key (so a hold can
    pick its requests), run id, outputs and summary files; its log read as it comes."""

    def __init__(self, tmp_path, who: str, run_id: int, *args: str):
        self.who = who
        self.files = {name: tmp_path / f"{who}-{name}" for name in ("outputs", "summary")}
        env = {
            **os.environ,
            "AWS_ACCESS_KEY_ID": who,
            "GITHUB_SERVER_URL": "https://github.com",
            "GITHUB_REPOSITORY": REPOSITORY,
            "GITHUB_RUN_ID": str(run_id),
            "GITHUB_OUTPUT": str(self.files["outputs"]),
            "GITHUB_STEP_SUMMARY": str(self.files["summary"]),
        }
        self.process = subprocess.Popen(
            [sys.executable, "-m", "smops", *args], stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True, env=env
        )
        self.lines: list[str] = []
        self._queue: queue.Queue = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for line in self.process.stderr:
            self._queue.put(line.rstrip("\n"))
        self._queue.put(None)

    def wait_for(self, text: str) -> None:
        """Read the log until a line holds `text` (the process has reached that point)."""
        while True:
            line = self._queue.get(timeout=SAFETY_NET)
            assert line is not None, f"{self.who} ended without saying {text!r}:\n" + "\n".join(self.lines)
            self.lines.append(line)
            if text in line:
                return

    def finish(self) -> int:
        code = self.process.wait(timeout=SAFETY_NET)
        while (line := self._queue.get(timeout=SAFETY_NET)) is not None:
            self.lines.append(line)
        return code

    def message(self) -> str:
        """The first line of what it has to say about the outcome: its error, else its last
        warning (the plan's warnings come first), else its last line."""
        errors = [line for line in self.lines if line.startswith("error:")]
        warnings = [line for line in self.lines if line.startswith("warning:")]
        return (errors or [None])[0] or (warnings or self.lines)[-1]

    def outputs(self) -> dict[str, str]:
        return read_outputs(self.files["outputs"])

    def summary(self) -> str:
        return self.files["summary"].read_text()


def run_url(run_id: int) -> str:
    return f"https://github.com/{REPOSITORY}/actions/runs/{run_id}"


def held(hold_id: str) -> None:
    assert faults.wait_held(hold_id, SAFETY_NET), "the process never reached the hold"


def deploy_args(arn: str, *extra: str) -> list[str]:
    return ["deploy", "--endpoint-name", ENDPOINT, "--role-arn", ROLE_ARN, "--model-package-arn", arn, *extra]


@pytest.fixture
def serving(sagemaker, tmp_path):
    """An endpoint serving v1 of the group, and v2…v5 registered; returns their ARNs by version."""
    arns = {version: register(sagemaker) for version in range(1, 6)}
    first = Smops(tmp_path, "setup", 1, *deploy_args(arns[1]))
    assert first.finish() == 0, first.lines
    return arns


def config_of(sm) -> str:
    return sm.describe_endpoint(EndpointName=ENDPOINT)["EndpointConfigName"]


# -- the emulator's side --------------------------------------------------------------------------


def test_an_update_of_an_endpoint_being_updated_fails_as_sagemaker_answers(serving, sagemaker):
    found = sagemaker.describe_endpoint(EndpointName=ENDPOINT)
    variants = sagemaker.describe_endpoint_config(EndpointConfigName=found["EndpointConfigName"])["ProductionVariants"]
    sagemaker.create_endpoint_config(EndpointConfigName="by-hand", ProductionVariants=variants)
    updates = faults.hold(endpoint=ENDPOINT)
    sagemaker.update_endpoint(EndpointName=ENDPOINT, EndpointConfigName="by-hand")
    held(updates)
    with pytest.raises(botocore.exceptions.ClientError) as caught:
        sagemaker.update_endpoint(EndpointName=ENDPOINT, EndpointConfigName=found["EndpointConfigName"])
    error = caught.value.response["Error"]
    assert (error["Code"], error["Message"]) == ("ValidationException", f'Cannot update in-progress endpoint "{found["EndpointArn"]}".')
    # A config deleted while the endpoint deploys it does not stop the update (it was read at the start).
    sagemaker.delete_endpoint_config(EndpointConfigName="by-hand")
    faults.release(updates)
    sagemaker.get_waiter("endpoint_in_service").wait(EndpointName=ENDPOINT, WaiterConfig={"Delay": 0.05, "MaxAttempts": 6000})
    assert config_of(sagemaker) == "by-hand"


def test_a_hold_over_the_control_path_keeps_one_callers_requests_until_released(aws_env):
    hold_id = faults.hold("ListModels", client="carol", url=aws_env.url)
    assert faults.holds(aws_env.url) == [
        {"id": hold_id, "operation": "ListModels", "client": "carol", "endpoint": None, "held": 0}
    ]
    assert boto3.client("sagemaker").list_models()["Models"] == []  # another caller goes through
    carol = boto3.client("sagemaker", aws_access_key_id="carol", aws_secret_access_key="testing")
    answer: dict = {}
    thread = threading.Thread(target=lambda: answer.update(carol.list_models()))
    thread.start()
    held(hold_id)
    assert faults.holds(aws_env.url)[0]["held"] == 1 and not answer
    faults.release(hold_id, url=aws_env.url)
    thread.join(SAFETY_NET)
    assert answer["Models"] == [] and faults.holds(aws_env.url) == []
    with pytest.raises(urllib.error.HTTPError, match="400"):
        faults._control(aws_env.url, "POST", {"client": "carol"}, faults.HOLDS_PATH)


# -- deploy against deploy ------------------------------------------------------------------------


def test_the_issue_race_reports_a_completed_update_that_was_then_replaced(serving, sagemaker, tmp_path):
    """Two `smops deploy --wait-if-busy`: v4 canary with a 2 s bake, then v5 while v4 deploys."""
    updates = faults.hold(endpoint=ENDPOINT)
    v4 = Smops(tmp_path, "alice", 4, *deploy_args(serving[4], "--strategy", "canary", "--wait-interval", "2",
                                                  "--wait-if-busy"))
    held(updates)  # v4's update is under way, and stays so
    v4_looks = faults.hold("DescribeEndpoint", client="alice")
    held(v4_looks)  # v4 is between two polls
    v5 = Smops(tmp_path, "bob", 5, *deploy_args(serving[5], "--wait-if-busy"))
    v5.wait_for("waiting for it (--wait-if-busy)")
    faults.release(updates)  # v4's update completes; v5 deploys over it
    assert v5.finish() == 0
    faults.release(v4_looks)  # v4 looks again: v5 serves
    assert v4.finish() == 0
    v4_config, v5_config = v4.outputs()["endpoint-config-name"], v5.outputs()["endpoint-config-name"]
    assert config_of(sagemaker) == v5_config
    assert v5.message().startswith(f"endpoint {ENDPOINT} InService with {v5_config} (updated) in ")
    assert v4.message() == (
        f"warning: deployment of {v4_config} to {ENDPOINT} completed, then was replaced by {v5_config} "
        f"(fraud-models v5, run {run_url(5)})"
    )
    assert "SageMaker rolled it back" not in "\n".join(v4.lines)
    assert "✅ updated" in v4.summary() and f"replaced by {v5_config}" in v4.summary()
    print("\n".join(["v4: " + v4.message(), "v5: " + v5.message()]))


def test_a_deploy_to_a_busy_endpoint_is_refused_naming_the_deployment_in_progress(serving, sagemaker, tmp_path):
    updates = faults.hold(endpoint=ENDPOINT)
    v2 = Smops(tmp_path, "alice", 2, *deploy_args(serving[2]))
    held(updates)
    models = len(sagemaker.list_models()["Models"])
    v3 = Smops(tmp_path, "bob", 3, *deploy_args(serving[3]))
    assert v3.finish() == 2
    pending = sagemaker.describe_endpoint(EndpointName=ENDPOINT)["PendingDeploymentSummary"]["EndpointConfigName"]
    assert v3.message() == (
        f"error: endpoint {ENDPOINT} is Updating: another deployment is in progress, of {pending} "
        f"(fraud-models v2, run {run_url(2)}): wait for it to finish, or pass --wait-if-busy"
    )
    assert len(sagemaker.list_models()["Models"]) == models  # refused before anything was made
    faults.release(updates)
    assert v2.finish() == 0
    assert config_of(sagemaker) == pending == v2.outputs()["endpoint-config-name"]
    assert v2.message().startswith(f"endpoint {ENDPOINT} InService with {pending} (updated) in ")


@pytest.mark.parametrize("wait", [False, True], ids=["refused", "wait-if-busy"])
def test_an_update_another_began_first_is_refused_or_waited_for(serving, sagemaker, tmp_path, wait):
    """v3 read the endpoint InService, made its config; v2's update began before v3's call."""
    call = faults.hold("UpdateEndpoint", client="bob")
    updates = faults.hold(endpoint=ENDPOINT)
    v3 = Smops(tmp_path, "bob", 3, *deploy_args(serving[3], *(["--wait-if-busy"] if wait else [])))
    held(call)
    v3_first = sagemaker.list_endpoint_configs(SortBy="CreationTime", SortOrder="Descending")["EndpointConfigs"][0]
    v2 = Smops(tmp_path, "alice", 2, *deploy_args(serving[2]))
    held(updates)
    v2_config = sagemaker.describe_endpoint(EndpointName=ENDPOINT)["PendingDeploymentSummary"]["EndpointConfigName"]
    refused = (
        f"endpoint {ENDPOINT} is Updating: another deployment is in progress, of {v2_config} "
        f"(fraud-models v2, run {run_url(2)}); this run's {v3_first['EndpointConfigName']} was removed, "
        "nothing was changed"
    )
    if not wait:
        faults.release(call)
        assert v3.finish() == 2
        assert v3.message() == f"error: {refused}: wait for it to finish, or pass --wait-if-busy"
        faults.release(updates)
        assert v2.finish() == 0
        assert v2.message().startswith(f"endpoint {ENDPOINT} InService with {v2_config} (updated) in ")
        assert config_of(sagemaker) == v2_config
    else:
        v2_looks = faults.hold("DescribeEndpoint", client="alice")
        held(v2_looks)
        faults.release(call)
        v3.wait_for("waiting for it (--wait-if-busy)")  # refused, then planning again: v2 is Updating
        faults.release(updates)
        assert v3.finish() == 0
        faults.release(v2_looks)
        assert v2.finish() == 0
        v3_config = v3.outputs()["endpoint-config-name"]
        assert f"{refused}: waiting for it, then deciding again (--wait-if-busy)" in v3.lines
        assert v3.message().startswith(f"endpoint {ENDPOINT} InService with {v3_config} (updated) in ")
        assert v2.message() == (
            f"warning: deployment of {v2_config} to {ENDPOINT} completed, then was replaced by {v3_config} "
            f"(fraud-models v3, run {run_url(3)})"
        )
        assert config_of(sagemaker) == v3_config
    names = {c["EndpointConfigName"] for c in sagemaker.list_endpoint_configs()["EndpointConfigs"]}
    assert v3_first["EndpointConfigName"] not in names  # what the refused call was for is gone


def test_waiting_for_another_deploy_of_the_same_package_is_unchanged(serving, sagemaker, tmp_path):
    call = faults.hold("UpdateEndpoint", client="bob")
    updates = faults.hold(endpoint=ENDPOINT)
    second = Smops(tmp_path, "bob", 7, *deploy_args(serving[2], "--wait-if-busy"))
    held(call)
    first = Smops(tmp_path, "alice", 6, *deploy_args(serving[2]))
    held(updates)
    faults.release(call)
    second.wait_for("is already deploying this package")
    faults.release(updates)
    assert first.finish() == 0 and second.finish() == 0
    config = first.outputs()["endpoint-config-name"]
    assert config_of(sagemaker) == config
    assert second.outputs()["action"] == "unchanged" and second.outputs()["endpoint-config-name"] == config
    assert second.message() == f"{ENDPOINT} already serves fraud-models v2: nothing to do"
    assert first.message().startswith(f"endpoint {ENDPOINT} InService with {config} (updated) in ")


# -- rollback against deploy ----------------------------------------------------------------------


def test_a_rollback_during_a_deploy_is_refused_or_waits_then_returns_to_the_config_before(serving, sagemaker, tmp_path):
    second = Smops(tmp_path, "setup", 1, *deploy_args(serving[2]))
    assert second.finish() == 0
    v2_config = second.outputs()["endpoint-config-name"]
    updates = faults.hold(endpoint=ENDPOINT)
    v3 = Smops(tmp_path, "alice", 3, *deploy_args(serving[3]))
    held(updates)
    v3_config = sagemaker.describe_endpoint(EndpointName=ENDPOINT)["PendingDeploymentSummary"]["EndpointConfigName"]
    refused = Smops(tmp_path, "bob", 8, "rollback", "--endpoint-name", ENDPOINT)
    assert refused.finish() == 2
    assert refused.message() == (
        f"error: endpoint {ENDPOINT} is Updating: another deployment is in progress, of {v3_config} "
        f"(fraud-models v3, run {run_url(3)}): wait for it to finish, or pass --wait-if-busy"
    )
    v3_looks = faults.hold("DescribeEndpoint", client="alice")
    held(v3_looks)
    rollback = Smops(tmp_path, "bob", 9, "rollback", "--endpoint-name", ENDPOINT, "--wait-if-busy")
    rollback.wait_for("waiting for it (--wait-if-busy)")
    faults.release(updates)  # v3 completes; the rollback then returns to what served before it
    assert rollback.finish() == 0
    faults.release(v3_looks)
    assert v3.finish() == 0
    assert config_of(sagemaker) == v2_config == rollback.outputs()["endpoint-config-name"]
    assert rollback.outputs()["rolled-back-from"] == v3_config
    assert rollback.message().startswith(f"endpoint {ENDPOINT} InService with {v2_config} (updated) in ")
    assert v3.message() == (
        f"warning: deployment of {v3_config} to {ENDPOINT} completed, then was replaced by {v2_config} "
        "(fraud-models v2, run https://github.com/octo/fraud/actions/runs/1)"
    )


# -- cleanup against deploy -----------------------------------------------------------------------


@pytest.mark.parametrize("min_age", [None, "0"], ids=["young-config-kept", "min-age-0-deletes-it"])
def test_cleanup_during_a_deploy(serving, sagemaker, tmp_path, min_age):
    """The deploy made its config and is about to ask the endpoint to deploy it."""
    call = faults.hold("UpdateEndpoint", client="alice")
    v2 = Smops(tmp_path, "alice", 2, *deploy_args(serving[2]))
    held(call)
    [v2_config] = [c["EndpointConfigName"] for c in sagemaker.list_endpoint_configs()["EndpointConfigs"]
                   if c["EndpointConfigName"] != config_of(sagemaker)]
    cleanup = Smops(tmp_path, "bob", 10, "cleanup", "--endpoint-name", ENDPOINT, "--keep", "0",
                    *(["--min-age", min_age] if min_age else []))
    assert cleanup.finish() == 0
    faults.release(call)
    if min_age is None:
        assert cleanup.outputs()["deleted-endpoint-configs"] == ""
        assert f"| config `{v2_config}` | kept (made within --min-age: a deploy may be about to use it) |" in cleanup.summary()
        assert cleanup.message().startswith("kept 2 config(s): ")
        assert v2.finish() == 0
        assert v2.message().startswith(f"endpoint {ENDPOINT} InService with {v2_config} (updated) in ")
        assert config_of(sagemaker) == v2_config
    else:
        assert cleanup.outputs()["deleted-endpoint-configs"] == v2_config
        assert f"deleting endpoint config {v2_config}" in cleanup.lines
        assert cleanup.message() == f"kept 1 config(s): {config_of(sagemaker)} (in use)"
        assert v2.finish() == 1
        assert v2.message() == (
            f"error: endpoint config {v2_config}, which this run made, was deleted before the endpoint could start "
            f"deploying it (`smops cleanup`, or someone, deleted it): {ENDPOINT} was not changed; run the command again"
        )
        assert config_of(sagemaker) != v2_config
        assert sagemaker.describe_endpoint(EndpointName=ENDPOINT)["EndpointStatus"] == "InService"


def test_cleanup_never_deletes_what_an_update_in_progress_deploys(serving, sagemaker, tmp_path):
    updates = faults.hold(endpoint=ENDPOINT)
    v2 = Smops(tmp_path, "alice", 2, *deploy_args(serving[2]))
    held(updates)
    found = sagemaker.describe_endpoint(EndpointName=ENDPOINT)
    cleanup = Smops(tmp_path, "bob", 10, "cleanup", "--endpoint-name", ENDPOINT, "--keep", "0", "--min-age", "0")
    assert cleanup.finish() == 0
    assert cleanup.outputs()["deleted-endpoint-configs"] == ""
    assert f"| config `{found['PendingDeploymentSummary']['EndpointConfigName']}` | kept (in use) |" in cleanup.summary()
    assert f"| config `{found['EndpointConfigName']}` | kept (in use) |" in cleanup.summary()
    faults.release(updates)
    assert v2.finish() == 0
    assert config_of(sagemaker) == found["PendingDeploymentSummary"]["EndpointConfigName"]


# -- build against build --------------------------------------------------------------------------


@pytest.fixture
def training_data(aws_env):
    """What the pipeline's training job reads, so each build records its data baseline quietly."""
    boto3.client("s3").create_bucket(Bucket="example-bucket")
    settings.processing_outputs["train"] = "".join(f"{n % 7},{n * 0.5},{n % 3}\n" for n in range(40))
    return aws_env


def test_two_builds_of_one_pipeline_each_run_and_report_their_own_definition(training_data, sagemaker, tmp_path):
    """Build A creates the pipeline and is about to start it; build B updates it and runs."""
    definition = json.loads((ROOT / "tests" / "data" / "pipeline-definition.json").read_text())
    other = json.loads(json.dumps(definition).replace("Preprocess", "Prepare"))  # another branch's
    paths = {}
    for who, body in (("alice", definition), ("bob", other)):
        paths[who] = tmp_path / f"{who}.json"
        paths[who].write_text(json.dumps(body))
    start = faults.hold("StartPipelineExecution", client="alice")
    common = ["--pipeline-name", "churn", "--role-arn", ROLE_ARN]
    a = Smops(tmp_path, "alice", 11, "build", "--pipeline", str(paths["alice"]), *common)
    held(start)
    b = Smops(tmp_path, "bob", 12, "build", "--pipeline", str(paths["bob"]), *common)
    assert b.finish() == 0
    faults.release(start)
    assert a.finish() == 0
    runs = {who: p.outputs()["execution-arn"] for who, p in (("alice", a), ("bob", b))}
    for who, version, body in (("alice", 1, definition), ("bob", 2, other)):
        execution = sagemaker.describe_pipeline_execution(PipelineExecutionArn=runs[who])
        assert execution["PipelineVersionId"] == version
        ran = sagemaker.describe_pipeline_definition_for_execution(PipelineExecutionArn=runs[who])
        assert json.loads(ran["PipelineDefinition"]) == body
        steps = {s["StepName"] for s in sagemaker.list_pipeline_execution_steps(PipelineExecutionArn=runs[who])["PipelineExecutionSteps"]}
        assert ("Preprocess" if who == "alice" else "Prepare") in steps
    assert "| Preprocess |" in a.summary() and "Prepare" not in a.summary()
    assert "| Prepare |" in b.summary() and "Preprocess" not in b.summary()
    assert "| Pipeline | `churn` (created, version 1) |" in a.summary()
    assert "| Pipeline | `churn` (updated, version 2) |" in b.summary()
    assert a.message().startswith("execution Succeeded in ") and b.message().startswith("execution Succeeded in ")
    assert json.loads(sagemaker.describe_pipeline(PipelineName="churn")["PipelineDefinition"]) == other


def test_a_build_of_an_unchanged_pipeline_reports_the_definition_its_execution_runs(training_data, sagemaker, tmp_path):
    """Build A finds the pipeline unchanged, and build B updates it before A starts: A's
    execution runs the newest version (B's), and A says so and reports what runs."""
    definition = json.loads((ROOT / "tests" / "data" / "pipeline-definition.json").read_text())
    paths = {"alice": tmp_path / "alice.json", "bob": tmp_path / "bob.json"}
    paths["alice"].write_text(json.dumps(definition))
    paths["bob"].write_text(json.dumps(definition).replace("Preprocess", "Prepare"))
    common = ["--pipeline-name", "churn", "--role-arn", ROLE_ARN, "--no-wait"]
    first = Smops(tmp_path, "setup", 13, "build", "--pipeline", str(paths["alice"]), *common)
    assert first.finish() == 0
    start = faults.hold("StartPipelineExecution", client="alice")
    a = Smops(tmp_path, "alice", 14, "build", "--pipeline", str(paths["alice"]), "--pipeline-name", "churn",
              "--role-arn", ROLE_ARN)
    held(start)
    b = Smops(tmp_path, "bob", 15, "build", "--pipeline", str(paths["bob"]), "--pipeline-name", "churn",
              "--role-arn", ROLE_ARN)
    assert b.finish() == 0
    faults.release(start)
    assert a.finish() == 0
    execution = a.outputs()["execution-arn"]
    assert sagemaker.describe_pipeline_execution(PipelineExecutionArn=execution)["PipelineVersionId"] == 2
    assert a.message() == (
        f"warning: execution {execution} runs another definition than this build rendered: the pipeline was "
        "updated (by another build?) between this build's check and its start; the report below describes "
        "the definition that runs"
    )
    assert "| Prepare |" in a.summary() and "Preprocess" not in a.summary()
    assert "| Pipeline | `churn` (unchanged) |" in a.summary()
