"""Model Monitor, only as far as reading a schedule's latest verdict needs (moto has none of it).

CreateMonitoringSchedule, DescribeMonitoringSchedule and ListMonitoringExecutions with the real
API's shapes, and DescribeProcessingJob with the ExitMessage and MonitoringScheduleArn a
monitoring execution's job carries. `execute()` plays one execution, for tests and rehearsals: a
processing job whose output folder gets constraint_violations.json and statistics.json, ending
`CompletedWithViolations` (its ExitMessage starts so, as Model Monitor's container writes it), and
the "SageMaker Processing Job State Change" event EventBridge receives. Nothing ever runs on a
schedule here.
"""

from __future__ import annotations

import datetime as dt
import json
import time
import uuid

from moto.core.responses import ActionResult
from moto.sagemaker.exceptions import ValidationError
from moto.sagemaker.utils import arn_formatter

from smops import aws
from smops.emulator.sagemaker import paged

IMAGE = "156813124566.dkr.ecr.us-east-1.amazonaws.com/sagemaker-model-monitor-analyzer"


def _schedules(backend) -> dict:
    if not hasattr(backend, "smops_monitoring"):
        backend.smops_monitoring = {}
    return backend.smops_monitoring


def _schedule(backend, name: str) -> dict:
    found = _schedules(backend).get(name)
    if found is None:
        raise ValidationError(f"Monitoring Schedule {name} does not exist.")
    return found


def _endpoint(config: dict) -> str | None:
    inputs = (config.get("MonitoringJobDefinition") or {}).get("MonitoringInputs") or [{}]
    return (inputs[0].get("EndpointInput") or {}).get("EndpointName")


def patch(response_class) -> None:
    original_describe_job = response_class.describe_processing_job

    def create_monitoring_schedule(self):
        backend = self.sagemaker_backend
        name = self._get_param("MonitoringScheduleName")
        if name in _schedules(backend):
            raise ValidationError(f"Monitoring Schedule {name} already exists.")
        config = self._get_param("MonitoringScheduleConfig") or {}
        now = time.time()
        _schedules(backend)[name] = {
            "MonitoringScheduleArn": arn_formatter("monitoring-schedule", name.lower(), backend.account_id,
                                                   backend.region_name),
            "MonitoringScheduleName": name,
            "MonitoringScheduleStatus": "Scheduled",
            "MonitoringType": config.get("MonitoringType", "DataQuality"),
            "CreationTime": now,
            "LastModifiedTime": now,
            "MonitoringScheduleConfig": config,
            "EndpointName": _endpoint(config),
            "executions": [],
        }
        return ActionResult({"MonitoringScheduleArn": _schedules(backend)[name]["MonitoringScheduleArn"]})

    def describe_monitoring_schedule(self):
        schedule = _schedule(self.sagemaker_backend, self._get_param("MonitoringScheduleName"))
        result = {k: v for k, v in schedule.items() if k != "executions" and v is not None}
        if schedule["executions"]:
            result["LastMonitoringExecutionSummary"] = schedule["executions"][-1]
        return ActionResult(result)

    def list_monitoring_executions(self):
        schedule = _schedule(self.sagemaker_backend, self._get_param("MonitoringScheduleName"))
        found = list(schedule["executions"])
        key = {"ScheduledTime": "ScheduledTime", "CreationTime": "CreationTime"}.get(
            self._get_param("SortBy") or "ScheduledTime", "ScheduledTime")
        found.sort(key=lambda e: e[key], reverse=(self._get_param("SortOrder") or "Descending") == "Descending")
        status = self._get_param("StatusEquals")
        if status:
            found = [e for e in found if e["MonitoringExecutionStatus"] == status]
        return paged(self, "MonitoringExecutionSummaries", found, 10)

    def describe_processing_job(self):
        result = original_describe_job(self)
        extra = getattr(self.sagemaker_backend, "smops_job_extras", {}).get(self._get_param("ProcessingJobName"))
        result.result.update(extra or {})
        return result

    for function in (create_monitoring_schedule, describe_monitoring_schedule, list_monitoring_executions,
                     describe_processing_job):
        setattr(response_class, function.__name__, function)


def execute(backend, schedule_name: str, violations: list[dict], item_count: int = 0,
            status: str | None = None) -> str:
    """Play one finished execution of the schedule; returns its processing job ARN."""
    from moto.events.models import events_backends
    from moto.s3.models import s3_backends

    from smops.emulator.events import _iso

    schedule = _schedule(backend, schedule_name)
    status = status or ("CompletedWithViolations" if violations else "Completed")
    now = dt.datetime.now(dt.timezone.utc)
    job_name = f"model-monitoring-{now:%y%m%d%H%M}-{uuid.uuid4().hex[:8]}"
    definition = schedule["MonitoringScheduleConfig"].get("MonitoringJobDefinition") or {}
    outputs = (definition.get("MonitoringOutputConfig") or {}).get("MonitoringOutputs") or [{}]
    base = ((outputs[0].get("S3Output") or {}).get("S3Uri") or "s3://smops-monitoring").rstrip("/")
    folder = f"{base}/{schedule['EndpointName']}/{schedule_name}/{now:%Y/%m/%d/%H}"
    bucket, prefix = aws.split_s3_uri(folder)
    s3 = s3_backends[backend.account_id]["aws"]
    if violations:
        s3.put_object(bucket, f"{prefix}/constraint_violations.json", json.dumps({"violations": violations}).encode())
    s3.put_object(bucket, f"{prefix}/statistics.json",
                  json.dumps({"version": 0, "dataset": {"item_count": item_count}, "features": []}).encode())
    job = backend.create_processing_job(
        app_specification={"ImageUri": IMAGE},
        experiment_config={},
        network_config={},
        processing_inputs=[],
        processing_job_name=job_name,
        processing_output_config={"Outputs": [{"OutputName": "monitoring_output", "S3Output": {
            "S3Uri": folder, "LocalPath": "/opt/ml/processing/output", "S3UploadMode": "EndOfJob"}}]},
        role_arn=definition.get("RoleArn") or f"arn:aws:iam::{backend.account_id}:role/model-monitor",
        tags=[],
        stopping_condition={},
    )
    message = (f"CompletedWithViolations: Job completed successfully with {len(violations)} violations."
               if violations else "Completed: Job completed successfully with no violations.")
    extras = {"ExitMessage": message, "MonitoringScheduleArn": schedule["MonitoringScheduleArn"]}
    if not hasattr(backend, "smops_job_extras"):
        backend.smops_job_extras = {}
    backend.smops_job_extras[job_name] = extras
    timestamp = time.time()
    schedule["executions"].append({
        "MonitoringScheduleName": schedule_name,
        "ScheduledTime": timestamp,
        "CreationTime": timestamp,
        "LastModifiedTime": timestamp,
        "MonitoringExecutionStatus": status,
        "ProcessingJobArn": job.arn,
        "EndpointName": schedule["EndpointName"],
        "MonitoringType": schedule["MonitoringType"],
    })
    detail = json.loads(json.dumps({**job.response_object, **extras}, default=_iso))
    events_backends[backend.account_id][backend.region_name].put_events([{
        "Source": "aws.sagemaker",
        "DetailType": "SageMaker Processing Job State Change",
        "Detail": json.dumps(detail),
        "Resources": [job.arn],
    }])
    return job.arn
