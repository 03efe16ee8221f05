"""`smops deploy --dry-run`: the plan for created, updated, unchanged and refused, with no write call."""

from __future__ import annotations

import json

import pytest
from test_deploy import fast_endpoints, GROUP, deploy, first_error_line, nothing_created, register  # noqa: F401 (fast_endpoints is autouse)

from smops import aws
from smops.emulator import settings

READ_ONLY = ("Describe", "List", "Get")


@pytest.fixture
def calls(aws_env):
    """Every AWS operation smops calls from here on, as (service, operation)."""
    made: list[tuple[str, str]] = []

    def record(model, **_):
        made.append((model.service_model.service_name, model.name))

    aws.session(None, None).events.register("before-call", record)  # the session smops clients come from
    return made


def writes(made: list[tuple[str, str]]) -> list[tuple[str, str]]:
    return [(service, op) for service, op in made if not op.startswith(READ_ONLY)]


def plan_of(capsys) -> dict:
    return json.loads(capsys.readouterr().out)["plan"]


def test_plan_of_a_new_endpoint_creates_nothing(sagemaker, calls, capsys, outputs, summary):
    arn = register(sagemaker)
    assert deploy("--model-package-arn", arn, "--instance-count", "2", "--dry-run", "--json") == 0
    assert calls and writes(calls) == []
    assert nothing_created(sagemaker) and sagemaker.list_endpoints()["Endpoints"] == []
    captured = capsys.readouterr()
    plan = json.loads(captured.out)["plan"]
    assert plan["action"] == "created" and plan["creates-config"] is True
    assert plan["endpoint-config-name"].startswith("fraud-prod-v1-")
    assert plan["timeline"] == [{"at-seconds": 0, "step": "create fraud-prod serving 2 × ml.m5.large; no old fleet"}]
    changes = {c["setting"]: c for c in plan["changes"]}
    assert changes["model"]["now"] == "—" and changes["model"]["after"] == f"{GROUP} v1 ({plan['endpoint-config-name']})"
    assert "smops deploy --dry-run: would create fraud-prod" in captured.err
    assert outputs()["action"] == "created" and json.loads(outputs()["plan"])["action"] == "created"
    assert "### smops deploy --dry-run: would create fraud-prod" in summary()


def test_plan_of_a_canary_update_shows_diff_timeline_alarms_and_instance_hours(sagemaker, calls, capsys, summary):
    assert deploy("--model-package-arn", register(sagemaker), "--instance-count", "4", "--create-alarms") == 0
    calls.clear()
    newer = register(sagemaker)
    flags = ["--model-package-arn", newer, "--instance-count", "4", "--strategy", "canary", "--canary-size", "25",
             "--wait-interval", "600", "--termination-wait", "120", "--create-alarms",
             "--data-capture-uri", "s3://captures/fraud"]
    assert deploy(*flags, "--dry-run", "--json") == 0
    assert writes(calls) == []
    captured = capsys.readouterr()
    plan = json.loads(captured.out)["plan"]
    assert plan["action"] == "updated"
    changed = {c["setting"] for c in plan["changes"] if c["changed"]}
    assert changed == {"endpoint config", "model", "data capture"}
    assert plan["timeline"] == [
        {"at-seconds": 0, "step": "canary: 25% of the new fleet's capacity takes traffic; bake 10m00s (watching 2 alarm(s))"},
        {"at-seconds": 600, "step": "the rest of the traffic to the new fleet (100%)"},
        {"at-seconds": 600, "step": "final bake: the old fleet kept 2m00s more for a fast rollback"},
        {"at-seconds": 720, "step": "old fleet (4 × ml.m5.large) terminated"},
    ]
    assert plan["old-fleet-gone-at-seconds"] == 720
    assert [a["name"] for a in plan["alarms"]] == ["fraud-prod-AllTraffic-5xx-errors", "fraud-prod-AllTraffic-p99-model-latency"]
    assert {a["state"] for a in plan["alarms"]} <= {"OK", "INSUFFICIENT_DATA"}
    assert plan["instance-hours"] == {"overlap-seconds": 720, "old": 4, "new": 4, "side-by-side": 1.6, "extra": 0.8}
    assert plan["deployment-config"]["BlueGreenUpdatePolicy"]["TrafficRoutingConfiguration"]["CanarySize"]["Value"] == 25
    assert "old fleet (4 × ml.m5.large) terminated" in captured.err
    assert "1.6 instance-hours" in summary()

    # The real deploy does what the plan said.
    assert deploy(*flags) == 0
    found = sagemaker.describe_endpoint(EndpointName="fraud-prod")
    assert found["LastDeploymentConfig"] == plan["deployment-config"]


def test_plan_of_a_rerun_is_unchanged(sagemaker, calls, capsys, outputs):
    arn = register(sagemaker)
    assert deploy("--model-package-arn", arn) == 0
    serving = outputs()["endpoint-config-name"]
    calls.clear()
    assert deploy("--model-package-arn", arn, "--dry-run", "--json") == 0
    assert writes(calls) == []
    plan = plan_of(capsys)
    assert plan["action"] == "unchanged" and plan["endpoint-config-name"] == serving
    assert plan["timeline"] == [] and not any(c["changed"] for c in plan["changes"])


@pytest.mark.parametrize(
    "flags, message",
    [
        (["--strategy", "canary", "--canary-size", "60"], "--canary-size 60 is outside 1-50 percent"),
        (["--alarm", "no-such-alarm"], "rollback alarm(s) no-such-alarm do not exist"),
        (["--variant-name", "Blue"], "serves variant(s) AllTraffic, not Blue"),
        (["--autoscaling-min", "3", "--autoscaling-max", "2", "--autoscaling-target", "70"], "--autoscaling-max 2 is less than"),
    ],
)
def test_plan_exits_2_for_what_a_deploy_would_refuse(sagemaker, calls, capsys, summary, flags, message):
    assert deploy("--model-package-arn", register(sagemaker)) == 0
    calls.clear()
    assert deploy("--model-package-arn", register(sagemaker), *flags, "--dry-run") == 2
    assert writes(calls) == []
    assert message in first_error_line(capsys.readouterr().err)
    assert "⛔ would be refused" in summary() and message in summary()


def test_plan_of_a_not_approved_package_is_refused(sagemaker, calls, capsys):
    assert deploy("--model-package-arn", register(sagemaker, status="PendingManualApproval"), "--dry-run") == 2
    assert writes(calls) == [] and nothing_created(sagemaker)
    assert "is PendingManualApproval, not Approved" in capsys.readouterr().err


def test_plan_of_a_busy_endpoint_does_not_wait(sagemaker, capsys):
    assert deploy("--model-package-arn", register(sagemaker)) == 0
    settings.time_scale = 1  # the update below bakes for real seconds
    newer = register(sagemaker)
    assert deploy("--model-package-arn", newer, "--wait-interval", "600", "--timeout", "0.001") == 3
    capsys.readouterr()
    assert deploy("--model-package-arn", register(sagemaker), "--dry-run") == 2
    assert "another deployment is in progress" in first_error_line(capsys.readouterr().err)
    assert deploy("--model-package-arn", register(sagemaker), "--wait-if-busy", "--dry-run", "--json") == 0
    plan = plan_of(capsys)
    pending = sagemaker.describe_endpoint(EndpointName="fraud-prod")["PendingDeploymentSummary"]["EndpointConfigName"]
    assert plan["waits-for"] == (
        f"endpoint fraud-prod is Updating: another deployment is in progress, of {pending} "
        "(fraud-models v2, not from a GitHub Actions run): waiting for it (--wait-if-busy)"
    )
    assert plan["action"] == "updated"  # planned against what serves now
