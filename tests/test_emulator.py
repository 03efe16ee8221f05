"""The emulator's additions to moto, checked through boto3 as any client sees them."""

from __future__ import annotations

import json
import time

import boto3
import pytest
from botocore.exceptions import ClientError
from conftest import ROLE_ARN

from smops.emulator import settings


def pipeline(sm, steps: list[dict], parameters: list[dict] | None = None, name: str = "p") -> None:
    definition = {"Version": "2020-12-01", "Parameters": parameters or [], "Steps": steps}
    sm.create_pipeline(PipelineName=name, PipelineDefinition=json.dumps(definition), RoleArn=ROLE_ARN)


def run_to_end(sm, arn: str, timeout: float = 120) -> tuple[dict, list[dict]]:
    deadline = time.time() + timeout
    while time.time() < deadline:
        execution = sm.describe_pipeline_execution(PipelineExecutionArn=arn)
        if execution["PipelineExecutionStatus"] not in {"Executing", "Stopping"}:
            steps = sm.list_pipeline_execution_steps(PipelineExecutionArn=arn, SortOrder="Ascending")
            return execution, steps["PipelineExecutionSteps"]
        time.sleep(0.02)
    raise AssertionError("execution did not finish")


def test_steps_run_in_dependency_order_and_take_time(sagemaker):
    settings.step_seconds = 0.1
    pipeline(sagemaker, [
        {"Name": "C", "Type": "Processing", "Arguments": {}, "DependsOn": ["B"]},
        {"Name": "A", "Type": "Processing", "Arguments": {}},
        {"Name": "B", "Type": "Training", "Arguments": {"X": {"Get": "Steps.A.ProcessingOutputConfig"}}},
    ])
    arn = sagemaker.start_pipeline_execution(PipelineName="p")["PipelineExecutionArn"]
    execution, steps = run_to_end(sagemaker, arn)
    assert execution["PipelineExecutionStatus"] == "Succeeded"
    assert [s["StepName"] for s in steps] == ["A", "B", "C"]
    # One after the other, each for its simulated time (read from the steps, not the clock here).
    assert all(later["StartTime"] >= earlier["EndTime"] for earlier, later in zip(steps, steps[1:]))
    assert all((s["EndTime"] - s["StartTime"]).total_seconds() >= 0.09 for s in steps)
    assert steps[1]["Metadata"]["TrainingJob"]["Arn"].startswith("arn:aws:sagemaker:us-east-1:123456789012:training-job/")


def test_condition_on_parameters_is_evaluated(sagemaker):
    settings.step_seconds = 0.02
    pipeline(
        sagemaker,
        [{"Name": "Gate", "Type": "Condition", "Arguments": {
            "Conditions": [{"Type": "GreaterThan", "LeftValue": {"Get": "Parameters.Score"}, "RightValue": 0.5}],
            "IfSteps": [{"Name": "Yes", "Type": "Processing", "Arguments": {}}],
            "ElseSteps": [{"Name": "No", "Type": "Fail", "Arguments": {"ErrorMessage": "too low"}}]}}],
        [{"Name": "Score", "Type": "Float", "DefaultValue": 0.9}],
    )
    execution, steps = run_to_end(sagemaker, sagemaker.start_pipeline_execution(PipelineName="p")["PipelineExecutionArn"])
    assert [s["StepName"] for s in steps] == ["Gate", "Yes"]
    assert steps[0]["Metadata"] == {"Condition": {"Outcome": "True"}}

    low = sagemaker.start_pipeline_execution(
        PipelineName="p", PipelineParameters=[{"Name": "Score", "Value": "0.1"}]
    )["PipelineExecutionArn"]
    execution, steps = run_to_end(sagemaker, low)
    assert execution["PipelineExecutionStatus"] == "Failed"
    assert steps[-1]["StepName"] == "No" and steps[-1]["FailureReason"] == "too low"
    assert steps[-1]["Metadata"] == {"Fail": {"ErrorMessage": "too low"}}


def test_unknown_parameter_is_rejected_like_the_real_api(sagemaker):
    pipeline(sagemaker, [], [{"Name": "Known", "Type": "String", "DefaultValue": "x"}])
    with pytest.raises(ClientError, match="Parameter 'Unknown' is not defined"):
        sagemaker.start_pipeline_execution(PipelineName="p", PipelineParameters=[{"Name": "Unknown", "Value": "1"}])


def test_a_failed_step_stops_what_depends_on_it(sagemaker):
    settings.step_seconds = 0.02
    settings.fail_steps["A"] = "ClientError: no data"
    pipeline(sagemaker, [
        {"Name": "A", "Type": "Processing", "Arguments": {}},
        {"Name": "B", "Type": "Training", "Arguments": {}, "DependsOn": ["A"]},
    ])
    execution, steps = run_to_end(sagemaker, sagemaker.start_pipeline_execution(PipelineName="p")["PipelineExecutionArn"])
    assert execution["PipelineExecutionStatus"] == "Failed"
    assert execution["FailureReason"] == "Step failure: One or multiple steps failed."
    assert [(s["StepName"], s["StepStatus"], s.get("FailureReason")) for s in steps] == [
        ("A", "Failed", "ClientError: no data")
    ]


def test_stop_pipeline_execution(sagemaker):
    settings.step_seconds = 3600  # still running whenever the stop comes
    pipeline(sagemaker, [{"Name": "Long", "Type": "Training", "Arguments": {}}])
    arn = sagemaker.start_pipeline_execution(PipelineName="p")["PipelineExecutionArn"]
    sagemaker.stop_pipeline_execution(PipelineExecutionArn=arn, ClientRequestToken="t" * 32)
    assert sagemaker.describe_pipeline_execution(PipelineExecutionArn=arn)["PipelineExecutionStatus"] == "Stopping"
    settings.step_seconds = 0.02  # stopping takes half a step: now quickly
    execution, steps = run_to_end(sagemaker, arn)
    assert execution["PipelineExecutionStatus"] == "Stopped"
    assert steps[0]["StepStatus"] == "Stopped"
    with pytest.raises(ClientError, match="cannot be stopped"):
        sagemaker.stop_pipeline_execution(PipelineExecutionArn=arn, ClientRequestToken="u" * 32)


def test_steps_are_paginated(sagemaker):
    settings.step_seconds = 0.01
    pipeline(sagemaker, [{"Name": f"S{i:02d}", "Type": "Processing", "Arguments": {}} for i in range(25)])
    arn = sagemaker.start_pipeline_execution(PipelineName="p")["PipelineExecutionArn"]
    run_to_end(sagemaker, arn)
    first = sagemaker.list_pipeline_execution_steps(PipelineExecutionArn=arn, MaxResults=10)
    assert len(first["PipelineExecutionSteps"]) == 10 and first["NextToken"]
    paginator = sagemaker.get_paginator("list_pipeline_execution_steps")
    names = [s["StepName"] for page in paginator.paginate(PipelineExecutionArn=arn) for s in page["PipelineExecutionSteps"]]
    assert sorted(names) == [f"S{i:02d}" for i in range(25)]


def test_update_endpoint_validates_like_the_api(sagemaker):
    settings.endpoint_seconds = 0
    sagemaker.create_model(ModelName="m", ExecutionRoleArn=ROLE_ARN, PrimaryContainer={"Image": "i"})
    for name, variant in (("a", "AllTraffic"), ("b", "AllTraffic"), ("other", "Blue")):
        sagemaker.create_endpoint_config(EndpointConfigName=name, ProductionVariants=[
            {"VariantName": variant, "ModelName": "m", "InitialInstanceCount": 1, "InstanceType": "ml.m5.large"}])
    sagemaker.create_endpoint(EndpointName="e", EndpointConfigName="a")
    sagemaker.describe_endpoint(EndpointName="e")
    routing = {"Type": "LINEAR", "WaitIntervalInSeconds": 60, "LinearStepSize": {"Type": "CAPACITY_PERCENT", "Value": 5}}
    with pytest.raises(ClientError, match="LinearStepSize Value must be between 10 and 50"):
        sagemaker.update_endpoint(EndpointName="e", EndpointConfigName="b", DeploymentConfig={
            "BlueGreenUpdatePolicy": {"TrafficRoutingConfiguration": routing}})
    with pytest.raises(ClientError, match="alarm.*do not exist"):
        sagemaker.update_endpoint(EndpointName="e", EndpointConfigName="b", DeploymentConfig={
            "BlueGreenUpdatePolicy": {"TrafficRoutingConfiguration": {"Type": "ALL_AT_ONCE", "WaitIntervalInSeconds": 0}},
            "AutoRollbackConfiguration": {"Alarms": [{"AlarmName": "ghost"}]}})
    with pytest.raises(ClientError, match="same variant names"):
        sagemaker.update_endpoint(EndpointName="e", EndpointConfigName="other", DeploymentConfig={
            "BlueGreenUpdatePolicy": {"TrafficRoutingConfiguration": {"Type": "ALL_AT_ONCE", "WaitIntervalInSeconds": 0}}})
    assert sagemaker.describe_endpoint(EndpointName="e")["EndpointConfigName"] == "a"


def test_invoke_endpoint_answers_only_for_endpoints_that_serve(sagemaker):
    runtime = boto3.client("sagemaker-runtime")
    sagemaker.create_model(ModelName="m", ExecutionRoleArn=ROLE_ARN, PrimaryContainer={"Image": "i"})
    sagemaker.create_endpoint_config(EndpointConfigName="c", ProductionVariants=[
        {"VariantName": "AllTraffic", "ModelName": "m", "InitialInstanceCount": 1, "InstanceType": "ml.m5.large"}])
    settings.endpoint_seconds = 3600
    sagemaker.create_endpoint(EndpointName="creating", EndpointConfigName="c")
    with pytest.raises(ClientError, match="Endpoint creating of account 123456789012 not found"):
        runtime.invoke_endpoint(EndpointName="creating", Body=b"1", ContentType="text/csv")
    settings.endpoint_seconds = 0
    sagemaker.create_endpoint(EndpointName="e", EndpointConfigName="c")
    answer = runtime.invoke_endpoint(EndpointName="e", Body=b"1", ContentType="text/csv")
    assert answer["Body"].read() == b"0.42\n" and answer["InvokedProductionVariant"] == "AllTraffic"


def test_approval_reaches_eventbridge_rules_as_sagemaker_sends_it(sagemaker):
    sqs, events = boto3.client("sqs"), boto3.client("events")
    queue = sqs.create_queue(QueueName="approvals")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events.put_rule(Name="approved", EventPattern=json.dumps({
        "source": ["aws.sagemaker"], "detail-type": ["SageMaker Model Package State Change"],
        "detail": {"ModelApprovalStatus": ["Approved"]}}))
    events.put_targets(Rule="approved", Targets=[{"Id": "queue", "Arn": queue_arn}])
    sagemaker.create_model_package_group(ModelPackageGroupName="g")
    arn = sagemaker.create_model_package(ModelPackageGroupName="g", ModelApprovalStatus="PendingManualApproval",
                                         InferenceSpecification={"Containers": [{"Image": "i"}],
                                                                 "SupportedContentTypes": ["text/csv"],
                                                                 "SupportedResponseMIMETypes": ["text/csv"]})["ModelPackageArn"]
    assert "Messages" not in sqs.receive_message(QueueUrl=queue)
    sagemaker.update_model_package(ModelPackageArn=arn, ModelApprovalStatus="Approved")
    event = json.loads(sqs.receive_message(QueueUrl=queue)["Messages"][0]["Body"])
    assert event["source"] == "aws.sagemaker" and event["resources"] == [arn]
    assert event["detail"]["ModelPackageArn"] == arn
    assert event["detail"]["ModelApprovalStatus"] == "Approved" and event["detail"]["ModelPackageVersion"] == 1
