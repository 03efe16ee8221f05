"""Autoscaling around deploys and rollbacks: registered, kept across a canary deploy, an
instance-type change and a rollback, the new fleet starting with the old one's live capacity;
and the emulator enforcing what AWS documents for auto-scaled variants."""

from __future__ import annotations

import boto3
import botocore.exceptions
import pytest
from test_deploy import fast_endpoints, deploy, first_error_line, register, trip_alarm_when_updating  # noqa: F401 (fast_endpoints is autouse)

from smops.cli import main
from smops.deploy.scaling import DIMENSION, POLICY_NAME
from smops.emulator import settings

SCALING = ["--autoscaling-min", "2", "--autoscaling-max", "6", "--autoscaling-target", "70"]
RESOURCE = "endpoint/fraud-prod/variant/AllTraffic"


@pytest.fixture
def aas(aws_env):
    return boto3.client("application-autoscaling")


def registration(aas) -> tuple:
    """The variant's scalable target and policies, as Application Auto Scaling describes them."""
    targets = aas.describe_scalable_targets(ServiceNamespace="sagemaker", ResourceIds=[RESOURCE])["ScalableTargets"]
    policies = aas.describe_scaling_policies(ServiceNamespace="sagemaker", ResourceId=RESOURCE)["ScalingPolicies"]
    return (
        [(t["MinCapacity"], t["MaxCapacity"]) for t in targets],
        [(p["PolicyName"], p["TargetTrackingScalingPolicyConfiguration"]) for p in policies],
    )


def live_count(sm) -> int:
    return sm.describe_endpoint(EndpointName="fraud-prod")["ProductionVariants"][0]["DesiredInstanceCount"]


def scale_out(sm, count: int) -> None:
    """What Application Auto Scaling does when traffic grows."""
    sm.update_endpoint_weights_and_capacities(
        EndpointName="fraud-prod",
        DesiredWeightsAndCapacities=[{"VariantName": "AllTraffic", "DesiredInstanceCount": count, "DesiredWeight": 1.0}],
    )


def test_deploy_registers_the_variant_with_a_target_tracking_policy(sagemaker, aas, outputs):
    assert deploy("--model-package-arn", register(sagemaker), "--instance-count", "2", *SCALING,
                  "--autoscaling-scale-in-cooldown", "600") == 0
    assert registration(aas) == (
        [(2, 6)],
        [(POLICY_NAME, {
            "TargetValue": 70.0,
            "PredefinedMetricSpecification": {"PredefinedMetricType": "SageMakerVariantInvocationsPerInstance"},
            "ScaleInCooldown": 600,
            "ScaleOutCooldown": 300,
        })],
    )


def test_scaling_and_capacity_are_kept_across_a_canary_deploy_and_a_rollback(sagemaker, aas, outputs):
    assert deploy("--model-package-arn", register(sagemaker), "--instance-count", "2", *SCALING) == 0
    first = outputs()["endpoint-config-name"]
    before = registration(aas)
    scale_out(sagemaker, 5)

    # A canary deploy without the --autoscaling-* flags: the registration stays, and the new
    # fleet starts with the 5 instances the old one had, not the config's 2.
    assert deploy("--model-package-arn", register(sagemaker), "--instance-count", "2", "--strategy", "canary",
                  "--create-alarms") == 0
    second = outputs()["endpoint-config-name"]
    assert sagemaker.describe_endpoint(EndpointName="fraud-prod")["EndpointConfigName"] == second
    assert registration(aas) == before
    assert live_count(sagemaker) == 5

    scale_out(sagemaker, 4)
    assert main(["rollback", "--endpoint-name", "fraud-prod"]) == 0
    assert sagemaker.describe_endpoint(EndpointName="fraud-prod")["EndpointConfigName"] == first
    assert registration(aas) == before
    assert live_count(sagemaker) == 4


def test_an_instance_type_change_deregisters_around_the_update(sagemaker, aas, outputs, capsys):
    assert deploy("--model-package-arn", register(sagemaker), "--instance-count", "2", *SCALING) == 0
    before = registration(aas)
    scale_out(sagemaker, 3)
    assert deploy("--model-package-arn", register(sagemaker), "--instance-type", "ml.c5.xlarge") == 0
    assert "deregistered AllTraffic from autoscaling for the instance-type change" in capsys.readouterr().err
    assert registration(aas) == before
    assert live_count(sagemaker) == 3
    config = sagemaker.describe_endpoint_config(EndpointConfigName=outputs()["endpoint-config-name"])
    assert config["ProductionVariants"][0]["InstanceType"] == "ml.c5.xlarge"


def test_a_rolled_back_instance_type_change_gets_its_scaling_back(sagemaker, aas, outputs, capsys):
    assert deploy("--model-package-arn", register(sagemaker), *SCALING, "--create-alarms") == 0
    before = registration(aas)
    settings.time_scale = 0.01
    thread = trip_alarm_when_updating(sagemaker, "fraud-prod-AllTraffic-5xx-errors")
    assert deploy("--model-package-arn", register(sagemaker), "--instance-type", "ml.c5.xlarge",
                  "--strategy", "canary", "--create-alarms") == 1
    thread.join()
    assert "was rolled back" in first_error_line(capsys.readouterr().err)
    assert registration(aas) == before


def test_new_scaling_flags_on_an_unchanged_endpoint_update_the_registration(sagemaker, aas, outputs):
    arn = register(sagemaker)
    assert deploy("--model-package-arn", arn, *SCALING) == 0
    assert deploy("--model-package-arn", arn, "--autoscaling-min", "1", "--autoscaling-max", "3",
                  "--autoscaling-target", "40") == 0
    assert outputs()["action"] == "unchanged"
    limits, policies = registration(aas)
    assert limits == [(1, 3)] and policies[0][1]["TargetValue"] == 40.0


@pytest.mark.parametrize(
    "flags, message",
    [
        (["--autoscaling-min", "2"], "--autoscaling-max, --autoscaling-target missing"),
        (["--autoscaling-min", "0", "--autoscaling-max", "2", "--autoscaling-target", "70"], "--autoscaling-min 0 is less than 1"),
        ([*SCALING, "--instance-type", "ml.t2.medium"], "ml.t2.medium is a burstable instance type"),
        ([*SCALING, "--serverless-memory-mb", "2048"], "a serverless endpoint scales by itself"),
        (["--autoscaling-min", "1", "--autoscaling-max", "2", "--autoscaling-target", "0"], "--autoscaling-target 0 is not positive"),
    ],
)
def test_scaling_flags_the_api_would_refuse_are_refused_first(sagemaker, aas, capsys, flags, message):
    assert deploy("--model-package-arn", register(sagemaker), *flags) == 2
    assert message in first_error_line(capsys.readouterr().err)
    assert sagemaker.list_models()["Models"] == [] and registration(aas) == ([], [])


def test_the_emulator_refuses_an_instance_type_change_of_a_registered_variant(sagemaker, aas, outputs):
    assert deploy("--model-package-arn", register(sagemaker), *SCALING) == 0
    model = outputs()["model-name"]
    sagemaker.create_endpoint_config(
        EndpointConfigName="bigger",
        ProductionVariants=[{"VariantName": "AllTraffic", "ModelName": model, "InitialInstanceCount": 1,
                             "InstanceType": "ml.c5.xlarge"}],
    )
    with pytest.raises(botocore.exceptions.ClientError, match="registered with Application Auto Scaling"):
        sagemaker.update_endpoint(EndpointName="fraud-prod", EndpointConfigName="bigger")
    # A new model on the same instance type is allowed, registration and all.
    sagemaker.create_endpoint_config(
        EndpointConfigName="same-type",
        ProductionVariants=[{"VariantName": "AllTraffic", "ModelName": model, "InitialInstanceCount": 1,
                             "InstanceType": "ml.m5.large"}],
    )
    scale_out(sagemaker, 3)
    sagemaker.update_endpoint(EndpointName="fraud-prod", EndpointConfigName="same-type")
    with pytest.raises(botocore.exceptions.ClientError, match="Cannot update in-progress endpoint"):
        scale_out(sagemaker, 4)  # capacity is blocked while the update runs
    sagemaker.get_waiter("endpoint_in_service").wait(EndpointName="fraud-prod", WaiterConfig={"Delay": 0.05})
    assert live_count(sagemaker) == 1  # without RetainAllVariantProperties, the config's count
    # Deregistered, the instance type may change; RetainAllVariantProperties keeps the live count.
    scale_out(sagemaker, 3)
    aas.deregister_scalable_target(ServiceNamespace="sagemaker", ResourceId=RESOURCE, ScalableDimension=DIMENSION)
    sagemaker.update_endpoint(EndpointName="fraud-prod", EndpointConfigName="bigger", RetainAllVariantProperties=True)
    sagemaker.get_waiter("endpoint_in_service").wait(EndpointName="fraud-prod", WaiterConfig={"Delay": 0.05})
    assert live_count(sagemaker) == 3


def test_the_plan_shows_the_scaling_it_keeps(sagemaker, aas, outputs, capsys):
    assert deploy("--model-package-arn", register(sagemaker), "--instance-count", "2", *SCALING) == 0
    scale_out(sagemaker, 5)
    capsys.readouterr()
    assert deploy("--model-package-arn", register(sagemaker), "--instance-count", "2", "--dry-run") == 0
    err = capsys.readouterr().err
    assert "instance count  5 (the config says 2)" in err
    assert "kept: 2-6 instances" in err and "the new fleet starts with the live 5 instance(s) (RetainAllVariantProperties)" in err
