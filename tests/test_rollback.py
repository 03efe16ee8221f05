"""`smops rollback` against the emulator: to the previous config, to a version, refusals, and the
guarded path it shares with deploy; and `smops cleanup` keeping what rollback needs."""

from __future__ import annotations

import json

from test_deploy import fast_endpoints, deploy, first_error_line, register, trip_alarm_when_updating  # noqa: F401 (fast_endpoints is autouse)

from smops.cli import main
from smops.deploy.history import KEEP, PREFIX
from smops.emulator import settings


def rollback(*extra: str) -> int:
    return main(["rollback", "--endpoint-name", "fraud-prod", *extra])


def serving(sm) -> str:
    return sm.describe_endpoint(EndpointName="fraud-prod")["EndpointConfigName"]


def deployed(sm, outputs, count: int) -> list[str]:
    """Deploy `count` new packages one after another; their configs, oldest first."""
    configs = []
    for _ in range(count):
        assert deploy("--model-package-arn", register(sm)) == 0
        configs.append(outputs()["endpoint-config-name"])
    return configs


def served_tags(sm) -> dict[str, str]:
    arn = sm.describe_endpoint(EndpointName="fraud-prod")["EndpointArn"]
    return {t["Key"]: t["Value"] for t in sm.list_tags(ResourceArn=arn)["Tags"] if t["Key"].startswith(PREFIX)}


def test_rollback_returns_to_the_previous_config_and_back(sagemaker, outputs, capsys, summary):
    first, second = deployed(sagemaker, outputs, 2)
    assert served_tags(sagemaker) == {
        f"{PREFIX}1": f"{first} arn:aws:sagemaker:us-east-1:123456789012:model-package/fraud-models/1",
        f"{PREFIX}2": f"{second} arn:aws:sagemaker:us-east-1:123456789012:model-package/fraud-models/2",
    }
    assert rollback("--json") == 0
    out = json.loads(capsys.readouterr().out)
    assert out["action"] == "updated" and out["endpoint-config-name"] == first and out["rolled-back-from"] == second
    assert out["model-package-arn"].endswith("/fraud-models/1")
    assert serving(sagemaker) == first
    assert "### smops rollback: `fraud-prod` ✅ updated" in summary()
    # No strategy given: UpdateEndpoint gets no DeploymentConfig, and the summary says so.
    assert "| Strategy | SageMaker's default: blue/green, all at once, no bake, no rollback alarms |" in summary()
    # The config served before the current one is now the second: rolling back again returns there.
    assert rollback() == 0
    assert serving(sagemaker) == second
    assert len(served_tags(sagemaker)) == 4


def test_rollback_to_a_version_and_to_a_config(sagemaker, outputs, capsys):
    first, second, third = deployed(sagemaker, outputs, 3)
    assert rollback("--to-version", "1") == 0
    assert serving(sagemaker) == first
    assert rollback("--to-config", third) == 0
    assert serving(sagemaker) == third
    assert rollback("--to-config", third) == 0 and outputs()["action"] == "unchanged"
    assert "already serves" in capsys.readouterr().err
    assert rollback("--to-version", "7") == 2
    assert "model package version 7 is not in the history of fraud-prod" in first_error_line(capsys.readouterr().err)


def test_rollback_takes_the_strategy_and_alarms_of_a_deploy(sagemaker, outputs, capsys):
    first, second = deployed(sagemaker, outputs, 2)
    assert rollback("--strategy", "canary", "--canary-size", "20", "--create-alarms") == 0
    config = sagemaker.describe_endpoint(EndpointName="fraud-prod")["LastDeploymentConfig"]
    assert config["BlueGreenUpdatePolicy"]["TrafficRoutingConfiguration"]["CanarySize"]["Value"] == 20
    assert [a["AlarmName"] for a in config["AutoRollbackConfiguration"]["Alarms"]] == [
        "fraud-prod-AllTraffic-5xx-errors", "fraud-prod-AllTraffic-p99-model-latency"]

    # A rollback SageMaker rolls back fails the job, and what serves is said.
    settings.time_scale = 0.01
    thread = trip_alarm_when_updating(sagemaker, "fraud-prod-AllTraffic-5xx-errors")
    assert rollback("--strategy", "canary", "--create-alarms") == 1
    thread.join()
    line = first_error_line(capsys.readouterr().err)
    assert "deployment to fraud-prod was rolled back" in line and f"the previous config {first} is still serving" in line
    assert "smops cleanup" not in line  # nothing was created for a rollback
    assert serving(sagemaker) == first


def test_rollback_is_refused_when_the_target_was_cleaned_up(sagemaker, outputs, capsys):
    first, second, third = deployed(sagemaker, outputs, 3)
    assert main(["cleanup", "--endpoint-name", "fraud-prod", "--keep", "0", "--min-age", "0"]) == 0
    err = capsys.readouterr().err
    assert f"deleting endpoint config {first}: history entry #1 {first} (v1), which `smops rollback` can no longer return to" in err
    # What `smops rollback` returns to by default was kept.
    remaining = {c["EndpointConfigName"] for c in sagemaker.list_endpoint_configs()["EndpointConfigs"]}
    assert remaining == {second, third}

    assert rollback("--to-version", "1") == 2
    line = first_error_line(capsys.readouterr().err)
    assert f"endpoint config {first} (history entry #1, v1) no longer exists" in line
    assert serving(sagemaker) == third

    sagemaker.delete_model(ModelName=second)
    assert rollback() == 2
    assert f"model {second} of endpoint config {second}" in first_error_line(capsys.readouterr().err)
    assert serving(sagemaker) == third and sagemaker.describe_endpoint(EndpointName="fraud-prod")["EndpointStatus"] == "InService"


def test_rollback_needs_a_history(sagemaker, outputs, capsys):
    deployed(sagemaker, outputs, 1)
    assert rollback() == 2
    assert "fraud-prod has no earlier config in the history" in first_error_line(capsys.readouterr().err)
    assert main(["rollback", "--endpoint-name", "nowhere"]) == 2
    assert "endpoint nowhere does not exist" in first_error_line(capsys.readouterr().err)


def test_history_keeps_the_newest_entries(sagemaker, outputs):
    configs = deployed(sagemaker, outputs, KEEP + 2)
    tags = served_tags(sagemaker)
    assert sorted(int(k.removeprefix(PREFIX)) for k in tags) == list(range(3, KEEP + 3))
    assert tags[f"{PREFIX}{KEEP + 2}"].split()[0] == configs[-1]


def test_rollback_dry_run_changes_nothing(sagemaker, outputs, capsys):
    first, second = deployed(sagemaker, outputs, 2)
    assert rollback("--dry-run", "--json") == 0
    plan = json.loads(capsys.readouterr().out)["plan"]
    assert plan["command"] == "rollback" and plan["action"] == "updated" and plan["endpoint-config-name"] == first
    assert plan["creates-config"] is False
    assert serving(sagemaker) == second
