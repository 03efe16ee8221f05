"""`smops status` on the state `smops demo` leaves: text, Markdown and JSON.

The module plays the demo's lifecycle once against the session's emulator (v1 in production, v2
staged and rolled back in production, v3 rejected by the quality gate), then asks for the report.
"""

from __future__ import annotations

import json
import os

import pytest
from conftest import ROOT

from smops import demo as lifecycle
from smops.cli import main
from smops.emulator import settings
from smops.emulator.github import GitHubStandIn
from smops.emulator.settings import regression_report

pytestmark = pytest.mark.sdk

GROUP, STAGING, PRODUCTION = lifecycle.GROUP, lifecycle.STAGING, lifecycle.PRODUCTION


@pytest.fixture(scope="module")
def demo_state(emulator, tmp_path_factory):
    emulator.reset()
    settings.step_seconds = 0.05
    settings.endpoint_seconds = 0.2
    settings.time_scale = 0.01  # the canary's 300 s bake lasts 3 s: time for the alarm to trip
    settings.evaluation_report = regression_report(**lifecycle.FIRST_METRICS)
    config = tmp_path_factory.mktemp("sdk") / "sagemaker-config.yaml"
    config.write_text('SchemaVersion: "1.0"\nSageMaker: {PythonSDK: {Modules: {TelemetryOptOut: true}}}\n')
    saved = dict(os.environ)
    os.environ.update({"SAGEMAKER_ADMIN_CONFIG_OVERRIDE": str(config), "SAGEMAKER_USER_CONFIG_OVERRIDE": str(config)})
    payload = ROOT / "examples" / "smoke-payload.csv"
    try:
        with GitHubStandIn() as github:
            demo = lifecycle.Demo(emulator, github, tmp_path_factory.mktemp("demo"), ROOT / "examples", verbose=False)
            demo.setup()
            first: dict = {}
            second: dict = {}
            lifecycle._story_build(demo, first, run_id=1)
            lifecycle._story_dispatch(demo, first)
            lifecycle._story_staging(demo, first["payload-arn"], payload)
            lifecycle._story_production(demo, first["payload-arn"])
            lifecycle._story_second(demo, second, payload)
            lifecycle._story_rollback(demo, first, second)
            lifecycle._story_gate(demo)
    finally:
        os.environ.clear()
        os.environ.update(saved)
    arns = [p["ModelPackageArn"] for p in demo.sagemaker.list_model_packages(
        ModelPackageGroupName=GROUP, SortBy="CreationTime", SortOrder="Ascending")["ModelPackageSummaryList"]]
    yield {"v1": arns[0], "v2": arns[1], "v3": arns[2]}
    emulator.reset()


@pytest.fixture
def status(demo_state, emulator, monkeypatch, capsys):
    for name, value in emulator.env().items():
        monkeypatch.setenv(name, value)

    def run(*flags: str) -> str:
        code = main(["status", "--model-package-group", GROUP, "--endpoint-name", STAGING,
                     "--endpoint-name", PRODUCTION, *flags])
        assert code == 0
        return capsys.readouterr().out

    return run


def test_text(status, demo_state):
    text = status()
    lines = text.splitlines()
    assert lines[0] == f"{STAGING}: InService, serves {GROUP} v2 (Approved)"
    assert lines[1].startswith("  deployed to staging ") and lines[1].endswith(
        " by https://github.com/octo-org/abalone/actions/runs/1 at 4b825dc")
    production = lines.index(f"{PRODUCTION}: InService, serves {GROUP} v1 (Approved)")
    assert lines[production + 3].startswith(f"  last update: Deployment of {PRODUCTION}-v2-")
    assert "was rolled back because CloudWatch alarm(s) abalone-production-AllTraffic-5xx-errors" in lines[production + 3]
    v3 = lines.index(f"{GROUP} v3: Rejected")
    assert lines[v3 + 1] == "  built by https://github.com/octo-org/abalone/actions/runs/3 at 4b825dc"
    assert lines[v3 + 2].startswith(f"  pipeline execution arn:aws:sagemaker:us-east-1:123456789012:pipeline/abalone/execution/")
    assert "InputDataUrl=s3://smops-demo/abalone/data/abalone.csv, MinimumR2=0.4" in lines[v3 + 3]
    assert lines[v3 + 4] == "    input data: s3://smops-demo/abalone/data/abalone.csv"
    assert lines[v3 + 5] == ("  metrics: ModelQuality.regression_metrics.mse 5.31, ModelQuality.regression_metrics.rmse "
                             "2.304, ModelQuality.regression_metrics.mae 1.71, ModelQuality.regression_metrics.r2 0.49")
    assert lines[v3 + 6].startswith("  registered ") and lines[v3 + 6].endswith(
        " by arn:aws:sts::123456789012:assumed-role/smops-demo/SageMaker")
    assert lines[v3 + 7].startswith("  set Rejected ")
    assert "by arn:aws:sts::123456789012:user/moto: smops quality gate failed: ModelQuality.regression_metrics.r2 = 0.49, " \
           "must be ≥ 0.5" in lines[v3 + 7]
    assert f"{GROUP} v2: Approved, serves {STAGING}" in lines
    assert f"{GROUP} v1: Approved, serves {PRODUCTION}" in lines
    assert any(line.endswith(": reviewed in smops demo") and "set Approved" in line for line in lines)
    assert lines[-1] == "waiting for approval: nothing"


def test_markdown(status, tmp_path):
    text = status("--markdown")
    assert text.rstrip("\n") == (tmp_path / "step_summary.md").read_text().rstrip("\n")
    assert "| endpoint | status | serves | deployed | run | commit | environment | last update failure |" in text
    assert f"| `{STAGING}` | InService | {GROUP} v2 | " in text
    assert "| [run 1](https://github.com/octo-org/abalone/actions/runs/1) | `4b825dc` | production | Deployment of" in text
    assert f"| {GROUP} v3 | Rejected | — | [run 3](https://github.com/octo-org/abalone/actions/runs/3) `4b825dc` |" in text
    assert f"| metric | {GROUP} v3 | {GROUP} v2 | {GROUP} v1 |" in text
    assert "| `ModelQuality.regression_metrics.r2` | 0.49 | 0.577 | 0.556 |" in text
    assert "**Waiting for approval**: nothing" in text


def test_json(status, demo_state, outputs):
    report = json.loads(status("--json"))
    assert sorted(report) == ["endpoints", "model-packages", "pending-approval"]
    staging, production = report["endpoints"]
    assert staging["model-package-arn"] == demo_state["v2"] and staging["environment"] == "staging"
    assert production["model-package-arn"] == demo_state["v1"] and production["git-sha"] == "4b825dc642cb6eb9a060e54bf8d69288fbee4904"
    assert "was rolled back" in production["last-failure"]
    packages = {p["version"]: p for p in report["model-packages"]}
    assert [p["version"] for p in report["model-packages"]] == [3, 2, 1]
    assert packages[1]["served-by"] == [PRODUCTION] and packages[2]["served-by"] == [STAGING]
    assert packages[3]["approval-status"] == "Rejected"
    assert packages[3]["metrics"]["ModelQuality.regression_metrics.r2"] == 0.49
    assert packages[2]["pipeline-execution"]["input-data"] == ["s3://smops-demo/abalone/data/abalone.csv"]
    assert packages[2]["pipeline-execution"]["parameters"]["MinimumR2"] == "0.4"
    assert [(e["what"], e["why"] if "why" in e else None) for e in packages[1]["history"]] == [
        ("registered", None), ("set Approved", "reviewed in smops demo")]
    assert report["pending-approval"] == []
    assert json.loads(outputs()["endpoints"]) == report["endpoints"]


def test_a_group_alone_finds_the_endpoints_serving_it(status, demo_state, emulator, monkeypatch, capsys):
    assert main(["status", "--model-package-group", GROUP, "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert [e["endpoint-name"] for e in report["endpoints"]] == [PRODUCTION, STAGING]
