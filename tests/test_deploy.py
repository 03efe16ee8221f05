"""`smops deploy` against the emulator: create, update strategies, rollback, guards, refusals."""

from __future__ import annotations

import subprocess
import sys
import threading
import time

import boto3
import pytest
from conftest import ROLE_ARN

from smops.cli import main
from smops.emulator import settings

GROUP = "fraud-models"
IMAGE = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1"


@pytest.fixture(autouse=True)
def fast_endpoints(aws_env):
    settings.endpoint_seconds = 0.05
    settings.time_scale = 0.001  # a 300 s bake lasts 0.3 s


def register(sm, status: str = "Approved", inference: bool = True) -> str:
    if GROUP not in [g["ModelPackageGroupName"] for g in sm.list_model_package_groups()["ModelPackageGroupSummaryList"]]:
        sm.create_model_package_group(ModelPackageGroupName=GROUP)
    request = {"ModelPackageGroupName": GROUP, "ModelApprovalStatus": status}
    if inference:
        request["InferenceSpecification"] = {
            "Containers": [{"Image": IMAGE, "ModelDataUrl": "s3://bucket/model.tar.gz"}],
            "SupportedContentTypes": ["text/csv"],
            "SupportedResponseMIMETypes": ["text/csv"],
        }
    return sm.create_model_package(**request)["ModelPackageArn"]


def deploy(*extra: str, endpoint: str = "fraud-prod") -> int:
    return main(["deploy", "--endpoint-name", endpoint, "--role-arn", ROLE_ARN, *extra])


def first_error_line(err: str) -> str:
    return next(line for line in err.splitlines() if line.startswith("error:"))


def nothing_created(sm) -> bool:
    return not sm.list_models()["Models"] and not sm.list_endpoint_configs()["EndpointConfigs"]


def tags_of(sm, arn: str) -> dict[str, str]:
    return {t["Key"]: t["Value"] for t in sm.list_tags(ResourceArn=arn)["Tags"]}


def test_create_tags_everything_and_serves_the_package(sagemaker, outputs, monkeypatch, summary):
    monkeypatch.setenv("GITHUB_SHA", "feedbeef")
    monkeypatch.setenv("GITHUB_SERVER_URL", "https://github.com")
    monkeypatch.setenv("GITHUB_REPOSITORY", "octo/fraud")
    monkeypatch.setenv("GITHUB_RUN_ID", "9")
    arn = register(sagemaker)
    assert deploy("--model-package-arn", arn, "--environment", "production") == 0
    out = outputs()
    assert out["action"] == "created" and out["model-package-arn"] == arn
    found = sagemaker.describe_endpoint(EndpointName="fraud-prod")
    assert found["EndpointStatus"] == "InService"
    assert found["EndpointConfigName"] == out["endpoint-config-name"] == out["model-name"]
    assert out["model-name"].startswith("fraud-prod-v1-") and len(out["model-name"]) <= 63
    model = sagemaker.describe_model(ModelName=out["model-name"])
    assert model["PrimaryContainer"]["ModelPackageName"] == arn
    config = sagemaker.describe_endpoint_config(EndpointConfigName=out["endpoint-config-name"])
    assert config["ProductionVariants"][0]["InstanceType"] == "ml.m5.large"
    for resource_arn in (model["ModelArn"], config["EndpointConfigArn"], found["EndpointArn"]):
        tags = tags_of(sagemaker, resource_arn)
        assert tags["smops:git-sha"] == "feedbeef"
        assert tags["smops:run-url"] == "https://github.com/octo/fraud/actions/runs/9"
        assert tags["smops:model-package-arn"] == arn
        assert tags["smops:environment"] == "production"
    text = summary()
    assert "### smops deploy: `fraud-prod` ✅ created" in text and f"{GROUP} v1, Approved" in text


EXPECTED = {
    "all-at-once": {
        "BlueGreenUpdatePolicy": {
            "TrafficRoutingConfiguration": {"Type": "ALL_AT_ONCE", "WaitIntervalInSeconds": 120},
            "TerminationWaitInSeconds": 60,
        }
    },
    "canary": {
        "BlueGreenUpdatePolicy": {
            "TrafficRoutingConfiguration": {
                "Type": "CANARY",
                "WaitIntervalInSeconds": 120,
                "CanarySize": {"Type": "CAPACITY_PERCENT", "Value": 25},
            },
            "TerminationWaitInSeconds": 60,
        }
    },
    "linear": {
        "BlueGreenUpdatePolicy": {
            "TrafficRoutingConfiguration": {
                "Type": "LINEAR",
                "WaitIntervalInSeconds": 120,
                "LinearStepSize": {"Type": "CAPACITY_PERCENT", "Value": 50},
            },
            "TerminationWaitInSeconds": 60,
        }
    },
    "rolling": {
        "RollingUpdatePolicy": {
            "MaximumBatchSize": {"Type": "CAPACITY_PERCENT", "Value": 20},
            "WaitIntervalInSeconds": 120,
        }
    },
}


@pytest.mark.parametrize("strategy", sorted(EXPECTED))
def test_update_sends_the_exact_deployment_config(sagemaker, outputs, strategy):
    first = register(sagemaker)
    assert deploy("--model-package-arn", first) == 0
    second = register(sagemaker)
    sizes = ["--canary-size", "25", "--linear-step", "50", "--batch-size", "20"]
    assert deploy("--model-package-arn", second, "--strategy", strategy, "--wait-interval", "120",
                  "--termination-wait", "60", *sizes) == 0
    out = outputs()
    assert out["action"] == "updated"
    found = sagemaker.describe_endpoint(EndpointName="fraud-prod")
    assert found["EndpointConfigName"] == out["endpoint-config-name"]
    assert found["LastDeploymentConfig"] == EXPECTED[strategy]


def test_alarms_and_timeout_reach_the_deployment_config(sagemaker):
    cloudwatch = boto3.client("cloudwatch")
    cloudwatch.put_metric_alarm(
        AlarmName="team-errors", MetricName="Invocation4XXErrors", Namespace="AWS/SageMaker",
        Statistic="Sum", Period=60, EvaluationPeriods=1, Threshold=5, ComparisonOperator="GreaterThanThreshold",
    )
    assert deploy("--model-package-arn", register(sagemaker)) == 0
    assert deploy("--model-package-arn", register(sagemaker), "--strategy", "canary", "--alarm", "team-errors",
                  "--create-alarms", "--max-execution-timeout", "1800") == 0
    config = sagemaker.describe_endpoint(EndpointName="fraud-prod")["LastDeploymentConfig"]
    assert config["BlueGreenUpdatePolicy"]["MaximumExecutionTimeoutInSeconds"] == 1800
    assert config["AutoRollbackConfiguration"] == {
        "Alarms": [
            {"AlarmName": "team-errors"},
            {"AlarmName": "fraud-prod-AllTraffic-5xx-errors"},
            {"AlarmName": "fraud-prod-AllTraffic-p99-model-latency"},
        ]
    }
    latency = cloudwatch.describe_alarms(AlarmNames=["fraud-prod-AllTraffic-p99-model-latency"])
    alarm = latency["MetricAlarms"][0]
    assert alarm["ExtendedStatistic"] == "p99" and alarm["Threshold"] == 1_000_000
    assert {"Name": "VariantName", "Value": "AllTraffic"} in alarm["Dimensions"]


def trip_alarm_when_updating(sm, alarm: str) -> threading.Thread:
    """Put the alarm into ALARM once the update is baking, as a bad canary would."""
    cloudwatch = boto3.client("cloudwatch")

    def watch():
        deadline = time.monotonic() + 300  # a safety net: the update starts within seconds
        while time.monotonic() < deadline:
            if sm.describe_endpoint(EndpointName="fraud-prod")["EndpointStatus"] == "Updating":
                cloudwatch.set_alarm_state(AlarmName=alarm, StateValue="ALARM", StateReason="5XX errors: 12 in 1 minute")
                return
            time.sleep(0.01)

    thread = threading.Thread(target=watch)
    thread.start()
    return thread


def test_rollback_fails_the_job_and_the_old_config_keeps_serving(sagemaker, outputs, capsys, summary):
    assert deploy("--model-package-arn", register(sagemaker), "--create-alarms") == 0
    old_config = outputs()["endpoint-config-name"]
    settings.time_scale = 1  # a real 300 s bake: the alarm trips within it, however busy the machine
    thread = trip_alarm_when_updating(sagemaker, "fraud-prod-AllTraffic-5xx-errors")
    assert deploy("--model-package-arn", register(sagemaker), "--strategy", "canary", "--create-alarms") == 1
    thread.join()
    line = first_error_line(capsys.readouterr().err)
    assert "deployment to fraud-prod was rolled back" in line
    assert "fraud-prod-AllTraffic-5xx-errors" in line
    assert f"the previous config {old_config} is still serving" in line
    found = sagemaker.describe_endpoint(EndpointName="fraud-prod")
    assert found["EndpointStatus"] == "InService" and found["EndpointConfigName"] == old_config
    assert outputs()["action"] == "updated"
    assert "❌ deployment to fraud-prod was rolled back" in summary()
    assert '  shift -.->|"alarm fraud-prod-AllTraffic-5xx-errors in ALARM"| back\n' in summary()


def test_not_approved_is_refused_before_anything_is_created(sagemaker, capsys):
    arn = register(sagemaker, status="PendingManualApproval")
    assert deploy("--model-package-arn", arn) == 2
    line = first_error_line(capsys.readouterr().err)
    assert "is PendingManualApproval, not Approved" in line and f"smops approve --model-package-arn {arn}" in line
    assert nothing_created(sagemaker)


def test_newest_approved_of_a_group(sagemaker, outputs):
    approved = register(sagemaker)
    register(sagemaker, status="PendingManualApproval")
    assert deploy("--model-package-group", GROUP) == 0
    assert outputs()["model-package-arn"] == approved


def test_group_without_approved_package(sagemaker, capsys):
    rejected = register(sagemaker, status="Rejected")
    assert deploy("--model-package-group", GROUP) == 2
    assert f"has no Approved package: register a new version with smops build, or approve the newest rejected one: " \
           f"smops approve --model-package-arn {rejected}" in capsys.readouterr().err
    assert nothing_created(sagemaker)


def test_package_without_inference_specification(sagemaker, capsys):
    assert deploy("--model-package-arn", register(sagemaker, inference=False)) == 2
    assert "has no inference specification" in capsys.readouterr().err
    assert nothing_created(sagemaker)


def test_rerun_is_unchanged_and_creates_nothing(sagemaker, outputs, capsys):
    arn = register(sagemaker)
    assert deploy("--model-package-arn", arn) == 0
    first = outputs()
    assert deploy("--model-package-arn", arn) == 0
    second = outputs()
    assert second["action"] == "unchanged"
    assert second["endpoint-config-name"] == first["endpoint-config-name"]
    assert second["model-name"] == first["model-name"]
    assert len(sagemaker.list_models()["Models"]) == 1
    assert len(sagemaker.list_endpoint_configs()["EndpointConfigs"]) == 1
    assert "already serves" in capsys.readouterr().err


def test_same_package_with_new_settings_is_an_update(sagemaker, outputs):
    arn = register(sagemaker)
    assert deploy("--model-package-arn", arn) == 0
    assert deploy("--model-package-arn", arn, "--instance-count", "2") == 0
    assert outputs()["action"] == "updated"


def test_production_guard(sagemaker, outputs, capsys):
    arn = register(sagemaker)
    assert deploy("--model-package-arn", arn, "--require-on-endpoint", "fraud-staging") == 2
    assert "promotion guard: endpoint fraud-staging does not exist" in capsys.readouterr().err
    assert nothing_created(sagemaker)

    older = register(sagemaker)
    assert deploy("--model-package-arn", older, endpoint="fraud-staging") == 0
    assert deploy("--model-package-arn", arn, "--require-on-endpoint", "fraud-staging") == 2
    assert f"fraud-staging serves {older}, not {arn}" in capsys.readouterr().err

    assert deploy("--model-package-arn", arn, endpoint="fraud-staging") == 0
    assert deploy("--model-package-arn", arn, "--require-on-endpoint", "fraud-staging") == 0
    assert outputs()["endpoint-name"] == "fraud-prod"


def test_serverless(sagemaker, outputs, capsys):
    assert deploy("--model-package-arn", register(sagemaker), "--serverless-memory-mb", "2048") == 0
    config = sagemaker.describe_endpoint_config(EndpointConfigName=outputs()["endpoint-config-name"])
    assert config["ProductionVariants"][0]["ServerlessConfig"] == {"MemorySizeInMB": 2048, "MaxConcurrency": 5}
    assert deploy("--model-package-arn", register(sagemaker), "--serverless-memory-mb", "2048") == 0
    assert outputs()["action"] == "updated"

    assert deploy("--model-package-arn", register(sagemaker), "--serverless-memory-mb", "2048",
                  "--strategy", "canary") == 2
    assert "serverless endpoints do not take canary deployments" in capsys.readouterr().err
    assert deploy("--model-package-arn", register(sagemaker), "--serverless-memory-mb", "1500") == 2


@pytest.mark.parametrize(
    "flags, message",
    [
        (["--strategy", "canary", "--canary-size", "60"], "--canary-size 60 is outside 1-50 percent"),
        (["--strategy", "linear", "--linear-step", "5"], "--linear-step 5 is outside 10-50 percent"),
        (["--wait-interval", "4000"], "--wait-interval 4000 is outside 0-3600 seconds"),
        (["--max-execution-timeout", "100"], "--max-execution-timeout 100 is outside 600-28800 seconds"),
        (["--strategy", "linear", "--max-execution-timeout", "900"], "is not more than the 1500s of waits"),
        (["--alarm", "no-such-alarm"], "rollback alarm(s) no-such-alarm do not exist"),
        (["--data-capture-uri", "bucket/prefix"], "is not an s3:// URI"),
    ],
)
def test_combinations_the_api_rejects_are_refused_first(sagemaker, capsys, flags, message):
    assert deploy("--model-package-arn", register(sagemaker), *flags) == 2
    assert message in first_error_line(capsys.readouterr().err)
    assert nothing_created(sagemaker)


def test_busy_endpoint_is_refused_or_waited_for(sagemaker, outputs, capsys):
    assert deploy("--model-package-arn", register(sagemaker)) == 0
    # An update by hand that bakes 200 real seconds: busy for as long as the test needs, until
    # its own rollback alarm ends it.
    settings.time_scale = 1
    cloudwatch = boto3.client("cloudwatch")
    cloudwatch.put_metric_alarm(
        AlarmName="by-hand", MetricName="Invocation5XXErrors", Namespace="AWS/SageMaker", Statistic="Sum",
        Period=60, EvaluationPeriods=1, Threshold=1, ComparisonOperator="GreaterThanOrEqualToThreshold",
    )
    sagemaker.create_endpoint_config(
        EndpointConfigName="by-hand",
        ProductionVariants=[{"VariantName": "AllTraffic", "ModelName": outputs()["model-name"],
                             "InitialInstanceCount": 1, "InstanceType": "ml.m5.large"}],
    )
    sagemaker.update_endpoint(
        EndpointName="fraud-prod", EndpointConfigName="by-hand",
        DeploymentConfig={
            "BlueGreenUpdatePolicy": {"TrafficRoutingConfiguration": {"Type": "ALL_AT_ONCE", "WaitIntervalInSeconds": 200}},
            "AutoRollbackConfiguration": {"Alarms": [{"AlarmName": "by-hand"}]},
        },
    )
    newer = register(sagemaker)
    assert deploy("--model-package-arn", newer) == 2
    assert "endpoint fraud-prod is Updating: another deployment is in progress" in capsys.readouterr().err
    waiting = subprocess.Popen(
        [sys.executable, "-m", "smops", "deploy", "--endpoint-name", "fraud-prod", "--role-arn", ROLE_ARN,
         "--model-package-arn", newer, "--wait-if-busy"],
        stderr=subprocess.PIPE, text=True,
    )
    try:
        for line in waiting.stderr:  # once it waits, end the update by hand
            if "waiting for it (--wait-if-busy)" in line:
                cloudwatch.set_alarm_state(AlarmName="by-hand", StateValue="ALARM", StateReason="ended by the test")
                break
        assert waiting.wait(timeout=300) == 0, waiting.stderr.read()  # a safety net only
    finally:
        waiting.kill()
    assert outputs()["action"] == "updated"


def test_guardrail_fallback_is_warned(sagemaker, summary, capsys):
    assert deploy("--model-package-arn", register(sagemaker), "--instance-type", "ml.inf1.xlarge") == 0
    assert deploy("--model-package-arn", register(sagemaker), "--instance-type", "ml.inf1.xlarge",
                  "--strategy", "linear", "--create-alarms") == 0
    err = capsys.readouterr().err
    assert "excluded from deployment guardrails" in err
    assert "shift all traffic at once with no final bake" in summary()


def test_timeout_exits_3_with_outputs(sagemaker, outputs, capsys):
    assert deploy("--model-package-arn", register(sagemaker)) == 0
    settings.time_scale = 1  # a real-time 300 s bake
    assert deploy("--model-package-arn", register(sagemaker), "--wait-interval", "300", "--timeout", "0.01") == 3
    assert "endpoint fraud-prod is still Updating" in first_error_line(capsys.readouterr().err)
    assert outputs()["action"] == "updated"


def test_failed_creation_says_nothing_serves_then_refuses_the_failed_endpoint(sagemaker, outputs, capsys):
    settings.fail_endpoints["fraud-prod"] = "The primary container for production variant AllTraffic did not pass the ping health check."
    assert deploy("--model-package-arn", register(sagemaker)) == 1
    line = first_error_line(capsys.readouterr().err)
    assert "endpoint fraud-prod is Failed: The primary container" in line and "nothing is serving" in line
    assert outputs()["action"] == "created"
    models = len(sagemaker.list_models()["Models"])
    assert deploy("--model-package-arn", register(sagemaker)) == 2
    line = first_error_line(capsys.readouterr().err)
    assert "endpoint fraud-prod is Failed" in line and "delete-endpoint --endpoint-name fraud-prod" in line
    assert len(sagemaker.list_models()["Models"]) == models


def test_failed_update_is_reported_and_the_old_config_serves(sagemaker, outputs, capsys):
    assert deploy("--model-package-arn", register(sagemaker)) == 0
    old_config = outputs()["endpoint-config-name"]
    settings.fail_endpoints["fraud-prod"] = "Image pull failed for the new fleet."
    assert deploy("--model-package-arn", register(sagemaker)) == 1
    line = first_error_line(capsys.readouterr().err)
    assert "was rolled back: Image pull failed for the new fleet." in line
    assert f"the previous config {old_config} is still serving" in line
    assert sagemaker.describe_endpoint(EndpointName="fraud-prod")["EndpointConfigName"] == old_config


def test_plain_all_at_once_leaves_sagemakers_default(sagemaker, outputs):
    assert deploy("--model-package-arn", register(sagemaker)) == 0
    assert deploy("--model-package-arn", register(sagemaker)) == 0
    assert outputs()["action"] == "updated"
    assert "LastDeploymentConfig" not in sagemaker.describe_endpoint(EndpointName="fraud-prod")


def test_a_new_variant_name_is_refused_before_anything_is_created(sagemaker, capsys):
    assert deploy("--model-package-arn", register(sagemaker)) == 0
    models = len(sagemaker.list_models()["Models"])
    assert deploy("--model-package-arn", register(sagemaker), "--variant-name", "Blue") == 2
    line = first_error_line(capsys.readouterr().err)
    assert "serves variant(s) AllTraffic, not Blue" in line and "--variant-name AllTraffic" in line
    assert len(sagemaker.list_models()["Models"]) == models


def test_serverless_to_instances(sagemaker, outputs, capsys):
    assert deploy("--model-package-arn", register(sagemaker), "--serverless-memory-mb", "1024") == 0
    assert deploy("--model-package-arn", register(sagemaker), "--strategy", "canary", "--create-alarms") == 2
    assert "serverless endpoints do not take" in first_error_line(capsys.readouterr().err)
    assert deploy("--model-package-arn", register(sagemaker)) == 0
    config = sagemaker.describe_endpoint_config(EndpointConfigName=outputs()["endpoint-config-name"])
    assert config["ProductionVariants"][0]["InstanceType"] == "ml.m5.large"


def test_a_new_model_role_is_an_update(sagemaker, outputs):
    arn = register(sagemaker)
    assert deploy("--model-package-arn", arn) == 0
    assert deploy("--model-package-arn", arn) == 0 and outputs()["action"] == "unchanged"
    other = "arn:aws:iam::123456789012:role/fraud-model-v2"
    assert main(["deploy", "--endpoint-name", "fraud-prod", "--role-arn", other, "--model-package-arn", arn]) == 0
    assert outputs()["action"] == "updated"
    assert sagemaker.describe_model(ModelName=outputs()["model-name"])["ExecutionRoleArn"] == other
    assert main(["deploy", "--endpoint-name", "fraud-prod", "--model-package-arn", arn]) == 0
    assert outputs()["action"] == "unchanged"


def test_rerun_after_a_timeout_waits_for_its_own_deployment(sagemaker, outputs, capsys):
    assert deploy("--model-package-arn", register(sagemaker)) == 0
    settings.time_scale = 0.05  # the 300 s bake lasts 15 s: far past the 0.3 s timeout, however slow
    second = register(sagemaker)
    assert deploy("--model-package-arn", second, "--wait-interval", "300", "--timeout", "0.005") == 3
    pending = outputs()["endpoint-config-name"]
    assert deploy("--model-package-arn", second, "--wait-interval", "300") == 0
    assert "is already deploying this package" in capsys.readouterr().err
    out = outputs()
    assert out["action"] == "unchanged" and out["endpoint-config-name"] == pending
    assert len(sagemaker.list_endpoint_configs()["EndpointConfigs"]) == 2


def test_a_config_deleted_while_in_use_is_replaced(sagemaker, outputs):
    assert deploy("--model-package-arn", register(sagemaker)) == 0
    sagemaker.delete_endpoint_config(EndpointConfigName=outputs()["endpoint-config-name"])
    assert deploy("--model-package-arn", register(sagemaker), "--require-on-endpoint", "fraud-prod") == 2
    assert deploy("--model-package-arn", register(sagemaker)) == 0
    assert outputs()["action"] == "updated"


def test_a_refused_config_leaves_no_model_behind(sagemaker, outputs, capsys):
    assert deploy("--model-package-arn", register(sagemaker), "--instance-type", "ml.nonexistent.xlarge") == 1
    line = first_error_line(capsys.readouterr().err)
    assert "AWS refused CreateEndpointConfig for fraud-prod" in line and "the endpoint itself was not changed" in line
    assert sagemaker.list_models()["Models"] == []
    assert sagemaker.list_endpoints()["Endpoints"] == []
