"""Reading Model Monitor's own verdict, for teams that already have a monitoring schedule.

A monitoring execution is a processing job whose output folder holds `constraint_violations.json`
(and `statistics.json`); DescribeProcessingJob names that folder. smops never creates a schedule:
Model Monitor is closed to new customers, so this only reads what an existing one produced.
"""

from __future__ import annotations

import json

import botocore.exceptions

from smops import aws, gha
from smops.errors import BadInput
from smops.monitor import baseline

FINISHED = ("Completed", "CompletedWithViolations")


def latest(schedule: str, region=None, profile=None):
    """The newest finished execution of the schedule, as a drift Report."""
    from smops.monitor.report import Report

    sm = aws.client("sagemaker", region, profile)
    try:
        described = sm.describe_monitoring_schedule(MonitoringScheduleName=schedule)
    except botocore.exceptions.ClientError as exc:
        if aws.is_not_found(exc):
            raise BadInput(f"monitoring schedule {schedule} not found", "check the name and region") from None
        raise
    execution = None
    skipped = []
    pages = sm.get_paginator("list_monitoring_executions").paginate(
        MonitoringScheduleName=schedule, SortBy="ScheduledTime", SortOrder="Descending"
    )
    for page in pages:
        for summary in page.get("MonitoringExecutionSummaries", []):
            if summary["MonitoringExecutionStatus"] in FINISHED and summary.get("ProcessingJobArn"):
                execution = summary
                break
            skipped.append(summary)
        if execution:
            break
    for summary in skipped:
        status = summary["MonitoringExecutionStatus"]
        if status == "Failed":
            gha.warning(f"a newer execution of {schedule} failed: {summary.get('FailureReason', 'no reason given')}")
    if execution is None:
        raise BadInput(f"monitoring schedule {schedule} has no finished execution yet",
                       "wait for its next run, or drop --monitoring-schedule to compute drift from the capture")
    job = sm.describe_processing_job(ProcessingJobName=execution["ProcessingJobArn"].rsplit("/", 1)[-1])
    folder = job["ProcessingOutputConfig"]["Outputs"][0]["S3Output"]["S3Uri"].rstrip("/")
    violations = baseline.read_violations(folder, region, profile)
    statistics = baseline.read_text(f"{folder}/{baseline.STATISTICS}", region, profile)
    records = int((json.loads(statistics).get("dataset") or {}).get("item_count") or 0) if statistics else 0
    when = execution["ScheduledTime"]
    gha.log(f"{schedule}: execution scheduled {when} ended {execution['MonitoringExecutionStatus']}; "
            f"read {folder}/constraint_violations.json")
    return Report(
        f"Model Monitor schedule `{schedule}`, execution scheduled {when} "
        f"({execution['MonitoringExecutionStatus']}), `{folder}/constraint_violations.json`",
        records, [], violations, described.get("EndpointName") or execution.get("EndpointName") or "",
    )
