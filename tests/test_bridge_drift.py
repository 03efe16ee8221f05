"""The approval bridge's drift route: Model Monitor's drift → one model_drift dispatch per violation."""

from __future__ import annotations

import json

import boto3
import pytest
from moto.sagemaker.models import sagemaker_backends
from test_bridge import TOKEN, github, github_server, secrets  # noqa: F401 (fixtures)
from test_infra import template

from smops.bridge import drift, handler
from smops.emulator import monitoring

REPOSITORY = "octo-org/churn"
DISPATCHES = f"/repos/{REPOSITORY}/dispatches"
ENDPOINT, SCHEDULE = "churn-prod", "churn-dq"


@pytest.fixture
def routed(secrets, github, monkeypatch):  # noqa: F811
    arn = secrets.create_secret(Name="smops/github", SecretString=TOKEN)["ARN"]
    monkeypatch.setenv("SMOPS_GITHUB_SECRET_ARN", arn)
    monkeypatch.setenv("SMOPS_REPOSITORY_MAP", json.dumps({ENDPOINT: REPOSITORY}))
    return github


def alarm_event(state: str = "ALARM", timestamp: str = "2026-05-01T13:00:12.345+0000") -> dict:
    """A "CloudWatch Alarm State Change" (the CloudWatch User Guide's single-metric sample) of an
    alarm on Model Monitor's drift metric for feature `tenure`."""
    cloudwatch = boto3.client("cloudwatch")
    cloudwatch.put_metric_alarm(
        AlarmName="churn-prod-tenure-drift", Namespace="aws/sagemaker/Endpoints/data-metrics",
        MetricName="feature_baseline_drift_tenure", Statistic="Maximum", Period=3600, EvaluationPeriods=1,
        Threshold=0.1, ComparisonOperator="GreaterThanThreshold",
        Dimensions=[{"Name": "Endpoint", "Value": ENDPOINT}, {"Name": "MonitoringSchedule", "Value": SCHEDULE}])
    arn = cloudwatch.describe_alarms(AlarmNames=["churn-prod-tenure-drift"])["MetricAlarms"][0]["AlarmArn"]
    return {
        "version": "0", "id": "c4c1c1c9-6542-e61b-6ef0-8c4d36933a92", "detail-type": "CloudWatch Alarm State Change",
        "source": "aws.cloudwatch", "account": "123456789012", "time": "2026-05-01T13:00:12Z", "region": "us-east-1",
        "resources": [arn],
        "detail": {
            "alarmName": "churn-prod-tenure-drift",
            "configuration": {"metrics": [{"id": "m1", "metricStat": {
                "metric": {"dimensions": {"Endpoint": ENDPOINT, "MonitoringSchedule": SCHEDULE},
                           "name": "feature_baseline_drift_tenure", "namespace": "aws/sagemaker/Endpoints/data-metrics"},
                "period": 3600, "stat": "Maximum"}, "returnData": True}]},
            "previousState": {"reason": "Threshold Crossed", "timestamp": "2026-05-01T12:00:12.345+0000", "value": "OK"},
            "state": {"reason": "Threshold Crossed: 1 datapoint [0.31] was greater than the threshold (0.1).",
                      "timestamp": timestamp, "value": state},
        },
    }


def test_a_drift_alarm_dispatches_once_per_transition(routed):
    event = alarm_event()
    assert drift.matches(event)
    outputs = handler(event)
    assert outputs["action"] == "dispatched"
    [request] = routed.dispatches()
    assert request.path == DISPATCHES
    assert request.body == {"event_type": "model_drift", "client_payload": {
        "endpoint-name": ENDPOINT, "monitoring-schedule": SCHEDULE, "features": "tenure",
        "source": event["resources"][0], "region": "us-east-1", "account": "123456789012",
        "event-id": event["id"]}}
    assert handler(event)["action"] == "ignored"  # the same delivery again
    assert handler(alarm_event(state="OK"))["action"] == "ignored"
    assert handler(alarm_event(timestamp="2026-05-02T13:00:12.345+0000"))["action"] == "dispatched"
    assert len(routed.dispatches()) == 2


def test_an_alarm_on_another_metric_or_an_unrouted_endpoint_sends_nothing(routed, monkeypatch):
    event = alarm_event()
    event["detail"]["configuration"]["metrics"][0]["metricStat"]["metric"]["name"] = "CPUUtilization"
    assert "watches no feature_baseline_drift_" in handler(event)["reason"]
    monkeypatch.setenv("SMOPS_REPOSITORY_MAP", json.dumps({"other-endpoint": REPOSITORY}))
    assert "no repository for endpoint 'churn-prod'" in handler(alarm_event())["reason"]
    assert routed.dispatches() == []


def deployed_rule(name: str) -> dict:
    return template("approval-bridge.yaml")["Resources"][name]["Properties"]["EventPattern"]


def test_a_monitoring_execution_with_violations_dispatches_once(routed):
    """The execution's event, delivered by the template's rule to a queue, as EventBridge would."""
    sagemaker, sqs, events = boto3.client("sagemaker"), boto3.client("sqs"), boto3.client("events")
    boto3.client("s3").create_bucket(Bucket="reports")
    queue = sqs.create_queue(QueueName="drift-events")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events.put_rule(Name="drift", EventPattern=json.dumps(deployed_rule("DriftExecutionRule")))
    events.put_targets(Rule="drift", Targets=[{"Id": "q", "Arn": queue_arn}])
    sagemaker.create_monitoring_schedule(MonitoringScheduleName=SCHEDULE, MonitoringScheduleConfig={
        "MonitoringJobDefinition": {
            "MonitoringInputs": [{"EndpointInput": {"EndpointName": ENDPOINT, "LocalPath": "/opt/ml/processing/input"}}],
            "MonitoringOutputConfig": {"MonitoringOutputs": [{"S3Output": {"S3Uri": "s3://reports/mm", "LocalPath": "/opt/ml/processing/output"}}]},
            "MonitoringResources": {"ClusterConfig": {"InstanceCount": 1, "InstanceType": "ml.m5.xlarge", "VolumeSizeInGB": 20}},
            "MonitoringAppSpecification": {"ImageUri": monitoring.IMAGE},
            "RoleArn": "arn:aws:iam::123456789012:role/model-monitor"}})
    backend = sagemaker_backends["123456789012"]["us-east-1"]
    monitoring.execute(backend, SCHEDULE, [])  # no violations: the rule does not match
    job = monitoring.execute(backend, SCHEDULE, [
        {"feature_name": "tenure", "constraint_check_type": "baseline_drift_check", "description": "…"},
        {"feature_name": "contract", "constraint_check_type": "categorical_values_check", "description": "…"},
        {"feature_name": "monthly_charges", "constraint_check_type": "baseline_drift_check", "description": "…"}])
    [message] = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10)["Messages"]
    event = json.loads(message["Body"])
    assert event["detail"]["ExitMessage"].startswith("CompletedWithViolations")
    outputs = handler(event)
    assert outputs["action"] == "dispatched" and outputs["features"] == "monthly_charges,tenure"
    [request] = routed.dispatches()
    assert request.body["client_payload"]["source"] == job
    assert request.body["client_payload"]["monitoring-schedule"] == SCHEDULE
    assert handler(event)["action"] == "ignored"
    assert len(routed.dispatches()) == 1


def test_the_drift_alarm_rule_passes_alarms_going_to_alarm(aws_env):
    pattern = json.dumps(deployed_rule("DriftAlarmRule"))
    events = boto3.client("events")
    event = alarm_event()
    assert events.test_event_pattern(EventPattern=pattern, Event=json.dumps(event))["Result"]
    event["detail"]["state"]["value"] = "OK"
    assert not events.test_event_pattern(EventPattern=pattern, Event=json.dumps(event))["Result"]


def test_no_dispatch_while_a_drift_retraining_of_the_endpoint_waits_for_approval(routed):
    """The model_drift route holds to one drift retraining in flight per endpoint, as the monitor
    starter does with `smops drift`'s retrain output."""
    from smops.emulator import settings

    settings.endpoint_seconds = 0
    sagemaker = boto3.client("sagemaker")
    sagemaker.create_model_package_group(ModelPackageGroupName="churn")
    spec = {"Containers": [{"Image": "img"}], "SupportedContentTypes": ["text/csv"],
            "SupportedResponseMIMETypes": ["text/csv"]}
    served = sagemaker.create_model_package(ModelPackageGroupName="churn", ModelApprovalStatus="Approved",
                                            InferenceSpecification=spec)["ModelPackageArn"]
    sagemaker.create_model(ModelName=ENDPOINT, ExecutionRoleArn="arn:aws:iam::123456789012:role/m",
                           PrimaryContainer={"ModelPackageName": served})
    sagemaker.create_endpoint_config(EndpointConfigName=ENDPOINT, ProductionVariants=[{
        "VariantName": "AllTraffic", "ModelName": ENDPOINT, "InstanceType": "ml.m5.large", "InitialInstanceCount": 1}])
    sagemaker.create_endpoint(EndpointName=ENDPOINT, EndpointConfigName=ENDPOINT)
    retrained = sagemaker.create_model_package(
        ModelPackageGroupName="churn", ModelApprovalStatus="PendingManualApproval", InferenceSpecification=spec,
        CustomerMetadataProperties={"smops:retrain-reason": "drift:tenure"})["ModelPackageArn"]

    outputs = handler(alarm_event())
    assert outputs["action"] == "ignored" and routed.dispatches() == []
    assert "churn v2, which a drift retrained, still waits for approval" in outputs["reason"]
    sagemaker.update_model_package(ModelPackageArn=retrained, ModelApprovalStatus="Rejected")
    assert handler(alarm_event())["action"] == "dispatched"
