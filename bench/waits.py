"""Waiting on a pipeline execution: smops' schedule against a fixed 30-second poll.

An execution of one step lasting 1, 10 or 60 simulated minutes runs in the emulator, time scaled
so that each wait lasts about WAIT_SECONDS here; smops' `pipeline.wait` (SMOPS_POLL_SECONDS scaled
alike) and a loop that describes the execution and lists its steps every 30 simulated seconds
(what smops did before, at its ceiling) wait on executions of their own, side by side. Each pair
starts waiting a random 0-30 s into its executions, so a step of whole minutes does not end on
the fixed poll's grid by construction. Every request is counted by a botocore hook on the
waiter's client and stamped with its time.

How late the end is noticed: the emulator knows when the step ended; the wait noticed it when its
poll returned, and that poll started when the waiter's last sleep ended. The sleeps are simulated
time, but API calls take the real time they take here, so
lateness = (start of the poll that noticed − end) / scale + that poll's own duration.
"""

from __future__ import annotations

import contextlib
import io
import os
import random
import threading
import time
import unittest.mock

import boto3

from common import ROLE, median, table

WAIT_SECONDS = 40.0
STEP_MINUTES = [1, 10, 60]
FIXED_POLL = 30.0
ONE_STEP = {"Version": "2020-12-01", "Parameters": [], "Steps": [{"Name": "Train", "Type": "Training", "Arguments": {}}]}


# Thread → when its last sleep ended: the start of its next poll.
woke: dict[int, float] = {}


def sleep_and_note(seconds: float, sleep=time.sleep) -> None:
    sleep(seconds)
    woke[threading.get_ident()] = time.time()


def counted_client(emulator) -> tuple[object, list[tuple[float, str]]]:
    sent: list[tuple[float, str]] = []
    client = boto3.client(
        "sagemaker", endpoint_url=emulator.url, region_name=emulator.region,
        aws_access_key_id="testing", aws_secret_access_key="testing",
    )
    client.meta.events.register(
        "before-send.sagemaker", lambda event_name, **_: sent.append((time.time(), event_name.rsplit(".", 1)[-1]))
    )
    return client, sent


def fixed_poll(sm, arn: str, interval: float) -> None:
    """What a waiter without a schedule does: describe and list every `interval` seconds."""
    from smops.build import pipeline

    while True:
        execution = sm.describe_pipeline_execution(PipelineExecutionArn=arn)
        pipeline.steps(sm, arn)
        if execution["PipelineExecutionStatus"] in pipeline.TERMINAL:
            return
        time.sleep(interval)


def one_wait(emulator, name: str, schedule: str, scale: float, offset: float, results: list) -> None:
    from moto.sagemaker.models import sagemaker_backends

    from smops.build import pipeline

    sm, sent = counted_client(emulator)
    sm.create_pipeline(PipelineName=name, PipelineDefinition=pipeline.canonical(ONE_STEP), RoleArn=ROLE)
    arn = sm.start_pipeline_execution(PipelineName=name)["PipelineExecutionArn"]
    time.sleep(offset * scale)
    sent.clear()
    woke[threading.get_ident()] = time.time()
    if schedule == "smops":
        pipeline.wait(sm, arn, timeout_seconds=4 * WAIT_SECONDS, types={"Train": "Training"})
    else:
        fixed_poll(sm, arn, FIXED_POLL * scale)
    noticed = time.time()
    backend = sagemaker_backends["123456789012"][emulator.region]
    simulation = backend.pipelines[name].pipeline_executions[arn].smops
    end = max(step.end for step in simulation.steps.values())
    poll_start = woke[threading.get_ident()]
    lateness = (poll_start - end) / scale + (noticed - poll_start)
    operations = [op for _, op in sent]
    results.append({
        "schedule": schedule,
        "elapsed": (end - simulation.started) / scale,
        "lateness": lateness,
        "describe": operations.count("DescribePipelineExecution"),
        "list": operations.count("ListPipelineExecutionSteps"),
    })


def run(runs: int) -> dict:
    from smops.emulator import Emulator, settings
    from smops.waiting import DEFAULT_FIRST_POLL

    rows, measured, bars = [], {}, {}
    patched = unittest.mock.patch("time.sleep", sleep_and_note)
    with Emulator() as emulator, contextlib.redirect_stderr(io.StringIO()), patched:
        for minutes in STEP_MINUTES:
            scale = WAIT_SECONDS / (minutes * 60)
            settings.step_seconds = minutes * 60 * scale
            os.environ["SMOPS_POLL_SECONDS"] = str(DEFAULT_FIRST_POLL * scale)  # the real schedule, scaled
            results: list[dict] = []
            offsets = [random.uniform(0, FIXED_POLL) for _ in range(runs)]
            threads = [
                threading.Thread(
                    target=one_wait,
                    args=(emulator, f"wait-{minutes}-{schedule}-{n}", schedule, scale, offsets[n], results),
                )
                for schedule in ("smops", "fixed") for n in range(runs)
            ]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            measured[minutes] = results
            for schedule, label in (("fixed", f"fixed {FIXED_POLL:.0f} s poll"), ("smops", "smops")):
                got = [r for r in results if r["schedule"] == schedule]
                late = [r["lateness"] for r in got]
                share = [100 * r["lateness"] / r["elapsed"] for r in got]
                calls = [r["describe"] + r["list"] for r in got]
                rows.append([
                    f"{minutes} min", label, f"{median([r['describe'] for r in got]):.0f}",
                    f"{median([r['list'] for r in got]):.0f}", f"{median(calls):.0f}",
                    f"{median(late):.1f} (max {max(late):.1f})", f"{median(share):.1f} (max {max(share):.1f})",
                ])
                bars.setdefault(minutes, {})[schedule] = {"calls": median(calls), "max_lateness": max(late), "max_share": max(share)}
        os.environ.pop("SMOPS_POLL_SECONDS")
        settings.reset()
    head = ["step", "waiter", "describe calls", "list calls", "calls", "late s", "late % of wait"]
    return {"results": measured, "bars": bars, "table": table(head, rows)}
