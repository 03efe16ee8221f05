"""`smops build` against the emulator: loading, validation, upsert, start, wait, report."""

from __future__ import annotations

import json
import shutil
import textwrap
from pathlib import Path

import pytest
from conftest import ROLE_ARN, ROOT, run_smops

from smops import pipeline_graph
from smops.cli import main
from smops.emulator import settings

DEFINITION = ROOT / "tests" / "data" / "pipeline-definition.json"
GROUP = "smops-test-models"


def build(*extra: str, spec: str | Path = DEFINITION, name: str = "churn") -> int:
    return main(["build", "--pipeline", str(spec), "--pipeline-name", name, "--role-arn", ROLE_ARN, *extra])


def first_error_line(err: str) -> str:
    return next(line for line in err.splitlines() if line.startswith("error:"))


def write(path: Path, source: str) -> Path:
    path.write_text(textwrap.dedent(source))
    return path


@pytest.fixture
def definition() -> dict:
    return json.loads(DEFINITION.read_text())


# -- loading: every SPEC form -----------------------------------------------------------------


def test_json_definition_runs_to_a_registered_package(sagemaker, outputs, capsys):
    assert build() == 0
    out = outputs()
    assert out["execution-status"] == "Succeeded"
    package = sagemaker.describe_model_package(ModelPackageName=out["model-package-arn"])
    assert package["ModelPackageGroupName"] == GROUP
    assert package["ModelApprovalStatus"] == "PendingManualApproval"
    model_url = package["InferenceSpecification"]["Containers"][0]["ModelDataUrl"]
    assert model_url.startswith("s3://example-bucket/models/") and model_url.endswith("/output/model.tar.gz")
    assert out["pipeline-arn"].endswith(":pipeline/churn")
    assert out["execution-arn"].startswith(out["pipeline-arn"] + "/execution/")
    err = capsys.readouterr().err
    assert "step Train (Training): Succeeded" in err
    assert "step CheckQuality (Condition): Succeeded" in err


def test_a_build_reads_the_step_graph_once(sagemaker, monkeypatch, summary):
    """The wait's step types, the summary's table and its picture all come from one step graph."""
    built = []
    step_graph = pipeline_graph.step_graph
    monkeypatch.setattr(pipeline_graph, "step_graph", lambda definition: built.append(1) or step_graph(definition))
    assert build() == 0
    assert "| Train | Training | Succeeded |" in summary() and "flowchart LR" in summary()
    assert len(built) == 1


def test_python_file_with_default_function_gets_the_template_kwargs(aws_env, tmp_path, outputs, definition):
    (tmp_path / "definition.json").write_text(json.dumps(definition))
    spec = write(
        tmp_path / "pipeline.py",
        """
        import json, pathlib
        import helper  # a sibling module: the file's folder is importable
        CALLS = []

        def get_pipeline(region, role, pipeline_name, model_package_group_name=None, default_bucket=None):
            CALLS.append(dict(region=region, role=role, pipeline_name=pipeline_name,
                              group=model_package_group_name, bucket=default_bucket))
            return helper.load()
        """,
    )
    write(
        tmp_path / "helper.py",
        """
        import json, pathlib
        def load():
            return json.loads((pathlib.Path(__file__).parent / "definition.json").read_text())
        """,
    )
    assert build("--model-package-group", GROUP, "--default-bucket", "bkt", spec=spec) == 0
    import sys

    module = sys.modules["smops_pipeline_pipeline"]
    assert module.CALLS == [
        dict(region="us-east-1", role=ROLE_ARN, pipeline_name="churn", group=GROUP, bucket="bkt")
    ]
    assert outputs()["execution-status"] == "Succeeded"


def test_module_and_function_spec_with_definition_method(aws_env, tmp_path, monkeypatch, definition, outputs):
    package = tmp_path / "mlproject"
    package.mkdir()
    (package / "__init__.py").write_text("")
    write(
        package / "pipelines.py",
        f"""
        class Rendered:
            def definition(self):
                return {json.dumps(json.dumps(definition))}

        def make(**kwargs):
            return Rendered()
        """,
    )
    monkeypatch.chdir(tmp_path)
    assert build(spec="mlproject.pipelines:make") == 0
    assert outputs()["execution-status"] == "Succeeded"


# -- bad input: exit 2, one line, nothing created ------------------------------------------------


def bad_input(capsys, sagemaker, *args, spec) -> str:
    assert build(*args, spec=spec) == 2
    assert sagemaker.list_pipelines()["PipelineSummaries"] == []
    return first_error_line(capsys.readouterr().err)


def test_missing_file(capsys, sagemaker, tmp_path):
    line = bad_input(capsys, sagemaker, spec=tmp_path / "nope.py")
    assert "nope.py not found" in line and "--pipeline" in line


def test_import_error_shows_the_users_traceback(capsys, sagemaker, tmp_path):
    spec = write(tmp_path / "broken.py", "import json\nraise RuntimeError('bucket not configured')\n")
    assert build(spec=spec) == 2
    err = capsys.readouterr().err
    assert "error: error while importing" in err and "RuntimeError: bucket not configured" in err
    assert f'File "{spec}", line 2' in err  # the user's own frame
    assert sagemaker.list_pipelines()["PipelineSummaries"] == []


def test_missing_module(capsys, sagemaker):
    line = bad_input(capsys, sagemaker, spec="no_such_package.pipelines")
    assert "no module named no_such_package.pipelines" in line


def test_missing_function(capsys, sagemaker, tmp_path):
    spec = write(tmp_path / "p.py", "def other():\n    pass\n")
    line = bad_input(capsys, sagemaker, spec=spec)
    assert "has no function get_pipeline()" in line and ":FUNCTION" in line


def test_return_value_that_is_not_a_pipeline(capsys, sagemaker, tmp_path):
    spec = write(tmp_path / "p.py", "def get_pipeline():\n    return 42\n")
    line = bad_input(capsys, sagemaker, spec=spec)
    assert "returned int, not a pipeline" in line


def test_invalid_json(capsys, sagemaker, tmp_path):
    (tmp_path / "d.json").write_text('{"Steps": [}')
    line = bad_input(capsys, sagemaker, spec=tmp_path / "d.json")
    assert "is not valid JSON" in line and "line 1" in line


def test_unknown_parameter_lists_the_valid_ones(capsys, sagemaker):
    line = bad_input(capsys, sagemaker, "--parameter", "Epoch=3", spec=DEFINITION)
    assert "unknown pipeline parameter 'Epoch'" in line
    assert "Epochs, ModelApprovalStatus, MseThreshold, TrainingInstanceType" in line


@pytest.mark.parametrize("value", ["2.5", "ten"])
def test_mistyped_parameter(capsys, sagemaker, value):
    line = bad_input(capsys, sagemaker, "--parameter", f"Epochs={value}", spec=DEFINITION)
    assert f"Epochs='{value}' is not a valid Integer" in line


def test_bad_role_arn(capsys, sagemaker):
    assert main(["build", "--pipeline", str(DEFINITION), "--pipeline-name", "x", "--role-arn", "admin"]) == 2
    assert "is not an IAM role ARN" in first_error_line(capsys.readouterr().err)
    assert sagemaker.list_pipelines()["PipelineSummaries"] == []


def test_missing_role_is_refused_by_the_parser(aws_env, capsys):
    with pytest.raises(SystemExit) as exited:
        main(["build", "--pipeline", str(DEFINITION), "--pipeline-name", "x"])
    assert exited.value.code == 2
    assert "--role-arn" in capsys.readouterr().err


# -- upsert ---------------------------------------------------------------------------------------


def test_create_then_unchanged_then_updated(sagemaker, tmp_path, definition, capsys):
    assert build("--no-wait") == 0
    assert "pipeline churn: created" in capsys.readouterr().err
    before = sagemaker.describe_pipeline(PipelineName="churn")

    assert build("--no-wait") == 0
    assert "pipeline churn: unchanged" in capsys.readouterr().err
    assert sagemaker.describe_pipeline(PipelineName="churn")["LastModifiedTime"] == before["LastModifiedTime"]

    definition["Parameters"][1]["DefaultValue"] = 99
    changed = tmp_path / "changed.json"
    changed.write_text(json.dumps(definition))
    assert build("--no-wait", spec=changed) == 0
    assert "pipeline churn: updated" in capsys.readouterr().err
    deployed = json.loads(sagemaker.describe_pipeline(PipelineName="churn")["PipelineDefinition"])
    assert deployed["Parameters"][1]["DefaultValue"] == 99
    tags = sagemaker.list_tags(ResourceArn=before["PipelineArn"])["Tags"]
    from smops.build.pipeline import fingerprint

    assert {"Key": "smops:definition-sha256", "Value": fingerprint(definition)} in tags


def test_role_change_updates(sagemaker, capsys):
    assert build("--no-wait") == 0
    other_role = ROLE_ARN + "-2"
    assert main(["build", "--pipeline", str(DEFINITION), "--pipeline-name", "churn",
                 "--role-arn", other_role, "--no-wait"]) == 0
    assert "pipeline churn: updated" in capsys.readouterr().err
    assert sagemaker.describe_pipeline(PipelineName="churn")["RoleArn"] == other_role


def test_console_edit_is_detected(sagemaker, definition, capsys):
    assert build("--no-wait") == 0
    definition["Steps"] = definition["Steps"][:1]
    sagemaker.update_pipeline(PipelineName="churn", PipelineDefinition=json.dumps(definition))
    assert build("--no-wait") == 0
    assert "pipeline churn: updated" in capsys.readouterr().err


def test_dry_run_prints_a_diff_and_changes_nothing(sagemaker, tmp_path, definition, capsys):
    assert build("--dry-run") == 0
    assert "(no pipeline yet)" in capsys.readouterr().out
    assert sagemaker.list_pipelines()["PipelineSummaries"] == []

    assert build("--no-wait") == 0
    definition["Parameters"][1]["DefaultValue"] = 42
    changed = tmp_path / "changed.json"
    changed.write_text(json.dumps(definition))
    capsys.readouterr()
    assert build("--dry-run", spec=changed) == 0
    out = capsys.readouterr().out
    assert '-      "DefaultValue": 10,' in out and '+      "DefaultValue": 42,' in out
    deployed = json.loads(sagemaker.describe_pipeline(PipelineName="churn")["PipelineDefinition"])
    assert deployed["Parameters"][1]["DefaultValue"] == 10
    assert len(sagemaker.list_pipeline_executions(PipelineName="churn")["PipelineExecutionSummaries"]) == 1


# -- start --------------------------------------------------------------------------------------


def test_an_unchanged_pipeline_runs_its_newest_version_to_the_end(sagemaker, monkeypatch, outputs, capsys):
    """A second build of the same definition (a retraining, say) waits for its execution and
    reports the steps of the definition that ran."""
    assert build() == 0
    monkeypatch.setenv("GITHUB_RUN_ID", "2")  # another run: another execution
    assert build() == 0
    assert "pipeline churn: unchanged" in capsys.readouterr().err
    assert outputs()["execution-status"] == "Succeeded" and outputs()["model-package-arn"].endswith("/2")


def test_rerun_of_the_same_job_attempt_does_not_start_a_second_execution(sagemaker, monkeypatch, outputs):
    monkeypatch.setenv("GITHUB_RUN_ID", "4242")
    monkeypatch.setenv("GITHUB_RUN_ATTEMPT", "1")
    assert build() == 0
    first = outputs()["execution-arn"]
    assert build() == 0
    assert outputs()["execution-arn"] == first
    assert len(sagemaker.list_pipeline_executions(PipelineName="churn")["PipelineExecutionSummaries"]) == 1

    monkeypatch.setenv("GITHUB_RUN_ATTEMPT", "2")
    assert build() == 0
    assert len(sagemaker.list_pipeline_executions(PipelineName="churn")["PipelineExecutionSummaries"]) == 2


def test_parameters_reach_the_execution(sagemaker, outputs):
    assert build("--parameter", "Epochs=25", "--parameter", "TrainingInstanceType=ml.c5.xlarge") == 0
    given = sagemaker.list_pipeline_parameters_for_execution(PipelineExecutionArn=outputs()["execution-arn"])
    assert {"Name": "Epochs", "Value": "25"} in given["PipelineParameters"]
    assert {"Name": "TrainingInstanceType", "Value": "ml.c5.xlarge"} in given["PipelineParameters"]


def test_no_wait_returns_at_once(sagemaker, outputs):
    settings.step_seconds = 30
    assert build("--no-wait") == 0
    out = outputs()
    assert out["execution-status"] == "Executing" and out["model-package-arn"] == ""


def test_provenance_and_user_tags(sagemaker, monkeypatch, outputs):
    monkeypatch.setenv("GITHUB_SHA", "0123abc")
    monkeypatch.setenv("GITHUB_SERVER_URL", "https://github.com")
    monkeypatch.setenv("GITHUB_REPOSITORY", "octo/churn")
    monkeypatch.setenv("GITHUB_RUN_ID", "77")
    assert build("--no-wait", "--tag", "team=ml") == 0
    tags = {t["Key"]: t["Value"] for t in sagemaker.list_tags(ResourceArn=outputs()["pipeline-arn"])["Tags"]}
    assert tags["team"] == "ml"
    assert tags["smops:git-sha"] == "0123abc"
    assert tags["smops:run-url"] == "https://github.com/octo/churn/actions/runs/77"


# -- wait: failure, fail step, timeout ---------------------------------------------------------------


def test_failed_step_is_named_with_reason_and_logs(sagemaker, outputs, capsys):
    settings.fail_steps["Train"] = "AlgorithmError: training diverged (loss is NaN)"
    assert build() == 1
    err = capsys.readouterr().err
    line = first_error_line(err)
    assert "pipeline execution Failed" in line and "step Train (Failed)" in line
    assert "AlgorithmError: training diverged (loss is NaN)" in line
    assert "/aws/sagemaker/TrainingJobs" in err and "console.aws.amazon.com" in err
    out = outputs()
    assert out["execution-status"] == "Failed" and out["model-package-arn"] == ""
    assert sagemaker.list_model_packages(ModelPackageGroupName=GROUP)["ModelPackageSummaryList"] == []


def test_else_branch_fail_step_reports_its_message(sagemaker, capsys, outputs):
    settings.condition_outcomes["CheckQuality"] = False
    assert build("--parameter", "MseThreshold=4.5") == 1
    line = first_error_line(capsys.readouterr().err)
    assert "step TooInaccurate (Failed): MSE above 4.5" in line
    assert outputs()["execution-status"] == "Failed"


def test_timeout_exits_3_and_leaves_the_execution_running(sagemaker, outputs, capsys):
    settings.step_seconds = 30
    assert build("--timeout", "0.01") == 3
    assert "is still Executing after" in first_error_line(capsys.readouterr().err)
    arn = outputs()["execution-arn"]
    assert sagemaker.describe_pipeline_execution(PipelineExecutionArn=arn)["PipelineExecutionStatus"] == "Executing"


def test_timeout_with_stop_on_cancel_stops_the_execution(sagemaker, outputs, capsys):
    settings.step_seconds = 30
    assert build("--timeout", "0.01", "--stop-on-cancel") == 3
    assert "the execution was stopped" in first_error_line(capsys.readouterr().err)
    arn = outputs()["execution-arn"]
    status = sagemaker.describe_pipeline_execution(PipelineExecutionArn=arn)["PipelineExecutionStatus"]
    assert status in {"Stopping", "Stopped"}


# -- the job summary --------------------------------------------------------------------------------


def test_summary_has_steps_and_the_registered_package(sagemaker, summary):
    s3 = __import__("boto3").client("s3")
    s3.create_bucket(Bucket="example-bucket")
    s3.put_object(
        Bucket="example-bucket",
        Key="evaluation/evaluation.json",
        Body=json.dumps({"regression_metrics": {"mse": {"value": 4.2, "standard_deviation": 0.3}}}),
    )
    assert build() == 0
    text = summary()
    assert "### smops build: `churn` ✅ Succeeded" in text
    assert "| Train | Training | Succeeded |" in text
    assert "| Register | RegisterModel | Succeeded |" in text
    assert f"{GROUP} v1, PendingManualApproval" in text
    assert "| `ModelQuality.regression_metrics.mse` | 4.2 |" in text
    assert "```mermaid\nflowchart LR" in text


def test_failure_summary_links_the_job(sagemaker, summary):
    settings.fail_steps["Preprocess"] = "ClientError: input not found"
    assert build() == 1
    text = summary()
    assert "❌ Failed" in text and "| Preprocess | Processing | Failed |" in text
    assert "/aws/sagemaker/ProcessingJobs" in text


# -- as a process, as a workflow step runs it ----------------------------------------------------------


def test_end_to_end_as_a_process(aws_env, tmp_path):
    output_file, summary_file = tmp_path / "out.txt", tmp_path / "summary.md"
    example = tmp_path / "pipeline.json"
    shutil.copy(DEFINITION, example)
    result = run_smops(
        "build", "--pipeline", str(example), "--parameter", "Epochs=5", "--json",
        env={
            "SMOPS_PIPELINE_NAME": "churn-e2e",
            "SMOPS_ROLE_ARN": ROLE_ARN,
            "GITHUB_OUTPUT": str(output_file),
            "GITHUB_STEP_SUMMARY": str(summary_file),
            "GITHUB_ACTIONS": "true",
        },
    )
    assert result.returncode == 0, result.stderr
    from conftest import read_outputs

    written = read_outputs(output_file)
    assert written == json.loads(result.stdout)
    assert written["execution-status"] == "Succeeded"
    assert written["model-package-arn"].endswith(f"model-package/{GROUP}/1")
    assert "::group::Wait for churn-e2e" in result.stderr and "::endgroup::" in result.stderr
    assert "| Register | RegisterModel | Succeeded |" in summary_file.read_text()


def test_cancelling_the_job_stops_the_execution_with_stop_on_cancel(sagemaker):
    """A cancelled workflow sends SIGTERM: with --stop-on-cancel the execution is stopped too."""
    import os
    import signal
    import subprocess
    import sys

    settings.step_seconds = 30
    process = subprocess.Popen(
        [sys.executable, "-m", "smops", "build", "--pipeline", str(DEFINITION), "--pipeline-name", "churn",
         "--role-arn", ROLE_ARN, "--stop-on-cancel"],
        stderr=subprocess.PIPE, text=True, env=os.environ,
    )
    try:
        for line in process.stderr:
            if line.startswith("execution started: "):
                arn = line.split(": ", 1)[1].strip()
                break
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 130
        assert f"cancelled: stopping {arn}" in process.stderr.read()
    finally:
        process.kill()
    status = sagemaker.describe_pipeline_execution(PipelineExecutionArn=arn)["PipelineExecutionStatus"]
    assert status in {"Stopping", "Stopped"}


def test_dry_run_with_json_keeps_stdout_for_the_outputs(aws_env, capsys):
    assert build("--dry-run", "--json") == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out) == {"pipeline-arn": ""}
    assert "(no pipeline yet)" in captured.err


def test_success_without_registration_is_noticed(sagemaker, tmp_path, outputs, capsys):
    settings.condition_outcomes["CheckQuality"] = False  # takes the Else branch...
    definition = json.loads(DEFINITION.read_text())
    definition["Steps"][2]["Arguments"]["ElseSteps"] = []  # ...which is empty here: nothing fails
    spec = tmp_path / "no-else.json"
    spec.write_text(json.dumps(definition))
    assert build(spec=spec) == 0
    assert outputs()["model-package-arn"] == ""
    assert "succeeded without registering a model package" in capsys.readouterr().err


def test_fail_step_failure_points_at_the_definition_not_at_job_logs(sagemaker, capsys):
    settings.condition_outcomes["CheckQuality"] = False
    assert build() == 1
    line = first_error_line(capsys.readouterr().err)
    assert "TooInaccurate (Failed)" in line and "the reason above comes from the pipeline definition" in line
