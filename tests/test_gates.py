"""`smops build --gate` against the emulator: each gate form passing and failing, the registry
updated with the verdict, the baseline chosen, and the flags refused when they make no sense."""

from __future__ import annotations

import json

from pathlib import Path

import pytest
from conftest import ROLE_ARN, ROOT

from smops.cli import main
from smops.emulator import settings

DEFINITION = ROOT / "tests" / "data" / "pipeline-definition.json"
GROUP = "smops-test-models"  # the definition's RegisterModel step registers here
EVALUATION_URI = "Steps.Evaluate.ProcessingOutputConfig.Outputs['evaluation'].S3Output.S3Uri"


def with_evaluation(definition: dict) -> dict:
    """The test definition with an Evaluate step whose evaluation.json (a property file, which the
    emulator writes from settings.evaluation_report) the package's ModelMetrics point to, one per
    execution as in a real pipeline."""
    per_execution = {"Std:Join": {"On": "/", "Values": ["s3://example-bucket/evaluation", {"Get": "Execution.PipelineExecutionId"}]}}
    definition["Steps"].insert(2, {
        "Name": "Evaluate",
        "Type": "Processing",
        "Arguments": {
            "ProcessingOutputConfig": {"Outputs": [{"OutputName": "evaluation", "S3Output": {
                "S3Uri": per_execution, "LocalPath": "/opt/ml/processing/evaluation", "S3UploadMode": "EndOfJob"}}]},
        },
        "PropertyFiles": [{"PropertyFileName": "EvaluationReport", "OutputName": "evaluation", "FilePath": "evaluation.json"}],
    })
    register = definition["Steps"][-1]["Arguments"]["IfSteps"][0]["Arguments"]
    register["ModelMetrics"]["ModelQuality"]["Statistics"]["S3Uri"] = {
        "Std:Join": {"On": "/", "Values": [{"Get": EVALUATION_URI}, "evaluation.json"]}
    }
    return definition


@pytest.fixture
def pipeline(tmp_path) -> Path:
    path = tmp_path / "pipeline.json"
    path.write_text(json.dumps(with_evaluation(json.loads(DEFINITION.read_text()))))
    return path


def evaluates(mse: float, r2: float) -> None:
    """The next build's evaluation report."""
    settings.evaluation_report = {"regression_metrics": {"mse": {"value": mse, "standard_deviation": 0.2}, "r2": {"value": r2}}}


def first_error_line(err: str) -> str:
    return next(line for line in err.splitlines() if line.startswith("error:"))


@pytest.fixture
def build(pipeline):
    def run(*extra: str) -> int:
        return main(["build", "--pipeline", str(pipeline), "--pipeline-name", "churn", "--role-arn", ROLE_ARN, *extra])

    return run


@pytest.fixture
def approved_v1(sagemaker, build, outputs):
    """v1 registered with mse 4.6 and r2 0.55, and approved: the baseline of the next build."""
    evaluates(mse=4.6, r2=0.55)
    assert build() == 0
    arn = outputs()["model-package-arn"]
    sagemaker.update_model_package(ModelPackageArn=arn, ModelApprovalStatus="Approved")
    return arn


def candidate(sagemaker, outputs) -> dict:
    return sagemaker.describe_model_package(ModelPackageName=outputs()["model-package-arn"])


@pytest.mark.parametrize(
    "gate, mse, r2",
    [
        ("regression_metrics.r2>=0.5", 4.8, 0.51),
        ("mse<=4.9", 4.8, 0.51),
        ("mse:no-worse-than-baseline", 4.5, 0.5),
        ("mse:no-worse-than-baseline:5%", 4.8, 0.5),  # 4.8 <= 4.6 * 1.05
        ("regression_metrics.r2:no-worse-than-baseline:0.01", 4.8, 0.545),
    ],
)
def test_each_gate_form_passes_and_leaves_the_approval_to_a_human(approved_v1, sagemaker, build, outputs, summary, gate, mse, r2):
    evaluates(mse=mse, r2=r2)
    assert build("--gate", gate) == 0
    package = candidate(sagemaker, outputs)
    assert package["ModelApprovalStatus"] == "PendingManualApproval"
    assert "ApprovalDescription" not in package
    text = summary()
    assert f"| `{gate}` | ✅ pass |" in text
    assert "| metric | baseline smops-test-models v1 | candidate smops-test-models v2 | change |  |" in text


@pytest.mark.parametrize(
    "gate, mse, r2, named",
    [
        ("regression_metrics.r2>=0.5", 4.5, 0.49, "ModelQuality.regression_metrics.r2 = 0.49, must be ≥ 0.5"),
        ("mse<=4.5", 4.51, 0.6, "ModelQuality.regression_metrics.mse = 4.51, must be ≤ 4.5"),
        ("mse:no-worse-than-baseline", 4.61, 0.6,
         "ModelQuality.regression_metrics.mse = 4.61, must be ≤ 4.6 (baseline smops-test-models v1: 4.6)"),
        ("mse:no-worse-than-baseline:1%", 4.7, 0.6,
         "ModelQuality.regression_metrics.mse = 4.7, must be ≤ 4.646 (baseline smops-test-models v1: 4.6 + 1%)"),
        ("r2:no-worse-than-baseline:0.01", 4.5, 0.53,
         "ModelQuality.regression_metrics.r2 = 0.53, must be ≥ 0.54 (baseline smops-test-models v1: 0.55 - 0.01)"),
    ],
)
def test_each_gate_form_fails_rejects_the_package_and_names_the_metric(
    approved_v1, sagemaker, build, outputs, summary, capsys, gate, mse, r2, named
):
    evaluates(mse=mse, r2=r2)
    assert build("--gate", gate) == 1
    line = first_error_line(capsys.readouterr().err)
    assert f"quality gate '{gate}' failed for smops-test-models v2: {named}" in line
    assert "smops-test-models v2 was set Rejected" in line
    package = candidate(sagemaker, outputs)
    assert package["ModelApprovalStatus"] == "Rejected"
    assert package["ApprovalDescription"] == f"smops quality gate failed: {named}"
    assert outputs()["execution-status"] == "Succeeded"
    assert f"| `{gate}` | ❌ fail | {named} |" in summary()
    assert "smops-test-models v2, Rejected" in summary()
    assert "### smops build: `churn` ✅ Succeeded, ❌ quality gate failed\n" in summary()


def test_approve_on_pass_approves_with_the_reason_and_the_run(approved_v1, sagemaker, build, outputs, monkeypatch):
    monkeypatch.setenv("GITHUB_SERVER_URL", "https://github.com")
    monkeypatch.setenv("GITHUB_REPOSITORY", "octo/churn")
    monkeypatch.setenv("GITHUB_RUN_ID", "77")
    evaluates(mse=4.4, r2=0.6)
    assert build("--gate", "mse:no-worse-than-baseline", "--gate", "r2>=0.5", "--approve-on-pass") == 0
    package = candidate(sagemaker, outputs)
    assert package["ModelApprovalStatus"] == "Approved"
    assert package["ApprovalDescription"] == (
        "smops quality gate: all 2 gates passed: ModelQuality.regression_metrics.mse = 4.4, must be ≤ 4.6 "
        "(baseline smops-test-models v1: 4.6); ModelQuality.regression_metrics.r2 = 0.6, must be ≥ 0.5 "
        "(https://github.com/octo/churn/actions/runs/77)"
    )


def test_a_failed_gate_rejects_even_with_approve_on_pass(approved_v1, sagemaker, build, outputs):
    evaluates(mse=4.4, r2=0.3)
    assert build("--gate", "r2>=0.5", "--gate", "mse<=5", "--approve-on-pass") == 1
    assert candidate(sagemaker, outputs)["ModelApprovalStatus"] == "Rejected"


def test_a_gate_on_a_metric_the_package_lacks_fails_closed(approved_v1, sagemaker, build, outputs, capsys):
    evaluates(mse=4.4, r2=0.6)
    assert build("--gate", "auc>=0.8") == 1
    line = first_error_line(capsys.readouterr().err)
    assert "auc is not among the metrics (the package has: ModelQuality.regression_metrics.mse, " in line
    assert candidate(sagemaker, outputs)["ModelApprovalStatus"] == "Rejected"


def test_without_a_baseline_a_baseline_gate_passes_and_says_so(sagemaker, build, outputs, summary):
    evaluates(mse=9.0, r2=0.1)
    assert build("--gate", "mse:no-worse-than-baseline") == 0
    text = summary()
    assert "**Baseline**: smops-test-models has no other Approved package: no baseline." in text
    assert "ModelQuality.regression_metrics.mse = 9; no baseline to compare with" in text


def test_the_baseline_is_what_the_endpoint_serves(approved_v1, sagemaker, build, outputs, summary):
    settings.endpoint_seconds = 0.05
    assert main(["deploy", "--model-package-arn", approved_v1, "--endpoint-name", "churn-prod", "--role-arn", ROLE_ARN]) == 0
    # v2 is approved too, and newer: without --baseline-endpoint it would be the baseline.
    evaluates(mse=3.0, r2=0.7)
    assert build() == 0
    sagemaker.update_model_package(ModelPackageArn=outputs()["model-package-arn"], ModelApprovalStatus="Approved")
    evaluates(mse=4.0, r2=0.6)
    assert build("--baseline-endpoint", "churn-prod", "--gate", "mse:no-worse-than-baseline") == 0
    text = summary()
    assert "**Baseline**: what churn-prod serves: smops-test-models v1." in text
    assert "| `ModelQuality.regression_metrics.mse` | 4.6 | 4 | -0.6 (-13.0%) | ✅ better |" in text
    assert "| `ModelQuality.regression_metrics.r2` | 0.55 | 0.6 | +0.05 (+9.1%) | ✅ better |" in text


def test_a_missing_baseline_endpoint_means_no_baseline(approved_v1, sagemaker, build, outputs, summary):
    evaluates(mse=4.0, r2=0.6)
    assert build("--baseline-endpoint", "churn-prod") == 0
    assert "**Baseline**: endpoint churn-prod does not exist yet: no baseline." in summary()


@pytest.mark.parametrize(
    "flags, message",
    [
        (["--approve-on-pass"], "--approve-on-pass without --gate would approve every model"),
        (["--gate", "business_value:no-worse-than-baseline"], "cannot tell whether a higher or a lower business_value"),
        (["--gate", "mse < 4"], "argument --gate: gate 'mse < 4' is not METRIC>=VALUE"),
        (["--gate", "mse<=4", "--no-wait"], "--gate and --approve-on-pass need the execution's result"),
        (["--baseline-endpoint", "prod_1"], "endpoint name 'prod_1' is not valid: use up to 63 letters, digits and hyphens"),
    ],
)
def test_gate_flags_that_make_no_sense_are_refused_before_anything_runs(sagemaker, build, capsys, flags, message):
    try:
        code = build(*flags)
    except SystemExit as exc:  # argparse refuses a gate it cannot parse
        code = exc.code
    assert code == 2
    assert message in first_error_line(capsys.readouterr().err)
    assert sagemaker.list_pipelines()["PipelineSummaries"] == []


def test_gates_read_from_the_environment_one_per_line(approved_v1, sagemaker, build, outputs, monkeypatch):
    evaluates(mse=4.4, r2=0.45)
    monkeypatch.setenv("SMOPS_GATE", "mse<=5\nr2>=0.5\n")
    assert build() == 1
    assert "r2 = 0.45, must be ≥ 0.5" in candidate(sagemaker, outputs)["ApprovalDescription"]


# -- the pull request comment ---------------------------------------------------------------------


@pytest.fixture
def pull_request(monkeypatch, tmp_path):
    """A pull_request run of octo/churn#7 whose token may comment; GitHub is the stand-in."""
    from smops.emulator.github import GitHubStandIn

    event = tmp_path / "event.json"
    event.write_text(json.dumps({"action": "synchronize", "number": 7, "pull_request": {"number": 7}}))
    with GitHubStandIn() as github:
        for name, value in {
            **github.env(), "GITHUB_TOKEN": "ghs_pullrequesttoken", "GITHUB_REPOSITORY": "octo/churn",
            "GITHUB_EVENT_NAME": "pull_request", "GITHUB_EVENT_PATH": str(event), "GITHUB_REF": "refs/pull/7/merge",
        }.items():
            monkeypatch.setenv(name, value)
        yield github


def test_the_pull_request_comment_is_created_then_updated_in_place(approved_v1, build, pull_request, capsys):
    import requests

    human = requests.post(f"{pull_request.url}/repos/octo/churn/issues/7/comments",
                          headers={"Authorization": "token ghs_human"}, json={"body": "Looks good"}, timeout=10)
    assert human.status_code == 201
    evaluates(mse=4.4, r2=0.6)
    assert build("--pr-comment") == 0
    first = pull_request.comments.on("octo/churn", 7)
    assert [c["body"] for c in first][0] == "Looks good" and len(first) == 2
    comment = first[1]
    assert comment["body"].startswith("<!-- smops:build:churn -->\n### smops build: `churn` ✅ Succeeded")
    assert "| `ModelQuality.regression_metrics.mse` | 4.6 | 4.4 | -0.2 (-4.3%) | ✅ better |" in comment["body"]
    assert "pull request #7: comment created" in capsys.readouterr().err

    evaluates(mse=4.9, r2=0.6)  # the next push
    assert build("--pr-comment", "--gate", "mse<=4.8") == 1
    second = pull_request.comments.on("octo/churn", 7)
    assert [c["id"] for c in second] == [c["id"] for c in first]
    assert "| `ModelQuality.regression_metrics.mse` | 4.6 | 4.9 | +0.3 (+6.5%) | ❌ worse |" in second[1]["body"]
    assert "| `mse<=4.8` | ❌ fail | ModelQuality.regression_metrics.mse = 4.9, must be ≤ 4.8 |" in second[1]["body"]
    assert "### smops build: `churn` ✅ Succeeded, ❌ quality gate failed\n" in second[1]["body"]
    assert "<details><summary>Pipeline steps</summary>\n\n```mermaid\nflowchart LR\n" in second[1]["body"]
    assert "pull request #7: comment updated" in capsys.readouterr().err
    patched = [r.path for r in pull_request.requests if r.method == "PATCH"]
    assert patched == [f"/repos/octo/churn/issues/comments/{comment['id']}"]


def test_a_read_only_token_skips_the_comment_with_a_notice(approved_v1, build, pull_request, capsys):
    pull_request.comments.read_only("ghs_pullrequesttoken")  # a pull request from a fork
    assert build("--pr-comment") == 0
    err = capsys.readouterr().err
    assert ("notice: the token cannot comment on pull request #7 (GitHub answered 403 (Resource not accessible by "
            "integration)): the comment is skipped; a pull request from a fork gets a read-only token") in err
    assert pull_request.comments.on("octo/churn", 7) == []


def test_outside_a_pull_request_there_is_no_comment(approved_v1, build, pull_request, monkeypatch, capsys):
    monkeypatch.delenv("GITHUB_EVENT_PATH")
    monkeypatch.setenv("GITHUB_REF", "refs/heads/main")
    assert build("--pr-comment") == 0
    assert "notice: not a pull request build: no pull request comment" in capsys.readouterr().err
    assert [r for r in pull_request.requests if "/issues/" in r.path] == []


def test_a_report_over_githubs_comment_limit_is_cut_to_fit(pull_request):
    from smops.build import pr_comment

    assert pr_comment.post("build:big", "x" * 70000) == "created"
    (comment,) = pull_request.comments.on("octo/churn", 7)
    assert len(comment["body"]) == 65536
    assert comment["body"].endswith("… cut to GitHub's comment limit: the job summary has the rest.")
