"""Model Monitor's drift becomes one repository_dispatch `model_drift` per violation.

Two routes, for teams that already have Model Monitor (closed to new customers; smops drift is
the way without it):
- "CloudWatch Alarm State Change" to ALARM of an alarm on a `feature_baseline_drift_<feature>`
  metric (namespace aws/sagemaker/Endpoints/data-metrics, dimensions Endpoint and
  MonitoringSchedule): one dispatch per transition, keyed on the alarm and its state timestamp.
- "SageMaker Processing Job State Change" of a monitoring execution (MonitoringScheduleArn set)
  that Completed with an ExitMessage starting `CompletedWithViolations`: one dispatch per
  execution; the violated features come from its constraint_violations.json.
The payload names the endpoint, the schedule and the features. The repository is SMOPS_REPOSITORY,
else SMOPS_REPOSITORY_MAP's entry for the endpoint (or the schedule). As for approvals, a tag on
what raised the event (the alarm, or the processing job) records the dispatch, so a repeated
delivery sends nothing, and a dispatch GitHub may have received is never repeated. While a package
that a drift retrained waits for approval, no other drift of its endpoint is dispatched (as the
monitor starter does with `smops drift`'s retrain output).
"""

from __future__ import annotations

import botocore.exceptions

from smops import aws, gha, registry
from smops.bridge import dispatch
from smops.bridge.relay import UNCONFIRMED
from smops.errors import BadInput, RemoteFailure
from smops.monitor import baseline, drift

EVENT_TYPE = "model_drift"
METRIC_PREFIX = "feature_baseline_drift_"
DISPATCHED_TAG = "smops:dispatched-drift"
ALARM = ("aws.cloudwatch", "CloudWatch Alarm State Change")
EXECUTION = ("aws.sagemaker", "SageMaker Processing Job State Change")


def matches(event: dict) -> bool:
    return (event.get("source"), event.get("detail-type")) in (ALARM, EXECUTION)


class _Marker:
    """The dispatched-drift tag on a CloudWatch alarm or a SageMaker resource."""

    def __init__(self, arn: str, settings):
        self.arn = arn
        self.cloudwatch = arn.split(":")[2] == "cloudwatch"
        region = arn.split(":")[3]
        self.client = aws.client("cloudwatch" if self.cloudwatch else "sagemaker", region, settings.profile)

    def get(self) -> str | None:
        if self.cloudwatch:
            tags = {t["Key"]: t["Value"] for t in self.client.list_tags_for_resource(ResourceARN=self.arn)["Tags"]}
        else:
            tags = aws.tags(self.client, self.arn)
        return tags.get(DISPATCHED_TAG)

    def set(self, value: str) -> None:
        tags = [{"Key": DISPATCHED_TAG, "Value": value[:256]}]
        if self.cloudwatch:
            self.client.tag_resource(ResourceARN=self.arn, Tags=tags)
        else:
            self.client.add_tags(ResourceArn=self.arn, Tags=tags)


def handle(event: dict, settings) -> dict[str, object]:
    detail = event.get("detail") if isinstance(event.get("detail"), dict) else {}
    found = _from_alarm(detail, settings) if event.get("source") == ALARM[0] else _from_execution(detail, settings)
    if isinstance(found, str):
        return _skipped(found)
    endpoint, schedule, features, resource, key = found
    repository = settings.repository or settings.repository_map.get(endpoint) or settings.repository_map.get(schedule)
    if not repository:
        return _skipped(f"no repository for endpoint {endpoint!r}: set SMOPS_REPOSITORY or add the endpoint "
                        "to SMOPS_REPOSITORY_MAP")
    marker = _Marker(resource, settings)
    done = marker.get()
    if done is not None and done.split()[-1] == key:
        return _skipped(f"this violation was dispatched already ({DISPATCHED_TAG}={done})", repository)
    region = str(event.get("region") or resource.split(":")[3])
    pending = _retraining_in_flight(endpoint, region, settings)
    if pending:
        return _skipped(f"{registry.label(pending)}, which a drift retrained, still waits for approval: no other "
                        f"retraining of {endpoint} starts until it is approved or rejected", repository)
    event_id = str(event.get("id") or "")
    payload = {
        "endpoint-name": endpoint,
        "monitoring-schedule": schedule,
        "features": ",".join(features),
        "source": resource,
        "region": region,
        "account": str(event.get("account") or resource.split(":")[4]),
        "event-id": event_id,
    }
    github = dispatch.client(settings.api_url, settings.secret_id, settings.region, settings.profile)
    try:
        dispatch.send(github, repository, EVENT_TYPE, payload)
    except dispatch.NoAnswer as exc:
        marker.set(f"{UNCONFIRMED} {key}")
        raise RemoteFailure(
            f"{exc.problem}, so the {EVENT_TYPE} dispatch for {resource} may or may not have gone out; marked "
            f"{DISPATCHED_TAG} so that no retry sends it twice",
            f"if no {EVENT_TYPE} run started in {repository}, start the build workflow by hand",
        ) from None
    marker.set(key)
    gha.log(f"dispatched {EVENT_TYPE} for {endpoint} ({', '.join(features)}) to {repository}")
    return {"action": "dispatched", "event-type": EVENT_TYPE, "repository": repository, **payload}


def _retraining_in_flight(endpoint: str, region: str, settings) -> dict | None:
    """The package a drift retrained for the endpoint, waiting for approval; None when there is
    none, or when the function may not look (then the dispatch goes out, as before this check)."""
    if not endpoint:
        return None
    try:
        return drift.retraining_in_flight(aws.client("sagemaker", region, settings.profile), endpoint)
    except (botocore.exceptions.ClientError, BadInput) as exc:
        gha.log(f"could not check for a retraining of {endpoint} waiting for approval: {exc}")
        return None


def _from_alarm(detail: dict, settings):
    """(endpoint, schedule, features, alarm ARN, key) of a drift alarm in ALARM, or why not."""
    state = detail.get("state") or {}
    if state.get("value") != "ALARM":
        return f"alarm {detail.get('alarmName')!r} is {state.get('value')!r}, not ALARM"
    metrics = [((m.get("metricStat") or {}).get("metric") or {}) for m in (detail.get("configuration") or {}).get("metrics") or []]
    drift = [m for m in metrics if str(m.get("name", "")).startswith(METRIC_PREFIX)]
    if not drift:
        return f"alarm {detail.get('alarmName')!r} watches no {METRIC_PREFIX}* metric"
    dimensions = drift[0].get("dimensions") or {}
    endpoint = dimensions.get("Endpoint") or dimensions.get("EndpointName") or ""
    schedule = dimensions.get("MonitoringSchedule") or dimensions.get("ScheduleName") or ""
    features = sorted({m["name"][len(METRIC_PREFIX):] for m in drift})
    arn = detail.get("alarmArn") or _alarm_arn(detail, settings)
    return endpoint, schedule, features, arn, str(state.get("timestamp") or "")


def _alarm_arn(detail: dict, settings) -> str:
    cloudwatch = aws.client("cloudwatch", settings.region, settings.profile)
    alarms = cloudwatch.describe_alarms(AlarmNames=[detail.get("alarmName", "")])["MetricAlarms"]
    return alarms[0]["AlarmArn"] if alarms else ""


def _from_execution(detail: dict, settings):
    """(endpoint, schedule, features, job ARN, key) of a monitoring execution with violations."""
    schedule_arn = detail.get("MonitoringScheduleArn") or ""
    message = str(detail.get("ExitMessage") or "")
    if not schedule_arn or detail.get("ProcessingJobStatus") != "Completed" or not message.startswith("CompletedWithViolations"):
        return (f"processing job {detail.get('ProcessingJobName')!r} is not a monitoring execution that "
                "completed with violations")
    region = schedule_arn.split(":")[3]
    schedule = schedule_arn.rsplit("/", 1)[-1]
    sagemaker = aws.client("sagemaker", region, settings.profile)
    described = sagemaker.describe_monitoring_schedule(MonitoringScheduleName=schedule)
    outputs = (detail.get("ProcessingOutputConfig") or {}).get("Outputs") or [{}]
    folder = ((outputs[0].get("S3Output") or {}).get("S3Uri") or "").rstrip("/")
    violations = baseline.read_violations(folder, region, settings.profile) if folder else []
    drifted = {v["feature_name"] for v in violations if v.get("constraint_check_type") == "baseline_drift_check"}
    features = sorted(drifted or {v.get("feature_name", "") for v in violations})
    arn = detail.get("ProcessingJobArn") or ""
    return described.get("EndpointName") or "", described["MonitoringScheduleName"], features, arn, arn


def _skipped(reason: str, repository: str = "") -> dict[str, object]:
    gha.log(f"ignored: {reason}")
    return {"action": "ignored", "reason": reason, "repository": repository}
