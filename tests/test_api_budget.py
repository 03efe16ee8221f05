"""What `smops build` asks of the SageMaker API: the calls counted by a botocore hook on the very
client smops uses, against the emulator. The benchmark (bench/run.py) measures the same at scale."""

from __future__ import annotations

import random
import time

import boto3
import pytest
from conftest import ROLE_ARN, ROOT
from test_deploy import register

from smops import aws, waiting
from smops.cli import main
from smops.emulator import settings

DEFINITION = ROOT / "tests" / "data" / "pipeline-definition.json"


@pytest.fixture
def calls(aws_env):
    """Every SageMaker operation smops calls from here on, in order."""
    made: list[str] = []
    client = aws.client("sagemaker", None, None)  # the one build.run gets (no --region, --profile)
    client.meta.events.register("before-call.sagemaker", lambda model, **_: made.append(model.name))
    return made


def build(*extra: str) -> int:
    return main(["build", "--pipeline", str(DEFINITION), "--pipeline-name", "churn", "--role-arn", ROLE_ARN, *extra])


def test_rebuilding_an_unchanged_pipeline_reads_it_once_and_writes_nothing(calls, capsys):
    assert build("--no-wait") == 0
    assert calls == ["DescribePipeline", "CreatePipeline", "StartPipelineExecution"]
    calls.clear()
    assert build("--no-wait") == 0
    assert "pipeline churn: unchanged" in capsys.readouterr().err
    # Starting the execution is what a build is for; the upsert itself is one read. An unchanged
    # pipeline's newest version runs, which another build may have made since the read: the
    # definition the execution runs is read back, so that the report describes what runs.
    assert calls == ["DescribePipeline", "StartPipelineExecution", "DescribePipelineDefinitionForExecution"]


def test_a_poll_during_a_running_step_only_lists_the_steps(calls, outputs, monkeypatch):
    # Four steps of 0.5 s, polled from every 0.05 s: many polls while a step runs.
    settings.step_seconds = 0.5
    monkeypatch.setenv("SMOPS_POLL_SECONDS", "0.05")
    started = time.monotonic()
    assert build() == 0
    waited = time.monotonic() - started
    waits = calls[calls.index("StartPipelineExecution") + 1 :]
    waits = waits[: waits.index("DescribeModelPackage")]  # what follows is the summary
    lists, describes = waits.count("ListPipelineExecutionSteps"), waits.count("DescribePipelineExecution")
    assert lists + describes == len(waits)
    # A poll that sees no step running describes the execution (the first, when no step has
    # started yet, and the end); so does one every ten minutes, however slow this machine is
    # today. The end is listed once more.
    assert 1 <= describes <= 2 + waited // waiting.safety_net_seconds()
    assert waits[-2:] == ["DescribePipelineExecution", "ListPipelineExecutionSteps"]
    polls = lists - 1
    assert polls > describes
    # That last listing is complete: it carries the package the RegisterModel step registered.
    assert outputs()["model-package-arn"]


@pytest.mark.parametrize("first", [5.0, 0.02])
def test_the_next_poll_is_never_later_than_a_tenth_of_the_wait_nor_the_ceiling(first):
    random.seed(11)
    for waited in [0, first, 9 * first, 10 * first, 49 * first, 60 * first, 1000 * first, 10**6]:
        for _ in range(50):
            delay = waiting.next_delay(waited, first)
            bound = min(max(waited / 9, first), first * waiting.CEILING_POLLS)
            assert 0.9 * bound <= delay <= bound
            # An end just after this poll is noticed at the next: a tenth of the whole wait late,
            # once the wait is long enough for the first poll to be that short.
            if waited / 9 >= first:
                assert delay <= waiting.LATENESS * (waited + delay) + 1e-9
    # The real defaults: 6 s at first, 30 s at most, a ninth of the wait so far in between.
    assert waiting.DEFAULT_FIRST_POLL * waiting.CEILING_POLLS == 30


def test_a_rollback_describes_each_model_and_each_package_once(calls):
    settings.endpoint_seconds = 0.05
    sm = boto3.client("sagemaker")
    for _ in range(2):
        assert main(["deploy", "--endpoint-name", "fraud-prod", "--role-arn", ROLE_ARN, "--model-package-arn", register(sm)]) == 0
    calls.clear()
    assert main(["rollback", "--endpoint-name", "fraud-prod"]) == 0
    plan = calls[: calls.index("UpdateEndpoint")]
    # Two fleets, the config returned to and the one serving: a model and a package each.
    assert plan.count("DescribeModel") == 2 and plan.count("DescribeModelPackage") == 2
    assert plan.count("DescribeEndpointConfig") == 2
